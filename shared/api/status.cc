#include "shared/api/status.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace suite::api {
namespace {

std::string UpperSnake(absl::string_view reason) {
  std::string out;
  for (char c : reason) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

google::rpc::BadRequest BadRequestOf(const absl::Status& status) {
  google::rpc::BadRequest bad_request;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kBadRequestTypeUrl)) {
    bad_request.ParseFromString(std::string(*payload));
  }
  return bad_request;
}

}  // namespace

absl::Status InvalidArgument(absl::string_view field, absl::string_view description) {
  return WithFieldViolation(absl::InvalidArgumentError(absl::StrCat(field, ": ", description)),
                            field, description);
}

absl::Status WithFieldViolation(absl::Status status, absl::string_view field,
                                absl::string_view description) {
  if (status.ok()) return status;
  google::rpc::BadRequest bad_request = BadRequestOf(status);
  google::rpc::BadRequest::FieldViolation* violation = bad_request.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(std::string(description));
  status.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           absl::string_view domain, std::map<std::string, std::string> metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(UpperSnake(reason));
  info.set_domain(std::string(domain));
  for (auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status WithRetryInfo(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  google::rpc::RetryInfo info;
  const int64_t nanos = absl::ToInt64Nanoseconds(delay);
  info.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRetryInfoTypeUrl);
  if (!payload.has_value()) return absl::nullopt;
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return absl::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  const google::rpc::BadRequest bad_request = BadRequestOf(status);
  for (const auto& v : bad_request.field_violations()) {
    out.push_back(FieldViolation{v.field(), v.description()});
  }
  return out;
}

std::string FirstViolatedField(const absl::Status& status) {
  const google::rpc::BadRequest bad_request = BadRequestOf(status);
  return bad_request.field_violations().empty() ? "" : bad_request.field_violations(0).field();
}

absl::optional<ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload.has_value()) return absl::nullopt;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return absl::nullopt;
  ErrorInfo out{info.reason(), info.domain(), {}};
  for (const auto& [key, value] : info.metadata()) out.metadata[key] = value;
  return out;
}

}  // namespace suite::api
