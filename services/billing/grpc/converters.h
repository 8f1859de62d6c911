// Billing's proto <-> domain conversions, for the gRPC handlers (billing_service.h): the
// domain's types in, billing.v1 messages out, and back. Field checks that belong
// to the proto itself (an enum value the domain has no word for) are made here, naming the
// field; every other rule is the domain's.
//
//   v1::RecordTransactionResponse response;
//   ToProto(recorded.transaction, response.mutable_transaction());
//   SUITE_ASSIGN_OR_RETURN(NewTransaction tx, FromProto(request));
//
// Thread-safe: pure functions.
#ifndef SUITE_SERVICES_BILLING_GRPC_CONVERTERS_H_
#define SUITE_SERVICES_BILLING_GRPC_CONVERTERS_H_

#include "absl/status/statusor.h"
#include "billing/v1/billing_service.pb.h"
#include "services/billing/domain/billing.h"
#include "services/billing/domain/model.h"
#include "services/billing/domain/store.h"

namespace suite::billing {

namespace v1 = ::billing::v1;

v1::SubscriptionStatus ToProto(SubscriptionStatus s);
v1::StripeEventStatus ToProto(EventStatus s);
void ToProto(const Customer& c, v1::Customer* out);
void ToProto(const Subscription& s, v1::Subscription* out);
void ToProto(const Transaction& t, v1::Transaction* out);
void ToProto(const StoredEvent& e, v1::StripeEvent* out);
void ToProto(const Entitlement& e, v1::Entitlement* out);
void ToProto(const IngestResult& r, v1::IngestStripeEventResponse* out);

LinkRequest FromProto(const v1::LinkCustomerRequest& in);
// The entry to append (without request id, which the handler sets). INVALID_ARGUMENT naming
// transaction.kind or transaction.status when unset or unknown.
absl::StatusOr<NewTransaction> FromProto(const v1::RecordTransactionRequest& in);
// INVALID_ARGUMENT naming status when it is not a known value.
absl::StatusOr<EventFilter> FromProto(const v1::ListStripeEventsRequest& in);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_GRPC_CONVERTERS_H_
