#include "services/questions/grpc/service.h"

#include <malloc.h>
#include <openssl/sha.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "shared/api/enum_field.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/base/status_macros.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/handler.h"

namespace suite::questions {
namespace {

namespace pb = ::questions::v1;
using suite::api::InvalidArgument;
using suite::rpc::RequestContext;

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
template <typename P>
absl::Status OptionalEnum(absl::string_view field, P value, bool known) {
  return suite::api::CheckEnumField(field, static_cast<int>(value), known, /*required=*/false);
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

// A stable digest of a list's filters, so a page token only works with the filters it was
// issued for.
std::string Fingerprint(std::vector<std::string> parts) {
  const std::string joined = absl::StrJoin(parts, "\x1e");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

// The one place the question bank's Cursor meets the shared page token: the scope binds the
// list and its filter fingerprint; an empty token is the first page (nullopt).
std::string PageScope(absl::string_view list, absl::string_view fingerprint) {
  return absl::StrCat(list, "|", fingerprint);
}

std::string EncodePage(const suite::api::PageTokenCodec& codec, absl::string_view list,
                       absl::string_view fingerprint, const Cursor& cursor) {
  return codec.Encode(PageScope(list, fingerprint), {cursor.first, cursor.second});
}

absl::StatusOr<absl::optional<Cursor>> DecodePage(const suite::api::PageTokenCodec& codec,
                                                  absl::string_view token, absl::string_view list,
                                                  absl::string_view fingerprint) {
  if (token.empty()) return absl::optional<Cursor>();
  SUITE_ASSIGN_OR_RETURN(suite::api::PageCursor cursor,
                         codec.Decode(PageScope(list, fingerprint), token));
  return absl::optional<Cursor>(Cursor{std::move(cursor.key), std::move(cursor.id)});
}

std::string SortedJoin(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return absl::StrJoin(ids, ",");
}

}  // namespace

absl::StatusOr<Actor> QuestionBankGrpcService::Authenticate(const RequestContext& rc) {
  SUITE_ASSIGN_OR_RETURN(suite::rpc::Caller caller, suite::rpc::RequireCaller(rc, *authenticator_));
  return ActorOf(caller, rc);
}

Actor QuestionBankGrpcService::ActorOf(const suite::rpc::Caller& caller, const RequestContext& rc) {
  Actor actor;
  actor.user_id = caller.user_id;
  actor.admin = caller.HasRole("admin");
  actor.author = actor.admin || caller.HasRole("author");
  actor.request_id = rc.request_id();
  return actor;
}

// Every unary handler is HANDLE({ ... }): suite::rpc::RunHandler (the executor, the request
// context, the exception guard, the one conversion of the result) with the caller
// authenticated as `actor` first.
#define HANDLE(...)                                                                 \
  return suite::rpc::RunHandler(                                                    \
      context, executor_, [=](const RequestContext& rc) -> absl::Status {           \
        SUITE_ASSIGN_OR_RETURN(const Actor actor, Authenticate(rc));                \
        return [&]() -> absl::Status __VA_ARGS__();                                 \
      });

grpc::ServerUnaryReactor* QuestionBankGrpcService::CreateQuestion(
    grpc::CallbackServerContext* context, const pb::CreateQuestionRequest* request,
    pb::CreateQuestionResponse* response) {
  HANDLE({
    NewQuestion q;
    q.external_key = request->external_key();
    q.stem = request->stem();
    q.explanation = request->explanation();
    q.difficulty = FromProto(request->difficulty());
    SUITE_RETURN_IF_ERROR(
        OptionalEnum("difficulty", request->difficulty(), q.difficulty.has_value()));
    q.choices = FromProto(request->choices());
    q.tag_ids = Strings(request->tag_ids());
    SUITE_ASSIGN_OR_RETURN(Question created, bank_->CreateQuestion(actor, std::move(q)));
    ToProto(created, response->mutable_question());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::UpdateQuestion(
    grpc::CallbackServerContext* context, const pb::UpdateQuestionRequest* request,
    pb::UpdateQuestionResponse* response) {
  HANDLE({
    QuestionUpdate update;
    for (const std::string& path : request->update_mask().paths()) {
      if (path == "stem") {
        update.stem = request->stem();
      } else if (path == "explanation") {
        update.explanation = request->explanation();
      } else if (path == "difficulty") {
        update.difficulty = FromProto(request->difficulty());
        SUITE_RETURN_IF_ERROR(suite::api::CheckEnumField(
            "difficulty", request->difficulty(), update.difficulty.has_value(), true));
      } else if (path == "choices") {
        update.choices = FromProto(request->choices());
      } else {
        return InvalidArgument("update_mask",
                               absl::StrCat("unknown path \"", path.substr(0, 40), "\""));
      }
    }
    SUITE_ASSIGN_OR_RETURN(Question q,
                           bank_->UpdateQuestion(actor, request->question_id(), update));
    ToProto(q, response->mutable_question());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::PublishQuestion(
    grpc::CallbackServerContext* context, const pb::PublishQuestionRequest* request,
    pb::PublishQuestionResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(Question q, bank_->PublishQuestion(actor, request->question_id()));
    ToProto(q, response->mutable_question());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::ArchiveQuestion(
    grpc::CallbackServerContext* context, const pb::ArchiveQuestionRequest* request,
    pb::ArchiveQuestionResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(Question q, bank_->ArchiveQuestion(actor, request->question_id()));
    ToProto(q, response->mutable_question());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::GetQuestion(
    grpc::CallbackServerContext* context, const pb::GetQuestionRequest* request,
    pb::GetQuestionResponse* response) {
  // The hot read: no executor thread per call (handler.h's RunAuthenticatedAsync).
  return suite::rpc::RunAuthenticatedAsync(
      context, executor_, *authenticator_,
      [=](const suite::rpc::Caller& caller, const RequestContext& rc,
          const suite::AsyncCaller& async_caller, const suite::rpc::AsyncReply& reply) {
        bank_->GetQuestionAsync(ActorOf(caller, rc), request->question_id(), async_caller,
                                [response, reply](absl::StatusOr<Question> q) {
                                  reply.Complete([&]() -> absl::Status {
                                    SUITE_RETURN_IF_ERROR(q.status());
                                    ToProto(*q, response->mutable_question());
                                    return absl::OkStatus();
                                  });
                                });
      });
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::ListQuestions(
    grpc::CallbackServerContext* context, const pb::ListQuestionsRequest* request,
    pb::ListQuestionsResponse* response) {
  HANDLE({
    const pb::QuestionFilter& f = request->filter();
    QuestionFilter filter;
    filter.status = FromProto(f.status());
    SUITE_RETURN_IF_ERROR(OptionalEnum("filter.status", f.status(), filter.status.has_value()));
    filter.difficulty = FromProto(f.difficulty());
    SUITE_RETURN_IF_ERROR(
        OptionalEnum("filter.difficulty", f.difficulty(), filter.difficulty.has_value()));
    filter.any_tag_ids = Strings(f.any_tag_ids());
    filter.all_tag_ids = Strings(f.all_tag_ids());
    filter.stem_query = f.stem_query();
    const std::string fingerprint = Fingerprint({absl::StrCat(static_cast<int>(f.status())),
                                                 absl::StrCat(static_cast<int>(f.difficulty())),
                                                 SortedJoin(filter.any_tag_ids),
                                                 SortedJoin(filter.all_tag_ids), f.stem_query()});
    SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                           DecodePage(tokens_, request->page_token(), "questions", fingerprint));
    SUITE_ASSIGN_OR_RETURN(Page<Question> page,
                           bank_->ListQuestions(actor, filter, after, request->page_size()));
    for (const Question& q : page.items) ToProto(q, response->add_questions());
    if (page.next) {
      response->set_next_page_token(EncodePage(tokens_, "questions", fingerprint, *page.next));
    }
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::CreateTag(grpc::CallbackServerContext* context,
                                                             const pb::CreateTagRequest* request,
                                                             pb::CreateTagResponse* response) {
  HANDLE({
    absl::optional<TagKind> kind = FromProto(request->kind());
    SUITE_RETURN_IF_ERROR(OptionalEnum("kind", request->kind(), kind.has_value()));
    SUITE_ASSIGN_OR_RETURN(Tag tag,
                           bank_->CreateTag(actor, kind, request->slug(), request->label()));
    ToProto(tag, response->mutable_tag());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::ListTags(grpc::CallbackServerContext* context,
                                                            const pb::ListTagsRequest* request,
                                                            pb::ListTagsResponse* response) {
  HANDLE({
    absl::optional<TagKind> kind = FromProto(request->kind());
    SUITE_RETURN_IF_ERROR(OptionalEnum("kind", request->kind(), kind.has_value()));
    const std::string fingerprint =
        Fingerprint({absl::StrCat(static_cast<int>(request->kind()))});
    SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                           DecodePage(tokens_, request->page_token(), "tags", fingerprint));
    SUITE_ASSIGN_OR_RETURN(Page<Tag> page,
                           bank_->ListTags(actor, kind, after, request->page_size()));
    for (const Tag& t : page.items) ToProto(t, response->add_tags());
    if (page.next) {
      response->set_next_page_token(EncodePage(tokens_, "tags", fingerprint, *page.next));
    }
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::TagQuestion(
    grpc::CallbackServerContext* context, const pb::TagQuestionRequest* request,
    pb::TagQuestionResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(Question q,
                           bank_->TagQuestion(actor, request->question_id(), request->tag_id()));
    ToProto(q, response->mutable_question());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::UntagQuestion(
    grpc::CallbackServerContext* context, const pb::UntagQuestionRequest* request,
    pb::UntagQuestionResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(
        Question q, bank_->UntagQuestion(actor, request->question_id(), request->tag_id()));
    ToProto(q, response->mutable_question());
    return absl::OkStatus();
  })
}

grpc::Status QuestionBankGrpcService::ImportQuestions(
    grpc::ServerContext* context, grpc::ServerReader<pb::ImportQuestionsRequest>* reader,
    pb::ImportQuestionsResponse* response) {
  // The one sync handler (a client stream): HANDLE's steps, on gRPC's sync thread.
  const RequestContext rc = RequestContext::FromServerContext(*context);
  absl::Status status;
  try {
    status = [&]() -> absl::Status {
      SUITE_ASSIGN_OR_RETURN(const Actor actor, Authenticate(rc));
      SUITE_ASSIGN_OR_RETURN(QuestionBank::Import import, bank_->StartImport(actor));
      pb::ImportQuestionsRequest batch;
      while (reader->Read(&batch)) {
        if (context->IsCancelled()) return absl::CancelledError("import cancelled by the client");
        for (const pb::ImportQuestionItem& item : batch.items()) {
          NewQuestion q;
          q.external_key = item.external_key();
          q.stem = item.stem();
          q.explanation = item.explanation();
          q.difficulty = FromProto(item.difficulty());
          q.choices = FromProto(item.choices());
          q.tag_ids = Strings(item.tag_ids());
          q.publish = item.publish();
          // The item fails on its own (the import goes on), as any other bad field of it.
          if (absl::Status bad = OptionalEnum("difficulty", item.difficulty(),
                                              q.difficulty.has_value());
              !bad.ok()) {
            const std::vector<suite::api::FieldViolation> v = suite::api::FieldViolationsOf(bad);
            SUITE_RETURN_IF_ERROR(import.Reject(q, v.front().field, v.front().description));
            continue;
          }
          SUITE_RETURN_IF_ERROR(import.Add(std::move(q)));
        }
      }
      SUITE_ASSIGN_OR_RETURN(ImportResult result, import.Finish());
      response->set_created_count(result.created);
      response->set_skipped_count(result.skipped);
      response->set_failed_count(result.failed);
      for (const ImportItemError& e : result.errors) {
        pb::ImportItemError* out = response->add_errors();
        out->set_index(e.index);
        out->set_external_key(e.external_key);
        out->set_field(e.field);
        out->set_message(e.message);
      }
      return absl::OkStatus();
    }();
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  }
  // An import allocates and frees tens of MiB in this thread's malloc arena, which glibc keeps
  // mapped after the free; without this the process stays that much larger for good.
  malloc_trim(0);
  return suite::rpc::ToGrpcStatus(status, rc.request_id());
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::StartPracticeSession(
    grpc::CallbackServerContext* context, const pb::StartPracticeSessionRequest* request,
    pb::StartPracticeSessionResponse* response) {
  HANDLE({
    absl::optional<PracticeMode> mode = FromProto(request->mode());
    SUITE_RETURN_IF_ERROR(OptionalEnum("mode", request->mode(), mode.has_value()));
    PracticeFilter filter;
    filter.difficulty = FromProto(request->filter().difficulty());
    SUITE_RETURN_IF_ERROR(OptionalEnum("filter.difficulty", request->filter().difficulty(),
                                       filter.difficulty.has_value()));
    filter.tag_ids = Strings(request->filter().tag_ids());
    const absl::Time deadline = suite::rpc::DeadlineOf(*context);
    EntitlementCheck entitled = [&]() -> absl::StatusOr<bool> {
      return entitlements_->IsEntitled(actor.user_id, rc, deadline);
    };
    SUITE_ASSIGN_OR_RETURN(
        SessionView view,
        bank_->StartPracticeSession(actor, mode, filter, request->question_count(), entitled));
    ToProto(view.session, response->mutable_session());
    for (const Question& q : view.questions) ToProto(q, response->add_questions());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::GetPracticeSession(
    grpc::CallbackServerContext* context, const pb::GetPracticeSessionRequest* request,
    pb::GetPracticeSessionResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(SessionView view,
                           bank_->GetPracticeSession(actor, request->session_id()));
    ToProto(view.session, response->mutable_session());
    for (const Question& q : view.questions) ToProto(q, response->add_questions());
    for (const Attempt& a : view.attempts) ToProto(a, response->add_attempts());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::SubmitAttempt(
    grpc::CallbackServerContext* context, const pb::SubmitAttemptRequest* request,
    pb::SubmitAttemptResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(
        AttemptOutcome outcome,
        bank_->SubmitAttempt(actor, request->session_id(), request->question_id(),
                             request->choice_id(), request->time_spent_ms()));
    ToProto(outcome.attempt, response->mutable_attempt());
    response->set_revealed(outcome.revealed);
    response->set_correct_choice_id(outcome.correct_choice_id);
    response->set_explanation(outcome.explanation);
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::EndPracticeSession(
    grpc::CallbackServerContext* context, const pb::EndPracticeSessionRequest* request,
    pb::EndPracticeSessionResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(SessionView view,
                           bank_->EndPracticeSession(actor, request->session_id()));
    ToProto(view.session, response->mutable_session());
    for (const Attempt& a : view.attempts) ToProto(a, response->add_attempts());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::ListAttempts(
    grpc::CallbackServerContext* context, const pb::ListAttemptsRequest* request,
    pb::ListAttemptsResponse* response) {
  HANDLE({
    // The token is bound to the caller too: a token is useless to another user.
    const std::string fingerprint = Fingerprint({actor.user_id, request->session_id()});
    SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                           DecodePage(tokens_, request->page_token(), "attempts", fingerprint));
    SUITE_ASSIGN_OR_RETURN(Page<Attempt> page, bank_->ListAttempts(actor, request->session_id(),
                                                                   after, request->page_size()));
    for (const Attempt& a : page.items) ToProto(a, response->add_attempts());
    if (page.next) {
      response->set_next_page_token(EncodePage(tokens_, "attempts", fingerprint, *page.next));
    }
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::GetUserStats(
    grpc::CallbackServerContext* context, const pb::GetUserStatsRequest* request,
    pb::GetUserStatsResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(UserStats stats, bank_->GetUserStats(actor));
    response->mutable_overall()->set_attempt_count(stats.overall.attempts);
    response->mutable_overall()->set_correct_count(stats.overall.correct);
    for (const auto& [difficulty, accuracy] : stats.by_difficulty) {
      pb::DifficultyAccuracy* out = response->add_by_difficulty();
      out->set_difficulty(ToProto(difficulty));
      out->mutable_accuracy()->set_attempt_count(accuracy.attempts);
      out->mutable_accuracy()->set_correct_count(accuracy.correct);
    }
    for (const auto& [tag, accuracy] : stats.by_tag) {
      pb::TagAccuracy* out = response->add_by_tag();
      ToProto(tag, out->mutable_tag());
      out->mutable_accuracy()->set_attempt_count(accuracy.attempts);
      out->mutable_accuracy()->set_correct_count(accuracy.correct);
    }
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::CreateBookmark(
    grpc::CallbackServerContext* context, const pb::CreateBookmarkRequest* request,
    pb::CreateBookmarkResponse* response) {
  HANDLE({
    SUITE_ASSIGN_OR_RETURN(Bookmark b, bank_->CreateBookmark(actor, request->question_id()));
    response->mutable_bookmark()->set_question_id(b.question_id);
    suite::api::SetTimestamp(b.created_at, response->mutable_bookmark()->mutable_create_time());
    return absl::OkStatus();
  })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::DeleteBookmark(
    grpc::CallbackServerContext* context, const pb::DeleteBookmarkRequest* request,
    pb::DeleteBookmarkResponse* response) {
  HANDLE({ return bank_->DeleteBookmark(actor, request->question_id()); })
}

grpc::ServerUnaryReactor* QuestionBankGrpcService::ListBookmarks(
    grpc::CallbackServerContext* context, const pb::ListBookmarksRequest* request,
    pb::ListBookmarksResponse* response) {
  HANDLE({
    const std::string fingerprint = Fingerprint({actor.user_id});
    SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                           DecodePage(tokens_, request->page_token(), "bookmarks", fingerprint));
    SUITE_ASSIGN_OR_RETURN(Page<Bookmark> page,
                           bank_->ListBookmarks(actor, after, request->page_size()));
    for (const Bookmark& b : page.items) {
      pb::Bookmark* out = response->add_bookmarks();
      out->set_question_id(b.question_id);
      suite::api::SetTimestamp(b.created_at, out->mutable_create_time());
    }
    if (page.next) {
      response->set_next_page_token(EncodePage(tokens_, "bookmarks", fingerprint, *page.next));
    }
    return absl::OkStatus();
  })
}

#undef HANDLE

}  // namespace suite::questions
