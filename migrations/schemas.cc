#include "migrations/schemas.h"

#include "migrations/billing/schema.h"
#include "migrations/core/schema.h"
#include "migrations/identity/schema.h"

namespace suite::migrations {

std::vector<suite::db::schema::OwnerSchema> AllSchemas() {
  return {
      CoreSchema(),
      BillingSchema(),
      IdentitySchema(),
  };
}

}  // namespace suite::migrations
