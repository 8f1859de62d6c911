#include "migrations/schemas.h"

#include "migrations/core/schema.h"

namespace suite::migrations {

std::vector<suite::db::schema::OwnerSchema> AllSchemas() {
  return {
      CoreSchema(),
  };
}

}  // namespace suite::migrations
