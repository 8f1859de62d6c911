#include "shared/rpc/blocking_executor.h"

#include <pthread.h>

#include <algorithm>

namespace suite::rpc {

BlockingExecutor::BlockingExecutor(std::string name, int threads) : name_(std::move(name)) {
  const int count = std::max(1, threads);
  threads_.reserve(count);
  for (int i = 0; i < count; ++i) {
    threads_.emplace_back([this] { Loop(); });
    // Linux limits thread names to 15 bytes; a longer one makes the call fail,
    // not truncate.
    pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
}

BlockingExecutor::~BlockingExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread &t : threads_) t.join();
}

void BlockingExecutor::Submit(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(work));
}

size_t BlockingExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void BlockingExecutor::Loop() {
  while (true) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BlockingExecutor *self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and everything queued has run
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
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
