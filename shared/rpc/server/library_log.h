// Routing the log output of the libraries a server links (protobuf, gRPC, abseil) into the
// suite's JSON log (json_log.h), so that every line a service writes is one JSON object. Left
// alone, each library writes its own plain-text format to stderr — protobuf's
// "[libprotobuf ERROR ...] String field ... contains invalid UTF-8 data" for a request with
// bad bytes in a string field, gRPC's "E1206 ... chttp2_transport.cc:...]" — and a collector
// that parses one JSON object per line drops or mangles those lines.
//
//   int main(int argc, char** argv) {
//     suite::rpc::SetServingProcessDefaults();   // calls RouteLibraryLogsToJsonLog()
//
// A routed line: {"event":"library_log","library":"protobuf","severity":"ERROR",
// "file":"google/protobuf/wire_format_lite.cc","line":581,"message":"String field ...","time":...}
//
// Not routed: abseil's ABSL_RAW_LOG, which may run where nothing may allocate or lock (a
// deadlock report, a crash); its hooks cannot build a JSON line. Serving processes turn the
// deadlock detector that is its main user off (SetServingProcessDefaults).
#ifndef SUITE_SHARED_RPC_SERVER_LIBRARY_LOG_H_
#define SUITE_SHARED_RPC_SERVER_LIBRARY_LOG_H_

namespace suite::rpc {

// RouteLibraryLogsToJsonLog installs protobuf's log handler (google::protobuf::SetLogHandler),
// gRPC's log function (gpr_set_log_function) and abseil's internal log function, each writing
// through WriteLogLine. Call it at the top of main(), before any library logs; later calls do
// nothing. The libraries' own thresholds still decide what is logged (GRPC_VERBOSITY, ERROR by
// default). Thread-safe.
void RouteLibraryLogsToJsonLog();

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_SERVER_LIBRARY_LOG_H_
