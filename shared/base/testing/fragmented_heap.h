// For tests of heap trimming: a heap left mostly free in a way glibc's malloc keeps resident
// (a burst's small blocks freed, one block allocated after them still held), and the
// process's resident size to see what trimming gave back.
#ifndef SUITE_SHARED_BASE_TESTING_FRAGMENTED_HEAP_H_
#define SUITE_SHARED_BASE_TESTING_FRAGMENTED_HEAP_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"

namespace suite::testing {

// ResidentBytes is the process's resident set size (VmRSS), from /proc/self/statm.
int64_t ResidentBytes();

// WaitForResidentAtMost reads ResidentBytes() every 10 ms until it is at most `bytes` or
// `timeout` has passed; returns the last reading (for a trim that happens on its own thread).
int64_t WaitForResidentAtMost(int64_t bytes, absl::Duration timeout);

// FragmentedHeap allocates `bytes` in 8 KiB blocks from a thread of its own (so in one of
// malloc's per-thread arenas, as gRPC's and the handlers' threads do), writes every page, then
// frees every block but a last one allocated after them, which keeps malloc from giving the
// freed space back by itself. Destroying it frees that last block.
class FragmentedHeap {
 public:
  explicit FragmentedHeap(int64_t bytes);
  FragmentedHeap(const FragmentedHeap&) = delete;
  FragmentedHeap& operator=(const FragmentedHeap&) = delete;
  ~FragmentedHeap();

 private:
  void* pinned_ = nullptr;
};

}  // namespace suite::testing

#endif  // SUITE_SHARED_BASE_TESTING_FRAGMENTED_HEAP_H_
