// The shape of every unary handler in the suite: RunBlocking (blocking_executor.h) plus the
// request context, the exception guard and the one absl→grpc conversion (status.h), so each
// service writes only what its RPC does.
//
//   grpc::ServerUnaryReactor* GetThing(grpc::CallbackServerContext* context,
//                                      const GetThingRequest* request,
//                                      GetThingResponse* response) override {
//     return suite::rpc::RunHandler(context, executor_,
//                                   [=](const suite::rpc::RequestContext& rc) -> absl::Status {
//       SUITE_ASSIGN_OR_RETURN(Thing thing, things_->Get(request->thing_id()));
//       *response->mutable_thing() = ToProto(thing);
//       return absl::OkStatus();
//     });
//   }
//
// A read served by a batched asynchronous read (//shared/db:read_batcher's ReadAsync) takes
// no executor thread of its own: RunHandlerAsync starts it on gRPC's thread, and the batch's
// task completes it.
//
//   return suite::rpc::RunHandlerAsync(context, executor_,
//       [=](const suite::rpc::RequestContext& rc, const suite::AsyncCaller& caller,
//           suite::rpc::AsyncReply reply) {
//     things_->GetAsync(request->thing_id(), caller, [=](absl::StatusOr<Thing> thing) {
//       reply.Complete([&]() -> absl::Status {
//         SUITE_RETURN_IF_ERROR(thing.status());
//         *response->mutable_thing() = ToProto(*thing);
//         return absl::OkStatus();
//       });
//     });
//   });
#ifndef SUITE_SHARED_RPC_HANDLER_HANDLER_H_
#define SUITE_SHARED_RPC_HANDLER_HANDLER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/optional.h"
#include "shared/api/status.h"
#include "shared/base/async_caller.h"
#include "shared/base/request_deadline.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/calls_in_flight.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::rpc {

// RunHandler runs `body(request_context)` (returning absl::Status, capturing by value) on
// `executor`, turns an exception escaping it into INTERNAL, and finishes the call with
// ToGrpcStatus(status, request id). Returns the reactor gRPC expects from the handler.
template <typename Body>
grpc::ServerUnaryReactor* RunHandler(grpc::CallbackServerContext* context,
                                     BlockingExecutor& executor, Body body) {
  return RunBlocking(context, executor, [context, body = std::move(body)]() -> grpc::Status {
    const RequestContext rc = RequestContext::FromServerContext(*context);
    absl::Status status;
    try {
      status = body(rc);
    } catch (const std::exception& e) {
      // Logged by ToGrpcStatus; the client gets the scrubbed INTERNAL message.
      status = absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
    } catch (...) {
      status = absl::InternalError("unexpected exception");
    }
    return ToGrpcStatus(status, rc.request_id());
  });
}

// RunAuthenticated is RunHandler for a call that needs its caller, the idiom of every
// authenticated handler of the three services: `authenticate(request_context)` (returning
// absl::StatusOr<A>, where A is the service's domain view of a caller) runs first, on the
// executor, and a refusal ends the call with its status; otherwise `body(actor,
// request_context)` runs. Each service passes its own authenticate: identity checks the token
// against its own sessions, billing and questions ask identity (RequireCaller).
//
//   return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
//       [=](const Actor& actor, const suite::rpc::RequestContext& rc) -> absl::Status {
//     SUITE_ASSIGN_OR_RETURN(Thing thing, things_->Get(actor, request->thing_id()));
//     ...
//   });
template <typename Authenticate, typename Body>
grpc::ServerUnaryReactor* RunAuthenticated(grpc::CallbackServerContext* context,
                                           BlockingExecutor& executor, Authenticate authenticate,
                                           Body body) {
  return RunHandler(context, executor,
                    [authenticate = std::move(authenticate),
                     body = std::move(body)](const RequestContext& rc) -> absl::Status {
                      auto actor = authenticate(rc);
                      if (!actor.ok()) return actor.status();
                      return body(*actor, rc);
                    });
}

// How asynchronous work ends a call started by RunHandlerAsync; cheap to copy, thread-safe.
class AsyncReply {
 public:
  // `in_flight`, when given, holds a place the call took (TryAdmit), given back at the Finish.
  AsyncReply(grpc::ServerUnaryReactor* reactor, std::string request_id,
             CallsInFlight* in_flight = nullptr)
      : state_(std::make_shared<State>(reactor, std::move(request_id), in_flight)) {}

  // Complete runs `fill` (returning absl::Status; it fills the response) and finishes the
  // call with ToGrpcStatus(status, request id); an exception escaping `fill` becomes INTERNAL.
  // Only the first Complete or Finish of a call counts; later ones do nothing.
  template <typename Fill>
  void Complete(Fill fill) const {
    if (state_->finished.load(std::memory_order_acquire)) return;
    Guard([&] { Finish(fill()); });
  }

  // Guard runs `start` (which ends the call through this reply, at once or later) and finishes
  // the call with INTERNAL if an exception escapes it.
  template <typename Start>
  void Guard(Start start) const {
    try {
      start();
    } catch (const std::exception& e) {
      Finish(absl::InternalError(absl::StrCat("unexpected exception: ", e.what())));
    } catch (...) {
      Finish(absl::InternalError("unexpected exception"));
    }
  }

  void Finish(const absl::Status& status) const {
    if (state_->finished.exchange(true, std::memory_order_acq_rel)) return;
    state_->reactor->Finish(ToGrpcStatus(status, state_->request_id));
    if (state_->in_flight != nullptr) state_->in_flight->Release();
  }

 private:
  struct State {
    State(grpc::ServerUnaryReactor* r, std::string id, CallsInFlight* f)
        : reactor(r), request_id(std::move(id)), in_flight(f) {}
    grpc::ServerUnaryReactor* const reactor;
    const std::string request_id;
    CallsInFlight* const in_flight;
    std::atomic<bool> finished{false};
  };
  std::shared_ptr<State> state_;
};

// RunHandlerAsync is RunHandler for a handler whose only blocking work is an asynchronous read:
// `body(request_context, caller, reply)` runs at once on gRPC's thread and must not block (no
// database, no downstream call, no hashing); it starts the read with `caller` (whose
// run_blocking is `executor`), and the read's callback ends the call through `reply`. A body
// that fails before starting the read finishes through `reply` itself; an exception escaping
// it finishes the call with INTERNAL. As RunBlocking, the call holds a place in
// CallsInFlight::Process() until it is answered, or is answered RESOURCE_EXHAUSTED at once.
// Returns the reactor gRPC expects from the handler.
template <typename Body>
grpc::ServerUnaryReactor* RunHandlerAsync(grpc::CallbackServerContext* context,
                                          BlockingExecutor& executor, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const RequestContext rc = RequestContext::FromServerContext(*context);
  CallsInFlight& in_flight = CallsInFlight::Process();
  if (!in_flight.AdmitOrFinish(reactor)) return reactor;
  const AsyncReply reply(reactor, rc.request_id(), &in_flight);
  AsyncCaller caller;
  caller.deadline = DeadlineOf(*context);
  caller.abandoned = [context] { return context->IsCancelled(); };
  caller.run_blocking = [&executor](std::function<void()> task) {
    executor.Submit(std::move(task));
  };
  reply.Guard([&] { body(rc, caller, reply); });
  return reactor;
}

// RunAuthenticatedAsync is RunHandlerAsync for a call that needs its caller:
// `body(caller, request_context, async_caller, reply)` runs at once on gRPC's thread when
// `authenticator` knows the token's answer without blocking (RequireCallerIfCached), and
// otherwise on `executor` after RequireCaller (a round trip to identity). `body` must not
// block in either case. A call that fails authentication is finished with its status.
template <typename Body>
grpc::ServerUnaryReactor* RunAuthenticatedAsync(grpc::CallbackServerContext* context,
                                                BlockingExecutor& executor,
                                                CallerAuthenticator& authenticator, Body body) {
  return RunHandlerAsync(
      context, executor,
      [&authenticator, body = std::move(body)](const RequestContext& rc,
                                               const AsyncCaller& async_caller,
                                               const AsyncReply& reply) {
        absl::optional<absl::StatusOr<Caller>> known = RequireCallerIfCached(rc, authenticator);
        if (known.has_value()) {
          if (!known->ok()) return reply.Finish(known->status());
          return body(**known, rc, async_caller, reply);
        }
        async_caller.run_blocking([&authenticator, body, rc, async_caller, reply] {
          reply.Guard([&] {
            // As RunBlocking: a call its client has left, or whose deadline passed while it
            // waited for a thread, is answered without asking identity.
            const auto probe = [&] { return async_caller.abandoned && async_caller.abandoned(); };
            if (probe()) return reply.Finish(absl::CancelledError("the call was cancelled"));
            if (absl::Now() >= async_caller.deadline) {
              return reply.Finish(absl::DeadlineExceededError(
                  "the deadline passed before the call could be authenticated"));
            }
            const ScopedRequestDeadline scope(async_caller.deadline, probe);
            absl::StatusOr<Caller> caller = RequireCaller(rc, authenticator);
            if (!caller.ok()) return reply.Finish(caller.status());
            body(*caller, rc, async_caller, reply);
          });
        });
      });
}

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_HANDLER_HANDLER_H_
