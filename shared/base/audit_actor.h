// Who is acting, for the audit trail: the handler of a privileged call names the caller and
// the request id for its thread, and the storage code that appends the audit row inside the
// change's transaction (which runs on that same thread) reads them. This keeps the actor out
// of every storage signature, and a change made outside any call (a bootstrap, a test that
// drives the store directly) is recorded with no actor, as the system.
//
//   suite::ScopedAuditActor actor(caller.user_id, rc.request_id());
//   ... identity_->SetUserStatus(...)   // its transaction appends the row with this actor
#ifndef SUITE_SHARED_BASE_AUDIT_ACTOR_H_
#define SUITE_SHARED_BASE_AUDIT_ACTOR_H_

#include <string>

namespace suite {

struct AuditActor {
  std::string actor_id;    // the caller's user id; empty: the system
  std::string request_id;  // the call's request id; empty when none
};

// ScopedAuditActor sets the thread's actor for its lifetime and restores the previous one
// (scopes nest). Not copyable; must be destroyed on the thread that made it.
class ScopedAuditActor {
 public:
  ScopedAuditActor(std::string actor_id, std::string request_id);
  ~ScopedAuditActor();
  ScopedAuditActor(const ScopedAuditActor&) = delete;
  ScopedAuditActor& operator=(const ScopedAuditActor&) = delete;

 private:
  AuditActor actor_;
  const AuditActor* previous_;
};

// CurrentAuditActor is the innermost live scope's actor on this thread, or an empty actor.
const AuditActor& CurrentAuditActor();

}  // namespace suite

#endif  // SUITE_SHARED_BASE_AUDIT_ACTOR_H_
