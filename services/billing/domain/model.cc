#include "services/billing/domain/model.h"

#include <array>
#include <utility>

namespace suite::billing {
namespace {

template <typename E, size_t N>
absl::optional<E> Find(const std::array<std::pair<E, absl::string_view>, N>& table,
                       absl::string_view name) {
  for (const auto& [value, spelling] : table) {
    if (spelling == name) return value;
  }
  return absl::nullopt;
}
template <typename E, size_t N>
absl::string_view Name(const std::array<std::pair<E, absl::string_view>, N>& table, E value) {
  for (const auto& [v, spelling] : table) {
    if (v == value) return spelling;
  }
  return "";
}

constexpr std::array<std::pair<SubscriptionStatus, absl::string_view>, 8> kSubscription{{
    {SubscriptionStatus::kIncomplete, "incomplete"},
    {SubscriptionStatus::kIncompleteExpired, "incomplete_expired"},
    {SubscriptionStatus::kTrialing, "trialing"},
    {SubscriptionStatus::kActive, "active"},
    {SubscriptionStatus::kPastDue, "past_due"},
    {SubscriptionStatus::kCanceled, "canceled"},
    {SubscriptionStatus::kUnpaid, "unpaid"},
    {SubscriptionStatus::kPaused, "paused"},
}};
constexpr std::array<std::pair<EventStatus, absl::string_view>, 6> kEvent{{
    {EventStatus::kReceived, "received"},     {EventStatus::kProcessed, "processed"},
    {EventStatus::kIgnored, "ignored"},       {EventStatus::kFailed, "failed"},
    {EventStatus::kStale, "stale"},           {EventStatus::kSuperseded, "superseded"},
}};
constexpr std::array<std::pair<TransactionKind, absl::string_view>, 3> kKind{{
    {TransactionKind::kPayment, "payment"},
    {TransactionKind::kRefund, "refund"},
    {TransactionKind::kAdjustment, "adjustment"},
}};
constexpr std::array<std::pair<TransactionStatus, absl::string_view>, 3> kTxStatus{{
    {TransactionStatus::kPending, "pending"},
    {TransactionStatus::kSucceeded, "succeeded"},
    {TransactionStatus::kFailed, "failed"},
}};

}  // namespace

absl::string_view SubscriptionStatusName(SubscriptionStatus s) { return Name(kSubscription, s); }
absl::optional<SubscriptionStatus> ParseSubscriptionStatus(absl::string_view n) {
  return Find(kSubscription, n);
}
absl::string_view EventStatusName(EventStatus s) { return Name(kEvent, s); }
absl::optional<EventStatus> ParseEventStatus(absl::string_view n) { return Find(kEvent, n); }
bool IsEventSettled(EventStatus s) {
  return s == EventStatus::kProcessed || s == EventStatus::kIgnored || s == EventStatus::kStale ||
         s == EventStatus::kSuperseded;
}
absl::string_view TransactionKindName(TransactionKind k) { return Name(kKind, k); }
absl::optional<TransactionKind> ParseTransactionKind(absl::string_view n) { return Find(kKind, n); }
absl::string_view TransactionStatusName(TransactionStatus s) { return Name(kTxStatus, s); }
absl::optional<TransactionStatus> ParseTransactionStatus(absl::string_view n) {
  return Find(kTxStatus, n);
}

}  // namespace suite::billing
