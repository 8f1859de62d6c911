// Gives the memory a burst of work left free inside the heap back to the operating system, on
// a timer, so a serving process returns to its idle footprint between bursts.
//
// glibc's malloc returns to the OS only the free space at the top of each of its heaps. A
// burst (thousands of calls in flight, dozens of TLS connections at once) fills the heaps with
// small blocks that are all freed afterwards, but they are freed in no particular order, so
// the heaps stay resident although they are mostly free: identity kept 40 MiB resident after
// such a burst, and 25 MiB once malloc_trim(0) had run. The next
// burst, or the next two argon2id buffers, then stacks on top of that. malloc_trim(0) hands
// every whole free page of every arena back (madvise); a HeapTrimmer calls it every
// `interval` from a thread of its own. A page given back costs a minor fault when malloc
// reuses it, so an interval of seconds keeps that cost to a few pages per call served.
//
//   suite::HeapTrimmer trimmer(absl::Seconds(10));   // lives as long as the server
//
// Without glibc (no malloc_trim) a HeapTrimmer does nothing.
#ifndef SUITE_SHARED_BASE_HEAP_TRIMMER_H_
#define SUITE_SHARED_BASE_HEAP_TRIMMER_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace suite {

class HeapTrimmer {
 public:
  // Starts the thread; the first trim happens one `interval` from now. `interval` must be
  // positive.
  explicit HeapTrimmer(absl::Duration interval);
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;
  // Stops the thread without waiting for the rest of its interval (a trim under way finishes).
  ~HeapTrimmer();

  // TrimNow gives every whole free page of the heap back now, from the calling thread.
  // Returns whether anything was given back. Thread-safe.
  static bool TrimNow();

 private:
  void Loop();

  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace suite

#endif  // SUITE_SHARED_BASE_HEAP_TRIMMER_H_
