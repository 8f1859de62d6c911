// The gRPC adapter of billing.v1.BillingService: proto <-> domain, who may call what, and the
// one status conversion. No SQL and no business rules here.
//
//   billing::BillingGrpcService service(domain, authenticator);
//   GrpcServer::Start(config, {{&service, billing::v1::BillingService::service_full_name()}});
//
// Authorization (callers send `authorization: Bearer <session token>`, validated through
// `authenticator`, i.e. identity's ValidateSession):
//   IngestStripeEvent          no bearer: the Stripe signature authenticates the delivery
//   GetEntitlement, GetCustomer (by user_id), ListSubscriptions
//                              the user themself or an admin
//   GetCustomer (by stripe id), GetSubscription
//                              the owning user or an admin
//   LinkCustomer, RecordTransaction, ListTransactions, ListStripeEvents, ReprocessStripeEvent
//                              admin only
// Thread-safe.
#ifndef SUITE_SERVICES_BILLING_GRPC_BILLING_SERVICE_H_
#define SUITE_SERVICES_BILLING_GRPC_BILLING_SERVICE_H_

#include "billing/v1/billing_service.grpc.pb.h"
#include "services/billing/domain/billing.h"
#include "shared/rpc/blocking_executor.h"
#include "shared/rpc/request_context.h"

namespace billing {

class BillingGrpcService final : public billing::v1::BillingService::CallbackService {
 public:
  // The handlers' blocking work runs on `handler_threads` threads (ServerConfig::handler_threads).
  BillingGrpcService(Billing& billing, suite::rpc::CallerAuthenticator& authenticator,
                     int handler_threads = 16)
      : billing_(billing), authenticator_(authenticator), executor_("billing", handler_threads) {}

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

 private:
  Billing& billing_;
  suite::rpc::CallerAuthenticator& authenticator_;
  suite::rpc::BlockingExecutor executor_;
};

}  // namespace billing

#endif  // SUITE_SERVICES_BILLING_GRPC_BILLING_SERVICE_H_
