// The request the calling thread is working on, as far as code far below the RPC layer needs
// it: its deadline, and whether its caller is gone. A database transaction started for a call
// whose client gives up in 300 ms has its statement cancelled then, and none commits once the
// deadline has passed or the call was cancelled (the client was already told it failed).
//
//   {
//     suite::ScopedRequestDeadline scope(absl::Now() + absl::Milliseconds(300),
//                                        [&] { return context->IsCancelled(); });
//     ... suite::CurrentRequestDeadline() ...  // that time, on this thread
//     ... suite::CurrentRequestAbandoned() ... // the probe's answer
//   }                                          // the previous scope again
//
// Per thread: a scope applies to the thread that made it and restores the previous one when
// it ends. Handlers get one from //shared/rpc/handler:blocking_executor's RunBlocking.
#ifndef SUITE_SHARED_BASE_REQUEST_DEADLINE_H_
#define SUITE_SHARED_BASE_REQUEST_DEADLINE_H_

#include <functional>

#include "absl/time/time.h"

namespace suite {

// CurrentRequestDeadline is the innermost live scope's deadline on this thread;
// absl::InfiniteFuture() outside any scope.
absl::Time CurrentRequestDeadline();

// CurrentRequestAbandoned asks the innermost live scope's probe whether the caller is gone
// (false outside any scope, or for a scope without a probe).
bool CurrentRequestAbandoned();

class ScopedRequestDeadline;
// CurrentRequestScope is the innermost live scope on this thread (nullptr outside any), for
// work done on the request's behalf by another thread while the scope lives (see Abandoned).
const ScopedRequestDeadline* CurrentRequestScope();

class ScopedRequestDeadline {
 public:
  explicit ScopedRequestDeadline(absl::Time deadline);
  // `abandoned` must be cheap: it is asked before every commit. The scope keeps its own copy
  // (a lambda written in the call is fine), so what it captures must outlive the scope.
  ScopedRequestDeadline(absl::Time deadline, std::function<bool()> abandoned);
  ~ScopedRequestDeadline();
  ScopedRequestDeadline(const ScopedRequestDeadline&) = delete;
  ScopedRequestDeadline& operator=(const ScopedRequestDeadline&) = delete;

  absl::Time deadline() const { return deadline_; }
  // Abandoned asks the probe; callable from any thread while the scope lives (the probe must
  // allow that; RunBlocking's, ServerContext::IsCancelled on the callback API, does).
  bool Abandoned() const { return abandoned_ && abandoned_(); }

 private:
  static bool NeverAbandoned() { return false; }

  const absl::Time deadline_;
  const std::function<bool()> abandoned_;
  const ScopedRequestDeadline* const previous_;
};

}  // namespace suite

#endif  // SUITE_SHARED_BASE_REQUEST_DEADLINE_H_
