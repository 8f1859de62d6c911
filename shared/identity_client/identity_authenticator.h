// IdentityAuthenticator: how billing, questions and any other service learn who a bearer token
// stands for. It is a suite::rpc::CallerAuthenticator that asks identity's ValidateSession over
// a gRPC channel and keeps the answers in a small TTL cache.
//
//   auto channel = grpc::CreateChannel(identity_addr, grpc::InsecureChannelCredentials());
//   suite::identity_client::IdentityAuthenticator authenticator(channel);
//   ...
//   absl::StatusOr<suite::rpc::Caller> caller = suite::rpc::RequireCaller(rc, authenticator);
//
// Caching (documented contract): a validated token is remembered for `cache_ttl` (default 5 s)
// or until the session's own expiry, whichever is sooner. A session revoked in identity may
// therefore still be honoured by a caching service for at most `cache_ttl`. Only successes are
// cached; the cache key is the SHA-256 of the token, so raw tokens are not kept in memory
// longer than the call. The cache holds at most `max_entries` tokens.
//
// Roles: the caller's *global* role grants (empty account id) become Caller::roles; grants
// scoped to an account are available through ValidateScoped() for services that need them.
//
// It is also a UserDirectory (user_directory.h): UserExists asks identity's GetUser with the
// caller's own bearer token, over the same channel, never cached.
#ifndef SUITE_SHARED_IDENTITY_CLIENT_IDENTITY_AUTHENTICATOR_H_
#define SUITE_SHARED_IDENTITY_CLIENT_IDENTITY_AUTHENTICATOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "shared/identity_client/user_directory.h"
#include "shared/rpc/request_context.h"

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
  explicit IdentityAuthenticator(std::shared_ptr<grpc::Channel> channel,
                                 IdentityAuthenticatorOptions options = {});

  // Authenticate returns the caller behind `bearer_token`. UNAUTHENTICATED for an unknown,
  // expired, revoked or malformed token; UNAVAILABLE when identity cannot be reached or does
  // not answer within call_timeout. The request id of `context` is propagated. Thread-safe.
  absl::StatusOr<suite::rpc::Caller> Authenticate(absl::string_view bearer_token,
                                                  const suite::rpc::RequestContext& context) override;
  // AuthenticateIfCached answers from the cache (or refuses an empty token) without a call to
  // identity; nullopt when the token is not cached. Thread-safe.
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

 private:
  struct Entry {
    ValidatedSession session;
    absl::Time valid_until;
    uint64_t sequence;  // insertion order, for eviction of the oldest
  };

  // The cached answer for the token digest `key` at `now`, dropping an expired one.
  absl::optional<ValidatedSession> Cached(const std::string& key, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Remember(const std::string& key, const ValidatedSession& session, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  std::unique_ptr<::identity::v1::IdentityService::Stub> stub_;
  const IdentityAuthenticatorOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace suite::identity_client

#endif  // SUITE_SHARED_IDENTITY_CLIENT_IDENTITY_AUTHENTICATOR_H_
