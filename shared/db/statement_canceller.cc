#include "shared/db/statement_canceller.h"

#include <algorithm>
#include <exception>

namespace suite::db {

StatementCanceller& StatementCanceller::Global() {
  static StatementCanceller* const canceller = new StatementCanceller();  // never destroyed
  return *canceller;
}

StatementCanceller::~StatementCanceller() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t StatementCanceller::Add(pqxx::connection_base& connection, absl::Time deadline,
                                 const ScopedRequestDeadline* request) {
  absl::MutexLock lock(&mu_);
  if (!started_) {
    started_ = true;
    thread_ = std::thread([this] { Loop(); });
  }
  const uint64_t id = next_id_++;
  watched_.emplace(id, Watched{deadline, &connection, request});
  return id;
}

bool StatementCanceller::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);  // a cancel under way holds mu_: this waits for it
  auto it = watched_.find(id);
  if (it == watched_.end()) return false;
  const bool cancelled = it->second.cancelled;
  watched_.erase(it);
  return cancelled;
}

void StatementCanceller::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    absl::Time next = now + kGranularity;
    for (auto& [id, w] : watched_) {
      if (w.cancelled) continue;
      if (w.deadline <= now || (w.request != nullptr && w.request->Abandoned())) {
        // Under mu_, so Remove (and the connection's owner) waits until this is done.
        try {
          w.connection->cancel_query();
        } catch (const std::exception&) {
          // The statement then runs to its own statement timeout; nothing else to do.
        }
        w.cancelled = true;
      } else {
        next = std::min(next, w.deadline);
      }
    }
    mu_.AwaitWithDeadline(absl::Condition(&stopping_), next);
  }
}

StatementCanceller::Watch::Watch(StatementCanceller& canceller, pqxx::connection_base& connection,
                                 absl::Time deadline, const ScopedRequestDeadline* request)
    : canceller_(canceller) {
  if (deadline != absl::InfiniteFuture() || request != nullptr) {
    id_ = canceller_.Add(connection, deadline, request);
  }
}

StatementCanceller::Watch::~Watch() { Cancelled(); }

bool StatementCanceller::Watch::Cancelled() {
  if (id_ != 0) {
    cancelled_ = canceller_.Remove(id_);
    id_ = 0;
  }
  return cancelled_;
}

}  // namespace suite::db
