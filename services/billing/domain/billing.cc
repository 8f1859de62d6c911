#include "services/billing/domain/billing.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/billing/domain/errors.h"
#include "services/billing/domain/ledger.h"
#include "services/billing/domain/stripe_event.h"
#include "shared/api/page_size.h"
#include "shared/api/status.h"
#include "shared/api/uuid_field.h"
#include "shared/base/status_macros.h"
#include "shared/base/text.h"
#include "shared/base/uuid.h"
#include "shared/metrics/metrics.h"

namespace suite::billing {
namespace {

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

absl::Status RequireStripeId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return suite::api::InvalidArgument(field, "is required");
  // Characters before length: a character is a byte only once they are known to be ASCII.
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return suite::api::InvalidArgument(
          field, absl::StrCat("may hold only letters, digits, _ and - (not ",
                              suite::DescribeByteAt(value, i), ")"));
    }
  }
  if (value.size() > 255) return suite::api::InvalidArgument(field, "is too long");
  return absl::OkStatus();
}

// Admin-only calls: decided before the request's ids are looked at.
absl::Status RequireAdmin(const Actor& actor) {
  if (actor.admin) return absl::OkStatus();
  return errors::AdminRequired();
}

// May `actor` see what is linked to `owner_user_id` (lower case; empty = unlinked)? Admins
// see everything; a member only their own. Unlinked things are nobody's but the admins'.
bool MaySee(const Actor& actor, absl::string_view owner_user_id) {
  return actor.admin ||
         (!owner_user_id.empty() && absl::AsciiStrToLower(actor.user_id) == owner_user_id);
}

// The user a per-user read is about (lower case), when the actor may ask about it: an invalid
// id is INVALID_ARGUMENT; another member's USER_NOT_FOUND, as for a user that does not exist.
absl::StatusOr<std::string> VisibleUser(const Actor& actor, absl::string_view field,
                                        absl::string_view user_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid(field, user_id));
  std::string user = absl::AsciiStrToLower(user_id);
  if (!MaySee(actor, user)) return errors::UserNotFound(field);
  return user;
}

bool IsTransient(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kAborted;
}

// Billing's Cursor in a shared page token: the key is the row's time in unix micros.
template <typename T>
std::pair<std::vector<T>, std::string> WithToken(const suite::api::PageTokenCodec& codec,
                                                 absl::string_view scope, Page<T> page) {
  std::string token;
  if (page.next.has_value()) {
    token = codec.Encode(scope, {absl::StrCat(page.next->unix_micros), page.next->id});
  }
  return {std::move(page.items), std::move(token)};
}

// Webhook deliveries by outcome, through either door (HTTP or IngestStripeEvent), for the
// operators' dashboards: a rise in "rejected_signature" means a secret is out of step, in
// "failed" that Stripe is retrying events we cannot apply.
suite::metrics::CounterFamily& WebhookOutcomes() {
  static suite::metrics::CounterFamily* const family =
      *suite::metrics::Registry::Default().AddCounter(
          "billing_webhook_events_total", "Stripe webhook deliveries by outcome.", {"outcome"});
  return *family;
}

// Poison events parked (stored as failed, acknowledged so that Stripe stops retrying): each
// one waits for an operator's ReprocessStripeEvent once its cause is fixed.
suite::metrics::CounterFamily& ParkedEvents() {
  static suite::metrics::CounterFamily* const family =
      *suite::metrics::Registry::Default().AddCounter(
          "billing_stripe_events_parked_total",
          "Stripe events that can never apply as sent, stored as failed and acknowledged.", {});
  return *family;
}

// A failure that will recur on every delivery of the same payload: the event itself is at
// fault (a broken object, a value the database refuses), not the moment.
bool IsPoison(const absl::Status& failure) {
  switch (failure.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

// The envelope of an event as JSON, for a failure record whose body the database refused.
std::string EnvelopeJson(const EventEnvelope& envelope) {
  nlohmann::json json = {{"id", envelope.stripe_event_id},
                         {"object", "event"},
                         {"type", envelope.type},
                         {"created", absl::ToUnixSeconds(envelope.created)},
                         {"livemode", envelope.livemode}};
  if (!envelope.api_version.empty()) json["api_version"] = envelope.api_version;
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string WebhookOutcome(const absl::StatusOr<IngestResult>& result) {
  if (result.ok()) {
    if (result->duplicate) return "duplicate";
    switch (result->status) {
      case EventStatus::kIgnored:
        return "ignored";
      case EventStatus::kFailed:
        return "parked";
      case EventStatus::kStale:
        return "stale";
      case EventStatus::kSuperseded:
        return "superseded";
      default:
        return "processed";
    }
  }
  switch (result.status().code()) {
    case absl::StatusCode::kResourceExhausted:
      return "too_large";
    case absl::StatusCode::kUnauthenticated:
      return "rejected_signature";
    case absl::StatusCode::kInvalidArgument:
      return "rejected_payload";
    case absl::StatusCode::kInternal:
      return "failed";
    default:
      return "unavailable";
  }
}

}  // namespace

Billing::Billing(Store& storage, BillingOptions options)
    : storage_(storage),
      options_(std::move(options)),
      verifier_(options_.webhook_secrets, options_.signature_tolerance, options_.now),
      tokens_(options_.page_token_secret) {
  // The parked-events series exists at 0 from the start, so that an alert on its increase
  // fires on the first parked event rather than on the second.
  ParkedEvents().WithLabels({});
}

absl::StatusOr<IngestResult> Billing::IngestStripeEvent(absl::string_view payload,
                                                        absl::string_view signature_header,
                                                        absl::string_view request_id,
                                                        IngestTrace* trace) {
  absl::StatusOr<IngestResult> result = [&]() -> absl::StatusOr<IngestResult> {
    if (payload.size() > kMaxWebhookPayloadBytes) {
      return errors::PayloadTooLarge(kMaxWebhookPayloadBytes);
    }
    SUITE_RETURN_IF_ERROR(verifier_.Verify(payload, signature_header));
    return Apply(payload, request_id, /*reprocess=*/false, trace);
  }();
  const std::string outcome = WebhookOutcome(result);
  WebhookOutcomes().WithLabels({outcome}).Increment();
  if (trace != nullptr) trace->outcome = outcome;
  return result;
}

absl::StatusOr<IngestResult> Billing::Apply(absl::string_view payload, absl::string_view request_id,
                                            bool reprocess, IngestTrace* trace) {
  SUITE_ASSIGN_OR_RETURN(ParsedStripeEvent parsed, ParseStripeEvent(payload));
  parsed.envelope.request_id = std::string(request_id);
  if (trace != nullptr) {
    trace->stripe_event_id = parsed.envelope.stripe_event_id;
    trace->type = parsed.envelope.type;
  }
  IngestResult result;
  result.stripe_event_id = parsed.envelope.stripe_event_id;
  result.type = parsed.envelope.type;
  absl::Status failure;
  bool poison = false;
  if (!parsed.change.ok()) {
    failure = parsed.change.status();
    poison = true;  // the payload itself cannot apply, now or on any redelivery
  } else {
    absl::StatusOr<IngestOutcome> outcome =
        storage_.ApplyEvent(parsed.envelope, *parsed.change, reprocess);
    if (outcome.ok()) {
      result.status = outcome->status;
      result.duplicate = outcome->duplicate;
      return result;
    }
    const auto info = suite::api::ErrorInfoOf(outcome.status());
    if (reprocess && (outcome.status().code() == absl::StatusCode::kNotFound ||
                      (info && info->reason == "EVENT_ALREADY_APPLIED"))) {
      return outcome.status();
    }
    failure = outcome.status();
    poison = IsPoison(failure);
  }
  // The transaction rolled back: record the failure on its own, so operators see it and a
  // later delivery (Stripe retries non-2xx answers) or ReprocessStripeEvent can apply it.
  const std::string error =
      (poison ? std::string(failure.message())
              : absl::StrCat(absl::StatusCodeToString(failure.code()), ": ", failure.message()))
          .substr(0, 1000);
  absl::Status recorded = storage_.RecordEventFailure(parsed.envelope, error);
  if (poison && !recorded.ok() && !IsTransient(recorded.code()) &&
      recorded.code() != absl::StatusCode::kUnknown) {
    // The database refuses the body itself: keep the envelope, so the event is still parked.
    EventEnvelope bare = parsed.envelope;
    bare.redacted_json = EnvelopeJson(parsed.envelope);
    recorded = storage_.RecordEventFailure(bare, error);
  }
  if (poison) {
    // Parked: retrying cannot help, so the delivery is acknowledged once the failure is
    // stored; without that record (database down) it is not, and Stripe retries.
    if (!recorded.ok()) return recorded;
    if (reprocess) return errors::EventStillFailing(failure.message());
    ParkedEvents().WithLabels({}).Increment();
    result.status = EventStatus::kFailed;
    result.last_error = error;
    return result;
  }
  if (IsTransient(failure.code())) return failure;
  // UNKNOWN: the connection died during COMMIT, so the event may have been applied. Say so
  // rather than claim a processing failure; recording it above was harmless, because the
  // failure upsert never overwrites a processed event, and Stripe's redelivery is exactly-once
  // by event id.
  if (failure.code() == absl::StatusCode::kUnknown) return failure;
  if (!recorded.ok() && IsTransient(recorded.code())) return recorded;
  if (auto info = suite::api::ErrorInfoOf(failure);
      info && info->reason == "EVENT_PROCESSING_FAILED") {
    return failure;
  }
  return errors::EventProcessingFailed(failure.message());
}

absl::StatusOr<StoredEvent> Billing::ReprocessStripeEvent(const Actor& actor,
                                                          absl::string_view stripe_event_id) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(actor));
  const std::string& request_id = actor.request_id;
  if (stripe_event_id.empty() || stripe_event_id.size() > 255) {
    return suite::api::InvalidArgument("stripe_event_id", "must be 1..255 characters");
  }
  SUITE_ASSIGN_OR_RETURN(StoredEvent stored, storage_.GetEvent(stripe_event_id));
  if (IsEventSettled(stored.status)) return errors::EventAlreadyApplied(stripe_event_id);
  SUITE_RETURN_IF_ERROR(
      Apply(stored.raw_event_redacted_json, request_id, /*reprocess=*/true, nullptr).status());
  return storage_.GetEvent(stripe_event_id);
}

absl::StatusOr<absl::optional<Cursor>> Billing::DecodeToken(absl::string_view scope,
                                                            absl::string_view token) const {
  if (token.empty()) return absl::optional<Cursor>();
  SUITE_ASSIGN_OR_RETURN(suite::api::PageCursor page_cursor, tokens_.Decode(scope, token));
  Cursor cursor;
  if (!absl::SimpleAtoi(page_cursor.key, &cursor.unix_micros) || !suite::IsUuid(page_cursor.id)) {
    return suite::api::InvalidPageToken("is malformed");
  }
  cursor.id = std::move(page_cursor.id);
  return absl::optional<Cursor>(std::move(cursor));
}

absl::StatusOr<std::pair<std::vector<StoredEvent>, std::string>> Billing::ListStripeEvents(
    const Actor& actor, const EventFilter& filter, int page_size, absl::string_view page_token) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(actor));
  SUITE_ASSIGN_OR_RETURN(int limit,
                         suite::api::PageLimit(page_size, kDefaultPageSize, kMaxPageSize));
  if (filter.type.size() > 255) return suite::api::InvalidArgument("type", "is too long");
  for (char c : filter.type) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return suite::api::InvalidArgument("type", "must be printable ASCII without spaces");
    }
  }
  if (filter.start_time && filter.end_time && *filter.start_time > *filter.end_time) {
    return suite::api::InvalidArgument("start_time", "must not be after end_time");
  }
  const std::string scope = absl::StrCat(
      "events|", filter.status ? EventStatusName(*filter.status) : "", "|", filter.type, "|",
      filter.start_time ? absl::ToUnixMicros(*filter.start_time) : -1, "|",
      filter.end_time ? absl::ToUnixMicros(*filter.end_time) : -1);
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after, DecodeToken(scope, page_token));
  SUITE_ASSIGN_OR_RETURN(Page<StoredEvent> page, storage_.ListEvents(filter, limit, after));
  return WithToken(tokens_, scope, std::move(page));
}

absl::StatusOr<Customer> Billing::GetCustomer(const Actor& actor, absl::string_view user_id,
                                              absl::string_view stripe_customer_id) {
  if (user_id.empty() == stripe_customer_id.empty()) {
    return suite::api::InvalidArgument("user_id",
                                       "set exactly one of user_id and stripe_customer_id");
  }
  return user_id.empty() ? GetCustomerByStripeId(actor, stripe_customer_id)
                         : GetCustomerByUser(actor, user_id);
}

absl::StatusOr<Customer> Billing::GetCustomerByUser(const Actor& actor,
                                                    absl::string_view user_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  const std::string user = absl::AsciiStrToLower(user_id);
  // Another member's customer is answered as a user without one.
  if (!MaySee(actor, user)) return errors::CustomerNotFound();
  return storage_.GetCustomerByUser(user);
}

absl::StatusOr<Customer> Billing::GetCustomerByStripeId(const Actor& actor,
                                                        absl::string_view stripe_customer_id) {
  SUITE_RETURN_IF_ERROR(RequireStripeId("stripe_customer_id", stripe_customer_id));
  SUITE_ASSIGN_OR_RETURN(Customer customer, storage_.GetCustomerByStripeId(stripe_customer_id));
  if (!MaySee(actor, customer.user_id)) return errors::CustomerNotFound();
  return customer;
}

absl::StatusOr<Customer> Billing::LinkCustomer(const Actor& actor, const LinkRequest& request,
                                               const UserExists& user_exists) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(actor));
  SUITE_RETURN_IF_ERROR(RequireStripeId("stripe_customer_id", request.stripe_customer_id));
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", request.user_id));
  const std::string user = absl::AsciiStrToLower(request.user_id);
  // Billing keeps no users of its own: identity says whether this one exists (and is not
  // deleted), before anything is written.
  SUITE_ASSIGN_OR_RETURN(bool exists, user_exists(user));
  if (!exists) return errors::UserNotFound("user_id");
  return storage_.LinkCustomer(request.stripe_customer_id, user, request.allow_relink,
                               actor.request_id);
}

absl::StatusOr<Subscription> Billing::GetSubscription(const Actor& actor,
                                                      absl::string_view stripe_subscription_id) {
  SUITE_RETURN_IF_ERROR(RequireStripeId("stripe_subscription_id", stripe_subscription_id));
  SUITE_ASSIGN_OR_RETURN(Subscription subscription,
                         storage_.GetSubscription(stripe_subscription_id));
  if (!MaySee(actor, subscription.user_id)) return errors::SubscriptionNotFound();
  return subscription;
}

absl::StatusOr<std::pair<std::vector<Subscription>, std::string>> Billing::ListSubscriptions(
    const Actor& actor, absl::string_view user_id, int page_size, absl::string_view page_token) {
  SUITE_ASSIGN_OR_RETURN(
      const std::string user,
      VisibleUser(actor, "user_id", user_id.empty() ? absl::string_view(actor.user_id) : user_id));
  SUITE_ASSIGN_OR_RETURN(int limit,
                         suite::api::PageLimit(page_size, kDefaultPageSize, kMaxPageSize));
  const std::string scope = absl::StrCat("subscriptions|", user);
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after, DecodeToken(scope, page_token));
  SUITE_ASSIGN_OR_RETURN(Page<Subscription> page, storage_.ListSubscriptions(user, limit, after));
  return WithToken(tokens_, scope, std::move(page));
}

absl::StatusOr<Entitlement> Billing::GetEntitlement(const Actor& actor,
                                                    absl::string_view user_id) {
  SUITE_ASSIGN_OR_RETURN(const std::string user, VisibleUser(actor, "user_id", user_id));
  return EntitlementFrom(user, storage_.BestSubscription(user));
}

void Billing::GetEntitlementAsync(const Actor& actor, absl::string_view user_id,
                                  const suite::AsyncCaller& caller, EntitlementDone done) {
  absl::StatusOr<std::string> visible = VisibleUser(actor, "user_id", user_id);
  if (!visible.ok()) return done(visible.status());
  std::string user = *std::move(visible);
  storage_.BestSubscriptionAsync(
      user, caller,
      [this, user, done = std::move(done)](absl::StatusOr<absl::optional<Subscription>> best) {
        done(EntitlementFrom(user, std::move(best)));
      });
}

absl::StatusOr<Entitlement> Billing::EntitlementFrom(
    const std::string& user_id, absl::StatusOr<absl::optional<Subscription>> found) const {
  SUITE_ASSIGN_OR_RETURN(absl::optional<Subscription> best, std::move(found));
  Entitlement entitlement;
  entitlement.user_id = user_id;
  if (!best.has_value()) return entitlement;
  entitlement.status = best->status;
  entitlement.price_id = best->price_id;
  entitlement.current_period_end = best->current_period_end;
  switch (best->status) {
    case SubscriptionStatus::kActive:
    case SubscriptionStatus::kTrialing:
      entitlement.entitled = true;
      break;
    case SubscriptionStatus::kPastDue:
      // Without a known start of the arrears, grant nothing (fail closed).
      entitlement.entitled = best->past_due_since.has_value() &&
                             options_.now() < *best->past_due_since + options_.past_due_grace;
      break;
    default:
      entitlement.entitled = false;
  }
  return entitlement;
}

absl::StatusOr<RecordedTransaction> Billing::RecordTransaction(const Actor& actor,
                                                               NewTransaction tx) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(actor));
  SUITE_RETURN_IF_ERROR(ValidateNewTransaction(tx));
  tx.account_id = absl::AsciiStrToLower(tx.account_id);
  tx.user_id = absl::AsciiStrToLower(tx.user_id);
  tx.request_fingerprint = RequestFingerprint(tx);
  return storage_.RecordTransaction(tx);
}

absl::StatusOr<std::pair<std::vector<Transaction>, std::string>> Billing::ListTransactions(
    const Actor& actor, absl::string_view account_id, int page_size,
    absl::string_view page_token) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(actor));
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("account_id", account_id));
  SUITE_ASSIGN_OR_RETURN(int limit,
                         suite::api::PageLimit(page_size, kDefaultPageSize, kMaxPageSize));
  const std::string account = absl::AsciiStrToLower(account_id);
  const std::string scope = absl::StrCat("transactions|", account);
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after, DecodeToken(scope, page_token));
  SUITE_ASSIGN_OR_RETURN(Page<Transaction> page, storage_.ListTransactions(account, limit, after));
  return WithToken(tokens_, scope, std::move(page));
}

absl::Status Billing::AuthorizeListAuditEvents(const Actor& actor) const {
  return RequireAdmin(actor);
}

absl::StatusOr<suite::audit_api::AuditPage> Billing::ListAuditEvents(
    const Actor& actor, const suite::audit_api::AuditQuery& query) {
  SUITE_RETURN_IF_ERROR(AuthorizeListAuditEvents(actor));
  return suite::audit_api::ListAuditPage(
      query, tokens_, "billing.audit_events",
      [this](const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) {
        return storage_.ListAuditEvents(filter, before_seq, limit);
      });
}

}  // namespace suite::billing
