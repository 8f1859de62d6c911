// OrderSubscriptionEvent over every order of arrival of same-second event sets: the row ends
// in the state of the chain's last event whatever the order (the storage applies an event
// only when it is ordered after the row's last one, as simulated here).
#include "services/billing/domain/event_order.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace suite::billing {
namespace {

const absl::Time kSecond = absl::FromUnixSeconds(1800000000);

SubscriptionState State(SubscriptionStatus status) {
  SubscriptionState s;
  s.status = status;
  s.price_id = "price_pro";
  return s;
}

OrderedEvent Created(const std::string& id, SubscriptionStatus status) {
  OrderedEvent e;
  e.created = kSecond;
  e.stripe_event_id = id;
  e.state = State(status);
  e.creation = true;
  return e;
}

OrderedEvent Updated(const std::string& id, SubscriptionStatus from, SubscriptionStatus to) {
  OrderedEvent e;
  e.created = kSecond;
  e.stripe_event_id = id;
  e.state = State(to);
  e.previous = State(from);
  return e;
}

// The event a row ends in once all of `events` were delivered, as the storage does it.
std::string Deliver(const std::vector<OrderedEvent>& events) {
  std::vector<OrderedEvent> delivered;
  for (const OrderedEvent& e : events) delivered.push_back(e);
  return delivered[LastOfSecond(delivered)].stripe_event_id;
}

// Delivers `events` (given in true order) in each of their orders and expects the row to end
// in `last`; with `each_delivery`, also to hold after each delivery the latest event of the
// chain delivered so far (not for a cycle, which only the whole set can break).
void ExpectEveryOrderEndsIn(std::vector<OrderedEvent> events, const std::string& last,
                            bool each_delivery = true) {
  std::vector<OrderedEvent> chain = events;
  std::sort(events.begin(), events.end(), [](const OrderedEvent& a, const OrderedEvent& b) {
    return a.stripe_event_id < b.stripe_event_id;
  });
  int orders = 0;
  do {
    std::string sequence;
    for (const OrderedEvent& e : events) sequence += e.stripe_event_id + " ";
    // After each delivery, the row holds the latest event of the chain delivered so far.
    std::vector<OrderedEvent> delivered;
    int latest = -1;
    for (const OrderedEvent& e : events) {
      delivered.push_back(e);
      for (int i = 0; i < static_cast<int>(chain.size()); ++i) {
        if (chain[i].stripe_event_id == e.stripe_event_id) latest = std::max(latest, i);
      }
      if (each_delivery) {
        EXPECT_EQ(delivered[LastOfSecond(delivered)].stripe_event_id,
                  chain[latest].stripe_event_id)
            << "delivered as " << sequence;
      }
    }
    EXPECT_EQ(Deliver(events), last) << "delivered as " << sequence;
    ++orders;
  } while (std::next_permutation(
      events.begin(), events.end(),
      [](const OrderedEvent& a, const OrderedEvent& b) { return a.stripe_event_id < b.stripe_event_id; }));
  EXPECT_EQ(orders, 6);
}

// Event ids are chosen against the chain (the last event has the smallest id), so that the
// old rule (greater id wins) would fail these.
TEST(EventOrderTest, ChainToCanceledEndsCanceledInEveryOrder) {
  ExpectEveryOrderEndsIn({Created("evt_c", SubscriptionStatus::kActive),
                          Updated("evt_b", SubscriptionStatus::kActive, SubscriptionStatus::kPastDue),
                          Updated("evt_a", SubscriptionStatus::kPastDue, SubscriptionStatus::kCanceled)},
                         "evt_a");
}

TEST(EventOrderTest, ChainWithoutTerminalStateEndsInItsLastEventInEveryOrder) {
  ExpectEveryOrderEndsIn(
      {Created("evt_c", SubscriptionStatus::kIncomplete),
       Updated("evt_b", SubscriptionStatus::kIncomplete, SubscriptionStatus::kActive),
       Updated("evt_a", SubscriptionStatus::kActive, SubscriptionStatus::kPastDue)},
      "evt_a");
  ExpectEveryOrderEndsIn(
      {Created("evt_c", SubscriptionStatus::kTrialing),
       Updated("evt_a", SubscriptionStatus::kTrialing, SubscriptionStatus::kActive),
       Updated("evt_b", SubscriptionStatus::kActive, SubscriptionStatus::kPastDue)},
      "evt_b");
}

// Without previous_attributes (no chain), a canceled event still wins its second.
TEST(EventOrderTest, TerminalStatusWinsTiesWithoutChain) {
  OrderedEvent canceled = Created("evt_a", SubscriptionStatus::kCanceled);
  canceled.creation = false;
  OrderedEvent active = Created("evt_z", SubscriptionStatus::kActive);
  active.creation = false;
  OrderedEvent past_due = Created("evt_m", SubscriptionStatus::kPastDue);
  past_due.creation = false;
  // (In true order: the live ones, then the canceled one.)
  ExpectEveryOrderEndsIn({past_due, active, canceled}, "evt_a");
  EXPECT_EQ(OrderSubscriptionEvent(canceled, active), EventOrder::kSuperseded);
  EXPECT_EQ(OrderSubscriptionEvent(active, canceled), EventOrder::kNewer);
}

// A fork (two events from the same state): the terminal one ends it.
TEST(EventOrderTest, ForkToCanceledAndPastDueEndsCanceled) {
  ExpectEveryOrderEndsIn(
      {Created("evt_c", SubscriptionStatus::kActive),
       Updated("evt_a", SubscriptionStatus::kActive, SubscriptionStatus::kPastDue),
       Updated("evt_b", SubscriptionStatus::kActive, SubscriptionStatus::kCanceled)},
      "evt_b");
}

// A payment that fails and recovers within the second: two events that each undo the other.
// No pairwise rule can order them; the set with the creation can.
TEST(EventOrderTest, RecoveryWithinTheSecondEndsActiveInEveryOrder) {
  ExpectEveryOrderEndsIn(
      {Created("evt_c", SubscriptionStatus::kActive),
       Updated("evt_b", SubscriptionStatus::kActive, SubscriptionStatus::kPastDue),
       Updated("evt_a", SubscriptionStatus::kPastDue, SubscriptionStatus::kActive)},
      "evt_a", /*each_delivery=*/false);
  ExpectEveryOrderEndsIn(
      {Created("evt_a", SubscriptionStatus::kActive),
       Updated("evt_c", SubscriptionStatus::kActive, SubscriptionStatus::kPastDue),
       Updated("evt_b", SubscriptionStatus::kPastDue, SubscriptionStatus::kActive)},
      "evt_b", /*each_delivery=*/false);
}

// More events than are ordered as a set: the pairwise rule still never revives a canceled one.
TEST(EventOrderTest, LargeSetsFoldPairwiseAndKeepTerminalLast) {
  std::vector<OrderedEvent> events;
  for (int i = 0; i < 9; ++i) {
    OrderedEvent e = Created("evt_" + std::to_string(i), SubscriptionStatus::kActive);
    e.creation = false;
    events.push_back(e);
  }
  events[3].state.status = SubscriptionStatus::kCanceled;
  EXPECT_EQ(LastOfSecond(events), 3u);
}

TEST(EventOrderTest, OtherSecondsAreNewerOrStale) {
  OrderedEvent canceled = Created("evt_a", SubscriptionStatus::kCanceled);
  OrderedEvent later = Created("evt_0", SubscriptionStatus::kActive);
  later.created = kSecond + absl::Seconds(1);
  EXPECT_EQ(OrderSubscriptionEvent(canceled, later), EventOrder::kNewer);
  EXPECT_EQ(OrderSubscriptionEvent(later, canceled), EventOrder::kStale);
}

// The applied event is rebuilt from its stored JSON: previous_attributes and type.
TEST(EventOrderTest, AppliedEventReadsChainFromStoredJson) {
  const std::string json =
      R"({"id":"evt_1","object":"event","type":"customer.subscription.updated",)"
      R"("created":1800000000,"livemode":false,"data":{"object":{"id":"sub_1",)"
      R"("customer":"cus_1","status":"past_due","items":{"data":[{"price":{"id":"price_pro"}}]}},)"
      R"("previous_attributes":{"status":"active"}}})";
  OrderedEvent applied =
      AppliedEventFrom(State(SubscriptionStatus::kPastDue), kSecond, "evt_1", json);
  ASSERT_TRUE(applied.previous.has_value());
  EXPECT_EQ(applied.previous->status, SubscriptionStatus::kActive);
  EXPECT_FALSE(applied.creation);
  // An older active event of the same second is its predecessor, whatever its id.
  OrderedEvent active = Created("evt_9", SubscriptionStatus::kActive);
  active.creation = false;
  EXPECT_EQ(OrderSubscriptionEvent(applied, active), EventOrder::kSuperseded);
  // Unreadable JSON: no chain, ordered by the fallback rule.
  EXPECT_FALSE(AppliedEventFrom(State(SubscriptionStatus::kActive), kSecond, "evt_1", "{")
                   .previous.has_value());
}

}  // namespace
}  // namespace suite::billing
