#include "shared/clients/identity/identity_authenticator.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <grpcpp/client_context.h>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/base/sha256.h"
#include "shared/rpc/grpc_status.h"

namespace suite::identity_client {
namespace {

// The cache key: a digest, so the map never holds raw tokens.
std::string TokenKey(absl::string_view token) { return suite::Sha256(token); }

// A stream that says nothing for this many heartbeat intervals is taken for lost.
constexpr int kSilentHeartbeats = 3;
constexpr absl::Duration kFirstResubscribeDelay = absl::Milliseconds(20);

}  // namespace

IdentityAuthenticator::IdentityAuthenticator(std::shared_ptr<grpc::Channel> channel,
                                             IdentityAuthenticatorOptions options)
    : stub_(identity::v1::IdentityService::NewStub(std::move(channel))),
      options_(std::move(options)) {
  suite::metrics::Registry& registry = options_.metrics != nullptr
                                           ? *options_.metrics
                                           : suite::metrics::Registry::Default();
  // A name taken by another type leaves the series unset; the cache works the same.
  if (auto family = registry.AddGauge(
          "identity_client_revocation_stream_up",
          "1 while the identity revocation stream is synced, so cached sessions are trusted.");
      family.ok()) {
    stream_up_ = &(*family)->WithLabels({});
  }
  if (auto family = registry.AddCounter(
          "identity_client_cache_bypass_total",
          "Session checks sent to identity because the revocation stream was not synced.");
      family.ok()) {
    bypasses_ = &(*family)->WithLabels({});
  }
  if (auto family = registry.AddCounter("identity_client_revocations_total",
                                        "Revocation events received from identity.");
      family.ok()) {
    revocations_ = &(*family)->WithLabels({});
  }
  if (auto family = registry.AddCounter("identity_client_revocation_stream_restarts_total",
                                        "Revocation streams that ended and were started again.");
      family.ok()) {
    restarts_ = &(*family)->WithLabels({});
  }
  if (stream_up_ != nullptr) stream_up_->Set(0);
}

void IdentityAuthenticator::StartWatching() const {
  if (!options_.watch_revocations) return;
  std::call_once(watch_started_, [this] {
    auto* self = const_cast<IdentityAuthenticator*>(this);
    self->watch_thread_ = std::thread([self] { self->Watch(); });
    self->watchdog_thread_ = std::thread([self] { self->Watchdog(); });
    // Named, or they would carry the name of whichever thread made the first call (a
    // service's executor), and a profile would count them as that.
    pthread_setname_np(self->watch_thread_.native_handle(), "identity-watch");
    pthread_setname_np(self->watchdog_thread_.native_handle(), "identity-wdog");
  });
}

IdentityAuthenticator::~IdentityAuthenticator() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_context_ != nullptr) stream_context_->TryCancel();
  }
  if (watch_thread_.joinable()) watch_thread_.join();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  if (stream_up_ != nullptr) stream_up_->Set(0);
}

absl::StatusOr<suite::rpc::Caller> IdentityAuthenticator::Authenticate(
    absl::string_view bearer_token, const suite::rpc::RequestContext& context) {
  absl::StatusOr<ValidatedSession> session = ValidateScoped(bearer_token, context);
  if (!session.ok()) return session.status();
  return std::move(session->caller);
}

absl::optional<absl::StatusOr<suite::rpc::Caller>> IdentityAuthenticator::AuthenticateIfCached(
    absl::string_view bearer_token, const suite::rpc::RequestContext&) {
  if (bearer_token.empty()) {
    return absl::StatusOr<suite::rpc::Caller>(absl::UnauthenticatedError("missing session token"));
  }
  absl::optional<ValidatedSession> session = Cached(TokenKey(bearer_token), options_.now());
  if (!session.has_value()) return absl::nullopt;
  return absl::StatusOr<suite::rpc::Caller>(std::move(session->caller));
}

bool IdentityAuthenticator::TrustedLocked(absl::Time now) const {
  return synced_ && now - last_heard_ <= silence_limit_;
}

absl::optional<ValidatedSession> IdentityAuthenticator::Cached(const std::string& key,
                                                               absl::Time now) {
  absl::MutexLock lock(&mu_);
  // Not subscribed: whatever is cached may have been revoked meanwhile.
  if (!TrustedLocked(now)) return absl::nullopt;
  auto it = cache_.find(key);
  if (it == cache_.end()) return absl::nullopt;
  if (now < it->second.valid_until) return it->second.session;
  EraseLocked(it);
  return absl::nullopt;
}

absl::StatusOr<ValidatedSession> IdentityAuthenticator::ValidateScoped(
    absl::string_view bearer_token, const suite::rpc::RequestContext& context) {
  if (bearer_token.empty()) return absl::UnauthenticatedError("missing session token");
  const std::string key = TokenKey(bearer_token);
  const absl::Time now = options_.now();
  if (absl::optional<ValidatedSession> cached = Cached(key, now)) return *std::move(cached);
  // Subscribes on the first call that reaches identity, not at construction: a service often
  // starts before identity, and a stream opened then would put the shared channel in its
  // reconnect backoff, failing the first real calls fast.
  StartWatching();
  // Read before the call: an invalidation that arrives while it is in flight may concern the
  // very answer it brings back, which then is not cached.
  uint64_t generation;
  bool trusted;
  {
    absl::MutexLock lock(&mu_);
    generation = generation_;
    trusted = TrustedLocked(now);
  }
  if (!trusted && options_.watch_revocations && bypasses_ != nullptr) bypasses_->Increment();

  identity::v1::ValidateSessionRequest request;
  request.set_session_token(std::string(bearer_token));
  identity::v1::ValidateSessionResponse response;
  grpc::ClientContext client;
  context.PropagateTo(&client, /*include_bearer_token=*/false);
  client.set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.call_timeout));
  grpc::Status rpc = stub_->ValidateSession(&client, request, &response);
  if (!rpc.ok()) {
    switch (rpc.error_code()) {
      case grpc::StatusCode::UNAUTHENTICATED:
      case grpc::StatusCode::INVALID_ARGUMENT:
        // Identity's verdict on the token; passed on without the token itself.
        return absl::UnauthenticatedError("invalid or expired session");
      default:
        // Down, slow, draining or broken: the caller cannot be authenticated right now.
        return absl::UnavailableError("identity service unavailable");
    }
  }

  ValidatedSession session;
  session.caller.user_id = response.user_id();
  session.caller.session_id = response.session_id();
  for (const auto& grant : response.role_grants()) {
    session.role_grants.push_back({grant.role(), grant.account_id()});
    if (grant.account_id().empty()) session.caller.roles.push_back(grant.role());
  }
  session.expire_time = response.has_expire_time()
                            ? suite::api::TimeFromTimestamp(response.expire_time())
                            : now + options_.cache_ttl;
  if (session.caller.user_id.empty()) {
    return absl::UnavailableError("identity service gave an empty answer");
  }
  Remember(key, session, now, generation);
  return session;
}

void IdentityAuthenticator::Remember(const std::string& key, const ValidatedSession& session,
                                     absl::Time now, uint64_t generation) {
  if (!options_.watch_revocations || options_.max_entries == 0 ||
      options_.cache_ttl <= absl::ZeroDuration()) {
    return;
  }
  const absl::Time valid_until = std::min(now + options_.cache_ttl, session.expire_time);
  if (valid_until <= now) return;
  absl::MutexLock lock(&mu_);
  if (generation != generation_ || !TrustedLocked(options_.now())) return;
  if (cache_.size() >= options_.max_entries && cache_.find(key) == cache_.end()) {
    // Drop the expired entries; if none were, drop the oldest one.
    for (auto it = cache_.begin(); it != cache_.end();) {
      auto next = std::next(it);
      if (it->second.valid_until <= now) EraseLocked(it);
      it = next;
    }
    if (cache_.size() >= options_.max_entries) {
      auto oldest = cache_.begin();
      for (auto it = cache_.begin(); it != cache_.end(); ++it) {
        if (it->second.sequence < oldest->second.sequence) oldest = it;
      }
      EraseLocked(oldest);
    }
  }
  auto existing = cache_.find(key);
  if (existing != cache_.end()) EraseLocked(existing);
  cache_[key] = Entry{session, valid_until, next_sequence_++};
  by_session_[session.caller.session_id] = key;
  by_user_[session.caller.user_id].insert(key);
}

void IdentityAuthenticator::EraseLocked(Cache::iterator it) {
  const suite::rpc::Caller& caller = it->second.session.caller;
  auto by_session = by_session_.find(caller.session_id);
  if (by_session != by_session_.end() && by_session->second == it->first) {
    by_session_.erase(by_session);
  }
  auto by_user = by_user_.find(caller.user_id);
  if (by_user != by_user_.end()) {
    by_user->second.erase(it->first);
    if (by_user->second.empty()) by_user_.erase(by_user);
  }
  cache_.erase(it);
}

void IdentityAuthenticator::DropUserLocked(const std::string& user_id) {
  auto by_user = by_user_.find(user_id);
  if (by_user == by_user_.end()) return;
  const absl::flat_hash_set<std::string> keys = std::move(by_user->second);
  by_user_.erase(by_user);
  for (const std::string& key : keys) {
    auto it = cache_.find(key);
    if (it != cache_.end()) EraseLocked(it);
  }
}

void IdentityAuthenticator::ApplyLocked(const ::identity::v1::WatchRevocationsResponse& message,
                                        absl::Time now) {
  if (message.reset()) {
    cache_.clear();
    by_session_.clear();
    by_user_.clear();
    ++generation_;
  }
  for (const ::identity::v1::Revocation& r : message.revocations()) {
    if (r.kind() == ::identity::v1::REVOCATION_KIND_SESSION) {
      auto by_session = by_session_.find(r.session_id());
      if (by_session != by_session_.end()) {
        auto it = cache_.find(by_session->second);
        if (it != cache_.end()) EraseLocked(it);
      }
    } else {
      // A user barred, deleted or with other roles now; an unknown kind errs the same way.
      DropUserLocked(r.user_id());
    }
  }
  if (message.revocations_size() > 0) {
    ++generation_;
    if (revocations_ != nullptr) revocations_->Increment(message.revocations_size());
  }
  if (message.has_heartbeat_interval()) {
    const absl::Duration interval =
        absl::Seconds(message.heartbeat_interval().seconds()) +
        absl::Nanoseconds(message.heartbeat_interval().nanos());
    if (interval > absl::ZeroDuration()) silence_limit_ = kSilentHeartbeats * interval;
  }
  if (!message.cursor().empty()) cursor_ = message.cursor();
  last_heard_ = now;
  if (message.synced()) {
    synced_ = true;
    if (stream_up_ != nullptr) stream_up_->Set(1);
  }
}

void IdentityAuthenticator::SetUnsyncedLocked() {
  if (synced_ && restarts_ != nullptr) restarts_->Increment();
  synced_ = false;
  // An answer in flight across the gap may predate a revocation the stream did not deliver.
  ++generation_;
  if (stream_up_ != nullptr) stream_up_->Set(0);
}

// One WatchRevocations call, read through gRPC's callback API. A thread blocked in a
// synchronous Read waits inside gRPC's poller and so takes turns polling every connection of
// the process, the server's included: measured on billing, that one thread handed each
// GetEntitlement call on to another and cost it a context switch and ~5 µs of CPU. Here no
// thread of ours waits in gRPC; the messages arrive on gRPC's callback threads.
class IdentityAuthenticator::RevocationStream
    : public grpc::ClientReadReactor<::identity::v1::WatchRevocationsResponse> {
 public:
  explicit RevocationStream(IdentityAuthenticator* owner) : owner_(owner) {}

  grpc::ClientContext* context() { return &context_; }

  void Start(const ::identity::v1::WatchRevocationsRequest& request) {
    request_ = request;
    owner_->stub_->async()->WatchRevocations(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  // Set (under the owner's mu_) once gRPC is done with this stream for good.
  bool done() const ABSL_SHARED_LOCKS_REQUIRED(owner_->mu_) { return done_; }
  // Whether any message was applied (the subscription then worked, and its backoff restarts).
  bool heard() const { return heard_; }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The stream ended (OnDone follows with its status): stop trusting the cache now, not
      // only once the watch thread has seen OnDone, so that a drain or a broken peer leaves no
      // window in which a revocation it did not deliver could be missed.
      absl::MutexLock lock(&owner_->mu_);
      owner_->SetUnsyncedLocked();
      return;
    }
    bool keep;
    {
      absl::MutexLock lock(&owner_->mu_);
      // The first message must be the synced one; anything else is a broken peer.
      keep = heard_ || message_.synced();
      if (keep) {
        owner_->ApplyLocked(message_, owner_->options_.now());
        heard_ = true;
      }
    }
    if (!keep) {
      context_.TryCancel();
      return;
    }
    StartRead(&message_);
  }

  void OnDone(const grpc::Status&) override {
    // The last touch of this object by gRPC; Watch deletes it once it sees done_.
    absl::MutexLock lock(&owner_->mu_);
    done_ = true;
  }

 private:
  IdentityAuthenticator* const owner_;
  grpc::ClientContext context_;
  ::identity::v1::WatchRevocationsRequest request_;
  ::identity::v1::WatchRevocationsResponse message_;
  bool done_ ABSL_GUARDED_BY(owner_->mu_) = false;
  // Written in OnReadDone under mu_; read by Watch once done_ is set, when no callback is left.
  bool heard_ = false;
};

void IdentityAuthenticator::Watch() {
  absl::Duration delay = kFirstResubscribeDelay;
  while (true) {
    auto stream = std::make_unique<RevocationStream>(this);
    ::identity::v1::WatchRevocationsRequest request;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stream_context_ = stream->context();
      request.set_resume_cursor(cursor_);
    }
    stream->Start(request);
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(stream.get(), &RevocationStream::done));
      stream_context_ = nullptr;
      SetUnsyncedLocked();
      if (stream->heard()) delay = kFirstResubscribeDelay;
      if (stopping_) return;
      // Back off, but wake at once for the destructor.
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
      if (stopping_) return;
    }
    delay = std::min(delay * 2, options_.max_resubscribe_delay);
  }
}

void IdentityAuthenticator::Watchdog() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), silence_limit_ / kSilentHeartbeats);
    if (stopping_) return;
    if (synced_ && options_.now() - last_heard_ > silence_limit_ &&
        stream_context_ != nullptr) {
      // Silent for too long (a partition, a hung replica): give up on this stream.
      SetUnsyncedLocked();
      stream_context_->TryCancel();
    }
  }
}

absl::StatusOr<bool> IdentityAuthenticator::UserExists(absl::string_view user_id,
                                                       const suite::rpc::RequestContext& context) {
  identity::v1::GetUserRequest request;
  request.set_user_id(std::string(user_id));
  identity::v1::GetUserResponse response;
  grpc::ClientContext client;
  // The caller's own token: identity, not this service, decides whom the caller may look up.
  context.PropagateTo(&client, /*include_bearer_token=*/true);
  client.set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.call_timeout));
  grpc::Status rpc = stub_->GetUser(&client, request, &response);
  switch (rpc.error_code()) {
    case grpc::StatusCode::OK:
      return true;
    case grpc::StatusCode::NOT_FOUND:
      return false;
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::UnauthenticatedError("invalid or expired session");
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::PermissionDeniedError("identity does not let the caller look this user up");
    case grpc::StatusCode::INVALID_ARGUMENT:
      return suite::rpc::FromGrpcStatus(rpc);
    default:
      return absl::UnavailableError("identity service unavailable");
  }
}

size_t IdentityAuthenticator::CachedEntries() const {
  absl::MutexLock lock(&mu_);
  return cache_.size();
}

bool IdentityAuthenticator::Subscribed() const {
  absl::MutexLock lock(&mu_);
  return TrustedLocked(options_.now());
}

bool IdentityAuthenticator::WaitSubscribed(absl::Duration timeout) const {
  StartWatching();
  const absl::Time end = absl::Now() + timeout;
  while (!Subscribed()) {
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

}  // namespace suite::identity_client
