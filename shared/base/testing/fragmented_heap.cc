#include "shared/base/testing/fragmented_heap.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/time/clock.h"

namespace suite::testing {

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * sysconf(_SC_PAGESIZE);
}

int64_t WaitForResidentAtMost(int64_t bytes, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  int64_t resident = ResidentBytes();
  while (resident > bytes && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
    resident = ResidentBytes();
  }
  return resident;
}

FragmentedHeap::FragmentedHeap(int64_t bytes) {
  constexpr size_t kBlock = 8 * 1024;
  std::thread([&] {
    std::vector<void*> blocks;
    for (int64_t made = 0; made < bytes; made += kBlock) {
      void* block = std::malloc(kBlock);
      std::memset(block, 0x5a, kBlock);
      blocks.push_back(block);
    }
    pinned_ = std::malloc(kBlock);
    std::memset(pinned_, 0x5a, kBlock);
    for (void* block : blocks) std::free(block);
  }).join();
}

FragmentedHeap::~FragmentedHeap() { std::free(pinned_); }

}  // namespace suite::testing
