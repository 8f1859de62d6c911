// The time source of the identity domain. Session expiry, the sliding idle timeout, login
// throttling windows and token expiry all read the clock through this interface, so tests can
// move time with FakeClock (services/identity/testing/fake_clock.h) instead of sleeping.
//
//   SystemClock clock;
//   absl::Time now = clock.Now();
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_CLOCK_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace suite::identity {

class Clock {
 public:
  virtual ~Clock() = default;
  // Now returns the current time. Must be thread-safe.
  virtual absl::Time Now() const = 0;
};

// The real wall clock. Thread-safe.
class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_CLOCK_H_
