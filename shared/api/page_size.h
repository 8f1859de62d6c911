// How a List RPC turns the request's page_size into the number of rows to serve (AIP-158):
// 0 means the listing's default, anything above its maximum is served as the maximum, and a
// negative size is refused.
//
//   SUITE_ASSIGN_OR_RETURN(int limit, suite::api::PageLimit(request.page_size(), 20, 100));
//
// Thread-safe: a pure function.
#ifndef SUITE_SHARED_API_PAGE_SIZE_H_
#define SUITE_SHARED_API_PAGE_SIZE_H_

#include "absl/status/statusor.h"

namespace suite::api {

// PageLimit returns `default_size` for 0, min(page_size, max_size) otherwise; INVALID_ARGUMENT
// naming the field `page_size` when it is negative.
absl::StatusOr<int> PageLimit(int page_size, int default_size, int max_size);

}  // namespace suite::api

#endif  // SUITE_SHARED_API_PAGE_SIZE_H_
