// The order of Stripe subscription events, for billing's storage: is an incoming event newer
// than the one whose state a subscription row holds? Stripe's `created` has whole seconds
// and event ids are not chronological, so events of the same second need a rule of their own.
//
//   EventOrder order = OrderSubscriptionEvent(applied, incoming);
//   if (order == EventOrder::kNewer) -> apply it; else record it as stale / superseded.
//
// Storage orders the events of one second as a set (LastOfSecond), so that the outcome does
// not depend on the order of arrival: after every delivery of a second, the row holds the
// state of the set's last event. OrderSubscriptionEvent places one event against another,
// for different seconds and for sets too large to order whole.
//
// The pairwise rule, for events of one subscription:
//   1. A later `created` second is newer; an earlier one is stale.
//   2. In the same second:
//      a. A terminal status (canceled, incomplete_expired) is never followed by a live one:
//         Stripe cannot revive such a subscription, so a live event of that second is older
//         (superseded), and a terminal event beats a live one (newer).
//      b. The event chain, where Stripe gives one: an event whose data.previous_attributes,
//         laid over its object, equal the state applied now is its successor (newer); an event
//         whose state is what the applied event's previous_attributes say came before it is
//         its predecessor (superseded). When both or neither hold, the chain does not decide.
//      c. customer.subscription.created comes first in any second.
//      d. Otherwise the greater event id (bytewise) is newer: arbitrary but the same in every
//         order of arrival.
// Two same-second events that each undo the other (active -> past_due -> active) form a
// cycle that no pairwise rule breaks; the set order below does, with the third event.
// Pure; thread-safe.
#ifndef SUITE_SERVICES_BILLING_DOMAIN_EVENT_ORDER_H_
#define SUITE_SERVICES_BILLING_DOMAIN_EVENT_ORDER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/billing/domain/model.h"

namespace suite::billing {

// One subscription event as the order sees it.
struct OrderedEvent {
  absl::Time created;  // whole seconds
  std::string stripe_event_id;
  SubscriptionState state;
  absl::optional<SubscriptionState> previous;  // from data.previous_attributes
  bool creation = false;                       // customer.subscription.created
};

enum class EventOrder { kNewer, kStale, kSuperseded };

// OrderSubscriptionEvent places `incoming` against `applied`, the event whose state the row
// holds (its id must differ from incoming's).
EventOrder OrderSubscriptionEvent(const OrderedEvent& applied, const OrderedEvent& incoming);

// LastOfSecond returns the index of the event that comes last among `events`, the events of
// one subscription in one second (at least one). Of every order of them it takes those that
// (1) put no live status after a terminal one and no creation after another event, then
// (2) link the most consecutive pairs by the chain (an event's previous state equals the
// state before it); among those, the last event is the terminal one, else the one with the
// greatest id. A function of the set alone. Over kMaxOrderedSet events, the pairwise rule
// folds them instead.
inline constexpr size_t kMaxOrderedSet = 7;
size_t LastOfSecond(const std::vector<OrderedEvent>& events);

// IsTerminal: canceled and incomplete_expired, from which Stripe never moves on.
bool IsTerminal(SubscriptionStatus status);

// AppliedEventFrom rebuilds the applied event from what a subscription row keeps: its state,
// its last event's time and id, and that event's stored (redacted) JSON for its
// previous_attributes and type (empty or unreadable JSON: no chain information).
OrderedEvent AppliedEventFrom(const SubscriptionState& row_state, absl::Time last_event_created,
                              const std::string& last_event_id, const std::string& last_event_json);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_EVENT_ORDER_H_
