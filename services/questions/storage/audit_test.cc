// The question bank's audit trail against a real database, through the store as
// questions_service: every privileged change (authoring, publishing, archiving, tagging, an
// import) appends exactly one row in its own transaction, with the actor and request id of the
// thread's ScopedAuditActor; a refused change appends none, and a change whose row cannot be
// written does not happen; the service role can append and read but never alter or remove a
// row, the retention role can remove (not alter) them; the verifier names an edited row; the
// retention rule removes only rows past the period and the rest still verifies.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/questions/storage/pg_store.h"
#include "services/questions/storage/retention.h"
#include "shared/base/audit_actor.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/audit/testing/audit_testing.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"
#include "shared/db/testing/test_database.h"

namespace suite::questions {
namespace {

using suite::db::audit::AuditEvent;
using suite::db::audit::AuditFilter;
using suite::db::audit::ChainReport;
using suite::db::audit::testing::AuditStorageTest;
using suite::db::audit::testing::TestPool;

constexpr char kAdmin[] = "00000000-0000-4000-8000-00000000ad01";
constexpr char kRequest[] = "11111111-2222-4333-8444-555555555555";

class QuestionsAuditTest : public AuditStorageTest {
 protected:
  QuestionsAuditTest() : AuditStorageTest("questions", "questions_service", 4) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(AuditStorageTest::SetUp());
    auto store = PgQuestionStore::Create(pool_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  NewQuestion Draft(const std::string& key) {
    NewQuestion q;
    q.external_key = key;
    q.stem = "Which drug reverses opioid overdose?";
    q.difficulty = Difficulty::kEasy;
    q.choices = {{"Naloxone", true}, {"Flumazenil", false}};
    q.author_id = kAdmin;
    q.request_id = kRequest;
    return q;
  }

  std::vector<AuditEvent> Events(const AuditFilter& filter = AuditFilter()) {
    auto events = store_->ListAuditEvents(filter, 0, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }


  std::string StatusOf(const std::string& id) {
    pqxx::connection conn(db_->url());
    return pqxx::nontransaction(conn)
        .exec1("SELECT status::text FROM questions.questions WHERE id = '" + id + "'")[0]
        .as<std::string>();
  }

  std::unique_ptr<PgQuestionStore> store_;
};

TEST_F(QuestionsAuditTest, EachPrivilegedChangeAppendsOneRowWithItsActorAndRequest) {
  std::string question_id, tag_id;
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    auto tag = store_->CreateTag(TagKind::kTopic, "opioids", "Opioids");
    ASSERT_TRUE(tag.ok()) << tag.status();
    tag_id = tag->id;
    auto q = store_->CreateQuestion(Draft("k1"));
    ASSERT_TRUE(q.ok()) << q.status();
    question_id = q->id;
    QuestionUpdate update;
    update.stem = "Which drug reverses an opioid overdose?";
    update.choices = std::vector<ChoiceInput>{{"Naloxone", true}, {"Atropine", false}};
    ASSERT_TRUE(store_->UpdateDraft(question_id, update, kRequest).ok());
    ASSERT_TRUE(store_->TagQuestion(question_id, tag_id).ok());
    // Attaching again and detaching what is not attached change nothing: no row.
    ASSERT_TRUE(store_->TagQuestion(question_id, tag_id).ok());
    ASSERT_TRUE(store_->UntagQuestion(question_id, tag_id).ok());
    ASSERT_TRUE(store_->UntagQuestion(question_id, tag_id).ok());
    ASSERT_TRUE(store_
                    ->Transition(question_id, {QuestionStatus::kDraft}, QuestionStatus::kPublished,
                                 kRequest)
                    .ok());
    ASSERT_TRUE(store_
                    ->Transition(question_id, {QuestionStatus::kDraft, QuestionStatus::kPublished},
                                 QuestionStatus::kArchived, kRequest)
                    .ok());
    // An import: its chunks before the last write no row; the last carries the totals.
    ASSERT_TRUE(store_->ImportChunk({Draft("i1"), Draft("i2")}, nullptr).ok());
    const ImportTotals before{2, 0, 1, true};
    ASSERT_TRUE(store_->ImportChunk({Draft("i2"), Draft("i3")}, &before).ok());
  }
  std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 8u);
  // Newest first.
  EXPECT_EQ(events[7].action, "tag.create");
  EXPECT_EQ(events[7].target_type, "tag");
  EXPECT_EQ(events[7].target_id, tag_id);
  EXPECT_EQ(events[7].after_json, R"({"kind": "topic", "slug": "opioids"})");
  EXPECT_EQ(events[6].action, "question.create");
  EXPECT_EQ(events[6].after_json, R"({"status": "draft", "external_key": "k1"})");
  EXPECT_EQ(events[5].action, "question.update");
  EXPECT_EQ(events[5].after_json, R"({"fields": ["stem", "choices"]})");
  EXPECT_EQ(events[4].action, "question.tag");
  EXPECT_EQ(events[4].after_json, absl::StrCat(R"({"tag_id": ")", tag_id, R"("})"));
  EXPECT_EQ(events[3].action, "question.untag");
  EXPECT_EQ(events[3].before_json, absl::StrCat(R"({"tag_id": ")", tag_id, R"("})"));
  EXPECT_EQ(events[2].action, "question.publish");
  EXPECT_EQ(events[2].before_json, R"({"status": "draft"})");
  EXPECT_EQ(events[2].after_json, R"({"status": "published"})");
  EXPECT_EQ(events[1].action, "question.archive");
  EXPECT_EQ(events[1].before_json, R"({"status": "published"})");
  EXPECT_EQ(events[1].after_json, R"({"status": "archived"})");
  EXPECT_EQ(events[0].action, "question.import");
  EXPECT_EQ(events[0].target_type, "import");
  EXPECT_EQ(events[0].target_id, kRequest);
  // 2 before + i3 created; 1 skipped (i2 existed); the failed count as the import reported.
  EXPECT_EQ(events[0].after_json,
            R"({"failed": 1, "created": 3, "skipped": 1, "completed": true})");
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(events[i].target_id, question_id) << events[i].action;
  for (const AuditEvent& e : events) {
    EXPECT_EQ(e.actor_id, kAdmin) << e.action;
    EXPECT_EQ(e.request_id, kRequest) << e.action;
    EXPECT_EQ(e.outcome, "succeeded") << e.action;
  }
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  EXPECT_EQ(report.rows, 8);
}

TEST_F(QuestionsAuditTest, MemberWritesAndImportsThatCreateNothingAppendNothing) {
  ScopedAuditActor actor(kAdmin, kRequest);
  auto q = store_->CreateQuestion(Draft("k1"));
  ASSERT_TRUE(q.ok());
  const size_t after_create = Events().size();
  // A member's own practice and bookmarks are not privileged.
  ASSERT_TRUE(store_->CreateBookmark(kAdmin, q->id, Visibility::kAll).ok());
  ASSERT_TRUE(store_->DeleteBookmark(kAdmin, q->id).ok());
  // An import whose last chunk creates nothing (all existed) and created nothing before.
  const ImportTotals nothing{0, 0, 2, true};
  ASSERT_TRUE(store_->ImportChunk({Draft("k1")}, &nothing).ok());
  EXPECT_EQ(Events().size(), after_create);
}

TEST_F(QuestionsAuditTest, ARefusedChangeAppendsNothingAndAChangeWhoseRowFailsDoesNotHappen) {
  const std::string missing = "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  std::string id;
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    EXPECT_EQ(store_->Transition(missing, {QuestionStatus::kDraft}, QuestionStatus::kPublished, "")
                  .status()
                  .code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->TagQuestion(missing, missing).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->UntagQuestion(missing, missing).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->UpdateDraft(missing, QuestionUpdate{}, "").status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_TRUE(Events().empty());
  // The question is created with the trail writable, then the row cannot be written.
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    auto q = store_->CreateQuestion(Draft("k1"));
    ASSERT_TRUE(q.ok());
    id = q->id;
    // Archiving an archived question is refused: no row.
    ASSERT_TRUE(store_->Transition(id, {QuestionStatus::kDraft}, QuestionStatus::kArchived, "").ok());
    EXPECT_EQ(store_->Transition(id, {QuestionStatus::kDraft}, QuestionStatus::kPublished, "")
                  .status()
                  .code(),
              absl::StatusCode::kFailedPrecondition);
  }
  ASSERT_EQ(Events().size(), 2u);
  AsSuperuser("UPDATE questions.questions SET status = 'draft', published_at = NULL");
  AsSuperuser("REVOKE INSERT ON questions.audit_log FROM questions_service");
  absl::Status refused =
      store_->Transition(id, {QuestionStatus::kDraft}, QuestionStatus::kPublished, "").status();
  absl::Status refused_create = store_->CreateQuestion(Draft("k2")).status();
  absl::Status refused_tag = store_->CreateTag(TagKind::kTopic, "t", "T").status();
  AsSuperuser("GRANT INSERT ON questions.audit_log TO questions_service");
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(refused_create.ok());
  EXPECT_FALSE(refused_tag.ok());
  EXPECT_EQ(StatusOf(id), "draft");
  pqxx::connection conn(db_->url());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM questions.questions")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM questions.tags")[0].as<int>(), 0);
  EXPECT_EQ(Events().size(), 2u);
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
}

TEST_F(QuestionsAuditTest, TheServiceRoleCanAppendAndReadButNeverAlterOrRemove) {
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    ASSERT_TRUE(store_->CreateQuestion(Draft("k1")).ok());
  }
  ExpectServiceRoleCannotAlterOrRemove();
  ExpectRetentionRoleCannotAlter();
  ASSERT_EQ(Events().size(), 1u);
  // The retention role may delete rows (it is the only one).
  pqxx::connection retention(db_->UrlAs("suite_retention"));
  pqxx::work tx(retention);
  EXPECT_EQ(tx.exec("DELETE FROM questions.audit_log").affected_rows(), 1u);
  tx.commit();
  EXPECT_TRUE(Events().empty());
}

TEST_F(QuestionsAuditTest, TheVerifierNamesAnEditedRow) {
  std::string id;
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    auto q = store_->CreateQuestion(Draft("k1"));
    ASSERT_TRUE(q.ok());
    id = q->id;
    ASSERT_TRUE(store_->Transition(id, {QuestionStatus::kDraft}, QuestionStatus::kPublished, "").ok());
    ASSERT_TRUE(store_->Transition(id, {QuestionStatus::kPublished}, QuestionStatus::kArchived, "")
                    .ok());
  }
  // Who published it, rewritten; then rewritten with its hash recomputed.
  ExpectVerifierNamesAlteredThenReplacedRow(
      2, "UPDATE questions.audit_log SET actor_id = NULL WHERE seq = 2");
}

TEST_F(QuestionsAuditTest, RetentionRemovesOnlyRowsPastTheAuditPeriodAndTheRestStillVerifies) {
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->CreateQuestion(Draft(absl::StrCat("k", i))).ok());
  }
  // Rows 1-3 moved 800 days back (past the two years), their hashes recomputed in order.
  AsSuperuser("UPDATE questions.audit_log SET occurred_at = occurred_at - interval '800 days' "
              "WHERE seq <= 3");
  RehashChain(5);
  ASSERT_FALSE(Verify().broken_seq);

  auto pool = TestPool(db_->UrlAs("suite_retention"), 1);
  suite::db::retention::PurgeOptions options;
  options.now = absl::Now();
  options.batch_size = 2;
  // A period of its own: three years keeps everything.
  QuestionsRetention longer;
  longer.audit_log = absl::Hours(24 * 365 * 3);
  auto kept = suite::db::retention::RunPurge(*pool, QuestionsPurgeRules(longer), options);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept.rules.back().table, "questions.audit_log");
  EXPECT_EQ(kept.rules.back().rows, 0);
  auto run = suite::db::retention::RunPurge(*pool, QuestionsPurgeRules(QuestionsRetention()),
                                            options);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run.rules.back().table, "questions.audit_log");
  EXPECT_EQ(run.rules.back().rows, 3);
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  EXPECT_EQ(report.first_seq, 4);
  EXPECT_EQ(report.rows, 2);
  // Below the rule's minimum (a year) the rule is refused.
  QuestionsRetention too_short;
  too_short.audit_log = absl::Hours(24 * 364);
  EXPECT_FALSE(
      suite::db::retention::ValidatePurgeRule(QuestionsPurgeRules(too_short).back()).ok());
}

}  // namespace
}  // namespace suite::questions
