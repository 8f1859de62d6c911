// The soak (tools/soak; not part of CI): the three real service binaries on a PostgreSQL
// cluster of its own, under an open-loop load at a fixed total rate made of a realistic mix
// over all three services (reads dominate: session validations, entitlement checks, question
// reads and lists; writes: signed webhook events, new questions, sign-ups and logins). Calls
// are scheduled at start + k / rate and run by a pool of client threads (64); a call that
// starts more than 1 s after its slot counts as "late" (the suite could not keep the rate).
// Every 10 s it samples each process's resident memory and open descriptors and the
// database's connection count. Fails (exit 1) on any failed call, on more than 1% late calls,
// on resident memory growing more than 10% between the 30 s after the warm-up and the last
// 30 s (minimum of each window), or on descriptors or connections growing beyond a slack of 2
// over the same span.
//
//   soak [--seconds=600] [--warmup=60] [--load_fraction=0.70] [--threads=64]
//        [--peak_probe_seconds=10] [--peak_step_seconds=10] [--peak_steps=8]
//        [--peak_p99_ms=500]
//   soak --rate=400 ...        a fixed rate, no peak phase
//   soak --tls_dir=DIR ...     TLS on every gRPC port with DIR/tls.crt, tls.key and ca.crt
//                              (tests/e2e/test_pki.sh DIR; tools/soak --tls makes them)
//
// Without --rate, a peak phase runs first on the same freshly started suite: the mix closed
// loop (--peak_probe_threads, 32) for --peak_probe_seconds estimates the capacity C; then open
// loop steps of --peak_step_seconds from 0.6 C up by 15% per step (at most --peak_steps) until
// one fails. A step passes with zero failed calls, at most 1% of calls over 1 s late, its
// calls done within 1 s of the step's end (no backlog) and every call kind's p99 at most
// --peak_p99_ms. The measured peak is the highest passing step's rate; the soak runs at
// --load_fraction of it. The peak phase logs in with its own 200 accounts from other
// addresses, so an overloaded step's login throttling cannot touch the soak's logins. The
// estimate from the single-RPC peaks tools/bench measured is still printed for comparison.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "shared/db/testing/test_database.h"
#include "tests/reliability/cluster.h"
#include "tests/reliability/suite_processes.h"

namespace suite::reliability {
namespace {

struct Sample {
  double t;
  std::map<std::string, int64_t> rss_kb;
  std::map<std::string, int> fds;
  int connections;
};

int Flag(int argc, char** argv, const char* name, int fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    int v = 0;
    if (absl::StartsWith(argv[i], prefix) && absl::SimpleAtoi(argv[i] + prefix.size(), &v)) {
      return v;
    }
  }
  return fallback;
}

double DoubleFlag(int argc, char** argv, const char* name, double fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    double v = 0;
    if (absl::StartsWith(argv[i], prefix) && absl::SimpleAtod(argv[i] + prefix.size(), &v)) {
      return v;
    }
  }
  return fallback;
}

std::string StringFlag(int argc, char** argv, const char* name) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], prefix)) return argv[i] + prefix.size();
  }
  return "";
}

bool HasFlag(int argc, char** argv, const char* name) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], prefix)) return true;
  }
  return false;
}

// One kind of call in the mix: its share (of 100 calls), the service, the single-RPC peak
// tools/bench measured for it (0 = not benched, estimated below) and
// the call itself (n = the call's number, unique).
struct Op {
  std::string name;
  int weight;
  std::string service;
  double bench_peak;
  std::function<grpc::Status(grpc::ClientContext&, int64_t)> call;
};

struct OpStats {
  std::map<int, int64_t> codes;
  std::vector<double> latency_ms;
  std::vector<std::string> first_failures;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// Runs the mix at `rate` calls/s until `end` (open loop), or with rate 0 each thread back to
// back (closed loop); call numbers start at `first_call`. Thread-safe counters per op.
class MixLoad {
 public:
  MixLoad(std::vector<Op> ops, double rate, int threads, int64_t first_call = 0)
      : ops_(std::move(ops)), rate_(rate), first_call_(first_call) {
    for (size_t i = 0; i < ops_.size(); ++i) {
      for (int w = 0; w < ops_[i].weight; ++w) slots_.push_back(static_cast<int>(i));
    }
    std::mt19937 rng(8);  // fixed: the same interleaving every run
    std::shuffle(slots_.begin(), slots_.end(), rng);
    threads_ = threads;
  }
  ~MixLoad() { Stop(); }

  void Start(absl::Time end) {
    start_ = absl::Now();
    end_ = end;
    for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { Work(); });
  }
  void Stop() {
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  int64_t issued() const { return next_.load() ; }
  int64_t late() const { return late_.load(); }
  int64_t done(const std::string& service) {
    absl::MutexLock lock(&mu_);
    int64_t n = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].service == service) n += static_cast<int64_t>(stats_[i].latency_ms.size());
    }
    return n;
  }
  const std::vector<Op>& ops() const { return ops_; }
  std::map<int, OpStats> stats() {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  void Work() {
    for (;;) {
      const int64_t k = next_++;
      if (rate_ > 0) {
        const absl::Time slot = start_ + absl::Seconds(k / rate_);
        if (slot >= end_) {
          --next_;
          return;
        }
        const absl::Time now = absl::Now();
        if (slot > now) absl::SleepFor(slot - now);
        else if (now - slot > absl::Seconds(1)) ++late_;
      } else if (absl::Now() >= end_) {
        return;
      }
      const int op = slots_[k % slots_.size()];
      grpc::ClientContext ctx;
      const absl::Time begin = absl::Now();
      ctx.set_deadline(absl::ToChronoTime(begin + absl::Seconds(5)));
      grpc::Status s = ops_[op].call(ctx, first_call_ + k);
      const double ms = absl::ToDoubleMilliseconds(absl::Now() - begin);
      absl::MutexLock lock(&mu_);
      OpStats& st = stats_[op];
      ++st.codes[static_cast<int>(s.error_code())];
      st.latency_ms.push_back(ms);
      if (!s.ok() && st.first_failures.size() < 5) {
        st.first_failures.push_back(absl::StrCat(
            "at ", absl::FormatDuration(begin - start_), ", ", static_cast<int>(ms), " ms: code ",
            static_cast<int>(s.error_code()), " ", s.error_message()));
      }
    }
  }

  std::vector<Op> ops_;
  double rate_;
  int64_t first_call_;
  int threads_ = 0;
  std::vector<int> slots_;
  absl::Time start_, end_;
  std::atomic<int64_t> next_{0}, late_{0};
  std::vector<std::thread> workers_;
  absl::Mutex mu_;
  std::map<int, OpStats> stats_ ABSL_GUARDED_BY(mu_);
};

// The mix, against `suite`, as the admin (`admin`) and one member (`member_token`,
// `member_id`); logins as `login_emails` with `password`; `question_ids` are published.
std::vector<Op> Mix(Suite& suite, const std::string& admin, const std::string& member_token,
                    const std::string& member_id, const std::vector<std::string>& login_emails,
                    const std::string& password, const std::vector<std::string>& question_ids) {
  namespace ipb = ::identity::v1;
  namespace bpb = ::billing::v1;
  namespace qpb = ::questions::v1;
  std::shared_ptr<ipb::IdentityService::Stub> identity =
      ipb::IdentityService::NewStub(NewChannel(suite.identity_addr()));
  std::shared_ptr<bpb::BillingService::Stub> billing =
      bpb::BillingService::NewStub(NewChannel(suite.billing_addr()));
  std::shared_ptr<qpb::QuestionBankService::Stub> questions =
      qpb::QuestionBankService::NewStub(NewChannel(suite.questions_addr()));
  const std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()));
  std::vector<Op> ops;
  ops.push_back({"ValidateSession", 25, "identity", 5340, [=](auto& ctx, int64_t) {
                   ipb::ValidateSessionRequest req;
                   req.set_session_token(member_token);
                   ipb::ValidateSessionResponse resp;
                   return identity->ValidateSession(&ctx, req, &resp);
                 }});
  ops.push_back({"GetEntitlement", 20, "billing", 6733, [=](auto& ctx, int64_t) {
                   ctx.AddMetadata("authorization", "Bearer " + member_token);
                   bpb::GetEntitlementRequest req;
                   req.set_user_id(member_id);
                   bpb::GetEntitlementResponse resp;
                   return billing->GetEntitlement(&ctx, req, &resp);
                 }});
  ops.push_back({"GetQuestion", 20, "questions", 4263, [=](auto& ctx, int64_t n) {
                   ctx.AddMetadata("authorization", "Bearer " + member_token);
                   qpb::GetQuestionRequest req;
                   req.set_question_id(question_ids[n % question_ids.size()]);
                   qpb::GetQuestionResponse resp;
                   return questions->GetQuestion(&ctx, req, &resp);
                 }});
  ops.push_back({"ListQuestions", 10, "questions", 791, [=](auto& ctx, int64_t) {
                   ctx.AddMetadata("authorization", "Bearer " + member_token);
                   qpb::ListQuestionsRequest req;
                   req.set_page_size(20);
                   qpb::ListQuestionsResponse resp;
                   return questions->ListQuestions(&ctx, req, &resp);
                 }});
  ops.push_back({"IngestStripeEvent", 10, "billing", 943, [=](auto& ctx, int64_t n) {
                   const std::string id = absl::StrCat("evt_soak_", run, "_", n);
                   const bpb::IngestStripeEventRequest req = SignedCustomerCreated(id);
                   bpb::IngestStripeEventResponse resp;
                   return billing->IngestStripeEvent(&ctx, req, &resp);
                 }});
  // CreateQuestion was not benched; RecordTransaction's figure (one insert of similar size).
  ops.push_back({"CreateQuestion", 9, "questions", 1579, [=](auto& ctx, int64_t n) {
                   ctx.AddMetadata("authorization", "Bearer " + admin);
                   qpb::CreateQuestionRequest req;
                   req.set_stem(absl::StrCat("Soak question ", run, "-", n, "?"));
                   req.set_difficulty(qpb::QUESTION_DIFFICULTY_EASY);
                   auto* a = req.add_choices();
                   a->set_text("yes");
                   a->set_is_correct(true);
                   req.add_choices()->set_text("no");
                   qpb::CreateQuestionResponse resp;
                   return questions->CreateQuestion(&ctx, req, &resp);
                 }});
  // Sign-ups and logins hash with argon2id: Login's bench peak (45/s) stands for both.
  ops.push_back({"CreateUser", 3, "identity", 45.3, [=](auto& ctx, int64_t n) {
                   ipb::CreateUserRequest req;
                   req.set_email(absl::StrCat("soak-", run, "-", n, "@example.com"));
                   req.set_password("correct horse battery staple");
                   ipb::CreateUserResponse resp;
                   return identity->CreateUser(&ctx, req, &resp);
                 }});
  // Logins of many users from many addresses: identity counts a login in flight as a failure
  // until it ends (so parallel guesses cannot pass together), which one busy account or one
  // address would hit under this rate.
  ops.push_back({"Login", 3, "identity", 45.3, [=](auto& ctx, int64_t n) {
                   ipb::LoginRequest req;
                   req.set_email(login_emails[n % login_emails.size()]);
                   req.set_client_ip(absl::StrCat("10.", (n >> 16) & 255, ".", (n >> 8) & 255,
                                                  ".", n & 255));
                   req.set_password(password);
                   ipb::LoginResponse resp;
                   return identity->Login(&ctx, req, &resp);
                 }});
  return ops;
}

// The mix's peak if each call costs 1 / (its single-RPC peak) of the suite's capacity.
double MixPeak(const std::vector<Op>& ops) {
  double total = 0, cost = 0;
  for (const Op& op : ops) {
    total += op.weight;
    cost += op.weight / op.bench_peak;
  }
  return total / cost;
}

// One step of the peak phase: the mix at `rate` calls/s (0 = closed loop) for `length`.
struct StepResult {
  double rate = 0;
  double achieved = 0;    // calls done per second of the step
  int64_t calls = 0, errors = 0, late = 0;
  double overrun_s = 0;   // how long after the step's end its last call ended
  double worst_p99_ms = 0;
  std::string worst_op;
  std::string first_failure;
  bool passed = false;
  std::string why;        // empty when passed
};

StepResult RunStep(const std::vector<Op>& ops, double rate, int threads, absl::Duration length,
                   int64_t first_call, double p99_limit_ms) {
  MixLoad load(ops, rate, threads, first_call);
  const absl::Time end = absl::Now() + length;
  load.Start(end);
  load.Stop();
  StepResult r;
  r.rate = rate;
  r.overrun_s = std::max(0.0, absl::ToDoubleSeconds(absl::Now() - end));
  r.late = load.late();
  std::map<int, OpStats> stats = load.stats();
  for (auto& [i, st] : stats) {
    r.calls += static_cast<int64_t>(st.latency_ms.size());
    for (auto& [code, count] : st.codes) {
      if (code != 0) r.errors += count;
    }
    if (r.first_failure.empty() && !st.first_failures.empty()) {
      r.first_failure = absl::StrCat(ops[i].name, " ", st.first_failures.front());
    }
    // Fewer samples than this make p99 the maximum of a handful: not a tail.
    if (st.latency_ms.size() >= 20) {
      const double p99 = Percentile(st.latency_ms, 0.99);
      if (p99 > r.worst_p99_ms) {
        r.worst_p99_ms = p99;
        r.worst_op = ops[i].name;
      }
    }
  }
  r.achieved = r.calls / absl::ToDoubleSeconds(length);
  std::vector<std::string> why;
  if (r.errors > 0) why.push_back(absl::StrCat(r.errors, " failed"));
  if (r.calls == 0 || r.late > r.calls / 100) why.push_back(absl::StrCat(r.late, " late"));
  if (rate > 0 && r.overrun_s > 1.0) {
    why.push_back(absl::StrCat("backlog: done ", static_cast<int>(r.overrun_s * 1000),
                               " ms after the step"));
  }
  if (r.worst_p99_ms > p99_limit_ms) {
    why.push_back(absl::StrCat(r.worst_op, " p99 ", static_cast<int>(r.worst_p99_ms), " ms"));
  }
  r.passed = why.empty();
  for (const std::string& w : why) absl::StrAppend(&r.why, r.why.empty() ? "" : "; ", w);
  return r;
}

void PrintStep(const char* what, const StepResult& r) {
  std::printf("soak: peak %-12s target %7.1f/s achieved %7.1f/s  calls %7lld  failed %5lld  "
              "late %5lld  worst p99 %7.1f ms (%s)  %s%s\n",
              what, r.rate, r.achieved, static_cast<long long>(r.calls),
              static_cast<long long>(r.errors), static_cast<long long>(r.late), r.worst_p99_ms,
              r.worst_op.c_str(), r.passed ? "ok" : "FAIL: ", r.why.c_str());
  if (!r.first_failure.empty()) std::printf("soak:   first failure: %s\n", r.first_failure.c_str());
  std::fflush(stdout);
}

struct PeakOptions {
  int probe_seconds = 10;
  int probe_threads = 32;
  int step_seconds = 10;
  int steps = 8;
  double p99_limit_ms = 500;  // hashing calls queue several deep beyond it
};

// The peak phase (see the top of the file): the highest open-loop rate of the mix that
// passed a step, or 0 when none did.
double MeasurePeak(const std::vector<Op>& ops, int threads, const PeakOptions& o) {
  // Call numbers far from the soak's (which start at 0), so the peak phase's logins come from
  // other client addresses (10.128.x.x and up).
  int64_t first_call = int64_t{1} << 23;
  StepResult probe = RunStep(ops, 0, o.probe_threads, absl::Seconds(o.probe_seconds),
                             first_call, o.p99_limit_ms);
  first_call += probe.calls + 1000;
  PrintStep("closed loop", probe);  // an estimate only: its pass/fail decides nothing
  double rate = 0.6 * probe.achieved;
  double best = 0;
  bool above_failed = false;
  for (int step = 0; step < o.steps && rate >= 1; ++step) {
    absl::SleepFor(absl::Seconds(2));  // let queues of the previous step drain
    StepResult r = RunStep(ops, rate, threads, absl::Seconds(o.step_seconds), first_call,
                           o.p99_limit_ms);
    first_call += static_cast<int64_t>(rate * o.step_seconds) + 1000;
    PrintStep(absl::StrCat("step ", step + 1).c_str(), r);
    if (r.passed) {
      best = std::max(best, rate);
      rate *= 1.15;
    } else if (best > 0) {
      above_failed = true;  // the one above the best passing step failed
      break;
    } else {
      rate *= 0.5;  // even the first step failed: look lower
    }
  }
  if (best > 0 && !above_failed) {
    std::printf("soak: peak phase: every step passed up to --peak_steps: the peak is a lower "
                "bound\n");
  }
  return best;
}

int Main(int argc, char** argv) {
  const int seconds = Flag(argc, argv, "seconds", 600);
  const bool fixed_rate = HasFlag(argc, argv, "rate");
  double rate = Flag(argc, argv, "rate", 0);  // calls per second, whole suite
  const double load_fraction = DoubleFlag(argc, argv, "load_fraction", 0.70);
  const int warmup = Flag(argc, argv, "warmup", 60);
  PeakOptions peak_options;
  peak_options.probe_seconds = Flag(argc, argv, "peak_probe_seconds", peak_options.probe_seconds);
  peak_options.probe_threads = Flag(argc, argv, "peak_probe_threads", peak_options.probe_threads);
  peak_options.step_seconds = Flag(argc, argv, "peak_step_seconds", peak_options.step_seconds);
  peak_options.steps = Flag(argc, argv, "peak_steps", peak_options.steps);
  peak_options.p99_limit_ms = DoubleFlag(argc, argv, "peak_p99_ms", peak_options.p99_limit_ms);
  if ((fixed_rate && rate <= 0) || load_fraction <= 0 || load_fraction > 1.5 ||
      peak_options.probe_seconds <= 0 || peak_options.probe_threads <= 0 ||
      peak_options.step_seconds <= 0 || peak_options.steps <= 0) {
    std::fprintf(stderr, "soak: bad flags (see the top of tests/reliability/soak.cc)\n");
    return 2;
  }
  // Enough that the slow calls (argon2id: tens of ms, seconds when the machine is busy) do not
  // hold every thread and turn the open loop into a closed one.
  const int threads = Flag(argc, argv, "threads", 64);
  auto cluster = PgCluster::Start();
  if (!cluster.ok()) {
    std::fprintf(stderr, "soak: %s\n", cluster.status().ToString().c_str());
    return 1;
  }
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  if (!db.ok()) {
    std::fprintf(stderr, "soak: %s\n", db.status().ToString().c_str());
    return 1;
  }
  SuiteTls tls;
  if (const std::string dir = StringFlag(argc, argv, "tls_dir"); !dir.empty()) {
    tls = {dir + "/tls.crt", dir + "/tls.key", dir + "/ca.crt"};
    // This process's channels (harness NewChannel) read the client settings from here.
    setenv("SUITE_TLS_CA_FILE", tls.ca_file.c_str(), 1);
    std::printf("soak: TLS on every gRPC port (certificates in %s)\n", dir.c_str());
  }
  // This run's service logs, apart from earlier runs' (a service's log is appended to).
  char logs[] = "/tmp/soak-logs.XXXXXX";
  if (mkdtemp(logs) == nullptr) {
    std::perror("soak: mkdtemp");
    return 1;
  }
  std::printf("soak: service logs in %s\n", logs);
  Suite suite(**cluster, **db, tls, logs);
  if (!suite.WaitServing()) {
    std::fprintf(stderr, "soak: services did not become SERVING\n");
    return 1;
  }
  const std::string admin = suite.AdminToken();
  if (admin.empty()) return 1;

  // Fixtures: one member (for reads), 200 users who log in during the soak and 200 others
  // during the peak phase, and 20 published questions.
  // Identity counts a login in flight as a failure until it ends; when hashing queues for
  // seconds, parallel logins cross the limits and lock for 15 min (RELIABILITY.md). Spreading
  // them over many accounts and addresses is the realistic case.
  const std::string member_email = "soak-member@example.com";
  const std::string password = "correct horse battery staple";
  std::string member_id, member_token;
  std::vector<std::string> login_emails, peak_login_emails;
  std::vector<std::string> question_ids;
  {
    auto identity = ::identity::v1::IdentityService::NewStub(NewChannel(suite.identity_addr()));
    ::identity::v1::CreateUserRequest create;
    create.set_email(member_email);
    create.set_password(password);
    ::identity::v1::CreateUserResponse created;
    grpc::ClientContext c1;
    grpc::Status s = identity->CreateUser(&c1, create, &created);
    ::identity::v1::LoginRequest login;
    login.set_email(member_email);
    login.set_password(password);
    ::identity::v1::LoginResponse logged;
    grpc::ClientContext c2;
    if (s.ok()) s = identity->Login(&c2, login, &logged);
    if (!s.ok()) {
      std::fprintf(stderr, "soak: member set-up: %s\n", s.error_message().c_str());
      return 1;
    }
    member_id = created.user().user_id();
    member_token = logged.session_token();
    for (int i = 0; i < (fixed_rate ? 200 : 400); ++i) {
      create.set_email(absl::StrCat("soak-login-", i, "@example.com"));
      grpc::ClientContext c;
      s = identity->CreateUser(&c, create, &created);
      if (!s.ok()) {
        std::fprintf(stderr, "soak: login user set-up: %s\n", s.error_message().c_str());
        return 1;
      }
      (i < 200 ? login_emails : peak_login_emails).push_back(create.email());
    }
    auto questions =
        ::questions::v1::QuestionBankService::NewStub(NewChannel(suite.questions_addr()));
    for (int i = 0; i < 20; ++i) {
      ::questions::v1::CreateQuestionRequest req;
      req.set_stem(absl::StrCat("Soak fixture ", i, "?"));
      req.set_difficulty(::questions::v1::QUESTION_DIFFICULTY_MEDIUM);
      auto* a = req.add_choices();
      a->set_text("yes");
      a->set_is_correct(true);
      req.add_choices()->set_text("no");
      ::questions::v1::CreateQuestionResponse resp;
      grpc::ClientContext c3;
      c3.AddMetadata("authorization", "Bearer " + admin);
      s = questions->CreateQuestion(&c3, req, &resp);
      ::questions::v1::PublishQuestionRequest pub;
      pub.set_question_id(resp.question().id());
      ::questions::v1::PublishQuestionResponse published;
      grpc::ClientContext c4;
      c4.AddMetadata("authorization", "Bearer " + admin);
      if (s.ok()) s = questions->PublishQuestion(&c4, pub, &published);
      if (!s.ok()) {
        std::fprintf(stderr, "soak: question set-up: %s\n", s.error_message().c_str());
        return 1;
      }
      question_ids.push_back(resp.question().id());
    }
  }
  std::map<std::string, rpc::testing::ServerProcess*> procs = {
      {"identity", &suite.identity()}, {"billing", &suite.billing()},
      {"questions", &suite.questions()}};
  const double estimate = MixPeak(
      Mix(suite, admin, member_token, member_id, login_emails, password, question_ids));
  std::printf("soak: the mix's peak estimated from bench peaks: %.0f/s (for comparison)\n",
              estimate);
  if (!fixed_rate) {
    std::printf("soak: peak phase: closed loop %d s (%d threads), then open-loop steps of %d s "
                "from 60%% of that rate, +15%% each, at most %d; a step passes with 0 failed, "
                "<= 1%% late, no backlog, every call's p99 <= %.0f ms\n",
                peak_options.probe_seconds, peak_options.probe_threads,
                peak_options.step_seconds, peak_options.steps, peak_options.p99_limit_ms);
    std::fflush(stdout);
    const double peak = MeasurePeak(
        Mix(suite, admin, member_token, member_id, peak_login_emails, password, question_ids),
        threads, peak_options);
    if (peak <= 0) {
      std::printf("soak: peak phase: no step passed; FAIL\n");
      return 1;
    }
    rate = load_fraction * peak;
    std::printf("soak: measured peak %.1f/s (highest passing step); soak at %.0f%% = %.1f/s\n",
                peak, 100.0 * load_fraction, rate);
    absl::SleepFor(absl::Seconds(5));  // let the last step's queues drain
  }
  MixLoad load(Mix(suite, admin, member_token, member_id, login_emails, password, question_ids),
               rate, threads);
  std::printf("soak: %d s at %.1f calls/s over the suite (open loop, %d client threads), warm-up "
              "%d s\n", seconds, rate, threads, warmup);
  std::printf("soak: mix (share of 100):");
  for (const Op& op : load.ops()) std::printf(" %s %d", op.name.c_str(), op.weight);
  std::printf("\n");
  std::printf("%6s %-28s %-20s %5s %s\n", "t(s)", "rss kB (id/bill/q)", "fds (id/bill/q)", "conns",
              "calls (id/bill/q)");
  pqxx::connection conn((*db)->url());
  const absl::Time start = absl::Now();
  load.Start(start + absl::Seconds(seconds));
  std::vector<Sample> samples;
  while (absl::Now() - start < absl::Seconds(seconds)) {
    absl::SleepFor(absl::Seconds(10));
    Sample s;
    s.t = absl::ToDoubleSeconds(absl::Now() - start);
    for (auto& [name, p] : procs) {
      s.rss_kb[name] = RssKb(p->pid());
      s.fds[name] = FdCount(p->pid());
    }
    {
      pqxx::nontransaction tx(conn);
      s.connections = tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                                      (*db)->name())[0]
                          .as<int>() -
                      1;  // this one
    }
    samples.push_back(s);
    std::printf("%6.0f %8lld/%8lld/%8lld   %5d/%5d/%5d        %5d %lld/%lld/%lld\n", s.t,
                static_cast<long long>(s.rss_kb["identity"]),
                static_cast<long long>(s.rss_kb["billing"]),
                static_cast<long long>(s.rss_kb["questions"]), s.fds["identity"],
                s.fds["billing"], s.fds["questions"], s.connections,
                static_cast<long long>(load.done("identity")),
                static_cast<long long>(load.done("billing")),
                static_cast<long long>(load.done("questions")));
    std::fflush(stdout);
  }
  load.Stop();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);

  int failures = 0;
  std::map<int, OpStats> stats = load.stats();
  int64_t total = 0;
  std::printf("%-18s %8s %8s %8s %8s  %s\n", "call", "n", "p50 ms", "p99 ms", "max ms", "codes");
  for (size_t i = 0; i < load.ops().size(); ++i) {
    const OpStats& st = stats[static_cast<int>(i)];
    int64_t errors = 0;
    std::string codes;
    for (auto& [code, count] : st.codes) {
      if (code != 0) errors += count;
      absl::StrAppend(&codes, codes.empty() ? "" : ", ", "code ", code, ": ", count);
    }
    total += static_cast<int64_t>(st.latency_ms.size());
    std::printf("%-18s %8zu %8.2f %8.2f %8.1f  %s\n", load.ops()[i].name.c_str(),
                st.latency_ms.size(), Percentile(st.latency_ms, 0.5),
                Percentile(st.latency_ms, 0.99), Percentile(st.latency_ms, 1.0), codes.c_str());
    for (const std::string& f : st.first_failures) {
      std::printf("soak: %s: %s\n", load.ops()[i].name.c_str(), f.c_str());
    }
    failures += static_cast<int>(std::min<int64_t>(errors, 1 << 20));
  }
  const double late_share = total > 0 ? static_cast<double>(load.late()) / total : 1.0;
  std::printf("soak: %lld calls in %.0f s = %.1f/s (target %.1f/s); %lld started over 1 s late "
              "(%.2f%%)%s\n",
              static_cast<long long>(total), elapsed, total / elapsed, rate,
              static_cast<long long>(load.late()), 100.0 * late_share,
              late_share > 0.01 ? " RATE NOT SUSTAINED" : "");
  if (late_share > 0.01) ++failures;
  // Baseline: the samples of the first 30 s after the warm-up; end: the last 3 samples. Each
  // side takes its minimum per process, because one sample can land on a transient peak
  // (identity's argon2id buffers are tens of MB while a hash runs) that is not growth.
  std::vector<const Sample*> base, tail;
  for (const Sample& s : samples) {
    if (s.t >= warmup && s.t < warmup + 30) base.push_back(&s);
  }
  for (size_t i = samples.size() >= 3 ? samples.size() - 3 : 0; i < samples.size(); ++i) {
    tail.push_back(&samples[i]);
  }
  if (base.empty() || tail.empty() || tail.front()->t < base.back()->t) {
    std::printf("soak: too short to judge growth (need samples after the warm-up)\n");
  } else {
    auto min_rss = [](const std::vector<const Sample*>& v, const std::string& n) {
      int64_t m = v.front()->rss_kb.at(n);
      for (const Sample* s : v) m = std::min(m, s->rss_kb.at(n));
      return m;
    };
    auto min_fds = [](const std::vector<const Sample*>& v, const std::string& n) {
      int m = v.front()->fds.at(n);
      for (const Sample* s : v) m = std::min(m, s->fds.at(n));
      return m;
    };
    for (auto& [name, p] : procs) {
      (void)p;
      const int64_t before = min_rss(base, name), after = min_rss(tail, name);
      const double growth = 100.0 * (after - before) / before;
      const bool rss_bad = growth > 10.0;
      const int fd_before = min_fds(base, name), fd_after = min_fds(tail, name);
      const bool fd_bad = fd_after > fd_before + 2;
      std::printf("soak: %s: rss %lld -> %lld kB (%+.1f%%)%s, fds %d -> %d%s\n", name.c_str(),
                  static_cast<long long>(before), static_cast<long long>(after), growth,
                  rss_bad ? " GROWTH" : "", fd_before, fd_after, fd_bad ? " GROWTH" : "");
      failures += rss_bad + fd_bad;
    }
    int conn_before = base.front()->connections, conn_after = tail.front()->connections;
    for (const Sample* s : base) conn_before = std::min(conn_before, s->connections);
    for (const Sample* s : tail) conn_after = std::min(conn_after, s->connections);
    const bool conn_bad = conn_after > conn_before + 2;
    std::printf("soak: database connections %d -> %d%s\n", conn_before, conn_after,
                conn_bad ? " GROWTH" : "");
    failures += conn_bad;
  }
  for (auto& [name, p] : procs) {
    if (!p->Alive()) {
      std::printf("soak: %s died\n", name.c_str());
      ++failures;
    }
  }
  std::printf("soak: %s\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace suite::reliability

int main(int argc, char** argv) { return suite::reliability::Main(argc, argv); }
