#include "services/questions/domain/model.h"

namespace suite::questions {
namespace {

template <typename E, size_t N>
absl::optional<E> ParseName(absl::string_view name, const E (&values)[N],
                            absl::string_view (*to_name)(E)) {
  for (E value : values) {
    if (to_name(value) == name) return value;
  }
  return absl::nullopt;
}

}  // namespace

absl::string_view DifficultyName(Difficulty d) {
  switch (d) {
    case Difficulty::kEasy: return "easy";
    case Difficulty::kMedium: return "medium";
    case Difficulty::kHard: return "hard";
  }
  return "";
}

absl::string_view QuestionStatusName(QuestionStatus s) {
  switch (s) {
    case QuestionStatus::kDraft: return "draft";
    case QuestionStatus::kPublished: return "published";
    case QuestionStatus::kArchived: return "archived";
  }
  return "";
}

absl::string_view TagKindName(TagKind k) {
  switch (k) {
    case TagKind::kDomain: return "domain";
    case TagKind::kTopic: return "topic";
    case TagKind::kSubstance: return "substance";
    case TagKind::kTreatment: return "treatment";
    case TagKind::kDiagnosis: return "diagnosis";
  }
  return "";
}

absl::string_view PracticeModeName(PracticeMode m) {
  switch (m) {
    case PracticeMode::kTutor: return "tutor";
    case PracticeMode::kExam: return "exam";
  }
  return "";
}

absl::optional<Difficulty> ParseDifficulty(absl::string_view name) {
  static constexpr Difficulty kAll[] = {Difficulty::kEasy, Difficulty::kMedium,
                                        Difficulty::kHard};
  return ParseName(name, kAll, &DifficultyName);
}

absl::optional<QuestionStatus> ParseQuestionStatus(absl::string_view name) {
  static constexpr QuestionStatus kAll[] = {QuestionStatus::kDraft, QuestionStatus::kPublished,
                                            QuestionStatus::kArchived};
  return ParseName(name, kAll, &QuestionStatusName);
}

absl::optional<TagKind> ParseTagKind(absl::string_view name) {
  static constexpr TagKind kAll[] = {TagKind::kDomain, TagKind::kTopic, TagKind::kSubstance,
                                     TagKind::kTreatment, TagKind::kDiagnosis};
  return ParseName(name, kAll, &TagKindName);
}

absl::optional<PracticeMode> ParsePracticeMode(absl::string_view name) {
  static constexpr PracticeMode kAll[] = {PracticeMode::kTutor, PracticeMode::kExam};
  return ParseName(name, kAll, &PracticeModeName);
}

}  // namespace suite::questions
