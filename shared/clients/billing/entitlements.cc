#include "shared/clients/billing/entitlements.h"

#include <algorithm>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "shared/api/status.h"
#include "shared/rpc/grpc_status.h"

namespace suite::billing_client {

BillingEntitlements::BillingEntitlements(std::shared_ptr<grpc::Channel> channel,
                                         absl::Duration call_timeout)
    : stub_(billing::v1::BillingService::NewStub(channel)), call_timeout_(call_timeout) {}

absl::StatusOr<bool> BillingEntitlements::IsEntitled(const std::string& user_id,
                                                     const suite::rpc::RequestContext& context,
                                                     absl::Time deadline) {
  const absl::Time now = absl::Now();
  // Leave the caller a tenth of its remaining time (at least 20 ms, at most 200 ms) to get
  // our UNAVAILABLE back before its own deadline fires.
  absl::Duration margin = absl::ZeroDuration();
  if (deadline != absl::InfiniteFuture()) {
    margin = std::min(absl::Milliseconds(200),
                      std::max(absl::Milliseconds(20), (deadline - now) / 10));
  }
  const absl::Time call_deadline = std::min(deadline - margin, now + call_timeout_);
  if (call_deadline <= now) {
    return absl::UnavailableError("no time left to ask billing");
  }
  grpc::ClientContext client;
  context.PropagateTo(&client, /*include_bearer_token=*/true);
  client.set_deadline(absl::ToChronoTime(call_deadline));
  billing::v1::GetEntitlementRequest request;
  request.set_user_id(user_id);
  billing::v1::GetEntitlementResponse response;
  grpc::Status status = stub_->GetEntitlement(&client, request, &response);
  if (status.ok()) return response.entitlement().entitled();
  switch (status.error_code()) {
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return suite::rpc::FromGrpcStatus(status);
    default:
      // Unreachable, timed out, or broken: we cannot know, so we do not grant.
      return absl::UnavailableError(
          absl::StrCat("billing: code ", static_cast<int>(status.error_code()), " ",
                       status.error_message()));
  }
}

}  // namespace suite::billing_client
