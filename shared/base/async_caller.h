// What asynchronous work started for a request needs to know about it, once the handler that
// started it has returned: its deadline, whether its caller is gone, and where work that may
// block (a database statement, a write) can run.
//
// The RPC layer makes one per call (//shared/rpc/handler:handler's RunHandlerAsync) and the domain and
// repository pass it down to the asynchronous read (//shared/db:read_batcher's ReadAsync),
// which runs the read on `run_blocking` and calls back under a request scope
// (request_deadline.h) built from `deadline` and `abandoned`, as RunBlocking does for a
// blocking handler.
#ifndef SUITE_SHARED_BASE_ASYNC_CALLER_H_
#define SUITE_SHARED_BASE_ASYNC_CALLER_H_

#include <functional>

#include "absl/time/time.h"

namespace suite {

struct AsyncCaller {
  // When the caller stops waiting (absl::InfiniteFuture() for never).
  absl::Time deadline = absl::InfiniteFuture();
  // Whether the caller is gone (client cancelled, server draining); cheap, callable from any
  // thread while the request lives. Empty means never.
  std::function<bool()> abandoned;
  // Runs a task on a thread where blocking is allowed (a BlockingExecutor's Submit). Required.
  std::function<void(std::function<void()>)> run_blocking;
};

}  // namespace suite

#endif  // SUITE_SHARED_BASE_ASYNC_CALLER_H_
