// loadgen drives one RPC of the suite at a fixed concurrency (closed loop) or a fixed rate (open
// loop) for a duration, through the gRPC async client API (many calls in flight on a few channels,
// completion queues drained by --pollers threads), after preparing realistic inputs through the API itself (users and their session
// tokens, an admin token, questions and tags, practice sessions). Every call's grpc-status is
// checked; the report gives throughput, p50/p90/p99/max latency and errors by code, as a table
// on stdout and as JSON (--json_out).
//
//   loadgen --rpc=ValidateSession --concurrency=32 --duration=10
//       --identity_addr=127.0.0.1:50051 --json_out=/tmp/vs.json   (one command line)
//   loadgen --rpc=GetQuestion --rate=800 --duration=10 ...
//   loadgen --import_questions=10000 ...          # data set for the question RPCs, then exit
//   loadgen --rpc=ValidateSession --rate=1000 --background_rpc=Login --background_concurrency=8
//   loadgen --revocation_rounds=200 --identity_addrs=A,B --rpc=GetEntitlement
//       --background_rpc=GetQuestion --concurrency=32 --background_concurrency=32  (one line)
//       # the revocation bound (tests/load/revocation_probe.h) while both RPCs run closed-loop;
//       # the load runs from the first round to the last, whatever --duration says
//
// RPCs: Health (grpc.health.v1 Check: the empty RPC, on --health_addr), ValidateSession, Login,
// GetEntitlement, IngestStripeEvent, RecordTransaction, GetQuestion, ListQuestions,
// SubmitAttempt, StartPracticeSession.
// Against servers that serve TLS, set SUITE_TLS_CA_FILE (and the other SUITE_TLS_* variables of
// shared/rpc/server/tls.h) as for the services' own callers.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <openssl/hmac.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "shared/rpc/server/tls.h"
#include "tests/load/pacer.h"
#include "tests/load/report.h"
#include "tests/load/revocation_probe.h"

ABSL_FLAG(std::string, rpc, "Health", "the RPC to drive (see the file comment)");
ABSL_FLAG(std::string, identity_addr, "127.0.0.1:50051", "identity host:port");
ABSL_FLAG(std::string, billing_addr, "127.0.0.1:50052", "billing host:port");
ABSL_FLAG(std::string, questions_addr, "127.0.0.1:50053", "questions host:port");
ABSL_FLAG(std::string, health_addr, "", "server of --rpc=Health (default: identity_addr)");
ABSL_FLAG(int, concurrency, 16, "calls in flight (closed loop); the in-flight cap with --rate");
ABSL_FLAG(double, rate, 0, "calls per second (open loop); 0 = closed loop at --concurrency");
ABSL_FLAG(double, duration, 10, "measured seconds");
ABSL_FLAG(double, warmup, 1, "seconds of load before measuring");
ABSL_FLAG(int, streams_per_channel, 32, "calls in flight per channel (one HTTP/2 connection)");
ABSL_FLAG(int, pollers, 2, "completion-queue threads of the client");
ABSL_FLAG(int, deadline_ms, 5000, "deadline of every call");
ABSL_FLAG(int, users, 32, "users created (and logged in) in the setup phase");
ABSL_FLAG(std::string, admin_email, "admin@bench.test", "bootstrap admin of identity");
ABSL_FLAG(std::string, admin_password, "bench-admin-password", "its password");
ABSL_FLAG(std::string, stripe_secret, "whsec_bench", "billing webhook secret (signing)");
ABSL_FLAG(int, practice_sessions, 100, "SubmitAttempt: sessions of 100 questions prepared");
ABSL_FLAG(int, import_questions, 0, "import this many published questions, then exit");
ABSL_FLAG(bool, list_sweep, false, "call every List RPC (two pages), then exit");
ABSL_FLAG(std::string, json_out, "", "write the results here as JSON");
ABSL_FLAG(std::string, background_rpc, "", "a second RPC driven at the same time (closed loop)");
ABSL_FLAG(int, background_concurrency, 8, "its concurrency");
ABSL_FLAG(int, revocation_rounds, 0,
          "measure the revocation bound over this many rounds while --rpc (and --background_rpc) "
          "run, then stop them");
ABSL_FLAG(std::string, identity_addrs, "",
          "the identity replicas the revocation rounds alternate over, comma-separated "
          "(default: --identity_addr)");
ABSL_FLAG(std::string, revocation_out, "", "write the revocation samples and percentiles here");
ABSL_FLAG(std::string, label, "", "name of the run in the report (default: the RPC)");

namespace loadgen {
namespace {

namespace idv1 = ::identity::v1;
namespace bv1 = ::billing::v1;
namespace qv1 = ::questions::v1;
using Done = std::function<void(const grpc::Status&)>;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "loadgen: " << what << "\n";
  std::exit(1);
}

void Check(const grpc::Status& s, const std::string& what) {
  if (!s.ok()) Die(absl::StrCat(what, ": ", CodeName(s.error_code()), " ", s.error_message()));
}

// Plaintext, or TLS when the SUITE_TLS_* variables say so, as the services' own callers
// (shared/rpc/server/tls.h): a TLS deployment is measured with TLS on both ends.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& addr, int index) {
  static const suite::rpc::ClientTlsConfig* const tls = [] {
    absl::StatusOr<suite::rpc::ClientTlsConfig> loaded = suite::rpc::LoadClientTlsConfig();
    if (!loaded.ok()) Die(std::string(loaded.status().message()));
    return new suite::rpc::ClientTlsConfig(*std::move(loaded));
  }();
  grpc::ChannelArguments args;
  // A distinct argument and a local subchannel pool give each channel its own connection.
  args.SetInt("loadgen.channel_index", index);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      suite::rpc::MakeChannel(addr, *tls, args);
  if (!channel.ok()) Die(std::string(channel.status().message()));
  return *std::move(channel);
}

std::string RunId() {
  return absl::StrCat(absl::ToUnixMicros(absl::Now()), "-", getpid());
}

thread_local std::mt19937_64 rng{std::random_device{}()};
size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& bearer) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!bearer.empty()) ctx->AddMetadata("authorization", "Bearer " + bearer);
  return ctx;
}

// One call in flight: what the async API needs to stay alive until its completion comes out
// of a completion queue (the tag is the Pending itself).
struct PendingBase {
  virtual ~PendingBase() = default;
  virtual void Complete() = 0;
};

template <typename Req, typename Resp>
struct Pending : PendingBase {
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
  grpc::Status status;
  Done done;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> reader;
  void Complete() override { done(status); }
};

template <typename Req, typename Resp>
Pending<Req, Resp>* NewPending(const std::string& bearer, Done done) {
  auto* p = new Pending<Req, Resp>;
  p->ctx.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
  if (!bearer.empty()) p->ctx.AddMetadata("authorization", "Bearer " + bearer);
  p->done = std::move(done);
  return p;
}

// Launch starts the call `prepare` returns (PrepareAsync<Rpc> on some completion queue).
template <typename P, typename F>
void Launch(P* p, F prepare) {
  p->reader = prepare();
  p->reader->StartCall();
  p->reader->Finish(&p->resp, &p->status, p);
}

std::string HexHmacSha256(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) absl::StrAppendFormat(&hex, "%02x", mac[i]);
  return hex;
}

struct User {
  std::string email, password, user_id, token;
};

struct PracticeItem {
  std::string token, session_id, question_id, choice_id;
};

// Everything the setup phase prepared, shared by the workloads (read-only during the run,
// except the practice queue, which has its own lock).
struct Env {
  std::string run_id = RunId();
  std::vector<std::shared_ptr<grpc::Channel>> identity, billing, questions, health;
  std::string admin_token, admin_id;
  std::vector<User> users;
  std::vector<std::string> tag_ids, question_ids;
  std::mutex practice_mu;
  std::vector<PracticeItem> practice;
  std::atomic<int64_t> counter{0};
  // Completion queues, each drained by its own thread (StartPollers / StopPollers).
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs;
  std::vector<std::thread> pollers;

  grpc::CompletionQueue* Cq(int64_t seq) { return cqs[seq % cqs.size()].get(); }
  void StartPollers(int n) {
    for (int i = 0; i < n; ++i) cqs.push_back(std::make_unique<grpc::CompletionQueue>());
    for (auto& cq : cqs) {
      pollers.emplace_back([q = cq.get()] {
        void* tag = nullptr;
        bool ok = false;
        while (q->Next(&tag, &ok)) {
          auto* p = static_cast<PendingBase*>(tag);
          p->Complete();
          delete p;
        }
      });
    }
  }
  void StopPollers() {
    for (auto& cq : cqs) cq->Shutdown();
    for (auto& t : pollers) t.join();
    pollers.clear();
  }
};

// ---- setup through the API (blocking stubs) ----

User LoginAs(idv1::IdentityService::Stub& stub, const std::string& email, const std::string& pw) {
  idv1::LoginRequest req;
  req.set_email(email);
  req.set_password(pw);
  req.set_user_agent("loadgen");
  idv1::LoginResponse resp;
  auto ctx = Ctx("");
  Check(stub.Login(ctx.get(), req, &resp), "Login " + email);
  return {email, pw, resp.user_id(), resp.session_token()};
}

void SetupAdmin(Env& env) {
  auto stub = idv1::IdentityService::NewStub(env.identity[0]);
  User admin = LoginAs(*stub, absl::GetFlag(FLAGS_admin_email), absl::GetFlag(FLAGS_admin_password));
  env.admin_token = admin.token;
  env.admin_id = admin.user_id;
}

void SetupUsers(Env& env, int n) {
  env.users.resize(n);
  std::vector<std::thread> threads;
  std::atomic<int> next{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto stub = idv1::IdentityService::NewStub(env.identity[0]);
      for (int i = next++; i < n; i = next++) {
        idv1::CreateUserRequest req;
        req.set_email(absl::StrCat("load-", env.run_id, "-", i, "@bench.test"));
        req.set_password(absl::StrCat("bench-password-", i, "-", env.run_id));
        req.set_first_name(absl::StrCat("Load", i));
        req.set_last_name("Bench");
        idv1::CreateUserResponse resp;
        auto ctx = Ctx("");
        Check(stub->CreateUser(ctx.get(), req, &resp), "CreateUser");
        env.users[i] = LoginAs(*stub, req.email(), req.password());
      }
    });
  }
  for (auto& t : threads) t.join();
}

void LoadTags(Env& env) {
  auto stub = qv1::QuestionBankService::NewStub(env.questions[0]);
  qv1::ListTagsRequest req;
  req.set_page_size(100);
  qv1::ListTagsResponse resp;
  auto ctx = Ctx(env.admin_token);
  Check(stub->ListTags(ctx.get(), req, &resp), "ListTags");
  for (const auto& t : resp.tags()) {
    if (t.slug().rfind("bench-", 0) == 0) env.tag_ids.push_back(t.id());
  }
}

void ImportQuestions(Env& env, int n) {
  auto stub = qv1::QuestionBankService::NewStub(env.questions[0]);
  for (int i = 0; i < 24; ++i) {
    qv1::CreateTagRequest req;
    req.set_kind(i % 2 ? qv1::TAG_KIND_TOPIC : qv1::TAG_KIND_DOMAIN);
    req.set_slug(absl::StrCat("bench-tag-", i));
    req.set_label(absl::StrCat("Bench tag ", i));
    qv1::CreateTagResponse resp;
    auto ctx = Ctx(env.admin_token);
    grpc::Status s = stub->CreateTag(ctx.get(), req, &resp);
    if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) Check(s, "CreateTag");
  }
  LoadTags(env);
  if (env.tag_ids.empty()) Die("no bench tags");
  static const char* const kWords[] = {
      "patient", "presents", "with", "acute", "chronic", "pain", "fever", "dose", "mg",
      "daily", "which", "of", "the", "following", "is", "most", "likely", "diagnosis",
      "treatment", "renal", "hepatic", "cardiac", "pulmonary", "infection", "history"};
  const absl::Time start = absl::Now();
  int done = 0;
  while (done < n) {
    auto ctx = Ctx(env.admin_token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
    qv1::ImportQuestionsResponse resp;
    auto writer = stub->ImportQuestions(ctx.get(), &resp);
    // One stream per 20000 items, batches of 500 (the service commits in chunks of 500).
    for (int streamed = 0; streamed < 20000 && done < n;) {
      qv1::ImportQuestionsRequest req;
      for (int b = 0; b < 500 && done < n; ++b, ++done, ++streamed) {
        auto* item = req.add_items();
        item->set_external_key(absl::StrCat("bench-q-", done));
        std::string stem = absl::StrCat("Question ", done, ":");
        const int words = 12 + static_cast<int>(Pick(30));
        for (int w = 0; w < words; ++w) absl::StrAppend(&stem, " ", kWords[Pick(25)]);
        item->set_stem(stem + "?");
        item->set_explanation(absl::StrCat("Because of ", kWords[Pick(25)], " ", done, "."));
        item->set_difficulty(static_cast<qv1::QuestionDifficulty>(1 + Pick(3)));
        const size_t correct = Pick(4);
        for (size_t c = 0; c < 4; ++c) {
          auto* choice = item->add_choices();
          choice->set_text(absl::StrCat("Choice ", c, " ", kWords[Pick(25)], " ", done));
          choice->set_is_correct(c == correct);
        }
        const size_t tags = 1 + Pick(3);
        const size_t first = Pick(env.tag_ids.size());
        for (size_t t = 0; t < tags; ++t) {
          item->add_tag_ids(env.tag_ids[(first + t * 7) % env.tag_ids.size()]);
        }
        item->set_publish(true);
      }
      if (!writer->Write(req)) break;
    }
    writer->WritesDone();
    Check(writer->Finish(), "ImportQuestions");
    std::cerr << absl::StrFormat("loadgen: imported %d/%d (created %d, skipped %d, failed %d)\n",
                                 done, n, resp.created_count(), resp.skipped_count(),
                                 resp.failed_count());
    if (resp.failed_count() > 0) Die(resp.errors(0).message());
  }
  std::cerr << "loadgen: import took " << absl::ToDoubleSeconds(absl::Now() - start) << " s\n";
}

void LoadQuestionIds(Env& env, int limit) {
  auto stub = qv1::QuestionBankService::NewStub(env.questions[0]);
  std::string token;
  do {
    qv1::ListQuestionsRequest req;
    req.set_page_size(100);
    req.set_page_token(token);
    qv1::ListQuestionsResponse resp;
    auto ctx = Ctx(env.users[0].token);
    Check(stub->ListQuestions(ctx.get(), req, &resp), "ListQuestions (setup)");
    for (const auto& q : resp.questions()) env.question_ids.push_back(q.id());
    token = resp.next_page_token();
  } while (!token.empty() && static_cast<int>(env.question_ids.size()) < limit);
  if (env.question_ids.empty()) Die("no questions: run --import_questions first");
}

void SetupPractice(Env& env, int sessions) {
  std::vector<std::thread> threads;
  std::atomic<int> next{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto stub = qv1::QuestionBankService::NewStub(env.questions[0]);
      std::vector<PracticeItem> mine;
      for (int i = next++; i < sessions; i = next++) {
        const User& u = env.users[i % env.users.size()];
        qv1::StartPracticeSessionRequest req;
        req.set_mode(qv1::PRACTICE_MODE_TUTOR);
        req.set_question_count(100);
        qv1::StartPracticeSessionResponse resp;
        auto ctx = Ctx(u.token);
        Check(stub->StartPracticeSession(ctx.get(), req, &resp), "StartPracticeSession");
        for (const auto& q : resp.questions()) {
          if (q.choices().empty()) continue;
          mine.push_back({u.token, resp.session().id(), q.id(),
                          q.choices(static_cast<int>(Pick(q.choices_size()))).id()});
        }
      }
      std::lock_guard<std::mutex> lock(env.practice_mu);
      env.practice.insert(env.practice.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  std::shuffle(env.practice.begin(), env.practice.end(), rng);
}


// ---- --list_sweep: every List RPC once, first and second page, so tools/bench can capture
// each list query from the database log and EXPLAIN it ----

template <typename Req, typename Resp, typename Call>
void TwoPages(const std::string& name, const std::string& bearer, Req req, Call call) {
  std::string token;
  for (int page = 0; page < 2; ++page) {
    req.set_page_token(token);
    Resp resp;
    auto ctx = Ctx(bearer);
    grpc::Status s = call(ctx.get(), req, &resp);
    if (!s.ok()) {
      std::cerr << "loadgen: list sweep " << name << ": " << CodeName(s.error_code()) << " "
                << s.error_message() << "\n";
      return;
    }
    token = resp.next_page_token();
    if (token.empty()) return;
  }
}

void ListSweep(Env& env) {
  auto id = idv1::IdentityService::NewStub(env.identity[0]);
  auto bi = bv1::BillingService::NewStub(env.billing[0]);
  auto qu = qv1::QuestionBankService::NewStub(env.questions[0]);
  const User& u = env.users[0];
  const std::string& admin = env.admin_token;
  auto S = [](auto& stub, auto method) {
    return [&stub, method](grpc::ClientContext* c, const auto& r, auto* o) {
      return ((*stub).*method)(c, r, o);
    };
  };
  {
    idv1::ListUsersRequest r;
    r.set_page_size(2);
    TwoPages<idv1::ListUsersRequest, idv1::ListUsersResponse>(
        "ListUsers", admin, r, S(id, &idv1::IdentityService::Stub::ListUsers));
    r.set_email_prefix("load-");
    TwoPages<idv1::ListUsersRequest, idv1::ListUsersResponse>(
        "ListUsers(email_prefix)", admin, r, S(id, &idv1::IdentityService::Stub::ListUsers));
  }
  {
    idv1::ListSessionsRequest r;
    r.set_user_id(u.user_id);
    r.set_page_size(1);
    TwoPages<idv1::ListSessionsRequest, idv1::ListSessionsResponse>(
        "ListSessions", u.token, r, S(id, &idv1::IdentityService::Stub::ListSessions));
    idv1::ListRoleAssignmentsRequest ra;
    ra.set_page_size(2);
    TwoPages<idv1::ListRoleAssignmentsRequest, idv1::ListRoleAssignmentsResponse>(
        "ListRoleAssignments", admin, ra,
        S(id, &idv1::IdentityService::Stub::ListRoleAssignments));
    ra.set_user_id(env.admin_id);
    TwoPages<idv1::ListRoleAssignmentsRequest, idv1::ListRoleAssignmentsResponse>(
        "ListRoleAssignments(user_id)", admin, ra,
        S(id, &idv1::IdentityService::Stub::ListRoleAssignments));
    idv1::ListRolesRequest rr;
    idv1::ListRolesResponse rro;
    auto ctx3 = Ctx(admin);
    grpc::Status st = id->ListRoles(ctx3.get(), rr, &rro);
    if (!st.ok()) std::cerr << "loadgen: list sweep ListRoles: " << st.error_message() << "\n";
  }
  {
    idv1::ListAccountsRequest r;
    r.set_page_size(2);
    TwoPages<idv1::ListAccountsRequest, idv1::ListAccountsResponse>(
        "ListAccounts", admin, r, S(id, &idv1::IdentityService::Stub::ListAccounts));
    idv1::ListLoginAttemptsRequest l;
    l.set_page_size(2);
    TwoPages<idv1::ListLoginAttemptsRequest, idv1::ListLoginAttemptsResponse>(
        "ListLoginAttempts", admin, l, S(id, &idv1::IdentityService::Stub::ListLoginAttempts));
    l.set_email(u.email);
    TwoPages<idv1::ListLoginAttemptsRequest, idv1::ListLoginAttemptsResponse>(
        "ListLoginAttempts(email)", admin, l,
        S(id, &idv1::IdentityService::Stub::ListLoginAttempts));
    l.clear_email();
    l.set_ip("10.0.0.1");
    TwoPages<idv1::ListLoginAttemptsRequest, idv1::ListLoginAttemptsResponse>(
        "ListLoginAttempts(ip)", admin, l, S(id, &idv1::IdentityService::Stub::ListLoginAttempts));
  }
  {
    bv1::ListSubscriptionsRequest r;
    r.set_user_id(u.user_id);
    r.set_page_size(2);
    TwoPages<bv1::ListSubscriptionsRequest, bv1::ListSubscriptionsResponse>(
        "ListSubscriptions", u.token, r, S(bi, &bv1::BillingService::Stub::ListSubscriptions));
    bv1::ListTransactionsRequest t;
    t.set_account_id("bbbbbbbb-0000-4000-8000-000000000001");
    t.set_page_size(2);
    TwoPages<bv1::ListTransactionsRequest, bv1::ListTransactionsResponse>(
        "ListTransactions", admin, t, S(bi, &bv1::BillingService::Stub::ListTransactions));
    bv1::ListStripeEventsRequest e;
    e.set_page_size(2);
    TwoPages<bv1::ListStripeEventsRequest, bv1::ListStripeEventsResponse>(
        "ListStripeEvents", admin, e, S(bi, &bv1::BillingService::Stub::ListStripeEvents));
    e.set_type("customer.subscription.updated");
    e.set_status(bv1::STRIPE_EVENT_STATUS_PROCESSED);
    TwoPages<bv1::ListStripeEventsRequest, bv1::ListStripeEventsResponse>(
        "ListStripeEvents(type,status)", admin, e,
        S(bi, &bv1::BillingService::Stub::ListStripeEvents));
  }
  {
    using LQ = qv1::ListQuestionsRequest;
    using LQR = qv1::ListQuestionsResponse;
    auto lq = S(qu, &qv1::QuestionBankService::Stub::ListQuestions);
    LQ r;
    r.set_page_size(20);
    TwoPages<LQ, LQR>("ListQuestions", u.token, r, lq);
    LQ any = r;
    any.mutable_filter()->add_any_tag_ids(env.tag_ids[0]);
    TwoPages<LQ, LQR>("ListQuestions(any_tag)", u.token, any, lq);
    LQ all = r;
    all.mutable_filter()->add_all_tag_ids(env.tag_ids[0]);
    all.mutable_filter()->add_all_tag_ids(env.tag_ids[7 % env.tag_ids.size()]);
    TwoPages<LQ, LQR>("ListQuestions(all_tags)", u.token, all, lq);
    LQ diff = r;
    diff.mutable_filter()->set_difficulty(qv1::QUESTION_DIFFICULTY_HARD);
    TwoPages<LQ, LQR>("ListQuestions(difficulty)", u.token, diff, lq);
    LQ text = r;
    text.mutable_filter()->set_stem_query("renal infection");
    TwoPages<LQ, LQR>("ListQuestions(stem_query)", u.token, text, lq);
    LQ draft = r;
    draft.mutable_filter()->set_status(qv1::QUESTION_STATUS_DRAFT);
    TwoPages<LQ, LQR>("ListQuestions(status=draft, admin)", admin, draft, lq);
    qv1::ListTagsRequest t;
    t.set_page_size(2);
    TwoPages<qv1::ListTagsRequest, qv1::ListTagsResponse>(
        "ListTags", u.token, t, S(qu, &qv1::QuestionBankService::Stub::ListTags));
    qv1::ListBookmarksRequest b;
    b.set_page_size(2);
    TwoPages<qv1::ListBookmarksRequest, qv1::ListBookmarksResponse>(
        "ListBookmarks", u.token, b, S(qu, &qv1::QuestionBankService::Stub::ListBookmarks));
    qv1::ListAttemptsRequest a;
    a.set_page_size(2);
    TwoPages<qv1::ListAttemptsRequest, qv1::ListAttemptsResponse>(
        "ListAttempts", u.token, a, S(qu, &qv1::QuestionBankService::Stub::ListAttempts));
  }
}

// ---- workloads: Start launches one asynchronous call, or returns false when out of inputs ----

class Workload {
 public:
  virtual ~Workload() = default;
  virtual bool Start(int64_t seq, Done done) = 0;
};

// A workload on one service: the environment, and a stub per channel to the service; call
// `seq` goes through stub(seq), which spreads the calls over the connections.
template <typename Service>
class ServiceWorkload : public Workload {
 protected:
  ServiceWorkload(Env& env, const std::vector<std::shared_ptr<grpc::Channel>>& channels)
      : env_(env) {
    for (const auto& c : channels) stubs_.push_back(Service::NewStub(c));
  }
  typename Service::Stub& stub(int64_t seq) { return *stubs_[seq % stubs_.size()]; }
  // A user of the setup, picked at random for each call.
  const User& AnyUser() const { return env_.users[Pick(env_.users.size())]; }

  Env& env_;

 private:
  std::vector<std::unique_ptr<typename Service::Stub>> stubs_;
};

class HealthWorkload : public ServiceWorkload<grpc::health::v1::Health> {
 public:
  explicit HealthWorkload(Env& env) : ServiceWorkload(env, env.health) {}
  bool Start(int64_t seq, Done done) override {
    using grpc::health::v1::HealthCheckRequest;
    using grpc::health::v1::HealthCheckResponse;
    auto* p = NewPending<HealthCheckRequest, HealthCheckResponse>("", std::move(done));
    Launch(p, [&] { return stub(seq).PrepareAsyncCheck(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

class ValidateSessionWorkload : public ServiceWorkload<idv1::IdentityService> {
 public:
  explicit ValidateSessionWorkload(Env& env) : ServiceWorkload(env, env.identity) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<idv1::ValidateSessionRequest, idv1::ValidateSessionResponse>(
        "", std::move(done));
    p->req.set_session_token(AnyUser().token);
    Launch(p, [&] { return stub(seq).PrepareAsyncValidateSession(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

class LoginWorkload : public ServiceWorkload<idv1::IdentityService> {
 public:
  explicit LoginWorkload(Env& env) : ServiceWorkload(env, env.identity) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<idv1::LoginRequest, idv1::LoginResponse>("", std::move(done));
    const User& u = env_.users[seq % env_.users.size()];
    p->req.set_email(u.email);
    p->req.set_password(u.password);
    // As a front end forwarding its users' addresses (identity trusts the bench's peer).
    p->req.set_client_ip(
        absl::StrCat("10.", seq % 200, ".", (seq / 200) % 250, ".", 1 + Pick(250)));
    p->req.set_user_agent("loadgen");
    Launch(p, [&] { return stub(seq).PrepareAsyncLogin(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

class GetEntitlementWorkload : public ServiceWorkload<bv1::BillingService> {
 public:
  explicit GetEntitlementWorkload(Env& env) : ServiceWorkload(env, env.billing) {}
  bool Start(int64_t seq, Done done) override {
    const User& u = AnyUser();
    auto* p = NewPending<bv1::GetEntitlementRequest, bv1::GetEntitlementResponse>(u.token,
                                                                                  std::move(done));
    p->req.set_user_id(u.user_id);
    Launch(p, [&] { return stub(seq).PrepareAsyncGetEntitlement(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

// A new, correctly signed customer.subscription.updated event per call, for a user's
// subscription (status varies), so each call claims, applies and marks a new event.
std::string SubscriptionEvent(Env& env, int64_t n, const User& u, int64_t created) {
  static const char* const kStatus[] = {"active", "trialing", "past_due", "active", "canceled"};
  const std::string sub = absl::StrCat("sub_bench_", u.user_id.substr(0, 8));
  return absl::StrCat(
      R"({"id":"evt_bench_)", env.run_id, "_", n,
      R"(","object":"event","type":"customer.subscription.updated","created":)", created,
      R"(,"livemode":false,"api_version":"2024-06-20","data":{"object":{"id":")", sub,
      R"(","object":"subscription","customer":"cus_bench_)", u.user_id.substr(0, 8),
      R"(","status":")", kStatus[n % 5], R"(","cancel_at_period_end":false,"current_period_end":)",
      created + 30 * 86400,
      R"(,"trial_end":null,"items":{"data":[{"price":{"id":"price_bench"}}]},)",
      R"("metadata":{"user_id":")", u.user_id, R"("}}}})");
}

class IngestWorkload : public ServiceWorkload<bv1::BillingService> {
 public:
  explicit IngestWorkload(Env& env)
      : ServiceWorkload(env, env.billing), secret_(absl::GetFlag(FLAGS_stripe_secret)) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<bv1::IngestStripeEventRequest, bv1::IngestStripeEventResponse>(
        "", std::move(done));
    const int64_t n = env_.counter++;
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    p->req.set_payload(SubscriptionEvent(env_, n, AnyUser(), now));
    p->req.set_stripe_signature(absl::StrCat(
        "t=", now, ",v1=", HexHmacSha256(secret_, absl::StrCat(now, ".", p->req.payload()))));
    Launch(p,
           [&] { return stub(seq).PrepareAsyncIngestStripeEvent(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }

 private:
  std::string secret_;
};

class RecordTransactionWorkload : public ServiceWorkload<bv1::BillingService> {
 public:
  explicit RecordTransactionWorkload(Env& env) : ServiceWorkload(env, env.billing) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<bv1::RecordTransactionRequest, bv1::RecordTransactionResponse>(
        env_.admin_token, std::move(done));
    const int64_t n = env_.counter++;
    p->req.set_idempotency_key(absl::StrCat("bench-", env_.run_id, "-", n));
    auto* t = p->req.mutable_transaction();
    t->set_account_id(absl::StrFormat("bbbbbbbb-0000-4000-8000-%012d", Pick(50)));
    t->set_user_id(AnyUser().user_id);
    t->set_kind(bv1::TRANSACTION_KIND_PAYMENT);
    t->set_status(bv1::TRANSACTION_STATUS_SUCCEEDED);
    t->set_currency(n % 3 ? "USD" : "EUR");
    t->set_amount_cents(100 + static_cast<int64_t>(Pick(100000)));
    t->set_provider("manual");
    (*t->mutable_metadata())["note"] = absl::StrCat("bench ", n);
    Launch(p,
           [&] { return stub(seq).PrepareAsyncRecordTransaction(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

class GetQuestionWorkload : public ServiceWorkload<qv1::QuestionBankService> {
 public:
  explicit GetQuestionWorkload(Env& env) : ServiceWorkload(env, env.questions) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<qv1::GetQuestionRequest, qv1::GetQuestionResponse>(AnyUser().token,
                                                                            std::move(done));
    p->req.set_question_id(env_.question_ids[Pick(env_.question_ids.size())]);
    Launch(p, [&] { return stub(seq).PrepareAsyncGetQuestion(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

class ListQuestionsWorkload : public ServiceWorkload<qv1::QuestionBankService> {
 public:
  explicit ListQuestionsWorkload(Env& env) : ServiceWorkload(env, env.questions) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<qv1::ListQuestionsRequest, qv1::ListQuestionsResponse>(AnyUser().token,
                                                                                std::move(done));
    p->req.set_page_size(20);
    // A page of 20 with tags, filtered by a tag and sometimes a difficulty.
    p->req.mutable_filter()->add_any_tag_ids(env_.tag_ids[Pick(env_.tag_ids.size())]);
    if (seq % 2) {
      p->req.mutable_filter()->set_difficulty(static_cast<qv1::QuestionDifficulty>(1 + Pick(3)));
    }
    Launch(p, [&] { return stub(seq).PrepareAsyncListQuestions(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

// A tutor session of 20 questions, half of them with a difficulty: the draw that has to stay
// cheap as the bank grows.
class StartPracticeSessionWorkload : public ServiceWorkload<qv1::QuestionBankService> {
 public:
  explicit StartPracticeSessionWorkload(Env& env) : ServiceWorkload(env, env.questions) {}
  bool Start(int64_t seq, Done done) override {
    auto* p = NewPending<qv1::StartPracticeSessionRequest, qv1::StartPracticeSessionResponse>(
        AnyUser().token, std::move(done));
    p->req.set_mode(qv1::PRACTICE_MODE_TUTOR);
    p->req.set_question_count(20);
    if (seq % 2) {
      p->req.mutable_filter()->set_difficulty(static_cast<qv1::QuestionDifficulty>(1 + Pick(3)));
    }
    Launch(p, [&] {
      return stub(seq).PrepareAsyncStartPracticeSession(&p->ctx, p->req, env_.Cq(seq));
    });
    return true;
  }
};

class SubmitAttemptWorkload : public ServiceWorkload<qv1::QuestionBankService> {
 public:
  explicit SubmitAttemptWorkload(Env& env) : ServiceWorkload(env, env.questions) {}
  bool Start(int64_t seq, Done done) override {
    PracticeItem item;
    {
      std::lock_guard<std::mutex> lock(env_.practice_mu);
      if (env_.practice.empty()) return false;
      item = std::move(env_.practice.back());
      env_.practice.pop_back();
    }
    auto* p = NewPending<qv1::SubmitAttemptRequest, qv1::SubmitAttemptResponse>(item.token,
                                                                                std::move(done));
    p->req.set_session_id(item.session_id);
    p->req.set_question_id(item.question_id);
    p->req.set_choice_id(item.choice_id);
    p->req.set_time_spent_ms(2000 + static_cast<int64_t>(Pick(60000)));
    Launch(p, [&] { return stub(seq).PrepareAsyncSubmitAttempt(&p->ctx, p->req, env_.Cq(seq)); });
    return true;
  }
};

std::unique_ptr<Workload> MakeWorkload(const std::string& rpc, Env& env) {
  if (rpc == "Health") return std::make_unique<HealthWorkload>(env);
  if (rpc == "ValidateSession") return std::make_unique<ValidateSessionWorkload>(env);
  if (rpc == "Login") return std::make_unique<LoginWorkload>(env);
  if (rpc == "GetEntitlement") return std::make_unique<GetEntitlementWorkload>(env);
  if (rpc == "IngestStripeEvent") return std::make_unique<IngestWorkload>(env);
  if (rpc == "RecordTransaction") return std::make_unique<RecordTransactionWorkload>(env);
  if (rpc == "GetQuestion") return std::make_unique<GetQuestionWorkload>(env);
  if (rpc == "ListQuestions") return std::make_unique<ListQuestionsWorkload>(env);
  if (rpc == "SubmitAttempt") return std::make_unique<SubmitAttemptWorkload>(env);
  if (rpc == "StartPracticeSession") return std::make_unique<StartPracticeSessionWorkload>(env);
  Die("unknown --rpc " + rpc);
}

// ---- the runner ----

class Runner {
 public:
  Runner(Workload& w, RunResult& result, absl::Time measure_start, absl::Time end)
      : w_(w), result_(result), measure_start_(measure_start), end_(end) {}

  // Closed loop: `concurrency` slots, each starting its next call when the last one ends.
  void RunClosed(int concurrency) {
    for (int i = 0; i < concurrency; ++i) {
      active_++;
      Next();
    }
    Wait();
  }

  // Open loop: calls started at the pacer's due times; more than `cap` in flight → the call is
  // not sent and counted as CLIENT_OVERLOADED.
  void RunOpen(double rate, int cap, absl::Time start) {
    Pacer pacer(start, rate);
    active_++;
    for (int64_t i = 0;; ++i) {
      const absl::Time due = pacer.Due(i);
      if (due >= end_ || stopped_.load()) break;
      const absl::Duration wait = due - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
      if (inflight_.load() >= cap) {
        if (due >= measure_start_) {
          absl::MutexLock lock(&mu_);
          result_.errors["CLIENT_OVERLOADED"]++;
        }
        continue;
      }
      inflight_++;
      active_++;
      if (!w_.Start(seq_++, [this, due](const grpc::Status& s) {
            Record(due, s);
            inflight_--;
            Release();
          })) {
        inflight_--;
        exhausted_ = true;
        Release();
        break;
      }
    }
    Release();
    Wait();
  }

 private:
  void Next() {
    const absl::Time t0 = absl::Now();
    if (t0 >= end_ || stopped_.load()) {
      Release();
      return;
    }
    if (!w_.Start(seq_++, [this, t0](const grpc::Status& s) {
          Record(t0, s);
          Next();
        })) {
      exhausted_ = true;
      Release();
    }
  }

  void Record(absl::Time t0, const grpc::Status& s) {
    if (t0 < measure_start_) return;
    const absl::Time now = absl::Now();
    const int64_t ns = absl::ToInt64Nanoseconds(now - t0);
    absl::MutexLock lock(&mu_);
    last_done_ = std::max(last_done_, now);
    result_.latency.Record(ns);
    if (s.ok()) {
      result_.ok++;
    } else {
      result_.errors[CodeName(s.error_code())]++;
      if (first_errors_ < 3) {
        ++first_errors_;
        std::cerr << "loadgen: " << result_.rpc << ": " << CodeName(s.error_code()) << " "
                  << s.error_message() << "\n";
      }
    }
  }

  void Release() {
    absl::MutexLock lock(&mu_);
    active_--;
  }

  void Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::atomic<int>* a) { return a->load() == 0; }, &active_));
  }

  Workload& w_;
  RunResult& result_;
  const absl::Time measure_start_, end_;
  absl::Mutex mu_;
  std::atomic<int> active_{0};
  std::atomic<int> inflight_{0};
  std::atomic<int64_t> seq_{0};
  int first_errors_ = 0;
  std::atomic<bool> exhausted_{false};
  std::atomic<bool> stopped_{false};
  absl::Time stopped_at_ = absl::InfiniteFuture();
  absl::Time last_done_ = absl::InfinitePast();

 public:
  // Ends the run before its end time: no call starts after this, the ones in flight finish.
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_at_ = std::min(stopped_at_, absl::Now());
    stopped_ = true;
  }

  // Measured seconds: the whole window, or up to the last answer when the inputs ran out.
  double Seconds() {
    absl::MutexLock lock(&mu_);
    const absl::Time end = std::min(end_, stopped_at_);
    if (!exhausted_) return std::max(0.0, absl::ToDoubleSeconds(end - measure_start_));
    return std::max(0.0, absl::ToDoubleSeconds(std::min(last_done_, end) - measure_start_));
  }
};

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// The revocation probe over the identity replicas of --identity_addrs, its sessions for
// `rounds` rounds logged in ahead (before the load starts: a loaded identity hashes passwords at
// low priority).
std::unique_ptr<suite::load::RevocationProbe> MakeRevocationProbe(Env& env, int rounds) {
  std::vector<std::string> addrs =
      absl::StrSplit(absl::GetFlag(FLAGS_identity_addrs), ',', absl::SkipEmpty());
  if (addrs.empty()) addrs.push_back(absl::GetFlag(FLAGS_identity_addr));
  std::vector<std::shared_ptr<grpc::Channel>> identity;
  // Channel indexes past the load's own, so the rounds get connections of their own.
  for (size_t i = 0; i < addrs.size(); ++i) {
    identity.push_back(NewChannel(addrs[i], static_cast<int>(1000 + i)));
  }
  if (env.question_ids.empty()) {
    LoadTags(env);
    LoadQuestionIds(env, 10);
  }
  if (env.question_ids.empty()) Die("no published question: run --import_questions first");
  auto probe = std::make_unique<suite::load::RevocationProbe>(
      identity, NewChannel(absl::GetFlag(FLAGS_billing_addr), 1000),
      NewChannel(absl::GetFlag(FLAGS_questions_addr), 1000), env.question_ids[0],
      absl::StrCat(env.run_id, ".bench.test"));
  if (absl::Status s = probe->PrepareSessions(rounds); !s.ok()) Die(std::string(s.message()));
  return probe;
}

// The revocation bound under the load Main runs meanwhile: `rounds` rounds of the probe,
// alternating over the identity replicas; prints p50/p99/max per service and writes the
// figures to --revocation_out.
void RevocationRounds(suite::load::RevocationProbe& probe, int rounds) {
  std::vector<absl::Duration> billing, questions;
  int let_in = 0, practice_let_in = 0, never = 0;
  std::vector<int> per_replica(probe.replicas());
  const absl::Time start = absl::Now();
  for (int round = 0; round < rounds; ++round) {
    const int replica = round % probe.replicas();
    absl::StatusOr<suite::load::RevocationRound> r = probe.Run(round, replica);
    if (!r.ok()) Die(std::string(r.status().message()));
    billing.push_back(r->billing);
    questions.push_back(r->questions);
    let_in += r->let_in_after_refusal;
    if (!r->practice_refused) ++practice_let_in;
    if (r->billing == suite::load::kNeverRefused || r->questions == suite::load::kNeverRefused) {
      ++never;
    }
    ++per_replica[replica];
  }
  using suite::load::Percentile;
  const auto stats = [](const std::vector<absl::Duration>& v) {
    return nlohmann::json{{"p50_ms", Ms(Percentile(v, 0.5))},
                          {"p99_ms", Ms(Percentile(v, 0.99))},
                          {"max_ms", Ms(Percentile(v, 1.0))}};
  };
  std::cout << absl::StrFormat(
      "revocation bound (%d rounds, %d identity replicas, %.0f s): billing p50 %.1f ms p99 %.1f "
      "ms max %.1f ms; questions p50 %.1f ms p99 %.1f ms max %.1f ms; never refused %d, let in "
      "after a refusal %d, practice sessions let in %d\n",
      rounds, probe.replicas(), absl::ToDoubleSeconds(absl::Now() - start),
      Ms(Percentile(billing, 0.5)), Ms(Percentile(billing, 0.99)), Ms(Percentile(billing, 1.0)),
      Ms(Percentile(questions, 0.5)), Ms(Percentile(questions, 0.99)),
      Ms(Percentile(questions, 1.0)), never, let_in, practice_let_in);
  if (const std::string path = absl::GetFlag(FLAGS_revocation_out); !path.empty()) {
    nlohmann::json out{{"rounds", rounds},
                       {"identity_replicas", probe.replicas()},
                       {"rounds_per_replica", per_replica},
                       {"seconds", absl::ToDoubleSeconds(absl::Now() - start)},
                       {"billing", stats(billing)},
                       {"questions", stats(questions)},
                       {"never_refused", never},
                       {"let_in_after_refusal", let_in},
                       {"practice_sessions_let_in", practice_let_in}};
    nlohmann::json samples{{"billing_ms", nlohmann::json::array()},
                           {"questions_ms", nlohmann::json::array()}};
    for (size_t i = 0; i < billing.size(); ++i) {
      samples["billing_ms"].push_back(Ms(billing[i]));
      samples["questions_ms"].push_back(Ms(questions[i]));
    }
    out["samples"] = samples;
    std::ofstream(path) << out.dump(2) << "\n";
  }
}

bool NeedsUsers(const std::string& rpc) { return rpc != "Health" && !rpc.empty(); }
bool NeedsQuestions(const std::string& rpc) {
  return rpc == "GetQuestion" || rpc == "ListQuestions" || rpc == "SubmitAttempt" ||
         rpc == "StartPracticeSession";
}

int Main() {
  Env env;
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  const std::string bg_rpc = absl::GetFlag(FLAGS_background_rpc);
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  const int bg_concurrency = bg_rpc.empty() ? 0 : absl::GetFlag(FLAGS_background_concurrency);
  const int per_channel = std::max(1, absl::GetFlag(FLAGS_streams_per_channel));
  const int channels = (concurrency + bg_concurrency + per_channel - 1) / per_channel;
  std::string health_addr = absl::GetFlag(FLAGS_health_addr);
  if (health_addr.empty()) health_addr = absl::GetFlag(FLAGS_identity_addr);
  for (int i = 0; i < channels; ++i) {
    env.identity.push_back(NewChannel(absl::GetFlag(FLAGS_identity_addr), i));
    env.billing.push_back(NewChannel(absl::GetFlag(FLAGS_billing_addr), i));
    env.questions.push_back(NewChannel(absl::GetFlag(FLAGS_questions_addr), i));
    env.health.push_back(NewChannel(health_addr, i));
  }

  const absl::Time setup_start = absl::Now();
  if (const int n = absl::GetFlag(FLAGS_import_questions); n > 0) {
    SetupAdmin(env);
    ImportQuestions(env, n);
    return 0;
  }
  if (NeedsUsers(rpc) || NeedsUsers(bg_rpc) || absl::GetFlag(FLAGS_list_sweep)) {
    SetupAdmin(env);
    SetupUsers(env, std::max(1, absl::GetFlag(FLAGS_users)));
  }
  if (NeedsQuestions(rpc) || NeedsQuestions(bg_rpc)) {
    LoadTags(env);
    if (env.tag_ids.empty()) Die("no bench tags: run --import_questions first");
    LoadQuestionIds(env, 5000);
  }
  if (rpc == "SubmitAttempt") SetupPractice(env, absl::GetFlag(FLAGS_practice_sessions));
  if (absl::GetFlag(FLAGS_list_sweep)) {
    LoadTags(env);
    if (env.tag_ids.empty()) Die("no bench tags: run --import_questions first");
    ListSweep(env);
    return 0;
  }
  std::cerr << absl::StrFormat("loadgen: setup %.1f s (%d users, %d questions, %d attempts ready)\n",
                               absl::ToDoubleSeconds(absl::Now() - setup_start), env.users.size(),
                               env.question_ids.size(), env.practice.size());

  env.StartPollers(absl::GetFlag(FLAGS_pollers));
  auto workload = MakeWorkload(rpc, env);
  std::unique_ptr<Workload> bg_workload;
  if (!bg_rpc.empty()) bg_workload = MakeWorkload(bg_rpc, env);

  const double rate = absl::GetFlag(FLAGS_rate);
  RunResult result, bg_result;
  result.rpc = absl::GetFlag(FLAGS_label).empty() ? rpc : absl::GetFlag(FLAGS_label);
  result.mode = rate > 0 ? "rate" : "concurrency";
  result.concurrency = concurrency;
  result.target_rate = rate;
  bg_result.rpc = bg_rpc + " (background)";
  bg_result.mode = "concurrency";
  bg_result.concurrency = bg_concurrency;

  const int revocation_rounds = absl::GetFlag(FLAGS_revocation_rounds);
  std::unique_ptr<suite::load::RevocationProbe> probe;
  if (revocation_rounds > 0) probe = MakeRevocationProbe(env, revocation_rounds);
  const absl::Time start = absl::Now();
  const absl::Time measure_start = start + absl::Seconds(absl::GetFlag(FLAGS_warmup));
  const absl::Time end = revocation_rounds > 0
                             ? absl::InfiniteFuture()
                             : measure_start + absl::Seconds(absl::GetFlag(FLAGS_duration));
  Runner runner(*workload, result, measure_start, end);
  std::unique_ptr<Runner> bg_runner;
  std::thread bg_thread;
  if (bg_workload) {
    bg_runner = std::make_unique<Runner>(*bg_workload, bg_result, measure_start, end);
    bg_thread = std::thread([&] { bg_runner->RunClosed(bg_concurrency); });
  }
  if (revocation_rounds > 0) {
    std::thread load_thread([&] { runner.RunClosed(concurrency); });
    absl::SleepFor(measure_start - absl::Now());
    RevocationRounds(*probe, revocation_rounds);
    runner.Stop();
    if (bg_runner) bg_runner->Stop();
    load_thread.join();
  } else if (rate > 0) {
    runner.RunOpen(rate, concurrency, start);
  } else {
    runner.RunClosed(concurrency);
  }
  if (bg_thread.joinable()) bg_thread.join();
  env.StopPollers();
  result.seconds = runner.Seconds();
  if (bg_runner) bg_result.seconds = bg_runner->Seconds();

  std::vector<RunResult> results = {result};
  if (bg_workload) results.push_back(bg_result);
  std::cout << FormatTable(results);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) out.push_back(ToJson(r));
    std::ofstream(path) << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace loadgen

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return loadgen::Main();
}
