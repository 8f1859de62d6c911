#include "services/billing/domain/event_order.h"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "services/billing/domain/stripe_event.h"

namespace suite::billing {

bool IsTerminal(SubscriptionStatus status) {
  return status == SubscriptionStatus::kCanceled ||
         status == SubscriptionStatus::kIncompleteExpired;
}

EventOrder OrderSubscriptionEvent(const OrderedEvent& applied, const OrderedEvent& incoming) {
  if (incoming.created > applied.created) return EventOrder::kNewer;
  if (incoming.created < applied.created) return EventOrder::kStale;
  // a. Terminal states end the chain.
  const bool applied_terminal = IsTerminal(applied.state.status);
  const bool incoming_terminal = IsTerminal(incoming.state.status);
  if (applied_terminal && !incoming_terminal) return EventOrder::kSuperseded;
  if (incoming_terminal && !applied_terminal) return EventOrder::kNewer;
  // b. The chain.
  const bool successor = incoming.previous.has_value() && *incoming.previous == applied.state;
  const bool predecessor = applied.previous.has_value() && *applied.previous == incoming.state;
  if (successor && !predecessor) return EventOrder::kNewer;
  if (predecessor && !successor) return EventOrder::kSuperseded;
  // c. Creation first.
  if (applied.creation != incoming.creation) {
    return incoming.creation ? EventOrder::kSuperseded : EventOrder::kNewer;
  }
  // d. The event id, bytewise.
  return incoming.stripe_event_id > applied.stripe_event_id ? EventOrder::kNewer
                                                            : EventOrder::kSuperseded;
}

size_t LastOfSecond(const std::vector<OrderedEvent>& events) {
  const size_t n = events.size();
  if (n <= 1) return 0;
  if (n > kMaxOrderedSet) {
    size_t last = 0;
    for (size_t i = 1; i < n; ++i) {
      if (OrderSubscriptionEvent(events[last], events[i]) == EventOrder::kNewer) last = i;
    }
    return last;
  }
  // Score of one order: (respects terminal and creation, chain links, last is terminal, last
  // id); the greatest wins.
  using Score = std::tuple<bool, int, bool, std::string>;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  absl::optional<Score> best;
  size_t best_last = 0;
  do {
    bool respects = true;
    int links = 0;
    for (size_t i = 1; i < n; ++i) {
      const OrderedEvent& before = events[order[i - 1]];
      const OrderedEvent& after = events[order[i]];
      if (IsTerminal(before.state.status) && !IsTerminal(after.state.status)) respects = false;
      if (after.creation && !before.creation) respects = false;
      if (after.previous.has_value() && *after.previous == before.state) ++links;
    }
    const OrderedEvent& last = events[order.back()];
    Score score{respects, links, IsTerminal(last.state.status), last.stripe_event_id};
    if (!best.has_value() || score > *best) {
      best = std::move(score);
      best_last = order.back();
    }
  } while (std::next_permutation(order.begin(), order.end()));
  return best_last;
}

OrderedEvent AppliedEventFrom(const SubscriptionState& row_state, absl::Time last_event_created,
                              const std::string& last_event_id,
                              const std::string& last_event_json) {
  OrderedEvent applied;
  applied.created = last_event_created;
  applied.stripe_event_id = last_event_id;
  applied.state = row_state;
  if (last_event_json.empty()) return applied;
  absl::StatusOr<ParsedStripeEvent> parsed = ParseStripeEvent(last_event_json);
  if (!parsed.ok() || !parsed->change.ok() || !parsed->change->subscription.has_value()) {
    return applied;
  }
  const SubscriptionChange& change = *parsed->change->subscription;
  applied.previous = change.previous;
  applied.creation = change.creation;
  return applied;
}

}  // namespace suite::billing
