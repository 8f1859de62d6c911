// RunAuthenticatedAsync / RunHandlerAsync / AsyncReply over a real gRPC server: a caller the
// authenticator knows without blocking is served from gRPC's thread alone, any other is
// authenticated on the executor under the call's deadline; failures, exceptions and a second
// Finish end the call once, with the right status.
#include "shared/rpc/handler/handler.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"
#include "shared/base/request_deadline.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/calls_in_flight.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/server.h"
#include "testing/v1/echo_service.grpc.pb.h"

namespace suite::rpc {
namespace {

using ::suite::api::ErrorInfoOf;

namespace tv1 = ::testing::v1;
using ::testing::HasSubstr;

// Knows "cached-token" (and refuses "refused-token") without blocking; "slow-token" only
// through Authenticate, which records the request scope it ran under.
class TwoSpeedAuthenticator : public CallerAuthenticator {
 public:
  absl::StatusOr<Caller> Authenticate(absl::string_view token, const RequestContext&) override {
    absl::MutexLock lock(&mu_);
    ++authenticate_calls_;
    deadline_seen_ = CurrentRequestDeadline();
    if (token == "slow-token") return Caller{"user-slow", {"member"}, "s-2"};
    return absl::UnauthenticatedError("unknown session");
  }
  absl::optional<absl::StatusOr<Caller>> AuthenticateIfCached(absl::string_view token,
                                                              const RequestContext&) override {
    if (token == "cached-token") return absl::StatusOr<Caller>(Caller{"user-7", {"member"}, "s"});
    if (token == "refused-token") {
      return absl::StatusOr<Caller>(absl::UnauthenticatedError("revoked session"));
    }
    return absl::nullopt;
  }
  int authenticate_calls() {
    absl::MutexLock lock(&mu_);
    return authenticate_calls_;
  }
  absl::Time deadline_seen() {
    absl::MutexLock lock(&mu_);
    return deadline_seen_;
  }

 private:
  absl::Mutex mu_;
  int authenticate_calls_ = 0;
  absl::Time deadline_seen_;
};

// Echo through RunAuthenticatedAsync. The message picks how the body ends the call:
// "inline" finishes from the body, "throw" throws there, "twice" finishes twice,
// "fill-throws" completes on the executor with a throwing fill, "hold" completes on the
// executor once the test releases it; anything else completes on the executor, echoing the
// message and the caller.
class AsyncEchoService final : public tv1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const tv1::EchoRequest* request,
                                 tv1::EchoResponse* response) override {
    return RunAuthenticatedAsync(context, executor_, authenticator_,
                                 [=](const Caller& caller, const RequestContext& rc,
                                     const AsyncCaller& async_caller, const AsyncReply& reply) {
                                   response->set_request_id(rc.request_id());
                                   response->set_caller_id(caller.user_id);
                                   const std::string& message = request->message();
                                   if (message == "inline") return reply.Finish(absl::OkStatus());
                                   if (message == "throw") throw std::runtime_error("body failed");
                                   if (message == "twice") {
                                     reply.Finish(absl::OkStatus());
                                     return reply.Finish(absl::InternalError("a second finish"));
                                   }
                                   async_caller.run_blocking([=] {
                                     if (message == "hold") {
                                       held_.Notify();
                                       release_.WaitForNotificationWithTimeout(absl::Seconds(10));
                                     }
                                     reply.Complete([&]() -> absl::Status {
                                       if (message == "fill-throws")
                                         throw std::runtime_error("fill failed");
                                       response->set_message(message);
                                       return absl::OkStatus();
                                     });
                                   });
                                 });
  }

  TwoSpeedAuthenticator authenticator_;
  absl::Notification held_;
  absl::Notification release_;
  BlockingExecutor executor_{"async-echo", 4};
};

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ServerConfig().max_calls_in_flight); }

  // Every path of a call gives its place in CallsInFlight back (the count is process-wide).
  void TearDown() override {
    server_.reset();
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (CallsInFlight::Process().count() != 0 && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(CallsInFlight::Process().count(), 0);
  }

  void StartServer(int max_calls_in_flight) {
    server_.reset();
    ServerConfig config;
    config.listen_address = "127.0.0.1:0";
    config.drain_timeout = absl::Seconds(3);
    config.max_calls_in_flight = max_calls_in_flight;
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
        config, {{&service_, tv1::EchoService::service_full_name()}}, /*handle_signals=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = tv1::EchoService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  // Echo with `token` (none when empty) and a 5 s deadline; the client-side status.
  absl::Status Call(const std::string& token, const std::string& message,
                    tv1::EchoResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    tv1::EchoRequest request;
    request.set_message(message);
    return FromGrpcStatus(stub_->Echo(&context, request, response));
  }

  AsyncEchoService service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<tv1::EchoService::Stub> stub_;
};

TEST_F(HandlerTest, ACallerKnownWithoutBlockingIsServedWithoutTheExecutor) {
  tv1::EchoResponse response;
  ASSERT_TRUE(Call("cached-token", "inline", &response).ok());
  EXPECT_EQ(response.caller_id(), "user-7");
  EXPECT_FALSE(response.request_id().empty());
  EXPECT_EQ(service_.authenticator_.authenticate_calls(), 0);
  EXPECT_EQ(service_.executor_.started_threads(), 0);
}

TEST_F(HandlerTest, AnyOtherCallerIsAuthenticatedOnTheExecutorUnderTheCallsDeadline) {
  const absl::Time before = absl::Now();
  tv1::EchoResponse response;
  ASSERT_TRUE(Call("slow-token", "inline", &response).ok());
  EXPECT_EQ(response.caller_id(), "user-slow");
  EXPECT_EQ(service_.authenticator_.authenticate_calls(), 1);
  EXPECT_GE(service_.executor_.started_threads(), 1);
  const absl::Time deadline = service_.authenticator_.deadline_seen();
  EXPECT_GT(deadline, before + absl::Seconds(4));  // the client's 5 s deadline
  EXPECT_LT(deadline, before + absl::Seconds(6));
}

TEST_F(HandlerTest, ACallWhoseDeadlinePassesBeforeAThreadIsFreeIsNotAuthenticated) {
  absl::Notification release;
  for (int i = 0; i < service_.executor_.max_threads(); ++i) {
    service_.executor_.Submit([&release] { release.WaitForNotification(); });
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  context.AddMetadata("authorization", "Bearer slow-token");
  tv1::EchoRequest request;
  request.set_message("inline");
  tv1::EchoResponse response;
  grpc::Status status = stub_->Echo(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  absl::SleepFor(absl::Milliseconds(100));  // past the server-side deadline too
  release.Notify();
  // The queued task runs once threads are free, sees the deadline gone and asks nobody.
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (service_.executor_.queued() > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(service_.authenticator_.authenticate_calls(), 0);
}

TEST_F(HandlerTest, WorkCompletedOnTheExecutorFillsTheResponse) {
  tv1::EchoResponse response;
  ASSERT_TRUE(Call("cached-token", "later", &response).ok());
  EXPECT_EQ(response.message(), "later");
  EXPECT_EQ(response.caller_id(), "user-7");
}

TEST_F(HandlerTest, RefusedOrMissingCredentialsEndTheCallWithTheirStatus) {
  tv1::EchoResponse response;
  EXPECT_EQ(Call("refused-token", "inline", &response).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Call("stolen-token", "inline", &response).code(), absl::StatusCode::kUnauthenticated);
  absl::Status missing = Call("", "inline", &response);
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorInfoOf(missing)->reason, "MISSING_CREDENTIALS");
  EXPECT_EQ(service_.authenticator_.authenticate_calls(), 1);  // the stolen token only
}

TEST_F(HandlerTest, AnExceptionInTheBodyOrInTheCompletionBecomesInternal) {
  tv1::EchoResponse response;
  absl::Status body = Call("cached-token", "throw", &response);
  EXPECT_EQ(body.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(body.message().find("body failed"), std::string::npos);  // scrubbed for the client
  EXPECT_EQ(Call("slow-token", "throw", &response).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Call("cached-token", "fill-throws", &response).code(), absl::StatusCode::kInternal);
}

TEST_F(HandlerTest, ACallBeyondTheLimitInFlightIsAnsweredResourceExhaustedWithoutRunning) {
  StartServer(/*max_calls_in_flight=*/1);
  absl::Status held_status;
  std::thread held_call([&] {
    tv1::EchoResponse response;
    held_status = Call("cached-token", "hold", &response);
  });
  ASSERT_TRUE(service_.held_.WaitForNotificationWithTimeout(absl::Seconds(5)));

  tv1::EchoResponse response;
  absl::Status refused = Call("slow-token", "over the limit", &response);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("calls in flight: 1"));
  EXPECT_EQ(service_.authenticator_.authenticate_calls(), 0);  // nothing of it ran

  service_.release_.Notify();
  held_call.join();
  EXPECT_TRUE(held_status.ok()) << held_status;
  // The place is given back with the answer: the next call is served.
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  absl::Status next;
  do {
    next = Call("cached-token", "after", &response);
  } while (next.code() == absl::StatusCode::kResourceExhausted && absl::Now() < give_up);
  EXPECT_TRUE(next.ok()) << next;
  EXPECT_EQ(response.message(), "after");
}

TEST_F(HandlerTest, OnlyTheFirstFinishOfACallCounts) {
  tv1::EchoResponse response;
  EXPECT_TRUE(Call("cached-token", "twice", &response).ok());
  EXPECT_TRUE(Call("cached-token", "inline", &response).ok());  // the server is still fine
}

// Echo through RunAuthenticated: the authenticate function refuses "refused-token" (and a
// missing token) and otherwise names the caller; the message "throw" throws in the body.
class BlockingEchoService final : public tv1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const tv1::EchoRequest* request,
                                 tv1::EchoResponse* response) override {
    return RunAuthenticated(
        context, executor_,
        [this](const RequestContext& rc) -> absl::StatusOr<std::string> {
          ++authenticate_calls;
          absl::StatusOr<std::string> token = rc.BearerToken();
          if (!token.ok()) return token.status();
          if (*token == "refused-token") return absl::UnauthenticatedError("revoked session");
          return absl::StrCat("user-of-", *token);
        },
        [=](const std::string& actor, const RequestContext& rc) -> absl::Status {
          if (request->message() == "throw") throw std::runtime_error("body failed");
          response->set_caller_id(actor);
          response->set_request_id(rc.request_id());
          response->set_message(request->message());
          return absl::OkStatus();
        });
  }

  std::atomic<int> authenticate_calls{0};

 private:
  BlockingExecutor executor_{"blocking-echo", 2};
};

class RunAuthenticatedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.listen_address = "127.0.0.1:0";
    config.drain_timeout = absl::Seconds(3);
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
        config, {{&service_, tv1::EchoService::service_full_name()}}, /*handle_signals=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = tv1::EchoService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  absl::Status Call(const std::string& token, const std::string& message,
                    tv1::EchoResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    tv1::EchoRequest request;
    request.set_message(message);
    return FromGrpcStatus(stub_->Echo(&context, request, response));
  }

  BlockingEchoService service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<tv1::EchoService::Stub> stub_;
};

TEST_F(RunAuthenticatedTest, TheBodyGetsTheActorTheAuthenticateFunctionReturned) {
  tv1::EchoResponse response;
  absl::Status status = Call("t-1", "hello", &response);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.caller_id(), "user-of-t-1");
  EXPECT_EQ(response.message(), "hello");
  EXPECT_FALSE(response.request_id().empty());
}

TEST_F(RunAuthenticatedTest, ARefusedOrMissingCallerEndsTheCallWithoutRunningTheBody) {
  tv1::EchoResponse response;
  absl::Status refused = Call("refused-token", "never echoed", &response);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated) << refused;
  EXPECT_EQ(response.message(), "");
  absl::Status missing = Call("", "never echoed", &response);
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated) << missing;
  EXPECT_EQ(service_.authenticate_calls.load(), 2);
}

TEST_F(RunAuthenticatedTest, AnExceptionInTheBodyBecomesInternal) {
  tv1::EchoResponse response;
  EXPECT_EQ(Call("t-2", "throw", &response).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(Call("t-2", "after", &response).ok());
}

}  // namespace
}  // namespace suite::rpc
