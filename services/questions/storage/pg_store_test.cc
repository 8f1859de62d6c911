// The question bank's storage against a real, migrated PostgreSQL, as role questions_service:
// the declared schema matches, proto enums match database enums, every list query uses an
// index, and the storage rules that only the database can enforce hold (one attempt per
// question per session under concurrency, idempotent chunked import).
#include "services/questions/storage/pg_store.h"

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migrations/questions/schema.h"
#include "pqxx/pqxx"
#include "questions/v1/questions_service.pb.h"
#include "shared/db/pool.h"
#include "shared/db/schema/schema_check.h"
#include "shared/db/testing/test_database.h"

namespace suite::questions {
namespace {

using ::testing::HasSubstr;
using suite::db::testing::TestDatabase;

constexpr char kAuthor[] = "00000000-0000-4000-8000-0000000000a1";
constexpr char kUser[] = "00000000-0000-4000-8000-0000000000b1";

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    suite::db::PoolConfig config;
    config.database_url = db_->UrlAs("questions_service");
    config.pool_size = 8;
    auto pool = suite::db::ConnectionPool::Create(config);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    auto store = PgQuestionStore::Create(pool_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  NewQuestion Draft(const std::string& key, const std::string& stem, bool publish = false) {
    NewQuestion q;
    q.external_key = key;
    q.stem = stem;
    q.explanation = "because";
    q.difficulty = Difficulty::kEasy;
    q.choices = {{"right", true}, {"wrong", false}};
    q.author_id = kAuthor;
    q.publish = publish;
    return q;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
  std::unique_ptr<PgQuestionStore> store_;
};

TEST_F(PgStoreTest, MigratedSchemaMatchesTheDeclaration) {
  auto diffs = suite::db::schema::CheckSchema(db_->url(), suite::migrations::QuestionsSchema());
  ASSERT_TRUE(diffs.ok()) << diffs.status();
  EXPECT_TRUE(diffs->empty()) << suite::db::schema::FormatDifferences(*diffs);
}

// Each proto enum minus _UNSPECIFIED, lower-cased without its prefix, equals the labels of the
// database enum, in order.
TEST_F(PgStoreTest, ProtoEnumsMatchDatabaseEnums) {
  struct Pair {
    const google::protobuf::EnumDescriptor* proto;
    std::string db_enum;
  };
  const std::vector<Pair> pairs = {
      {::questions::v1::QuestionDifficulty_descriptor(), "question_difficulty"},
      {::questions::v1::QuestionStatus_descriptor(), "question_status"},
      {::questions::v1::TagKind_descriptor(), "tag_kind"},
      {::questions::v1::PracticeMode_descriptor(), "practice_mode"},
  };
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  for (const Pair& pair : pairs) {
    pqxx::result rows = tx.exec_params(
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'questions' AND t.typname = $1 ORDER BY e.enumsortorder",
        pair.db_enum);
    std::vector<std::string> db_labels;
    for (const auto& r : rows) db_labels.push_back(r[0].as<std::string>());
    std::vector<std::string> proto_labels;
    const std::string prefix = absl::AsciiStrToUpper(pair.db_enum) + "_";
    for (int i = 0; i < pair.proto->value_count(); ++i) {
      std::string name = pair.proto->value(i)->name();
      ASSERT_TRUE(absl::StartsWith(name, prefix)) << name;
      name = name.substr(prefix.size());
      if (name == "UNSPECIFIED") continue;
      proto_labels.push_back(absl::AsciiStrToLower(name));
    }
    EXPECT_EQ(proto_labels, db_labels) << pair.db_enum;
  }
}

// Every foreign key's columns lead some index of its table, so deletes of the
// referenced row and joins never scan the referencing table.
TEST_F(PgStoreTest, EveryForeignKeyIsIndexed) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  pqxx::result unindexed = tx.exec(
      "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
      "JOIN pg_namespace n ON n.oid = c.connamespace "
      "WHERE c.contype = 'f' AND n.nspname = 'questions' AND NOT EXISTS ("
      "  SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid "
      "  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)");
  std::vector<std::string> missing;
  for (const auto& r : unindexed) {
    missing.push_back(r[0].as<std::string>() + "." + r[1].as<std::string>());
  }
  EXPECT_THAT(missing, ::testing::IsEmpty());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_constraint c JOIN pg_namespace n "
                     "ON n.oid = c.connamespace WHERE c.contype = 'f' "
                     "AND n.nspname = 'questions'")[0].as<int>(),
            7);
}

// What Explain asks (as PlanOf does in identity's pg_store_test): on the small test tables,
// whether an index plan exists at all (sequential scans discouraged); on a bank a test filled,
// the planner's own choice, or that choice run (EXPLAIN ANALYZE: how often each scan ran).
enum class PlanQuestion { kIndexPlanExists, kPlannersChoice, kPlannersChoiceRun };

// Runs EXPLAIN of a registered statement with the given SQL arguments and returns the plan.
std::string Explain(const std::string& url, const std::string& statement, const std::string& args,
                    PlanQuestion question = PlanQuestion::kIndexPlanExists) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  tx.exec("PREPARE s AS " + PgQuestionStore::StatementSql(statement));
  if (question == PlanQuestion::kIndexPlanExists) tx.exec("SET LOCAL enable_seqscan = off");
  const std::string explain =
      question == PlanQuestion::kPlannersChoiceRun ? "EXPLAIN (ANALYZE, COSTS OFF)" : "EXPLAIN";
  std::string plan;
  for (const auto& r : tx.exec(absl::StrCat(explain, " EXECUTE s(", args, ")"))) {
    plan += r[0].as<std::string>() + "\n";
  }
  return plan;
}

MATCHER(UsesAnIndex, "") {
  return absl::StrContains(arg, "Index Scan") || absl::StrContains(arg, "Index Only Scan") ||
         absl::StrContains(arg, "Bitmap Index Scan");
}

TEST_F(PgStoreTest, EveryListQueryUsesAnIndex) {
  const std::string url = db_->UrlAs("questions_service");
  const std::string u = absl::StrCat("'", kUser, "'");
  const std::string ts = "'2026-01-01 00:00:00+00'";
  const std::string id = "'00000000-0000-4000-8000-000000000001'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"list_questions", "NULL, NULL, NULL, NULL, NULL, NULL, NULL, 21"},
      {"list_questions", "'published', NULL, NULL, NULL, NULL, NULL, NULL, 21"},
      {"list_questions", absl::StrCat("'draft', 'easy', NULL, NULL, NULL, ", ts, ", ", id, ", 21")},
      {"list_questions", absl::StrCat("NULL, NULL, '{", kUser, "}', NULL, NULL, NULL, NULL, 21")},
      {"list_questions", absl::StrCat("NULL, NULL, NULL, '{", kUser, "}', NULL, NULL, NULL, 21")},
      {"list_questions", "NULL, NULL, NULL, NULL, 'opioid overdose', NULL, NULL, 21"},
      {"list_questions_one_tag", absl::StrCat("NULL, NULL, '", kUser, "', NULL, NULL, NULL, NULL, 21")},
      {"list_questions_one_tag",
       absl::StrCat("'published', NULL, '", kUser, "', NULL, NULL, ", ts, ", ", id, ", 21")},
      {"list_questions_all_tags",
       absl::StrCat("NULL, NULL, NULL, '{", kUser, ",", kAuthor, "}', NULL, NULL, NULL, 21")},
      {"list_tags", "NULL, NULL, '', 101"},
      {"list_tags", "'topic', 'topic', 'cardio', 101"},
      {"list_attempts", absl::StrCat(u, ", NULL, NULL, NULL, 21")},
      {"list_attempts", absl::StrCat(u, ", ", id, ", ", ts, ", ", id, ", 21")},
      {"list_bookmarks", absl::StrCat(u, ", NULL, NULL, 21")},
      {"list_bookmarks", absl::StrCat(u, ", ", ts, ", ", id, ", 21")},
      {"count_sessions_since", absl::StrCat(u, ", ", ts)},
  };
  for (const auto& [statement, args] : cases) {
    std::string plan = Explain(url, statement, args);
    EXPECT_THAT(plan, UsesAnIndex()) << statement << "(" << args << ")\n" << plan;
  }
}

// With a realistic table (thousands of stems, a rare word), the word search goes through the
// GIN full-text index rather than filtering the keyset index.
TEST_F(PgStoreTest, TheStemSearchUsesTheFullTextIndex) {
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < 3000; ++i) {
    chunk.push_back(Draft(absl::StrCat("k", i),
                          absl::StrCat("Question ", i, i % 1000 == 0 ? " about opioid" : "")));
  }
  ASSERT_TRUE(store_->ImportChunk(chunk, nullptr).ok());
  {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction(admin).exec("ANALYZE questions.questions");
  }
  std::string plan = Explain(db_->UrlAs("questions_service"), "list_questions",
                             "NULL, NULL, NULL, NULL, 'opioid', NULL, NULL, 21");
  EXPECT_THAT(plan, HasSubstr("questions_stem_fts_idx")) << plan;
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("Seq Scan on questions"))) << plan;
  auto page = store_->ListQuestions(QuestionFilter{absl::nullopt, absl::nullopt, {}, {}, "OPIOID"},
                                    absl::nullopt, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), 3u);
}

// A one-tag filter pages through the tag's keyset index (no sort, no read of the whole tag)
// and returns exactly the tagged questions, newest first, like the general statement.
// ListQuestions reads each page's choices and tags in the page statement itself; the items
// equal what the batched read (GetQuestions: page rows, then choices_of and tags_of) returns.
TEST_F(PgStoreTest, ListedQuestionsCarryTheSameChildrenAsTheBatchedRead) {
  auto a = store_->CreateTag(TagKind::kTopic, "a", "A");
  auto b = store_->CreateTag(TagKind::kDomain, "b", "B");
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < 7; ++i) {
    NewQuestion q = Draft(absl::StrCat("k", i), absl::StrCat("stem ", i), i % 2 == 0);
    q.choices = {{absl::StrCat("c", i, "-0"), false}, {absl::StrCat("c", i, "-1"), true},
                 {absl::StrCat("c", i, "-2"), false}};
    if (i % 2 == 0) q.tag_ids.push_back(b->id);
    if (i % 3 != 0) q.tag_ids.push_back(a->id);
    chunk.push_back(q);
  }
  chunk[6].choices.clear();  // imported without choices: an empty list, not an error
  ASSERT_TRUE(store_->ImportChunk(chunk, nullptr).ok());
  for (const QuestionFilter& filter :
       {QuestionFilter{}, QuestionFilter{absl::nullopt, absl::nullopt, {a->id}, {}, ""}}) {
    auto page = store_->ListQuestions(filter, absl::nullopt, 5);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_FALSE(page->items.empty());
    std::vector<std::string> ids;
    for (const Question& q : page->items) ids.push_back(q.id);
    auto batched = store_->GetQuestions(ids);
    ASSERT_TRUE(batched.ok()) << batched.status();
    ASSERT_EQ(batched->size(), page->items.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const Question& got = page->items[i];
      const Question& want = (*batched)[i];
      EXPECT_EQ(got.id, want.id);
      EXPECT_EQ(got.stem, want.stem);
      EXPECT_EQ(got.created_at, want.created_at);
      ASSERT_EQ(got.choices.size(), want.choices.size()) << got.id;
      for (size_t c = 0; c < got.choices.size(); ++c) {
        EXPECT_EQ(got.choices[c].id, want.choices[c].id);
        EXPECT_EQ(got.choices[c].position, want.choices[c].position);
        EXPECT_EQ(got.choices[c].text, want.choices[c].text);
        EXPECT_EQ(got.choices[c].is_correct, want.choices[c].is_correct);
      }
      ASSERT_EQ(got.tags.size(), want.tags.size()) << got.id;
      for (size_t t = 0; t < got.tags.size(); ++t) {
        EXPECT_EQ(got.tags[t].id, want.tags[t].id);
        EXPECT_EQ(got.tags[t].kind, want.tags[t].kind);
        EXPECT_EQ(got.tags[t].slug, want.tags[t].slug);
        EXPECT_EQ(got.tags[t].label, want.tags[t].label);
        EXPECT_EQ(got.tags[t].created_at, want.tags[t].created_at);
      }
    }
  }
}

// Concurrent GetQuestion calls share statements (ReadBatcher): each must still get its own
// question with its own children; a deleted or unknown id must stay NOT_FOUND, and an id
// asked for in upper case must be found as itself.
TEST_F(PgStoreTest, ConcurrentGetQuestionsEachGetTheirOwnQuestion) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    NewQuestion q = Draft(absl::StrCat("k", i), absl::StrCat("stem ", i));
    q.choices = {{absl::StrCat("right ", i), true}, {absl::StrCat("wrong ", i), false}};
    auto created = store_->CreateQuestion(q);
    ASSERT_TRUE(created.ok()) << created.status();
    ids.push_back(created->id);
  }
  auto deleted = store_->CreateQuestion(Draft("gone", "gone"));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec0("UPDATE questions.questions SET deleted_at = now() WHERE id = '" + deleted->id + "'");
    tx.commit();
  }
  const std::vector<std::string> absent = {deleted->id, "00000000-0000-4000-8000-00000000dead"};
  const std::string upper = absl::AsciiStrToUpper(ids[0]);

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const int pick = (t + i) % 8;
        if (pick < 5) {
          auto q = store_->GetQuestion(ids[pick]);
          if (!q.ok() || q->id != ids[pick] || q->stem != absl::StrCat("stem ", pick) ||
              q->choices.size() != 2 || q->choices[0].text != absl::StrCat("right ", pick)) {
            ++wrong;
          }
        } else if (pick < 7) {
          if (!absl::IsNotFound(store_->GetQuestion(absent[pick - 5]).status())) ++wrong;
        } else {
          auto q = store_->GetQuestion(upper);
          if (!q.ok() || q->id != ids[0]) ++wrong;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(PgStoreTest, OneTagPagesWalkTheTagKeysetIndexAndMatchTheGeneralFilter) {
  auto a = store_->CreateTag(TagKind::kTopic, "a", "A");
  auto b = store_->CreateTag(TagKind::kTopic, "b", "B");
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < 30; ++i) {
    NewQuestion q = Draft(absl::StrCat("k", i), absl::StrCat("stem ", i), i % 2 == 0);
    if (i % 3 != 0) q.tag_ids.push_back(a->id);
    if (i % 4 == 0) q.tag_ids.push_back(b->id);
    chunk.push_back(q);
  }
  ASSERT_TRUE(store_->ImportChunk(chunk, nullptr).ok());
  // A question created later and tagged: its link copies the question's created_at.
  NewQuestion late = Draft("late", "late stem");
  late.tag_ids = {a->id};
  ASSERT_TRUE(store_->CreateQuestion(late).ok());

  // Expected: every question carrying `a`, in the general order (unfiltered pages).
  auto all = store_->ListQuestions({}, absl::nullopt, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> expected, expected_published_with_b;
  for (const Question& q : all->items) {
    bool has_a = false, has_b = false;
    for (const Tag& t : q.tags) {
      has_a |= t.id == a->id;
      has_b |= t.id == b->id;
    }
    if (has_a) expected.push_back(q.id);
    if (has_a && has_b && q.status == QuestionStatus::kPublished) {
      expected_published_with_b.push_back(q.id);
    }
  }
  ASSERT_EQ(expected.size(), 21u);
  ASSERT_FALSE(expected_published_with_b.empty());

  auto walk = [&](const QuestionFilter& filter) {
    std::vector<std::string> got;
    absl::optional<Cursor> cursor;
    do {
      auto page = store_->ListQuestions(filter, cursor, 4);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Question& q : page->items) {
        got.push_back(q.id);
        EXPECT_FALSE(q.choices.empty());
      }
      cursor = page->next;
    } while (cursor.has_value());
    return got;
  };
  QuestionFilter one_tag;
  one_tag.any_tag_ids = {a->id};
  EXPECT_EQ(walk(one_tag), expected);
  QuestionFilter narrowed = one_tag;
  narrowed.status = QuestionStatus::kPublished;
  narrowed.all_tag_ids = {b->id};
  EXPECT_EQ(walk(narrowed), expected_published_with_b);
}

// With a realistically sized tag (thousands of questions), the one-tag page is read in order
// from the tag's keyset index and stops after the page: no sort of the tag's questions.
TEST_F(PgStoreTest, OneTagPageStopsAfterThePageAtScale) {
  auto a = store_->CreateTag(TagKind::kTopic, "a", "A");
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < 2000; ++i) {
    NewQuestion q = Draft(absl::StrCat("k", i), absl::StrCat("stem ", i), true);
    q.tag_ids = {a->id};
    chunk.push_back(q);
  }
  ASSERT_TRUE(store_->ImportChunk(chunk, nullptr).ok());
  // What ImportQuestions does after its last chunk: the bank grew from nothing, so the plans
  // below see 2000 questions rather than the empty bank's statistics.
  auto refreshed = store_->RefreshStatistics(2000);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_TRUE(*refreshed);
  const std::string url = db_->UrlAs("questions_service");
  for (const std::string& cursor : {std::string("NULL, NULL"),
                                    std::string("now(), '00000000-0000-4000-8000-000000000001'")}) {
    std::string plan =
        Explain(url, "list_questions_one_tag",
                absl::StrCat("'published', NULL, '", a->id, "', NULL, NULL, ", cursor, ", 21"));
    EXPECT_THAT(plan, HasSubstr("Scan using question_tags_tag_id_question_created_at_idx"))
        << plan;
    EXPECT_THAT(plan, ::testing::Not(HasSubstr("Sort"))) << plan;
  }
}

// all_tag_ids of two tags, one of them rare, among 2 000 questions that all have the other: the
// page is the rare tag's questions, and the tags' links are read once to build that set (one
// scan of question_tags), not once per walked question (the old form, 2 000 scans, read the
// whole bank). A lone all-of tag is the one-tag walk and returns what any-of returns.
TEST_F(PgStoreTest, AllTagsPagesBuildTheSetOnceAndALoneAllTagIsTheOneTagWalk) {
  auto common = store_->CreateTag(TagKind::kTopic, "common", "Common");
  auto rare = store_->CreateTag(TagKind::kTopic, "rare", "Rare");
  ASSERT_TRUE(common.ok() && rare.ok());
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < 2000; ++i) {
    NewQuestion q = Draft(absl::StrCat("k", i), absl::StrCat("stem ", i), true);
    q.tag_ids = {common->id};
    if (i % 500 == 7) q.tag_ids.push_back(rare->id);
    chunk.push_back(q);
  }
  ASSERT_TRUE(store_->ImportChunk(chunk, nullptr).ok());
  ASSERT_TRUE(store_->RefreshStatistics(2000).ok());
  const std::string plan = Explain(
      db_->UrlAs("questions_service"), "list_questions_all_tags",
      absl::StrCat("NULL, NULL, NULL, '{", common->id, ",", rare->id, "}', NULL, NULL, NULL, 21"),
      PlanQuestion::kPlannersChoiceRun);
  for (absl::string_view line : absl::StrSplit(plan, '\n')) {
    if (absl::StrContains(line, "on question_tags hat")) {
      EXPECT_TRUE(absl::StrContains(line, "loops=1)")) << plan;
    }
  }
  EXPECT_THAT(plan, HasSubstr("on question_tags hat")) << plan;
  QuestionFilter both;
  both.all_tag_ids = {common->id, rare->id};
  auto page = store_->ListQuestions(both, absl::nullopt, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), 4u);  // k7, k507, k1007, k1507
  for (const Question& q : page->items) EXPECT_EQ(std::stoi(q.external_key.substr(1)) % 500, 7);

  QuestionFilter lone_all, lone_any;
  lone_all.all_tag_ids = {rare->id};
  lone_any.any_tag_ids = {rare->id};
  auto by_all = store_->ListQuestions(lone_all, absl::nullopt, 10);
  auto by_any = store_->ListQuestions(lone_any, absl::nullopt, 10);
  ASSERT_TRUE(by_all.ok() && by_any.ok());
  ASSERT_EQ(by_all->items.size(), 4u);
  ASSERT_EQ(by_any->items.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(by_all->items[i].id, by_any->items[i].id);
}

// Manual ANALYZEs of a questions table so far, read in a transaction of its own.
int64_t AnalyzeCount(const std::string& url, const std::string& table) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return tx.exec_params1("SELECT analyze_count FROM pg_stat_user_tables "
                         "WHERE schemaname = 'questions' AND relname = $1",
                         table)[0]
      .as<int64_t>();
}

TEST_F(PgStoreTest, RefreshStatisticsAnalysesTheBankOnlyWhenItGrewByMoreThanATenth) {
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < 200; ++i) chunk.push_back(Draft(absl::StrCat("k", i), "stem", true));
  ASSERT_TRUE(store_->ImportChunk(chunk, nullptr).ok());
  const std::string url = db_->url();
  auto analysed = [&] {
    return std::vector<int64_t>{AnalyzeCount(url, "questions"), AnalyzeCount(url, "question_tags"),
                                AnalyzeCount(url, "choices")};
  };
  EXPECT_EQ(analysed(), (std::vector<int64_t>{0, 0, 0}));

  // Never analysed: any growth counts. Run as questions_service, which does not own the tables.
  auto first = store_->RefreshStatistics(200);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  EXPECT_EQ(analysed(), (std::vector<int64_t>{1, 1, 1}));

  // 20 more is a tenth of the 200 the planner now knows of: not enough.
  auto small = store_->RefreshStatistics(20);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_FALSE(*small);
  EXPECT_EQ(analysed(), (std::vector<int64_t>{1, 1, 1}));

  auto larger = store_->RefreshStatistics(21);
  ASSERT_TRUE(larger.ok()) << larger.status();
  EXPECT_TRUE(*larger);
  EXPECT_EQ(analysed(), (std::vector<int64_t>{2, 2, 2}));
}

TEST_F(PgStoreTest, OnlyOneChoicePerQuestionCanBeCorrectInTheDatabase) {
  auto q = store_->CreateQuestion(Draft("k1", "stem"));
  ASSERT_TRUE(q.ok()) << q.status();
  pqxx::connection conn(db_->UrlAs("questions_service"));
  pqxx::work tx(conn);
  EXPECT_THROW(tx.exec_params("INSERT INTO questions.choices (question_id, position, text, "
                              "is_correct) VALUES ($1, 5, 'also right', true)",
                              q->id),
               pqxx::unique_violation);
}

TEST_F(PgStoreTest, ImportChunkSkipsExistingExternalKeys) {
  std::vector<NewQuestion> chunk = {Draft("a", "first"), Draft("b", "second", true)};
  auto created = store_->ImportChunk(chunk, nullptr);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->size(), 2u);
  chunk.push_back(Draft("c", "third"));
  auto again = store_->ImportChunk(chunk, nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, std::set<std::string>({"c"}));
  auto page = store_->ListQuestions({}, absl::nullopt, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 3u);
  for (const Question& q : page->items) {
    EXPECT_EQ(q.choices.size(), 2u);
  }
  QuestionFilter published;
  published.status = QuestionStatus::kPublished;
  auto only = store_->ListQuestions(published, absl::nullopt, 10);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->items.size(), 1u);
  EXPECT_EQ(only->items[0].external_key, "b");
  EXPECT_TRUE(only->items[0].published_at.has_value());
}

// A practice bank: `n` published questions k0..k<n-1>, difficulty easy / medium / hard by
// i % 3, the even ones tagged `tag`; then kUser answers correctly each k<i> with
// answered(i). Returns the question id of each key.
std::map<std::string, std::string> PracticeBank(PgQuestionStore& store, const std::string& url,
                                                int n, const std::string& tag,
                                                const std::function<bool(int)>& answered) {
  std::vector<NewQuestion> chunk;
  for (int i = 0; i < n; ++i) {
    NewQuestion q;
    q.external_key = absl::StrCat("k", i);
    q.stem = absl::StrCat("stem ", i);
    q.difficulty =
        std::vector<Difficulty>{Difficulty::kEasy, Difficulty::kMedium, Difficulty::kHard}[i % 3];
    q.choices = {{"right", true}, {"wrong", false}};
    q.author_id = kAuthor;
    q.publish = true;
    if (i % 2 == 0) q.tag_ids = {tag};
    chunk.push_back(q);
  }
  EXPECT_TRUE(store.ImportChunk(chunk, nullptr).ok());
  EXPECT_TRUE(store.RefreshStatistics(n).ok());
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  const std::string session =
      tx.exec_params1(
            "INSERT INTO questions.practice_sessions (user_id, mode, question_ids) "
            "VALUES ($1, 'tutor', '{}') RETURNING id::text",
            kUser)[0]
          .as<std::string>();
  std::map<std::string, std::string> ids;
  for (const auto& r : tx.exec("SELECT q.external_key, q.id::text, c.id::text FROM "
                               "questions.questions q JOIN questions.choices c ON "
                               "c.question_id = q.id AND c.is_correct")) {
    const std::string key = r[0].as<std::string>();
    ids[key] = r[1].as<std::string>();
    if (answered(std::stoi(key.substr(1)))) {
      tx.exec_params0(
          "INSERT INTO questions.attempts (session_id, question_id, choice_id, "
          "user_id, is_correct) VALUES ($1, $2, $3, $4, true)",
          session, r[1].as<std::string>(), r[2].as<std::string>(), kUser);
    }
  }
  tx.commit();
  return ids;
}

// At 10^6 questions the exact draw took 0.7 s (it orders the whole bank); the sampled one reads
// 3 * count windows of the published-questions index, whatever the bank's size.
TEST_F(PgStoreTest, APracticeDrawReadsIndexWindowsNotTheWholeBank) {
  auto tag = store_->CreateTag(TagKind::kTopic, "a", "A");
  ASSERT_TRUE(tag.ok()) << tag.status();
  const std::string url = db_->UrlAs("questions_service");
  PracticeBank(*store_, url, 2000, tag->id, [](int) { return false; });
  const std::string args = absl::StrCat("'", kUser, "', NULL, NULL, 20, 'tutor', '{}', NULL");
  const std::string plan = Explain(url, "start_session_sampled", args, PlanQuestion::kPlannersChoice);
  // Each window is an index range from its random point. (Which index: the primary key, or
  // questions_published_id_idx read index-only once vacuum has marked the bank's pages
  // all-visible, which other tests' open snapshots can delay here.)
  EXPECT_THAT(plan, HasSubstr("Index Cond: (id >= points.r)")) << plan;
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("Seq Scan"))) << plan;
  // And on such a bank it draws the whole session itself (no fall-back to the exact draw).
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  tx.exec0("PREPARE s AS " + PgQuestionStore::StatementSql("start_session_sampled"));
  EXPECT_EQ(tx.exec("EXECUTE s(" + args + ")").size(), 1u);
}

TEST_F(PgStoreTest, SampledPracticeDrawsAreDistinctMatchingUnansweredAndSpreadOverTheBank) {
  auto tag = store_->CreateTag(TagKind::kTopic, "a", "A");
  ASSERT_TRUE(tag.ok()) << tag.status();
  const std::string url = db_->UrlAs("questions_service");
  // 600 questions; kUser answered every fourth correctly.
  std::map<std::string, std::string> ids =
      PracticeBank(*store_, url, 600, tag->id, [](int i) { return i % 4 == 0; });
  std::map<std::string, int> index_of;
  for (const auto& [key, id] : ids) index_of[id] = std::stoi(key.substr(1));

  std::set<std::string> seen;
  for (int s = 0; s < 40; ++s) {
    auto session = store_->StartSession(kUser, PracticeMode::kTutor, {}, 10, "");
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_EQ(session->question_ids.size(), 10u);
    EXPECT_EQ(
        std::set<std::string>(session->question_ids.begin(), session->question_ids.end()).size(),
        10u);
    for (const std::string& id : session->question_ids) {
      ASSERT_EQ(index_of.count(id), 1u) << id;
      EXPECT_NE(index_of[id] % 4, 0) << "k" << index_of[id] << " was answered correctly";
      seen.insert(id);
    }
  }
  // 400 draws from the 450 unanswered: about 265 different ones if the draw is uniform; a
  // draw that kept to a few regions of the bank would see far fewer.
  EXPECT_GT(seen.size(), 200u);

  // Hard and tagged: i % 6 == 2 or 4 (100 questions), unanswered: 50 of them.
  PracticeFilter filter;
  filter.difficulty = Difficulty::kHard;
  filter.tag_ids = {tag->id};
  for (int s = 0; s < 10; ++s) {
    auto session = store_->StartSession(kUser, PracticeMode::kExam, filter, 10, "");
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_EQ(session->question_ids.size(), 10u);
    for (const std::string& id : session->question_ids) {
      const int i = index_of[id];
      EXPECT_EQ(i % 3, 2) << "k" << i << " is not hard";
      EXPECT_EQ(i % 2, 0) << "k" << i << " is not tagged";
      EXPECT_NE(i % 4, 0) << "k" << i << " was answered correctly";
    }
  }
}

// When fewer unanswered questions match than the session holds, the sampled draw gives way to
// the exact one, which still puts every unanswered one in and fills up with answered ones.
TEST_F(PgStoreTest, APracticeDrawStillPrefersTheFewUnansweredQuestions) {
  auto tag = store_->CreateTag(TagKind::kTopic, "a", "A");
  ASSERT_TRUE(tag.ok()) << tag.status();
  const std::set<int> unanswered = {5, 300, 1999};
  std::map<std::string, std::string> ids =
      PracticeBank(*store_, db_->UrlAs("questions_service"), 2000, tag->id,
                   [&](int i) { return unanswered.count(i) == 0; });
  auto session = store_->StartSession(kUser, PracticeMode::kTutor, {}, 10, "");
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_EQ(session->question_ids.size(), 10u);
  const std::set<std::string> drawn(session->question_ids.begin(), session->question_ids.end());
  EXPECT_EQ(drawn.size(), 10u);
  for (int i : unanswered) {
    EXPECT_EQ(drawn.count(ids[absl::StrCat("k", i)]), 1u) << "k" << i << " was left out";
  }
}

TEST_F(PgStoreTest, ConcurrentSubmitsOfTheSameQuestionStoreExactlyOneAttempt) {
  auto q = store_->CreateQuestion(Draft("k1", "stem", false));
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(store_->Transition(q->id, {QuestionStatus::kDraft}, QuestionStatus::kPublished, "")
                  .ok());
  auto session = store_->StartSession(kUser, PracticeMode::kTutor, {}, 5, "");
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_EQ(session->question_ids, std::vector<std::string>({q->id}));
  constexpr int kThreads = 6;
  std::atomic<int> ok{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto r = store_->SubmitAttempt(kUser, session->id, q->id, q->choices[0].id, 10, "");
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == absl::StatusCode::kAlreadyExists) {
        ++exists;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TEST_F(PgStoreTest, ListQuestionsPagesAreStableWhileRowsAreInserted) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(store_->CreateQuestion(Draft(absl::StrCat("k", i), "stem")).ok());
  }
  std::set<std::string> seen;
  absl::optional<Cursor> cursor;
  int pages = 0;
  do {
    auto page = store_->ListQuestions({}, cursor, 7);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const Question& q : page->items) {
      EXPECT_TRUE(seen.insert(q.id).second) << "duplicate " << q.id;
    }
    // Rows inserted between pages sort before the cursor and never shift later pages.
    ASSERT_TRUE(store_->CreateQuestion(Draft(absl::StrCat("new", pages), "late")).ok());
    cursor = page->next;
    ++pages;
  } while (cursor.has_value());
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_EQ(pages, 4);
}

}  // namespace
}  // namespace suite::questions
