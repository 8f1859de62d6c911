#include "shared/base/request_deadline.h"

namespace suite {
namespace {

// absl::Time is trivially destructible, so a thread_local of it costs no registration.
thread_local absl::Time current_deadline = absl::InfiniteFuture();

}  // namespace

absl::Time CurrentRequestDeadline() { return current_deadline; }

ScopedRequestDeadline::ScopedRequestDeadline(absl::Time deadline)
    : previous_(current_deadline) {
  current_deadline = deadline;
}

ScopedRequestDeadline::~ScopedRequestDeadline() { current_deadline = previous_; }

}  // namespace suite
