#include "shared/rpc/call_interceptor.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "shared/rpc/json_log.h"
#include "shared/rpc/request_context.h"

namespace suite::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kHealthMethodPrefix = "/grpc.health.v1.Health/";

bool IsServerFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::DATA_LOSS || code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::UNIMPLEMENTED;
}

class CallInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method() != nullptr ? info->method() : ""),
        context_(info->server_context()),
        start_(absl::Now()) {}

  ~CallInterceptor() override {
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
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
      end_ = absl::Now();
    }
    methods->Proceed();
  }

 private:
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
        {"latency_ms", absl::ToDoubleMilliseconds(end - start_)},
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
  const absl::Time start_;
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
