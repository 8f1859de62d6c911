// The example server of shared/rpc: a tiny EchoService served by GrpcServer over a real
// loopback channel proves health, status details, request ids, bearer tokens, the per-RPC log
// line and the drain. Reflection has its own binary: see reflection_test.cc.
#include "shared/rpc/server/server.h"

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"
#include "shared/base/json_log.h"
#include "shared/base/testing/fragmented_heap.h"
#include "shared/base/uuid.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/calls_in_flight.h"
#include "shared/rpc/handler/request_context.h"
#include "shared/rpc/server/config.h"
#include "testing/v1/echo_service.grpc.pb.h"

namespace suite::rpc {
namespace {

using ::suite::api::ErrorInfo;
using ::suite::api::ErrorInfoOf;
using ::suite::api::FieldViolation;
using ::suite::api::FieldViolationsOf;
using ::suite::api::InvalidArgument;
using ::suite::api::WithErrorInfo;

namespace tv1 = ::testing::v1;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kValidId[] = "0B7C3A8E-61A4-4B35-8F61-0C6A4C1D1B2E";

// The example service: echoes, reports the request id, and does whatever the test asks.
// Served like the suite's services: the callback API, with the body on a BlockingExecutor.
class EchoServiceImpl final : public tv1::EchoService::CallbackService {
 public:
  using Behaviour = std::function<grpc::Status(grpc::ServerContextBase*, const RequestContext&,
                                               const tv1::EchoRequest&, tv1::EchoResponse*)>;
  void SetBehaviour(Behaviour behaviour) {
    absl::MutexLock lock(&mu_);
    behaviour_ = std::move(behaviour);
  }
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const tv1::EchoRequest* request,
                                 tv1::EchoResponse* response) override {
    return RunBlocking(context, executor_, [=]() -> grpc::Status {
      RequestContext rc = RequestContext::FromServerContext(*context);
      response->set_message(request->message());
      response->set_request_id(rc.request_id());
      Behaviour behaviour;
      {
        absl::MutexLock lock(&mu_);
        behaviour = behaviour_;
      }
      if (behaviour) return behaviour(context, rc, *request, response);
      return grpc::Status::OK;
    });
  }

 private:
  absl::Mutex mu_;
  Behaviour behaviour_;
  BlockingExecutor executor_{"echo", 4};
};

// Authenticates exactly one token, "good-token".
class OneTokenAuthenticator : public CallerAuthenticator {
 public:
  absl::StatusOr<Caller> Authenticate(absl::string_view token, const RequestContext&) override {
    if (token == "good-token") return Caller{"user-7", {"member"}, "s-1"};
    return WithErrorInfo(absl::UnauthenticatedError("unknown session"), "SESSION_UNKNOWN",
                         "identity.suite");
  }
};

// Log lines, collected for assertions.
class LogCollector {
 public:
  void Add(const std::string& line) {
    absl::MutexLock lock(&mu_);
    lines_.push_back(line);
  }
  // WaitForLine returns the first line containing all of `needles`, waiting up to 5 s.
  absl::optional<std::string> WaitForLine(std::vector<std::string> needles) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        for (const std::string& line : lines_) {
          bool all = true;
          for (const std::string& n : needles) all = all && line.find(n) != std::string::npos;
          if (all) return line;
        }
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return absl::nullopt;
  }
  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_;
};

ServerConfig LoopbackConfig() {
  ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.drain_timeout = absl::Seconds(3);
  config.health_interval = absl::Milliseconds(20);
  // The drain tests stop at once; the lame-duck test sets its own.
  config.lame_duck = absl::ZeroDuration();
  // Every test also runs the plaintext health port, which must say what the main port says.
  config.health_port = 0;
  return config;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSinkForTesting([this](const std::string& line) { logs_.Add(line); });
    StartServer(LoopbackConfig(), /*handle_signals=*/false);
  }
  void TearDown() override {
    server_.reset();
    SetLogSinkForTesting(nullptr);
    // Every path of a call gives its place in CallsInFlight back (the count is process-wide).
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (CallsInFlight::Process().count() != 0 && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(CallsInFlight::Process().count(), 0);
  }

  void StartServer(const ServerConfig& config, bool handle_signals) {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
        config, {{&echo_, tv1::EchoService::service_full_name()}}, handle_signals);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
    channel_ = NewChannel();
    if (server_->health_port() > 0) {
      health_channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->health_port()),
                                            grpc::InsecureChannelCredentials());
    }
  }

  std::shared_ptr<grpc::Channel> NewChannel() {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                               grpc::InsecureChannelCredentials());
  }

  static void SetDeadline(grpc::ClientContext* context, absl::Duration d = absl::Seconds(5)) {
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d));
  }

  // Health Check for `service` ("" = overall) on the main port, or on `channel`; a transport
  // error becomes UNKNOWN.
  HealthCheckResponse::ServingStatus Check(const std::string& service,
                                           grpc::StatusCode* code = nullptr,
                                           std::shared_ptr<grpc::Channel> channel = nullptr) {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(2));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = Health::NewStub(channel != nullptr ? channel : channel_)
                              ->Check(&context, request, &response);
    if (code != nullptr) *code = status.error_code();
    return status.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
  }

  bool WaitForHealth(HealthCheckResponse::ServingStatus want) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      if (Check("") == want && Check(tv1::EchoService::service_full_name()) == want &&
          Check("", nullptr, health_channel_) == want) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  grpc::Status Echo(grpc::ClientContext* context, const std::string& message,
                    tv1::EchoResponse* response) {
    tv1::EchoRequest request;
    request.set_message(message);
    return tv1::EchoService::NewStub(channel_)->Echo(context, request, response);
  }

  // An Echo call with a 10 s deadline, for calls that must outlast a test's waits.
  grpc::Status EchoFor10s(const std::string& message) {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(10));
    tv1::EchoResponse response;
    return Echo(&context, message, &response);
  }

  static std::string InitialMetadata(const grpc::ClientContext& context, const std::string& key) {
    auto it = context.GetServerInitialMetadata().find(key);
    if (it == context.GetServerInitialMetadata().end()) return "";
    return std::string(it->second.data(), it->second.size());
  }

  LogCollector logs_;
  EchoServiceImpl echo_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::Channel> health_channel_;  // the plaintext health port
};

// --- health ---------------------------------------------------------------------------------

TEST_F(ServerTest, HealthAnswersServingOverallAndForEachService) {
  for (const auto& channel : {channel_, health_channel_}) {
    EXPECT_EQ(Check("", nullptr, channel), HealthCheckResponse::SERVING);
    EXPECT_EQ(Check("testing.v1.EchoService", nullptr, channel), HealthCheckResponse::SERVING);
    grpc::StatusCode code;
    Check("no.such.Service", &code, channel);
    EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ServerTest, TheHealthPortServesNothingButHealth) {
  ASSERT_NE(health_channel_, nullptr);
  grpc::ClientContext context;
  SetDeadline(&context);
  tv1::EchoRequest request;
  tv1::EchoResponse response;
  EXPECT_EQ(tv1::EchoService::NewStub(health_channel_)->Echo(&context, request, &response)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ServerTest, HealthFollowsTheProbeBothWays) {
  std::atomic<bool> database_up{true};
  server_->FollowProbe([&] { return database_up.load(); });
  ASSERT_TRUE(WaitForHealth(HealthCheckResponse::SERVING));
  database_up = false;
  EXPECT_TRUE(WaitForHealth(HealthCheckResponse::NOT_SERVING));
  database_up = true;
  EXPECT_TRUE(WaitForHealth(HealthCheckResponse::SERVING));
}

TEST_F(ServerTest, SetServingFalseIsVisibleToClients) {
  server_->SetServing(false);
  for (const auto& channel : {channel_, health_channel_}) {
    EXPECT_EQ(Check("", nullptr, channel), HealthCheckResponse::NOT_SERVING);
    EXPECT_EQ(Check("testing.v1.EchoService", nullptr, channel), HealthCheckResponse::NOT_SERVING);
  }
}

// --- status conversion over the wire --------------------------------------------------------

TEST_F(ServerTest, BadRequestAndErrorInfoReachTheClient) {
  echo_.SetBehaviour([](grpc::ServerContextBase*, const RequestContext& rc, const tv1::EchoRequest&,
                        tv1::EchoResponse*) {
    return ToGrpcStatus(WithErrorInfo(InvalidArgument("message", "must be at most 3 characters"),
                                      "MESSAGE_TOO_LONG", "testing.suite"),
                        rc.request_id());
  });
  grpc::ClientContext context;
  SetDeadline(&context);
  tv1::EchoResponse response;
  absl::Status status = FromGrpcStatus(Echo(&context, "long", &response));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "message: must be at most 3 characters");
  EXPECT_THAT(FieldViolationsOf(status),
              ::testing::ElementsAre(FieldViolation{"message", "must be at most 3 characters"}));
  absl::optional<ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "MESSAGE_TOO_LONG");
  EXPECT_EQ(info->domain, "testing.suite");
}

TEST_F(ServerTest, InternalErrorReachesTheClientScrubbed) {
  echo_.SetBehaviour([](grpc::ServerContextBase*, const RequestContext& rc, const tv1::EchoRequest&,
                        tv1::EchoResponse*) {
    return ToGrpcStatus(absl::InternalError("password=hunter2 host=db-0"), rc.request_id());
  });
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-request-id", kValidId);
  tv1::EchoResponse response;
  grpc::Status status = Echo(&context, "x", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(status.error_message(), HasSubstr("internal error"));
  EXPECT_THAT(status.error_message(), HasSubstr(absl::AsciiStrToLower(kValidId)));
  EXPECT_TRUE(logs_.WaitForLine({"rpc.internal_error", "hunter2"}).has_value());
}

// --- request ids ----------------------------------------------------------------------------

TEST_F(ServerTest, ValidRequestIdIsUsedAndEchoedInLowerCase) {
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-request-id", kValidId);
  tv1::EchoResponse response;
  ASSERT_TRUE(Echo(&context, "hi", &response).ok());
  EXPECT_EQ(response.message(), "hi");
  EXPECT_EQ(response.request_id(), absl::AsciiStrToLower(kValidId));
  EXPECT_EQ(InitialMetadata(context, "x-request-id"), response.request_id());
}

TEST_F(ServerTest, MissingRequestIdIsGeneratedAndEchoed) {
  grpc::ClientContext context;
  SetDeadline(&context);
  tv1::EchoResponse response;
  ASSERT_TRUE(Echo(&context, "hi", &response).ok());
  EXPECT_TRUE(suite::IsUuid(response.request_id())) << response.request_id();
  EXPECT_EQ(InitialMetadata(context, "x-request-id"), response.request_id());
}

TEST_F(ServerTest, InvalidRequestIdIsReplacedByAGeneratedOne) {
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-request-id", "abc; DROP TABLE users");
  tv1::EchoResponse response;
  ASSERT_TRUE(Echo(&context, "hi", &response).ok());
  EXPECT_TRUE(suite::IsUuid(response.request_id())) << response.request_id();
  EXPECT_EQ(InitialMetadata(context, "x-request-id"), response.request_id());
}

TEST_F(ServerTest, RequestIdIsEchoedOnErrorsToo) {
  echo_.SetBehaviour([](grpc::ServerContextBase*, const RequestContext&, const tv1::EchoRequest&,
                        tv1::EchoResponse*) {
    return ToGrpcStatus(absl::NotFoundError("no such echo"));
  });
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-request-id", kValidId);
  tv1::EchoResponse response;
  EXPECT_EQ(Echo(&context, "hi", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(InitialMetadata(context, "x-request-id"), absl::AsciiStrToLower(kValidId));
}

TEST_F(ServerTest, RequestIdAndBearerTokenAreForwardedDownstream) {
  // A second server stands for the downstream service; it reports what it received.
  EchoServiceImpl downstream_echo;
  downstream_echo.SetBehaviour([](grpc::ServerContextBase*, const RequestContext& rc,
                                  const tv1::EchoRequest&, tv1::EchoResponse* response) {
    absl::StatusOr<std::string> token = rc.BearerToken();
    response->set_caller_id(token.ok() ? *token : "<none>");
    return grpc::Status::OK;
  });
  absl::StatusOr<std::unique_ptr<GrpcServer>> downstream = GrpcServer::Start(
      LoopbackConfig(), {{&downstream_echo, tv1::EchoService::service_full_name()}}, false);
  ASSERT_TRUE(downstream.ok()) << downstream.status();
  auto downstream_stub = tv1::EchoService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*downstream)->port()), grpc::InsecureChannelCredentials()));

  echo_.SetBehaviour([&](grpc::ServerContextBase*, const RequestContext& rc,
                         const tv1::EchoRequest& request, tv1::EchoResponse* response) {
    grpc::ClientContext downstream_context;
    SetDeadline(&downstream_context);
    rc.PropagateTo(&downstream_context, /*include_bearer_token=*/request.message() == "with");
    tv1::EchoResponse downstream_response;
    grpc::Status status =
        downstream_stub->Echo(&downstream_context, request, &downstream_response);
    response->set_request_id(downstream_response.request_id());
    response->set_caller_id(downstream_response.caller_id());
    return status;
  });

  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("x-request-id", kValidId);
    context.AddMetadata("authorization", "Bearer good-token");
    tv1::EchoResponse response;
    ASSERT_TRUE(Echo(&context, "with", &response).ok());
    EXPECT_EQ(response.request_id(), absl::AsciiStrToLower(kValidId));
    EXPECT_EQ(response.caller_id(), "good-token");
  }
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("authorization", "Bearer good-token");
    tv1::EchoResponse response;
    ASSERT_TRUE(Echo(&context, "without", &response).ok());
    EXPECT_EQ(response.request_id(), InitialMetadata(context, "x-request-id"));
    EXPECT_EQ(response.caller_id(), "<none>");
  }
}

// --- bearer tokens and the caller hook ------------------------------------------------------

class AuthenticatedServerTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    echo_.SetBehaviour([this](grpc::ServerContextBase*, const RequestContext& rc,
                              const tv1::EchoRequest&, tv1::EchoResponse* response) {
      absl::StatusOr<Caller> caller = RequireCaller(rc, authenticator_);
      if (!caller.ok()) return ToGrpcStatus(caller.status(), rc.request_id());
      response->set_caller_id(caller->user_id);
      return grpc::Status::OK;
    });
  }
  // Calls Echo with `authorization` (if not null) and returns the client-side status.
  absl::Status CallWith(const char* authorization, tv1::EchoResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    if (authorization != nullptr) context.AddMetadata("authorization", authorization);
    return FromGrpcStatus(Echo(&context, "hi", response));
  }
  OneTokenAuthenticator authenticator_;
};

TEST_F(AuthenticatedServerTest, ValidBearerTokenIdentifiesTheCallerAndIsLoggedWithoutToken) {
  tv1::EchoResponse response;
  ASSERT_TRUE(CallWith("bearer good-token", &response).ok());
  EXPECT_EQ(response.caller_id(), "user-7");
  absl::optional<std::string> line =
      logs_.WaitForLine({"\"event\":\"rpc\"", response.request_id()});
  ASSERT_TRUE(line.has_value());
  nlohmann::json parsed = nlohmann::json::parse(*line);
  EXPECT_EQ(parsed["method"], "/testing.v1.EchoService/Echo");
  EXPECT_EQ(parsed["code"], "OK");
  EXPECT_EQ(parsed["caller_id"], "user-7");
  EXPECT_TRUE(parsed["latency_ms"].is_number());
  for (const std::string& l : logs_.Lines()) EXPECT_THAT(l, Not(HasSubstr("good-token")));
}

TEST_F(AuthenticatedServerTest, MissingOrMalformedAuthorizationIsUnauthenticated) {
  tv1::EchoResponse response;
  absl::Status missing = CallWith(nullptr, &response);
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorInfoOf(missing)->reason, "MISSING_CREDENTIALS");
  for (const char* malformed : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "good-token"}) {
    absl::Status status = CallWith(malformed, &response);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << malformed;
    ASSERT_TRUE(ErrorInfoOf(status).has_value()) << malformed;
    EXPECT_EQ(ErrorInfoOf(status)->reason, "MALFORMED_CREDENTIALS") << malformed;
  }
}

TEST_F(AuthenticatedServerTest, UnknownTokenGetsTheAuthenticatorsError) {
  tv1::EchoResponse response;
  absl::Status status = CallWith("Bearer stolen", &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorInfoOf(status)->reason, "SESSION_UNKNOWN");
  EXPECT_TRUE(logs_.WaitForLine({"\"code\":\"UNAUTHENTICATED\""}).has_value());
}

// --- drain ----------------------------------------------------------------------------------

TEST_F(ServerTest, DrainLetsInFlightCallFinishRefusesNewOnesAndReturns) {
  absl::Notification started;
  echo_.SetBehaviour([&](grpc::ServerContextBase*, const RequestContext&, const tv1::EchoRequest&,
                         tv1::EchoResponse*) {
    started.Notify();
    absl::SleepFor(absl::Milliseconds(600));
    return grpc::Status::OK;
  });
  grpc::Status slow_status;
  std::atomic<bool> slow_done{false};
  std::thread slow_call([&] {
    grpc::ClientContext context;
    SetDeadline(&context);
    tv1::EchoResponse response;
    slow_status = Echo(&context, "slow", &response);
    slow_done = true;
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(5)));

  absl::Time shutdown_start = absl::Now();
  std::thread runner([&] { server_->Run(); });
  server_->RequestShutdown();
  ASSERT_TRUE(logs_.WaitForLine({"server.draining"}).has_value());

  // The listener closes: a new connection is refused while the slow call still runs. The
  // "server.draining" line comes just before grpc::Server::Shutdown, so a call that races the
  // start of Shutdown may instead be cancelled by gRPC core; it is
  // never served. Try again until the refusal shows.
  grpc::StatusCode refused = grpc::StatusCode::OK;
  for (int attempt = 0; attempt < 20 && refused != grpc::StatusCode::UNAVAILABLE; ++attempt) {
    channel_ = NewChannel();
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(1));
    tv1::EchoResponse response;
    refused = Echo(&context, "new", &response).error_code();
    if (refused != grpc::StatusCode::UNAVAILABLE && refused != grpc::StatusCode::CANCELLED) {
      ADD_FAILURE() << "a new call during the drain ended " << refused;
      break;
    }
    if (refused == grpc::StatusCode::CANCELLED) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(refused, grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(slow_done.load()) << "the refusal was only seen after the in-flight call ended";

  runner.join();
  slow_call.join();
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  EXPECT_LT(absl::Now() - shutdown_start, absl::Seconds(3));  // the drain deadline
  EXPECT_TRUE(logs_.WaitForLine({"server.stopped"}).has_value());
}

// On SIGTERM a replica first turns NOT_SERVING while still serving every call (new ones too),
// so that clients watching health move to another replica before its listener closes; a probe
// saying "healthy" cannot bring it back; then it drains as usual.
TEST_F(ServerTest, LameDuckIsNotServingYetServesEveryCallThenDrains) {
  server_.reset();
  ServerConfig config = LoopbackConfig();
  config.lame_duck = absl::Seconds(3);
  StartServer(config, /*handle_signals=*/false);
  server_->FollowProbe([] { return true; });
  ASSERT_TRUE(WaitForHealth(HealthCheckResponse::SERVING));

  const absl::Time shutdown_start = absl::Now();
  std::thread runner([&] { server_->Run(); });
  server_->RequestShutdown();
  ASSERT_TRUE(logs_.WaitForLine({"server.lame_duck", "\"lame_duck_ms\":3000"}).has_value());
  EXPECT_TRUE(WaitForHealth(HealthCheckResponse::NOT_SERVING));
  for (int i = 0; i < 5; ++i) {
    channel_ = NewChannel();  // a new connection: the listener is still open
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(2));
    tv1::EchoResponse response;
    grpc::Status status = Echo(&context, "lame duck", &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (absl::Now() - shutdown_start < absl::Milliseconds(2900)) {
    // Lines after the lame duck's (the replaced server of SetUp drained before it).
    bool after_lame_duck = false;
    for (const std::string& line : logs_.Lines()) {
      after_lame_duck |= line.find("server.lame_duck") != std::string::npos;
      EXPECT_FALSE(after_lame_duck && line.find("server.draining") != std::string::npos)
          << "the drain began before the lame duck ended";
    }
  }

  runner.join();
  EXPECT_GE(absl::Now() - shutdown_start, absl::Seconds(3));
  EXPECT_TRUE(logs_.WaitForLine({"server.stopped"}).has_value());
  channel_ = NewChannel();
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(1));
  tv1::EchoResponse response;
  EXPECT_EQ(Echo(&context, "after", &response).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServerTest, CallsBeyondTheLimitInFlightAreAnsweredResourceExhaustedWithoutRunning) {
  server_.reset();
  ServerConfig config = LoopbackConfig();
  config.max_calls_in_flight = 2;
  StartServer(config, false);
  absl::Notification release;
  std::atomic<int> ran{0};
  echo_.SetBehaviour([&](grpc::ServerContextBase*, const RequestContext&,
                         const tv1::EchoRequest& request, tv1::EchoResponse*) {
    ran.fetch_add(1);
    if (request.message() == "hold") release.WaitForNotificationWithTimeout(absl::Seconds(10));
    return grpc::Status::OK;
  });
  std::vector<std::thread> held;
  std::vector<grpc::Status> held_status(2);
  for (int i = 0; i < 2; ++i) {
    held.emplace_back([&, i] {
      grpc::ClientContext context;
      SetDeadline(&context, absl::Seconds(10));
      tv1::EchoResponse response;
      held_status[i] = Echo(&context, "hold", &response);
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (ran.load() < 2 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(ran.load(), 2);

  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  tv1::EchoResponse response;
  grpc::Status refused = Echo(&context, "over the limit", &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("calls in flight: 2"));
  EXPECT_EQ(ran.load(), 2);  // its body never ran

  release.Notify();
  for (std::thread& t : held) t.join();
  for (const grpc::Status& s : held_status) EXPECT_TRUE(s.ok()) << s.error_message();
  // The places come back with the answers: a new call is served.
  grpc::Status next;
  const absl::Time retry_until = absl::Now() + absl::Seconds(5);
  do {
    grpc::ClientContext again;
    SetDeadline(&again, absl::Seconds(5));
    next = Echo(&again, "after", &response);
  } while (next.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && absl::Now() < retry_until);
  EXPECT_TRUE(next.ok()) << next.error_message();
}

TEST_F(ServerTest, TheServerGivesFreedHeapBackToTheOsOnItsOwn) {
  constexpr int64_t kBurst = 32 * 1024 * 1024;
  const int64_t before = suite::testing::ResidentBytes();
  suite::testing::FragmentedHeap heap(kBurst);
  const int64_t after_burst = suite::testing::ResidentBytes();
  ASSERT_GE(after_burst - before, kBurst / 2);  // malloc kept it resident

  server_.reset();
  ServerConfig config = LoopbackConfig();
  config.heap_trim_interval = absl::Milliseconds(20);
  StartServer(config, false);

  EXPECT_LE(suite::testing::WaitForResidentAtMost(after_burst - kBurst / 2, absl::Seconds(10)),
            after_burst - kBurst / 2);
}

TEST_F(ServerTest, DrainCancelsCallsThatOutliveTheDeadline) {
  server_.reset();
  ServerConfig config = LoopbackConfig();
  config.drain_timeout = absl::Milliseconds(300);
  StartServer(config, false);
  absl::Notification started;
  echo_.SetBehaviour([&](grpc::ServerContextBase* context, const RequestContext&,
                         const tv1::EchoRequest&, tv1::EchoResponse*) {
    started.Notify();
    absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!context->IsCancelled() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return grpc::Status::OK;
  });
  grpc::Status stuck_status;
  std::thread stuck_call([&] {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(20));
    tv1::EchoResponse response;
    stuck_status = Echo(&context, "stuck", &response);
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::Time start = absl::Now();
  server_->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  stuck_call.join();
  EXPECT_FALSE(stuck_status.ok());
}

// --- the blocking executor under the callback API ---------------------------------------------

// Occupies all of the echo service's executor threads with calls that wait for Release(), and
// counts the bodies that ran for any other message.
class BusyExecutor {
 public:
  static constexpr int kThreads = 4;  // EchoServiceImpl's executor

  BusyExecutor(EchoServiceImpl& echo, std::function<grpc::Status(const std::string&)> call)
      : call_(std::move(call)) {
    echo.SetBehaviour([this](grpc::ServerContextBase*, const RequestContext&,
                             const tv1::EchoRequest& request, tv1::EchoResponse*) {
      if (request.message() == "block") {
        blocked_.fetch_add(1);
        release_.WaitForNotificationWithTimeout(absl::Seconds(10));
      } else {
        others_ran_.fetch_add(1);
      }
      return grpc::Status::OK;
    });
    for (int i = 0; i < kThreads; ++i) blockers_.emplace_back([this] { call_("block"); });
    absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (blocked_.load() < kThreads && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  ~BusyExecutor() { Release(); }

  bool AllBlocked() const { return blocked_.load() == kThreads; }
  int others_ran() const { return others_ran_.load(); }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
    for (std::thread& t : blockers_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::function<grpc::Status(const std::string&)> call_;
  absl::Notification release_;
  std::atomic<int> blocked_{0};
  std::atomic<int> others_ran_{0};
  std::vector<std::thread> blockers_;
};

TEST_F(ServerTest, CallWhoseDeadlinePassesWhileQueuedIsAnsweredWithoutRunning) {
  BusyExecutor busy(echo_, [this](const std::string& message) { return EchoFor10s(message); });
  ASSERT_TRUE(busy.AllBlocked());

  grpc::ClientContext context;
  SetDeadline(&context, absl::Milliseconds(200));
  tv1::EchoResponse response;
  EXPECT_EQ(Echo(&context, "late", &response).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's deadline is the client's timeout counted from when the call arrived, a little
  // after the client's own: let it pass there too.
  absl::SleepFor(absl::Milliseconds(100));
  busy.Release();
  // The queue moves on after the release, and the late call's body never ran.
  grpc::ClientContext after;
  SetDeadline(&after);
  EXPECT_TRUE(Echo(&after, "after", &response).ok());
  EXPECT_EQ(busy.others_ran(), 1);
}

TEST_F(ServerTest, CallCancelledWhileQueuedIsNotRun) {
  BusyExecutor busy(echo_, [this](const std::string& message) { return EchoFor10s(message); });
  ASSERT_TRUE(busy.AllBlocked());

  grpc::ClientContext context;
  SetDeadline(&context);
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(100));
    context.TryCancel();
  });
  tv1::EchoResponse response;
  EXPECT_EQ(Echo(&context, "cancelled", &response).error_code(), grpc::StatusCode::CANCELLED);
  canceller.join();
  absl::SleepFor(absl::Milliseconds(300));  // the server learns of the cancellation (RST_STREAM)
  busy.Release();
  grpc::ClientContext after;
  SetDeadline(&after);
  EXPECT_TRUE(Echo(&after, "after", &response).ok());
  EXPECT_EQ(busy.others_ran(), 1);
}

TEST_F(ServerTest, HealthSaysNotServingOnceShutdownBegins) {
  absl::Notification started;
  absl::Notification release;
  echo_.SetBehaviour([&](grpc::ServerContextBase*, const RequestContext&, const tv1::EchoRequest&,
                         tv1::EchoResponse*) {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
    return grpc::Status::OK;
  });
  std::atomic<bool> probe_result{true};
  server_->FollowProbe([&] { return probe_result.load(); });
  std::thread slow_call([&] {
    grpc::ClientContext context;
    SetDeadline(&context);
    tv1::EchoResponse response;
    Echo(&context, "slow", &response);
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // The health service is reached over the connection that is already open.
  ASSERT_EQ(Check(""), HealthCheckResponse::SERVING);
  ASSERT_EQ(Check("", nullptr, health_channel_), HealthCheckResponse::SERVING);
  std::thread shutdown([&] { server_->Shutdown(); });
  ASSERT_TRUE(logs_.WaitForLine({"server.draining"}).has_value());
  // A probe that still says "up" cannot bring the draining server back to SERVING.
  absl::SleepFor(absl::Milliseconds(60));
  grpc::StatusCode code;
  HealthCheckResponse::ServingStatus status = Check("", &code);
  EXPECT_NE(status, HealthCheckResponse::SERVING) << "code " << code;
  // The health port stays open through the drain and says so.
  EXPECT_EQ(Check("", &code, health_channel_), HealthCheckResponse::NOT_SERVING) << "code " << code;
  release.Notify();
  shutdown.join();
  slow_call.join();
  // Then it closes with the server.
  EXPECT_EQ(Check("", &code, health_channel_), HealthCheckResponse::UNKNOWN);
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServerTest, SigtermMakesRunDrainAndReturn) {
  server_.reset();
  StartServer(LoopbackConfig(), /*handle_signals=*/true);
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    server_->Run();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(returned.load());
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  runner.join();
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(logs_.WaitForLine({"server.shutdown_requested", "signal"}).has_value());
  grpc::StatusCode code;
  channel_ = NewChannel();
  Check("", &code);
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
}

// --- start-up -------------------------------------------------------------------------------

TEST(GrpcServerStartTest, UnusableAddressIsUnavailable) {
  ServerConfig config;
  config.listen_address = "203.0.113.7:0";  // TEST-NET-3: not an address of this machine
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(config, {}, false);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
}

TEST(GrpcServerStartTest, ServiceWithoutNameIsInvalidArgument) {
  EchoServiceImpl echo;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(LoopbackConfig(), {{&echo, ""}}, false);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace suite::rpc
