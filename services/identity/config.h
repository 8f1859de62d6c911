// The identity service's own settings, read from the environment (server and database
// settings come from shared/rpc/server/config.h and shared/db/config.h).
//
//   variable                                   default
//   IDENTITY_ARGON2_OPSLIMIT                   3      (t)
//   IDENTITY_ARGON2_MEMLIMIT_KIB               12288  (m = 12 MiB; with t, at least one of
//                                                     OWASP's equal settings: m ≥ 47 MiB and
//                                                     t ≥ 1, 19/2, 12/3, 9/4 or 7 MiB and t ≥ 5)
//   IDENTITY_HASH_WORKERS                      2      (concurrent argon2id operations; at most
//                                                     the CPUs the process may use: the k8s
//                                                     deployment sets its CPU limit)
//   IDENTITY_HASH_QUEUE                        64     (operations waiting; more → RESOURCE_EXHAUSTED)
//   IDENTITY_SESSION_IDLE_TIMEOUT              12h
//   IDENTITY_SESSION_ABSOLUTE_TIMEOUT          336h   (14 days)
//   IDENTITY_LAST_SEEN_INTERVAL                1m
//   Login throttling (domain/store.h's LoginLimits; services/identity/README.md):
//   IDENTITY_LOGIN_FREE_FAILURES               5      (failures of one e-mail from one client
//                                                     IP before the delays start)
//   IDENTITY_LOGIN_BASE_DELAY                  1s     (the first delay; doubles per failure)
//   IDENTITY_LOGIN_MAX_DELAY                   15m    (the longest delay)
//   IDENTITY_LOGIN_PAIR_WINDOW                 24h    (how long one e-mail + IP pair's
//                                                     failures are remembered; at least
//                                                     MAX_DELAY × the failures reaching it + 1)
//   IDENTITY_LOGIN_WINDOW                      15m    (the window of the two ceilings below)
//   IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL      100    (failures of one account from all IPs
//                                                     that put it under attack: every IP that
//                                                     failed on it waits MAX_DELAY; IPs with
//                                                     no failure on it are still let in)
//   IDENTITY_LOGIN_MAX_FAILURES_PER_IP         50     (failures of one IP on all accounts that
//                                                     make it busy: the same, per account)
//   IDENTITY_EMAIL_VERIFICATION_TTL            24h
//   IDENTITY_PAGE_TOKEN_SECRET                 (random per process; set it for several replicas)
//   IDENTITY_TRUSTED_PEERS                     (comma-separated peer IPs or CIDR blocks of the
//                                               front ends whose Login client_ip or
//                                               x-forwarded-for is believed; "*" = all; empty =
//                                               throttle every caller by its own address)
//   IDENTITY_BOOTSTRAP_ADMIN_EMAIL / _PASSWORD (both or neither: the first admin, created once)
//
//   absl::StatusOr<IdentityConfig> config = LoadIdentityConfig(suite::rpc::SystemEnv);
#ifndef SUITE_SERVICES_IDENTITY_CONFIG_H_
#define SUITE_SERVICES_IDENTITY_CONFIG_H_

#include <functional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/password_hasher.h"

namespace suite::identity {

struct IdentityConfig {
  IdentityOptions identity;
  PasswordHasherOptions hasher;
  std::set<std::string> trusted_peers;  // valid for TrustedPeers::Parse
  std::string bootstrap_admin_email;     // empty: no bootstrap
  std::string bootstrap_admin_password;  // never logged
};

using EnvLookup = std::function<absl::optional<std::string>(absl::string_view)>;

// LoadIdentityConfig reads the variables above. INVALID_ARGUMENT naming the variable when one
// is malformed, below its minimum, or when only one of the bootstrap pair is set.
absl::StatusOr<IdentityConfig> LoadIdentityConfig(const EnvLookup& env);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_CONFIG_H_
