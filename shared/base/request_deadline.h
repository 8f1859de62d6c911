// The deadline of the request the calling thread is working on, for code far below the RPC
// layer that must not outlive its caller's patience: a database transaction started for a
// call whose client gives up in 300 ms shortens its statement timeout to fit, and does not
// commit once the deadline has passed (the client was already told DEADLINE_EXCEEDED).
//
//   {
//     suite::ScopedRequestDeadline scope(absl::Now() + absl::Milliseconds(300));
//     ... suite::CurrentRequestDeadline() ...  // that time, on this thread
//   }                                          // the previous one again
//
// Per thread: a scope applies to the thread that made it and restores the previous deadline
// when it ends. Handlers get one from //shared/rpc:blocking_executor's RunBlocking.
#ifndef SUITE_SHARED_BASE_REQUEST_DEADLINE_H_
#define SUITE_SHARED_BASE_REQUEST_DEADLINE_H_

#include "absl/time/time.h"

namespace suite {

// CurrentRequestDeadline is the innermost live scope's deadline on this thread;
// absl::InfiniteFuture() outside any scope.
absl::Time CurrentRequestDeadline();

class ScopedRequestDeadline {
 public:
  explicit ScopedRequestDeadline(absl::Time deadline);
  ~ScopedRequestDeadline();
  ScopedRequestDeadline(const ScopedRequestDeadline&) = delete;
  ScopedRequestDeadline& operator=(const ScopedRequestDeadline&) = delete;

 private:
  const absl::Time previous_;
};

}  // namespace suite

#endif  // SUITE_SHARED_BASE_REQUEST_DEADLINE_H_
