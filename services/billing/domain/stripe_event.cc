#include "services/billing/domain/stripe_event.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/billing/domain/errors.h"
#include "services/billing/domain/ledger.h"
#include "shared/base/status_macros.h"
#include "shared/base/uuid.h"

namespace suite::billing {
namespace {

using json = nlohmann::json;

const absl::flat_hash_set<std::string>& PersonalKeys() {
  static const auto* const keys = new absl::flat_hash_set<std::string>{"email",
                                                                       "name",
                                                                       "phone",
                                                                       "address",
                                                                       "shipping",
                                                                       "billing_details",
                                                                       "payment_method_details",
                                                                       "card",
                                                                       "source",
                                                                       "sources",
                                                                       "customer_email",
                                                                       "customer_name",
                                                                       "customer_phone",
                                                                       "customer_address",
                                                                       "customer_shipping",
                                                                       "customer_details",
                                                                       "customer_tax_ids",
                                                                       "tax_ids",
                                                                       "receipt_email",
                                                                       "ip_address",
                                                                       "description"};
  return *keys;
}

// Also drops NUL characters, which PostgreSQL's jsonb cannot store (\u0000), from strings
// and keys, so that any valid JSON can be stored.
void Redact(json& value) {
  if (value.is_string()) {
    std::string& s = value.get_ref<std::string&>();
    s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end();) {
      if (PersonalKeys().contains(it.key()) || it.key().find('\0') != std::string::npos) {
        it = value.erase(it);
        continue;
      }
      if (it.key() == "metadata" && it.value().is_object()) {
        json kept = json::object();
        for (const char* key : {"user_id", "account_id"}) {
          if (it.value().contains(key)) kept[key] = it.value()[key];
        }
        it.value() = std::move(kept);
      } else {
        Redact(it.value());
      }
      ++it;
    }
  } else if (value.is_array()) {
    for (json& element : value) Redact(element);
  }
}

// Typed, defensive accessors: Stripe objects may omit fields or set them to null.
std::string StringAt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}
// An expandable field: either "cus_123" or {"id": "cus_123", ...}.
std::string IdAt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return StringAt(*it, "id");
  return "";
}
absl::optional<absl::Time> TimeAt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return absl::nullopt;
  return absl::FromUnixSeconds(it->get<int64_t>());
}
std::string MetadataAt(const json& obj, const char* key) {
  auto it = obj.find("metadata");
  if (it == obj.end() || !it->is_object()) return "";
  return StringAt(*it, key);
}

absl::Status Broken(absl::string_view why) { return errors::EventProcessingFailed(why); }

// Stripe ids and types are short printable ASCII; anything else cannot be one (and control
// characters such as NUL cannot be stored in text columns).
bool IsPrintableId(const std::string& id) {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status CheckId(absl::string_view what, const std::string& id) {
  if (id.empty()) return Broken(absl::StrCat(what, " is missing"));
  if (!IsPrintableId(id)) return Broken(absl::StrCat(what, " is not a Stripe id"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> OptionalUser(const std::string& user_id, absl::string_view where) {
  if (user_id.empty() || suite::IsUuid(user_id)) return absl::AsciiStrToLower(user_id);
  return Broken(absl::StrCat(where, " is not a UUID"));
}

absl::StatusOr<EventChange> CustomerEvent(const json& object, bool deleted) {
  CustomerChange change;
  change.stripe_customer_id = StringAt(object, "id");
  SUITE_RETURN_IF_ERROR(CheckId("data.object.id", change.stripe_customer_id));
  SUITE_ASSIGN_OR_RETURN(change.user_id,
                         OptionalUser(MetadataAt(object, "user_id"), "metadata.user_id"));
  change.deleted = deleted;
  EventChange result;
  result.customer = std::move(change);
  return result;
}

// The price of the first item of an `items` list object; "" when there is none.
std::string FirstPrice(const json& items) {
  if (!items.is_object()) return "";
  auto data = items.find("data");
  if (data == items.end() || !data->is_array() || data->empty() || !(*data)[0].is_object()) {
    return "";
  }
  auto price = (*data)[0].find("price");
  if (price == (*data)[0].end()) return "";
  if (price->is_object()) return StringAt(*price, "id");
  if (price->is_string()) return price->get<std::string>();
  return "";
}

// The state before the event: `current` with data.previous_attributes laid over it. nullopt
// when the event has no previous_attributes or a kept field in them cannot be read (then the
// event takes no part in the chain and is ordered by the fallback rule).
absl::optional<SubscriptionState> PreviousState(const json& event,
                                                const SubscriptionState& current) {
  auto data = event.find("data");
  if (data == event.end() || !data->is_object()) return absl::nullopt;
  auto previous = data->find("previous_attributes");
  if (previous == data->end() || !previous->is_object()) return absl::nullopt;
  SubscriptionState before = current;
  for (auto it = previous->begin(); it != previous->end(); ++it) {
    const json& value = it.value();
    if (it.key() == "status") {
      if (!value.is_string()) return absl::nullopt;
      absl::optional<SubscriptionStatus> status =
          ParseSubscriptionStatus(value.get<std::string>());
      if (!status.has_value()) return absl::nullopt;
      before.status = *status;
    } else if (it.key() == "current_period_end" || it.key() == "trial_end") {
      absl::optional<absl::Time>& field =
          it.key() == "trial_end" ? before.trial_end : before.current_period_end;
      if (value.is_null()) {
        field = absl::nullopt;
      } else if (value.is_number_integer()) {
        field = absl::FromUnixSeconds(value.get<int64_t>());
      } else {
        return absl::nullopt;
      }
    } else if (it.key() == "cancel_at_period_end") {
      if (!value.is_boolean()) return absl::nullopt;
      before.cancel_at_period_end = value.get<bool>();
    } else if (it.key() == "items") {
      before.price_id = FirstPrice(value);
    }
  }
  return before;
}

absl::StatusOr<EventChange> SubscriptionEvent(const std::string& type, const json& event,
                                              const json& object) {
  SubscriptionChange change;
  change.stripe_subscription_id = StringAt(object, "id");
  SUITE_RETURN_IF_ERROR(CheckId("data.object.id", change.stripe_subscription_id));
  change.stripe_customer_id = IdAt(object, "customer");
  SUITE_RETURN_IF_ERROR(CheckId("data.object.customer", change.stripe_customer_id));
  const std::string status = StringAt(object, "status");
  absl::optional<SubscriptionStatus> parsed = ParseSubscriptionStatus(status);
  if (!parsed.has_value()) return Broken("data.object.status is not a subscription status");
  SubscriptionState& state = change.state;
  state.status = *parsed;
  SUITE_ASSIGN_OR_RETURN(change.user_id,
                         OptionalUser(MetadataAt(object, "user_id"), "metadata.user_id"));
  // The plan: the price of the first item.
  auto items = object.find("items");
  if (items != object.end()) state.price_id = FirstPrice(*items);
  if (!state.price_id.empty() && !IsPrintableId(state.price_id)) {
    return Broken("price id is not a Stripe id");
  }
  state.current_period_end = TimeAt(object, "current_period_end");
  auto cancel = object.find("cancel_at_period_end");
  state.cancel_at_period_end =
      cancel != object.end() && cancel->is_boolean() && cancel->get<bool>();
  state.trial_end = TimeAt(object, "trial_end");
  change.previous = PreviousState(event, state);
  change.creation = type == "customer.subscription.created";
  EventChange result;
  result.subscription = std::move(change);
  return result;
}

absl::StatusOr<EventChange> CheckoutEvent(const json& object) {
  EventChange result;
  const std::string customer = IdAt(object, "customer");
  std::string user = StringAt(object, "client_reference_id");
  if (user.empty()) user = MetadataAt(object, "user_id");
  if (customer.empty() || user.empty()) return result;  // nothing to link: still processed
  SUITE_RETURN_IF_ERROR(CheckId("data.object.customer", customer));
  SUITE_ASSIGN_OR_RETURN(std::string user_id, OptionalUser(user, "client_reference_id"));
  CustomerChange link;
  link.stripe_customer_id = customer;
  link.user_id = user_id;
  link.link_only = true;
  result.customer = std::move(link);
  return result;
}

// Money events become a ledger entry keyed by the event, when the object names an account.
absl::StatusOr<EventChange> MoneyEvent(const std::string& event_id, const std::string& type,
                                       const json& object) {
  EventChange result;
  if (type == "payment_intent.succeeded" && !IdAt(object, "invoice").empty()) return result;
  const std::string account = MetadataAt(object, "account_id");
  if (account.empty()) return result;  // no account to book it on: processed, no entry
  if (!suite::IsUuid(account)) return Broken("metadata.account_id is not a UUID");
  NewTransaction tx;
  tx.account_id = absl::AsciiStrToLower(account);
  SUITE_ASSIGN_OR_RETURN(tx.user_id,
                         OptionalUser(MetadataAt(object, "user_id"), "metadata.user_id"));
  tx.provider = "stripe";
  tx.currency = absl::AsciiStrToUpper(StringAt(object, "currency"));
  const char* amount_key = "amount";
  if (type == "invoice.paid") {
    tx.kind = TransactionKind::kPayment;
    tx.status = TransactionStatus::kSucceeded;
    amount_key = "amount_paid";
    tx.provider_invoice_id = StringAt(object, "id");
    tx.provider_payment_intent_id = IdAt(object, "payment_intent");
    tx.provider_charge_id = IdAt(object, "charge");
  } else if (type == "invoice.payment_failed") {
    tx.kind = TransactionKind::kPayment;
    tx.status = TransactionStatus::kFailed;
    amount_key = "amount_due";
    tx.provider_invoice_id = StringAt(object, "id");
    tx.provider_payment_intent_id = IdAt(object, "payment_intent");
  } else if (type == "charge.refunded") {
    tx.kind = TransactionKind::kRefund;
    tx.status = TransactionStatus::kSucceeded;
    amount_key = "amount_refunded";
    tx.provider_charge_id = StringAt(object, "id");
    tx.provider_payment_intent_id = IdAt(object, "payment_intent");
  } else {  // payment_intent.succeeded
    tx.kind = TransactionKind::kPayment;
    tx.status = TransactionStatus::kSucceeded;
    amount_key = "amount_received";
    tx.provider_payment_intent_id = StringAt(object, "id");
  }
  auto amount = object.find(amount_key);
  if (amount == object.end() || !amount->is_number_integer()) {
    return Broken(absl::StrCat("data.object.", amount_key, " is missing"));
  }
  tx.amount_cents = amount->get<int64_t>();
  tx.idempotency_key = absl::StrCat("stripe_event:", event_id);
  tx.metadata["stripe_event_type"] = type;
  absl::Status valid = ValidateNewTransaction(tx);
  if (!valid.ok()) return Broken(valid.message());
  tx.request_fingerprint = RequestFingerprint(tx);
  result.transaction = std::move(tx);
  return result;
}

absl::StatusOr<EventChange> ChangeFor(const std::string& event_id, const std::string& type,
                                      const json& event) {
  auto data = event.find("data");
  const json* object = nullptr;
  if (data != event.end() && data->is_object()) {
    auto it = data->find("object");
    if (it != data->end() && it->is_object()) object = &*it;
  }
  const bool handled = type == "customer.created" || type == "customer.updated" ||
                       type == "customer.deleted" || type.rfind("customer.subscription.", 0) == 0 ||
                       type == "checkout.session.completed" || type == "invoice.paid" ||
                       type == "invoice.payment_failed" || type == "charge.refunded" ||
                       type == "payment_intent.succeeded";
  const bool subscription_type =
      type == "customer.subscription.created" || type == "customer.subscription.updated" ||
      type == "customer.subscription.deleted" || type == "customer.subscription.paused" ||
      type == "customer.subscription.resumed" || type == "customer.subscription.trial_will_end";
  if (!handled || (type.rfind("customer.subscription.", 0) == 0 && !subscription_type)) {
    EventChange ignored;
    ignored.ignored = true;
    return ignored;
  }
  if (object == nullptr) return Broken("data.object is missing");
  if (type == "customer.created" || type == "customer.updated") {
    return CustomerEvent(*object, false);
  }
  if (type == "customer.deleted") return CustomerEvent(*object, true);
  if (subscription_type) return SubscriptionEvent(type, event, *object);
  if (type == "checkout.session.completed") return CheckoutEvent(*object);
  return MoneyEvent(event_id, type, *object);
}

// What ParseStripeEvent keeps of a document nested deeper than kMaxJsonDepth: the top-level
// members that are not objects or arrays (the envelope). nlohmann's parser is iterative; a
// callback that refuses every nested container keeps the tree it builds one level deep, so
// nothing recursive (Redact, dump, PostgreSQL's jsonb input) ever sees the deep part.
json ParseEnvelopeOnly(absl::string_view payload) {
  json::parser_callback_t top_level_scalars = [](int depth, json::parse_event_t event,
                                                 json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      return depth == 0;
    }
    return true;
  };
  return json::parse(payload.begin(), payload.end(), top_level_scalars,
                     /*allow_exceptions=*/false);
}

}  // namespace

int JsonNestingDepth(absl::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is, cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

absl::StatusOr<std::string> RedactStripeJson(absl::string_view payload) {
  if (payload.size() > kMaxStripeJsonBytes) {
    return errors::MalformedEvent("", absl::StrCat("is over ", kMaxStripeJsonBytes, " bytes"));
  }
  if (JsonNestingDepth(payload) > kMaxJsonDepth) {
    return errors::MalformedEvent("", absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels"));
  }
  json event = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded()) return errors::MalformedEvent("", "is not JSON");
  Redact(event);
  return event.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<ParsedStripeEvent> ParseStripeEvent(absl::string_view payload) {
  // Both bounds come before any parse: the size bounds the work, the depth every recursion.
  if (payload.size() > kMaxStripeJsonBytes) {
    return errors::MalformedEvent("", absl::StrCat("is over ", kMaxStripeJsonBytes, " bytes"));
  }
  const int depth = JsonNestingDepth(payload);
  const bool too_deep = depth > kMaxJsonDepth;
  json event = too_deep ? ParseEnvelopeOnly(payload)
                        : json::parse(payload.begin(), payload.end(), nullptr,
                                      /*allow_exceptions=*/false);
  if (event.is_discarded()) return errors::MalformedEvent("", "is not valid JSON");
  if (!event.is_object()) return errors::MalformedEvent("", "is not a JSON object");
  if (StringAt(event, "object") != "event") {
    return errors::MalformedEvent("object", "must be \"event\"");
  }
  ParsedStripeEvent parsed;
  EventEnvelope& envelope = parsed.envelope;
  envelope.stripe_event_id = StringAt(event, "id");
  if (!IsPrintableId(envelope.stripe_event_id)) {
    return errors::MalformedEvent("id", "must be 1..255 printable ASCII characters");
  }
  envelope.type = StringAt(event, "type");
  if (!IsPrintableId(envelope.type)) {
    return errors::MalformedEvent("type", "must be 1..255 printable ASCII characters");
  }
  auto created = event.find("created");
  if (created == event.end() || !created->is_number_integer() || created->get<int64_t>() < 0) {
    return errors::MalformedEvent("created", "must be a unix time in seconds");
  }
  envelope.created = absl::FromUnixSeconds(created->get<int64_t>());
  auto livemode = event.find("livemode");
  if (livemode == event.end() || !livemode->is_boolean()) {
    return errors::MalformedEvent("livemode", "must be a boolean");
  }
  envelope.livemode = livemode->get<bool>();
  // Stored as text, as sent: Stripe's versions are short printable ASCII ("2024-06-20.acacia").
  // Anything else is refused rather than cut (a cut could split a character or keep what came
  // before a NUL).
  envelope.api_version = StringAt(event, "api_version");
  if (envelope.api_version.size() > 64 ||
      (!envelope.api_version.empty() && !IsPrintableId(envelope.api_version))) {
    return errors::MalformedEvent("api_version", "must be at most 64 printable ASCII characters");
  }
  if (too_deep) {
    // A signed event that can never be applied: parked with its envelope only.
    parsed.change = Broken(absl::StrCat("the event JSON nests ", depth,
                                        " levels deep; billing reads at most ", kMaxJsonDepth));
  } else {
    parsed.change = ChangeFor(envelope.stripe_event_id, envelope.type, event);
  }
  if (parsed.change.ok() && parsed.change->transaction.has_value()) {
    envelope.related_account_id = parsed.change->transaction->account_id;
  }
  Redact(event);
  envelope.redacted_json = event.dump(-1, ' ', false, json::error_handler_t::replace);
  return parsed;
}

}  // namespace suite::billing
