// A latency histogram for the load generator: log-linear buckets (exact below 128 ns, then 64
// buckets per power of two, so any recorded value is reported within 1.6 %), cheap to record
// into and to merge, with percentiles by rank.
//
//   loadgen::Histogram h;
//   h.Record(absl::ToInt64Nanoseconds(latency));
//   int64_t p99_ns = h.Percentile(0.99);
//
// Not thread-safe: give each thread its own and Merge them, or lock around Record.
#ifndef SUITE_TESTS_LOAD_HISTOGRAM_H_
#define SUITE_TESTS_LOAD_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace loadgen {

class Histogram {
 public:
  Histogram();

  // Record adds one value (nanoseconds; negative values count as 0).
  void Record(int64_t value);
  // Merge adds every value recorded in `other`.
  void Merge(const Histogram& other);

  int64_t count() const { return count_; }
  // min/max are exact; 0 when empty.
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  // Percentile returns the smallest bucket value v such that at least q·count values are <= v
  // (q in [0, 1], clamped), capped at max(); 0 when empty. Within 1.6 % of the true value.
  int64_t Percentile(double q) const;

  // The bucket a value lands in, and the largest value of a bucket (exposed for tests).
  static int BucketOf(int64_t value);
  static int64_t BucketUpper(int bucket);

 private:
  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace loadgen

#endif  // SUITE_TESTS_LOAD_HISTOGRAM_H_
