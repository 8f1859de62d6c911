#include "shared/rpc/server/tls.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace suite::rpc {
namespace {

// ReadPem returns the whole file; `what` names it in the error.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " file \"", path, "\""));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (contents.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " file \"", path, "\" is empty"));
  }
  return contents.str();
}

}  // namespace

absl::StatusOr<ClientTlsConfig> LoadClientTlsConfig(const EnvLookup& env) {
  ClientTlsConfig tls;
  tls.ca_file = env("SUITE_TLS_CA_FILE").value_or("");
  tls.cert_file = env("SUITE_TLS_CLIENT_CERT_FILE").value_or("");
  tls.key_file = env("SUITE_TLS_CLIENT_KEY_FILE").value_or("");
  tls.server_name = env("SUITE_TLS_SERVER_NAME").value_or("");
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        tls.cert_file.empty()
            ? "SUITE_TLS_CLIENT_KEY_FILE is set without SUITE_TLS_CLIENT_CERT_FILE"
            : "SUITE_TLS_CLIENT_CERT_FILE is set without SUITE_TLS_CLIENT_KEY_FILE");
  }
  return tls;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const ServerTlsConfig& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPem(tls.cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(tls.key_file, "TLS key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(
      tls.mutual() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (tls.mutual()) {
    absl::StatusOr<std::string> ca = ReadPem(tls.client_ca_file, "TLS client CA");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const ClientTlsConfig& tls) {
  if (!tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(tls.ca_file, "TLS CA");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  if (!tls.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(tls.cert_file, "TLS client certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(tls.key_file, "TLS client key");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(absl::string_view address,
                                                           const ClientTlsConfig& tls,
                                                           grpc::ChannelArguments args) {
  if (address.empty()) return absl::InvalidArgumentError("channel address is empty");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ChannelCredentialsFor(tls);
  if (!credentials.ok()) return credentials.status();
  if (tls.enabled() && !tls.server_name.empty()) {
    args.SetSslTargetNameOverride(tls.server_name);
  }
  bool has_service_config = false;
  const grpc_channel_args c_args = args.c_channel_args();
  for (size_t i = 0; i < c_args.num_args; ++i) {
    has_service_config |= std::string(c_args.args[i].key) == GRPC_ARG_SERVICE_CONFIG;
  }
  if (!has_service_config) {
    args.SetServiceConfigJSON(std::string(kReplicatedServiceConfig));
    // A replaced replica comes back on the same address within seconds; gRPC's default backoff
    // (up to 120 s) would leave its subchannel idle long after, and the next replica's lame
    // duck would find no other READY one to move to.
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  }
  return grpc::CreateCustomChannel(std::string(address), *credentials, args);
}

}  // namespace suite::rpc
