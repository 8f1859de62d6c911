#include "migrations/schemas.h"

#include "migrations/billing/schema.h"
#include "migrations/core/schema.h"
#include "migrations/identity/schema.h"
#include "migrations/questions/schema.h"

namespace suite::migrations {

std::vector<suite::db::schema::OwnerSchema> AllSchemas() {
  return {
      CoreSchema(),
      BillingSchema(),
      IdentitySchema(),
      QuestionsSchema(),
  };
}

}  // namespace suite::migrations
