#include "migrations/core/schema.h"

namespace suite::migrations {

suite::db::schema::OwnerSchema CoreSchema() {
  suite::db::schema::OwnerSchema schema;
  schema.owner = "core";
  schema.extensions = {"pgcrypto"};
  schema.functions = {std::string(suite::db::schema::kSetUpdatedAtFunction)};
  return schema;
}

}  // namespace suite::migrations
