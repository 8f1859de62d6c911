#include "shared/base/request_deadline.h"

#include <utility>

namespace suite {
namespace {

thread_local const ScopedRequestDeadline* current_scope = nullptr;

}  // namespace

absl::Time CurrentRequestDeadline() {
  return current_scope != nullptr ? current_scope->deadline() : absl::InfiniteFuture();
}

bool CurrentRequestAbandoned() { return current_scope != nullptr && current_scope->Abandoned(); }

const ScopedRequestDeadline* CurrentRequestScope() { return current_scope; }

ScopedRequestDeadline::ScopedRequestDeadline(absl::Time deadline)
    : ScopedRequestDeadline(deadline, &ScopedRequestDeadline::NeverAbandoned) {}

ScopedRequestDeadline::ScopedRequestDeadline(absl::Time deadline,
                                             std::function<bool()> abandoned)
    : deadline_(deadline), abandoned_(std::move(abandoned)), previous_(current_scope) {
  current_scope = this;
}

ScopedRequestDeadline::~ScopedRequestDeadline() { current_scope = previous_; }

}  // namespace suite
