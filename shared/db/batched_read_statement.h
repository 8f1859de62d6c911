// Statements that read many keys at once, for ReadBatcher: one prepared statement per batch
// size, so that PostgreSQL keeps one generic plan for each.
//
// Why not one statement over an array parameter (`WHERE key = ANY($1::text[])`)? PostgreSQL
// estimates an array's length when it plans for the actual value (a custom plan) but assumes
// ten elements in the generic plan, so the custom plan always looks cheaper and the statement
// is planned anew on every execution. Measured on ValidateSession in batches of ~3.4: 72 µs of
// PostgreSQL CPU per call that way, 32 µs with a generic plan. With a
// fixed number of key parameters the two estimates agree and the generic plan is kept.
//
// A statement is registered for 1, 2, 4, ... keys up to the batch limit; a batch runs the
// smallest that fits and repeats its last key to fill it, so the SQL must tolerate a key
// twice (a point read returns the same row twice; ReadBatcher's map keeps one):
//
//   SUITE_RETURN_IF_ERROR(RegisterBatchedRead(
//       pool, "sessions_by_hash", "text", "k", "hash", [](absl::string_view keys) {
//         return absl::StrCat("SELECT s.user_id, k.hash FROM ", keys,
//                             " JOIN sessions s ON s.hash = k.hash");
//       }));
//   ... ExecBatched(tx, "sessions_by_hash", hashes) ...
//
// The one-key statement has the base name itself, so it reads like (and is logged as) the
// statement a single call would run.
#ifndef SUITE_SHARED_DB_BATCHED_READ_STATEMENT_H_
#define SUITE_SHARED_DB_BATCHED_READ_STATEMENT_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pqxx/result"
#include "shared/db/pool.h"
#include "shared/db/read_batcher.h"
#include "shared/db/transaction.h"

namespace suite::db {

// BatchSizes is 1, 2, 4, ... while below max_batch, then max_batch itself.
std::vector<int> BatchSizes(int max_batch);

// BatchedStatementName is `base` for one key and `base`_xN for N keys.
std::string BatchedStatementName(absl::string_view base, int keys);

// KeyRows is a row source `table`(`column`) of `keys` keys bound to $1..$keys, cast to `type`:
// KeyRows(2, "uuid", "k", "id") is "(VALUES ($1::uuid), ($2::uuid)) AS k(id)". One key is a
// one-row SELECT, "(SELECT $1::uuid AS id) AS k", which PostgreSQL pulls up into the query, so
// the one-key statement plans exactly as `... = $1` would (a VALUES list stays a scan node: 3-7%
// slower in pgbench for ValidateSession's lookup).
std::string KeyRows(int keys, absl::string_view type, absl::string_view table,
                    absl::string_view column);

// RegisterBatchedRead registers `base` with `pool` for each of BatchSizes(max_batch): the SQL
// for n keys is sql_for(KeyRows(n, key_type, key_table, key_column)). max_batch defaults to
// ReadBatcher's. The pool's registration errors.
absl::Status RegisterBatchedRead(ConnectionPool& pool, absl::string_view base,
                                 absl::string_view key_type, absl::string_view key_table,
                                 absl::string_view key_column,
                                 const std::function<std::string(absl::string_view keys)>& sql_for,
                                 int max_batch = kDefaultReadBatch);

// ExecBatched runs the statement registered for the smallest of BatchSizes(max_batch) that
// holds `keys` (1 to max_batch of them; INVALID_ARGUMENT otherwise), padded with the last key.
// Exec's errors otherwise.
absl::StatusOr<pqxx::result> ExecBatched(Transaction& tx, absl::string_view base,
                                         const std::vector<std::string>& keys,
                                         int max_batch = kDefaultReadBatch);

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_BATCHED_READ_STATEMENT_H_
