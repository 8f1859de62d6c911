#include "tests/load/revocation_probe.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace suite::load {
namespace {

namespace idv1 = ::identity::v1;
namespace bv1 = ::billing::v1;
namespace qv1 = ::questions::v1;

template <typename T>
void WithBearer(grpc::ClientContext* ctx, const T& token) {
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

absl::Status Failed(const std::string& what, const grpc::Status& s) {
  return absl::UnknownError(
      absl::StrCat(what, ": grpc code ", static_cast<int>(s.error_code()), " ", s.error_message()));
}

}  // namespace

RevocationProbe::RevocationProbe(std::vector<std::shared_ptr<grpc::Channel>> identity,
                                 std::shared_ptr<grpc::Channel> billing,
                                 std::shared_ptr<grpc::Channel> questions,
                                 std::string question_id, std::string email_domain)
    : billing_(bv1::BillingService::NewStub(std::move(billing))),
      questions_(qv1::QuestionBankService::NewStub(std::move(questions))),
      question_id_(std::move(question_id)),
      email_domain_(std::move(email_domain)) {
  for (auto& channel : identity) identity_.push_back(idv1::IdentityService::NewStub(channel));
}

absl::StatusOr<idv1::LoginResponse> RevocationProbe::Login(int replica, const std::string& email,
                                                           const std::string& password) {
  const int n = logins_++;
  idv1::LoginRequest req;
  req.set_email(email);
  req.set_password(password);
  req.set_client_ip(absl::StrCat("10.1.", (n / 200) % 250, ".", n % 200));
  idv1::LoginResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s = identity_[replica]->Login(&ctx, req, &resp);
  if (!s.ok()) return Failed(absl::StrCat("Login ", email), s);
  return resp;
}

absl::StatusOr<std::string> RevocationProbe::SignUp(int replica, const std::string& email) {
  idv1::CreateUserRequest req;
  req.set_email(email);
  req.set_password(kPassword);
  idv1::CreateUserResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s = identity_[replica]->CreateUser(&ctx, req, &resp);
  if (!s.ok()) return Failed(absl::StrCat("CreateUser ", email), s);
  return resp.user().user_id();
}

grpc::StatusCode RevocationProbe::Entitlement(const std::string& token,
                                              const std::string& user_id) {
  bv1::GetEntitlementRequest req;
  req.set_user_id(user_id);
  bv1::GetEntitlementResponse resp;
  grpc::ClientContext ctx;
  WithBearer(&ctx, token);
  return billing_->GetEntitlement(&ctx, req, &resp).error_code();
}

grpc::StatusCode RevocationProbe::Question(const std::string& token) {
  qv1::GetQuestionRequest req;
  req.set_question_id(question_id_);
  qv1::GetQuestionResponse resp;
  grpc::ClientContext ctx;
  WithBearer(&ctx, token);
  return questions_->GetQuestion(&ctx, req, &resp).error_code();
}

grpc::StatusCode RevocationProbe::StartPractice(const std::string& token) {
  qv1::StartPracticeSessionRequest req;
  req.set_mode(qv1::PRACTICE_MODE_TUTOR);
  req.set_question_count(1);
  qv1::StartPracticeSessionResponse resp;
  grpc::ClientContext ctx;
  WithBearer(&ctx, token);
  return questions_->StartPracticeSession(&ctx, req, &resp).error_code();
}

absl::Status RevocationProbe::EnsureUser(int replica) {
  if (!user_id_.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> created = SignUp(replica, Email());
  if (!created.ok()) return created.status();
  user_id_ = *created;
  return absl::OkStatus();
}

absl::Status RevocationProbe::PrepareSessions(int n) {
  if (absl::Status s = EnsureUser(0); !s.ok()) return s;
  // A few logins at a time: each replica hashes on one worker per CPU.
  std::vector<absl::StatusOr<idv1::LoginResponse>> sessions(n, absl::UnknownError("not run"));
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = next++; round < n; round = next++) {
        sessions[round] = Login(round % replicas(), Email(), kPassword);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  prepared_.clear();
  for (auto& session : sessions) {
    if (!session.ok()) return session.status();
    prepared_.push_back(*std::move(session));
  }
  return absl::OkStatus();
}

absl::StatusOr<RevocationRound> RevocationProbe::Run(int round, int replica) {
  RevocationRound out;
  out.replica = replica;
  // One user for all rounds (a round's subject is its session): every sign-up and login costs
  // a password hash, which a loaded identity runs at low priority.
  if (absl::Status s = EnsureUser(replica); !s.ok()) return s;
  const std::string* user_id = &user_id_;
  absl::StatusOr<idv1::LoginResponse> session =
      round < static_cast<int>(prepared_.size()) ? prepared_[round]
                                                 : Login(replica, Email(), kPassword);
  if (!session.ok()) return session.status();
  const std::string& token = session->session_token();
  // Warm both caches: the second call of each is the one answered from the cache.
  for (int i = 0; i < 2; ++i) {
    if (grpc::StatusCode c = Entitlement(token, *user_id); c != grpc::StatusCode::OK) {
      return absl::UnknownError(absl::StrCat("round ", round, ": warm-up GetEntitlement: ", c));
    }
    if (grpc::StatusCode c = Question(token); c != grpc::StatusCode::OK) {
      return absl::UnknownError(absl::StrCat("round ", round, ": warm-up GetQuestion: ", c));
    }
  }
  grpc::ClientContext ctx;
  WithBearer(&ctx, token);
  grpc::Status revoked;
  // The three ways a session ends before its expiry; each must reach the callers' caches.
  switch (round % 3) {
    case 0: {
      idv1::LogoutResponse resp;
      revoked = identity_[replica]->Logout(&ctx, {}, &resp);
      break;
    }
    case 1: {
      idv1::RotateSessionResponse resp;
      revoked = identity_[replica]->RotateSession(&ctx, {}, &resp);
      break;
    }
    default: {
      idv1::RevokeSessionRequest req;
      req.set_session_id(session->session_id());
      idv1::RevokeSessionResponse resp;
      revoked = identity_[replica]->RevokeSession(&ctx, req, &resp);
    }
  }
  if (!revoked.ok()) return Failed(absl::StrCat("round ", round, ": revoking"), revoked);
  const absl::Time ok_at = absl::Now();
  std::atomic<int> let_in{0};
  const auto first_refusal = [&](const std::function<grpc::StatusCode()>& call) {
    absl::Duration refused = kNeverRefused;
    while (absl::Now() - ok_at < kGiveUp) {
      if (call() == grpc::StatusCode::UNAUTHENTICATED) {
        refused = absl::Now() - ok_at;  // the refused call's end: its own latency counts
        break;
      }
      absl::SleepFor(absl::Microseconds(500));
    }
    // Once refused, refused for good (nothing let in from a stale answer).
    for (int i = 0; i < 20 && refused != kNeverRefused; ++i) {
      if (call() != grpc::StatusCode::UNAUTHENTICATED) ++let_in;
    }
    return refused;
  };
  std::thread billing([&] {
    out.billing = first_refusal([&] { return Entitlement(token, *user_id); });
  });
  out.questions = first_refusal([&] { return Question(token); });
  billing.join();
  out.let_in_after_refusal = let_in.load();
  out.practice_refused = StartPractice(token) == grpc::StatusCode::UNAUTHENTICATED;
  return out;
}

absl::Duration Percentile(std::vector<absl::Duration> samples, double p) {
  if (samples.empty()) return kNeverRefused;
  std::sort(samples.begin(), samples.end());
  const size_t i = static_cast<size_t>(p * (samples.size() - 1) + 0.5);
  return samples[std::min(i, samples.size() - 1)];
}

}  // namespace suite::load
