// A settable Clock for tests: time stands still until the test moves it.
//
//   FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
//   clock.Advance(absl::Minutes(31));
#ifndef SUITE_SERVICES_IDENTITY_TESTING_FAKE_CLOCK_H_
#define SUITE_SERVICES_IDENTITY_TESTING_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/identity/domain/clock.h"

namespace suite::identity::testing {

// Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::identity::testing

#endif  // SUITE_SERVICES_IDENTITY_TESTING_FAKE_CLOCK_H_
