// PgIdentityStore edge cases that the RPC tests do not reach: an unreachable database, the
// login throttling rule at each of its boundaries (times from the caller's clock, not the
// database's), and the plans of its hot statements.
#include "services/identity/storage/pg_store.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"

namespace suite::identity {
namespace {

using suite::db::testing::TestDatabase;

std::unique_ptr<suite::db::ConnectionPool> Pool(const std::string& url) {
  suite::db::PoolConfig config;
  config.database_url = url;
  config.connect_timeout = absl::Seconds(2);
  config.checkout_timeout = absl::Seconds(2);
  auto pool = suite::db::ConnectionPool::Create(config);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

TEST(PgIdentityStoreOfflineTest, AnUnreachableDatabaseIsUnavailable) {
  auto pool = Pool("postgresql://identity_service@127.0.0.1:1/suite");
  auto store = PgIdentityStore::Create(pool.get());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->GetUser("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21").status().code(),
            absl::StatusCode::kUnavailable);
  LoginAttemptStart start{"a@example.com", "10.0.0.1", "", "", absl::Now()};
  EXPECT_EQ((*store)->BeginLoginAttempt(start, LoginLimits()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->LookupSession(std::string(64, 'a')).status().code(),
            absl::StatusCode::kUnavailable);
}

// A migrated database, and the store on a pool connected as identity_service.
class PgIdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    url_ = db_->UrlAs("identity_service");
    pool_ = Pool(url_);
    auto store = PgIdentityStore::Create(pool_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Inserts as the owner the attempts that `select` yields (email, ip, success,
  // failure_reason, created_at) and ANALYZEs the table, so that plans see them.
  void AddLoginAttempts(const std::string& select) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec0(
        "INSERT INTO identity.login_attempts (email, ip, success, failure_reason, created_at) " +
        select);
    tx.commit();
    pqxx::nontransaction(conn).exec0("ANALYZE identity.login_attempts");
  }

  std::unique_ptr<TestDatabase> db_;
  std::string url_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
  std::unique_ptr<PgIdentityStore> store_;
};

// Small limits whose every boundary a test can reach: 2 free failures per (e-mail, IP) pair,
// then 1 s doubling up to 8 s; an account under attack at 3 failures from all sources, a busy
// address at 3 settled failures on all accounts, both within 10 minutes.
LoginLimits SmallLimits() {
  LoginLimits limits;
  limits.window = absl::Minutes(10);
  limits.max_failures_per_email = 3;
  limits.max_failures_per_ip = 3;
  limits.pair_window = absl::Hours(1);
  limits.free_failures = 2;
  limits.base_delay = absl::Seconds(1);
  limits.max_delay = absl::Seconds(8);
  return limits;
}

// SmallLimits with ceilings no test reaches: only the pair's own failures count.
LoginLimits CalmLimits() {
  LoginLimits limits = SmallLimits();
  limits.max_failures_per_email = 1000;
  limits.max_failures_per_ip = 1000;
  return limits;
}

class LoginThrottleTest : public PgIdentityStoreTest {
 protected:
  // Begin starts an attempt of `email` from `ip` at t0 + `at`.
  absl::StatusOr<LoginAdmission> Begin(const std::string& email, const std::string& ip,
                                       absl::Duration at, const LoginLimits& limits) {
    return store_->BeginLoginAttempt({email, ip, "", "", t0_ + at}, limits);
  }
  // Fail is a wrong password at t0 + `at`, which must be admitted.
  void Fail(const std::string& email, const std::string& ip, absl::Duration at,
            const LoginLimits& limits = SmallLimits()) {
    absl::StatusOr<LoginAdmission> admission = Begin(email, ip, at, limits);
    ASSERT_TRUE(admission.ok()) << admission.status();
    ASSERT_TRUE(admission->admitted) << email << " from " << ip << " at +" << at;
    ASSERT_TRUE(
        store_->FinishLoginAttempt(admission->attempt_id, "", "invalid_credentials").ok());
  }
  // Refused expects a refusal at t0 + `at` that names `retry_after`.
  void Refused(const std::string& email, const std::string& ip, absl::Duration at,
               absl::Duration retry_after, const LoginLimits& limits = SmallLimits()) {
    absl::StatusOr<LoginAdmission> admission = Begin(email, ip, at, limits);
    ASSERT_TRUE(admission.ok()) << admission.status();
    EXPECT_FALSE(admission->admitted) << email << " from " << ip << " at +" << at;
    EXPECT_EQ(admission->retry_after, retry_after) << email << " from " << ip << " at +" << at;
  }

  const absl::Time t0_ = absl::FromUnixSeconds(1900000000);
};

TEST_F(LoginThrottleTest, APairWaitsTwiceAsLongAfterEachFailurePastTheFreeOnesUpToTheCap) {
  const std::string a = "a@example.com", ip = "10.0.0.1";
  const absl::Duration us = absl::Microseconds(1);
  const LoginLimits calm = CalmLimits();
  Fail(a, ip, absl::ZeroDuration(), calm);
  Fail(a, ip, absl::ZeroDuration(), calm);  // the two free failures, at once
  // The third attempt waits 1 s after the newest failure: refused 1 us before, and the
  // refusal counts, so the next wait is 2 s from it.
  Refused(a, ip, absl::Seconds(1) - us, absl::Seconds(2), calm);
  Fail(a, ip, absl::Seconds(3) - us, calm);  // exactly 2 s after the refusal: admitted
  // Five failures now: 4 s, then (each refusal doubling) 8 s, and never more.
  Refused(a, ip, absl::Seconds(7) - 2 * us, absl::Seconds(8), calm);
  Refused(a, ip, absl::Seconds(15) - 3 * us, absl::Seconds(8), calm);
  Fail(a, ip, absl::Seconds(23) - 3 * us, calm);
  Fail(a, ip, absl::Seconds(31) - 3 * us, calm);
  // Once the pair window has passed its newest failure, the pair starts afresh.
  Fail(a, ip, absl::Seconds(31) + absl::Hours(1), calm);
  Fail(a, ip, absl::Seconds(31) + absl::Hours(1), calm);
}

TEST_F(LoginThrottleTest, AnotherAddressOrAnotherAccountIsNotSlowedByAPairsFailures) {
  const LoginLimits limits = CalmLimits();
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<LoginAdmission> admission =
        Begin("a@example.com", "10.0.0.1", absl::Seconds(i), limits);
    ASSERT_TRUE(admission.ok());
    if (admission->admitted) {
      ASSERT_TRUE(
          store_->FinishLoginAttempt(admission->attempt_id, "", "invalid_credentials").ok());
    }
  }
  Refused("a@example.com", "10.0.0.1", absl::Seconds(8), absl::Seconds(8), limits);
  Fail("a@example.com", "10.0.0.2", absl::Seconds(8), limits);
  Fail("b@example.com", "10.0.0.1", absl::Seconds(8), limits);
}

TEST_F(LoginThrottleTest, AnAccountUnderAttackLetsInOnlySourcesWithoutFailuresOnIt) {
  const std::string victim = "victim@example.com";
  Fail(victim, "10.1.0.1", absl::ZeroDuration());
  Fail(victim, "10.1.0.2", absl::ZeroDuration());
  // Two failures of three: a source's second guess is still free.
  Fail(victim, "10.1.0.1", absl::Seconds(1));
  // Three: under attack. A source that failed on it waits the longest delay after its newest
  // failure, even within its free failures...
  Refused(victim, "10.1.0.2", absl::Seconds(2), absl::Seconds(8));
  Refused(victim, "10.1.0.1", absl::Seconds(2), absl::Seconds(8));
  // ...and is let in once that has passed.
  Fail(victim, "10.1.0.1", absl::Seconds(10));
  // A source without failures on it gets in at once, each time (the owner's).
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<LoginAdmission> owner =
        Begin(victim, "192.0.2.1", absl::Seconds(11), SmallLimits());
    ASSERT_TRUE(owner.ok());
    EXPECT_TRUE(owner->admitted);
    ASSERT_TRUE(store_->FinishLoginAttempt(owner->attempt_id, "", "").ok());  // success
  }
  // Other accounts from the attacking sources are not affected.
  Fail("other@example.com", "10.1.0.1", absl::Seconds(11));
  // The attack ends when its failures leave the window: the pair's own delays again (two
  // failures: 1 s after the newest, long past).
  Fail(victim, "10.1.0.2", absl::Seconds(11) + absl::Minutes(10));
}

TEST_F(LoginThrottleTest, ABusyAddressLetsInEveryUserWhoseOwnRecordFromItIsClean) {
  const std::string nat = "203.0.113.7";
  Fail("u0@example.com", nat, absl::ZeroDuration());
  Fail("u1@example.com", nat, absl::ZeroDuration());
  // Two failures of three: u0's second guess is still free.
  Fail("u0@example.com", nat, absl::Seconds(1));
  // Three: busy. Users who failed from it wait the longest delay after their newest failure;
  // everyone else behind it gets in, every time.
  Refused("u1@example.com", nat, absl::Seconds(2), absl::Seconds(8));
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<LoginAdmission> clean =
        Begin(absl::StrCat("clean", i, "@example.com"), nat, absl::Seconds(2), SmallLimits());
    ASSERT_TRUE(clean.ok());
    EXPECT_TRUE(clean->admitted) << i;
    ASSERT_TRUE(store_->FinishLoginAttempt(clean->attempt_id, "", "").ok());
  }
  // u1 from elsewhere is not slowed.
  Fail("u1@example.com", "198.51.100.1", absl::Seconds(2));
}

TEST_F(LoginThrottleTest, AttemptsInFlightCountForThePairButDoNotMakeAnAddressBusy) {
  const std::string nat = "10.0.0.7";
  Fail("earlier@example.com", nat, absl::ZeroDuration());
  // Five people behind one address log in at once; none has finished yet. The address has
  // not become busy: the one who failed earlier still has a free failure from it.
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<LoginAdmission> admission =
        Begin(absl::StrCat("person", i, "@example.com"), nat, absl::Seconds(1), SmallLimits());
    ASSERT_TRUE(admission.ok()) << admission.status();
    EXPECT_TRUE(admission->admitted) << i;
  }
  Fail("earlier@example.com", nat, absl::Seconds(1));
  // Parallel guesses from one pair: the third waits while two are in flight.
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<LoginAdmission> admission =
        Begin("target@example.com", "10.1.0.1", absl::Seconds(1), SmallLimits());
    ASSERT_TRUE(admission.ok() && admission->admitted);
  }
  Refused("target@example.com", "10.1.0.1", absl::Seconds(1), absl::Seconds(2));
}

TEST_F(PgIdentityStoreTest, CreateLoginSessionSettlesTheAttemptOnceAndWritesNothingTheSecondTime) {
  pqxx::connection conn(db_->url());
  std::string user_id;
  {
    pqxx::work tx(conn);
    user_id = tx.exec1("INSERT INTO identity.users (email) VALUES ('login@example.com') "
                       "RETURNING id::text")[0]
                  .as<std::string>();
    tx.commit();
  }
  const absl::Time now = absl::FromUnixSeconds(1900000000);
  auto admitted = store_->BeginLoginAttempt(
      {"login@example.com", "10.0.0.1", "", "", now}, LoginLimits());
  ASSERT_TRUE(admitted.ok() && admitted->admitted);

  NewSession session;
  session.user_id = user_id;
  session.token_hash = std::string(64, 'a');
  session.now = now;
  session.expires_at = now + absl::Hours(1);
  session.absolute_expires_at = now + absl::Hours(24);
  auto created = store_->CreateLoginSession(session, admitted->attempt_id);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->user_id, user_id);

  auto counts = [&] {
    pqxx::work tx(conn);
    return std::make_pair(
        tx.exec1("SELECT count(*) FROM identity.sessions")[0].as<int>(),
        tx.exec1("SELECT count(*) FROM identity.login_attempts WHERE success AND user_id = '" +
                 user_id + "'")[0]
            .as<int>());
  };
  EXPECT_EQ(counts(), std::make_pair(1, 1));

  // The attempt is no longer in flight: refused, and the second session is not written.
  session.token_hash = std::string(64, 'b');
  EXPECT_EQ(store_->CreateLoginSession(session, admitted->attempt_id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(counts(), std::make_pair(1, 1));
}

// What PlanOf asks: on the tiny test tables, whether an index plan exists at all
// (sequential scans discouraged); on tables a test filled, the planner's own choice, or that
// choice run (EXPLAIN ANALYZE: the rows each scan read and dropped).
enum class PlanQuestion { kIndexPlanExists, kPlannersChoice, kPlannersChoiceRun };

// Returns the plan a registered statement runs with for `args`: the generic plan of a
// prepared one (the plan it settles on after its first executions, whatever its arguments),
// the custom plan of one planned per call (made for these arguments).
std::string PlanOf(const std::string& url, const suite::db::ConnectionPool& pool,
                   const std::string& name, const std::string& args,
                   PlanQuestion question = PlanQuestion::kIndexPlanExists) {
  auto statement = pool.FindStatement(name);
  if (!statement.ok()) return "statement not registered: " + name;
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  tx.exec0((*statement)->planning == suite::db::Planning::kPerCall
               ? "SET LOCAL plan_cache_mode = force_custom_plan"
               : "SET LOCAL plan_cache_mode = force_generic_plan");
  if (question == PlanQuestion::kIndexPlanExists) tx.exec0("SET LOCAL enable_seqscan = off");
  tx.exec0("PREPARE s AS " + (*statement)->sql);
  const std::string explain =
      question == PlanQuestion::kPlannersChoiceRun ? "EXPLAIN (ANALYZE, COSTS OFF)" : "EXPLAIN";
  std::string plan;
  for (const auto& r : tx.exec(explain + " EXECUTE s" + (args.empty() ? "" : "(" + args + ")"))) {
    plan += r[0].as<std::string>() + "\n";
  }
  return plan;
}

// Every list query must be able to use an index, or it slows down as its table grows. Every
// statement named like a list (tools/bench's pattern: list_*, *_list, *_live) with the plan it
// runs with (PlanOf).
TEST_F(PgIdentityStoreTest, EveryListStatementsPlanCanUseAnIndex) {
  const std::string id = "'0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"identity_users_list", absl::StrCat("'', '', false, 0, ", id, ", 21")},
      {"identity_login_list", absl::StrCat("'', false, 0, false, 0, false, 0, ", id, ", 21")},
      {"identity_login_by_email_list",
       absl::StrCat("'a@example.com', '', '', false, 0, false, 0, false, 0, ", id, ", 21")},
      {"identity_login_by_ip_list",
       absl::StrCat("'10.0.0.1', '', false, 0, false, 0, false, 0, ", id, ", 21")},
      {"identity_sessions_live", absl::StrCat(id, ", 0, false, 0, ", id, ", 21")},
      {"identity_session_revoke_live", absl::StrCat(id, ", 0")},
      {"identity_accounts_list", absl::StrCat("'', false, 0, ", id, ", 21")},
      {"identity_roles_list", "'', 21"},
      {"identity_role_assignments_all_list", absl::StrCat("false, 0, ", id, ", 21")},
      {"identity_role_assignments_by_user_list", absl::StrCat(id, ", false, 0, ", id, ", 21")},
      {"identity_role_assignments_by_account_list",
       absl::StrCat(id, ", false, 0, ", id, ", 21")},
      {"identity_role_assignments_by_user_account_list",
       absl::StrCat(id, ", ", id, ", false, 0, ", id, ", 21")},
  };
  for (const auto& [name, args] : cases) {
    const std::string plan = PlanOf(url_, *pool_, name, args);
    EXPECT_TRUE(absl::StrContains(plan, "Index Scan") ||
                absl::StrContains(plan, "Index Only Scan") ||
                absl::StrContains(plan, "Bitmap Index Scan"))
        << name << "\n" << plan;
    EXPECT_FALSE(absl::StrContains(plan, "Seq Scan")) << name << "\n" << plan;
  }
  // The keyset pages are read in index order and stop at the limit: no Sort of the table.
  // (ORDER BY must name the table's columns: a bare `id` is the output column id::text.)
  for (const std::string name : {"identity_users_list", "identity_login_list",
                                 "identity_accounts_list", "identity_role_assignments_all_list"}) {
    const auto it = std::find_if(cases.begin(), cases.end(),
                                 [&](const auto& c) { return c.first == name; });
    ASSERT_NE(it, cases.end()) << name;
    const std::string plan = PlanOf(url_, *pool_, name, it->second);
    EXPECT_FALSE(absl::StrContains(plan, "Sort")) << name << "\n" << plan;
  }
}

// ValidateSession's lookup (batched_read_statement.h): one hash and a batch of four both probe
// the token-hash index, and the one-hash statement has no VALUES scan (it plans as `= $1`).
TEST_F(PgIdentityStoreTest, TheSessionLookupProbesTheTokenIndexAloneAndInABatch) {
  const std::string one = PlanOf(url_, *pool_, "identity_session_lookup", "'h1'");
  EXPECT_TRUE(absl::StrContains(one, "sessions_session_token_hash_key")) << one;
  EXPECT_FALSE(absl::StrContains(one, "Values Scan")) << one;
  const std::string four =
      PlanOf(url_, *pool_, "identity_session_lookup_x4", "'h1', 'h2', 'h3', 'h4'");
  EXPECT_TRUE(absl::StrContains(four, "sessions_session_token_hash_key")) << four;
}

// At a production size (200 000 attempts) and with sequential scans allowed, the generic plan
// of each login-attempt listing shape still reads an index: one statement with optional
// `($1 = '' OR email = $1)` filters got a parallel seq scan and a sort here (tools/bench).
TEST_F(PgIdentityStoreTest, LoginAttemptListingsReadAnIndexAtProductionSize) {
  AddLoginAttempts(
      "SELECT 'u' || (g % 20000) || '@example.com', '10.' || (g % 250) || '.' || "
      "(g / 250 % 250) || '.1', g % 10 <> 0, CASE WHEN g % 10 = 0 THEN "
      "'invalid_credentials' END, now() - g * interval '6 seconds' "
      "FROM generate_series(1, 200000) g");
  const std::string id = "'0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21'";
  const std::string tail = absl::StrCat("'', false, 0, false, 0, false, 0, ", id, ", 21");
  for (const auto& [name, args] : std::vector<std::pair<std::string, std::string>>{
           {"identity_login_list", tail},
           {"identity_login_by_email_list", "'u7@example.com', '', " + tail},
           {"identity_login_by_ip_list", "'10.7.0.1', " + tail}}) {
    const std::string plan = PlanOf(url_, *pool_, name, args, PlanQuestion::kPlannersChoice);
    EXPECT_TRUE(absl::StrContains(plan, "Index")) << name << "\n" << plan;
    EXPECT_FALSE(absl::StrContains(plan, "Seq Scan")) << name << "\n" << plan;
  }
}

// Behind a busy address (a NAT, a proxy) and for a busy account, the window holds thousands of
// successful logins. The throttling check reads only the failures: it must not cost a login
// (under the address's advisory lock) more with every successful login before it.
TEST_F(PgIdentityStoreTest, TheThrottlingCheckReadsOnlyFailuresOfABusyAddressAndAccount) {
  AddLoginAttempts(
      "SELECT 'busy@example.com', '203.0.113.7', g % 5000 <> 0, CASE WHEN g % 5000 = 0 THEN "
      "'invalid_credentials' END, now() - g * interval '40 milliseconds' "
      "FROM generate_series(1, 20000) g");
  const std::string plan = PlanOf(
      url_, *pool_, "identity_login_failures",
      "'busy@example.com', '203.0.113.7', "
      "(extract(epoch from now() - interval '24 hours') * 1000000)::bigint, 15, "
      "(extract(epoch from now() - interval '15 minutes') * 1000000)::bigint, 100, 50",
      PlanQuestion::kPlannersChoiceRun);
  EXPECT_TRUE(absl::StrContains(plan, "login_attempts_email_ip_failures_idx")) << plan;
  EXPECT_TRUE(absl::StrContains(plan, "login_attempts_email_failures_idx")) << plan;
  EXPECT_TRUE(absl::StrContains(plan, "login_attempts_ip_failures_idx")) << plan;
  EXPECT_FALSE(absl::StrContains(plan, "Seq Scan")) << plan;
  // What the scans read and dropped: at most the in-flight attempts, never the successes.
  constexpr absl::string_view kRemoved = "Rows Removed by Filter: ";
  int most_removed = 0;
  for (absl::string_view line : absl::StrSplit(plan, '\n')) {
    const size_t at = line.find(kRemoved);
    int removed = 0;
    if (at != absl::string_view::npos &&
        absl::SimpleAtoi(line.substr(at + kRemoved.size()), &removed)) {
      most_removed = std::max(most_removed, removed);
    }
  }
  EXPECT_LE(most_removed, 10) << plan;
  // The count itself is unchanged: 4 failures of 20 000 attempts, within the 5 free ones of
  // the pair; the next attempt, with one in flight, has used them up.
  LoginAttemptStart start{"busy@example.com", "203.0.113.7", "", "", absl::Now()};
  absl::StatusOr<LoginAdmission> admission = store_->BeginLoginAttempt(start, LoginLimits());
  ASSERT_TRUE(admission.ok()) << admission.status();
  EXPECT_TRUE(admission->admitted);
  absl::StatusOr<LoginAdmission> throttled = store_->BeginLoginAttempt(start, LoginLimits());
  ASSERT_TRUE(throttled.ok()) << throttled.status();
  EXPECT_FALSE(throttled->admitted) << "4 failures and one attempt in flight use the 5 free ones";
}

// ListUsers by e-mail prefix among 20 000 users: with the prefix known (the statement is
// planned per call) a rare one reads its range of users_email_prefix_idx rather than every
// user in keyset order, no prefix still walks the keyset index, and %, _ and \ in a prefix
// are characters, not wildcards.
TEST_F(PgIdentityStoreTest, AnEmailPrefixSearchReadsThePrefixRangeAndTakesItsCharactersLiterally) {
  {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec0(
        "INSERT INTO identity.users (email, created_at) SELECT 'user' || g || '@example.com', "
        "now() - g * interval '1 minute' FROM generate_series(1, 20000) g");
    tx.exec0(
        "INSERT INTO identity.users (email) VALUES ('a_b@example.com'), ('axb@example.com'), "
        "('a%c@example.com'), ('a\\d@example.com'), ('A\\E@example.com')");
    tx.commit();
    pqxx::nontransaction(conn).exec0("ANALYZE identity.users");
  }
  const std::string first_page = "false, 0, '00000000-0000-0000-0000-000000000000', 21";
  const std::string rare = PlanOf(url_, *pool_, "identity_users_list",
                                  "'', 'user1234%', " + first_page, PlanQuestion::kPlannersChoice);
  EXPECT_TRUE(absl::StrContains(rare, "users_email_prefix_idx")) << rare;
  EXPECT_FALSE(absl::StrContains(rare, "Seq Scan")) << rare;
  const std::string all = PlanOf(url_, *pool_, "identity_users_list", "'', '', " + first_page,
                                 PlanQuestion::kPlannersChoice);
  EXPECT_TRUE(absl::StrContains(all, "users_created_at_id_idx")) << all;
  EXPECT_FALSE(absl::StrContains(all, "Sort")) << all;

  auto emails = [&](const std::string& prefix) {
    std::vector<std::string> out;
    UserFilter filter;
    filter.email_prefix = prefix;
    auto users = store_->ListUsers(filter, absl::nullopt, 100);
    EXPECT_TRUE(users.ok()) << users.status();
    if (users.ok()) {
      for (const User& u : *users) out.push_back(u.email);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(emails("user1234").size(), 11u);  // user1234 and user12340 .. user12349
  EXPECT_EQ(emails("a_"), std::vector<std::string>{"a_b@example.com"});
  EXPECT_EQ(emails("a%"), std::vector<std::string>{"a%c@example.com"});
  EXPECT_EQ(emails("a\\"), (std::vector<std::string>{"A\\E@example.com", "a\\d@example.com"}));
}

// The four shapes of ListRoleAssignments return the same rows the filters describe.
TEST_F(PgIdentityStoreTest, RoleAssignmentListsFilterByUserAndAccount) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  const std::string u1 = tx.exec1(
      "INSERT INTO identity.users (email) VALUES ('u1@example.com') RETURNING id::text")[0]
                             .as<std::string>();
  const std::string u2 = tx.exec1(
      "INSERT INTO identity.users (email) VALUES ('u2@example.com') RETURNING id::text")[0]
                             .as<std::string>();
  const std::string a1 =
      tx.exec1("INSERT INTO identity.accounts (name) VALUES ('a1') RETURNING id::text")[0]
          .as<std::string>();
  tx.exec0("INSERT INTO identity.role_assignments (user_id, role_key, account_id) VALUES ('" +
           u1 + "', 'member', NULL), ('" + u1 + "', 'author', '" + a1 + "'), ('" + u2 +
           "', 'member', '" + a1 + "')");
  tx.commit();
  auto count = [&](const std::string& user, const std::string& account) -> int {
    auto list = store_->ListRoleAssignments(user, account, absl::nullopt, 1000);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? static_cast<int>(list->size()) : -1;
  };
  EXPECT_EQ(count("", ""), 3);
  EXPECT_EQ(count(u1, ""), 2);
  EXPECT_EQ(count("", a1), 2);
  EXPECT_EQ(count(u1, a1), 1);
  EXPECT_EQ(count(u2, a1), 1);
  EXPECT_EQ(count(u2, ""), 1);
}

}  // namespace
}  // namespace suite::identity
