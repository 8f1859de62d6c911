// The blocking half of the suite's gRPC servers.
//
// The services are on gRPC's callback API, which runs a handler on one of
// gRPC's own event threads: a handler that blocks there (a database round trip,
// a downstream call, an argon2id hash) stalls every other call those threads
// carry. So each unary handler hands its blocking body to a BlockingExecutor, a
// fixed set of threads with one FIFO queue, and the body finishes the call from
// there. A fixed set bounds how many calls press on the connection pool at
// once, and FIFO order keeps waits fair, which the thread-per-call sync server
// did neither: past ~32 calls in flight its throughput fell and its waits for a
// pool connection went unfair. The hot point reads go further: their handlers
// (handler.h's RunHandlerAsync) queue the key from gRPC's thread, and one task
// here reads a whole batch and finishes all its calls (read_batcher.h).
//
//   class ThingService final : public things::v1::ThingService::CallbackService
//   {
//     grpc::ServerUnaryReactor* GetThing(grpc::CallbackServerContext* context,
//                                        const GetThingRequest* request,
//                                        GetThingResponse* response) override {
//       return suite::rpc::RunBlocking(context, executor_, [=]() ->
//       grpc::Status {
//         ... blocking work, filling *response ...
//       });
//     }
//     suite::rpc::BlockingExecutor executor_{"things", 16};
//   };
//
// A call still queued when its deadline passes or its client goes away is
// answered DEADLINE_EXCEEDED / CANCELLED without running the body: under
// overload the queue sheds work nobody waits for, instead of spending the
// database on it (no metastable collapse). While the body runs, the call's
// deadline and cancellation are the thread's request scope
// (//shared/base:request_deadline), so the body's database transactions
// neither outlast the deadline nor commit after it or after the call was
// cancelled (client gone, or the server's drain deadline reached).
#ifndef SUITE_SHARED_RPC_HANDLER_BLOCKING_EXECUTOR_H_
#define SUITE_SHARED_RPC_HANDLER_BLOCKING_EXECUTOR_H_

#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "shared/base/request_deadline.h"
#include "shared/rpc/handler/calls_in_flight.h"

namespace suite::rpc {

class BlockingExecutor {
 public:
  // Runs work on up to `max_threads` (at least 1) threads named `name` (the first 15 bytes, as
  // ps/perf show). Threads start only when queued work finds none idle, so an idle service
  // keeps no stacks it has not needed; once started, a thread stays.
  BlockingExecutor(std::string name, int max_threads);
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;
  // Runs everything already queued, then joins the threads. Destroy it after the server that
  // feeds it has stopped (a GrpcServer's Shutdown waits for every call to finish).
  ~BlockingExecutor();

  // Submit queues `work` to run on one of the threads, in FIFO order. Thread-safe.
  void Submit(std::function<void()> work);

  // queued is how many submitted items have not started yet. Thread-safe.
  size_t queued() const;

  // started_threads is how many threads run so far (never more than max_threads). Thread-safe.
  int started_threads() const;

  int max_threads() const { return max_threads_; }

 private:
  void Loop();

  const std::string name_;
  const int max_threads_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_threads_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// DeadlineOf is the call's deadline as an absl::Time; absl::InfiniteFuture()
// when the client set none.
absl::Time DeadlineOf(const grpc::ServerContextBase &context);

namespace internal {
// FinishIfAbandoned answers a call whose body has not run yet: CANCELLED when
// its client has gone, DEADLINE_EXCEEDED when its deadline passed while it was
// queued; false when it should run.
bool FinishIfAbandoned(grpc::CallbackServerContext *context, grpc::ServerUnaryReactor *reactor);
}  // namespace internal

// RunBlocking is the body of a callback unary handler: it runs `body` (a
// callable returning grpc::Status, capturing what it needs by value; request
// and response stay valid until the call finishes) on `executor` and finishes
// the call with its status. An exception escaping `body` becomes INTERNAL.
// The call holds a place in CallsInFlight::Process() until it is answered; when
// there is none, it is answered RESOURCE_EXHAUSTED at once (calls_in_flight.h).
// Returns the reactor gRPC expects from the handler.
template <typename Body>
grpc::ServerUnaryReactor *RunBlocking(grpc::CallbackServerContext *context,
                                      BlockingExecutor &executor, Body body) {
  grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
  CallsInFlight &in_flight = CallsInFlight::Process();
  if (!in_flight.AdmitOrFinish(reactor)) return reactor;
  executor.Submit([context, reactor, &in_flight, body = std::move(body)]() mutable {
    // Given back once the call is answered, on every path below.
    struct ReleaseOnExit {
      CallsInFlight &in_flight;
      ~ReleaseOnExit() { in_flight.Release(); }
    } release{in_flight};
    if (internal::FinishIfAbandoned(context, reactor)) return;
    auto cancelled = [context] { return context->IsCancelled(); };
    const ScopedRequestDeadline request(DeadlineOf(*context), cancelled);
    grpc::Status status;
    try {
      status = body();
    } catch (const std::exception &) {
      status = grpc::Status(grpc::StatusCode::INTERNAL, "unexpected exception");
    } catch (...) {
      status = grpc::Status(grpc::StatusCode::INTERNAL, "unexpected exception");
    }
    reactor->Finish(status);
  });
  return reactor;
}

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_HANDLER_BLOCKING_EXECUTOR_H_
