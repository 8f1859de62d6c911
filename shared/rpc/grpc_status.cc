#include "shared/rpc/grpc_status.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/status.pb.h"
#include "shared/base/json_log.h"

namespace suite::rpc {
namespace {

// Only these payloads leave the process; everything else stays server-side.
constexpr absl::string_view kGoogleRpcTypePrefix = "type.googleapis.com/google.rpc.";

bool IsScrubbed(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss;
}

// Cuts `message` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Shorten(absl::string_view message, size_t max) {
  if (message.size() <= max) return std::string(message);
  size_t end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) --end;
  return std::string(message.substr(0, end));
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) { return ToGrpcStatus(status, ""); }

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view request_id) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());

  if (IsScrubbed(status.code())) {
    nlohmann::json payloads = nlohmann::json::array();
    status.ForEachPayload(
        [&](absl::string_view url, const absl::Cord& value) {
          // Payload values may be binary protobuf; only non-google ones are plain text.
          if (absl::StartsWith(url, kGoogleRpcTypePrefix)) {
            payloads.push_back({{"type", std::string(url)}});
          } else {
            payloads.push_back({{"type", std::string(url)}, {"value", std::string(value)}});
          }
        });
    nlohmann::json line = {{"severity", "ERROR"},
                           {"event", "rpc.internal_error"},
                           {"code", absl::StatusCodeToString(status.code())},
                           {"message", std::string(status.message())},
                           {"payloads", std::move(payloads)}};
    if (!request_id.empty()) line["request_id"] = std::string(request_id);
    WriteLogLine(std::move(line));
    std::string message(kInternalErrorMessage);
    if (!request_id.empty()) absl::StrAppend(&message, " (request id ", request_id, ")");
    return grpc::Status(code, message);
  }

  std::string message = Shorten(status.message(), kMaxClientMessageBytes);
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(message);
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    if (!absl::StartsWith(url, kGoogleRpcTypePrefix)) return;
    google::protobuf::Any* any = details.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(value));
  });
  if (details.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  int raw = static_cast<int>(status.error_code());
  absl::StatusCode code = (raw > 0 && raw <= 16) ? static_cast<absl::StatusCode>(raw)
                                                 : absl::StatusCode::kUnknown;
  absl::Status out(code, status.error_message());
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      out.SetPayload(any.type_url(), absl::Cord(any.value()));
    }
  }
  return out;
}

std::string FirstViolatedField(const grpc::Status& status) {
  return api::FirstViolatedField(FromGrpcStatus(status));
}

}  // namespace suite::rpc
