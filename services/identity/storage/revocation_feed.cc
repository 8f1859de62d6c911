#include "services/identity/storage/revocation_feed.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "shared/base/json_log.h"

namespace suite::identity {
namespace {

constexpr char kChannel[] = "identity_revocations";

struct Row {
  int64_t id = 0;
  uint64_t xact = 0;
  RevocationEvent event;
};

RevocationEvent::Kind KindOf(absl::string_view kind) {
  return kind == "session" ? RevocationEvent::Kind::kSession
         : kind == "user"  ? RevocationEvent::Kind::kUser
                           : RevocationEvent::Kind::kRoles;
}

// Parses a notification's payload "<id> <xact_id> <kind> <session_id or -> <user_id>"
// (identity.log_revocation); false for anything else.
bool ParsePayload(const std::string& payload, Row* row) {
  std::vector<std::string> parts = absl::StrSplit(payload, ' ');
  if (parts.size() != 5 || !absl::SimpleAtoi(parts[0], &row->id) ||
      !absl::SimpleAtoi(parts[1], &row->xact)) {
    return false;
  }
  if (parts[2] != "session" && parts[2] != "user" && parts[2] != "roles") return false;
  row->event.kind = KindOf(parts[2]);
  row->event.session_id = parts[3] == "-" ? "" : parts[3];
  row->event.user_id = parts[4];
  return row->event.kind != RevocationEvent::Kind::kSession || !row->event.session_id.empty();
}

// LISTENs on the channel while it lives; get_notifs() hands it what arrived, which it keeps
// for the feed's thread (the only one that calls get_notifs).
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override {
    Row row;
    if (ParsePayload(payload, &row)) {
      rows_.push_back(std::move(row));
    } else {
      unreadable_ = true;
    }
  }
  // What arrived since the last Take; *unreadable when a payload could not be used (the log
  // must then be read).
  bool HasPending() const { return unreadable_ || !rows_.empty(); }
  std::vector<Row> Take(bool* unreadable) {
    *unreadable = unreadable_;
    unreadable_ = false;
    return std::move(rows_);
  }

 private:
  std::vector<Row> rows_;
  bool unreadable_ = false;
};

// One consistent read: the snapshot's xmin and database time, and the log's rows at or above
// `fence` (in id order).
struct Read {
  uint64_t xmin = 0;
  int64_t now_micros = 0;
  std::vector<Row> rows;
};

Read ReadSince(pqxx::connection& conn, uint64_t fence) {
  // One statement, so one snapshot: pg_current_snapshot() is the statement's own, and the
  // rows returned are complete up to its xmin. The fence 0 reads no row (xids start at 3).
  pqxx::nontransaction tx(conn);
  const pqxx::result rows = tx.exec_params(
      "SELECT s.xmin, s.now_us, r.id, r.xact_id::text, r.kind, r.session_id::text, "
      "r.user_id::text "
      "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, "
      "(extract(epoch FROM now()) * 1000000)::bigint AS now_us) AS s "
      "LEFT JOIN identity.revocations AS r ON $2::boolean AND r.xact_id >= $1::text::xid8 "
      "ORDER BY r.id",
      std::to_string(fence), fence > 0);
  Read read;
  if (rows.empty() || !absl::SimpleAtoi(rows[0][0].c_str(), &read.xmin)) {
    throw std::runtime_error("unreadable snapshot xmin");
  }
  read.now_micros = rows[0][1].as<int64_t>();
  read.rows.reserve(rows.size());
  for (const pqxx::row& r : rows) {
    if (r[2].is_null()) continue;  // the LEFT JOIN's row when nothing matched
    Row row;
    row.id = r[2].as<int64_t>();
    absl::SimpleAtoi(r[3].c_str(), &row.xact);
    row.event.kind = KindOf(r[4].c_str());
    if (!r[5].is_null()) row.event.session_id = r[5].c_str();
    row.event.user_id = r[6].c_str();
    read.rows.push_back(std::move(row));
  }
  return read;
}

std::string Cursor(const Read& read) { return absl::StrCat(read.xmin, ":", read.now_micros); }

// Parses "<xmin>:<micros>"; false for anything else.
bool ParseCursor(const std::string& cursor, uint64_t* xmin, int64_t* micros) {
  std::vector<std::string> parts = absl::StrSplit(cursor, ':');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], xmin) && *xmin > 0 &&
         absl::SimpleAtoi(parts[1], micros);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgRevocationFeed>> PgRevocationFeed::Start(
    std::string database_url, RevocationFeedOptions options) {
  std::unique_ptr<PgRevocationFeed> feed(
      new PgRevocationFeed(std::move(database_url), options));
  if (pipe2(feed->wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("pipe2 failed, errno ", errno));
  }
  feed->thread_ = std::thread([f = feed.get()] { f->Run(); });
  return feed;
}

PgRevocationFeed::PgRevocationFeed(std::string database_url, RevocationFeedOptions options)
    : database_url_(std::move(database_url)), options_(options) {}

PgRevocationFeed::~PgRevocationFeed() {
  Stop();
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
}

void PgRevocationFeed::Wake() {
  char byte = 1;
  ssize_t ignored = write(wake_fds_[1], &byte, 1);
  (void)ignored;
}

void PgRevocationFeed::Subscribe(RevocationSink* sink, const std::string& resume_cursor) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && connected_) {
      pending_.emplace_back(sink, resume_cursor);
      Wake();
      return;
    }
    // Refused under the lock, so that the sink is never fed after it was told the end.
    sink->End(absl::UnavailableError(stopping_ ? "identity is draining"
                                               : "identity has lost its database"));
  }
}

void PgRevocationFeed::Unsubscribe(RevocationSink* sink) {
  absl::MutexLock lock(&mu_);
  live_.erase(std::remove(live_.begin(), live_.end(), sink), live_.end());
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [sink](const auto& p) { return p.first == sink; }),
                 pending_.end());
}

bool PgRevocationFeed::Connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

void PgRevocationFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      const absl::Status draining = absl::UnavailableError("identity is draining");
      for (RevocationSink* sink : live_) sink->End(draining);
      for (auto& [sink, cursor] : pending_) sink->End(draining);
      live_.clear();
      pending_.clear();
    }
  }
  Wake();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void PgRevocationFeed::Run() {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;
  uint64_t fence = 0;
  std::string cursor;  // of the last read of the log
  // Ids already sent with their xact_id: rows at or above the fence are read again.
  absl::flat_hash_map<int64_t, uint64_t> sent;
  absl::Time next_read = absl::InfinitePast();
  absl::Time next_prune = absl::InfinitePast();
  const auto wait = [this](int sock, absl::Duration timeout) {
    pollfd fds[2] = {{wake_fds_[0], POLLIN, 0}, {sock, POLLIN, 0}};
    const int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
    poll(fds, sock >= 0 ? 2 : 1, ms);
    char buf[64];
    while (read(wake_fds_[0], buf, sizeof(buf)) > 0) {
    }
  };
  const auto end_all = [this](const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (RevocationSink* sink : live_) sink->End(status);
    for (auto& entry : pending_) entry.first->End(status);
    live_.clear();
    pending_.clear();
  };

  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    if (conn == nullptr) {
      try {
        conn = std::make_unique<pqxx::connection>(database_url_);
        {
          pqxx::nontransaction setup(*conn);
          setup.exec("SET statement_timeout = '5s'");
        }
        receiver = std::make_unique<Receiver>(*conn, kChannel);  // LISTEN
        const Read start = ReadSince(*conn, 0);
        fence = start.xmin;
        cursor = Cursor(start);
        sent.clear();
        next_read = absl::Now() + options_.heartbeat_interval;
        absl::MutexLock lock(&mu_);
        connected_ = true;
        suite::WriteLogLine({{"severity", "INFO"}, {"event", "revocation_feed.connected"}});
      } catch (const std::exception& e) {
        receiver.reset();
        conn.reset();
        suite::WriteLogLine({{"severity", "WARNING"},
                                  {"event", "revocation_feed.connect_failed"},
                                  {"error", e.what()}});
        wait(-1, options_.reconnect_delay);
        continue;
      }
    }

    try {
      // New subscribers: what came after their cursor (or a reset), then they are live.
      std::vector<std::pair<RevocationSink*, std::string>> pending;
      {
        absl::MutexLock lock(&mu_);
        pending = pending_;
      }
      for (const auto& [sink, resume] : pending) {
        uint64_t xmin = 0;
        int64_t micros = 0;
        const bool resumable = ParseCursor(resume, &xmin, &micros);
        Read read = ReadSince(*conn, resumable ? xmin : 0);
        RevocationBatch batch;
        batch.synced = true;
        batch.cursor = Cursor(read);
        // Reset for no cursor, a garbled one, one older than the log keeps, and one no read of
        // this database can have given (ahead of now): resuming from those could skip events.
        batch.reset =
            !resumable || xmin > read.xmin ||
            micros < read.now_micros - absl::ToInt64Microseconds(options_.retention / 2) ||
            micros > read.now_micros + absl::ToInt64Microseconds(absl::Minutes(1));
        if (!batch.reset) {
          for (Row& row : read.rows) batch.events.push_back(std::move(row.event));
        }
        absl::MutexLock lock(&mu_);
        auto it = std::find(pending_.begin(), pending_.end(), std::make_pair(sink, resume));
        if (it == pending_.end()) continue;  // unsubscribed meanwhile
        pending_.erase(it);
        sink->Deliver(batch);
        live_.push_back(sink);
      }

      conn->get_notifs();
      if (!receiver->HasPending() && absl::Now() < next_read) {
        bool has_pending;
        {
          absl::MutexLock lock(&mu_);
          has_pending = !pending_.empty();
        }
        if (!has_pending) wait(conn->sock(), next_read - absl::Now());
        conn->get_notifs();
      }
      // Committed revocations named by their notifications go out at once, without a read.
      bool unreadable = false;
      std::vector<Row> notified = receiver->Take(&unreadable);
      if (!notified.empty()) {
        RevocationBatch batch;
        for (Row& row : notified) {
          if (row.xact < fence || !sent.emplace(row.id, row.xact).second) continue;
          batch.events.push_back(std::move(row.event));
        }
        if (!batch.events.empty()) {
          batch.cursor = cursor;  // still complete up to the last read's xmin
          absl::MutexLock lock(&mu_);
          for (RevocationSink* sink : live_) sink->Deliver(batch);
        }
      }
      // The log itself: at each heartbeat, and when a notification could not be used.
      if (unreadable || absl::Now() >= next_read) {
        Read read = ReadSince(*conn, fence);
        RevocationBatch batch;
        for (Row& row : read.rows) {
          if (!sent.emplace(row.id, row.xact).second) continue;
          batch.events.push_back(std::move(row.event));
        }
        fence = std::max(fence, read.xmin);
        cursor = Cursor(read);
        batch.cursor = cursor;
        // Rows below the fence are never read again.
        for (auto it = sent.begin(); it != sent.end();) {
          if (it->second < fence) {
            sent.erase(it++);
          } else {
            ++it;
          }
        }
        const bool heartbeat_due = absl::Now() >= next_read;
        if (!batch.events.empty() || heartbeat_due) {
          absl::MutexLock lock(&mu_);
          for (RevocationSink* sink : live_) sink->Deliver(batch);
        }
        if (heartbeat_due) next_read = absl::Now() + options_.heartbeat_interval;
      }

      if (absl::Now() >= next_prune) {
        pqxx::work tx(*conn);
        tx.exec_params(
            "DELETE FROM identity.revocations WHERE created_at < now() - $1::bigint * "
            "interval '1 microsecond'",
            absl::ToInt64Microseconds(options_.retention));
        tx.commit();
        next_prune = absl::Now() + options_.prune_interval;
      }
    } catch (const std::exception& e) {
      // Subscribers must not trust their caches while this replica cannot see the log.
      receiver.reset();
      conn.reset();
      suite::WriteLogLine({{"severity", "WARNING"},
                                {"event", "revocation_feed.disconnected"},
                                {"error", e.what()}});
      absl::MutexLock lock(&mu_);
      connected_ = false;
      end_all(absl::UnavailableError("identity lost its database"));
    }
  }
  absl::MutexLock lock(&mu_);
  connected_ = false;
  end_all(absl::UnavailableError("identity is draining"));
}

}  // namespace suite::identity
