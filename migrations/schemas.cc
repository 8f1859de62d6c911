#include "migrations/schemas.h"

#include "migrations/billing/schema.h"
#include "migrations/core/schema.h"

namespace suite::migrations {

std::vector<suite::db::schema::OwnerSchema> AllSchemas() {
  return {
      CoreSchema(),
      BillingSchema(),
  };
}

}  // namespace suite::migrations
