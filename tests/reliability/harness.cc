#include "tests/reliability/harness.h"

#include <cstdio>
#include <cstdlib>

#include <pqxx/pqxx>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "shared/db/errors.h"
#include "shared/rpc/server/tls.h"

namespace suite::reliability {
namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return "";
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

}  // namespace

RawResult CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                  const std::string& request, const std::string& bearer_token,
                  absl::Duration deadline) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!bearer_token.empty()) context.AddMetadata("authorization", "Bearer " + bearer_token);
  grpc::ByteBuffer in = ToBuffer(request);
  grpc::ByteBuffer out;
  RawResult result;
  absl::Notification done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    result.status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (result.status.ok()) result.response = FromBuffer(out);
  return result;
}

HealthStatus HealthOf(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                      absl::Duration deadline) {
  // grpc.health.v1.HealthCheckRequest { string service = 1; } by hand: no generated code is
  // needed for one field.
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  RawResult r = CallRaw(channel, "/grpc.health.v1.Health/Check", request, "", deadline);
  if (!r.status.ok()) {
    return r.status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   r.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
               ? HealthStatus::kUnreachable
               : HealthStatus::kUnknown;
  }
  // HealthCheckResponse { ServingStatus status = 1; }: SERVING = 1, NOT_SERVING = 2.
  if (r.response.size() == 2 && r.response[0] == 0x08) {
    if (r.response[1] == 1) return HealthStatus::kServing;
    if (r.response[1] == 2) return HealthStatus::kNotServing;
  }
  return HealthStatus::kUnknown;
}

const char* HealthName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kServing:
      return "SERVING";
    case HealthStatus::kNotServing:
      return "NOT_SERVING";
    case HealthStatus::kUnreachable:
      return "UNREACHABLE";
    default:
      return "UNKNOWN";
  }
}

absl::StatusOr<int64_t> CountRows(const std::string& database_url, absl::string_view schema) {
  try {
    pqxx::connection conn(database_url);
    pqxx::nontransaction tx(conn);
    pqxx::result tables = tx.exec_params(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM "
        "information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' "
        "ORDER BY 1",
        std::string(schema));
    if (tables.empty()) return int64_t{0};
    std::string sql = "SELECT 0";
    // Table names come from the catalog, quoted by quote_ident: not user input.
    for (const auto& row : tables) {
      absl::StrAppend(&sql, " + (SELECT count(*) FROM ", row[0].as<std::string>(), ")");
    }
    return tx.exec1(sql)[0].as<int64_t>();
  } catch (const std::exception& e) {
    return suite::db::StatusFromException(e);
  }
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address, int max_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_bytes);
  args.SetMaxSendMessageSize(max_bytes);
  // One server per address here, observed as it is: without client-side health checking
  // (MakeChannel's default), a NOT_SERVING server would get no call at all, its health
  // included, and the tests would see the channel's refusal instead of the server's answer.
  args.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"pick_first":{}}]})");
  const absl::StatusOr<rpc::ClientTlsConfig> tls = rpc::LoadClientTlsConfig();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      tls.ok() ? rpc::MakeChannel(address, *tls, args) : tls.status();
  if (!channel.ok()) {
    // A harness without a channel cannot go on; the cause is this process's TLS settings.
    std::fprintf(stderr, "harness: channel to %s: %s\n", address.c_str(),
                 channel.status().ToString().c_str());
    std::abort();
  }
  return *std::move(channel);
}

}  // namespace suite::reliability
