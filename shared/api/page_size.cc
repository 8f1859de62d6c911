#include "shared/api/page_size.h"

#include <algorithm>

#include "shared/api/status.h"

namespace suite::api {

absl::StatusOr<int> PageLimit(int page_size, int default_size, int max_size) {
  if (page_size < 0) return InvalidArgument("page_size", "must not be negative");
  if (page_size == 0) return default_size;
  return std::min(page_size, max_size);
}

}  // namespace suite::api
