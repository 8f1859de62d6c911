// What identity tells the services that cache its ValidateSession answers (WatchRevocations):
// the events that make a cached answer stale, and the interface of the source that feeds them
// to subscribers. services/identity/storage/revocation_feed.h implements it over the
// database's revocation log; the gRPC adapter streams it.
//
//   class Stream : public RevocationSink { ... Deliver(batch) queues a write ... };
//   source->Subscribe(&stream, request.resume_cursor());
//   ... on the stream's end: source->Unsubscribe(&stream);
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_REVOCATIONS_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_REVOCATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace suite::identity {

// One change that makes cached ValidateSession answers stale.
struct RevocationEvent {
  enum class Kind {
    kSession,  // session_id revoked or deleted
    kUser,     // user_id suspended, disabled or deleted: all of their sessions
    kRoles,    // user_id's role grants changed: answers carry stale roles
  };
  Kind kind = Kind::kSession;
  std::string session_id;  // kSession only
  std::string user_id;
};

// One message to a subscriber.
struct RevocationBatch {
  std::vector<RevocationEvent> events;
  std::string cursor;   // resume from here (from any replica) to miss nothing after this batch
  bool synced = false;  // the first batch: everything committed before it has been sent
  bool reset = false;   // the first batch, when the subscriber must drop its whole cache
};

// Receives a subscription's batches. Deliver and End are called from the source's thread and
// must not block; after End, or once Unsubscribe has returned, neither is called again.
class RevocationSink {
 public:
  virtual ~RevocationSink() = default;
  virtual void Deliver(const RevocationBatch& batch) = 0;
  // The subscription is over (UNAVAILABLE: the source lost the database or is stopping).
  virtual void End(const absl::Status& status) = 0;
};

// Feeds every subscriber every revocation committed by any replica. Thread-safe.
class RevocationSource {
 public:
  virtual ~RevocationSource() = default;
  // Subscribe starts feeding `sink` (not owned; it must stay valid until End or Unsubscribe):
  // first a synced batch with what came after `resume_cursor` (reset when it is empty, not
  // one of ours or too old), then every new revocation and a heartbeat batch at least every
  // heartbeat_interval(). A source that is not connected to the database ends it at once.
  virtual void Subscribe(RevocationSink* sink, const std::string& resume_cursor) = 0;
  // Unsubscribe stops feeding `sink`; when it returns no call into `sink` is running or will
  // be made. Unknown or ended sinks are ignored.
  virtual void Unsubscribe(RevocationSink* sink) = 0;
  // The longest time between two batches to a healthy subscription.
  virtual absl::Duration heartbeat_interval() const = 0;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_REVOCATIONS_H_
