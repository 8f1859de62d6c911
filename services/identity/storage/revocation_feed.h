// PgRevocationFeed: the RevocationSource (domain/revocations.h) of one identity replica, fed
// from the database's revocation log (identity.revocations, written by triggers in the very
// transaction of each revoking change; see migrations/identity/*_create_revocations_log.sql).
//
// One thread and one dedicated connection (not the pool's: it LISTENs for good). The thread
// LISTENs on identity_revocations, which PostgreSQL notifies at the commit of every revoking
// transaction on any replica, and then reads the log from a transaction-id fence: the rows whose
// xact_id is at or above the xmin of the previous read's snapshot. Each notification also
// carries its row, so a revocation goes out as soon as its commit is notified, without a read. Every row that was not yet
// visible to that snapshot was written by such a transaction, so nothing is skipped however
// commits interleave (ids are not commit order); rows read twice are recognised by id and not
// sent again. The same read also runs every heartbeat interval, so a missed wake-up costs at
// most one interval, and its (possibly empty) batch is the subscribers' heartbeat.
//
// When the connection fails, every subscription is ended UNAVAILABLE at once (its subscribers
// then trust no cached answer) and new ones are refused until the thread has reconnected.
// Stop() ends them all too; the server calls it when it starts draining.
//
// Cursors are "<xmin>:<database time in unix micros>": a subscriber resuming from one is sent
// the rows at or above that xmin; one older than `retention` (rows are pruned after it) is
// told to reset instead.
//
//   SUITE_ASSIGN_OR_RETURN(auto feed, PgRevocationFeed::Start(database_url));
//   IdentityGrpcService service(...); service.ServeRevocations(feed.get());
//   server->AtDrain([&] { feed->Stop(); });
#ifndef SUITE_SERVICES_IDENTITY_STORAGE_REVOCATION_FEED_H_
#define SUITE_SERVICES_IDENTITY_STORAGE_REVOCATION_FEED_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/identity/domain/revocations.h"

namespace suite::identity {

struct RevocationFeedOptions {
  // Batches (heartbeats when empty) are sent at least this often; also the backstop read.
  absl::Duration heartbeat_interval = absl::Milliseconds(500);
  // Rows older than this are deleted; a cursor older than it resets its subscriber.
  absl::Duration retention = absl::Minutes(10);
  // How often this replica prunes the log.
  absl::Duration prune_interval = absl::Minutes(1);
  // Wait between reconnection attempts after the database connection failed.
  absl::Duration reconnect_delay = absl::Milliseconds(200);
};

class PgRevocationFeed final : public RevocationSource {
 public:
  // Start starts the thread, which connects to `database_url` (identity_service's role) and
  // keeps reconnecting. Never fails for an unreachable database (subscriptions are refused
  // until it is reached); INTERNAL when the thread's wake-up pipe cannot be made.
  static absl::StatusOr<std::unique_ptr<PgRevocationFeed>> Start(
      std::string database_url, RevocationFeedOptions options = {});
  PgRevocationFeed(const PgRevocationFeed&) = delete;
  PgRevocationFeed& operator=(const PgRevocationFeed&) = delete;
  ~PgRevocationFeed() override;  // Stop()s

  void Subscribe(RevocationSink* sink, const std::string& resume_cursor) override;
  void Unsubscribe(RevocationSink* sink) override;
  absl::Duration heartbeat_interval() const override { return options_.heartbeat_interval; }

  // Stop ends every subscription UNAVAILABLE, refuses new ones and stops the thread.
  // Idempotent; thread-safe.
  void Stop();

  // Connected is true while the thread holds a listening connection (tests wait for it).
  bool Connected() const;

 private:
  PgRevocationFeed(std::string database_url, RevocationFeedOptions options);
  void Run();
  void Wake();

  const std::string database_url_;
  const RevocationFeedOptions options_;
  int wake_fds_[2] = {-1, -1};
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  // Subscribed and synced: fed by every read.
  std::vector<RevocationSink*> live_ ABSL_GUARDED_BY(mu_);
  // Waiting for their first (synced) batch, with their resume cursor.
  std::vector<std::pair<RevocationSink*, std::string>> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_STORAGE_REVOCATION_FEED_H_
