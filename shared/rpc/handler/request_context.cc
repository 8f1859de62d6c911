#include "shared/rpc/handler/request_context.h"

#include <openssl/rand.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/api/status.h"
#include "shared/base/uuid.h"

namespace suite::rpc {
namespace {

absl::Mutex registry_mu(absl::kConstInit);

std::unordered_map<const grpc::ServerContextBase*, std::shared_ptr<internal::CallRecord>>&
Registry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry_mu) {
  static auto* registry = new std::unordered_map<const grpc::ServerContextBase*,
                                                 std::shared_ptr<internal::CallRecord>>();
  return *registry;
}

bool IsB64TokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

absl::Status Unauthenticated(absl::string_view message, absl::string_view reason) {
  return api::WithErrorInfo(absl::UnauthenticatedError(message), reason, kRpcErrorDomain);
}

}  // namespace

std::string NewRequestId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // OpenSSL's generator failing is near impossible; a request id is a correlation key, not a
    // secret, so an OS-seeded generator is an acceptable fallback to keep serving.
    absl::BitGen gen;
    for (unsigned char& b : bytes) b = absl::Uniform<unsigned char>(gen);
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0F]);
  }
  return out;
}

absl::StatusOr<std::string> ParseBearerToken(absl::string_view authorization) {
  constexpr absl::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return Unauthenticated("authorization metadata must be \"Bearer <token>\"",
                           "MALFORMED_CREDENTIALS");
  }
  absl::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  size_t i = 0;
  while (i < token.size() && IsB64TokenChar(token[i])) ++i;
  size_t body = i;
  while (i < token.size() && token[i] == '=') ++i;
  if (body == 0 || i != token.size()) {
    return Unauthenticated("authorization metadata must be \"Bearer <token>\"",
                           "MALFORMED_CREDENTIALS");
  }
  return std::string(token);
}

bool Caller::HasRole(absl::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

namespace internal {

void RegisterCall(const grpc::ServerContextBase* context, std::shared_ptr<CallRecord> record) {
  absl::MutexLock lock(&registry_mu);
  Registry()[context] = std::move(record);
}

void UnregisterCall(const grpc::ServerContextBase* context, const CallRecord* record) {
  absl::MutexLock lock(&registry_mu);
  auto it = Registry().find(context);
  // A context object can be reused for a later call; only remove our own record.
  if (it != Registry().end() && it->second.get() == record) Registry().erase(it);
}

std::string RequestIdFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto range = metadata.equal_range(grpc::string_ref(kRequestIdMetadata.data(),
                                                     kRequestIdMetadata.size()));
  for (auto it = range.first; it != range.second; ++it) {
    absl::string_view value(it->second.data(), it->second.size());
    if (suite::IsUuid(value)) return absl::AsciiStrToLower(value);
  }
  return NewRequestId();
}

}  // namespace internal

RequestContext RequestContext::FromServerContext(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  std::vector<std::string> authorization;
  auto range = metadata.equal_range(grpc::string_ref(kAuthorizationMetadata.data(),
                                                     kAuthorizationMetadata.size()));
  for (auto it = range.first; it != range.second; ++it) {
    authorization.emplace_back(it->second.data(), it->second.size());
  }
  std::shared_ptr<internal::CallRecord> record;
  {
    absl::MutexLock lock(&registry_mu);
    auto it = Registry().find(&context);
    if (it != Registry().end()) record = it->second;
  }
  if (record == nullptr) {
    record = std::make_shared<internal::CallRecord>(internal::RequestIdFromMetadata(metadata));
  }
  return RequestContext(std::move(record), std::move(authorization));
}

RequestContext RequestContext::ForBackgroundWork(std::string request_id,
                                                 absl::optional<std::string> bearer_token) {
  std::vector<std::string> authorization;
  if (bearer_token.has_value()) authorization.push_back(absl::StrCat("Bearer ", *bearer_token));
  return RequestContext(std::make_shared<internal::CallRecord>(std::move(request_id)),
                        std::move(authorization));
}

absl::StatusOr<std::string> RequestContext::BearerToken() const {
  if (authorization_.empty()) {
    return Unauthenticated("missing authorization metadata", "MISSING_CREDENTIALS");
  }
  if (authorization_.size() > 1) {
    return Unauthenticated("authorization metadata given more than once",
                           "MALFORMED_CREDENTIALS");
  }
  return ParseBearerToken(authorization_.front());
}

void RequestContext::PropagateTo(grpc::ClientContext* client, bool include_bearer_token) const {
  client->AddMetadata(std::string(kRequestIdMetadata), request_id_);
  if (!include_bearer_token) return;
  absl::StatusOr<std::string> token = BearerToken();
  if (token.ok()) {
    client->AddMetadata(std::string(kAuthorizationMetadata), absl::StrCat("Bearer ", *token));
  }
}

void RequestContext::SetCaller(const Caller& caller) const {
  absl::MutexLock lock(&record_->mu);
  record_->caller_id = caller.user_id;
}

absl::optional<std::string> RequestContext::CallerId() const {
  absl::MutexLock lock(&record_->mu);
  if (record_->caller_id.empty()) return absl::nullopt;
  return record_->caller_id;
}

namespace {

// What RequireCaller and RequireCallerIfCached do with an authenticator's answer.
absl::StatusOr<Caller> Recorded(const RequestContext& context, absl::StatusOr<Caller> caller) {
  if (!caller.ok()) return caller.status();
  if (caller->user_id.empty()) {
    return absl::InternalError("authenticator returned a caller without a user id");
  }
  context.SetCaller(*caller);
  return caller;
}

}  // namespace

absl::StatusOr<Caller> RequireCaller(const RequestContext& context,
                                     CallerAuthenticator& authenticator) {
  absl::StatusOr<std::string> token = context.BearerToken();
  if (!token.ok()) return token.status();
  return Recorded(context, authenticator.Authenticate(*token, context));
}

absl::optional<absl::StatusOr<Caller>> RequireCallerIfCached(const RequestContext& context,
                                                             CallerAuthenticator& authenticator) {
  absl::StatusOr<std::string> token = context.BearerToken();
  if (!token.ok()) return absl::StatusOr<Caller>(token.status());
  absl::optional<absl::StatusOr<Caller>> caller =
      authenticator.AuthenticateIfCached(*token, context);
  if (!caller.has_value()) return absl::nullopt;
  return Recorded(context, *std::move(caller));
}

absl::Status RequireRole(const Caller& caller, absl::string_view role) {
  if (caller.HasRole(role)) return absl::OkStatus();
  return api::WithErrorInfo(absl::PermissionDeniedError(absl::StrCat("requires role ", role)),
                       "MISSING_ROLE", kRpcErrorDomain, {{"role", std::string(role)}});
}

}  // namespace suite::rpc
