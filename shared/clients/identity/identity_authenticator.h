// IdentityAuthenticator: how billing, questions and any other service learn who a bearer token
// stands for. It is a suite::rpc::CallerAuthenticator that asks identity's ValidateSession over
// a gRPC channel and keeps the answers in a cache that identity's revocations reach at once.
//
//   auto channel = grpc::CreateChannel(identity_addr, grpc::InsecureChannelCredentials());
//   suite::identity_client::IdentityAuthenticator authenticator(channel);
//   ...
//   absl::StatusOr<suite::rpc::Caller> caller = suite::rpc::RequireCaller(rc, authenticator);
//
// Caching (documented contract): a validated token is remembered for `cache_ttl` (default 5 s)
// or until the session's own expiry, whichever is sooner, and only while the authenticator is
// subscribed to identity's WatchRevocations stream. That stream (fed from identity's database,
// so a revocation on any identity replica reaches it) names each session revoked, each user
// barred or deleted and each user whose roles changed; the entries it names are dropped as it
// arrives (tens of milliseconds after the revoking call's OK; 100 ms at p99 is the suite's
// bound), by indexes on session id and user id. An answer to a call that began before an event
// arrived is returned but not cached (a generation counter), so an answer read before a
// revocation cannot outlive it.
//
// Fail safe: while not subscribed (not yet synced, stream broken, identity restarting, or no
// message for three heartbeat intervals) the cache is not trusted: every call asks identity,
// and the stream is re-established in the background (resuming from its cursor, or dropping
// the whole cache when identity says reset). Metrics (in `options.metrics`, by default the
// process's registry, so on billing's and questions' /metrics):
//   identity_client_revocation_stream_up              gauge    1 while subscribed and synced
//   identity_client_cache_bypass_total                counter  ValidateSession calls made
//                                                               while not subscribed
//   identity_client_revocations_total                 counter  revocation events applied
//   identity_client_revocation_stream_restarts_total  counter  streams that ended
//
// Only successes are cached; the cache key is the SHA-256 of the token, so raw tokens are not
// kept in memory longer than the call. The cache holds at most `max_entries` tokens.
//
// Roles: the caller's *global* role grants (empty account id) become Caller::roles; grants
// scoped to an account are available through ValidateScoped() for services that need them.
//
// It is also a UserDirectory (user_directory.h): UserExists asks identity's GetUser with the
// caller's own bearer token, over the same channel, never cached.
#ifndef SUITE_SHARED_CLIENTS_IDENTITY_IDENTITY_AUTHENTICATOR_H_
#define SUITE_SHARED_CLIENTS_IDENTITY_IDENTITY_AUTHENTICATOR_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "shared/clients/identity/user_directory.h"
#include "shared/metrics/metrics.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity_client {

struct IdentityAuthenticatorOptions {
  // How long a validated token is trusted without asking identity again.
  absl::Duration cache_ttl = absl::Seconds(5);
  // Upper bound on cached tokens; the oldest entries are dropped first when full.
  size_t max_entries = 10000;
  // Deadline of each ValidateSession call: identity unreachable never hangs a caller longer.
  absl::Duration call_timeout = absl::Seconds(2);
  // The clock of the cache (tests inject a fake one).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Follow WatchRevocations and cache only while subscribed. false: no cache at all (every
  // call asks identity); there is no mode that caches without revocations.
  bool watch_revocations = true;
  // Longest wait between two attempts to subscribe again.
  absl::Duration max_resubscribe_delay = absl::Seconds(1);
  // Where the metrics above go; null = metrics::Registry::Default().
  suite::metrics::Registry* metrics = nullptr;
};

// One role grant of the validated session.
struct ScopedRole {
  std::string role;
  std::string account_id;  // empty = global
};

// What identity said about a token.
struct ValidatedSession {
  suite::rpc::Caller caller;              // global roles only in caller.roles
  std::vector<ScopedRole> role_grants;    // every grant, with scope
  absl::Time expire_time;
};

class IdentityAuthenticator : public suite::rpc::CallerAuthenticator, public UserDirectory {
 public:
  // The subscription (with options.watch_revocations) starts with the first call that asks
  // identity, or WaitSubscribed.
  explicit IdentityAuthenticator(std::shared_ptr<grpc::Channel> channel,
                                 IdentityAuthenticatorOptions options = {});
  // Ends the subscription and joins its threads.
  ~IdentityAuthenticator() override;

  // Authenticate returns the caller behind `bearer_token`. UNAUTHENTICATED for an unknown,
  // expired, revoked or malformed token; UNAVAILABLE when identity cannot be reached or does
  // not answer within call_timeout. The request id of `context` is propagated. Thread-safe.
  absl::StatusOr<suite::rpc::Caller> Authenticate(absl::string_view bearer_token,
                                                  const suite::rpc::RequestContext& context) override;
  // AuthenticateIfCached answers from the cache (or refuses an empty token) without a call to
  // identity; nullopt when the token is not cached or the cache is not trusted. Thread-safe.
  absl::optional<absl::StatusOr<suite::rpc::Caller>> AuthenticateIfCached(
      absl::string_view bearer_token, const suite::rpc::RequestContext& context) override;

  // ValidateScoped is Authenticate with every role grant and the expiry. Same codes and
  // caching. Thread-safe.
  absl::StatusOr<ValidatedSession> ValidateScoped(absl::string_view bearer_token,
                                                  const suite::rpc::RequestContext& context);

  // UserExists: see UserDirectory. Each call is one GetUser with the deadline call_timeout.
  absl::StatusOr<bool> UserExists(absl::string_view user_id,
                                  const suite::rpc::RequestContext& context) override;

  // CachedEntries returns how many tokens are cached now (for tests and metrics). Thread-safe.
  size_t CachedEntries() const;
  // Subscribed is true while the revocation stream is synced and heard from, i.e. while the
  // cache is trusted. Thread-safe.
  bool Subscribed() const;
  // WaitSubscribed starts the subscription if need be and waits up to `timeout` for
  // Subscribed(); returns it. Thread-safe.
  bool WaitSubscribed(absl::Duration timeout) const;

 private:
  struct Entry {
    ValidatedSession session;
    absl::Time valid_until;
    uint64_t sequence;  // insertion order, for eviction of the oldest
  };
  using Cache = absl::flat_hash_map<std::string, Entry>;

  // The cached answer for the token digest `key` at `now`, dropping an expired one; nullopt
  // also while the cache is not trusted.
  absl::optional<ValidatedSession> Cached(const std::string& key, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Caches `session` unless an invalidation came since `generation` was read.
  void Remember(const std::string& key, const ValidatedSession& session, absl::Time now,
                uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  bool TrustedLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(Cache::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropUserLocked(const std::string& user_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyLocked(const ::identity::v1::WatchRevocationsResponse& message, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetUnsyncedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts Watch and Watchdog once.
  void StartWatching() const;
  // The subscription loop and the watchdog that cancels a silent stream.
  void Watch();
  void Watchdog();

  // One WatchRevocations call (identity_authenticator.cc).
  class RevocationStream;

  std::unique_ptr<::identity::v1::IdentityService::Stub> stub_;
  const IdentityAuthenticatorOptions options_;

  suite::metrics::Gauge* stream_up_ = nullptr;
  suite::metrics::Counter* bypasses_ = nullptr;
  suite::metrics::Counter* revocations_ = nullptr;
  suite::metrics::Counter* restarts_ = nullptr;

  mutable absl::Mutex mu_;
  Cache cache_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> by_session_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> by_user_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped by every invalidation (events, reset, loss of the stream).
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_heard_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration silence_limit_ ABSL_GUARDED_BY(mu_) = absl::Seconds(3);
  std::string cursor_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* stream_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  mutable std::once_flag watch_started_;
  std::thread watch_thread_;
  std::thread watchdog_thread_;
};

}  // namespace suite::identity_client

#endif  // SUITE_SHARED_CLIENTS_IDENTITY_IDENTITY_AUTHENTICATOR_H_
