#include "shared/base/heap_trimmer.h"

#include <pthread.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace suite {

HeapTrimmer::HeapTrimmer(absl::Duration interval) : interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
  // Named for ps and perf, like the BlockingExecutor's threads.
  pthread_setname_np(thread_.native_handle(), "heap-trimmer");
}

HeapTrimmer::~HeapTrimmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

bool HeapTrimmer::TrimNow() {
#if defined(__GLIBC__)
  return malloc_trim(0) == 1;
#else
  return false;
#endif
}

void HeapTrimmer::Loop() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) {
    mu_.Unlock();
    TrimNow();
    mu_.Lock();
  }
}

}  // namespace suite
