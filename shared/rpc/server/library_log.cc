#include "shared/rpc/server/library_log.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <mutex>
#include <string>

#include "absl/base/internal/raw_logging.h"
#include "absl/base/log_severity.h"
#include "shared/base/json_log.h"

namespace suite::rpc {
namespace {

void Write(const char* library, const char* severity, const char* file, int line,
           const std::string& message) {
  WriteLogLine({{"severity", severity},
                {"event", "library_log"},
                {"library", library},
                {"file", file != nullptr ? file : ""},
                {"line", line},
                {"message", message}});
}

void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  const char* severity = "ERROR";
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      severity = "INFO";
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      severity = "WARNING";
      break;
    case google::protobuf::LOGLEVEL_ERROR:
      severity = "ERROR";
      break;
    case google::protobuf::LOGLEVEL_FATAL:
      severity = "CRITICAL";  // protobuf aborts right after the handler returns
      break;
  }
  Write("protobuf", severity, file, line, message);
}

void GrpcLog(gpr_log_func_args* args) {
  const char* severity = "ERROR";
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      severity = "DEBUG";
      break;
    case GPR_LOG_SEVERITY_INFO:
      severity = "INFO";
      break;
    case GPR_LOG_SEVERITY_ERROR:
      severity = "ERROR";
      break;
  }
  Write("grpc", severity, args->file, args->line,
        args->message != nullptr ? args->message : "");
}

void AbslLog(absl::LogSeverity level, const char* file, int line, const std::string& message) {
  const char* severity = "ERROR";
  switch (level) {
    case absl::LogSeverity::kInfo:
      severity = "INFO";
      break;
    case absl::LogSeverity::kWarning:
      severity = "WARNING";
      break;
    case absl::LogSeverity::kError:
      severity = "ERROR";
      break;
    case absl::LogSeverity::kFatal:
      severity = "CRITICAL";
      break;
  }
  Write("absl", severity, file, line, message);
}

}  // namespace

void RouteLibraryLogsToJsonLog() {
  static std::once_flag once;
  std::call_once(once, [] {
    google::protobuf::SetLogHandler(&ProtobufLog);
    gpr_set_log_function(&GrpcLog);
    absl::raw_logging_internal::RegisterInternalLogFunction(&AbslLog);
  });
}

}  // namespace suite::rpc
