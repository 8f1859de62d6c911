// Helpers for the reliability tests: call any unary RPC of a running server with raw request
// bytes (so tests can send what a generated stub would refuse to build), read the standard
// health service, and count every row of a schema (to prove a rejected call wrote nothing).
//
//   RawResult r = CallRaw(channel, "/identity.v1.IdentityService/GetUser", bytes, "token");
//   EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
//   EXPECT_EQ(HealthOf(channel), HealthStatus::kServing);
//   absl::StatusOr<int64_t> rows = CountRows(db_url, "identity");
//
// Thread-safe (each call is independent). Testonly.
#ifndef SUITE_TESTS_RELIABILITY_HARNESS_H_
#define SUITE_TESTS_RELIABILITY_HARNESS_H_

#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace suite::reliability {

struct RawResult {
  grpc::Status status;
  std::string response;  // serialized response message (OK only)
};

// CallRaw sends `request` (serialized bytes) to `method` ("/pkg.Service/Method"), with
// `authorization: Bearer <token>` when the token is non-empty, under `deadline`.
RawResult CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                  const std::string& request, const std::string& bearer_token = "",
                  absl::Duration deadline = absl::Seconds(10));

enum class HealthStatus { kUnknown, kServing, kNotServing, kUnreachable };
// HealthOf asks grpc.health.v1.Health/Check for `service` ("" = the whole server).
HealthStatus HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                      const std::string& service = "",
                      absl::Duration deadline = absl::Seconds(2));
const char* HealthName(HealthStatus status);

// CountRows returns the total number of rows in every base table of `schema`, read in one
// statement through `database_url` (a role that can read them, e.g. the superuser).
absl::StatusOr<int64_t> CountRows(const std::string& database_url, absl::string_view schema);

// NewChannel opens a channel to host:port with a message limit of `max_bytes` in both
// directions (so tests can send more than the server accepts). Plaintext, unless this
// process's environment names a CA (SUITE_TLS_CA_FILE, shared/rpc/server/tls.h), as the soak's --tls
// does; aborts when those settings are unusable.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          int max_bytes = 64 * 1024 * 1024);

}  // namespace suite::reliability

#endif  // SUITE_TESTS_RELIABILITY_HARNESS_H_
