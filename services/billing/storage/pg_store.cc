#include "services/billing/storage/pg_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "services/billing/domain/errors.h"
#include "services/billing/domain/event_order.h"
#include "services/billing/domain/ledger.h"
#include "services/billing/domain/stripe_event.h"
#include "services/billing/storage/statements.h"
#include "shared/base/status_macros.h"
#include "shared/base/uuid.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/batched_read_statement.h"
#include "shared/db/errors.h"
#include "shared/db/transaction.h"

namespace suite::billing {
namespace {

using suite::db::RunInTransaction;
using Tx = suite::db::Transaction;
using suite::db::AutocommitRead;
using suite::db::ReadOnly;
using suite::db::TxOptions;

// Nullable times travel as unix microseconds with -1 (kNullMicros) for NULL (statements.h).
int64_t MicrosOrNull(const absl::optional<absl::Time>& t) {
  return t.has_value() ? absl::ToUnixMicros(*t) : kNullMicros;
}
absl::optional<absl::Time> OptTime(const pqxx::field& f) {
  if (f.is_null()) return absl::nullopt;
  return absl::FromUnixMicros(f.as<int64_t>());
}
absl::Time Time(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }
std::string UuidOrEmpty(absl::string_view s) { return suite::IsUuid(s) ? std::string(s) : ""; }

Customer ReadCustomer(const pqxx::row& r) {
  Customer c;
  c.id = r[0].as<std::string>();
  c.stripe_customer_id = r[1].as<std::string>();
  c.user_id = r[2].as<std::string>();
  c.deleted = r[3].as<bool>();
  c.create_time = Time(r[4]);
  c.update_time = Time(r[5]);
  return c;
}

Subscription ReadSubscription(const pqxx::row& r) {
  Subscription s;
  s.id = r[0].as<std::string>();
  s.stripe_subscription_id = r[1].as<std::string>();
  s.stripe_customer_id = r[2].as<std::string>();
  s.user_id = r[3].as<std::string>();
  s.status =
      ParseSubscriptionStatus(r[4].as<std::string>()).value_or(SubscriptionStatus::kUnspecified);
  s.price_id = r[5].as<std::string>();
  s.current_period_end = OptTime(r[6]);
  s.cancel_at_period_end = r[7].as<bool>();
  s.trial_end = OptTime(r[8]);
  s.past_due_since = OptTime(r[9]);
  s.create_time = Time(r[10]);
  s.update_time = Time(r[11]);
  return s;
}

StoredEvent ReadEvent(const pqxx::row& r) {
  StoredEvent e;
  e.id = r[0].as<std::string>();
  e.stripe_event_id = r[1].as<std::string>();
  e.type = r[2].as<std::string>();
  e.api_version = r[3].as<std::string>();
  e.livemode = r[4].as<bool>();
  e.received_at = Time(r[5]);
  e.processed_at = OptTime(r[6]);
  e.status = ParseEventStatus(r[7].as<std::string>()).value_or(EventStatus::kReceived);
  e.last_error = r[8].as<std::string>();
  e.raw_event_redacted_json = r[9].as<std::string>();
  if (!r[10].is_null()) e.event_created = absl::FromUnixSeconds(r[10].as<int64_t>());
  return e;
}

Transaction ReadTransaction(const pqxx::row& r) {
  Transaction t;
  t.id = r[0].as<std::string>();
  NewTransaction& f = t.fields;
  f.account_id = r[1].as<std::string>();
  f.user_id = r[2].as<std::string>();
  f.kind = ParseTransactionKind(r[3].as<std::string>()).value_or(TransactionKind::kPayment);
  f.status = ParseTransactionStatus(r[4].as<std::string>()).value_or(TransactionStatus::kPending);
  f.currency = r[5].as<std::string>();
  f.amount_cents = r[6].as<int64_t>();
  f.provider = r[7].as<std::string>();
  f.provider_payment_intent_id = r[8].as<std::string>();
  f.provider_charge_id = r[9].as<std::string>();
  f.provider_invoice_id = r[10].as<std::string>();
  f.provider_checkout_session_id = r[11].as<std::string>();
  f.idempotency_key = r[12].as<std::string>();
  f.request_fingerprint = r[13].as<std::string>();
  nlohmann::json metadata = nlohmann::json::parse(r[14].as<std::string>(), nullptr, false);
  if (metadata.is_object()) {
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      if (it.value().is_string()) f.metadata[it.key()] = it.value().get<std::string>();
    }
  }
  f.request_id = r[15].as<std::string>();
  t.create_time = Time(r[16]);
  return t;
}

std::string MetadataJson(const std::map<std::string, std::string>& metadata) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [k, v] : metadata) object[k] = v;
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename T, typename Read>
Page<T> ToPage(const pqxx::result& rows, int limit, Read read,
               std::function<Cursor(const T&)> cursor_of) {
  Page<T> page;
  for (const pqxx::row& row : rows) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next = cursor_of(page.items.back());
      break;
    }
    page.items.push_back(read(row));
  }
  return page;
}

int64_t CursorMicros(const absl::optional<Cursor>& after) {
  return after.has_value() ? after->unix_micros : kNullMicros;
}
std::string CursorId(const absl::optional<Cursor>& after) {
  // Any valid uuid when there is no cursor: the condition short-circuits on -1.
  return after.has_value() ? after->id : "00000000-0000-0000-0000-000000000000";
}

// An event's user fills a missing link (model.h, CustomerChange): the customer, and its
// subscriptions with it, are linked to `user_id` only when linked to nobody and the user has
// no other live customer. The caller holds billing_user_links_lock of `user_id`.
absl::Status OfferLink(Tx& tx, const std::string& stripe_customer_id, const std::string& user_id) {
  if (user_id.empty()) return absl::OkStatus();
  SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> adopted,
                         tx.ExecMaybeOne("billing_customer_adopt", stripe_customer_id, user_id));
  if (!adopted.has_value()) return absl::OkStatus();
  return tx.Exec("billing_subscriptions_relink", (*adopted)[0].as<std::string>(), user_id)
      .status();
}

// Inserts `tx` or finds the entry already recorded under its key.
absl::StatusOr<RecordedTransaction> InsertTransaction(Tx& db, const NewTransaction& tx) {
  SUITE_ASSIGN_OR_RETURN(
      absl::optional<pqxx::row> inserted,
      db.ExecMaybeOne("billing_transaction_insert", tx.account_id, tx.user_id,
                      std::string(TransactionKindName(tx.kind)),
                      std::string(TransactionStatusName(tx.status)), tx.currency, tx.amount_cents,
                      tx.provider, tx.provider_payment_intent_id, tx.provider_charge_id,
                      tx.provider_invoice_id, tx.provider_checkout_session_id, tx.idempotency_key,
                      tx.request_fingerprint, MetadataJson(tx.metadata),
                      UuidOrEmpty(tx.request_id)));
  RecordedTransaction result;
  if (inserted.has_value()) {
    result.transaction = ReadTransaction(*inserted);
    return result;
  }
  // The key is taken (the INSERT waited for a concurrent holder to commit, so the row is
  // visible to this next statement).
  SUITE_ASSIGN_OR_RETURN(pqxx::row existing,
                         db.ExecOne("billing_transaction_by_key", tx.idempotency_key));
  result.transaction = ReadTransaction(existing);
  if (result.transaction.fields.request_fingerprint != tx.request_fingerprint) {
    return errors::IdempotencyKeyReused();
  }
  result.replayed = true;
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgStore>> PgStore::Create(
    suite::db::ConnectionPool& pool) {
  SUITE_RETURN_IF_ERROR(RegisterStatements(pool));
  return std::unique_ptr<PgStore>(new PgStore(pool));
}

PgStore::PgStore(suite::db::ConnectionPool& pool)
    : pool_(pool),
      best_subscriptions_({},
                          [this](const std::vector<std::string>& user_ids) {
                            return ReadBestSubscriptions(user_ids);
                          }) {}

namespace {

// WriteSubscription upserts `s` as of the event `event_id` of `created`; `update_existing`
// only when the row is locked and the event ordered after its last one. Returns whether a
// row was written (false: an insert lost a race to a concurrent one).
absl::StatusOr<bool> WriteSubscription(Tx& tx, const SubscriptionChange& s,
                                       const std::string& customer_id,
                                       const std::string& user_id, absl::Time created,
                                       const std::string& event_id, const std::string& request_id,
                                       bool update_existing) {
  SUITE_ASSIGN_OR_RETURN(
      absl::optional<pqxx::row> written,
      tx.ExecMaybeOne("billing_subscription_upsert", s.stripe_subscription_id, customer_id,
                      user_id, std::string(SubscriptionStatusName(s.state.status)),
                      s.state.price_id, MicrosOrNull(s.state.current_period_end),
                      s.state.cancel_at_period_end, MicrosOrNull(s.state.trial_end),
                      absl::ToUnixMicros(created), event_id, request_id, update_existing));
  return written.has_value();
}

// The subscription event stored as `json`, as the order sees it (with its change, to apply
// it); nullopt when it cannot be read as one.
absl::optional<std::pair<OrderedEvent, SubscriptionChange>> StoredSubscriptionEvent(
    const std::string& json) {
  absl::StatusOr<ParsedStripeEvent> parsed = ParseStripeEvent(json);
  if (!parsed.ok() || !parsed->change.ok() || !parsed->change->subscription.has_value()) {
    return absl::nullopt;
  }
  const SubscriptionChange& change = *parsed->change->subscription;
  OrderedEvent e;
  e.created = parsed->envelope.created;
  e.stripe_event_id = parsed->envelope.stripe_event_id;
  e.state = change.state;
  e.previous = change.previous;
  e.creation = change.creation;
  return std::make_pair(std::move(e), change);
}

// UpsertOrderedSubscription writes the subscription of `s` when its event is ordered after
// the row's last one (event_order.h), under the row's lock; returns nullopt when it wrote,
// else kStale or kSuperseded. In the same second as the row's last event, the second's
// settled events and this one are ordered as a set: the row takes the state of the set's last
// event (which may be an earlier delivery), that event is marked processed and the others of
// the second superseded, so that every order of arrival ends alike.
absl::StatusOr<absl::optional<EventStatus>> UpsertOrderedSubscription(
    Tx& tx, const EventEnvelope& envelope, const SubscriptionChange& s,
    const std::string& customer_id, const std::string& user_id) {
  const std::string request_id = UuidOrEmpty(envelope.request_id);
  const int64_t created = absl::ToUnixMicros(envelope.created);
  OrderedEvent incoming;
  incoming.created = envelope.created;
  incoming.stripe_event_id = envelope.stripe_event_id;
  incoming.state = s.state;
  incoming.previous = s.previous;
  incoming.creation = s.creation;
  // Twice at most: an insert that loses the race to a concurrent one finds the row locked.
  for (int attempt = 0; attempt < 2; ++attempt) {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                           tx.ExecMaybeOne("billing_subscription_lock", s.stripe_subscription_id));
    if (row.has_value()) {
      SubscriptionState held;
      held.status = ParseSubscriptionStatus((*row)[0].as<std::string>())
                        .value_or(SubscriptionStatus::kUnspecified);
      held.price_id = (*row)[1].as<std::string>();
      held.current_period_end = OptTime((*row)[2]);
      held.cancel_at_period_end = (*row)[3].as<bool>();
      held.trial_end = OptTime((*row)[4]);
      const absl::Time last_created = Time((*row)[5]);
      const std::string last_id = (*row)[6].as<std::string>();
      if (last_id == envelope.stripe_event_id) return absl::optional<EventStatus>();
      if (last_created < envelope.created) {
        // A later second: newer.
      } else if (last_created > envelope.created) {
        return absl::optional<EventStatus>(EventStatus::kStale);
      } else {
        // The same second: order the set.
        std::vector<OrderedEvent> set = {incoming};
        std::vector<SubscriptionChange> changes = {s};
        SUITE_ASSIGN_OR_RETURN(pqxx::result others,
                               tx.Exec("billing_subscription_same_second",
                                       s.stripe_subscription_id, created,
                                       envelope.stripe_event_id));
        bool has_last = false;
        for (const pqxx::row& other : others) {
          auto stored = StoredSubscriptionEvent(other[1].as<std::string>());
          if (!stored.has_value() || stored->first.created != envelope.created) continue;
          has_last = has_last || stored->first.stripe_event_id == last_id;
          set.push_back(std::move(stored->first));
          changes.push_back(std::move(stored->second));
        }
        if (!has_last) {
          // The row's event was settled before events kept their object and second.
          std::string last_json;
          SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> stored,
                                 tx.ExecMaybeOne("billing_event_json", last_id));
          if (stored.has_value()) last_json = (*stored)[0].as<std::string>();
          set.push_back(AppliedEventFrom(held, last_created, last_id, last_json));
          SubscriptionChange as_held = s;
          as_held.state = held;
          changes.push_back(std::move(as_held));
        }
        const size_t last = LastOfSecond(set);
        SUITE_RETURN_IF_ERROR(tx.Exec("billing_subscription_second_relabel",
                                      s.stripe_subscription_id, created,
                                      set[last].stripe_event_id)
                                  .status());
        if (last != 0) {
          if (set[last].stripe_event_id != last_id) {
            // An earlier delivery of this second turns out to be its last event.
            SUITE_ASSIGN_OR_RETURN(
                bool written,
                WriteSubscription(tx, changes[last], customer_id, user_id, envelope.created,
                                  set[last].stripe_event_id, request_id, true));
            if (!written) return absl::AbortedError("the subscription row vanished");
          }
          return absl::optional<EventStatus>(EventStatus::kSuperseded);
        }
      }
    }
    SUITE_ASSIGN_OR_RETURN(bool written,
                           WriteSubscription(tx, s, customer_id, user_id, envelope.created,
                                             envelope.stripe_event_id, request_id,
                                             /*update_existing=*/row.has_value()));
    if (written) return absl::optional<EventStatus>();
  }
  return absl::AbortedError("the subscription row changed twice while ordering an event");
}

}  // namespace

absl::StatusOr<IngestOutcome> PgStore::ApplyEvent(const EventEnvelope& envelope,
                                                           const EventChange& change,
                                                           bool reprocess) {
  absl::StatusOr<IngestOutcome> outcome = ApplyEventOnce(envelope, change, reprocess);
  // A database limit (SQLSTATE class 54: a value nested or sized past what PostgreSQL takes)
  // recurs on every try: say that the event, not the server, is at fault.
  if (!outcome.ok()) {
    absl::optional<std::string> state = suite::db::SqlStateOf(outcome.status());
    if (state.has_value() && state->rfind("54", 0) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("the event exceeds a database limit (SQLSTATE ", *state, ")"));
    }
  }
  return outcome;
}

absl::StatusOr<IngestOutcome> PgStore::ApplyEventOnce(const EventEnvelope& envelope,
                                                               const EventChange& change,
                                                               bool reprocess) {
  const std::string request_id = UuidOrEmpty(envelope.request_id);
  return RunInTransaction<IngestOutcome>(
      pool_, TxOptions(), [&](Tx& tx) -> absl::StatusOr<IngestOutcome> {
        IngestOutcome outcome;
        std::string stored_status;  // of an event stored before (received or failed)
        // The claim.
        SUITE_ASSIGN_OR_RETURN(
            absl::optional<pqxx::row> claimed,
            tx.ExecMaybeOne("billing_event_claim", envelope.stripe_event_id, envelope.type,
                            envelope.api_version, envelope.livemode, request_id,
                            UuidOrEmpty(envelope.related_account_id), envelope.redacted_json));
        if (!claimed.has_value()) {
          // Stored before: applied already (a duplicate), or received/failed (apply now).
          SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                                 tx.ExecOne("billing_event_lock", envelope.stripe_event_id));
          stored_status = row[0].as<std::string>();
          const auto status = ParseEventStatus(stored_status);
          if (status.has_value() && IsEventSettled(*status)) {
            if (reprocess) return errors::EventAlreadyApplied(envelope.stripe_event_id);
            outcome.status = *status;
            outcome.duplicate = true;
            return outcome;
          }
        } else if (reprocess) {
          return errors::EventNotFound(envelope.stripe_event_id);  // rolls the claim back
        }
        const int64_t created = absl::ToUnixMicros(envelope.created);
        std::string transaction_id;
        absl::optional<EventStatus> skipped;  // stale or superseded: recorded, not applied
        if (change.customer.has_value()) {
          const CustomerChange& c = *change.customer;
          if (!c.user_id.empty()) {
            SUITE_RETURN_IF_ERROR(tx.Exec("billing_user_links_lock", c.user_id).status());
          }
          absl::optional<pqxx::row> applied;
          if (c.link_only) {
            SUITE_RETURN_IF_ERROR(
                tx.Exec("billing_customer_ensure", c.stripe_customer_id).status());
          } else {
            SUITE_ASSIGN_OR_RETURN(
                applied, tx.ExecMaybeOne("billing_customer_upsert_ordered", c.stripe_customer_id,
                                         c.deleted, created, envelope.stripe_event_id, request_id));
          }
          SUITE_RETURN_IF_ERROR(OfferLink(tx, c.stripe_customer_id, c.user_id));
          if (!applied.has_value() && !c.link_only) {
            // Not applied: the row holds a later event (stale) or a same-second one with a
            // greater id (superseded).
            SUITE_ASSIGN_OR_RETURN(pqxx::row last,
                                   tx.ExecOne("billing_customer_last_event", c.stripe_customer_id));
            skipped = !last[0].is_null() && last[0].as<int64_t>() > created
                          ? EventStatus::kStale
                          : EventStatus::kSuperseded;
          }
        }
        if (change.subscription.has_value()) {
          const SubscriptionChange& s = *change.subscription;
          if (!s.user_id.empty()) {
            SUITE_RETURN_IF_ERROR(tx.Exec("billing_user_links_lock", s.user_id).status());
          }
          SUITE_RETURN_IF_ERROR(tx.Exec("billing_customer_ensure", s.stripe_customer_id).status());
          SUITE_RETURN_IF_ERROR(OfferLink(tx, s.stripe_customer_id, s.user_id));
          SUITE_ASSIGN_OR_RETURN(pqxx::row customer,
                                 tx.ExecOne("billing_customer_by_stripe_id", s.stripe_customer_id));
          const Customer owner = ReadCustomer(customer);
          // The subscription belongs to its customer's user, whatever its metadata says.
          SUITE_ASSIGN_OR_RETURN(
              skipped, UpsertOrderedSubscription(tx, envelope, s, owner.id, owner.user_id));
        }
        if (change.transaction.has_value()) {
          NewTransaction entry = *change.transaction;
          entry.request_id = request_id;
          SUITE_ASSIGN_OR_RETURN(RecordedTransaction recorded, InsertTransaction(tx, entry));
          transaction_id = recorded.transaction.id;
        }
        outcome.status = skipped.has_value() ? *skipped
                         : change.ignored    ? EventStatus::kIgnored
                                             : EventStatus::kProcessed;
        SUITE_RETURN_IF_ERROR(
            tx.Exec("billing_event_finish", envelope.stripe_event_id,
                    std::string(EventStatusName(outcome.status)), transaction_id,
                    UuidOrEmpty(envelope.related_account_id),
                    change.subscription.has_value() ? change.subscription->stripe_subscription_id
                                                    : std::string(),
                    created)
                .status());
        if (reprocess) {
          // An operator re-ran the event: the one privileged path into this transaction.
          SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
              tx, kAuditSchema,
              {"stripe_event.reprocess", "stripe_event", envelope.stripe_event_id,
               {{"status", stored_status}},
               {{"status", std::string(EventStatusName(outcome.status))}}}));
        }
        return outcome;
      });
}

absl::Status PgStore::RecordEventFailure(const EventEnvelope& envelope,
                                                  absl::string_view error) {
  return RunInTransaction(pool_, TxOptions(), [&](Tx& tx) -> absl::Status {
    return tx
        .Exec("billing_event_fail", envelope.stripe_event_id, envelope.type, envelope.api_version,
              envelope.livemode, std::string(error), UuidOrEmpty(envelope.request_id),
              envelope.redacted_json)
        .status();
  });
}

absl::StatusOr<StoredEvent> PgStore::GetEvent(absl::string_view stripe_event_id) {
  return RunInTransaction<StoredEvent>(
      pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<StoredEvent> {
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                               tx.ExecMaybeOne("billing_event_get", std::string(stripe_event_id)));
        if (!row.has_value()) return errors::EventNotFound(stripe_event_id);
        return ReadEvent(*row);
      });
}

absl::StatusOr<Page<StoredEvent>> PgStore::ListEvents(
    const EventFilter& filter, int limit, const absl::optional<Cursor>& after) {
  return RunInTransaction<Page<StoredEvent>>(
      pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<Page<StoredEvent>> {
        SUITE_ASSIGN_OR_RETURN(
            pqxx::result rows,
            tx.Exec("billing_event_list",
                    std::string(filter.status ? EventStatusName(*filter.status) : ""), filter.type,
                    MicrosOrNull(filter.start_time), MicrosOrNull(filter.end_time),
                    CursorMicros(after), CursorId(after), limit + 1));
        return ToPage<StoredEvent>(rows, limit, ReadEvent, [](const StoredEvent& e) {
          return Cursor{absl::ToUnixMicros(e.received_at), e.id};
        });
      });
}

absl::StatusOr<Customer> PgStore::GetCustomerByStripeId(absl::string_view stripe_id) {
  return RunInTransaction<Customer>(pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<Customer> {
    SUITE_ASSIGN_OR_RETURN(
        absl::optional<pqxx::row> row,
        tx.ExecMaybeOne("billing_customer_by_stripe_id", std::string(stripe_id)));
    if (!row.has_value()) return errors::CustomerNotFound();
    return ReadCustomer(*row);
  });
}

absl::StatusOr<Customer> PgStore::GetCustomerByUser(absl::string_view user_id) {
  return RunInTransaction<Customer>(pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<Customer> {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                           tx.ExecMaybeOne("billing_customer_by_user", std::string(user_id)));
    if (!row.has_value()) return errors::CustomerNotFound();
    return ReadCustomer(*row);
  });
}

absl::StatusOr<Customer> PgStore::LinkCustomer(absl::string_view stripe_id,
                                                        absl::string_view user_id,
                                                        bool allow_relink,
                                                        absl::string_view request_id) {
  const std::string stripe(stripe_id);
  const std::string user(user_id);
  const std::string rid = UuidOrEmpty(request_id);
  return RunInTransaction<Customer>(pool_, TxOptions(), [&](Tx& tx) -> absl::StatusOr<Customer> {
    SUITE_RETURN_IF_ERROR(tx.Exec("billing_user_links_lock", user).status());
    SUITE_RETURN_IF_ERROR(tx.Exec("billing_customer_ensure", stripe).status());
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("billing_customer_lock_by_stripe_id", stripe));
    const Customer customer = ReadCustomer(row);
    if (customer.user_id == user) return customer;  // already so: nothing to change
    // A refusal returns before any write; the ensured row of a new customer rolls back.
    if (!customer.user_id.empty() && !allow_relink) {
      return errors::CustomerLinkedToOtherUser(stripe, customer.user_id);
    }
    nlohmann::json after = {{"user_id", user}};
    if (!customer.deleted) {
      SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> other_row,
                             tx.ExecMaybeOne("billing_customer_other_live", user, customer.id));
      if (other_row.has_value()) {
        const Customer other = ReadCustomer(*other_row);
        if (!allow_relink) return errors::UserHasOtherCustomer(user, other.stripe_customer_id);
        SUITE_RETURN_IF_ERROR(
            tx.Exec("billing_customer_set_user", other.id, std::string(), rid).status());
        SUITE_RETURN_IF_ERROR(tx.Exec("billing_subscriptions_unlink", other.id).status());
        after["unlinked_stripe_customer_id"] = other.stripe_customer_id;
      }
    }
    SUITE_ASSIGN_OR_RETURN(pqxx::row linked,
                           tx.ExecOne("billing_customer_set_user", customer.id, user, rid));
    SUITE_RETURN_IF_ERROR(tx.Exec("billing_subscriptions_relink", customer.id, user).status());
    // One row for the whole change: the customer's link before and after (null: unlinked),
    // and the user's previous customer when it was unlinked to make room.
    SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
        tx, kAuditSchema,
        {"customer.link", "customer", stripe,
         {{"user_id",
           customer.user_id.empty() ? nlohmann::json() : nlohmann::json(customer.user_id)}},
         std::move(after)}));
    return ReadCustomer(linked);
  });
}

absl::StatusOr<Subscription> PgStore::GetSubscription(absl::string_view stripe_id) {
  return RunInTransaction<Subscription>(
      pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<Subscription> {
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                               tx.ExecMaybeOne("billing_subscription_get", std::string(stripe_id)));
        if (!row.has_value()) return errors::SubscriptionNotFound();
        return ReadSubscription(*row);
      });
}

absl::StatusOr<Page<Subscription>> PgStore::ListSubscriptions(
    absl::string_view user_id, int limit, const absl::optional<Cursor>& after) {
  return RunInTransaction<Page<Subscription>>(
      pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<Page<Subscription>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                               tx.Exec("billing_subscription_list", std::string(user_id),
                                       CursorMicros(after), CursorId(after), limit + 1));
        return ToPage<Subscription>(rows, limit, ReadSubscription, [](const Subscription& s) {
          return Cursor{absl::ToUnixMicros(s.create_time), s.id};
        });
      });
}

absl::StatusOr<absl::optional<Subscription>> PgStore::BestSubscription(
    absl::string_view user_id) {
  return best_subscriptions_.Read(user_id);
}

void PgStore::BestSubscriptionAsync(absl::string_view user_id,
                                             const suite::AsyncCaller& caller,
                                             BestSubscriptionDone done) {
  best_subscriptions_.ReadAsync(std::string(user_id), caller, std::move(done));
}

absl::StatusOr<PgStore::SubscriptionBatcher::ValueMap>
PgStore::ReadBestSubscriptions(
    const std::vector<std::string>& user_ids) {
  using Result = SubscriptionBatcher::ValueMap;
  return RunInTransaction<Result>(pool_, AutocommitRead(), [&](Tx& tx) -> absl::StatusOr<Result> {
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                           suite::db::ExecBatched(tx, kBestSubscriptionRead, user_ids));
    Result best;
    for (const pqxx::row& row : rows) {
      best[row[row.size() - 1].as<std::string>()] = ReadSubscription(row);
    }
    return best;
  });
}

absl::StatusOr<RecordedTransaction> PgStore::RecordTransaction(const NewTransaction& tx) {
  return RunInTransaction<RecordedTransaction>(
      pool_, TxOptions(), [&](Tx& db) -> absl::StatusOr<RecordedTransaction> {
        SUITE_ASSIGN_OR_RETURN(RecordedTransaction recorded, InsertTransaction(db, tx));
        // A replay appends nothing, so it records nothing.
        if (recorded.replayed) return recorded;
        const NewTransaction& f = recorded.transaction.fields;
        SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
            db, kAuditSchema,
            {"ledger.append", "transaction", recorded.transaction.id, nullptr,
             {{"account_id", f.account_id},
              {"kind", std::string(TransactionKindName(f.kind))},
              {"status", std::string(TransactionStatusName(f.status))},
              {"currency", f.currency},
              {"amount_cents", f.amount_cents},
              {"idempotency_key", f.idempotency_key}}}));
        return recorded;
      });
}

absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> PgStore::ListAuditEvents(
    const suite::db::audit::AuditFilter& filter, int64_t before_sequence, int limit) {
  return suite::db::audit::ListAuditEvents(pool_, kAuditSchema, filter, before_sequence, limit);
}

absl::StatusOr<Page<Transaction>> PgStore::ListTransactions(
    absl::string_view account_id, int limit, const absl::optional<Cursor>& after) {
  return RunInTransaction<Page<Transaction>>(
      pool_, ReadOnly(), [&](Tx& tx) -> absl::StatusOr<Page<Transaction>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                               tx.Exec("billing_transaction_list", std::string(account_id),
                                       CursorMicros(after), CursorId(after), limit + 1));
        return ToPage<Transaction>(rows, limit, ReadTransaction, [](const Transaction& t) {
          return Cursor{absl::ToUnixMicros(t.create_time), t.id};
        });
      });
}

}  // namespace suite::billing
