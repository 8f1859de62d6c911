#include "services/identity/grpc/revocation_stream.h"

#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "shared/api/status.h"
#include "shared/rpc/grpc_status.h"

namespace suite::identity {
namespace {

using ::identity::v1::WatchRevocationsResponse;

// Messages queued beyond this are merged into the last one.
constexpr size_t kMaxQueued = 8;

::identity::v1::RevocationKind KindToProto(RevocationEvent::Kind kind) {
  switch (kind) {
    case RevocationEvent::Kind::kSession:
      return ::identity::v1::REVOCATION_KIND_SESSION;
    case RevocationEvent::Kind::kUser:
      return ::identity::v1::REVOCATION_KIND_USER;
    case RevocationEvent::Kind::kRoles:
      return ::identity::v1::REVOCATION_KIND_ROLES;
  }
  return ::identity::v1::REVOCATION_KIND_UNSPECIFIED;
}

class RevocationStream final : public grpc::ServerWriteReactor<WatchRevocationsResponse>,
                               public RevocationSink {
 public:
  explicit RevocationStream(RevocationSource* source) : source_(source) {}

  void Begin(const std::string& resume_cursor) {
    if (source_ == nullptr) {
      absl::MutexLock lock(&mu_);
      FinishLocked(absl::UnavailableError("this identity replica serves no revocation feed"));
      return;
    }
    source_->Subscribe(this, resume_cursor);
  }

  void Deliver(const RevocationBatch& batch) override {
    absl::MutexLock lock(&mu_);
    if (finishing_) return;
    WatchRevocationsResponse* message;
    if (queue_.size() >= kMaxQueued) {
      message = &queue_.back();  // merge: the events add up, the newest cursor stands
    } else {
      queue_.emplace_back();
      message = &queue_.back();
      if (batch.synced) {
        message->set_synced(true);
        message->set_reset(batch.reset);
      }
      const absl::Duration heartbeat = source_->heartbeat_interval();
      message->mutable_heartbeat_interval()->set_seconds(
          absl::ToInt64Seconds(heartbeat));
      message->mutable_heartbeat_interval()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(heartbeat - absl::Seconds(absl::ToInt64Seconds(heartbeat)))));
    }
    message->set_cursor(batch.cursor);
    for (const RevocationEvent& event : batch.events) {
      ::identity::v1::Revocation* r = message->add_revocations();
      r->set_kind(KindToProto(event.kind));
      r->set_session_id(event.session_id);
      r->set_user_id(event.user_id);
    }
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void End(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    writing_ = false;
    if (!ok && !finishing_) {
      // The client is gone (or the call was cancelled): nothing more can be written.
      finishing_ = true;
      final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the subscriber went away");
    }
    if (finishing_) {
      if (!finished_) {
        finished_ = true;
        Finish(final_status_);
      }
      return;
    }
    if (!queue_.empty()) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(absl::CancelledError("the subscriber went away"));
  }

  void OnDone() override {
    if (source_ != nullptr) source_->Unsubscribe(this);
    delete this;
  }

 private:
  // Finishes now, or after the write in flight (a reactor has one operation of a kind at once).
  void FinishLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    final_status_ = suite::rpc::ToGrpcStatus(status);
    if (!writing_) {
      finished_ = true;
      Finish(final_status_);
    }
  }

  RevocationSource* const source_;
  absl::Mutex mu_;
  std::deque<WatchRevocationsResponse> queue_ ABSL_GUARDED_BY(mu_);  // front: being written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerWriteReactor<WatchRevocationsResponse>* NewRevocationStream(
    grpc::CallbackServerContext*, RevocationSource* source,
    const ::identity::v1::WatchRevocationsRequest& request) {
  auto* stream = new RevocationStream(source);
  stream->Begin(request.resume_cursor());
  return stream;
}

}  // namespace suite::identity
