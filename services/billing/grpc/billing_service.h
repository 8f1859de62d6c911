// The gRPC handlers of billing.v1.BillingService: each authenticates its caller, converts the
// request (converters.h), calls the domain and converts the answer back, in the suite's one
// handler shape (shared/rpc/handler/handler.h). No SQL, no business rules and no authorization
// decisions here: the domain decides what the caller may see and do (domain/billing.h).
//
//   suite::billing::BillingGrpcService service(domain, authenticator, users);
//   GrpcServer::Start(config, {{&service, billing::v1::BillingService::service_full_name()}});
//
// Callers send `authorization: Bearer <session token>`, validated through `authenticator`
// (identity's ValidateSession), except IngestStripeEvent, whose Stripe signature
// authenticates the delivery. LinkCustomer asks `users` (identity's GetUser, with the
// caller's own token) whether the user exists. The admin-only writes name the caller and the
// request id for the audit row their change appends (shared/base/audit_actor.h).
// Thread-safe.
#ifndef SUITE_SERVICES_BILLING_GRPC_BILLING_SERVICE_H_
#define SUITE_SERVICES_BILLING_GRPC_BILLING_SERVICE_H_

#include "absl/status/statusor.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "services/billing/domain/billing.h"
#include "shared/clients/identity/user_directory.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::billing {

namespace v1 = ::billing::v1;

class BillingGrpcService final : public v1::BillingService::CallbackService {
 public:
  // The handlers' blocking work runs on `handler_threads` threads (ServerConfig::handler_threads).
  BillingGrpcService(Billing& billing, suite::rpc::CallerAuthenticator& authenticator,
                     suite::identity_client::UserDirectory& users, int handler_threads = 16)
      : billing_(billing),
        authenticator_(authenticator),
        users_(users),
        executor_("billing", handler_threads) {}

  grpc::ServerUnaryReactor* IngestStripeEvent(grpc::CallbackServerContext* context,
                                              const v1::IngestStripeEventRequest* request,
                                              v1::IngestStripeEventResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* LinkCustomer(grpc::CallbackServerContext* context,
                                         const v1::LinkCustomerRequest* request,
                                         v1::LinkCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetSubscription(grpc::CallbackServerContext* context,
                                            const v1::GetSubscriptionRequest* request,
                                            v1::GetSubscriptionResponse* response) override;
  grpc::ServerUnaryReactor* ListSubscriptions(grpc::CallbackServerContext* context,
                                              const v1::ListSubscriptionsRequest* request,
                                              v1::ListSubscriptionsResponse* response) override;
  grpc::ServerUnaryReactor* GetEntitlement(grpc::CallbackServerContext* context,
                                           const v1::GetEntitlementRequest* request,
                                           v1::GetEntitlementResponse* response) override;
  grpc::ServerUnaryReactor* RecordTransaction(grpc::CallbackServerContext* context,
                                              const v1::RecordTransactionRequest* request,
                                              v1::RecordTransactionResponse* response) override;
  grpc::ServerUnaryReactor* ListTransactions(grpc::CallbackServerContext* context,
                                             const v1::ListTransactionsRequest* request,
                                             v1::ListTransactionsResponse* response) override;
  grpc::ServerUnaryReactor* ListStripeEvents(grpc::CallbackServerContext* context,
                                             const v1::ListStripeEventsRequest* request,
                                             v1::ListStripeEventsResponse* response) override;
  grpc::ServerUnaryReactor* ReprocessStripeEvent(
      grpc::CallbackServerContext* context, const v1::ReprocessStripeEventRequest* request,
      v1::ReprocessStripeEventResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const ::audit::v1::ListAuditEventsRequest* request,
                                            ::audit::v1::ListAuditEventsResponse* response) override;

 private:
  // Billing's authenticate for suite::rpc::RunAuthenticated: the bearer's caller, through
  // `authenticator_`, as the domain's Actor (UNAUTHENTICATED without a valid token).
  absl::StatusOr<Actor> Authenticate(const suite::rpc::RequestContext& rc) const;

  Billing& billing_;
  suite::rpc::CallerAuthenticator& authenticator_;
  suite::identity_client::UserDirectory& users_;
  suite::rpc::BlockingExecutor executor_;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_GRPC_BILLING_SERVICE_H_
