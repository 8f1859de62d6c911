#include "services/identity/domain/password_hasher.h"

#include <sodium.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "shared/base/request_deadline.h"

namespace suite::identity {

absl::StatusOr<std::unique_ptr<PasswordHasher>> PasswordHasher::Create(
    PasswordHasherOptions options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  if (options.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      options.opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX) {
    return absl::InvalidArgumentError("argon2id opslimit out of range");
  }
  if (options.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      options.memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError("argon2id memlimit out of range");
  }
  if (options.workers < 1 || options.queue_capacity < 1) {
    return absl::InvalidArgumentError("hashing workers and queue capacity must be positive");
  }
  std::unique_ptr<PasswordHasher> hasher(new PasswordHasher(options));
  // The dummy hash is of a random secret nobody knows, so verifying against it always fails
  // but costs what a real verification costs.
  unsigned char secret[32];
  randombytes_buf(secret, sizeof(secret));
  char encoded[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(encoded, reinterpret_cast<const char*>(secret), sizeof(secret),
                            options.opslimit, options.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::InternalError("could not compute the dummy password hash");
  }
  hasher->dummy_hash_ = encoded;
  return hasher;
}

PasswordHasher::PasswordHasher(PasswordHasherOptions options) : options_(options) {
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

PasswordHasher::~PasswordHasher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) t.join();
}

void PasswordHasher::WorkerLoop() {
  // A hash is ~9 ms of CPU (plus 12 MiB of page faults); two workers on two cores used to
  // starve every request thread during a login flood (tools/bench: ValidateSession p99 15 ms
  // quiet, 2.3 s during the flood). At nice 19 a hash weighs 1/70 of a request thread, so the
  // hot path keeps the cores, while a login flood alone still runs at full speed. Not
  // SCHED_IDLE (used before): that gives a hash no CPU at all while anything else is runnable,
  // and a process busy elsewhere then stalled logins and sign-ups indefinitely, past the drain
  // deadline on SIGTERM (faults_test, 2026-11-22). Failure (not Linux) keeps the default.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
  while (true) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PasswordHasher::HasWorkOrStopping));
      if (queue_.empty()) return;  // stopping, and nothing left to do
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

bool PasswordHasher::HasWorkOrStopping() const { return stopping_ || !queue_.empty(); }

absl::Status PasswordHasher::Run(std::function<void()> work) {
  absl::Notification done;
  absl::Status outcome;
  // The call this work is for; it lives while this thread waits below.
  const suite::ScopedRequestDeadline* const request = suite::CurrentRequestScope();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("password hasher is shutting down");
    if (static_cast<int>(queue_.size()) >= options_.queue_capacity) {
      return absl::ResourceExhaustedError("password hashing queue is full");
    }
    queue_.push_back([&work, &done, &outcome, request] {
      // A call whose client left, or that the server's drain cancelled, or whose deadline
      // passed while it waited, is not worth a hash: at nice 19 on a busy machine the queue can
      // take seconds, and a drain would otherwise wait for all of it before the process exits.
      if (request != nullptr && request->Abandoned()) {
        outcome = absl::CancelledError("the call was cancelled before its password was hashed");
      } else if (request != nullptr && absl::Now() >= request->deadline()) {
        outcome = absl::DeadlineExceededError(
            "the deadline passed before the password could be hashed");
      } else {
        work();
      }
      done.Notify();
    });
  }
  done.WaitForNotification();
  return outcome;
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password) {
  char encoded[crypto_pwhash_STRBYTES];
  int rc = -1;
  absl::Status queued = Run([&] {
    rc = crypto_pwhash_str_alg(encoded, password.data(), password.size(), options_.opslimit,
                               options_.memlimit, crypto_pwhash_ALG_ARGON2ID13);
  });
  if (!queued.ok()) return queued;
  if (rc != 0) return absl::InternalError("password hashing failed");
  return std::string(encoded);
}

absl::StatusOr<bool> PasswordHasher::Verify(absl::string_view hash, absl::string_view password) {
  // crypto_pwhash_str_verify needs a NUL-terminated string no longer than STRBYTES.
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string hash_copy(hash);
  int rc = -1;
  absl::Status queued = Run([&] {
    rc = crypto_pwhash_str_verify(hash_copy.c_str(), password.data(), password.size());
  });
  if (!queued.ok()) return queued;
  return rc == 0;
}

bool PasswordHasher::NeedsRehash(absl::string_view hash) const {
  if (hash.size() >= crypto_pwhash_STRBYTES) return true;
  std::string hash_copy(hash);
  return crypto_pwhash_argon2id_str_needs_rehash(hash_copy.c_str(), options_.opslimit,
                                                 options_.memlimit) != 0;
}

}  // namespace suite::identity
