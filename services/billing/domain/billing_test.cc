// Billing::IngestStripeEvent's answers to storage failures, with a fake Store whose
// ApplyEvent fails as told (the SQL itself is tested on PostgreSQL in services/billing/storage
// and tests/reliability/faults_test; here only the domain's mapping of the outcome matters).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/billing/domain/billing.h"
#include "services/billing/domain/store.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/api/status.h"

namespace suite::billing {
namespace {

constexpr char kSecret[] = "whsec_domain_test";

// Answers ApplyEvent with `apply_result` and records RecordEventFailure calls; everything
// else is UNIMPLEMENTED (IngestStripeEvent must not need it).
class FakeStorage : public Store {
 public:
  absl::Status apply_result = absl::OkStatus();
  // RecordEventFailure answers these in turn, then OK.
  std::vector<absl::Status> record_results;
  std::vector<std::string> recorded_failures;
  std::vector<std::string> recorded_bodies;

  absl::StatusOr<IngestOutcome> ApplyEvent(const EventEnvelope&, const EventChange&,
                                           bool) override {
    if (!apply_result.ok()) return apply_result;
    return IngestOutcome{};
  }
  absl::Status RecordEventFailure(const EventEnvelope& envelope, absl::string_view) override {
    recorded_failures.push_back(envelope.stripe_event_id);
    recorded_bodies.push_back(envelope.redacted_json);
    if (recorded_failures.size() <= record_results.size()) {
      return record_results[recorded_failures.size() - 1];
    }
    return absl::OkStatus();
  }
  absl::StatusOr<StoredEvent> GetEvent(absl::string_view) override { return Unused(); }
  absl::StatusOr<Page<StoredEvent>> ListEvents(const EventFilter&, int,
                                               const absl::optional<Cursor>&) override {
    return Unused();
  }
  absl::StatusOr<Customer> GetCustomerByStripeId(absl::string_view) override { return Unused(); }
  absl::StatusOr<Customer> GetCustomerByUser(absl::string_view) override { return Unused(); }
  absl::StatusOr<Customer> LinkCustomer(absl::string_view, absl::string_view, bool,
                                        absl::string_view) override {
    return Unused();
  }
  absl::StatusOr<Subscription> GetSubscription(absl::string_view) override { return Unused(); }
  absl::StatusOr<Page<Subscription>> ListSubscriptions(absl::string_view, int,
                                                       const absl::optional<Cursor>&) override {
    return Unused();
  }
  absl::StatusOr<absl::optional<Subscription>> BestSubscription(absl::string_view) override {
    return Unused();
  }
  void BestSubscriptionAsync(absl::string_view, const suite::AsyncCaller&,
                             BestSubscriptionDone done) override {
    done(Unused());
  }
  absl::StatusOr<RecordedTransaction> RecordTransaction(const NewTransaction&) override {
    return Unused();
  }
  absl::StatusOr<Page<Transaction>> ListTransactions(absl::string_view, int,
                                                     const absl::optional<Cursor>&) override {
    return Unused();
  }
  absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter&, int64_t, int) override {
    return Unused();
  }

 private:
  static absl::Status Unused() { return absl::UnimplementedError("not used by this test"); }
};

BillingOptions TestOptions() {
  BillingOptions o;
  o.webhook_secrets = {kSecret};
  o.page_token_secret = "page-token-secret-for-the-domain-test";
  return o;
}

class BillingIngestTest : public ::testing::Test {
 protected:
  BillingIngestTest() : billing_(storage_, TestOptions()) {}

  absl::StatusOr<IngestResult> Ingest() {
    const std::string payload =
        R"({"id":"evt_commit","object":"event","type":"customer.created","created":1700000000,)"
        R"("livemode":false,"api_version":"2024-06-20","data":{"object":{"id":"cus_1"}}})";
    const int64_t t = absl::ToUnixSeconds(absl::Now());
    const std::string header =
        absl::StrCat("t=", t, ",v1=", ComputeStripeSignature(kSecret, t, payload));
    return billing_.IngestStripeEvent(payload, header, "req-1");
  }

  FakeStorage storage_;
  Billing billing_;
};

TEST_F(BillingIngestTest, AppliedEventIsAcknowledged) {
  absl::StatusOr<IngestResult> r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stripe_event_id, "evt_commit");
  EXPECT_TRUE(storage_.recorded_failures.empty());
}

TEST_F(BillingIngestTest, CommitWithUnknownOutcomeAnswersUnknownNotInternal) {
  storage_.apply_result = absl::UnknownError("connection lost during COMMIT; outcome unknown");
  absl::StatusOr<IngestResult> r = Ingest();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown) << r.status();
  EXPECT_FALSE(suite::api::ErrorInfoOf(r.status()).has_value() &&
               suite::api::ErrorInfoOf(r.status())->reason == "EVENT_PROCESSING_FAILED");
}

TEST_F(BillingIngestTest, UnavailableStorageIsPassedThrough) {
  storage_.apply_result = absl::UnavailableError("database down");
  absl::StatusOr<IngestResult> r = Ingest();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

// A failure that recurs on every delivery (the database refuses a value of the event) parks
// the event: recorded as failed and acknowledged, so that Stripe stops retrying.
TEST_F(BillingIngestTest, DeterministicApplyFailureParksTheEvent) {
  for (absl::Status failure :
       {absl::FailedPreconditionError("constraint violated"),
        absl::InvalidArgumentError("a value is out of range or malformed")}) {
    storage_.recorded_failures.clear();
    storage_.apply_result = failure;
    absl::StatusOr<IngestResult> r = Ingest();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, EventStatus::kFailed);
    EXPECT_EQ(r->last_error, failure.message());
    EXPECT_EQ(storage_.recorded_failures, std::vector<std::string>{"evt_commit"});
  }
}

// A failure that may pass is not parked: Stripe must retry.
TEST_F(BillingIngestTest, InternalStorageFailureIsRecordedAndAnsweredInternal) {
  storage_.apply_result = absl::InternalError("database error");
  absl::StatusOr<IngestResult> r = Ingest();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  EXPECT_EQ(storage_.recorded_failures, std::vector<std::string>{"evt_commit"});
}

// Parking needs the record: without it (database down) the delivery is not acknowledged.
TEST_F(BillingIngestTest, PoisonEventIsNotAcknowledgedWhenItsRecordFails) {
  storage_.apply_result = absl::FailedPreconditionError("constraint violated");
  storage_.record_results = {absl::UnavailableError("database down")};
  absl::StatusOr<IngestResult> r = Ingest();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

// When the database refuses the body itself, the event is parked with its envelope only.
TEST_F(BillingIngestTest, PoisonEventWhoseBodyIsRefusedIsParkedWithItsEnvelope) {
  storage_.apply_result = absl::InvalidArgumentError("a value is out of range or malformed");
  storage_.record_results = {absl::InvalidArgumentError("a value is out of range or malformed")};
  absl::StatusOr<IngestResult> r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, EventStatus::kFailed);
  ASSERT_EQ(storage_.recorded_bodies.size(), 2u);
  EXPECT_NE(storage_.recorded_bodies[1].find(R"("id":"evt_commit")"), std::string::npos);
  EXPECT_EQ(storage_.recorded_bodies[1].find("cus_1"), std::string::npos);
}

// The reads' arguments are checked before any read: a call that names neither or both of
// GetCustomer's keys, or no user at all, is INVALID_ARGUMENT naming the field, and the store
// (whose reads all answer UNIMPLEMENTED here) is never asked.
class BillingReadArgumentsTest : public ::testing::Test {
 protected:
  BillingReadArgumentsTest() : billing_(storage_, TestOptions()) {}

  static void ExpectRefused(const absl::Status& status, const std::string& field,
                            const std::string& message) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(suite::api::FirstViolatedField(status), field) << status;
    EXPECT_NE(status.message().find(message), absl::string_view::npos) << status;
  }

  const Actor admin_{"00000000-0000-4000-8000-000000000001", /*admin=*/true, "req-1"};
  FakeStorage storage_;
  Billing billing_;
};

TEST_F(BillingReadArgumentsTest, GetCustomerTakesExactlyOneOfUserIdAndStripeCustomerId) {
  ExpectRefused(billing_.GetCustomer(admin_, "", "").status(), "user_id", "exactly one");
  ExpectRefused(
      billing_.GetCustomer(admin_, "00000000-0000-4000-8000-000000000002", "cus_1").status(),
      "user_id", "exactly one");
  ExpectRefused(billing_.GetCustomer(admin_, "not-a-uuid", "").status(), "user_id",
                "must be a UUID");
  ExpectRefused(billing_.GetCustomer(admin_, "", "cus 1").status(), "stripe_customer_id", "");
  // One key, well formed: the store is asked (and this fake one cannot answer).
  EXPECT_EQ(billing_.GetCustomer(admin_, "", "cus_1").status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(BillingReadArgumentsTest, GetEntitlementWithoutAUserIsRefusedAsRequired) {
  ExpectRefused(billing_.GetEntitlement(admin_, "").status(), "user_id", "is required");
  ExpectRefused(billing_.GetEntitlement(admin_, "0000").status(), "user_id", "must be a UUID");
  absl::Status async_status;
  billing_.GetEntitlementAsync(admin_, "", suite::AsyncCaller{},
                               [&](absl::StatusOr<Entitlement> e) { async_status = e.status(); });
  ExpectRefused(async_status, "user_id", "is required");
}

}  // namespace
}  // namespace suite::billing
