// The question bank's rules with the store mocked (the rules need no database; pg_store_test
// proves storage against PostgreSQL): validation happens before storage, the entitlement gate
// asks billing only when needed and fails closed, the free quota counts from UTC midnight,
// members see masked published questions only, and imports are validated item by item and
// committed in chunks.
#include "services/questions/domain/questions.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::questions {
namespace {

using ::testing::_;
using ::testing::Eq;
using ::testing::Return;
using ::testing::StrictMock;

class MockStore : public QuestionStore {
 public:
  MOCK_METHOD(absl::StatusOr<Question>, CreateQuestion, (const NewQuestion&), (override));
  MOCK_METHOD(absl::StatusOr<Question>, GetQuestion, (const std::string&), (override));
  MOCK_METHOD(void, GetQuestionAsync,
              (const std::string&, const AsyncCaller&, GetQuestionDone), (override));
  MOCK_METHOD(absl::StatusOr<Question>, UpdateDraft,
              (const std::string&, const QuestionUpdate&, const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<Question>, Transition,
              (const std::string&, const std::vector<QuestionStatus>&, QuestionStatus,
               const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<Page<Question>>, ListQuestions,
              (const QuestionFilter&, const absl::optional<Cursor>&, int), (override));
  MOCK_METHOD(absl::StatusOr<Tag>, CreateTag, (TagKind, const std::string&, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<Page<Tag>>, ListTags,
              (const absl::optional<TagKind>&, const absl::optional<Cursor>&, int), (override));
  MOCK_METHOD(absl::Status, TagQuestion, (const std::string&, const std::string&), (override));
  MOCK_METHOD(absl::Status, UntagQuestion, (const std::string&, const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<std::set<std::string>>, ExistingTagIds,
              (const std::vector<std::string>&), (override));
  MOCK_METHOD(absl::StatusOr<std::set<std::string>>, ImportChunk,
              (const std::vector<NewQuestion>&, const ImportTotals*), (override));
  MOCK_METHOD(absl::Status, RecordImport, (const ImportTotals&), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<suite::db::audit::AuditEvent>>, ListAuditEvents,
              (const suite::db::audit::AuditFilter&, int64_t, int), (override));
  MOCK_METHOD(absl::StatusOr<bool>, RefreshStatistics, (int64_t), (override));
  MOCK_METHOD(absl::StatusOr<int>, CountSessionsSince, (const std::string&, absl::Time),
              (override));
  MOCK_METHOD(absl::StatusOr<PracticeSession>, StartSession,
              (const std::string&, PracticeMode, const PracticeFilter&, int, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<PracticeSession>, GetSession,
              (const std::string&, const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<Question>>, GetQuestions,
              (const std::vector<std::string>&), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<Attempt>>, SessionAttempts, (const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<AttemptOutcome>, SubmitAttempt,
              (const std::string&, const std::string&, const std::string&, const std::string&,
               int64_t, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<PracticeSession>, EndSession,
              (const std::string&, const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<Page<Attempt>>, ListAttempts,
              (const std::string&, const std::string&, const absl::optional<Cursor>&, int),
              (override));
  MOCK_METHOD(absl::StatusOr<UserStats>, GetUserStats, (const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<Bookmark>, CreateBookmark,
              (const std::string&, const std::string&, Visibility), (override));
  MOCK_METHOD(absl::Status, DeleteBookmark, (const std::string&, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<Page<Bookmark>>, ListBookmarks,
              (const std::string&, const absl::optional<Cursor>&, int), (override));
};

const Actor kMember{"00000000-0000-4000-8000-000000000001", false, false, ""};
const Actor kAuthor{"00000000-0000-4000-8000-000000000002", true, false, ""};
constexpr char kTag[] = "00000000-0000-4000-8000-0000000000aa";

// 2026-11-22 23:59:59 UTC: the quota day started at 2026-11-22 00:00:00 UTC.
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 22, 23, 59, 59),
                                        absl::UTCTimeZone());
const absl::Time kMidnight = absl::FromCivil(absl::CivilSecond(2026, 11, 22, 0, 0, 0),
                                             absl::UTCTimeZone());

class QuestionBankTest : public ::testing::Test {
 protected:
  QuestionBank Bank(size_t chunk = 500) {
    QuestionBankOptions options;
    options.free_sessions_per_day = 2;
    options.import_chunk_size = chunk;
    options.now = [] { return kNow; };
    options.page_token_secret = "domain test page token secret";
    return QuestionBank(&store_, options);
  }

  void ExpectSessionStarted() {
    PracticeSession s;
    s.id = "s";
    EXPECT_CALL(store_, StartSession(kMember.user_id, _, _, 5, _)).WillOnce(Return(s));
    EXPECT_CALL(store_, SessionAttempts("s")).WillOnce(Return(std::vector<Attempt>()));
    EXPECT_CALL(store_, GetQuestions(_)).WillOnce(Return(std::vector<Question>()));
  }

  StrictMock<MockStore> store_;
  int billing_calls_ = 0;
};

NewQuestion Valid(const std::string& key = "") {
  NewQuestion q;
  q.external_key = key;
  q.stem = "stem";
  q.difficulty = Difficulty::kEasy;
  q.choices = {{"a", true}, {"b", false}};
  return q;
}

TEST_F(QuestionBankTest, TutorUnderTheQuotaNeverAsksBillingAndCountsFromUtcMidnight) {
  EXPECT_CALL(store_, CountSessionsSince(kMember.user_id, Eq(kMidnight))).WillOnce(Return(1));
  ExpectSessionStarted();
  auto view = Bank().StartPracticeSession(kMember, PracticeMode::kTutor, {}, 5, [&] {
    ++billing_calls_;
    return absl::StatusOr<bool>(false);
  });
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(billing_calls_, 0);
}

TEST_F(QuestionBankTest, TutorBeyondTheQuotaNeedsAnEntitlement) {
  EXPECT_CALL(store_, CountSessionsSince(_, _)).WillRepeatedly(Return(2));
  auto denied = Bank().StartPracticeSession(kMember, PracticeMode::kTutor, {}, 5, [] {
    return absl::StatusOr<bool>(false);
  });
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(suite::api::ErrorInfoOf(denied.status()).has_value());
  EXPECT_EQ(suite::api::ErrorInfoOf(denied.status())->reason, "ENTITLEMENT_REQUIRED");
  ExpectSessionStarted();
  EXPECT_TRUE(Bank()
                  .StartPracticeSession(kMember, PracticeMode::kTutor, {}, 5,
                                        [] { return absl::StatusOr<bool>(true); })
                  .ok());
}

TEST_F(QuestionBankTest, ExamModeAlwaysAsksBillingAndFailsClosed) {
  auto check = [&](absl::StatusOr<bool> answer) {
    return Bank().StartPracticeSession(kMember, PracticeMode::kExam, {}, 5, [&] {
      ++billing_calls_;
      return answer;
    });
  };
  EXPECT_EQ(check(false).status().code(), absl::StatusCode::kPermissionDenied);
  auto down = check(absl::DeadlineExceededError("slow"));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(suite::api::ErrorInfoOf(down.status())->reason, "BILLING_UNAVAILABLE");
  EXPECT_EQ(check(absl::InternalError("bug")).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(check(absl::PermissionDeniedError("not you")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(billing_calls_, 4);
  ExpectSessionStarted();
  EXPECT_TRUE(check(true).ok());
}

TEST_F(QuestionBankTest, InvalidInputNeverReachesTheStore) {
  QuestionBank bank = Bank();
  NewQuestion q = Valid();
  q.choices.clear();
  auto created = bank.CreateQuestion(kAuthor, q);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(suite::api::FieldViolationsOf(created.status())[0].field, "choices");
  EXPECT_EQ(bank.CreateQuestion(kMember, Valid()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(bank.GetQuestion(kMember, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bank.StartPracticeSession(kMember, absl::nullopt, {}, 5, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bank.ListQuestions(kMember, {}, -5, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bank.CreateTag(kAuthor, TagKind::kTopic, "-bad", "l").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bank.CreateTag(kAuthor, TagKind::kTopic, "a--b", "l").status().code(),
            absl::StatusCode::kInvalidArgument);
  // StrictMock: any store call above would have failed the test.
}

// PostgreSQL text and jsonb cannot hold U+0000: a NUL used to cut a stem short or fail the
// whole call; it is refused naming the field (and the byte) before the store is reached.
TEST_F(QuestionBankTest, NulAndControlCharactersAreRefusedNamingTheField) {
  QuestionBank bank = Bank();
  const std::string nul("a\0b", 3);
  struct Case {
    std::string field;
    std::function<void(NewQuestion&)> spoil;
  };
  const std::vector<Case> cases = {
      {"stem", [&](NewQuestion& q) { q.stem = nul; }},
      {"explanation", [&](NewQuestion& q) { q.explanation = nul; }},
      {"external_key", [&](NewQuestion& q) { q.external_key = nul; }},
      {"external_key", [&](NewQuestion& q) { q.external_key = "key\twith tab"; }},
      {"choices[1].text", [&](NewQuestion& q) { q.choices[1].text = nul; }},
      {"choices[0].text", [&](NewQuestion& q) { q.choices[0].text = "esc\x1b[0m"; }},
      {"stem", [&](NewQuestion& q) { q.stem = "\u00a0\u3000"; }},  // only white space
  };
  for (const Case& c : cases) {
    NewQuestion q = Valid();
    c.spoil(q);
    auto created = bank.CreateQuestion(kAuthor, q);
    ASSERT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(suite::api::FieldViolationsOf(created.status())[0].field, c.field);
  }
  auto nul_stem = [&] {
    NewQuestion q = Valid();
    q.stem = nul;
    return bank.CreateQuestion(kAuthor, q).status();
  }();
  EXPECT_NE(nul_stem.message().find("U+0000 at byte 1"), absl::string_view::npos)
      << nul_stem.message();
  EXPECT_EQ(bank.CreateTag(kAuthor, TagKind::kTopic, "ok", nul).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Prose keeps tab and line breaks; format characters are text.
  NewQuestion prose = Valid();
  prose.stem = "Line one\r\n\tline two \u202e\u200d\ufeff";
  EXPECT_CALL(store_, CreateQuestion(_)).WillOnce(Return(Question{}));
  EXPECT_TRUE(bank.CreateQuestion(kAuthor, prose).ok());
}

TEST_F(QuestionBankTest, MembersSeeOnlyPublishedQuestionsWithoutAnswers) {
  Question draft;
  draft.id = "00000000-0000-4000-8000-00000000000d";
  draft.status = QuestionStatus::kDraft;
  Question published = draft;
  published.status = QuestionStatus::kPublished;
  published.explanation = "why";
  published.author_id = kAuthor.user_id;
  published.choices = {{"c1", 0, "a", true}, {"c2", 1, "b", false}};
  EXPECT_CALL(store_, GetQuestion(draft.id))
      .WillOnce(Return(draft))
      .WillOnce(Return(published))
      .WillOnce(Return(published));
  QuestionBank bank = Bank();
  EXPECT_EQ(bank.GetQuestion(kMember, draft.id).status().code(), absl::StatusCode::kNotFound);
  auto seen = bank.GetQuestion(kMember, draft.id);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->explanation, "");
  EXPECT_EQ(seen->author_id, "");
  for (const Choice& c : seen->choices) EXPECT_FALSE(c.is_correct.has_value());
  auto authored = bank.GetQuestion(kAuthor, draft.id);
  ASSERT_TRUE(authored.ok());
  EXPECT_EQ(authored->choices[0].is_correct, absl::optional<bool>(true));
}

TEST(ShuffleChoicesTest, OneOrderPerSeedRenumberedAndAnotherForAnotherSeed) {
  Question q;
  for (int i = 0; i < 10; ++i) {
    q.choices.push_back({absl::StrCat("00000000-0000-4000-8000-00000000000", i), i,
                         absl::StrCat("text ", i), i == 0});
  }
  auto ids = [](const Question& shown) {
    std::vector<std::string> out;
    for (size_t i = 0; i < shown.choices.size(); ++i) {
      EXPECT_EQ(shown.choices[i].position, static_cast<int>(i));
      out.push_back(shown.choices[i].id);
    }
    return out;
  };
  Question a = q, b = q, c = q;
  ShuffleChoices(a, "seed one");
  ShuffleChoices(b, "seed one");
  ShuffleChoices(c, "seed two");
  EXPECT_EQ(ids(a), ids(b)) << "the same seed gives the same order";
  // Two orders of 10 choices agree by chance once in 10! = 3.6 million.
  EXPECT_NE(ids(a), ids(c));
  std::vector<std::string> sorted = ids(a);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, ids(q)) << "a permutation: nothing lost, nothing repeated";
  // What a choice is stays with it; only its place changes.
  for (const Choice& choice : a.choices) {
    EXPECT_EQ(choice.text, absl::StrCat("text ", std::string(1, choice.id.back())));
    EXPECT_EQ(choice.is_correct, absl::optional<bool>(choice.id.back() == '0'));
  }
  // Re-shuffling a shown question with the same seed changes nothing (views stay stable).
  Question again = a;
  ShuffleChoices(again, "seed one");
  EXPECT_EQ(ids(again), ids(a));
}

TEST_F(QuestionBankTest, AnUnknownTagIsNamedBeforeAnythingIsWritten) {
  const std::string missing = "00000000-0000-4000-8000-0000000000bb";
  EXPECT_CALL(store_, ExistingTagIds(std::vector<std::string>({kTag, missing})))
      .WillRepeatedly(Return(std::set<std::string>({kTag})));
  NewQuestion q = Valid();
  q.tag_ids = {kTag, kTag, missing};
  // StrictMock: CreateQuestion on the store would fail the test.
  auto created = Bank().CreateQuestion(kAuthor, q);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(created.status().message(), absl::StrCat("tag_ids[2]: tag ", missing, " not found"));
  ASSERT_EQ(suite::api::FieldViolationsOf(created.status()).size(), 1u);
  EXPECT_EQ(suite::api::FieldViolationsOf(created.status())[0].field, "tag_ids[2]");
  EXPECT_EQ(suite::api::ErrorInfoOf(created.status())->reason, "UNKNOWN_TAG");

  QuestionFilter filter;
  filter.any_tag_ids = {kTag};
  filter.all_tag_ids = {missing, kTag};
  auto listed = Bank().ListQuestions(kMember, filter, 10, "");
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(suite::api::FieldViolationsOf(listed.status())[0].field, "filter.all_tag_ids[0]");

  PracticeFilter practice;
  practice.tag_ids = {missing, kTag};
  auto started = Bank().StartPracticeSession(kMember, PracticeMode::kExam, practice, 5, [&] {
    ++billing_calls_;
    return absl::StatusOr<bool>(true);
  });
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(suite::api::FieldViolationsOf(started.status())[0].field, "filter.tag_ids[0]");
  EXPECT_EQ(billing_calls_, 0);
}

TEST_F(QuestionBankTest, ImportValidatesEachItemAndCommitsInChunks) {
  EXPECT_CALL(store_, ExistingTagIds(_))
      .WillRepeatedly(Return(std::set<std::string>({kTag})));
  // Chunks of 2 well-formed items: k0,k1 | k3,k4 (k4's tag does not exist: only k3 is
  // stored) | k5,k6 (k5 existed already). k2 is malformed; the second k0 repeats a key.
  EXPECT_CALL(store_, ImportChunk(_, ::testing::IsNull()))
      .WillOnce(Return(std::set<std::string>({"k0", "k1"})))
      .WillOnce(Return(std::set<std::string>({"k3"})))
      .WillOnce(Return(std::set<std::string>({"k6"})));
  // Every chunk was committed by Add, so Finish has none left: the import's one audit row is
  // written on its own, with the import's totals.
  EXPECT_CALL(store_, RecordImport(::testing::Truly([](const ImportTotals& t) {
                return t.created == 4 && t.skipped == 1 && t.failed == 3 && t.completed;
              })))
      .WillOnce(Return(absl::OkStatus()));
  // Once, after the last chunk, with the number created; its failure does not fail the import.
  EXPECT_CALL(store_, RefreshStatistics(4)).WillOnce(Return(absl::UnavailableError("down")));
  QuestionBank bank = Bank(/*chunk=*/2);
  auto import = bank.StartImport(kAuthor);
  ASSERT_TRUE(import.ok());
  for (int i = 0; i <= 6; ++i) {
    NewQuestion q = Valid(absl::StrCat("k", i));
    if (i == 2) q.stem = "";
    if (i == 4) q.tag_ids = {"00000000-0000-4000-8000-0000000000bb"};
    if (i == 3) q.tag_ids = {kTag};
    ASSERT_TRUE(import->Add(q).ok());
  }
  ASSERT_TRUE(import->Add(Valid("k0")).ok());
  auto result = import->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->created, 4);
  EXPECT_EQ(result->skipped, 1);
  EXPECT_EQ(result->failed, 3);
  ASSERT_EQ(result->errors.size(), 3u);
  EXPECT_EQ(result->errors[0].index, 2);
  EXPECT_EQ(result->errors[0].field, "stem");
  EXPECT_EQ(result->errors[1].index, 4);
  EXPECT_EQ(result->errors[1].field, "tag_ids[0]");
  EXPECT_EQ(result->errors[1].message, "tag 00000000-0000-4000-8000-0000000000bb not found");
  EXPECT_EQ(result->errors[2].index, 7);
  EXPECT_EQ(result->errors[2].field, "external_key");
  EXPECT_EQ(bank.StartImport(kMember).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(QuestionBankTest, AnImportsLastChunkCarriesItsAuditTotalsAndAnAbandonedImportIsRecorded) {
  EXPECT_CALL(store_, ExistingTagIds(_)).WillRepeatedly(Return(std::set<std::string>()));
  // k0,k1 committed as a chunk; k2 left for Finish, whose chunk carries the totals so far.
  EXPECT_CALL(store_, ImportChunk(_, ::testing::IsNull()))
      .WillOnce(Return(std::set<std::string>({"k0", "k1"})));
  EXPECT_CALL(store_, ImportChunk(_, ::testing::Truly([](const ImportTotals* t) {
                return t != nullptr && t->created == 2 && t->skipped == 0 && t->completed;
              })))
      .WillOnce(Return(std::set<std::string>({"k2"})));
  EXPECT_CALL(store_, RefreshStatistics(3)).WillOnce(Return(true));
  QuestionBank bank = Bank(/*chunk=*/2);
  auto import = bank.StartImport(kAuthor);
  ASSERT_TRUE(import.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(import->Add(Valid(absl::StrCat("k", i))).ok());
  ASSERT_TRUE(import->Finish().ok());
  import->Abandon();  // recorded already: nothing more

  // A stream that breaks after a committed chunk: its row says so.
  auto broken = bank.StartImport(kAuthor);
  ASSERT_TRUE(broken.ok());
  EXPECT_CALL(store_, ImportChunk(_, ::testing::IsNull()))
      .WillOnce(Return(std::set<std::string>({"k3", "k4"})));
  EXPECT_CALL(store_, RecordImport(::testing::Truly([](const ImportTotals& t) {
                return t.created == 2 && !t.completed;
              })))
      .WillOnce(Return(absl::OkStatus()));
  for (int i = 3; i < 5; ++i) ASSERT_TRUE(broken->Add(Valid(absl::StrCat("k", i))).ok());
  broken->Abandon();
  broken->Abandon();  // once only

  // One that created nothing records nothing (StrictMock).
  auto empty = bank.StartImport(kAuthor);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->Finish().ok());
  empty->Abandon();
}

TEST_F(QuestionBankTest, OnlyAnAdminListsTheAuditTrailAndEveryFilterIsChecked) {
  using suite::audit_api::AuditQuery;
  using suite::db::audit::AuditEvent;
  Actor admin = kAuthor;
  admin.admin = true;
  const auto query = [](int page_size, const std::string& token) {
    AuditQuery q;
    q.page_size = page_size;
    q.page_token = token;
    return q;
  };
  // StrictMock: no refused call reaches the store. Authorization comes first: an invalid
  // request from a non-admin is denied, not validated.
  EXPECT_EQ(Bank().ListAuditEvents(kMember, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Bank().ListAuditEvents(kAuthor, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Bank().ListAuditEvents(kMember, query(-1, "garbage")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Bank().AuthorizeListAuditEvents(kMember).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Bank().AuthorizeListAuditEvents(admin).ok());
  const auto field_of = [&](const AuditQuery& q) {
    auto page = Bank().ListAuditEvents(admin, q);
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
    auto v = suite::api::FieldViolationsOf(page.status());
    return v.empty() ? std::string() : v[0].field;
  };
  EXPECT_EQ(field_of(query(-1, "")), "page_size");
  EXPECT_EQ(field_of(query(101, "")), "page_size");
  EXPECT_EQ(field_of(query(0, "garbage")), "page_token");
  AuditQuery q;
  q.filter.actor_id = "not-a-uuid";
  EXPECT_EQ(field_of(q), "actor_user_id");
  q = {};
  q.filter.action = std::string("question.publish\n");
  EXPECT_EQ(field_of(q), "action");
  q = {};
  q.filter.action = std::string(101, 'a');
  EXPECT_EQ(field_of(q), "action");
  q = {};
  q.filter.target_id = std::string("a\0b", 3);
  EXPECT_EQ(field_of(q), "target_id");
  q = {};
  q.filter.target_id = std::string(201, 'x');
  EXPECT_EQ(field_of(q), "target_id");
  q = {};
  q.filter.since = kNow;
  q.filter.until = kNow;
  EXPECT_EQ(field_of(q), "end_time");

  // Pages: limit + 1 asked, the extra row only says there is more.
  std::vector<AuditEvent> rows(3);
  rows[0].seq = 9;
  rows[1].seq = 8;
  rows[2].seq = 7;
  EXPECT_CALL(store_, ListAuditEvents(_, 0, 3)).WillOnce(Return(rows));
  auto first = Bank().ListAuditEvents(admin, query(2, ""));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->events.size(), 2u);
  ASSERT_FALSE(first->next_page_token.empty());
  EXPECT_CALL(store_, ListAuditEvents(_, 8, 3)).WillOnce(Return(std::vector<AuditEvent>{rows[2]}));
  auto second = Bank().ListAuditEvents(admin, query(2, first->next_page_token));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->events.size(), 1u);
  EXPECT_TRUE(second->next_page_token.empty());
  // The token is bound to the filters it was issued for.
  q = query(2, first->next_page_token);
  q.filter.action = "question.publish";
  EXPECT_EQ(field_of(q), "page_token");
}

}  // namespace
}  // namespace suite::questions
