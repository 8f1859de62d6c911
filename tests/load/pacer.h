// Open-loop pacing for fixed-rate runs: the i-th call is due at start + i / rate, whatever
// happened to earlier calls, so a slow server cannot slow the offered load down (latency is
// measured from the due time, which avoids coordinated omission).
//
//   loadgen::Pacer pacer(start, 500.0);        // 500 calls per second
//   absl::Time due = pacer.Due(i);
//   int64_t n = pacer.DueBy(absl::Now());      // calls that should have started by now
//
// Immutable after construction; thread-safe.
#ifndef SUITE_TESTS_LOAD_PACER_H_
#define SUITE_TESTS_LOAD_PACER_H_

#include <cstdint>

#include "absl/time/time.h"

namespace loadgen {

class Pacer {
 public:
  // `rate` calls per second, > 0.
  Pacer(absl::Time start, double rate) : start_(start), rate_(rate) {}

  // Due returns when call `index` (0-based) should start.
  absl::Time Due(int64_t index) const;
  // DueBy returns how many calls should have started by `now` (0 before start).
  int64_t DueBy(absl::Time now) const;

 private:
  absl::Time start_;
  double rate_;
};

}  // namespace loadgen

#endif  // SUITE_TESTS_LOAD_PACER_H_
