// Keeps a serving status in step with a probe, e.g. the database pool's ping, so that the
// health service says NOT_SERVING while the database is unreachable.
//
//   suite::rpc::ServingStatusFollower follower(
//       [&pool] { return pool.Ping().ok(); }, absl::Seconds(2),
//       [&server](bool serving) { server.SetServing(serving); });
//
// GrpcServer::FollowProbe wires this up for you.
#ifndef SUITE_SHARED_RPC_SERVER_SERVING_STATUS_H_
#define SUITE_SHARED_RPC_SERVER_SERVING_STATUS_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::rpc {

class ServingStatusFollower {
 public:
  // Starts a thread that calls `probe` at once and then every `interval`, and calls
  // `on_change(result)` after the first probe and whenever the result differs from the last.
  // Both run on that thread only; `probe` should bound its own run time (a ping with a
  // timeout), since Stop waits for a probe in progress.
  ServingStatusFollower(std::function<bool()> probe, absl::Duration interval,
                        std::function<void(bool serving)> on_change);
  ServingStatusFollower(const ServingStatusFollower&) = delete;
  ServingStatusFollower& operator=(const ServingStatusFollower&) = delete;
  // Stops the thread.
  ~ServingStatusFollower();

  // Stop ends the thread after any probe in progress; no on_change call follows. Idempotent,
  // thread-safe (but not from within probe or on_change).
  void Stop();

  // Last returns the last probe result, nullopt before the first. Thread-safe.
  absl::optional<bool> Last() const;

 private:
  void Loop();

  const std::function<bool()> probe_;
  const absl::Duration interval_;
  const std::function<void(bool)> on_change_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::optional<bool> last_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_SERVER_SERVING_STATUS_H_
