// The question bank's domain types: plain C++ values shared by the domain logic
// (questions.h), its storage interface (store.h) and the gRPC adapter.
//
//   Question q;
//   q.stem = "Which drug reverses opioid overdose?";
//   q.difficulty = Difficulty::kEasy;
//   q.choices = {{"", 0, "Naloxone", true}, {"", 1, "Flumazenil", false}};
//
// Enum names (DifficultyName, ...) are the labels of the enums of the `questions` schema.
// All types are thread-compatible values.
#ifndef SUITE_SERVICES_QUESTIONS_DOMAIN_MODEL_H_
#define SUITE_SERVICES_QUESTIONS_DOMAIN_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::questions {

enum class Difficulty { kEasy, kMedium, kHard };
enum class QuestionStatus { kDraft, kPublished, kArchived };
enum class TagKind { kDomain, kTopic, kSubstance, kTreatment, kDiagnosis };
enum class PracticeMode { kTutor, kExam };

// The database labels ("easy", "draft", "domain", "tutor", ...).
absl::string_view DifficultyName(Difficulty d);
absl::string_view QuestionStatusName(QuestionStatus s);
absl::string_view TagKindName(TagKind k);
absl::string_view PracticeModeName(PracticeMode m);
// Parse* return nullopt for an unknown label.
absl::optional<Difficulty> ParseDifficulty(absl::string_view name);
absl::optional<QuestionStatus> ParseQuestionStatus(absl::string_view name);
absl::optional<TagKind> ParseTagKind(absl::string_view name);
absl::optional<PracticeMode> ParsePracticeMode(absl::string_view name);

// Who is calling, as the adapter established it.
struct Actor {
  std::string user_id;
  bool author = false;  // role author or admin: authors everything, sees everything
  bool admin = false;
  std::string request_id;  // a UUID, written to request_id columns
};

struct ChoiceInput {
  std::string text;
  bool is_correct = false;
};

struct Choice {
  std::string id;
  int position = 0;
  std::string text;
  absl::optional<bool> is_correct;  // nullopt: hidden from this caller
};

struct Tag {
  std::string id;
  TagKind kind = TagKind::kTopic;
  std::string slug;
  std::string label;
  absl::Time created_at;
};

struct Question {
  std::string id;
  std::string external_key;  // empty: none
  std::string stem;
  std::string explanation;
  Difficulty difficulty = Difficulty::kMedium;
  QuestionStatus status = QuestionStatus::kDraft;
  std::vector<Choice> choices;  // by position (members: see ShuffleChoices)
  std::vector<Tag> tags;        // by kind, slug
  std::string author_id;
  absl::Time created_at;
  absl::Time updated_at;
  absl::optional<absl::Time> published_at;
};

// A question to create (CreateQuestion, ImportQuestions). Validated before storage sees it.
struct NewQuestion {
  std::string external_key;  // empty: none
  std::string stem;
  std::string explanation;
  absl::optional<Difficulty> difficulty;  // required (nullopt: INVALID_ARGUMENT)
  std::vector<ChoiceInput> choices;
  std::vector<std::string> tag_ids;
  bool publish = false;
  std::string author_id;
  std::string request_id;
};

// The fields UpdateQuestion changes; nullopt leaves a field as it is.
struct QuestionUpdate {
  absl::optional<std::string> stem;
  absl::optional<std::string> explanation;
  absl::optional<Difficulty> difficulty;
  absl::optional<std::vector<ChoiceInput>> choices;
};

struct QuestionFilter {
  absl::optional<QuestionStatus> status;
  absl::optional<Difficulty> difficulty;
  std::vector<std::string> any_tag_ids;
  std::vector<std::string> all_tag_ids;
  std::string stem_query;  // empty: no text filter
};

// A keyset position: the sort key of the last row of a page. Lists newest first use
// {created_at as PostgreSQL prints it, id}; ListTags uses {kind, slug}.
struct Cursor {
  std::string first;
  std::string second;
};

// One page of a list: the rows and the cursor after the last one (nullopt on the last page).
template <typename T>
struct Page {
  std::vector<T> items;
  absl::optional<Cursor> next;
};

struct PracticeFilter {
  absl::optional<Difficulty> difficulty;
  std::vector<std::string> tag_ids;
};

struct PracticeSession {
  std::string id;
  std::string user_id;
  PracticeMode mode = PracticeMode::kTutor;
  PracticeFilter filter;
  std::vector<std::string> question_ids;
  absl::Time started_at;
  absl::optional<absl::Time> ended_at;
  absl::optional<int> score;
  int answered_count = 0;
  // Random per session (stored): the order its questions' choices are shown in derives from
  // it (ShuffleChoices in questions.h). Never leaves the service.
  std::string choice_seed;
};

struct Attempt {
  std::string id;
  std::string session_id;
  std::string question_id;
  std::string choice_id;
  absl::optional<bool> is_correct;  // nullopt: hidden (exam session still open)
  int64_t time_spent_ms = 0;
  absl::Time created_at;
};

// What SubmitAttempt stored and what it may reveal.
struct AttemptOutcome {
  Attempt attempt;
  bool revealed = false;          // tutor mode
  std::string correct_choice_id;  // set when revealed
  std::string explanation;        // set when revealed
};

struct Accuracy {
  int attempts = 0;
  int correct = 0;
};

struct UserStats {
  Accuracy overall;
  std::vector<std::pair<Difficulty, Accuracy>> by_difficulty;
  std::vector<std::pair<Tag, Accuracy>> by_tag;
};

struct Bookmark {
  std::string question_id;
  absl::Time created_at;
};

// The result of ImportQuestions.
struct ImportItemError {
  int index = 0;
  std::string external_key;
  std::string field;
  std::string message;
};

struct ImportResult {
  int created = 0;
  int skipped = 0;
  int failed = 0;
  std::vector<ImportItemError> errors;
};

// The counts of one import for its single audit row (question.import): what was created and
// skipped so far, items that failed, and whether the import ran to its end.
struct ImportTotals {
  int created = 0;
  int skipped = 0;
  int failed = 0;
  bool completed = true;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_DOMAIN_MODEL_H_
