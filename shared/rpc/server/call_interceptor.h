// A server interceptor that gives every call its request id and logs one JSON line per RPC.
//
// When a call arrives it takes the client's `x-request-id` if it is a UUID, or makes a new one,
// registers it for RequestContext::FromServerContext, and adds it to the initial metadata sent
// back. When the call ends it writes
//
//   {"severity":"INFO","event":"rpc","method":"/identity.v1.IdentityService/GetUser",
//    "code":"NOT_FOUND","latency_ms":3.2,"request_id":"…","caller_id":"…","time":"…"}
//
// (caller_id only when a handler recorded one), and records the call in
// metrics::Registry::Default() (scraped at /metrics, see server.h):
//
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_code}   counter
//   grpc_server_handling_seconds{grpc_service,grpc_method}          histogram (5 ms .. 10 s)
//
// e.g. grpc_server_handled_total{grpc_service="identity.v1.IdentityService",
// grpc_method="GetUser",grpc_code="NOT_FOUND"}; a call that ended without a status (client
// gone, deadline, shutdown) counts as CANCELLED. Metadata values other than the request id are
// never logged. Successful health checks are counted but not logged: probes would drown
// everything else.
// The server of server.h installs it; install it yourself only on a hand-built grpc::Server:
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<suite::rpc::CallInterceptorFactory>());
//   builder.experimental().SetInterceptorCreators(std::move(f));
#ifndef SUITE_SHARED_RPC_SERVER_CALL_INTERCEPTOR_H_
#define SUITE_SHARED_RPC_SERVER_CALL_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

namespace suite::rpc {

// Thread-safe: gRPC calls CreateServerInterceptor concurrently.
class CallInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_SERVER_CALL_INTERCEPTOR_H_
