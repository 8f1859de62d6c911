#include "shared/api/enum_field.h"

#include "absl/strings/str_cat.h"
#include "shared/api/status.h"

namespace suite::api {

absl::Status CheckEnumField(absl::string_view field, int number, bool known, bool required) {
  if (number == 0) {
    return required ? InvalidArgument(field, "is required") : absl::OkStatus();
  }
  if (known) return absl::OkStatus();
  return InvalidArgument(field, absl::StrCat("unknown value ", number));
}

}  // namespace suite::api
