// The one conversion between absl::Time and google.protobuf.Timestamp for every service's
// proto <-> domain code.
//
//   suite::api::SetTimestamp(user.created_at, out->mutable_create_time());
//   absl::Time start = suite::api::TimeFromTimestamp(request.start_time());
//
// Thread-safe: pure functions.
#ifndef SUITE_SHARED_API_TIMESTAMP_H_
#define SUITE_SHARED_API_TIMESTAMP_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace suite::api {

// SetTimestamp writes `t` to `out` at microsecond precision (what PostgreSQL keeps, so a
// value read back compares equal), rounding down: a time before 1970 gets negative seconds
// and nanos in [0, 1e9), as Timestamp requires.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);

// TimeFromTimestamp returns the time `ts` names, to the nanosecond.
absl::Time TimeFromTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace suite::api

#endif  // SUITE_SHARED_API_TIMESTAMP_H_
