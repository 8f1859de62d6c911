#include "tests/load/pacer.h"

#include <cmath>

namespace loadgen {

absl::Time Pacer::Due(int64_t index) const {
  return start_ + absl::Nanoseconds(static_cast<int64_t>(std::llround(index * 1e9 / rate_)));
}

int64_t Pacer::DueBy(absl::Time now) const {
  if (now < start_) return 0;
  // Call i is due at i/rate, so calls 0..floor(elapsed·rate) are due.
  return static_cast<int64_t>(std::floor(absl::ToDoubleSeconds(now - start_) * rate_)) + 1;
}

}  // namespace loadgen
