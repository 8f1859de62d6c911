// Parsing, redaction and the change each handled Stripe event type asks for.
#include "services/billing/domain/stripe_event.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "shared/api/status.h"

namespace suite::billing {
namespace {

constexpr char kUser[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kAccount[] = "bbbbbbbb-0000-4000-8000-000000000001";

std::string Event(const std::string& type, const std::string& object) {
  return absl::Substitute(
      R"({"id":"evt_1","object":"event","type":"$0","created":1700000000,"livemode":true,)"
      R"("api_version":"2024-06-20","data":{"object":$1}})",
      type, object);
}

ParsedStripeEvent MustParse(const std::string& payload) {
  auto parsed = ParseStripeEvent(payload);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : ParsedStripeEvent{};
}

using suite::api::FirstViolatedField;

TEST(StripeEventTest, ParsesTheEnvelope) {
  ParsedStripeEvent p = MustParse(Event("customer.created", R"({"id":"cus_1"})"));
  EXPECT_EQ(p.envelope.stripe_event_id, "evt_1");
  EXPECT_EQ(p.envelope.type, "customer.created");
  EXPECT_EQ(p.envelope.created, absl::FromUnixSeconds(1700000000));
  EXPECT_TRUE(p.envelope.livemode);
  EXPECT_EQ(p.envelope.api_version, "2024-06-20");
}

TEST(StripeEventTest, MalformedEnvelopesNameTheField) {
  EXPECT_EQ(FirstViolatedField(ParseStripeEvent("{").status()), "payload");
  EXPECT_EQ(FirstViolatedField(ParseStripeEvent("[1]").status()), "payload");
  EXPECT_EQ(FirstViolatedField(ParseStripeEvent(R"({"object":"customer"})").status()), "payload.object");
  EXPECT_EQ(
      FirstViolatedField(ParseStripeEvent(R"({"object":"event","type":"x","created":1,"livemode":false})")
                  .status()),
      "payload.id");
  EXPECT_EQ(
      FirstViolatedField(
          ParseStripeEvent(R"({"object":"event","id":"e","created":1,"livemode":false})").status()),
      "payload.type");
  EXPECT_EQ(FirstViolatedField(ParseStripeEvent(
                        R"({"object":"event","id":"e","type":"x","created":"1","livemode":false})")
                        .status()),
            "payload.created");
  EXPECT_EQ(
      FirstViolatedField(ParseStripeEvent(R"({"object":"event","id":"e","type":"x","created":1})").status()),
      "payload.livemode");
  EXPECT_EQ(ParseStripeEvent("nope").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FirstViolatedField(ParseStripeEvent(
                R"({"object":"event","id":"e\u0000","type":"x","created":1,"livemode":false})")
                        .status()),
            "payload.id");
  EXPECT_EQ(FirstViolatedField(ParseStripeEvent(
                R"({"object":"event","id":"e","type":"a b","created":1,"livemode":false})")
                        .status()),
            "payload.type");
}

TEST(StripeEventTest, RedactsPersonalDataEverywhere) {
  ParsedStripeEvent p = MustParse(
      Event("charge.refunded",
            absl::StrCat(
                R"({"id":"ch_1","amount_refunded":100,"currency":"usd","receipt_email":"a@b.c",)",
                R"("billing_details":{"name":"A","address":{"line1":"x"}},)",
                R"("payment_method_details":{"card":{"brand":"visa","last4":"4242"}},)",
                R"("customer_details":{"email":"a@b.c","phone":"+1"},)",
                R"("nested":[{"email":"c@d.e","name":"C","shipping":{"address":{}}}],)",
                R"("metadata":{"account_id":")", kAccount, R"(","user_id":")", kUser,
                R"(","favourite_colour":"blue"}})")));
  const nlohmann::json redacted = nlohmann::json::parse(p.envelope.redacted_json);
  const std::string text = redacted.dump();
  for (const char* gone :
       {"a@b.c", "c@d.e", "billing_details", "payment_method_details", "4242", "visa",
        "customer_details", "+1", "shipping", "favourite_colour", "\"name\""}) {
    EXPECT_EQ(text.find(gone), std::string::npos) << gone;
  }
  const auto& object = redacted["data"]["object"];
  EXPECT_EQ(object["id"], "ch_1");
  EXPECT_EQ(object["metadata"]["account_id"], kAccount);
  EXPECT_EQ(object["metadata"]["user_id"], kUser);
  EXPECT_EQ(redacted["id"], "evt_1");
  EXPECT_EQ(redacted["created"], 1700000000);
}

TEST(StripeEventTest, RedactionDropsNulCharactersJsonbCannotStore) {
  ParsedStripeEvent p = MustParse(
      Event("payout.paid", R"({"id":"po_\u00001","bad\u0000key":1,"arr":["a\u0000b"]})"));
  EXPECT_EQ(p.envelope.redacted_json.find("\\u0000"), std::string::npos)
      << p.envelope.redacted_json;
  EXPECT_NE(p.envelope.redacted_json.find("\"po_1\""), std::string::npos);
  EXPECT_NE(p.envelope.redacted_json.find("\"ab\""), std::string::npos);
  EXPECT_EQ(p.envelope.redacted_json.find("key"), std::string::npos);
}

TEST(StripeEventTest, CustomerEvents) {
  ParsedStripeEvent p =
      MustParse(Event("customer.updated",
                      absl::StrCat(R"({"id":"cus_1","metadata":{"user_id":")", kUser, R"("}})")));
  ASSERT_TRUE(p.change.ok());
  ASSERT_TRUE(p.change->customer.has_value());
  EXPECT_EQ(p.change->customer->stripe_customer_id, "cus_1");
  EXPECT_EQ(p.change->customer->user_id, kUser);
  EXPECT_FALSE(p.change->customer->deleted);
  p = MustParse(Event("customer.deleted", R"({"id":"cus_1"})"));
  ASSERT_TRUE(p.change.ok());
  EXPECT_TRUE(p.change->customer->deleted);
  // A user id that is not a uuid cannot be applied.
  p = MustParse(Event("customer.created", R"({"id":"cus_1","metadata":{"user_id":"bob"}})"));
  EXPECT_EQ(p.change.status().code(), absl::StatusCode::kInternal);
}

TEST(StripeEventTest, EverySubscriptionTypeAppliesTheObject) {
  for (const char* type :
       {"customer.subscription.created", "customer.subscription.updated",
        "customer.subscription.deleted", "customer.subscription.paused",
        "customer.subscription.resumed", "customer.subscription.trial_will_end"}) {
    ParsedStripeEvent p = MustParse(
        Event(type, R"({"id":"sub_1","customer":{"id":"cus_1"},"status":"paused",)"
                    R"("current_period_end":1700600000,"cancel_at_period_end":true,)"
                    R"("trial_end":1700100000,"items":{"data":[{"price":{"id":"price_1"}}]}})"));
    ASSERT_TRUE(p.change.ok()) << type << p.change.status();
    ASSERT_TRUE(p.change->subscription.has_value()) << type;
    const SubscriptionChange& s = *p.change->subscription;
    EXPECT_EQ(s.stripe_subscription_id, "sub_1");
    EXPECT_EQ(s.stripe_customer_id, "cus_1");  // expanded customer object
    EXPECT_EQ(s.state.status, SubscriptionStatus::kPaused);
    EXPECT_EQ(s.state.price_id, "price_1");
    EXPECT_EQ(s.state.current_period_end, absl::FromUnixSeconds(1700600000));
    EXPECT_EQ(s.state.trial_end, absl::FromUnixSeconds(1700100000));
    EXPECT_TRUE(s.state.cancel_at_period_end);
  }
}

TEST(StripeEventTest, BrokenSubscriptionObjectsFailProcessing) {
  for (const char* object : {
           R"({"id":"sub_1","status":"active"})",                      // no customer
           R"({"customer":"cus_1","status":"active"})",                // no id
           R"({"id":"sub_1","customer":"cus_1","status":"sleeping"})"  // unknown status
       }) {
    ParsedStripeEvent p = MustParse(Event("customer.subscription.updated", object));
    EXPECT_EQ(p.change.status().code(), absl::StatusCode::kInternal) << object;
  }
  ParsedStripeEvent p = MustParse(R"({"id":"e","object":"event","type":"customer.created",)"
                                  R"("created":1,"livemode":false})");
  EXPECT_EQ(p.change.status().code(), absl::StatusCode::kInternal);  // no data.object
}

TEST(StripeEventTest, MoneyEventsBookOnTheNamedAccount) {
  const std::string md =
      absl::StrCat(R"("metadata":{"account_id":")", kAccount, R"(","user_id":")", kUser, R"("})");
  struct Case {
    std::string type, object;
    TransactionKind kind;
    TransactionStatus status;
    int64_t amount;
  };
  for (const Case& c : std::vector<Case>{
           {"invoice.paid",
            R"({"id":"in_1","amount_paid":1000,"currency":"eur","payment_intent":"pi_1",)" + md +
                "}",
            TransactionKind::kPayment, TransactionStatus::kSucceeded, 1000},
           {"invoice.payment_failed",
            R"({"id":"in_1","amount_due":1000,"currency":"eur",)" + md + "}",
            TransactionKind::kPayment, TransactionStatus::kFailed, 1000},
           {"charge.refunded", R"({"id":"ch_1","amount_refunded":250,"currency":"usd",)" + md + "}",
            TransactionKind::kRefund, TransactionStatus::kSucceeded, 250},
           {"payment_intent.succeeded",
            R"({"id":"pi_9","amount_received":700,"currency":"jpy","invoice":null,)" + md + "}",
            TransactionKind::kPayment, TransactionStatus::kSucceeded, 700},
       }) {
    ParsedStripeEvent p = MustParse(Event(c.type, c.object));
    ASSERT_TRUE(p.change.ok()) << c.type << p.change.status();
    ASSERT_TRUE(p.change->transaction.has_value()) << c.type;
    const NewTransaction& t = *p.change->transaction;
    EXPECT_EQ(t.kind, c.kind) << c.type;
    EXPECT_EQ(t.status, c.status) << c.type;
    EXPECT_EQ(t.amount_cents, c.amount) << c.type;
    EXPECT_EQ(t.account_id, kAccount);
    EXPECT_EQ(t.user_id, kUser);
    EXPECT_EQ(t.currency.size(), 3u);
    EXPECT_EQ(t.idempotency_key, "stripe_event:evt_1");
    EXPECT_FALSE(t.request_fingerprint.empty());
    EXPECT_EQ(p.envelope.related_account_id, kAccount);
  }
}

TEST(StripeEventTest, MoneyEventsWithoutAccountOrForAnInvoiceBookNothing) {
  ParsedStripeEvent p =
      MustParse(Event("invoice.paid", R"({"id":"in_1","amount_paid":1000,"currency":"eur"})"));
  ASSERT_TRUE(p.change.ok());
  EXPECT_FALSE(p.change->transaction.has_value());
  EXPECT_FALSE(p.change->ignored);
  p = MustParse(
      Event("payment_intent.succeeded",
            absl::StrCat(R"({"id":"pi_1","amount_received":5,"currency":"eur",)",
                         R"("invoice":"in_1","metadata":{"account_id":")", kAccount, R"("}})")));
  ASSERT_TRUE(p.change.ok());
  EXPECT_FALSE(p.change->transaction.has_value());  // invoice.paid books it
  // With an account but a bad currency or no amount: cannot be applied.
  p = MustParse(Event("invoice.paid", absl::StrCat(R"({"id":"in_1","amount_paid":1,)",
                                                   R"("currency":"zzz","metadata":{)",
                                                   R"("account_id":")", kAccount, R"("}})")));
  EXPECT_EQ(p.change.status().code(), absl::StatusCode::kInternal);
  p = MustParse(
      Event("invoice.paid", absl::StrCat(R"({"id":"in_1","currency":"eur",)",
                                         R"("metadata":{"account_id":")", kAccount, R"("}})")));
  EXPECT_EQ(p.change.status().code(), absl::StatusCode::kInternal);
}

TEST(StripeEventTest, CheckoutLinksCustomerToClientReference) {
  ParsedStripeEvent p = MustParse(Event(
      "checkout.session.completed",
      absl::StrCat(R"({"id":"cs_1","customer":"cus_1","client_reference_id":")", kUser, R"("})")));
  ASSERT_TRUE(p.change.ok());
  ASSERT_TRUE(p.change->customer.has_value());
  EXPECT_TRUE(p.change->customer->link_only);
  EXPECT_EQ(p.change->customer->user_id, kUser);
  p = MustParse(Event("checkout.session.completed", R"({"id":"cs_1","customer":null})"));
  ASSERT_TRUE(p.change.ok());
  EXPECT_FALSE(p.change->customer.has_value());
}

TEST(StripeEventTest, OtherTypesAreIgnored) {
  for (const char* type : {"payout.paid", "customer.subscription.pending_update_applied",
                           "invoice.created", "customer.source.created"}) {
    ParsedStripeEvent p = MustParse(Event(type, "{}"));
    ASSERT_TRUE(p.change.ok()) << type;
    EXPECT_TRUE(p.change->ignored) << type;
  }
}

// Depth is counted before any parse, outside strings only, and without recursion.
TEST(StripeEventTest, NestingDepthCountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(JsonNestingDepth(R"({"a":[1,{"b":[]}]})"), 4);
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[[{{{{\"[[["})"), 1);
  // An escaped backslash does not escape the quote after it: these brackets are outside.
  EXPECT_EQ(JsonNestingDepth(R"("\\"[[[")"), 3);
  EXPECT_EQ(JsonNestingDepth(std::string(1000000, '[')), 1000000);
  EXPECT_EQ(JsonNestingDepth(""), 0);
}

std::string Wrapped(const std::string& data_object) {
  return absl::StrCat(R"({"id":"evt_deep","object":"event","type":"customer.subscription.updated",)"
                      R"("created":1700000000,"livemode":false,"data":{"object":)",
                      data_object, "}}");
}

// 10^6 levels of arrays, objects and both, closed and unclosed: never a crash; a valid
// envelope is read and its change fails (the event is parked), anything else is refused.
TEST(StripeEventTest, MillionLevelsAreBoundedBeforeAnyRecursion) {
  const int kLevels = 1000000;
  std::string arrays = std::string(kLevels, '[') + std::string(kLevels, ']');
  std::string objects;
  objects.reserve(kLevels * 7);
  for (int i = 0; i < kLevels / 10; ++i) objects += R"({"a":)";
  objects += "1" + std::string(kLevels / 10, '}');
  std::string mixed;
  for (int i = 0; i < kLevels / 10; ++i) mixed += i % 2 ? "[" : R"({"a":)";
  mixed += "1";
  for (int i = kLevels / 10 - 1; i >= 0; --i) mixed += i % 2 ? "]" : "}";
  for (const std::string* deep : {&arrays, &objects, &mixed}) {
    absl::StatusOr<ParsedStripeEvent> parsed = ParseStripeEvent(Wrapped(*deep));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->envelope.stripe_event_id, "evt_deep");
    EXPECT_EQ(parsed->change.status().code(), absl::StatusCode::kInternal);
    EXPECT_NE(parsed->change.status().message().find("nests"), std::string::npos);
    // Stored: the envelope only.
    EXPECT_LT(parsed->envelope.redacted_json.size(), 200u);
    EXPECT_EQ(RedactStripeJson(Wrapped(*deep)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Unclosed: not JSON at all.
  EXPECT_EQ(ParseStripeEvent(Wrapped(std::string(kLevels, '['))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStripeEvent(std::string(kLevels, '{')).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Brackets inside a string do not count: the event parses whole.
  absl::StatusOr<ParsedStripeEvent> in_string = ParseStripeEvent(Wrapped(absl::StrCat(
      R"({"id":"sub_1","customer":"cus_1","status":"active","note":")",
      std::string(kLevels, '['), R"("})")));
  ASSERT_TRUE(in_string.ok()) << in_string.status();
  EXPECT_TRUE(in_string->change.ok()) << in_string->change.status();
  // At the bound it parses; one deeper it is parked.
  std::string at_bound = R"({"id":"sub_1","customer":"cus_1","status":"active","x":)" +
                         std::string(kMaxJsonDepth - 3, '[') +
                         std::string(kMaxJsonDepth - 3, ']') + "}";
  EXPECT_TRUE(ParseStripeEvent(Wrapped(at_bound))->change.ok());
  std::string over = R"({"id":"sub_1","customer":"cus_1","status":"active","x":)" +
                     std::string(kMaxJsonDepth - 2, '[') + std::string(kMaxJsonDepth - 2, ']') +
                     "}";
  EXPECT_FALSE(ParseStripeEvent(Wrapped(over))->change.ok());
}

TEST(StripeEventTest, PreviousAttributesGiveTheStateBefore) {
  const std::string object =
      R"({"id":"sub_1","customer":"cus_1","status":"canceled","cancel_at_period_end":false,)"
      R"("current_period_end":1700600000,"items":{"data":[{"price":{"id":"price_2"}}]}})";
  auto with = [&](const std::string& previous) {
    return absl::StrCat(R"({"id":"evt_p","object":"event","type":"customer.subscription.updated",)"
                        R"("created":1700000000,"livemode":false,"data":{"object":)",
                        object, R"(,"previous_attributes":)", previous, "}}");
  };
  ParsedStripeEvent p = MustParse(with(
      R"({"status":"active","cancel_at_period_end":true,"current_period_end":null,)"
      R"("items":{"data":[{"price":{"id":"price_1"}}]},"metadata":{}})"));
  ASSERT_TRUE(p.change.ok());
  const SubscriptionChange& s = *p.change->subscription;
  EXPECT_FALSE(s.creation);
  ASSERT_TRUE(s.previous.has_value());
  EXPECT_EQ(s.previous->status, SubscriptionStatus::kActive);
  EXPECT_TRUE(s.previous->cancel_at_period_end);
  EXPECT_FALSE(s.previous->current_period_end.has_value());
  EXPECT_EQ(s.previous->price_id, "price_1");
  EXPECT_EQ(s.state.status, SubscriptionStatus::kCanceled);
  // An unreadable previous status: no chain information (not a failure).
  ParsedStripeEvent unreadable = MustParse(with(R"({"status":"sleeping"})"));
  ASSERT_TRUE(unreadable.change.ok());
  EXPECT_FALSE(unreadable.change->subscription->previous.has_value());
  // None given: none.
  ParsedStripeEvent none = MustParse(Event("customer.subscription.created", object));
  EXPECT_FALSE(none.change->subscription->previous.has_value());
  EXPECT_TRUE(none.change->subscription->creation);
}

}  // namespace
}  // namespace suite::billing
