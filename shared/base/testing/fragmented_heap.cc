#include "shared/base/testing/fragmented_heap.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

namespace suite::testing {

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * sysconf(_SC_PAGESIZE);
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
