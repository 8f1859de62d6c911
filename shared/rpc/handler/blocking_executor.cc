#include "shared/rpc/handler/blocking_executor.h"

#include <pthread.h>

#include <algorithm>

namespace suite::rpc {

BlockingExecutor::BlockingExecutor(std::string name, int max_threads)
    : name_(std::move(name)), max_threads_(std::max(1, max_threads)) {}

BlockingExecutor::~BlockingExecutor() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void BlockingExecutor::Submit(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(work));
  if (static_cast<size_t>(idle_threads_) < queue_.size() &&
      static_cast<int>(threads_.size()) < max_threads_ && !stopping_) {
    threads_.emplace_back([this] { Loop(); });
    // Linux limits thread names to 15 bytes; a longer one makes the call fail, not truncate.
    pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
}

size_t BlockingExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

int BlockingExecutor::started_threads() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(threads_.size());
}

void BlockingExecutor::Loop() {
  while (true) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      ++idle_threads_;
      mu_.Await(absl::Condition(
          +[](BlockingExecutor *self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      --idle_threads_;
      if (queue_.empty()) return;  // stopping, and everything queued has run
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

absl::Time DeadlineOf(const grpc::ServerContextBase &context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

namespace internal {

bool FinishIfAbandoned(grpc::CallbackServerContext *context, grpc::ServerUnaryReactor *reactor) {
  if (context->IsCancelled()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
    return true;
  }
  if (context->deadline() <= std::chrono::system_clock::now()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                 "the deadline passed before the server could start the call"));
    return true;
  }
  return false;
}

}  // namespace internal
}  // namespace suite::rpc
