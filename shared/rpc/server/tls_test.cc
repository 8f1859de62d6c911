// TLS and mutual TLS of GrpcServer and MakeChannel over real loopback connections, with a
// throw-away PKI made by the openssl command line at test time: CA "a" signs the server
// certificate (for localhost and 127.0.0.1) and a good client certificate; an unrelated CA "b"
// signs an impostor client certificate.
#include "shared/rpc/server/tls.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/server.h"
#include "testing/v1/echo_service.grpc.pb.h"

namespace suite::rpc {
namespace {

namespace tv1 = ::testing::v1;
using ::testing::HasSubstr;

class EchoServiceImpl final : public tv1::EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const tv1::EchoRequest* request,
                    tv1::EchoResponse* response) override {
    response->set_message(request->message());
    return grpc::Status::OK;
  }
};

// A PKI in a fresh temporary directory, created once for the whole binary.
class Pki {
 public:
  static const Pki& Get() {
    static const Pki* pki = new Pki();
    return *pki;
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  bool ok() const { return ok_; }

 private:
  Pki() {
    // Under Bazel, inside the test's own temporary directory, which Bazel removes: the PKI's
    // private keys are not left behind in /tmp.
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/suite-tls-XXXXXX");
    const char* made = mkdtemp(tmpl.data());
    if (made == nullptr) return;
    dir_ = made;
    ok_ = MakeCa("ca-a") && MakeCa("ca-b") &&
          MakeLeaf("server", "ca-a", "subjectAltName=DNS:localhost,IP:127.0.0.1") &&
          MakeLeaf("client", "ca-a", "extendedKeyUsage=clientAuth") &&
          MakeLeaf("impostor", "ca-b", "extendedKeyUsage=clientAuth");
  }
  bool Sh(const std::string& command) const {
    return std::system(absl::StrCat("cd ", dir_, " && ", command, " >/dev/null 2>&1").c_str()) ==
           0;
  }
  bool MakeCa(const std::string& name) const {
    return Sh(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 ",
                           "-nodes -days 1 -subj /CN=", name, " -keyout ", name, ".key -out ",
                           name, ".pem"));
  }
  bool MakeLeaf(const std::string& name, const std::string& ca, const std::string& ext) const {
    std::ofstream(Path(name + ".ext")) << ext << "\n";
    return Sh(absl::StrCat("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 ",
                           "-nodes -subj /CN=", name, " -keyout ", name, ".key -out ", name,
                           ".csr")) &&
           Sh(absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                           ".key -CAcreateserial -days 1 -extfile ", name, ".ext -out ", name,
                           ".pem"));
  }

  std::string dir_;
  bool ok_ = false;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Pki::Get().ok()) << "openssl could not make the PKI"; }

  // Starts the echo server with `tls` on a free loopback port.
  void StartServer(const ServerTlsConfig& tls) {
    ServerConfig config;
    config.listen_address = "127.0.0.1:0";
    config.drain_timeout = absl::Seconds(1);
    config.tls = tls;
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
        config, {{&echo_, tv1::EchoService::service_full_name()}}, /*handle_signals=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  static ServerTlsConfig ServerTls(bool mutual) {
    const Pki& pki = Pki::Get();
    ServerTlsConfig tls{pki.Path("server.pem"), pki.Path("server.key"), ""};
    if (mutual) tls.client_ca_file = pki.Path("ca-a.pem");
    return tls;
  }

  // A client trusting CA a, presenting `client` ("" = no certificate).
  static ClientTlsConfig ClientTls(const std::string& client) {
    const Pki& pki = Pki::Get();
    ClientTlsConfig tls;
    tls.ca_file = pki.Path("ca-a.pem");
    if (!client.empty()) {
      tls.cert_file = pki.Path(client + ".pem");
      tls.key_file = pki.Path(client + ".key");
    }
    return tls;
  }

  // One Echo call through a channel made by MakeChannel to `host`:port.
  grpc::Status Call(const ClientTlsConfig& tls, const std::string& host = "localhost") {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        MakeChannel(absl::StrCat(host, ":", server_->port()), tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    tv1::EchoRequest request;
    request.set_message("over tls");
    tv1::EchoResponse response;
    grpc::Status status = tv1::EchoService::NewStub(*channel)->Echo(&context, request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.message(), "over tls");
    }
    return status;
  }

  EchoServiceImpl echo_;
  std::unique_ptr<GrpcServer> server_;
};

// The kubelet's native gRPC probe speaks plaintext only: a mutual-TLS server is probed on its
// plaintext health port, which serves nothing else.
TEST_F(TlsTest, AMutualTlsServerIsProbedInPlaintextOnItsHealthPort) {
  ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.drain_timeout = absl::Seconds(1);
  config.tls = ServerTls(/*mutual=*/true);
  config.health_port = 0;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config, {{&echo_, tv1::EchoService::service_full_name()}}, /*handle_signals=*/false);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  ASSERT_GT(server_->health_port(), 0);
  auto plaintext_check = [](int port) {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                       grpc::InsecureChannelCredentials());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
        &context, grpc::health::v1::HealthCheckRequest(), &response);
    return status.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                             response.status())
                       : absl::StrCat("code ", status.error_code());
  };
  EXPECT_EQ(plaintext_check(server_->health_port()), "SERVING");
  EXPECT_EQ(plaintext_check(server_->port()), absl::StrCat("code ", grpc::UNAVAILABLE));
  EXPECT_TRUE(Call(ClientTls("client")).ok());
  server_->SetServing(false);
  EXPECT_EQ(plaintext_check(server_->health_port()), "NOT_SERVING");
  // The TLS port says the same: a channel of MakeChannel watches health over TLS and sends no
  // call to a replica that is NOT_SERVING (kReplicatedServiceConfig).
  grpc::Status refused = Call(ClientTls("client"));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  server_->SetServing(true);
  EXPECT_TRUE(Call(ClientTls("client")).ok());
}

TEST_F(TlsTest, TlsServerAnswersAClientTrustingItsCa) {
  StartServer(ServerTls(/*mutual=*/false));
  EXPECT_TRUE(Call(ClientTls("")).ok());
  EXPECT_TRUE(Call(ClientTls(""), "127.0.0.1").ok());
}

TEST_F(TlsTest, TlsServerRefusesAPlaintextClient) {
  StartServer(ServerTls(/*mutual=*/false));
  EXPECT_EQ(Call(ClientTlsConfig{}).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ClientRefusesAServerSignedByAnotherCa) {
  StartServer(ServerTls(/*mutual=*/false));
  ClientTlsConfig tls;
  tls.ca_file = Pki::Get().Path("ca-b.pem");
  EXPECT_EQ(Call(tls).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ServerNameOverrideMustMatchTheCertificate) {
  StartServer(ServerTls(/*mutual=*/false));
  ClientTlsConfig tls = ClientTls("");
  tls.server_name = "localhost";
  EXPECT_TRUE(Call(tls, "127.0.0.1").ok());
  tls.server_name = "billing.example";
  EXPECT_EQ(Call(tls, "127.0.0.1").error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsAcceptsAClientCertificateFromTheTrustedCa) {
  StartServer(ServerTls(/*mutual=*/true));
  EXPECT_TRUE(Call(ClientTls("client")).ok());
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutCertificate) {
  StartServer(ServerTls(/*mutual=*/true));
  EXPECT_EQ(Call(ClientTls("")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsRefusesAClientCertificateFromAnotherCa) {
  StartServer(ServerTls(/*mutual=*/true));
  EXPECT_EQ(Call(ClientTls("impostor")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsRefusesAPlaintextClient) {
  StartServer(ServerTls(/*mutual=*/true));
  EXPECT_EQ(Call(ClientTlsConfig{}).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, StartFailsWithInvalidArgumentNamingAMissingFile) {
  ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.tls = ServerTls(/*mutual=*/true);
  config.tls.client_ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config, {{&echo_, tv1::EchoService::service_full_name()}}, /*handle_signals=*/false);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

TEST_F(TlsTest, MakeChannelRejectsAnEmptyAddressAndUnreadableFiles) {
  EXPECT_EQ(MakeChannel("", ClientTlsConfig{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ClientTlsConfig tls;
  tls.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel("localhost:1", tls);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

// --- configuration from the environment ----------------------------------------------------

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

TEST(TlsConfigTest, PlaintextIsTheDefault) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig("BILLING", {}, {}, FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->tls.enabled());
  absl::StatusOr<ClientTlsConfig> client = LoadClientTlsConfig(FakeEnv({}));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_FALSE(client->enabled());
}

TEST(TlsConfigTest, PrefixedVariablesBeatGenericOnes) {
  absl::StatusOr<ServerConfig> config =
      LoadServerConfig("BILLING", {}, {},
                       FakeEnv({{"BILLING_TLS_CERT_FILE", "/b/cert.pem"},
                                {"BILLING_TLS_KEY_FILE", "/b/key.pem"},
                                {"TLS_CERT_FILE", "/generic/cert.pem"},
                                {"TLS_KEY_FILE", "/generic/key.pem"},
                                {"TLS_CLIENT_CA_FILE", "/generic/ca.pem"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls.cert_file, "/b/cert.pem");
  EXPECT_EQ(config->tls.key_file, "/b/key.pem");
  EXPECT_EQ(config->tls.client_ca_file, "/generic/ca.pem");
  EXPECT_TRUE(config->tls.mutual());
}

TEST(TlsConfigTest, CertificateWithoutKeyIsInvalid) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(
      "BILLING", {}, {}, FakeEnv({{"BILLING_TLS_CERT_FILE", "/b/cert.pem"}}));
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("BILLING_TLS_CERT_FILE"));
}

TEST(TlsConfigTest, ClientCaWithoutServerCertificateIsInvalid) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(
      "BILLING", {}, {}, FakeEnv({{"BILLING_TLS_CLIENT_CA_FILE", "/b/ca.pem"}}));
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("BILLING_TLS_CLIENT_CA_FILE"));
}

TEST(TlsConfigTest, ClientSettingsComeFromSuiteVariables) {
  absl::StatusOr<ClientTlsConfig> client =
      LoadClientTlsConfig(FakeEnv({{"SUITE_TLS_CA_FILE", "/ca.pem"},
                                   {"SUITE_TLS_CLIENT_CERT_FILE", "/c.pem"},
                                   {"SUITE_TLS_CLIENT_KEY_FILE", "/c.key"},
                                   {"SUITE_TLS_SERVER_NAME", "identity"}}));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(client->ca_file, "/ca.pem");
  EXPECT_EQ(client->cert_file, "/c.pem");
  EXPECT_EQ(client->key_file, "/c.key");
  EXPECT_EQ(client->server_name, "identity");
  EXPECT_EQ(LoadClientTlsConfig(FakeEnv({{"SUITE_TLS_CLIENT_CERT_FILE", "/c.pem"}}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// The metrics port and the plaintext health port: unset = none (-1), prefixed or generic
// variable, and a bad value names the variable.
TEST(TlsConfigTest, OptionalPortsAreOffByDefaultAndReadFromTheEnvironment) {
  for (const auto& [name, port] : {std::pair<std::string, int ServerConfig::*>{
                                       "METRICS_PORT", &ServerConfig::metrics_port},
                                   {"HEALTH_PORT", &ServerConfig::health_port}}) {
    absl::StatusOr<ServerConfig> config = LoadServerConfig("BILLING", {}, {}, FakeEnv({}));
    ASSERT_TRUE(config.ok());
    EXPECT_EQ((*config).*port, -1) << name;
    config = LoadServerConfig("BILLING", {}, {}, FakeEnv({{"BILLING_" + name, "9090"}}));
    ASSERT_TRUE(config.ok()) << name;
    EXPECT_EQ((*config).*port, 9090) << name;
    for (const char* bad : {"70000", "x"}) {
      config = LoadServerConfig("BILLING", {}, {}, FakeEnv({{name, bad}}));
      EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << name << bad;
      EXPECT_THAT(config.status().message(), HasSubstr(name));
    }
  }
}

}  // namespace
}  // namespace suite::rpc
