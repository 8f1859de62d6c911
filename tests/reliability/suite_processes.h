// The three real service binaries (identity_server, billing_server, questions_server) as
// processes on one database (started by tests/harness), and a steady load of writes on each with every call recorded —
// for the fault tests and the soak (tools/soak).
//
//   Suite suite(cluster, *db);            // starts the three binaries, waits for SERVING
//   ASSERT_TRUE(suite.WaitServing());       // they came up
//   Load load(suite, suite.AdminToken());  // sign-ups, signed webhooks, new questions
//   load.Start(); ...; load.Stop();
//   std::vector<Call> calls = load.Calls("billing");
//
// Testonly. Suite is not thread-safe; Load's Calls may be read while it runs.
#ifndef SUITE_TESTS_RELIABILITY_SUITE_PROCESSES_H_
#define SUITE_TESTS_RELIABILITY_SUITE_PROCESSES_H_

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"
#include "tests/harness/suite.h"
#include "tests/reliability/cluster.h"
#include "tests/reliability/harness.h"

namespace suite::reliability {

inline constexpr char kAdminEmail[] = "root@example.com";
inline constexpr char kAdminPassword[] = "the operator's long secret";
inline constexpr char kWebhookSecret[] = "whsec_faults";

// SignedCustomerCreated is a new Stripe customer.created event `event_id` (customer
// "cus_<event_id>"), signed now with kWebhookSecret, as billing's webhook door receives it.
inline ::billing::v1::IngestStripeEventRequest SignedCustomerCreated(const std::string& event_id) {
  const std::string payload = absl::StrCat(
      R"({"id":")", event_id, R"(","object":"event","type":"customer.created",)",
      R"("created":1700000000,"livemode":false,"api_version":"2024-06-20",)",
      R"("data":{"object":{"id":"cus_)", event_id, R"(","object":"customer"}}})");
  const int64_t t = absl::ToUnixSeconds(absl::Now());
  ::billing::v1::IngestStripeEventRequest req;
  req.set_payload(payload);
  req.set_stripe_signature(absl::StrCat(
      "t=", t, ",v1=", suite::billing::ComputeStripeSignature(kWebhookSecret, t, payload)));
  return req;
}
inline const absl::Duration kDrain = absl::Seconds(3);

struct Call {
  absl::Time start, end;
  grpc::StatusCode code;
  std::string id;  // what was written, when acknowledged
  std::string message;
};

// TLS on every gRPC port, as production runs (tests/harness: one certificate for the three
// services and the CA the callers trust). All empty: plaintext.
using SuiteTls = harness::TlsFiles;

// The three services as processes on one database, set up for fault tests (health every
// 100 ms, a 3 s drain, no lame duck), started by the one harness (tests/harness/suite.h).
class Suite {
 public:
  // Each service logs to `logs_dir`/<service>.log, appending; by default the test's outputs
  // directory, or /tmp outside a test. Starts the three; WaitServing says whether they serve.
  Suite(PgCluster& cluster, suite::db::testing::TestDatabase& db, const SuiteTls& tls = {},
        std::string logs_dir = "")
      : cluster_(cluster), db_(db), suite_(Options(db, tls, std::move(logs_dir))) {
    started_ = suite_.Start();
    if (!started_.ok()) std::fprintf(stderr, "suite: %s\n", started_.ToString().c_str());
  }

  std::string identity_addr() const { return suite_.addr("identity"); }
  std::string billing_addr() const { return suite_.addr("billing"); }
  std::string questions_addr() const { return suite_.addr("questions"); }
  rpc::testing::ServerProcess& identity() { return suite_.process("identity"); }
  rpc::testing::ServerProcess& billing() { return suite_.process("billing"); }
  rpc::testing::ServerProcess& questions() { return suite_.process("questions"); }
  harness::Suite& processes() { return suite_; }
  PgCluster& cluster() { return cluster_; }
  suite::db::testing::TestDatabase& db() { return db_; }

  // WaitServing: the three came up SERVING and all answer SERVING within `timeout`.
  bool WaitServing(absl::Duration timeout = absl::Seconds(20)) {
    return started_.ok() && suite_.WaitServing(timeout).ok();
  }

  // AdminToken logs the bootstrap admin in.
  std::string AdminToken() {
    auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(identity_addr()));
    ::identity::v1::LoginRequest req;
    req.set_email(kAdminEmail);
    req.set_password(kAdminPassword);
    ::identity::v1::LoginResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status s = stub->Login(&ctx, req, &resp);
    if (!s.ok()) std::fprintf(stderr, "admin login failed: %s\n", s.error_message().c_str());
    return resp.session_token();
  }

 private:
  static harness::SuiteOptions Options(suite::db::testing::TestDatabase& db, const SuiteTls& tls,
                                       std::string logs_dir) {
    harness::SuiteOptions o = harness::TestOptions(
        [&db](const std::string& role) { return db.UrlAs(role); }, kAdminEmail, kAdminPassword,
        kWebhookSecret);
    if (!logs_dir.empty()) o.logs_dir = logs_dir;
    o.tls = tls;
    // The load's client_ip is believed (as from a front end), so the soak's logins from many
    // addresses are not all counted against 127.0.0.1.
    o.trusted_peers = "127.0.0.1";
    o.env["{SVC}_GRPC_DRAIN_TIMEOUT"] = "3s";
    // These tests time the drain itself, from SIGTERM; the lame duck before it is proved by
    // tests/upgrade:rolling_upgrade_test.
    o.env["{SVC}_GRPC_LAME_DUCK"] = "0";
    o.service_env["questions"] = {{"QUESTIONS_FREE_QUOTA", "0"}};
    return o;
  }

  PgCluster& cluster_;
  suite::db::testing::TestDatabase& db_;
  harness::Suite suite_;
  absl::Status started_;
};

// Steady writes on each service from its own thread, every call recorded.
class Load {
 public:
  Load(Suite& suite, std::string admin_token, absl::Duration pause = absl::Milliseconds(20))
      : suite_(suite), token_(std::move(admin_token)), pause_(pause) {}
  ~Load() { Stop(); }

  void Start() {
    running_ = true;
    threads_.emplace_back([this] { Loop("identity", [this](int n) { return SignUp(n); }); });
    threads_.emplace_back([this] { Loop("billing", [this](int n) { return Webhook(n); }); });
    threads_.emplace_back(
        [this] { Loop("questions", [this](int n) { return NewQuestion(n); }); });
  }
  void Stop() {
    running_ = false;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::vector<Call> Calls(const std::string& service) {
    absl::MutexLock lock(&mu_);
    return calls_[service];
  }

 private:
  void Loop(const std::string& service, const std::function<Call(int)>& op) {
    for (int n = 0; running_; ++n) {
      Call c = op(n);
      {
        absl::MutexLock lock(&mu_);
        calls_[service].push_back(c);
      }
      absl::SleepFor(pause_);
    }
  }

  template <typename Fn>
  Call Timed(Fn fn) {
    Call c;
    c.start = absl::Now();
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(c.start + absl::Seconds(5)));
    grpc::Status s = fn(ctx, c.id);
    c.end = absl::Now();
    c.code = s.error_code();
    c.message = s.error_message();
    if (!s.ok()) c.id.clear();
    return c;
  }

  Call SignUp(int n) {
    return Timed([&](grpc::ClientContext& ctx, std::string& id) {
      ::identity::v1::CreateUserRequest req;
      req.set_email(absl::StrCat("load-", n, "-", absl::ToUnixMicros(absl::Now()), "@example.com"));
      req.set_password("correct horse battery staple");
      ::identity::v1::CreateUserResponse resp;
      grpc::Status s = identity_->CreateUser(&ctx, req, &resp);
      id = resp.user().user_id();
      return s;
    });
  }

  Call Webhook(int n) {
    return Timed([&](grpc::ClientContext& ctx, std::string& id) {
      const std::string event_id = absl::StrCat("evt_load_", n, "_", absl::ToUnixMicros(absl::Now()));
      const ::billing::v1::IngestStripeEventRequest req = SignedCustomerCreated(event_id);
      ::billing::v1::IngestStripeEventResponse resp;
      grpc::Status s = billing_->IngestStripeEvent(&ctx, req, &resp);
      id = event_id;
      return s;
    });
  }

  Call NewQuestion(int n) {
    return Timed([&](grpc::ClientContext& ctx, std::string& id) {
      ctx.AddMetadata("authorization", "Bearer " + token_);
      ::questions::v1::CreateQuestionRequest req;
      req.set_stem(absl::StrCat("Load question ", n, "?"));
      req.set_difficulty(::questions::v1::QUESTION_DIFFICULTY_EASY);
      auto* a = req.add_choices();
      a->set_text("yes");
      a->set_is_correct(true);
      req.add_choices()->set_text("no");
      ::questions::v1::CreateQuestionResponse resp;
      grpc::Status s = questions_->CreateQuestion(&ctx, req, &resp);
      id = resp.question().id();
      return s;
    });
  }

  Suite& suite_;
  std::string token_;
  absl::Duration pause_;
  std::unique_ptr<::identity::v1::IdentityService::Stub> identity_ =
      ::identity::v1::IdentityService::NewStub(NewChannel(suite_.identity_addr()));
  std::unique_ptr<::billing::v1::BillingService::Stub> billing_ =
      ::billing::v1::BillingService::NewStub(NewChannel(suite_.billing_addr()));
  std::unique_ptr<::questions::v1::QuestionBankService::Stub> questions_ =
      ::questions::v1::QuestionBankService::NewStub(NewChannel(suite_.questions_addr()));
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::map<std::string, std::vector<Call>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::reliability

#endif  // SUITE_TESTS_RELIABILITY_SUITE_PROCESSES_H_
