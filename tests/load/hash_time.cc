// hash_time measures one argon2id password hash (libsodium crypto_pwhash_str_alg, as identity's
// PasswordHasher does) at the given parameters on one thread, for the benchmark's hashing
// ceiling (cores ÷ one hash time). Prints JSON: {"opslimit", "memlimit_kib", "hashes",
// "seconds_per_hash"}.
//
//   hash_time --hashes=20      (identity's default parameters; --opslimit, --memlimit_kib)
#include <sodium.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/identity/domain/password_hasher.h"

ABSL_FLAG(int, opslimit, static_cast<int>(suite::identity::PasswordHasherOptions{}.opslimit),
          "argon2id t (IDENTITY_ARGON2_OPSLIMIT)");
ABSL_FLAG(int, memlimit_kib,
          static_cast<int>(suite::identity::PasswordHasherOptions{}.memlimit / 1024),
          "argon2id m in KiB (IDENTITY_ARGON2_MEMLIMIT_KIB)");
ABSL_FLAG(int, hashes, 20, "hashes to average over (after one warm-up hash)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (sodium_init() < 0) return 1;
  const unsigned long long ops = absl::GetFlag(FLAGS_opslimit);
  const size_t mem = static_cast<size_t>(absl::GetFlag(FLAGS_memlimit_kib)) * 1024;
  const int n = absl::GetFlag(FLAGS_hashes);
  const char password[] = "correct horse battery staple";
  char out[crypto_pwhash_STRBYTES];
  auto hash = [&] {
    return crypto_pwhash_str_alg(out, password, sizeof(password) - 1, ops, mem,
                                 crypto_pwhash_ALG_ARGON2ID13) == 0;
  };
  if (!hash()) return 1;
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    if (!hash()) return 1;
  }
  const double per = absl::ToDoubleSeconds(absl::Now() - start) / n;
  std::cout << "{\"opslimit\": " << ops << ", \"memlimit_kib\": " << mem / 1024
            << ", \"hashes\": " << n << ", \"seconds_per_hash\": " << per << "}\n";
  return 0;
}
