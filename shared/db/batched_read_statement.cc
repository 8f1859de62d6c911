#include "shared/db/batched_read_statement.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pqxx/prepared_statement"

namespace suite::db {

std::vector<int> BatchSizes(int max_batch) {
  std::vector<int> sizes;
  for (int n = 1; n < max_batch; n *= 2) sizes.push_back(n);
  sizes.push_back(std::max(1, max_batch));
  return sizes;
}

std::string BatchedStatementName(absl::string_view base, int keys) {
  return keys == 1 ? std::string(base) : absl::StrCat(base, "_x", keys);
}

std::string KeyRows(int keys, absl::string_view type, absl::string_view table,
                    absl::string_view column) {
  if (keys == 1) return absl::StrCat("(SELECT $1::", type, " AS ", column, ") AS ", table);
  std::string rows = "(VALUES ";
  for (int i = 1; i <= keys; ++i) {
    absl::StrAppend(&rows, i > 1 ? ", " : "", "($", i, "::", type, ")");
  }
  absl::StrAppend(&rows, ") AS ", table, "(", column, ")");
  return rows;
}

absl::Status RegisterBatchedRead(ConnectionPool& pool, absl::string_view base,
                                 absl::string_view key_type, absl::string_view key_table,
                                 absl::string_view key_column,
                                 const std::function<std::string(absl::string_view keys)>& sql_for,
                                 int max_batch) {
  for (int n : BatchSizes(max_batch)) {
    absl::Status registered = pool.RegisterStatement(
        BatchedStatementName(base, n), sql_for(KeyRows(n, key_type, key_table, key_column)));
    if (!registered.ok()) return registered;
  }
  return absl::OkStatus();
}

absl::StatusOr<pqxx::result> ExecBatched(Transaction& tx, absl::string_view base,
                                         const std::vector<std::string>& keys,
                                         int max_batch) {
  if (keys.empty() || static_cast<int>(keys.size()) > max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat("a batched read of ", keys.size(), " keys (1 to ", max_batch, " allowed)"));
  }
  int size = 0;
  for (int n : BatchSizes(max_batch)) {
    if (n >= static_cast<int>(keys.size())) {
      size = n;
      break;
    }
  }
  std::vector<std::string> padded = keys;
  padded.resize(size, keys.back());
  return tx.Exec(BatchedStatementName(base, size), pqxx::prepare::make_dynamic_params(padded));
}

}  // namespace suite::db
