#include "shared/base/audit_actor.h"

#include <utility>

namespace suite {
namespace {

thread_local const AuditActor* current = nullptr;

}  // namespace

ScopedAuditActor::ScopedAuditActor(std::string actor_id, std::string request_id)
    : actor_{std::move(actor_id), std::move(request_id)}, previous_(current) {
  current = &actor_;
}

ScopedAuditActor::~ScopedAuditActor() { current = previous_; }

const AuditActor& CurrentAuditActor() {
  static const AuditActor kSystem;
  return current == nullptr ? kSystem : *current;
}

}  // namespace suite
