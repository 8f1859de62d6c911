#include "services/billing/grpc/billing_service.h"

#include <string>

#include "absl/strings/ascii.h"
#include "services/billing/grpc/converters.h"
#include "shared/api/status.h"
#include "shared/audit_api/audit_proto.h"
#include "shared/base/audit_actor.h"
#include "shared/base/status_macros.h"
#include "shared/rpc/handler/handler.h"

namespace suite::billing {
namespace {

using suite::rpc::Caller;
using suite::rpc::RequestContext;

constexpr absl::string_view kAdmin = "admin";

// The domain's view of an authenticated caller.
Actor ActorOf(const Caller& caller, const RequestContext& rc) {
  Actor actor;
  actor.user_id = absl::AsciiStrToLower(caller.user_id);
  actor.admin = caller.HasRole(kAdmin);
  actor.request_id = rc.request_id();
  return actor;
}

}  // namespace

absl::StatusOr<Actor> BillingGrpcService::Authenticate(const RequestContext& rc) const {
  SUITE_ASSIGN_OR_RETURN(Caller caller, suite::rpc::RequireCaller(rc, authenticator_));
  return ActorOf(caller, rc);
}

grpc::ServerUnaryReactor* BillingGrpcService::IngestStripeEvent(
    grpc::CallbackServerContext* context, const v1::IngestStripeEventRequest* request,
    v1::IngestStripeEventResponse* response) {
  // No bearer: the Stripe signature authenticates the delivery (the domain checks it).
  return suite::rpc::RunHandler(
      context, executor_, [=](const RequestContext& rc) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(IngestResult result,
                               billing_.IngestStripeEvent(request->payload(),
                                                          request->stripe_signature(),
                                                          rc.request_id()));
        ToProto(result, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::GetCustomer(grpc::CallbackServerContext* context,
                                                          const v1::GetCustomerRequest* request,
                                                          v1::GetCustomerResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(Customer customer,
                               billing_.GetCustomer(actor, request->user_id(),
                                                    request->stripe_customer_id()));
        ToProto(customer, response->mutable_customer());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::LinkCustomer(grpc::CallbackServerContext* context,
                                                           const v1::LinkCustomerRequest* request,
                                                           v1::LinkCustomerResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        // The caller and request id of the audit row the change appends.
        const suite::ScopedAuditActor audit_actor(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(
            Customer customer,
            billing_.LinkCustomer(actor, FromProto(*request), [&](const std::string& user_id) {
              return users_.UserExists(user_id, rc);
            }));
        ToProto(customer, response->mutable_customer());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::GetSubscription(
    grpc::CallbackServerContext* context, const v1::GetSubscriptionRequest* request,
    v1::GetSubscriptionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(Subscription subscription,
                               billing_.GetSubscription(actor, request->stripe_subscription_id()));
        ToProto(subscription, response->mutable_subscription());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListSubscriptions(
    grpc::CallbackServerContext* context, const v1::ListSubscriptionsRequest* request,
    v1::ListSubscriptionsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(auto page,
                               billing_.ListSubscriptions(actor, request->user_id(),
                                                          request->page_size(),
                                                          request->page_token()));
        for (const Subscription& s : page.first) ToProto(s, response->add_subscriptions());
        response->set_next_page_token(page.second);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::GetEntitlement(
    grpc::CallbackServerContext* context, const v1::GetEntitlementRequest* request,
    v1::GetEntitlementResponse* response) {
  // The hot read: no executor thread per call (handler.h's RunAuthenticatedAsync).
  return suite::rpc::RunAuthenticatedAsync(
      context, executor_, authenticator_,
      [=](const Caller& caller, const RequestContext& rc, const suite::AsyncCaller& async_caller,
          const suite::rpc::AsyncReply& reply) {
        billing_.GetEntitlementAsync(ActorOf(caller, rc), request->user_id(), async_caller,
                                     [response, reply](absl::StatusOr<Entitlement> e) {
                                       reply.Complete([&]() -> absl::Status {
                                         SUITE_RETURN_IF_ERROR(e.status());
                                         ToProto(*e, response->mutable_entitlement());
                                         return absl::OkStatus();
                                       });
                                     });
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::RecordTransaction(
    grpc::CallbackServerContext* context, const v1::RecordTransactionRequest* request,
    v1::RecordTransactionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        // The caller and request id of the audit row the change appends.
        const suite::ScopedAuditActor audit_actor(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(NewTransaction tx, FromProto(*request));
        tx.request_id = rc.request_id();
        SUITE_ASSIGN_OR_RETURN(RecordedTransaction recorded,
                               billing_.RecordTransaction(actor, std::move(tx)));
        ToProto(recorded.transaction, response->mutable_transaction());
        response->set_replayed(recorded.replayed);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListTransactions(
    grpc::CallbackServerContext* context, const v1::ListTransactionsRequest* request,
    v1::ListTransactionsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(auto page,
                               billing_.ListTransactions(actor, request->account_id(),
                                                         request->page_size(),
                                                         request->page_token()));
        for (const Transaction& t : page.first) ToProto(t, response->add_transactions());
        response->set_next_page_token(page.second);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListStripeEvents(
    grpc::CallbackServerContext* context, const v1::ListStripeEventsRequest* request,
    v1::ListStripeEventsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(EventFilter filter, FromProto(*request));
        SUITE_ASSIGN_OR_RETURN(auto page,
                               billing_.ListStripeEvents(actor, filter, request->page_size(),
                                                         request->page_token()));
        for (const StoredEvent& e : page.first) ToProto(e, response->add_stripe_events());
        response->set_next_page_token(page.second);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::ReprocessStripeEvent(
    grpc::CallbackServerContext* context, const v1::ReprocessStripeEventRequest* request,
    v1::ReprocessStripeEventResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        // The caller and request id of the audit row the change appends.
        const suite::ScopedAuditActor audit_actor(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(StoredEvent event,
                               billing_.ReprocessStripeEvent(actor, request->stripe_event_id()));
        ToProto(event, response->mutable_stripe_event());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListAuditEvents(
    grpc::CallbackServerContext* context, const ::audit::v1::ListAuditEventsRequest* request,
    ::audit::v1::ListAuditEventsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, [this](const RequestContext& rc) { return Authenticate(rc); },
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        return suite::audit_api::ServeListAuditEvents(
            *request, [&] { return billing_.AuthorizeListAuditEvents(actor); },
            [&](const suite::audit_api::AuditQuery& query) {
              return billing_.ListAuditEvents(actor, query);
            },
            response);
      });
}

}  // namespace suite::billing
