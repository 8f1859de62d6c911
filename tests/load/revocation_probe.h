// The revocation bound's one measurement, shared by revocation_bound_test (which asserts it)
// and the loadgen's --revocation_rounds mode (which tools/bench runs under load to print it).
// A round logs the probe's user (signed up by the first round) in on one identity replica, or
// takes a session logged in ahead (PrepareSessions), warms billing's and questions' caches with
// it (two calls each: the second is answered from the cache), revokes it on that replica
// (Logout, RotateSession or RevokeSession, by round), and then asks billing (GetEntitlement)
// and questions (GetQuestion) at the same time, as fast as it can, until each refuses it with
// UNAUTHENTICATED. The time from the revoking call's OK to the end of each service's first
// refused call is one sample. After a refusal, 20 more calls must all be refused (an answer
// cached before the revocation must never come back), and StartPracticeSession with the revoked
// token must be refused too (nothing written with it).
#ifndef SUITE_TESTS_LOAD_REVOCATION_PROBE_H_
#define SUITE_TESTS_LOAD_REVOCATION_PROBE_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"

namespace suite::load {

// The sample when no refusal came within RevocationProbe::kGiveUp.
inline constexpr absl::Duration kNeverRefused = absl::InfiniteDuration();

struct RevocationRound {
  int replica = 0;               // the identity replica that signed in and revoked
  absl::Duration billing;        // revoking OK -> billing's first UNAUTHENTICATED
  absl::Duration questions;      // the same for questions
  int let_in_after_refusal = 0;  // calls answered OK after that service had refused
  bool practice_refused = false;  // StartPracticeSession with the revoked token refused
};

class RevocationProbe {
 public:
  // How long a round waits for a refusal before recording kNeverRefused.
  static constexpr absl::Duration kGiveUp = absl::Seconds(5);

  // `identity` holds one channel per replica (a round uses one of them); `question_id` names a
  // published question that GetQuestion reads; `email_domain` keeps the probe's user apart
  // from other runs on the same database.
  RevocationProbe(std::vector<std::shared_ptr<grpc::Channel>> identity,
                  std::shared_ptr<grpc::Channel> billing,
                  std::shared_ptr<grpc::Channel> questions, std::string question_id,
                  std::string email_domain);

  int replicas() const { return static_cast<int>(identity_.size()); }
  // For a caller that publishes its question through the probe's own logins first.
  void set_question_id(std::string id) { question_id_ = std::move(id); }

  // Logs the probe's user in `n` times ahead, for rounds 0..n-1 (round i on replica
  // i % replicas()), so that a run under load does not wait for a password hash per round.
  absl::Status PrepareSessions(int n);

  // One round on replica `replica` (`round` picks how the session is revoked, and its prepared
  // session if any; else it logs in now); the first signs the probe's user up. An error when a
  // setup call (sign-up, login, warm-up, the revocation) failed: the round then measured nothing.
  absl::StatusOr<RevocationRound> Run(int round, int replica);

  // Logs in on `replica`; the caller's address varies per login, so that login throttling
  // never sees a burst from one address.
  absl::StatusOr<::identity::v1::LoginResponse> Login(int replica, const std::string& email,
                                                      const std::string& password);
  // Creates a user on `replica` with the probe's password; its user id.
  absl::StatusOr<std::string> SignUp(int replica, const std::string& email);
  // The cached calls the bound is about (a 5 s deadline), as the grpc status code.
  grpc::StatusCode Entitlement(const std::string& token, const std::string& user_id);
  grpc::StatusCode Question(const std::string& token);
  grpc::StatusCode StartPractice(const std::string& token);

  static constexpr char kPassword[] = "correct horse battery staple";

 private:
  std::vector<std::unique_ptr<::identity::v1::IdentityService::Stub>> identity_;
  std::unique_ptr<::billing::v1::BillingService::Stub> billing_;
  std::unique_ptr<::questions::v1::QuestionBankService::Stub> questions_;
  std::string question_id_;
  const std::string email_domain_;
  std::atomic<int> logins_{0};
  std::string user_id_;  // the probe's user, once signed up
  std::vector<::identity::v1::LoginResponse> prepared_;  // by round
  absl::Status EnsureUser(int replica);
  std::string Email() const { return "revocation-probe@" + email_domain_; }
};

// The p-th percentile (0..1, nearest rank) of `samples`; kNeverRefused when empty.
absl::Duration Percentile(std::vector<absl::Duration> samples, double p);

}  // namespace suite::load

#endif  // SUITE_TESTS_LOAD_REVOCATION_PROBE_H_
