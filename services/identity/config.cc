#include "services/identity/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/identity/domain/client_address.h"
#include "shared/base/status_macros.h"

namespace suite::identity {
namespace {

absl::Status Bad(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", why));
}

absl::Status ReadInt(const EnvLookup& env, absl::string_view name, int64_t min, int64_t* out) {
  absl::optional<std::string> v = env(name);
  if (!v || v->empty()) return absl::OkStatus();
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(*v, &parsed)) return Bad(name, "not an integer");
  if (parsed < min) return Bad(name, absl::StrCat("must be at least ", min));
  *out = parsed;
  return absl::OkStatus();
}

absl::Status ReadDuration(const EnvLookup& env, absl::string_view name, absl::Duration* out) {
  absl::optional<std::string> v = env(name);
  if (!v || v->empty()) return absl::OkStatus();
  absl::Duration d;
  if (!absl::ParseDuration(*v, &d) || d <= absl::ZeroDuration()) {
    return Bad(name, "not a positive duration like 15m or 12h");
  }
  *out = d;
  return absl::OkStatus();
}

// The fewest argon2id passes OWASP accepts with `mem_kib` of memory (its five settings of
// equal strength, m = 47/19/12/9/7 MiB with t = 1/2/3/4/5); 0 below 7 MiB, which it never
// accepts.
int64_t OwaspMinimumPasses(int64_t mem_kib) {
  constexpr struct {
    int64_t mem_kib;
    int64_t passes;
  } kOwasp[] = {{47 * 1024, 1}, {19 * 1024, 2}, {12 * 1024, 3}, {9 * 1024, 4}, {7 * 1024, 5}};
  for (const auto& setting : kOwasp) {
    if (mem_kib >= setting.mem_kib) return setting.passes;
  }
  return 0;
}

}  // namespace

absl::StatusOr<IdentityConfig> LoadIdentityConfig(const EnvLookup& env) {
  IdentityConfig c;
  int64_t ops = static_cast<int64_t>(c.hasher.opslimit);
  int64_t mem_kib = static_cast<int64_t>(c.hasher.memlimit / 1024);
  int64_t workers = c.hasher.workers, queue = c.hasher.queue_capacity;
  // Settings weaker than OWASP's argon2id recommendations are refused in production.
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_ARGON2_OPSLIMIT", 1, &ops));
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_ARGON2_MEMLIMIT_KIB", 7 * 1024, &mem_kib));
  if (ops < OwaspMinimumPasses(mem_kib)) {
    return Bad("IDENTITY_ARGON2_OPSLIMIT",
               absl::StrCat("must be at least ", OwaspMinimumPasses(mem_kib),
                            " with IDENTITY_ARGON2_MEMLIMIT_KIB=", mem_kib,
                            " (OWASP: m = 47/19/12/9/7 MiB with t = 1/2/3/4/5)"));
  }
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_HASH_WORKERS", 1, &workers));
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_HASH_QUEUE", 1, &queue));
  if (mem_kib > 4 * 1024 * 1024) return Bad("IDENTITY_ARGON2_MEMLIMIT_KIB", "at most 4 GiB");
  if (ops > 64) return Bad("IDENTITY_ARGON2_OPSLIMIT", "at most 64");
  if (workers > 64) return Bad("IDENTITY_HASH_WORKERS", "at most 64");
  c.hasher.opslimit = static_cast<uint64_t>(ops);
  c.hasher.memlimit = static_cast<size_t>(mem_kib) * 1024;
  c.hasher.workers = static_cast<int>(workers);
  c.hasher.queue_capacity = static_cast<int>(queue);

  IdentityOptions& o = c.identity;
  SUITE_RETURN_IF_ERROR(ReadDuration(env, "IDENTITY_SESSION_IDLE_TIMEOUT", &o.session_idle_timeout));
  SUITE_RETURN_IF_ERROR(
      ReadDuration(env, "IDENTITY_SESSION_ABSOLUTE_TIMEOUT", &o.session_absolute_timeout));
  SUITE_RETURN_IF_ERROR(ReadDuration(env, "IDENTITY_LAST_SEEN_INTERVAL", &o.last_seen_interval));
  LoginLimits& limits = o.login_limits;
  SUITE_RETURN_IF_ERROR(ReadDuration(env, "IDENTITY_LOGIN_WINDOW", &limits.window));
  SUITE_RETURN_IF_ERROR(ReadDuration(env, "IDENTITY_LOGIN_PAIR_WINDOW", &limits.pair_window));
  SUITE_RETURN_IF_ERROR(ReadDuration(env, "IDENTITY_LOGIN_BASE_DELAY", &limits.base_delay));
  SUITE_RETURN_IF_ERROR(ReadDuration(env, "IDENTITY_LOGIN_MAX_DELAY", &limits.max_delay));
  SUITE_RETURN_IF_ERROR(
      ReadDuration(env, "IDENTITY_EMAIL_VERIFICATION_TTL", &o.email_verification_ttl));
  int64_t per_email = limits.max_failures_per_email;
  int64_t per_ip = limits.max_failures_per_ip;
  int64_t free_failures = limits.free_failures;
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL", 1, &per_email));
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_LOGIN_MAX_FAILURES_PER_IP", 1, &per_ip));
  SUITE_RETURN_IF_ERROR(ReadInt(env, "IDENTITY_LOGIN_FREE_FAILURES", 0, &free_failures));
  if (per_email > 100000) return Bad("IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL", "at most 100000");
  if (per_ip > 100000) return Bad("IDENTITY_LOGIN_MAX_FAILURES_PER_IP", "at most 100000");
  if (free_failures > 100) return Bad("IDENTITY_LOGIN_FREE_FAILURES", "at most 100");
  limits.max_failures_per_email = static_cast<int>(per_email);
  limits.max_failures_per_ip = static_cast<int>(per_ip);
  limits.free_failures = static_cast<int>(free_failures);
  if (limits.base_delay > limits.max_delay) {
    return Bad("IDENTITY_LOGIN_BASE_DELAY", "must not exceed IDENTITY_LOGIN_MAX_DELAY");
  }
  // A pair that keeps guessing once every max_delay must stay at max_delay: the failures that
  // reach it have to fit in the pair window, or the oldest age out and the delay falls back.
  const absl::Duration least_pair_window =
      limits.max_delay * (limits.FailuresToReachMaxDelay() + 1);
  if (limits.pair_window < least_pair_window) {
    return Bad("IDENTITY_LOGIN_PAIR_WINDOW",
               absl::StrCat("must be at least ", absl::FormatDuration(least_pair_window),
                            " (IDENTITY_LOGIN_MAX_DELAY times the failures that reach it, + 1)"));
  }
  if (o.session_idle_timeout > o.session_absolute_timeout) {
    return Bad("IDENTITY_SESSION_IDLE_TIMEOUT", "must not exceed IDENTITY_SESSION_ABSOLUTE_TIMEOUT");
  }
  o.page_token_secret = env("IDENTITY_PAGE_TOKEN_SECRET").value_or("");
  for (absl::string_view peer :
       absl::StrSplit(env("IDENTITY_TRUSTED_PEERS").value_or(""), ',', absl::SkipWhitespace())) {
    c.trusted_peers.insert(std::string(absl::StripAsciiWhitespace(peer)));
  }
  if (absl::StatusOr<TrustedPeers> peers = TrustedPeers::Parse(c.trusted_peers); !peers.ok()) {
    return Bad("IDENTITY_TRUSTED_PEERS", peers.status().message());
  }

  c.bootstrap_admin_email = env("IDENTITY_BOOTSTRAP_ADMIN_EMAIL").value_or("");
  c.bootstrap_admin_password = env("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD").value_or("");
  if (c.bootstrap_admin_email.empty() != c.bootstrap_admin_password.empty()) {
    return Bad("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD",
               "set both IDENTITY_BOOTSTRAP_ADMIN_EMAIL and IDENTITY_BOOTSTRAP_ADMIN_PASSWORD, "
               "or neither");
  }
  return c;
}

}  // namespace suite::identity
