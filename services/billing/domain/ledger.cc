#include "services/billing/domain/ledger.h"

#include <cstdint>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/api/status.h"
#include "shared/api/uuid_field.h"
#include "shared/base/sha256.h"
#include "shared/base/status_macros.h"
#include "shared/base/text.h"
#include "shared/base/uuid.h"

namespace suite::billing {
namespace {

// Active ISO 4217 alphabetic codes (list one, 2024), including the fund and metal codes.
constexpr absl::string_view kIsoCurrencies =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD "
    "BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP "
    "DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR "
    "IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD "
    "MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB "
    "PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS "
    "VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XDR XOF XPD XPF XPT XSU XTS XUA XXX "
    "YER ZAR ZMW ZWL";

constexpr size_t kMaxIdLength = 255;
constexpr size_t kMaxMetadataEntries = 50;
constexpr size_t kMaxMetadataKey = 40;
constexpr size_t kMaxMetadataValue = 500;

void Append(std::string& out, absl::string_view field) {
  // Length-prefixed, so no two different requests encode alike.
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

// Ids and keys are printable ASCII (so a character is a byte and NUL, which PostgreSQL cannot
// store, is out); the characters are checked before the length so that a long value of
// other characters is told what is wrong with it.
absl::Status BoundedId(absl::string_view field, absl::string_view value, bool required,
                       size_t max_length = kMaxIdLength) {
  if (required && value.empty()) return suite::api::InvalidArgument(field, "is required");
  for (size_t i = 0; i < value.size(); ++i) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(value[i]))) {
      return suite::api::InvalidArgument(
          field,
          absl::StrCat("must be printable ASCII (not ", suite::DescribeByteAt(value, i), ")"));
    }
  }
  if (value.size() > max_length) {
    return suite::api::InvalidArgument(field,
                                       absl::StrCat("must be at most ", max_length, " characters"));
  }
  return absl::OkStatus();
}

// Metadata entries: keys are one line of 1..40 characters, values free text (tab and line
// breaks allowed) of at most 500 characters, both under the suite's text rule (no NUL: the
// map is stored as jsonb, which cannot hold U+0000). The field path names the entry's key.
absl::Status ValidMetadataEntry(const std::string& key, const std::string& value) {
  const std::string field =
      absl::StrCat("transaction.metadata[\"", absl::CHexEscape(key), "\"]");
  if (auto problem = suite::TextProblem(key, suite::TextKind::kLine, kMaxMetadataKey,
                                        /*required=*/false)) {
    return suite::api::InvalidArgument(field, absl::StrCat("key ", *problem));
  }
  if (key.empty()) return suite::api::InvalidArgument(field, "key must not be empty");
  if (auto problem = suite::TextProblem(value, suite::TextKind::kProse, kMaxMetadataValue)) {
    return suite::api::InvalidArgument(field, *problem);
  }
  return absl::OkStatus();
}

}  // namespace

bool IsIsoCurrency(absl::string_view code) {
  static const auto* const codes = [] {
    auto* set = new absl::flat_hash_set<std::string>();
    for (absl::string_view c : absl::StrSplit(kIsoCurrencies, ' ')) set->insert(std::string(c));
    return set;
  }();
  return code.size() == 3 && codes->contains(std::string(code));
}

std::string RequestFingerprint(const NewTransaction& tx) {
  std::string encoded;
  Append(encoded, tx.account_id);
  Append(encoded, tx.user_id);
  Append(encoded, TransactionKindName(tx.kind));
  Append(encoded, TransactionStatusName(tx.status));
  Append(encoded, tx.currency);
  Append(encoded, absl::StrCat(tx.amount_cents));
  Append(encoded, tx.provider);
  Append(encoded, tx.provider_payment_intent_id);
  Append(encoded, tx.provider_charge_id);
  Append(encoded, tx.provider_invoice_id);
  Append(encoded, tx.provider_checkout_session_id);
  for (const auto& [key, value] : tx.metadata) {  // std::map: sorted, so order-independent
    Append(encoded, key);
    Append(encoded, value);
  }
  return suite::Sha256Hex(encoded);
}

absl::Status ValidateNewTransaction(const NewTransaction& tx) {
  SUITE_RETURN_IF_ERROR(BoundedId("idempotency_key", tx.idempotency_key, true));
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("transaction.account_id", tx.account_id));
  if (!tx.user_id.empty() && !suite::IsUuid(tx.user_id)) {
    return suite::api::InvalidArgument("transaction.user_id", "must be a UUID or empty");
  }
  if (!IsIsoCurrency(tx.currency)) {
    return suite::api::InvalidArgument("transaction.currency",
                                       "must be an upper-case ISO 4217 code");
  }
  if (tx.amount_cents > std::numeric_limits<int32_t>::max() ||
      tx.amount_cents < std::numeric_limits<int32_t>::min()) {
    return suite::api::InvalidArgument("transaction.amount_cents",
                                       "must fit in a 32-bit integer of cents");
  }
  // Direction is in the kind: payments and refunds are never negative; only an adjustment
  // may take money back (negative) or add it.
  if (tx.amount_cents < 0 && tx.kind != TransactionKind::kAdjustment) {
    return suite::api::InvalidArgument("transaction.amount_cents",
                                       "must not be negative for a payment or refund");
  }
  SUITE_RETURN_IF_ERROR(BoundedId("transaction.provider", tx.provider, true, 64));
  SUITE_RETURN_IF_ERROR(
      BoundedId("transaction.provider_payment_intent_id", tx.provider_payment_intent_id, false));
  SUITE_RETURN_IF_ERROR(BoundedId("transaction.provider_charge_id", tx.provider_charge_id, false));
  SUITE_RETURN_IF_ERROR(
      BoundedId("transaction.provider_invoice_id", tx.provider_invoice_id, false));
  SUITE_RETURN_IF_ERROR(BoundedId("transaction.provider_checkout_session_id",
                                  tx.provider_checkout_session_id, false));
  if (tx.metadata.size() > kMaxMetadataEntries) {
    return suite::api::InvalidArgument("transaction.metadata", "has more than 50 entries");
  }
  for (const auto& [key, value] : tx.metadata) {
    SUITE_RETURN_IF_ERROR(ValidMetadataEntry(key, value));
  }
  return absl::OkStatus();
}

}  // namespace suite::billing
