// TLS for the suite's gRPC traffic, from PEM files named by the environment.
//
// Servers: GrpcServer::Start already serves TLS when ServerConfig::tls is set (LoadServerConfig
// fills it from `<PREFIX>_TLS_CERT_FILE`, `<PREFIX>_TLS_KEY_FILE` and, for mutual TLS,
// `<PREFIX>_TLS_CLIENT_CA_FILE`); ServerCredentialsFor is the same conversion for hand-built
// servers. Clients: a service calling another builds its channel with MakeChannel, which uses
// the client settings of the process:
//
//   SUITE_TLS_CA_FILE           CA bundle that signed the servers' certificates (unset = plaintext)
//   SUITE_TLS_CLIENT_CERT_FILE  this service's client certificate, for servers requiring mTLS
//   SUITE_TLS_CLIENT_KEY_FILE   its private key (required with the certificate)
//   SUITE_TLS_SERVER_NAME       optional: the name to expect in the server's certificate when
//                               it differs from the host of the address
//
//   SUITE_ASSIGN_OR_RETURN(suite::rpc::ClientTlsConfig tls, suite::rpc::LoadClientTlsConfig());
//   SUITE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> identity,
//                          suite::rpc::MakeChannel(identity_addr, tls));
#ifndef SUITE_SHARED_RPC_SERVER_TLS_H_
#define SUITE_SHARED_RPC_SERVER_TLS_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/rpc/server/config.h"

namespace suite::rpc {

// How this process connects to other services; all empty = plaintext.
struct ClientTlsConfig {
  std::string ca_file;           // PEM CA bundle to verify servers; empty with TLS = system roots
  std::string cert_file;         // PEM client certificate chain, for mutual TLS
  std::string key_file;          // its PEM private key
  std::string server_name;       // expected name in the server certificate; empty = the host

  bool enabled() const { return !ca_file.empty() || !cert_file.empty(); }
};

// LoadClientTlsConfig reads the SUITE_TLS_* variables above through `env`. Returns
// INVALID_ARGUMENT naming the variable when only one of the client certificate and key is set.
// Does not open the files. Thread-safe if `env` is.
absl::StatusOr<ClientTlsConfig> LoadClientTlsConfig(const EnvLookup& env = SystemEnv);

// ServerCredentialsFor reads the files of `tls` and returns TLS server credentials (requiring
// and verifying client certificates when tls.mutual()), or insecure ones when TLS is off.
// Returns INVALID_ARGUMENT naming the file when one cannot be read or is empty. Thread-safe.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const ServerTlsConfig& tls);

// ChannelCredentialsFor is the client-side counterpart: TLS credentials with the CA and the
// client certificate of `tls`, or insecure ones when TLS is off. Returns INVALID_ARGUMENT
// naming the file when one cannot be read or is empty. Thread-safe.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const ClientTlsConfig& tls);

// The service config of the suite's channels between services: calls spread over every address
// the target resolves to (a Kubernetes headless Service's pods, or "ipv4:h:p1,h:p2"), and a
// replica whose grpc.health.v1 Watch says NOT_SERVING (the database is down, a migration is
// missing, or it is in its lame duck before a shutdown, server.h) gets no new calls while
// another is SERVING. That is what lets a rolling upgrade replace replicas without failing calls.
inline constexpr absl::string_view kReplicatedServiceConfig =
    R"({"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}})";

// MakeChannel opens a channel to `address` (a host:port or any gRPC target, e.g.
// "dns:///identity:50051" or "ipv4:127.0.0.1:7001,127.0.0.1:7002") with
// ChannelCredentialsFor(tls), `args`, kReplicatedServiceConfig unless `args` carries a service
// config of its own, and tls.server_name as the expected certificate name when set. The channel connects lazily:
// an unreachable address shows as UNAVAILABLE on the first call, not here. Returns
// INVALID_ARGUMENT for an empty address or an unreadable file. Thread-safe.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    absl::string_view address, const ClientTlsConfig& tls,
    grpc::ChannelArguments args = grpc::ChannelArguments());

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_SERVER_TLS_H_
