#include "shared/db/audit/audit_log.h"

#include "absl/strings/str_cat.h"
#include "shared/base/audit_actor.h"
#include "shared/base/status_macros.h"

namespace suite::db::audit {
namespace {

std::string Name(absl::string_view schema, absl::string_view what) {
  return absl::StrCat(schema, "_audit_", what);
}

constexpr char kColumns[] =
    "seq, (extract(epoch FROM occurred_at) * 1000000)::bigint, coalesce(actor_id::text, ''), "
    "action, target_type, target_id, coalesce(request_id::text, ''), outcome, "
    "coalesce(before::text, ''), coalesce(after::text, ''), hash, prev_hash";

AuditEvent EventOf(const pqxx::row& r) {
  AuditEvent e;
  e.seq = r[0].as<int64_t>();
  e.occurred_at = absl::FromUnixMicros(r[1].as<int64_t>());
  e.actor_id = r[2].as<std::string>();
  e.action = r[3].as<std::string>();
  e.target_type = r[4].as<std::string>();
  e.target_id = r[5].as<std::string>();
  e.request_id = r[6].as<std::string>();
  e.outcome = r[7].as<std::string>();
  e.before_json = r[8].as<std::string>();
  e.after_json = r[9].as<std::string>();
  e.hash = r[10].as<std::string>();
  return e;
}

std::string JsonOrEmpty(const nlohmann::json& j) { return j.is_null() ? "" : j.dump(); }

int64_t MicrosOr(absl::Time t, int64_t otherwise) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return otherwise;
  return absl::ToUnixMicros(t);
}

constexpr int kVerifyPage = 5000;

// The open ends of a time range: no row predates 1970 or follows the year 9999.
constexpr int64_t kYear10000Micros = 253402300800LL * 1000000;

}  // namespace

absl::Status RegisterAuditStatements(ConnectionPool& pool, absl::string_view schema) {
  const std::string log = absl::StrCat(schema, ".audit_log");
  const std::string head = absl::StrCat(schema, ".audit_chain_head");
  // One round trip: lock the head (FOR UPDATE re-reads it after a concurrent append commits),
  // insert the next row with its hash, move the head to it.
  SUITE_RETURN_IF_ERROR(pool.RegisterStatement(
      Name(schema, "append"),
      absl::StrCat(
          "WITH h AS (SELECT seq, hash FROM ", head, " WHERE id FOR UPDATE), "
          "e AS (SELECT h.seq + 1 AS seq, h.hash AS prev_hash, clock_timestamp() AS at, "
          "NULLIF($1, '')::uuid AS actor, NULLIF($5, '')::uuid AS request, "
          "NULLIF($6, '')::jsonb AS before, NULLIF($7, '')::jsonb AS after FROM h), "
          "i AS (INSERT INTO ", log,
          " (seq, occurred_at, actor_id, action, target_type, target_id, request_id, outcome, "
          "before, after, prev_hash, hash) SELECT e.seq, e.at, e.actor, $2, $3, $4, e.request, "
          "'succeeded', e.before, e.after, e.prev_hash, ",
          schema,
          ".audit_hash(e.prev_hash, e.seq, e.at, e.actor, $2, $3, $4, e.request, 'succeeded', "
          "e.before, e.after) FROM e RETURNING seq, hash) "
          "UPDATE ",
          head, " SET seq = i.seq, hash = i.hash FROM i WHERE ", head, ".id RETURNING i.seq")));
  SUITE_RETURN_IF_ERROR(pool.RegisterStatement(
      Name(schema, "list"),
      absl::StrCat("SELECT ", kColumns, " FROM ", log,
                   " WHERE ($1 = '' OR actor_id = NULLIF($1, '')::uuid) "
                   "AND ($2 = '' OR action = $2) AND ($3 = '' OR target_id = $3) "
                   "AND occurred_at >= (timestamptz 'epoch' + $4::bigint * interval '1 microsecond') "
                   "AND occurred_at < (timestamptz 'epoch' + $5::bigint * interval '1 microsecond') "
                   "AND ($6 = 0 OR seq < $6) ORDER BY seq DESC LIMIT $7"),
      Planning::kPerCall));
  SUITE_RETURN_IF_ERROR(pool.RegisterStatement(
      Name(schema, "verify_page"),
      absl::StrCat("SELECT ", kColumns, ", ", schema,
                   ".audit_hash(prev_hash, seq, occurred_at, actor_id, action, target_type, "
                   "target_id, request_id, outcome, before, after) FROM ",
                   log, " WHERE seq > $1 ORDER BY seq LIMIT $2")));
  return pool.RegisterStatement(Name(schema, "head"),
                                absl::StrCat("SELECT seq, hash FROM ", head, " WHERE id"));
}

absl::Status AppendAudit(Transaction& tx, absl::string_view schema, const AuditEntry& entry) {
  const AuditActor& actor = CurrentAuditActor();
  return tx
      .ExecOne(Name(schema, "append"), actor.actor_id, entry.action, entry.target_type,
               entry.target_id, actor.request_id, JsonOrEmpty(entry.before),
               JsonOrEmpty(entry.after))
      .status();
}

absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(ConnectionPool& pool,
                                                        absl::string_view schema,
                                                        const AuditFilter& filter,
                                                        int64_t before_seq, int limit) {
  using Result = std::vector<AuditEvent>;
  return RunInTransaction<Result>(
      pool, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<Result> {
        SUITE_ASSIGN_OR_RETURN(
            pqxx::result rows,
            tx.Exec(Name(schema, "list"), filter.actor_id, filter.action, filter.target_id,
                    MicrosOr(filter.since, 0), MicrosOr(filter.until, kYear10000Micros), before_seq,
                    limit));
        Result out;
        for (const auto& r : rows) out.push_back(EventOf(r));
        return out;
      });
}

absl::StatusOr<ChainReport> VerifyAuditChain(ConnectionPool& pool, absl::string_view schema) {
  ChainReport report;
  std::string previous_hash;
  int64_t previous_seq = 0;
  // Each page is its own read: rows are only ever appended after the last one or purged
  // before the first, so pages read at different moments still join up.
  while (!report.broken_seq) {
    SUITE_ASSIGN_OR_RETURN(
        pqxx::result rows,
        (RunInTransaction<pqxx::result>(pool, ReadOnly(), [&](Transaction& tx) {
          return tx.Exec(Name(schema, "verify_page"), previous_seq, kVerifyPage);
        })));
    for (const auto& r : rows) {
      const int64_t seq = r[0].as<int64_t>();
      const std::string hash = r[10].as<std::string>();
      const std::string prev_hash = r[11].as<std::string>();
      const std::string recomputed = r[12].as<std::string>();
      if (report.rows == 0) report.first_seq = seq;
      ++report.rows;
      if (hash != recomputed) {
        report.broken_seq = seq;
        report.problem = "its content does not match its hash (altered)";
      } else if (report.rows > 1 && seq != previous_seq + 1) {
        report.broken_seq = seq;
        report.problem = absl::StrCat("it follows seq ", previous_seq, ": rows ",
                                      previous_seq + 1, "..", seq - 1, " are missing");
      } else if (report.rows > 1 && prev_hash != previous_hash) {
        report.broken_seq = seq;
        report.problem = "it does not link to its predecessor's hash (predecessor replaced)";
      }
      if (report.broken_seq) break;
      previous_seq = seq;
      previous_hash = hash;
      report.last_seq = seq;
    }
    if (rows.size() < static_cast<size_t>(kVerifyPage)) break;
  }
  if (report.broken_seq) return report;
  SUITE_ASSIGN_OR_RETURN(pqxx::row head,
                         (RunInTransaction<pqxx::row>(pool, ReadOnly(), [&](Transaction& tx) {
                           return tx.ExecOne(Name(schema, "head"));
                         })));
  const int64_t head_seq = head[0].as<int64_t>();
  if (report.rows > 0 && (head_seq != report.last_seq || head[1].as<std::string>() != previous_hash)) {
    // Rows after the last one left were removed (or the head was moved).
    report.broken_seq = head_seq;
    report.problem = absl::StrCat("the chain head names seq ", head_seq,
                                  " but the last row is seq ", report.last_seq,
                                  " (newest rows removed)");
  }
  return report;
}

retention::PurgeRule AuditPurgeRule(absl::string_view schema, absl::Duration keep) {
  const std::string log = absl::StrCat(schema, ".audit_log");
  return {log, "delete", Name(schema, "retention"),
          absl::StrCat("DELETE FROM ", log, " WHERE ctid = ANY(ARRAY(SELECT ctid FROM ", log,
                       " WHERE occurred_at < ", retention::kCutoffSql,
                       " ORDER BY occurred_at LIMIT $2))"),
          keep,
          // The audit period: a year at the least, for investigations and compliance.
          absl::Hours(24 * 365)};
}

}  // namespace suite::db::audit
