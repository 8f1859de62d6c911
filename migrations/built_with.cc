#include "migrations/built_with.h"

#include <algorithm>
#include <tuple>

namespace suite::migrations {

std::vector<suite::db::migrate::KnownMigration> BuiltWith(const std::vector<std::string>& owners) {
  static const auto* const kAll = new std::vector<suite::db::migrate::KnownMigration>{
#include "migrations/built_with.inc"
  };
  std::vector<suite::db::migrate::KnownMigration> out;
  for (const auto& m : *kAll) {
    if (std::find(owners.begin(), owners.end(), m.owner) != owners.end()) out.push_back(m);
  }
  // Core first: every other owner's files depend on it.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.owner != "core", a.owner, a.version) <
           std::make_tuple(b.owner != "core", b.owner, b.version);
  });
  return out;
}

}  // namespace suite::migrations
