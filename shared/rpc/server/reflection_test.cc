// Server reflection of GrpcServer, in a binary that does not itself use the health messages or
// the error details: it proves that the server library alone makes grpc.health.v1.Health and
// google.rpc's Status, ErrorInfo and BadRequest describable, as grpcurl / buf curl need.
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "shared/rpc/server/server.h"
#include "testing/v1/echo_service.grpc.pb.h"
#include "testing/v1/reflection_mirror.pb.h"

namespace suite::rpc {
namespace {

namespace tv1 = ::testing::v1;
using ::testing::Contains;

class EchoServiceImpl final : public tv1::EchoService::Service {};

class ReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.listen_address = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
        config, {{&echo_, tv1::EchoService::service_full_name()}}, /*handle_signals=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  // One question to the reflection service over its bidi stream.
  tv1::ReflectionResponse Reflect(const tv1::ReflectionRequest& request) {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::internal::RpcMethod method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                     grpc::internal::RpcMethod::BIDI_STREAMING, channel_);
    std::unique_ptr<grpc::ClientReaderWriter<tv1::ReflectionRequest, tv1::ReflectionResponse>>
        stream(grpc::internal::ClientReaderWriterFactory<
               tv1::ReflectionRequest, tv1::ReflectionResponse>::Create(channel_.get(), method,
                                                                         &context));
    tv1::ReflectionResponse response;
    EXPECT_TRUE(stream->Write(request));
    EXPECT_TRUE(stream->Read(&response));
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return response;
  }

  EchoServiceImpl echo_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// --- reflection -----------------------------------------------------------------------------

TEST_F(ReflectionTest, ReflectionListsTheExampleServiceAndHealth) {
  tv1::ReflectionRequest request;
  request.set_list_services("*");
  tv1::ReflectionResponse response = Reflect(request);
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, Contains("testing.v1.EchoService"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
}

TEST_F(ReflectionTest, ReflectionDescribesHealthAndTheExampleService) {
  for (const auto& [symbol, service_name, method_name] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"grpc.health.v1.Health", "Health", "Check"},
           {"testing.v1.EchoService", "EchoService", "Echo"}}) {
    tv1::ReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    tv1::ReflectionResponse response = Reflect(request);
    ASSERT_TRUE(response.has_file_descriptor_response())
        << symbol << ": " << response.error_response().error_message();
    bool found = false;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      for (const auto& service : file.service()) {
        if (service.name() != service_name) continue;
        for (const auto& method : service.method()) found = found || method.name() == method_name;
      }
    }
    EXPECT_TRUE(found) << symbol;
  }
}

// A client decoding a call's error details (grpc-status-details-bin: a google.rpc.Status of
// Any) asks reflection for their types; the server library itself links them, so every binary
// built on it answers, even one (like this test) whose own code never makes such a detail.
TEST_F(ReflectionTest, ReflectionDescribesTheGoogleRpcErrorDetails) {
  for (const std::string symbol : {"google.rpc.Status", "google.rpc.ErrorInfo",
                                   "google.rpc.BadRequest", "google.rpc.BadRequest.FieldViolation"}) {
    tv1::ReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    tv1::ReflectionResponse response = Reflect(request);
    ASSERT_TRUE(response.has_file_descriptor_response())
        << symbol << ": " << response.error_response().error_message();
    std::vector<std::string> messages;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      for (const auto& m : file.message_type()) {
        messages.push_back(absl::StrCat(file.package(), ".", m.name()));
      }
    }
    const std::string top = symbol.substr(0, symbol.find(".FieldViolation"));
    EXPECT_THAT(messages, Contains(top)) << symbol;
  }
  tv1::ReflectionRequest unknown;
  unknown.set_file_containing_symbol("google.rpc.NoSuchDetail");
  EXPECT_EQ(Reflect(unknown).error_response().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace suite::rpc
