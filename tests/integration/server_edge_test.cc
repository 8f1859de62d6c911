// The three server binaries at their edge, run as operators run them (configured only by their
// environment, stdout and stderr captured together as a collector receives them):
//   - every listening socket (gRPC, metrics, plaintext health, billing's webhooks) is on
//     loopback when nothing says otherwise, on every interface with <PREFIX>_LISTEN_HOST=0.0.0.0,
//     and the start-up log names each bound address;
//   - a request with invalid UTF-8 in a string field, which makes protobuf log, is refused
//     INVALID_ARGUMENT and every line of the log is still one JSON object;
//   - server reflection describes google.rpc.Status, ErrorInfo and BadRequest, so a client can
//     decode the error details every service sends.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/support/sync_stream.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "billing/v1/billing_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "identity/v1/identity_service.pb.h"
#include "questions/v1/questions_service.pb.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"
#include "testing/v1/reflection_mirror.pb.h"

namespace {

using grpc::health::v1::HealthCheckResponse;
using suite::rpc::testing::FreeLoopbackPort;
using suite::rpc::testing::IsLoopback;
using suite::rpc::testing::ListeningSocket;
using suite::rpc::testing::ListeningSockets;
using suite::rpc::testing::SpawnServerLogging;
using suite::rpc::testing::WaitExit;
using suite::rpc::testing::WaitForHealth;
using ::testing::HasSubstr;

// One running server binary and what the test knows of it.
struct Server {
  std::string name;    // identity, billing, questions
  std::string prefix;  // IDENTITY, ...
  pid_t pid = -1;
  int grpc_port = 0;
  int metrics_port = 0;
  int health_port = 0;
  int webhook_port = 0;  // billing only
  std::string log;

  std::string address() const { return absl::StrCat("127.0.0.1:", grpc_port); }
  // The ports the process must listen on, and nothing else.
  std::set<int> ports() const {
    std::set<int> p = {grpc_port, metrics_port, health_port};
    if (webhook_port != 0) p.insert(webhook_port);
    return p;
  }
};

// Every line of `path`, each parsed; a line that is not one JSON object is reported in `bad`.
std::vector<nlohmann::json> ReadLog(const std::string& path, std::vector<std::string>* bad) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      bad->push_back(line);
      continue;
    }
    lines.push_back(std::move(j));
  }
  return lines;
}

// The first line of `log` whose "event" is `event`; null when none.
nlohmann::json EventLine(const std::string& log, const std::string& event) {
  std::vector<std::string> bad;
  for (nlohmann::json& j : ReadLog(log, &bad)) {
    if (j.value("event", "") == event) return j;
  }
  return nullptr;
}

class ServerEdgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = suite::db::testing::TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  void TearDown() override {
    for (Server& s : servers_) {
      if (s.pid <= 0) continue;
      kill(s.pid, SIGTERM);
      EXPECT_EQ(WaitExit(s.pid, absl::Seconds(30)), 0) << s.name;
    }
  }

  // Starts the three binaries, each with `extra` added to its environment (keys may contain
  // {P} for the service's prefix), and waits until each is SERVING.
  void StartAll(const std::map<std::string, std::string>& extra = {}) {
    for (const char* name : {"identity", "billing", "questions"}) {
      Server s;
      s.name = name;
      s.prefix = absl::AsciiStrToUpper(name);
      s.grpc_port = FreeLoopbackPort();
      s.metrics_port = FreeLoopbackPort();
      s.health_port = FreeLoopbackPort();
      if (s.name == "billing") s.webhook_port = FreeLoopbackPort();
      s.log = absl::StrCat(::testing::TempDir(), "/", name, "-", getpid(), "-",
                           servers_.size(), ".log");
      unlink(s.log.c_str());
      const std::string& P = s.prefix;
      std::map<std::string, std::string> env = {
          {"DATABASE_URL", db_->UrlAs(absl::StrCat(name, "_service"))},
          {P + "_GRPC_PORT", std::to_string(s.grpc_port)},
          {P + "_METRICS_PORT", std::to_string(s.metrics_port)},
          {P + "_HEALTH_PORT", std::to_string(s.health_port)},
          {P + "_GRPC_HEALTH_INTERVAL", "100ms"},
          {P + "_PAGE_TOKEN_SECRET", "0123456789abcdef0123456789abcdef"},
      };
      if (s.name == "identity") {
        env["IDENTITY_BOOTSTRAP_ADMIN_EMAIL"] = "root@example.com";
        env["IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"] = "the operator's secret";
      } else {
        env["IDENTITY_ADDR"] = servers_[0].address();
      }
      if (s.name == "billing") {
        env["BILLING_WEBHOOK_PORT"] = std::to_string(s.webhook_port);
        env["BILLING_STRIPE_WEBHOOK_SECRETS"] = "whsec_edge_test";
      }
      if (s.name == "questions") env["BILLING_ADDR"] = servers_[1].address();
      for (const auto& [key, value] : extra) {
        std::string k = key;
        if (absl::StartsWith(k, "{P}")) k = P + k.substr(3);
        env[k] = value;
      }
      s.pid = SpawnServerLogging(absl::StrCat("services/", name, "/", name, "_server"), env,
                                 s.log);
      ASSERT_GT(s.pid, 0);
      servers_.push_back(s);
      ASSERT_EQ(WaitForHealth(s.address(), "", HealthCheckResponse::SERVING),
                HealthCheckResponse::SERVING)
          << name << " did not become SERVING; its log is " << s.log;
    }
  }

  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  std::vector<Server> servers_;
};

// --- listening addresses ----------------------------------------------------------------------

TEST_F(ServerEdgeTest, EveryPortOfEveryBinaryListensOnLoopbackWhenNothingIsConfigured) {
  StartAll();
  for (const Server& s : servers_) {
    std::vector<ListeningSocket> sockets = ListeningSockets(s.pid);
    std::set<int> ports;
    for (const ListeningSocket& l : sockets) {
      ports.insert(l.port);
      EXPECT_TRUE(IsLoopback(l.host)) << s.name << " listens on " << l.host << ":" << l.port;
    }
    // Exactly the configured ports: no listener the test does not know of.
    EXPECT_EQ(ports, s.ports()) << s.name;

    nlohmann::json started = EventLine(s.log, "server.started");
    ASSERT_TRUE(started.is_object()) << s.name;
    EXPECT_EQ(started["address"], absl::StrCat("127.0.0.1:", s.grpc_port)) << s.name;
    EXPECT_EQ(started["metrics_address"], absl::StrCat("127.0.0.1:", s.metrics_port)) << s.name;
    EXPECT_EQ(started["health_address"], absl::StrCat("127.0.0.1:", s.health_port)) << s.name;
    if (s.webhook_port != 0) {
      nlohmann::json billing = EventLine(s.log, "billing.started");
      ASSERT_TRUE(billing.is_object());
      EXPECT_EQ(billing["webhook_address"], absl::StrCat("127.0.0.1:", s.webhook_port));
    }
  }
}

TEST_F(ServerEdgeTest, ListenHostZeroBindsEveryPortOnEveryInterfaceAndTheLogSaysSo) {
  StartAll({{"{P}_LISTEN_HOST", "0.0.0.0"}});
  for (const Server& s : servers_) {
    std::set<int> ports;
    for (const ListeningSocket& l : ListeningSockets(s.pid)) {
      ports.insert(l.port);
      // gRPC serves a wildcard address on one dual-stack socket ("::"); httplib on "0.0.0.0".
      EXPECT_TRUE(l.host == "0.0.0.0" || l.host == "::") << s.name << " port " << l.port
                                                          << " on " << l.host;
    }
    EXPECT_EQ(ports, s.ports()) << s.name;
    nlohmann::json started = EventLine(s.log, "server.started");
    ASSERT_TRUE(started.is_object()) << s.name;
    EXPECT_EQ(started["address"], absl::StrCat("0.0.0.0:", s.grpc_port));
    EXPECT_EQ(started["metrics_address"], absl::StrCat("0.0.0.0:", s.metrics_port));
    if (s.webhook_port != 0) {
      EXPECT_EQ(EventLine(s.log, "billing.started")["webhook_address"],
                absl::StrCat("0.0.0.0:", s.webhook_port));
    }
  }
}

TEST_F(ServerEdgeTest, ListenHostThatIsNotAnAddressIsABadConfiguration) {
  const std::string log = absl::StrCat(::testing::TempDir(), "/bad-listen-host.log");
  unlink(log.c_str());
  const pid_t pid = SpawnServerLogging(
      "services/billing/billing_server",
      {{"DATABASE_URL", db_->UrlAs("billing_service")}, {"BILLING_LISTEN_HOST", "localhost"},
       {"IDENTITY_ADDR", "127.0.0.1:1"}, {"BILLING_STRIPE_WEBHOOK_SECRETS", "whsec_x"},
       {"BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef0123"}},
      log);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(15)), 2);
  nlohmann::json failed = EventLine(log, "billing.start_failed");
  ASSERT_TRUE(failed.is_object());
  EXPECT_THAT(failed.dump(), HasSubstr("BILLING_LISTEN_HOST"));
}

// --- the log is JSON, whatever the libraries say ----------------------------------------------

// One unary call with raw request bytes, as a client with a different (or broken) encoder sends.
grpc::Status RawCall(const std::string& address, const std::string& method,
                     const std::string& bytes) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(), grpc::internal::RpcMethod(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC),
      &context, request, &response);
}

// A message whose string field `number` holds `value`, encoded by hand (no UTF-8 check).
std::string StringField(int number, const std::string& value) {
  std::string wire;
  wire.push_back(static_cast<char>(number << 3 | 2));
  wire.push_back(static_cast<char>(value.size()));
  return wire + value;
}

TEST_F(ServerEdgeTest, InvalidUtf8InAStringFieldIsRefusedAndEveryLogLineStaysJson) {
  StartAll();
  struct Target {
    std::string method;
    int field;
  };
  const std::map<std::string, Target> targets = {
      {"identity",
       {"/identity.v1.IdentityService/Login",
        identity::v1::LoginRequest::descriptor()->FindFieldByName("email")->number()}},
      {"billing",
       {"/billing.v1.BillingService/GetEntitlement",
        ::billing::v1::GetEntitlementRequest::descriptor()->FindFieldByName("user_id")->number()}},
      {"questions",
       {"/questions.v1.QuestionBankService/GetQuestion",
        questions::v1::GetQuestionRequest::descriptor()->FindFieldByName("question_id")->number()}},
  };
  // Not UTF-8 in several ways: a stray byte, a lone continuation byte, an overlong encoding,
  // a UTF-16 surrogate, a truncated sequence, a code point beyond U+10FFFF, and bad bytes
  // behind quotes, a backslash and control characters that a line must escape.
  const std::vector<std::string> values = {"\xff",         "ok\x80",  "\xc0\xaf",
                                           "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80",
                                           "a\"b\\\n\x01\x7f\xfe"};
  for (const Server& s : servers_) {
    const Target& t = targets.at(s.name);
    for (const std::string& v : values) {
      grpc::Status status = RawCall(s.address(), t.method, StringField(t.field, v));
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << s.name << ": " << status.error_message();
    }
  }
  // Stop them, so that everything they wrote, to the last line, is in the files.
  for (Server& s : servers_) {
    kill(s.pid, SIGTERM);
    EXPECT_EQ(WaitExit(s.pid, absl::Seconds(30)), 0) << s.name;
    s.pid = -1;
  }
  for (const Server& s : servers_) {
    std::vector<std::string> bad;
    std::vector<nlohmann::json> lines = ReadLog(s.log, &bad);
    EXPECT_THAT(bad, ::testing::IsEmpty()) << s.name << " wrote lines that are not JSON";
    int protobuf_lines = 0;
    for (const nlohmann::json& j : lines) {
      if (j.value("event", "") == "library_log" && j.value("library", "") == "protobuf") {
        ++protobuf_lines;
        EXPECT_THAT(j.value("message", ""), HasSubstr("invalid UTF-8")) << s.name;
        EXPECT_EQ(j.value("severity", ""), "ERROR");
      }
    }
    // Protobuf did log, once per refused request with bad bytes: the lines were routed, not
    // lost.
    EXPECT_EQ(protobuf_lines, static_cast<int>(values.size())) << s.name;
    EXPECT_TRUE(EventLine(s.log, "server.stopped").is_object()) << s.name;
  }
}

// --- reflection describes the error details ---------------------------------------------------

testing::v1::ReflectionResponse Reflect(const std::string& address,
                                        const testing::v1::ReflectionRequest& request) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::internal::RpcMethod method(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::internal::RpcMethod::BIDI_STREAMING, channel);
  std::unique_ptr<grpc::ClientReaderWriter<testing::v1::ReflectionRequest,
                                           testing::v1::ReflectionResponse>>
      stream(grpc::internal::ClientReaderWriterFactory<
             testing::v1::ReflectionRequest,
             testing::v1::ReflectionResponse>::Create(channel.get(), method, &context));
  testing::v1::ReflectionResponse response;
  EXPECT_TRUE(stream->Write(request));
  EXPECT_TRUE(stream->Read(&response));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  return response;
}

TEST_F(ServerEdgeTest, ReflectionOfEveryBinaryDescribesTheGoogleRpcErrorDetails) {
  StartAll();
  for (const Server& s : servers_) {
    for (const std::string symbol :
         {"google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.BadRequest.FieldViolation",
          "google.rpc.Status"}) {
      testing::v1::ReflectionRequest request;
      request.set_file_containing_symbol(symbol);
      testing::v1::ReflectionResponse response = Reflect(s.address(), request);
      ASSERT_TRUE(response.has_file_descriptor_response())
          << s.name << " " << symbol << ": " << response.error_response().error_message();
      std::set<std::string> messages;
      for (const std::string& bytes :
           response.file_descriptor_response().file_descriptor_proto()) {
        google::protobuf::FileDescriptorProto file;
        ASSERT_TRUE(file.ParseFromString(bytes));
        for (const auto& m : file.message_type()) {
          messages.insert(absl::StrCat(file.package(), ".", m.name()));
        }
      }
      const std::string top = absl::StartsWith(symbol, "google.rpc.BadRequest")
                                  ? "google.rpc.BadRequest"
                                  : symbol;
      EXPECT_TRUE(messages.count(top)) << s.name << " " << symbol;
    }
    // A symbol that exists nowhere is NOT_FOUND, not an empty answer.
    testing::v1::ReflectionRequest missing;
    missing.set_file_containing_symbol("google.rpc.NoSuchDetail");
    EXPECT_EQ(Reflect(s.address(), missing).error_response().error_code(),
              grpc::StatusCode::NOT_FOUND)
        << s.name;
  }
}

}  // namespace
