// ReadBatcher: reads alone when a slot is free, coalesces the calls that queue behind a busy
// statement, bounds the batch, hands a failure to its own batch only, lets a queued caller go
// at its deadline, and runs the statement under the batch's scope rather than one caller's;
// ReadAsync does the same without a blocked thread per caller. The last test reads through a
// real PostgreSQL statement.
#include "shared/db/read_batcher.h"

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/base/async_caller.h"
#include "shared/base/request_deadline.h"
#include "shared/db/batched_read_statement.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"
#include "shared/db/transaction.h"

namespace suite::db {
namespace {

using Batcher = ReadBatcher<std::string>;
using ::suite::db::testing::TestDatabase;

// A read function ("value of <key>" for every key but "missing") that records each
// statement's keys and can hold the first statement at a gate, so that later callers queue.
class RecordingRead {
 public:
  Batcher::ReadMany AsFunction() {
    return [this](const std::vector<std::string>& keys) -> absl::StatusOr<Batcher::ValueMap> {
      {
        absl::MutexLock lock(&mu_);
        statements_.push_back(keys);
      }
      if (hold_first_ && !passed_gate_.exchange(true)) gate_.WaitForNotification();
      for (const std::string& key : keys) {
        if (key == "unavailable") return absl::UnavailableError("database went away");
      }
      Batcher::ValueMap values;
      for (const std::string& key : keys) {
        if (key != "missing") values[key] = "value of " + key;
      }
      return values;
    };
  }
  void HoldFirstStatement() { hold_first_ = true; }
  void ReleaseFirstStatement() { gate_.Notify(); }
  std::vector<std::vector<std::string>> statements() {
    absl::MutexLock lock(&mu_);
    return statements_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> statements_ ABSL_GUARDED_BY(mu_);
  bool hold_first_ = false;
  std::atomic<bool> passed_gate_{false};
  absl::Notification gate_;
};

// Waits (up to 10 s) until `n` callers are queued.
bool AwaitQueued(const Batcher& batcher, int n) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (batcher.queued() < n) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(ReadBatcherTest, ACallerThatFindsASlotFreeReadsItsKeyAloneAtOnce) {
  RecordingRead read;
  Batcher batcher({}, read.AsFunction());
  absl::StatusOr<absl::optional<std::string>> found = batcher.Read("a");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->value_or(""), "value of a");
  absl::StatusOr<absl::optional<std::string>> missing = batcher.Read("missing");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{{"a"}, {"missing"}}));
}

TEST(ReadBatcherTest, CallersQueuedBehindABusyStatementShareTheNextOne) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/64, /*max_in_flight=*/1}, read.AsFunction());
  std::vector<std::string> keys = {"first", "b", "c", "b", "missing"};
  std::vector<absl::StatusOr<absl::optional<std::string>>> results(keys.size());
  std::vector<std::thread> callers;
  callers.emplace_back([&] { results[0] = batcher.Read(keys[0]); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  for (size_t i = 1; i < keys.size(); ++i) {
    callers.emplace_back([&, i] { results[i] = batcher.Read(keys[i]); });
    ASSERT_TRUE(AwaitQueued(batcher, static_cast<int>(i)));  // keeps the queue's order known
  }
  read.ReleaseFirstStatement();
  for (std::thread& t : callers) t.join();

  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{
                                   {"first"}, {"b", "c", "missing"}}));  // one read of "b"
  const ReadBatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.statements, 2);
  EXPECT_EQ(stats.keys, 4);
  EXPECT_EQ(stats.callers, 5);
  EXPECT_EQ(stats.queue_deadlines, 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << keys[i] << ": " << results[i].status();
    if (keys[i] == "missing") {
      EXPECT_FALSE(results[i]->has_value());
    } else {
      EXPECT_EQ(results[i]->value_or(""), "value of " + keys[i]);
    }
  }
}

TEST(ReadBatcherTest, AStatementReadsAtMostMaxBatchKeysOldestFirst) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/2, /*max_in_flight=*/1}, read.AsFunction());
  std::vector<std::thread> callers;
  callers.emplace_back([&] { (void)batcher.Read("first"); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  const std::vector<std::string> queued = {"k1", "k2", "k3", "k4", "k5"};
  for (size_t i = 0; i < queued.size(); ++i) {
    callers.emplace_back([&, i] { EXPECT_TRUE(batcher.Read(queued[i]).ok()); });
    ASSERT_TRUE(AwaitQueued(batcher, static_cast<int>(i) + 1));
  }
  read.ReleaseFirstStatement();
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(read.statements(),
            (std::vector<std::vector<std::string>>{{"first"}, {"k1", "k2"}, {"k3", "k4"}, {"k5"}}));
}

TEST(ReadBatcherTest, AFailedStatementFailsItsOwnBatchAndNoOther) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/64, /*max_in_flight=*/1}, read.AsFunction());
  absl::StatusOr<absl::optional<std::string>> first, unlucky, bad;
  std::thread t1([&] { first = batcher.Read("first"); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  std::thread t2([&] { unlucky = batcher.Read("ok-key"); });
  ASSERT_TRUE(AwaitQueued(batcher, 1));
  std::thread t3([&] { bad = batcher.Read("unavailable"); });
  ASSERT_TRUE(AwaitQueued(batcher, 2));
  read.ReleaseFirstStatement();
  t1.join();
  t2.join();
  t3.join();
  EXPECT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(unlucky.status().code(),
            absl::StatusCode::kUnavailable);  // shared the statement
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<absl::optional<std::string>> later = batcher.Read("ok-key");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->value_or(""), "value of ok-key");
}

TEST(ReadBatcherTest, AQueuedCallerLeavesAtItsDeadlineAndItsKeyIsNeverRead) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/64, /*max_in_flight=*/1}, read.AsFunction());
  std::thread leader([&] { (void)batcher.Read("first"); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  absl::StatusOr<absl::optional<std::string>> late;
  const absl::Time start = absl::Now();
  {
    ScopedRequestDeadline request(start + absl::Milliseconds(50));
    late = batcher.Read("late");
  }
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(batcher.queued(), 0);
  EXPECT_EQ(batcher.Stats().queue_deadlines, 1);
  read.ReleaseFirstStatement();
  leader.join();
  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{{"first"}}));
}

TEST(ReadBatcherTest, TheStatementRunsUnderTheBatchsLatestDeadlineAndNoCallersProbe) {
  absl::Time deadline_seen;
  bool abandoned_seen = true;
  Batcher batcher({}, [&](const std::vector<std::string>&) -> absl::StatusOr<Batcher::ValueMap> {
    deadline_seen = CurrentRequestDeadline();
    abandoned_seen = CurrentRequestAbandoned();
    return Batcher::ValueMap();
  });
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  ScopedRequestDeadline gone_caller(deadline, [] { return true; });
  EXPECT_TRUE(batcher.Read("a").ok());
  EXPECT_EQ(deadline_seen, deadline);
  EXPECT_FALSE(abandoned_seen);  // one cancelled caller must not cancel the others' read
}

TEST(ReadBatcherTest, ManyConcurrentCallersEachGetTheirOwnValueInFewerStatements) {
  RecordingRead read;
  Batcher batcher({/*max_batch=*/8, /*max_in_flight=*/1}, read.AsFunction());
  constexpr int kThreads = 16, kReadsEach = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kReadsEach; ++i) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        absl::StatusOr<absl::optional<std::string>> got = batcher.Read(key);
        if (!got.ok() || got->value_or("") != "value of " + key) ++wrong;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  size_t keys_read = 0;
  for (const auto& statement : read.statements()) {
    EXPECT_LE(statement.size(), 8u);
    keys_read += statement.size();
  }
  EXPECT_EQ(keys_read, static_cast<size_t>(kThreads * kReadsEach));
  EXPECT_EQ(batcher.queued(), 0);
}

TEST(ReadBatcherTest, UpToMaxInFlightStatementsRunAtOnce) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/16, /*max_in_flight=*/2}, read.AsFunction());
  std::thread held([&] { (void)batcher.Read("held"); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  absl::StatusOr<absl::optional<std::string>> second = batcher.Read("second");  // not queued
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->value_or(""), "value of second");
  read.ReleaseFirstStatement();
  held.join();
}

// ---------------------------------------------------------------------------------------------
// ReadAsync

// run_blocking for the asynchronous tests: each task on a thread of its own, counted; joins
// them all when destroyed (declare it after the batcher, so it goes first).
class TaskThreads {
 public:
  ~TaskThreads() { JoinAll(); }
  AsyncCaller Caller(absl::Time deadline = absl::InfiniteFuture(),
                     std::function<bool()> abandoned = nullptr) {
    AsyncCaller caller;
    caller.deadline = deadline;
    caller.abandoned = std::move(abandoned);
    caller.run_blocking = [this](std::function<void()> task) {
      absl::MutexLock lock(&mu_);
      ++started_;
      threads_.emplace_back(std::move(task));
    };
    return caller;
  }
  int started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  void JoinAll() {
    for (;;) {
      std::vector<std::thread> threads;
      {
        absl::MutexLock lock(&mu_);
        threads.swap(threads_);
      }
      if (threads.empty()) return;
      for (std::thread& t : threads) t.join();
    }
  }

 private:
  absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// What one asynchronous caller was told, and where.
struct Answer {
  absl::Notification done;
  int calls = 0;
  Batcher::Result result;
  std::thread::id thread;
  absl::Time deadline_in_scope;
  bool abandoned_in_scope = false;

  Batcher::Done Callback() {
    return [this](Batcher::Result r) {
      ++calls;
      result = std::move(r);
      thread = std::this_thread::get_id();
      deadline_in_scope = CurrentRequestDeadline();
      abandoned_in_scope = CurrentRequestAbandoned();
      done.Notify();
    };
  }
  bool Wait() { return done.WaitForNotificationWithTimeout(absl::Seconds(10)); }
};

TEST(ReadBatcherTest, AnAsyncReadRunsOnRunBlockingAndCallsBackUnderTheCallersScope) {
  RecordingRead read;
  Batcher batcher({}, read.AsFunction());
  TaskThreads tasks;
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  Answer answer;
  batcher.ReadAsync("a", tasks.Caller(deadline, [] { return true; }), answer.Callback());
  ASSERT_TRUE(answer.Wait());
  tasks.JoinAll();
  EXPECT_EQ(answer.calls, 1);
  ASSERT_TRUE(answer.result.ok()) << answer.result.status();
  EXPECT_EQ(answer.result->value_or(""), "value of a");
  EXPECT_NE(answer.thread, std::this_thread::get_id());
  EXPECT_EQ(answer.deadline_in_scope, deadline);
  EXPECT_TRUE(answer.abandoned_in_scope);  // the caller's own probe, for writes it makes
  EXPECT_EQ(tasks.started(), 1);
  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{{"a"}}));
}

TEST(ReadBatcherTest, AsyncCallersQueuedBehindABusyStatementAreReadAndCalledBackByOneTask) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/2, /*max_in_flight=*/1}, read.AsFunction());
  TaskThreads tasks;
  const std::vector<std::string> keys = {"first", "k1", "k2", "missing", "k1"};
  std::vector<Answer> answers(keys.size());
  batcher.ReadAsync(keys[0], tasks.Caller(), answers[0].Callback());
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  for (size_t i = 1; i < keys.size(); ++i) {
    batcher.ReadAsync(keys[i], tasks.Caller(), answers[i].Callback());  // queues: slot busy
  }
  EXPECT_EQ(batcher.queued(), 4);
  read.ReleaseFirstStatement();
  for (Answer& a : answers) ASSERT_TRUE(a.Wait());
  tasks.JoinAll();
  EXPECT_EQ(tasks.started(), 1);  // the first caller's task read every batch
  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{
                                   {"first"}, {"k1", "k2"}, {"missing", "k1"}}));
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(answers[i].calls, 1) << keys[i];
    ASSERT_TRUE(answers[i].result.ok()) << keys[i] << ": " << answers[i].result.status();
    if (keys[i] == "missing") {
      EXPECT_FALSE(answers[i].result->has_value());
    } else {
      EXPECT_EQ(answers[i].result->value_or(""), "value of " + keys[i]);
    }
  }
  EXPECT_EQ(batcher.queued(), 0);
}

TEST(ReadBatcherTest, AnAsyncCallerPastItsDeadlineIsAnsweredWithoutBeingRead) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/16, /*max_in_flight=*/1}, read.AsFunction());
  TaskThreads tasks;
  Answer first, late, on_time;
  batcher.ReadAsync("first", tasks.Caller(), first.Callback());
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  batcher.ReadAsync("late", tasks.Caller(absl::Now() + absl::Milliseconds(20)), late.Callback());
  batcher.ReadAsync("on-time", tasks.Caller(), on_time.Callback());
  absl::SleepFor(absl::Milliseconds(40));
  read.ReleaseFirstStatement();
  ASSERT_TRUE(late.Wait());
  ASSERT_TRUE(on_time.Wait());
  ASSERT_TRUE(first.Wait());
  tasks.JoinAll();
  EXPECT_EQ(late.result.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(on_time.result.ok()) << on_time.result.status();
  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{{"first"}, {"on-time"}}));
  EXPECT_EQ(batcher.Stats().queue_deadlines, 1);
}

TEST(ReadBatcherTest, AsyncCallersLeftBehindABlockedCallersStatementGetATaskOfTheirOwn) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/2, /*max_in_flight=*/1}, read.AsFunction());
  TaskThreads tasks;
  std::thread blocked([&] { EXPECT_TRUE(batcher.Read("blocked").ok()); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  std::vector<Answer> answers(3);
  for (int i = 0; i < 3; ++i) {
    batcher.ReadAsync(absl::StrCat("k", i), tasks.Caller(), answers[i].Callback());
  }
  read.ReleaseFirstStatement();
  blocked.join();  // returns after its own statement, leaving the queue to a task
  for (Answer& a : answers) ASSERT_TRUE(a.Wait());
  tasks.JoinAll();
  EXPECT_EQ(tasks.started(), 1);
  EXPECT_EQ(read.statements(),
            (std::vector<std::vector<std::string>>{{"blocked"}, {"k0", "k1"}, {"k2"}}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(answers[i].result->value_or(""), absl::StrCat("value of k", i));
    EXPECT_NE(answers[i].thread, std::this_thread::get_id());
  }
}

TEST(ReadBatcherTest, AsyncCallersInABlockedCallersBatchAreCalledBackOnTheirOwnRunBlocking) {
  RecordingRead read;
  read.HoldFirstStatement();
  Batcher batcher({/*max_batch=*/16, /*max_in_flight=*/1}, read.AsFunction());
  TaskThreads tasks;
  std::thread leader([&] { EXPECT_TRUE(batcher.Read("first").ok()); });
  while (read.statements().empty()) absl::SleepFor(absl::Milliseconds(1));
  std::thread blocked([&] { EXPECT_TRUE(batcher.Read("blocked").ok()); });
  ASSERT_TRUE(AwaitQueued(batcher, 1));
  Answer queued_async;
  batcher.ReadAsync("async", tasks.Caller(), queued_async.Callback());
  read.ReleaseFirstStatement();
  leader.join();
  blocked.join();
  ASSERT_TRUE(queued_async.Wait());
  tasks.JoinAll();
  EXPECT_EQ(queued_async.result->value_or(""), "value of async");
  // The blocked caller read both keys and handed the callback to run_blocking (it serves
  // another request), rather than running it itself.
  EXPECT_EQ(read.statements(),
            (std::vector<std::vector<std::string>>{{"first"}, {"blocked", "async"}}));
  EXPECT_EQ(tasks.started(), 1);
}

// run_blocking whose tasks wait until released: an executor whose every thread is busy.
class HeldTasks {
 public:
  ~HeldTasks() { Release(); }
  AsyncCaller Caller() {
    AsyncCaller caller;
    caller.run_blocking = [this](std::function<void()> task) {
      absl::MutexLock lock(&mu_);
      held_.push_back(std::move(task));
    };
    return caller;
  }
  int held() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }
  // Runs the held tasks (and any they submit) on this thread.
  void Release() {
    for (;;) {
      std::vector<std::function<void()>> tasks;
      {
        absl::MutexLock lock(&mu_);
        tasks.swap(held_);
      }
      if (tasks.empty()) return;
      for (std::function<void()>& task : tasks) task();
    }
  }

 private:
  absl::Mutex mu_;
  std::vector<std::function<void()>> held_ ABSL_GUARDED_BY(mu_);
};

TEST(ReadBatcherTest, ABlockedCallerNeverWaitsForATaskThatHasNotStarted) {
  // An identity handler thread authenticating (a blocked Read) while ValidateSession's task
  // sits behind busy executor threads: the blocked caller must read at once, the queued key
  // with it, and the task must find nothing left when it finally runs.
  RecordingRead read;
  Batcher batcher({/*max_batch=*/16, /*max_in_flight=*/1}, read.AsFunction());
  HeldTasks held;
  Answer queued_async;
  batcher.ReadAsync("async", held.Caller(), queued_async.Callback());
  EXPECT_EQ(held.held(), 1);  // its task, not started
  absl::StatusOr<absl::optional<std::string>> blocked = batcher.Read("blocked");
  ASSERT_TRUE(blocked.ok()) << blocked.status();
  EXPECT_EQ(blocked->value_or(""), "value of blocked");
  EXPECT_EQ(read.statements(), (std::vector<std::vector<std::string>>{{"async", "blocked"}}));
  EXPECT_FALSE(queued_async.done.HasBeenNotified());  // its callback waits for run_blocking
  held.Release();
  ASSERT_TRUE(queued_async.Wait());
  EXPECT_EQ(queued_async.result->value_or(""), "value of async");
  EXPECT_EQ(read.statements().size(), 1u);  // the late task read nothing
  EXPECT_EQ(batcher.queued(), 0);
}

TEST(ReadBatcherTest, ManyBlockedAndAsyncCallersEachGetTheirOwnValueExactlyOnce) {
  RecordingRead read;
  Batcher batcher({/*max_batch=*/8, /*max_in_flight=*/2}, read.AsFunction());
  TaskThreads tasks;
  constexpr int kThreads = 12, kReadsEach = 150;
  std::atomic<int> wrong{0};
  std::atomic<int> async_answers{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kReadsEach; ++i) {
        const std::string key = absl::StrCat("t", t, "-", i);
        if (t % 2 == 0) {
          Batcher::Result got = batcher.Read(key);
          if (!got.ok() || got->value_or("") != "value of " + key) ++wrong;
          continue;
        }
        absl::Notification done;
        batcher.ReadAsync(key, tasks.Caller(), [&, key](Batcher::Result got) {
          if (!got.ok() || got->value_or("") != "value of " + key) ++wrong;
          ++async_answers;
          done.Notify();
        });
        if (!done.WaitForNotificationWithTimeout(absl::Seconds(10))) ++wrong;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  tasks.JoinAll();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(async_answers.load(), kThreads / 2 * kReadsEach);
  EXPECT_EQ(batcher.queued(), 0);
  EXPECT_EQ(batcher.Stats().callers, kThreads * kReadsEach);
}

TEST(ReadBatcherTest, ReadsKeysWithAnyCharactersThroughAPostgresStatement) {
  auto db = TestDatabase::CreateEmpty();
  ASSERT_TRUE(db.ok()) << db.status();
  {
    pqxx::connection conn((*db)->url());
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)");
    tx.exec(
        R"(INSERT INTO kv VALUES ('plain', '1'), ('with,comma', '2'), ('with"quote', '3'),
               ('back\slash', '4'), ('NULL', '5'), ('{braces}', '6'), (' spaced ', '7'))");
  }
  PoolConfig config;
  config.database_url = (*db)->url();
  config.pool_size = 2;
  auto pool = ConnectionPool::Create(config);
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(RegisterBatchedRead(**pool, "kv_many", "text", "q", "k",
                                  [](absl::string_view keys) {
                                    return absl::StrCat("SELECT kv.k, kv.v FROM ", keys,
                                                        " JOIN kv ON kv.k = q.k");
                                  })
                  .ok());
  TxOptions autocommit;
  autocommit.mode = TxMode::kAutocommitRead;
  Batcher batcher({}, [&](const std::vector<std::string>& keys) {
    return RunInTransaction<Batcher::ValueMap>(
        **pool, autocommit, [&](Transaction& tx) -> absl::StatusOr<Batcher::ValueMap> {
          SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                                 ExecBatched(tx, "kv_many", keys));
          Batcher::ValueMap values;
          for (const pqxx::row& r : rows) values[r[0].as<std::string>()] = r[1].as<std::string>();
          return values;
        });
  });
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"plain", "1"}, {"with,comma", "2"}, {"with\"quote", "3"}, {"back\\slash", "4"},
      {"NULL", "5"},  {"{braces}", "6"},   {" spaced ", "7"}};
  for (const auto& [key, value] : expected) {
    absl::StatusOr<absl::optional<std::string>> got = batcher.Read(key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status();
    EXPECT_EQ(got->value_or("<none>"), value) << key;
  }
  absl::StatusOr<absl::optional<std::string>> absent = batcher.Read("absent");
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());
}

}  // namespace
}  // namespace suite::db
