// Whether a caller is entitled to paid practice, asked of billing's GetEntitlement
// (services.md contract) with the caller's own bearer token and request id.
//
//   BillingEntitlements billing(grpc::CreateChannel(billing_addr, creds));
//   absl::StatusOr<bool> ok = billing.IsEntitled(caller.user_id, request_context, deadline);
//
// Fail closed: billing unreachable, slow or broken gives UNAVAILABLE (never "entitled"),
// always before `deadline` (the caller's own deadline, shortened by a small margin so that
// the caller gets our answer rather than its own DEADLINE_EXCEEDED).
#ifndef SUITE_SHARED_CLIENTS_BILLING_ENTITLEMENTS_H_
#define SUITE_SHARED_CLIENTS_BILLING_ENTITLEMENTS_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::billing_client {

// What the adapter asks; the billing client implements it, tests may fake it.
class EntitlementSource {
 public:
  virtual ~EntitlementSource() = default;
  // IsEntitled returns billing's answer for `user_id`, UNAVAILABLE when billing cannot answer
  // before `deadline`, PERMISSION_DENIED / UNAUTHENTICATED as billing returned them.
  // Thread-safe.
  virtual absl::StatusOr<bool> IsEntitled(const std::string& user_id,
                                          const suite::rpc::RequestContext& context,
                                          absl::Time deadline) = 0;
};

class BillingEntitlements : public EntitlementSource {
 public:
  // `call_timeout` bounds each call even when the caller set no deadline.
  explicit BillingEntitlements(std::shared_ptr<grpc::Channel> channel,
                               absl::Duration call_timeout = absl::Seconds(2));

  absl::StatusOr<bool> IsEntitled(const std::string& user_id,
                                  const suite::rpc::RequestContext& context,
                                  absl::Time deadline) override;

 private:
  std::unique_ptr<billing::v1::BillingService::Stub> stub_;
  absl::Duration call_timeout_;
};

}  // namespace suite::billing_client

#endif  // SUITE_SHARED_CLIENTS_BILLING_ENTITLEMENTS_H_
