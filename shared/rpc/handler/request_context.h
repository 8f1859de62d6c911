// What a handler knows about the call it serves, beyond the request message: the request id,
// the bearer token, the authenticated caller; and how to pass them on to downstream calls.
//
//   grpc::ServerUnaryReactor* GetThing(grpc::CallbackServerContext* context,
//                                      const GetThingRequest* request,
//                                      GetThingResponse* response) override {
//     return suite::rpc::RunBlocking(context, executor_, [=]() -> grpc::Status {
//       suite::rpc::RequestContext rc = suite::rpc::RequestContext::FromServerContext(*context);
//       absl::StatusOr<suite::rpc::Caller> caller =
//           suite::rpc::RequireCaller(rc, *authenticator_);
//       if (!caller.ok()) return suite::rpc::ToGrpcStatus(caller.status(), rc.request_id());
//       grpc::ClientContext downstream;
//       rc.PropagateTo(&downstream, /*include_bearer_token=*/true);
//       ...
//     });
//   }
//
// `x-request-id`: a client's value is kept when it is a UUID (normalised to lower case);
// otherwise, or when absent, a fresh UUID v4 is generated. The server built by server.h
// decides it when the call arrives, echoes it in the initial metadata, logs it, and
// FromServerContext returns the same id. The bearer token comes from
// `authorization: Bearer <token>` (scheme case-insensitive); it is never logged.
#ifndef SUITE_SHARED_RPC_HANDLER_REQUEST_CONTEXT_H_
#define SUITE_SHARED_RPC_HANDLER_REQUEST_CONTEXT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"

namespace suite::rpc {

inline constexpr absl::string_view kRequestIdMetadata = "x-request-id";
inline constexpr absl::string_view kAuthorizationMetadata = "authorization";
// ErrorInfo domain of the UNAUTHENTICATED statuses made here.
inline constexpr absl::string_view kRpcErrorDomain = "rpc.suite";

// NewRequestId returns a random UUID v4 in canonical lower-case form, from OpenSSL's CSPRNG.
// Thread-safe.
std::string NewRequestId();

// ParseBearerToken extracts the token of an `authorization` value "Bearer <token>": the scheme
// is case-insensitive, separated by one or more spaces, and the token is RFC 6750's b64token
// (letters, digits, - . _ ~ + / and trailing =). Returns UNAUTHENTICATED (ErrorInfo reason
// MALFORMED_CREDENTIALS) otherwise; the message never contains the value.
absl::StatusOr<std::string> ParseBearerToken(absl::string_view authorization);

// Who is calling, as a CallerAuthenticator established it.
struct Caller {
  std::string user_id;
  std::vector<std::string> roles;  // e.g. "admin", "author", "member"
  std::string session_id;          // the session behind the token, when known

  // HasRole is true when `roles` contains `role`.
  bool HasRole(absl::string_view role) const;
};

namespace internal {
// Per-call state shared by the server's interceptor and the handler's RequestContext.
struct CallRecord {
  explicit CallRecord(std::string id) : request_id(std::move(id)) {}
  const std::string request_id;
  absl::Mutex mu;
  std::string caller_id ABSL_GUARDED_BY(mu);
};
// RegisterCall makes `record` what FromServerContext(*context) finds; UnregisterCall removes it
// if it is still `record`. Used by the server's interceptor only. Thread-safe.
void RegisterCall(const grpc::ServerContextBase* context, std::shared_ptr<CallRecord> record);
void UnregisterCall(const grpc::ServerContextBase* context, const CallRecord* record);
// RequestIdFromMetadata returns the valid x-request-id of `metadata` (lower case) or a new one.
std::string RequestIdFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);
}  // namespace internal

// A cheap-to-copy view of one call. Copies share the caller record.
class RequestContext {
 public:
  // FromServerContext returns the context of the call `context` serves. With the server of
  // server.h the request id is the one already echoed and logged; without it (a bare
  // grpc::Server) it is decided here from the metadata and not echoed. Call from the handler,
  // while the call is alive. Thread-safe.
  static RequestContext FromServerContext(const grpc::ServerContextBase& context);

  // ForBackgroundWork returns a context for work that no RPC started (a job, a test): a new
  // request id unless one is given, and an optional bearer token to pass on.
  static RequestContext ForBackgroundWork(std::string request_id = NewRequestId(),
                                          absl::optional<std::string> bearer_token = absl::nullopt);

  const std::string& request_id() const { return request_id_; }

  // BearerToken returns the call's bearer token. Returns UNAUTHENTICATED with ErrorInfo reason
  // MISSING_CREDENTIALS when there is no `authorization` metadata, MALFORMED_CREDENTIALS when
  // it is not "Bearer <token>" or appears more than once.
  absl::StatusOr<std::string> BearerToken() const;

  // PropagateTo puts this call's x-request-id on `client` and, if asked and present, its
  // `authorization: Bearer <token>`, so a downstream service continues the same request.
  // Call before the downstream call starts; each ClientContext once.
  void PropagateTo(grpc::ClientContext* client, bool include_bearer_token = false) const;

  // SetCaller records who the caller is, so the server's per-RPC log line names them.
  // RequireCaller does this. Thread-safe.
  void SetCaller(const Caller& caller) const;

  // CallerId returns the user id recorded by SetCaller, if any. Thread-safe.
  absl::optional<std::string> CallerId() const;

 private:
  RequestContext(std::shared_ptr<internal::CallRecord> record,
                 std::vector<std::string> authorization)
      : request_id_(record->request_id),
        record_(std::move(record)),
        authorization_(std::move(authorization)) {}

  std::string request_id_;
  std::shared_ptr<internal::CallRecord> record_;
  std::vector<std::string> authorization_;  // every `authorization` value received
};

// The identity hook services plug in: identity validates the token against its own tables,
// billing and questions ask identity's ValidateSession (with a cache).
class CallerAuthenticator {
 public:
  virtual ~CallerAuthenticator() = default;
  // Authenticate returns the caller a bearer token stands for. Should return UNAUTHENTICATED
  // for an unknown, expired or revoked token and UNAVAILABLE when it cannot tell (identity
  // down). Must be thread-safe: handlers call it concurrently.
  virtual absl::StatusOr<Caller> Authenticate(absl::string_view bearer_token,
                                              const RequestContext& context) = 0;
  // AuthenticateIfCached is Authenticate when the answer needs no blocking work (a validation
  // remembered from an earlier call), for code on gRPC's own threads; nullopt when only
  // Authenticate can tell. The default knows nothing without blocking.
  virtual absl::optional<absl::StatusOr<Caller>> AuthenticateIfCached(
      absl::string_view bearer_token, const RequestContext& context) {
    return absl::nullopt;
  }
};

// RequireCaller extracts the bearer token of `context`, authenticates it and records the
// caller for the log line. Returns the errors of BearerToken() and whatever `authenticator`
// returns; an OK caller with an empty user_id becomes INTERNAL. Thread-safe.
absl::StatusOr<Caller> RequireCaller(const RequestContext& context,
                                     CallerAuthenticator& authenticator);

// RequireCallerIfCached is RequireCaller without blocking: nullopt when `authenticator` cannot
// answer without blocking (then call RequireCaller where blocking is allowed). A missing or
// malformed token is answered at once. Thread-safe.
absl::optional<absl::StatusOr<Caller>> RequireCallerIfCached(const RequestContext& context,
                                                             CallerAuthenticator& authenticator);

// RequireRole returns PERMISSION_DENIED (ErrorInfo reason MISSING_ROLE, metadata role) unless
// `caller` has `role`.
absl::Status RequireRole(const Caller& caller, absl::string_view role);

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_HANDLER_REQUEST_CONTEXT_H_
