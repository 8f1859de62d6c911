#include "services/questions/grpc/converters.h"

#include "absl/strings/str_cat.h"
#include "shared/api/enum_field.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/base/status_macros.h"

namespace suite::questions {

namespace pb = ::questions::v1;
using suite::api::InvalidArgument;

namespace {

}  // namespace

// --- enums ---

absl::optional<Difficulty> FromProto(pb::QuestionDifficulty d) {
  switch (d) {
    case pb::QUESTION_DIFFICULTY_EASY:
      return Difficulty::kEasy;
    case pb::QUESTION_DIFFICULTY_MEDIUM:
      return Difficulty::kMedium;
    case pb::QUESTION_DIFFICULTY_HARD:
      return Difficulty::kHard;
    default:
      return absl::nullopt;
  }
}

pb::QuestionDifficulty ToProto(Difficulty d) {
  switch (d) {
    case Difficulty::kEasy:
      return pb::QUESTION_DIFFICULTY_EASY;
    case Difficulty::kMedium:
      return pb::QUESTION_DIFFICULTY_MEDIUM;
    case Difficulty::kHard:
      return pb::QUESTION_DIFFICULTY_HARD;
  }
  return pb::QUESTION_DIFFICULTY_UNSPECIFIED;
}

absl::optional<QuestionStatus> FromProto(pb::QuestionStatus s) {
  switch (s) {
    case pb::QUESTION_STATUS_DRAFT:
      return QuestionStatus::kDraft;
    case pb::QUESTION_STATUS_PUBLISHED:
      return QuestionStatus::kPublished;
    case pb::QUESTION_STATUS_ARCHIVED:
      return QuestionStatus::kArchived;
    default:
      return absl::nullopt;
  }
}

pb::QuestionStatus ToProto(QuestionStatus s) {
  switch (s) {
    case QuestionStatus::kDraft:
      return pb::QUESTION_STATUS_DRAFT;
    case QuestionStatus::kPublished:
      return pb::QUESTION_STATUS_PUBLISHED;
    case QuestionStatus::kArchived:
      return pb::QUESTION_STATUS_ARCHIVED;
  }
  return pb::QUESTION_STATUS_UNSPECIFIED;
}

absl::optional<TagKind> FromProto(pb::TagKind k) {
  switch (k) {
    case pb::TAG_KIND_DOMAIN:
      return TagKind::kDomain;
    case pb::TAG_KIND_TOPIC:
      return TagKind::kTopic;
    case pb::TAG_KIND_SUBSTANCE:
      return TagKind::kSubstance;
    case pb::TAG_KIND_TREATMENT:
      return TagKind::kTreatment;
    case pb::TAG_KIND_DIAGNOSIS:
      return TagKind::kDiagnosis;
    default:
      return absl::nullopt;
  }
}

pb::TagKind ToProto(TagKind k) {
  switch (k) {
    case TagKind::kDomain:
      return pb::TAG_KIND_DOMAIN;
    case TagKind::kTopic:
      return pb::TAG_KIND_TOPIC;
    case TagKind::kSubstance:
      return pb::TAG_KIND_SUBSTANCE;
    case TagKind::kTreatment:
      return pb::TAG_KIND_TREATMENT;
    case TagKind::kDiagnosis:
      return pb::TAG_KIND_DIAGNOSIS;
  }
  return pb::TAG_KIND_UNSPECIFIED;
}

absl::optional<PracticeMode> FromProto(pb::PracticeMode m) {
  switch (m) {
    case pb::PRACTICE_MODE_TUTOR:
      return PracticeMode::kTutor;
    case pb::PRACTICE_MODE_EXAM:
      return PracticeMode::kExam;
    default:
      return absl::nullopt;
  }
}

pb::PracticeMode ToProto(PracticeMode m) {
  return m == PracticeMode::kExam ? pb::PRACTICE_MODE_EXAM : pb::PRACTICE_MODE_TUTOR;
}

// An optional enum field: UNSPECIFIED is "not set"; a number we do not know is refused as
// "unknown value N" (suite::api::CheckEnumField), never read as "not set".
absl::Status OptionalEnum(absl::string_view field, int value, bool known) {
  return suite::api::CheckEnumField(field, value, known, /*required=*/false);
}

// --- messages ---

void ToProto(const Tag& t, pb::Tag* out) {
  out->set_id(t.id);
  out->set_kind(ToProto(t.kind));
  out->set_slug(t.slug);
  out->set_label(t.label);
  suite::api::SetTimestamp(t.created_at, out->mutable_create_time());
}

void ToProto(const Question& q, pb::Question* out) {
  out->set_id(q.id);
  out->set_external_key(q.external_key);
  out->set_stem(q.stem);
  out->set_explanation(q.explanation);
  out->set_difficulty(ToProto(q.difficulty));
  out->set_status(ToProto(q.status));
  for (const Choice& c : q.choices) {
    pb::Choice* choice = out->add_choices();
    choice->set_id(c.id);
    choice->set_position(c.position);
    choice->set_text(c.text);
    if (c.is_correct.has_value()) choice->set_is_correct(*c.is_correct);
  }
  for (const Tag& t : q.tags) ToProto(t, out->add_tags());
  out->set_author_id(q.author_id);
  suite::api::SetTimestamp(q.created_at, out->mutable_create_time());
  suite::api::SetTimestamp(q.updated_at, out->mutable_update_time());
  if (q.published_at) suite::api::SetTimestamp(*q.published_at, out->mutable_publish_time());
}

void ToProto(const Attempt& a, pb::Attempt* out) {
  out->set_id(a.id);
  out->set_session_id(a.session_id);
  out->set_question_id(a.question_id);
  out->set_choice_id(a.choice_id);
  if (a.is_correct.has_value()) out->set_is_correct(*a.is_correct);
  out->set_time_spent_ms(a.time_spent_ms);
  suite::api::SetTimestamp(a.created_at, out->mutable_create_time());
}

void ToProto(const PracticeSession& s, pb::PracticeSession* out) {
  out->set_id(s.id);
  out->set_user_id(s.user_id);
  out->set_mode(ToProto(s.mode));
  if (s.filter.difficulty) out->mutable_filter()->set_difficulty(ToProto(*s.filter.difficulty));
  for (const std::string& id : s.filter.tag_ids) out->mutable_filter()->add_tag_ids(id);
  for (const std::string& id : s.question_ids) out->add_question_ids(id);
  suite::api::SetTimestamp(s.started_at, out->mutable_start_time());
  if (s.ended_at) suite::api::SetTimestamp(*s.ended_at, out->mutable_end_time());
  out->set_score(s.score.value_or(0));
  out->set_answered_count(s.answered_count);
}

std::vector<ChoiceInput> FromProto(
    const google::protobuf::RepeatedPtrField<pb::ChoiceInput>& choices) {
  std::vector<ChoiceInput> out;
  for (const pb::ChoiceInput& c : choices) out.push_back({c.text(), c.is_correct()});
  return out;
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return std::vector<std::string>(values.begin(), values.end());
}

// --- requests ---

Actor ActorOf(const suite::rpc::Caller& caller, const suite::rpc::RequestContext& rc) {
  Actor actor;
  actor.user_id = caller.user_id;
  actor.admin = caller.HasRole("admin");
  actor.author = actor.admin || caller.HasRole("author");
  actor.request_id = rc.request_id();
  return actor;
}

absl::StatusOr<NewQuestion> NewQuestionFromProto(const pb::CreateQuestionRequest& request) {
  NewQuestion q;
  q.external_key = request.external_key();
  q.stem = request.stem();
  q.explanation = request.explanation();
  q.difficulty = FromProto(request.difficulty());
  SUITE_RETURN_IF_ERROR(OptionalEnum("difficulty", request.difficulty(), q.difficulty.has_value()));
  q.choices = FromProto(request.choices());
  q.tag_ids = Strings(request.tag_ids());
  return q;
}

absl::StatusOr<QuestionUpdate> QuestionUpdateFromProto(const pb::UpdateQuestionRequest& request) {
  QuestionUpdate update;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "stem") {
      update.stem = request.stem();
    } else if (path == "explanation") {
      update.explanation = request.explanation();
    } else if (path == "difficulty") {
      update.difficulty = FromProto(request.difficulty());
      SUITE_RETURN_IF_ERROR(suite::api::CheckEnumField(
          "difficulty", request.difficulty(), update.difficulty.has_value(), true));
    } else if (path == "choices") {
      update.choices = FromProto(request.choices());
    } else {
      return InvalidArgument("update_mask",
                             absl::StrCat("unknown path \"", path.substr(0, 40), "\""));
    }
  }
  return update;
}

absl::StatusOr<QuestionFilter> QuestionFilterFromProto(const pb::QuestionFilter& f) {
  QuestionFilter filter;
  filter.status = FromProto(f.status());
  SUITE_RETURN_IF_ERROR(OptionalEnum("filter.status", f.status(), filter.status.has_value()));
  filter.difficulty = FromProto(f.difficulty());
  SUITE_RETURN_IF_ERROR(
      OptionalEnum("filter.difficulty", f.difficulty(), filter.difficulty.has_value()));
  filter.any_tag_ids = Strings(f.any_tag_ids());
  filter.all_tag_ids = Strings(f.all_tag_ids());
  filter.stem_query = f.stem_query();
  return filter;
}

absl::StatusOr<PracticeFilter> PracticeFilterFromProto(const pb::PracticeFilter& f) {
  PracticeFilter filter;
  filter.difficulty = FromProto(f.difficulty());
  SUITE_RETURN_IF_ERROR(
      OptionalEnum("filter.difficulty", f.difficulty(), filter.difficulty.has_value()));
  filter.tag_ids = Strings(f.tag_ids());
  return filter;
}

NewQuestion ImportItemFromProto(const pb::ImportQuestionItem& item) {
  NewQuestion q;
  q.external_key = item.external_key();
  q.stem = item.stem();
  q.explanation = item.explanation();
  q.difficulty = FromProto(item.difficulty());
  q.choices = FromProto(item.choices());
  q.tag_ids = Strings(item.tag_ids());
  q.publish = item.publish();
  return q;
}

// --- responses ---

void ToProto(const Bookmark& b, pb::Bookmark* out) {
  out->set_question_id(b.question_id);
  suite::api::SetTimestamp(b.created_at, out->mutable_create_time());
}

void ToProto(const UserStats& stats, pb::GetUserStatsResponse* out) {
  out->mutable_overall()->set_attempt_count(stats.overall.attempts);
  out->mutable_overall()->set_correct_count(stats.overall.correct);
  for (const auto& [difficulty, accuracy] : stats.by_difficulty) {
    pb::DifficultyAccuracy* d = out->add_by_difficulty();
    d->set_difficulty(ToProto(difficulty));
    d->mutable_accuracy()->set_attempt_count(accuracy.attempts);
    d->mutable_accuracy()->set_correct_count(accuracy.correct);
  }
  for (const auto& [tag, accuracy] : stats.by_tag) {
    pb::TagAccuracy* t = out->add_by_tag();
    ToProto(tag, t->mutable_tag());
    t->mutable_accuracy()->set_attempt_count(accuracy.attempts);
    t->mutable_accuracy()->set_correct_count(accuracy.correct);
  }
}

void ToProto(const ImportResult& result, pb::ImportQuestionsResponse* out) {
  out->set_created_count(result.created);
  out->set_skipped_count(result.skipped);
  out->set_failed_count(result.failed);
  for (const ImportItemError& e : result.errors) {
    pb::ImportItemError* error = out->add_errors();
    error->set_index(e.index);
    error->set_external_key(e.external_key);
    error->set_field(e.field);
    error->set_message(e.message);
  }
}

}  // namespace suite::questions
