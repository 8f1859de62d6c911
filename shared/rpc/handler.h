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
#ifndef SUITE_SHARED_RPC_HANDLER_H_
#define SUITE_SHARED_RPC_HANDLER_H_

#include <grpcpp/grpcpp.h>

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "shared/rpc/blocking_executor.h"
#include "shared/rpc/request_context.h"
#include "shared/rpc/status.h"

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

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_HANDLER_H_
