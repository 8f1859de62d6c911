// The interceptor's answer to a unary request that does not parse: INVALID_ARGUMENT, the same on
// the callback and the sync API, without running the handler. (The log line and request ids are
// proved in server_test.cc, the metrics in metrics_test.cc.)
#include "shared/rpc/server/call_interceptor.h"

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/server.h"
#include "testing/v1/echo_service.grpc.pb.h"

namespace suite::rpc {
namespace {

namespace tv1 = ::testing::v1;

class CallbackEcho final : public tv1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const tv1::EchoRequest* request,
                                 tv1::EchoResponse* response) override {
    return RunBlocking(context, executor_, [=]() -> grpc::Status {
      runs.fetch_add(1);
      response->set_message(request->message());
      return grpc::Status::OK;
    });
  }
  std::atomic<int> runs{0};

 private:
  BlockingExecutor executor_{"echo", 2};
};

class SyncEcho final : public tv1::EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const tv1::EchoRequest* request,
                    tv1::EchoResponse* response) override {
    runs.fetch_add(1);
    response->set_message(request->message());
    return grpc::Status::OK;
  }
  std::atomic<int> runs{0};
};

// EchoRequest{message = `text`} encoded by hand, so it can carry bytes that are not UTF-8.
std::string EchoRequestBytes(const std::string& text) {
  return absl::StrCat(std::string(1, '\x0a'), std::string(1, static_cast<char>(text.size())), text);
}

grpc::Status CallRaw(int port, const std::string& method, const std::string& bytes) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    result = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

template <typename Service>
class UnparseableRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.listen_address = "127.0.0.1:0";
    auto server = GrpcServer::Start(config, {{&service_, tv1::EchoService::service_full_name()}},
                                    /*handle_signals=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  Service service_;
  std::unique_ptr<GrpcServer> server_;
};

using Apis = ::testing::Types<CallbackEcho, SyncEcho>;
TYPED_TEST_SUITE(UnparseableRequestTest, Apis);

TYPED_TEST(UnparseableRequestTest, InvalidUtf8IsInvalidArgumentAndTheHandlerNeverRuns) {
  grpc::Status status =
      CallRaw(this->server_->port(), "/testing.v1.EchoService/Echo", EchoRequestBytes("a\xff\xfe"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("could not be parsed"), std::string::npos);
  EXPECT_EQ(this->service_.runs.load(), 0);
}

TYPED_TEST(UnparseableRequestTest, TruncatedMessageIsInvalidArgument) {
  // Field 1 announces 10 bytes and brings 2.
  grpc::Status status =
      CallRaw(this->server_->port(), "/testing.v1.EchoService/Echo", std::string("\x0a\x0a" "ab"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(this->service_.runs.load(), 0);
}

TYPED_TEST(UnparseableRequestTest, ValidBytesStillReachTheHandler) {
  grpc::Status status =
      CallRaw(this->server_->port(), "/testing.v1.EchoService/Echo", EchoRequestBytes("fine"));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(this->service_.runs.load(), 1);
}

TYPED_TEST(UnparseableRequestTest, UnknownMethodStaysUnimplemented) {
  grpc::Status status =
      CallRaw(this->server_->port(), "/testing.v1.EchoService/NoSuchMethod", EchoRequestBytes("x"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace suite::rpc
