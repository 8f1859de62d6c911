#include "tests/load/histogram.h"

#include <algorithm>
#include <cmath>

namespace loadgen {
namespace {

// Values below 2^kSubBits are their own bucket; above, each power of two is split into
// 2^(kSubBits-1) buckets.
constexpr int kSubBits = 7;
constexpr int kHalf = 1 << (kSubBits - 1);  // 64
constexpr int kBuckets = 64 * kHalf + 2 * kHalf;

}  // namespace

Histogram::Histogram() : buckets_(kBuckets, 0) {}

int Histogram::BucketOf(int64_t value) {
  const uint64_t v = value < 0 ? 0 : static_cast<uint64_t>(value);
  if (v < (uint64_t{1} << kSubBits)) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits + 1;
  return shift * kHalf + static_cast<int>(v >> shift);
}

int64_t Histogram::BucketUpper(int bucket) {
  if (bucket < (1 << kSubBits)) return bucket;
  const int shift = bucket / kHalf - 1;
  const int64_t sub = bucket - shift * kHalf;  // in [kHalf, 2 kHalf)
  return ((sub + 1) << shift) - 1;
}

void Histogram::Record(int64_t value) {
  if (value < 0) value = 0;
  ++buckets_[BucketOf(value)];
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  ++count_;
  sum_ += value;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  if (count_ == 0 || other.min_ < min_) min_ = other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

int64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::min(1.0, std::max(0.0, q));
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * count_)));
  int64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(BucketUpper(static_cast<int>(i)), max_);
  }
  return max_;
}

}  // namespace loadgen
