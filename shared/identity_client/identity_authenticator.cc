#include "shared/identity_client/identity_authenticator.h"

#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <grpcpp/client_context.h>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "shared/rpc/status.h"
#include "shared/rpc/timestamp.h"

namespace suite::identity_client {
namespace {

// The cache key: a digest, so the map never holds raw tokens.
std::string TokenKey(absl::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

IdentityAuthenticator::IdentityAuthenticator(std::shared_ptr<grpc::Channel> channel,
                                             IdentityAuthenticatorOptions options)
    : stub_(identity::v1::IdentityService::NewStub(std::move(channel))),
      options_(std::move(options)) {}

absl::StatusOr<suite::rpc::Caller> IdentityAuthenticator::Authenticate(
    absl::string_view bearer_token, const suite::rpc::RequestContext& context) {
  absl::StatusOr<ValidatedSession> session = ValidateScoped(bearer_token, context);
  if (!session.ok()) return session.status();
  return std::move(session->caller);
}

absl::optional<absl::StatusOr<suite::rpc::Caller>> IdentityAuthenticator::AuthenticateIfCached(
    absl::string_view bearer_token, const suite::rpc::RequestContext&) {
  if (bearer_token.empty()) {
    return absl::StatusOr<suite::rpc::Caller>(absl::UnauthenticatedError("missing session token"));
  }
  absl::optional<ValidatedSession> session = Cached(TokenKey(bearer_token), options_.now());
  if (!session.has_value()) return absl::nullopt;
  return absl::StatusOr<suite::rpc::Caller>(std::move(session->caller));
}

absl::optional<ValidatedSession> IdentityAuthenticator::Cached(const std::string& key,
                                                               absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return absl::nullopt;
  if (now < it->second.valid_until) return it->second.session;
  cache_.erase(it);
  return absl::nullopt;
}

absl::StatusOr<ValidatedSession> IdentityAuthenticator::ValidateScoped(
    absl::string_view bearer_token, const suite::rpc::RequestContext& context) {
  if (bearer_token.empty()) return absl::UnauthenticatedError("missing session token");
  const std::string key = TokenKey(bearer_token);
  const absl::Time now = options_.now();
  if (absl::optional<ValidatedSession> cached = Cached(key, now)) return *std::move(cached);

  identity::v1::ValidateSessionRequest request;
  request.set_session_token(std::string(bearer_token));
  identity::v1::ValidateSessionResponse response;
  grpc::ClientContext client;
  context.PropagateTo(&client, /*include_bearer_token=*/false);
  client.set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.call_timeout));
  grpc::Status rpc = stub_->ValidateSession(&client, request, &response);
  if (!rpc.ok()) {
    switch (rpc.error_code()) {
      case grpc::StatusCode::UNAUTHENTICATED:
      case grpc::StatusCode::INVALID_ARGUMENT:
        // Identity's verdict on the token; passed on without the token itself.
        return absl::UnauthenticatedError("invalid or expired session");
      default:
        // Down, slow, draining or broken: the caller cannot be authenticated right now.
        return absl::UnavailableError("identity service unavailable");
    }
  }

  ValidatedSession session;
  session.caller.user_id = response.user_id();
  session.caller.session_id = response.session_id();
  for (const auto& grant : response.role_grants()) {
    session.role_grants.push_back({grant.role(), grant.account_id()});
    if (grant.account_id().empty()) session.caller.roles.push_back(grant.role());
  }
  session.expire_time = response.has_expire_time()
                            ? suite::rpc::TimeFromTimestamp(response.expire_time())
                            : now + options_.cache_ttl;
  if (session.caller.user_id.empty()) {
    return absl::UnavailableError("identity service gave an empty answer");
  }
  Remember(key, session, now);
  return session;
}

void IdentityAuthenticator::Remember(const std::string& key, const ValidatedSession& session,
                                     absl::Time now) {
  if (options_.max_entries == 0 || options_.cache_ttl <= absl::ZeroDuration()) return;
  const absl::Time valid_until = std::min(now + options_.cache_ttl, session.expire_time);
  if (valid_until <= now) return;
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= options_.max_entries && cache_.find(key) == cache_.end()) {
    // Drop the expired entries; if none were, drop the oldest one.
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.valid_until <= now) {
        cache_.erase(it++);
      } else {
        ++it;
      }
    }
    if (cache_.size() >= options_.max_entries) {
      auto oldest = cache_.begin();
      for (auto it = cache_.begin(); it != cache_.end(); ++it) {
        if (it->second.sequence < oldest->second.sequence) oldest = it;
      }
      cache_.erase(oldest);
    }
  }
  cache_[key] = Entry{session, valid_until, next_sequence_++};
}

absl::StatusOr<bool> IdentityAuthenticator::UserExists(absl::string_view user_id,
                                                       const suite::rpc::RequestContext& context) {
  identity::v1::GetUserRequest request;
  request.set_user_id(std::string(user_id));
  identity::v1::GetUserResponse response;
  grpc::ClientContext client;
  // The caller's own token: identity, not this service, decides whom the caller may look up.
  context.PropagateTo(&client, /*include_bearer_token=*/true);
  client.set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.call_timeout));
  grpc::Status rpc = stub_->GetUser(&client, request, &response);
  switch (rpc.error_code()) {
    case grpc::StatusCode::OK:
      return true;
    case grpc::StatusCode::NOT_FOUND:
      return false;
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::UnauthenticatedError("invalid or expired session");
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::PermissionDeniedError("identity does not let the caller look this user up");
    case grpc::StatusCode::INVALID_ARGUMENT:
      return suite::rpc::FromGrpcStatus(rpc);
    default:
      return absl::UnavailableError("identity service unavailable");
  }
}

size_t IdentityAuthenticator::CachedEntries() const {
  absl::MutexLock lock(&mu_);
  return cache_.size();
}

}  // namespace suite::identity_client
