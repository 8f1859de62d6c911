#include "shared/rpc/server/call_interceptor.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "shared/base/json_log.h"
#include "shared/metrics/metrics.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kHealthMethodPrefix = "/grpc.health.v1.Health/";

// The RPC metrics of metrics::Registry::Default(), registered once per process.
struct RpcMetrics {
  metrics::CounterFamily* handled = nullptr;    // by service, method, code
  metrics::HistogramFamily* handling = nullptr;  // by service, method
};

const RpcMetrics& Metrics() {
  static const RpcMetrics* rpc_metrics = [] {
    auto* m = new RpcMetrics();
    metrics::Registry& registry = metrics::Registry::Default();
    absl::StatusOr<metrics::CounterFamily*> handled = registry.AddCounter(
        "grpc_server_handled_total", "RPCs completed on the server, by status code.",
        {"grpc_service", "grpc_method", "grpc_code"});
    absl::StatusOr<metrics::HistogramFamily*> handling = registry.AddHistogram(
        "grpc_server_handling_seconds", "Time from receiving an RPC to sending its status.",
        {"grpc_service", "grpc_method"});
    // Only fails if something else took these names with another shape; then no RPC metrics
    // rather than no service.
    if (handled.ok()) m->handled = *handled;
    if (handling.ok()) m->handling = *handling;
    return m;
  }();
  return *rpc_metrics;
}

// "/identity.v1.IdentityService/GetUser" → {"identity.v1.IdentityService", "GetUser"}.
std::pair<std::string, std::string> SplitMethod(absl::string_view full) {
  absl::string_view path = absl::StripPrefix(full, "/");
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return {"", std::string(path)};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

// UNIMPLEMENTED is the caller asking for a method this server lacks (grpcurl and buf curl try
// reflection v1 before the v1alpha that gRPC 1.51 serves): not a fault of ours.
bool IsServerFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::DATA_LOSS || code == grpc::StatusCode::UNAVAILABLE;
}

class CallInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method() != nullptr ? info->method() : ""),
        context_(info->server_context()),
        unary_(info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY),
        start_(absl::Now()) {}

  ~CallInterceptor() override {
    Record();
    if (record_ == nullptr) return;
    internal::UnregisterCall(context_, record_.get());
    Log();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      record_ = std::make_shared<internal::CallRecord>(
          internal::RequestIdFromMetadata(*methods->GetRecvInitialMetadata()));
      internal::RegisterCall(context_, record_);
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA) &&
        record_ != nullptr) {
      auto* metadata = methods->GetSendInitialMetadata();
      if (metadata->find(std::string(kRequestIdMetadata)) == metadata->end()) {
        metadata->emplace(std::string(kRequestIdMetadata), record_->request_id);
      }
    }
    // A unary request that does not parse (e.g. invalid UTF-8 in a proto3 string) never
    // reaches the handler: gRPC answers UNIMPLEMENTED (callback API) or INTERNAL (sync API),
    // both with an empty message, which blames the server. It is the caller's bad input.
    if (unary_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      request_unparseable_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (request_unparseable_ && status.error_message().empty() &&
          (status.error_code() == grpc::StatusCode::UNIMPLEMENTED ||
           status.error_code() == grpc::StatusCode::INTERNAL)) {
        status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "the request message could not be parsed (proto3 string fields "
                              "must be valid UTF-8)");
        methods->ModifySendStatus(status);
      }
      code_ = status.error_code();
      end_ = absl::Now();
    }
    methods->Proceed();
  }

 private:
  // Record counts the call and its latency in the process's metrics; health checks included,
  // so probe traffic is visible too.
  void Record() {
    const RpcMetrics& m = Metrics();
    grpc::StatusCode code = code_.value_or(grpc::StatusCode::CANCELLED);
    auto [service, method] = SplitMethod(method_);
    if (m.handled != nullptr) {
      m.handled
          ->WithLabels({service, method,
                        absl::StatusCodeToString(static_cast<absl::StatusCode>(code))})
          .Increment();
    }
    if (m.handling != nullptr) {
      m.handling->WithLabels({service, method})
          .Observe(absl::ToDoubleSeconds(end_.value_or(absl::Now()) - start_));
    }
  }

  void Log() {
    // No status sent means the call was cancelled (client gone, deadline, server shutdown).
    grpc::StatusCode code = code_.value_or(grpc::StatusCode::CANCELLED);
    if (code == grpc::StatusCode::OK && absl::StartsWith(method_, kHealthMethodPrefix)) return;
    absl::Time end = end_.value_or(absl::Now());
    nlohmann::json line = {
        {"severity", IsServerFault(code) ? "ERROR" : "INFO"},
        {"event", "rpc"},
        {"method", method_},
        {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))},
        {"latency_ms", LogMilliseconds(end - start_)},
        {"request_id", record_->request_id},
    };
    {
      absl::MutexLock lock(&record_->mu);
      if (!record_->caller_id.empty()) line["caller_id"] = record_->caller_id;
    }
    WriteLogLine(std::move(line));
  }

  const std::string method_;
  const grpc::ServerContextBase* const context_;
  const bool unary_;
  const absl::Time start_;
  bool request_unparseable_ = false;
  std::shared_ptr<internal::CallRecord> record_;
  absl::optional<grpc::StatusCode> code_;
  absl::optional<absl::Time> end_;
};

}  // namespace

grpc::experimental::Interceptor* CallInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallInterceptor(info);
}

}  // namespace suite::rpc
