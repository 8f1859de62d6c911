#include "shared/rpc/server/config.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace suite::rpc {
namespace {

constexpr absl::string_view kFlagPrefix = "--grpc_";
constexpr int kMinMessageBytes = 1024;
constexpr int kMaxMessageBytes = 1024 * 1024 * 1024;

// One value together with where it came from, so errors can name the source.
struct Setting {
  std::string source;  // "--grpc_port" or "IDENTITY_GRPC_PORT"
  std::string value;
};

// The setting names of the table in config.h, without prefix; the flag is the lower-case form.
constexpr absl::string_view kAddr = "GRPC_ADDR";
constexpr absl::string_view kPort = "GRPC_PORT";
constexpr absl::string_view kDrain = "GRPC_DRAIN_TIMEOUT";
constexpr absl::string_view kLameDuck = "GRPC_LAME_DUCK";
constexpr absl::string_view kMaxMessage = "GRPC_MAX_MESSAGE_BYTES";
constexpr absl::string_view kHealthInterval = "GRPC_HEALTH_INTERVAL";
constexpr absl::string_view kHandlerThreads = "GRPC_HANDLER_THREADS";
constexpr absl::string_view kMaxCallsInFlight = "GRPC_MAX_CALLS_IN_FLIGHT";
constexpr absl::string_view kAllNames[] = {kAddr,           kPort,           kDrain,
                                           kLameDuck,       kMaxMessage,     kHealthInterval,
                                           kHandlerThreads, kMaxCallsInFlight};
// Environment-only settings (no flags): never in kAllNames, so Find sees no flag for them.
constexpr absl::string_view kTlsCert = "TLS_CERT_FILE";
constexpr absl::string_view kTlsKey = "TLS_KEY_FILE";
constexpr absl::string_view kTlsClientCa = "TLS_CLIENT_CA_FILE";
constexpr absl::string_view kMetricsPort = "METRICS_PORT";
constexpr absl::string_view kHealthPort = "HEALTH_PORT";
constexpr absl::string_view kHeapTrimInterval = "HEAP_TRIM_INTERVAL";
constexpr absl::string_view kListenHost = "LISTEN_HOST";

std::string FlagName(absl::string_view name) { return "--" + absl::AsciiStrToLower(name); }

absl::Status Invalid(absl::string_view source, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(source, "=\"", value, "\": ", why));
}

// Parses `--grpc_*` flags into a map keyed by setting name.
absl::StatusOr<std::map<std::string, std::string>> ParseFlags(
    const std::vector<std::string>& args) {
  std::map<std::string, std::string> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::StartsWith(arg, kFlagPrefix)) continue;
    absl::string_view name = arg;
    absl::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    std::string key;
    for (absl::string_view candidate : kAllNames) {
      if (FlagName(candidate) == name) key = std::string(candidate);
    }
    if (key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size() || absl::StartsWith(args[i + 1], "--")) {
        return absl::InvalidArgumentError(absl::StrCat("flag ", name, " needs a value"));
      }
      value = args[++i];
    }
    flags[key] = *std::move(value);
  }
  return flags;
}

// Finds the highest-precedence value of `name`: flag, then PREFIX_NAME, then NAME.
absl::optional<Setting> Find(absl::string_view name,
                             const std::map<std::string, std::string>& flags,
                             absl::string_view prefix, const EnvLookup& env) {
  if (auto it = flags.find(std::string(name)); it != flags.end()) {
    return Setting{FlagName(name), it->second};
  }
  if (!prefix.empty()) {
    std::string prefixed = absl::StrCat(prefix, "_", name);
    if (absl::optional<std::string> v = env(prefixed); v.has_value()) {
      return Setting{prefixed, *v};
    }
  }
  if (absl::optional<std::string> v = env(name); v.has_value()) {
    return Setting{std::string(name), *v};
  }
  return absl::nullopt;
}

absl::StatusOr<int> ParsePort(const Setting& s) {
  int port = 0;
  if (!absl::SimpleAtoi(s.value, &port) || port < 0 || port > 65535) {
    return Invalid(s.source, s.value, "must be a port number 0..65535");
  }
  return port;
}

absl::Status CheckAddress(const Setting& s) {
  size_t colon = s.value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Invalid(s.source, s.value, "must be host:port");
  }
  absl::string_view host = absl::string_view(s.value).substr(0, colon);
  if (absl::StartsWith(host, "[") != absl::EndsWith(host, "]")) {
    return Invalid(s.source, s.value, "unbalanced brackets around an IPv6 host");
  }
  return ParsePort(Setting{s.source, s.value.substr(colon + 1)}).status().ok()
             ? absl::OkStatus()
             : Invalid(s.source, s.value, "port must be a number 0..65535");
}

// An IP address literal only: a host name could resolve to several addresses, or to another
// one tomorrow, and which interfaces a port is reachable on must not depend on DNS. IPv6 may
// come in brackets ("[::]"); the result has none.
absl::StatusOr<std::string> ParseListenHost(const Setting& s) {
  absl::string_view host = s.value;
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  const std::string bare(host);
  unsigned char buffer[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, bare.c_str(), buffer) != 1 &&
      inet_pton(AF_INET6, bare.c_str(), buffer) != 1) {
    return Invalid(s.source, s.value,
                   "must be an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::");
  }
  return bare;
}

// The port of a host:port that CheckAddress accepted.
int PortOf(absl::string_view address) {
  int port = 0;
  (void)absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port);
  return port;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(const Setting& s) {
  absl::Duration d;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(s.value, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(s.value, &d)) {
    return Invalid(s.source, s.value, "must be a duration such as 20s, 1500ms or 1m");
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return Invalid(s.source, s.value, "must be a positive, finite duration");
  }
  return d;
}

// As ParsePositiveDuration, but zero is allowed (a setting that can be switched off).
absl::StatusOr<absl::Duration> ParseNonNegativeDuration(const Setting& s) {
  if (s.value == "0") return absl::ZeroDuration();
  absl::Duration d;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(s.value, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(s.value, &d)) {
    return Invalid(s.source, s.value, "must be a duration such as 2s, 1500ms or 0");
  }
  if (d < absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return Invalid(s.source, s.value, "must be zero or a positive, finite duration");
  }
  return d;
}

}  // namespace

absl::optional<std::string> SystemEnv(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return absl::nullopt;
  return std::string(value);
}

std::string JoinHostPort(absl::string_view host, int port) {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<ServerConfig> LoadServerConfig(absl::string_view service_prefix,
                                              const std::vector<std::string>& args,
                                              const ServerConfig& defaults,
                                              const EnvLookup& env) {
  absl::StatusOr<std::map<std::string, std::string>> flags = ParseFlags(args);
  if (!flags.ok()) return flags.status();
  ServerConfig config = defaults;

  const std::string prefix(service_prefix);
  absl::optional<Setting> listen_host = Find(kListenHost, *flags, prefix, env);
  if (listen_host.has_value()) {
    absl::StatusOr<std::string> host = ParseListenHost(*listen_host);
    if (!host.ok()) return host.status();
    config.listen_host = *std::move(host);
  }

  // Address and port: the first level (flag, prefixed, generic) that sets either one decides;
  // within a level the full address wins.
  bool address_set = false;
  std::vector<EnvLookup> levels = {
      [&](absl::string_view n) -> absl::optional<std::string> {
        auto it = flags->find(std::string(n));
        if (it == flags->end()) return absl::nullopt;
        return it->second;
      },
      [&](absl::string_view n) -> absl::optional<std::string> {
        if (prefix.empty()) return absl::nullopt;
        return env(absl::StrCat(prefix, "_", n));
      },
      [&](absl::string_view n) { return env(n); },
  };
  auto source_name = [&](size_t level, absl::string_view n) {
    if (level == 0) return FlagName(n);
    if (level == 1) return absl::StrCat(prefix, "_", n);
    return std::string(n);
  };
  for (size_t level = 0; level < levels.size(); ++level) {
    if (absl::optional<std::string> addr = levels[level](kAddr); addr.has_value()) {
      Setting s{source_name(level, kAddr), *addr};
      if (absl::Status st = CheckAddress(s); !st.ok()) return st;
      config.listen_address = s.value;
      address_set = true;
      break;
    }
    if (absl::optional<std::string> port = levels[level](kPort); port.has_value()) {
      Setting s{source_name(level, kPort), *port};
      absl::StatusOr<int> p = ParsePort(s);
      if (!p.ok()) return p.status();
      config.listen_address = JoinHostPort(config.listen_host, *p);
      address_set = true;
      break;
    }
  }
  if (!address_set && listen_host.has_value()) {
    config.listen_address = JoinHostPort(config.listen_host, PortOf(defaults.listen_address));
  }

  if (absl::optional<Setting> s = Find(kDrain, *flags, prefix, env); s.has_value()) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration(*s);
    if (!d.ok()) return d.status();
    config.drain_timeout = *d;
  }
  if (absl::optional<Setting> s = Find(kLameDuck, *flags, prefix, env); s.has_value()) {
    absl::StatusOr<absl::Duration> d = ParseNonNegativeDuration(*s);
    if (!d.ok()) return d.status();
    config.lame_duck = *d;
  }
  if (absl::optional<Setting> s = Find(kHealthInterval, *flags, prefix, env); s.has_value()) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration(*s);
    if (!d.ok()) return d.status();
    config.health_interval = *d;
  }
  if (absl::optional<Setting> s = Find(kHeapTrimInterval, *flags, prefix, env); s.has_value()) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration(*s);
    if (!d.ok()) return d.status();
    config.heap_trim_interval = *d;
  }
  if (absl::optional<Setting> s = Find(kMaxMessage, *flags, prefix, env); s.has_value()) {
    int bytes = 0;
    if (!absl::SimpleAtoi(s->value, &bytes) || bytes < kMinMessageBytes ||
        bytes > kMaxMessageBytes) {
      return Invalid(s->source, s->value, "must be a byte count between 1024 and 1073741824");
    }
    config.max_message_bytes = bytes;
  }
  if (absl::optional<Setting> s = Find(kHandlerThreads, *flags, prefix, env); s.has_value()) {
    int threads = 0;
    if (!absl::SimpleAtoi(s->value, &threads) || threads < 1 || threads > 1024) {
      return Invalid(s->source, s->value, "must be a thread count between 1 and 1024");
    }
    config.handler_threads = threads;
  }
  if (absl::optional<Setting> s = Find(kMaxCallsInFlight, *flags, prefix, env); s.has_value()) {
    int calls = 0;
    if (!absl::SimpleAtoi(s->value, &calls) || calls < 1 || calls > 1000000) {
      return Invalid(s->source, s->value, "must be a call count between 1 and 1000000");
    }
    config.max_calls_in_flight = calls;
  }

  absl::optional<Setting> cert = Find(kTlsCert, *flags, prefix, env);
  absl::optional<Setting> key = Find(kTlsKey, *flags, prefix, env);
  absl::optional<Setting> client_ca = Find(kTlsClientCa, *flags, prefix, env);
  if (cert.has_value() != key.has_value()) {
    const Setting& given = cert.has_value() ? *cert : *key;
    return Invalid(given.source, given.value,
                   absl::StrCat("needs ", cert.has_value() ? kTlsKey : kTlsCert, " as well"));
  }
  if (cert.has_value()) {
    config.tls.cert_file = cert->value;
    config.tls.key_file = key->value;
  }
  if (client_ca.has_value()) {
    if (!config.tls.enabled()) {
      return Invalid(client_ca->source, client_ca->value,
                     "client certificates need TLS: set TLS_CERT_FILE and TLS_KEY_FILE");
    }
    config.tls.client_ca_file = client_ca->value;
  }

  for (auto [name, port] : {std::pair<absl::string_view, int*>{kMetricsPort, &config.metrics_port},
                            {kHealthPort, &config.health_port}}) {
    if (absl::optional<Setting> s = Find(name, *flags, prefix, env); s.has_value()) {
      absl::StatusOr<int> p = ParsePort(*s);
      if (!p.ok()) return p.status();
      *port = *p;
    }
  }
  return config;
}

}  // namespace suite::rpc
