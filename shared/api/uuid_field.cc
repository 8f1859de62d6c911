#include "shared/api/uuid_field.h"

#include "shared/api/status.h"
#include "shared/base/uuid.h"

namespace suite::api {

absl::Status RequireUuid(absl::string_view field, absl::string_view value) {
  if (value.empty()) return InvalidArgument(field, "is required");
  if (!suite::IsUuid(value)) return InvalidArgument(field, "must be a UUID");
  return absl::OkStatus();
}

}  // namespace suite::api
