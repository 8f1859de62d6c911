// Argon2id password hashing (libsodium crypto_pwhash_str*) on a bounded worker pool.
//
// Each hash or verification takes `memlimit` bytes and noticeable CPU, so they run on a fixed
// number of worker threads behind a bounded queue: a flood of logins waits in the queue or is
// refused with RESOURCE_EXHAUSTED, and can exhaust neither memory nor threads.
//
//   PasswordHasherOptions options;             // OWASP: m = 12 MiB, t = 3
//   auto hasher = PasswordHasher::Create(options);
//   absl::StatusOr<std::string> hash = (*hasher)->Hash("correct horse battery staple");
//   absl::StatusOr<bool> ok = (*hasher)->Verify(*hash, "correct horse battery staple");
//   bool weaker = (*hasher)->NeedsRehash(*hash);
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_PASSWORD_HASHER_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_PASSWORD_HASHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace suite::identity {

struct PasswordHasherOptions {
  // argon2id passes (t) and memory (m, bytes). OWASP's password storage cheat sheet lists five
  // settings of equal strength, trading memory for passes: m = 47, 19, 12, 9, 7 MiB with
  // t = 1, 2, 3, 4, 5. The default is the 12 MiB one: at most `workers` hashes are resident at
  // once, and identity's peak memory (two workers) must stay under its 64 MiB budget; on this
  // machine it is also faster than the 19 MiB one (8.5 vs 11.2 ms, fewer page faults).
  uint64_t opslimit = 3;
  size_t memlimit = 12u * 1024 * 1024;
  // Worker threads; at most this many hashes run at once.
  int workers = 2;
  // Operations that may wait for a worker; more are refused.
  int queue_capacity = 64;
};

class PasswordHasher {
 public:
  // Create starts the workers. INVALID_ARGUMENT for limits libsodium refuses or non-positive
  // sizes; INTERNAL when libsodium cannot initialise.
  static absl::StatusOr<std::unique_ptr<PasswordHasher>> Create(PasswordHasherOptions options);
  // Stops the workers after the queued operations finished.
  ~PasswordHasher();

  // Hash returns an encoded argon2id string ("$argon2id$v=19$m=...") with a random salt.
  // RESOURCE_EXHAUSTED when the queue is full, INTERNAL when libsodium fails (out of memory);
  // CANCELLED or DEADLINE_EXCEEDED, without hashing, when the calling thread's request
  // (shared/base/request_deadline.h) was abandoned or its deadline passed before a worker took
  // it up. Thread-safe; blocks the caller until a worker did the work or refused it.
  absl::StatusOr<std::string> Hash(absl::string_view password);
  // Verify is true when `password` matches `hash` (false for a malformed hash).
  // RESOURCE_EXHAUSTED when the queue is full; CANCELLED or DEADLINE_EXCEEDED as Hash's.
  // Thread-safe; blocks as Hash does.
  absl::StatusOr<bool> Verify(absl::string_view hash, absl::string_view password);
  // NeedsRehash is true when `hash` was made with other parameters than the configured ones
  // (or is not an argon2id string). Cheap; runs on the caller's thread. Thread-safe.
  bool NeedsRehash(absl::string_view hash) const;
  // DummyHash is a hash of a random secret made with the configured parameters, for spending
  // the same time on unknown e-mails as on known ones. Thread-safe.
  const std::string& DummyHash() const { return dummy_hash_; }

 private:
  explicit PasswordHasher(PasswordHasherOptions options);
  // Run queues `work` and waits for it. RESOURCE_EXHAUSTED when the queue is full.
  absl::Status Run(std::function<void()> work);
  void WorkerLoop();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PasswordHasherOptions options_;
  std::string dummy_hash_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_PASSWORD_HASHER_H_
