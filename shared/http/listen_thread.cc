#include "shared/http/listen_thread.h"

#include <httplib.h>

#include <atomic>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace suite::http {

std::thread StartListenThread(httplib::Server& server) {
  auto returned = std::make_shared<std::atomic<bool>>(false);
  std::thread loop([&server, returned] {
    server.listen_after_bind();
    *returned = true;
  });
  while (!server.is_running() && !*returned) absl::SleepFor(absl::Milliseconds(1));
  return loop;
}

}  // namespace suite::http
