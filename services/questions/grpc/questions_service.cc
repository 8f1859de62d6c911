#include "services/questions/grpc/questions_service.h"

#include <malloc.h>

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "services/questions/grpc/converters.h"
#include "shared/api/status.h"
#include "shared/audit_api/audit_proto.h"
#include "shared/base/audit_actor.h"
#include "shared/base/status_macros.h"
#include "shared/clients/billing/entitlements.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/handler.h"

namespace suite::questions {

namespace pb = ::questions::v1;
using suite::rpc::RequestContext;

QuestionsGrpcService::QuestionsGrpcService(QuestionBank* bank,
                                           suite::rpc::CallerAuthenticator* authenticator,
                                           suite::billing_client::EntitlementSource* entitlements, int handler_threads)
    : bank_(bank),
      authenticator_(authenticator),
      entitlements_(entitlements),
      executor_("questions", handler_threads),
      authenticate_([authenticator](const RequestContext& rc) -> absl::StatusOr<Actor> {
        SUITE_ASSIGN_OR_RETURN(suite::rpc::Caller caller,
                               suite::rpc::RequireCaller(rc, *authenticator));
        return ActorOf(caller, rc);
      }) {}

// --- Authoring. Each is a privileged change: its audit row (written by the store in the
// change's transaction, on this thread) names the caller and this call's request id.

grpc::ServerUnaryReactor* QuestionsGrpcService::CreateQuestion(
    grpc::CallbackServerContext* context, const pb::CreateQuestionRequest* request,
    pb::CreateQuestionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(NewQuestion q, NewQuestionFromProto(*request));
        SUITE_ASSIGN_OR_RETURN(Question created, bank_->CreateQuestion(actor, std::move(q)));
        ToProto(created, response->mutable_question());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::UpdateQuestion(
    grpc::CallbackServerContext* context, const pb::UpdateQuestionRequest* request,
    pb::UpdateQuestionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(QuestionUpdate update, QuestionUpdateFromProto(*request));
        SUITE_ASSIGN_OR_RETURN(Question q,
                               bank_->UpdateQuestion(actor, request->question_id(), update));
        ToProto(q, response->mutable_question());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::PublishQuestion(
    grpc::CallbackServerContext* context, const pb::PublishQuestionRequest* request,
    pb::PublishQuestionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(Question q, bank_->PublishQuestion(actor, request->question_id()));
        ToProto(q, response->mutable_question());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::ArchiveQuestion(
    grpc::CallbackServerContext* context, const pb::ArchiveQuestionRequest* request,
    pb::ArchiveQuestionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(Question q, bank_->ArchiveQuestion(actor, request->question_id()));
        ToProto(q, response->mutable_question());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::CreateTag(grpc::CallbackServerContext* context,
                                                          const pb::CreateTagRequest* request,
                                                          pb::CreateTagResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        absl::optional<TagKind> kind = FromProto(request->kind());
        SUITE_RETURN_IF_ERROR(OptionalEnum("kind", request->kind(), kind.has_value()));
        SUITE_ASSIGN_OR_RETURN(Tag tag,
                               bank_->CreateTag(actor, kind, request->slug(), request->label()));
        ToProto(tag, response->mutable_tag());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::TagQuestion(
    grpc::CallbackServerContext* context, const pb::TagQuestionRequest* request,
    pb::TagQuestionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(
            Question q, bank_->TagQuestion(actor, request->question_id(), request->tag_id()));
        ToProto(q, response->mutable_question());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::UntagQuestion(
    grpc::CallbackServerContext* context, const pb::UntagQuestionRequest* request,
    pb::UntagQuestionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audited(actor.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(
            Question q, bank_->UntagQuestion(actor, request->question_id(), request->tag_id()));
        ToProto(q, response->mutable_question());
        return absl::OkStatus();
      });
}

// --- Reading

grpc::ServerUnaryReactor* QuestionsGrpcService::GetQuestion(
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

grpc::ServerUnaryReactor* QuestionsGrpcService::ListQuestions(
    grpc::CallbackServerContext* context, const pb::ListQuestionsRequest* request,
    pb::ListQuestionsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(QuestionFilter filter, QuestionFilterFromProto(request->filter()));
        SUITE_ASSIGN_OR_RETURN(ListPage<Question> page,
                               bank_->ListQuestions(actor, std::move(filter), request->page_size(),
                                                    request->page_token()));
        for (const Question& q : page.items) ToProto(q, response->add_questions());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::ListTags(grpc::CallbackServerContext* context,
                                                         const pb::ListTagsRequest* request,
                                                         pb::ListTagsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        absl::optional<TagKind> kind = FromProto(request->kind());
        SUITE_RETURN_IF_ERROR(OptionalEnum("kind", request->kind(), kind.has_value()));
        SUITE_ASSIGN_OR_RETURN(
            ListPage<Tag> page,
            bank_->ListTags(actor, kind, request->page_size(), request->page_token()));
        for (const Tag& t : page.items) ToProto(t, response->add_tags());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

// --- Import: a client stream. Each batch is validated and committed (chunks of the bank's
// size) on the executor, then the next is read; reads wait on gRPC, not on a thread.

class QuestionsGrpcService::ImportReactor final
    : public grpc::ServerReadReactor<pb::ImportQuestionsRequest> {
 public:
  ImportReactor(QuestionsGrpcService* service, grpc::CallbackServerContext* context,
                pb::ImportQuestionsResponse* response)
      : service_(service),
        context_(context),
        response_(response),
        rc_(RequestContext::FromServerContext(*context)) {
    Run([this]() -> absl::Status {
      SUITE_ASSIGN_OR_RETURN(actor_, service_->authenticate_(rc_));
      SUITE_ASSIGN_OR_RETURN(QuestionBank::Import import, service_->bank_->StartImport(*actor_));
      import_.emplace(std::move(import));
      StartRead(&batch_);
      return absl::OkStatus();
    });
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client closed its side, or the stream broke (gRPC does not say which here): what
      // was read is committed either way, and a retry skips it (idempotent by external_key).
      Run([this]() -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(ImportResult result, import_->Finish());
        ToProto(result, response_);
        End(absl::OkStatus());
        return absl::OkStatus();
      });
      return;
    }
    // Asked as the batch arrives (as a blocking Read would be followed by it), not when its
    // turn on the executor comes.
    const bool cancelled = context_->IsCancelled();
    Run([this, cancelled]() -> absl::Status {
      if (cancelled) return absl::CancelledError("import cancelled by the client");
      for (const pb::ImportQuestionItem& item : batch_.items()) {
        NewQuestion q = ImportItemFromProto(item);
        // The item fails on its own (the import goes on), as any other bad field of it.
        if (absl::Status bad =
                OptionalEnum("difficulty", item.difficulty(), q.difficulty.has_value());
            !bad.ok()) {
          const std::vector<suite::api::FieldViolation> v = suite::api::FieldViolationsOf(bad);
          SUITE_RETURN_IF_ERROR(import_->Reject(q, v.front().field, v.front().description));
          continue;
        }
        SUITE_RETURN_IF_ERROR(import_->Add(std::move(q)));
      }
      batch_.Clear();
      StartRead(&batch_);
      return absl::OkStatus();
    });
  }

  void OnDone() override { delete this; }

 private:
  // Run runs `step` on the executor under the caller's audit actor; a step that fails, or
  // throws, ends the call with that status. A step that succeeds has started the next read or
  // ended the call itself. (No request deadline scope: an import's chunks commit whatever the
  // call's deadline, and a batch read before a broken stream is still committed.)
  template <typename Step>
  void Run(Step step) {
    service_->executor_.Submit([this, step = std::move(step)]() mutable {
      absl::Status status;
      {
        absl::optional<suite::ScopedAuditActor> audited;
        if (actor_) audited.emplace(actor_->user_id, rc_.request_id());
        try {
          status = step();
        } catch (const std::exception& e) {
          status = absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
        } catch (...) {
          status = absl::InternalError("unexpected exception");
        }
        // Chunks committed before a failure stay: the trail records what they created.
        if (!status.ok() && import_) import_->Abandon();
      }
      if (!status.ok()) End(status);
    });
  }

  // End finishes the call; nothing of this reactor may be touched after (OnDone deletes it).
  void End(const absl::Status& status) {
    // An import allocates and frees tens of MiB in a thread's malloc arena, which glibc keeps
    // mapped after the free; without this the process stays that much larger for good.
    malloc_trim(0);
    Finish(suite::rpc::ToGrpcStatus(status, rc_.request_id()));
  }

  QuestionsGrpcService* const service_;
  grpc::CallbackServerContext* const context_;
  pb::ImportQuestionsResponse* const response_;
  const RequestContext rc_;
  absl::optional<Actor> actor_;
  absl::optional<QuestionBank::Import> import_;
  pb::ImportQuestionsRequest batch_;
};

grpc::ServerReadReactor<pb::ImportQuestionsRequest>* QuestionsGrpcService::ImportQuestions(
    grpc::CallbackServerContext* context, pb::ImportQuestionsResponse* response) {
  return new ImportReactor(this, context, response);
}

// --- Practice (the caller's own)

grpc::ServerUnaryReactor* QuestionsGrpcService::StartPracticeSession(
    grpc::CallbackServerContext* context, const pb::StartPracticeSessionRequest* request,
    pb::StartPracticeSessionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
        absl::optional<PracticeMode> mode = FromProto(request->mode());
        SUITE_RETURN_IF_ERROR(OptionalEnum("mode", request->mode(), mode.has_value()));
        SUITE_ASSIGN_OR_RETURN(PracticeFilter filter, PracticeFilterFromProto(request->filter()));
        const absl::Time deadline = suite::rpc::DeadlineOf(*context);
        EntitlementCheck entitled = [&]() -> absl::StatusOr<bool> {
          return entitlements_->IsEntitled(actor.user_id, rc, deadline);
        };
        SUITE_ASSIGN_OR_RETURN(SessionView view,
                               bank_->StartPracticeSession(actor, mode, filter,
                                                           request->question_count(), entitled));
        ToProto(view.session, response->mutable_session());
        for (const Question& q : view.questions) ToProto(q, response->add_questions());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::GetPracticeSession(
    grpc::CallbackServerContext* context, const pb::GetPracticeSessionRequest* request,
    pb::GetPracticeSessionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(SessionView view,
                               bank_->GetPracticeSession(actor, request->session_id()));
        ToProto(view.session, response->mutable_session());
        for (const Question& q : view.questions) ToProto(q, response->add_questions());
        for (const Attempt& a : view.attempts) ToProto(a, response->add_attempts());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::SubmitAttempt(
    grpc::CallbackServerContext* context, const pb::SubmitAttemptRequest* request,
    pb::SubmitAttemptResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(
            AttemptOutcome outcome,
            bank_->SubmitAttempt(actor, request->session_id(), request->question_id(),
                                 request->choice_id(), request->time_spent_ms()));
        ToProto(outcome.attempt, response->mutable_attempt());
        response->set_revealed(outcome.revealed);
        response->set_correct_choice_id(outcome.correct_choice_id);
        response->set_explanation(outcome.explanation);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::EndPracticeSession(
    grpc::CallbackServerContext* context, const pb::EndPracticeSessionRequest* request,
    pb::EndPracticeSessionResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(SessionView view,
                               bank_->EndPracticeSession(actor, request->session_id()));
        ToProto(view.session, response->mutable_session());
        for (const Attempt& a : view.attempts) ToProto(a, response->add_attempts());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::ListAttempts(
    grpc::CallbackServerContext* context, const pb::ListAttemptsRequest* request,
    pb::ListAttemptsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(ListPage<Attempt> page,
                               bank_->ListAttempts(actor, request->session_id(),
                                                   request->page_size(), request->page_token()));
        for (const Attempt& a : page.items) ToProto(a, response->add_attempts());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::GetUserStats(
    grpc::CallbackServerContext* context, const pb::GetUserStatsRequest*,
    pb::GetUserStatsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(UserStats stats, bank_->GetUserStats(actor));
        ToProto(stats, response);
        return absl::OkStatus();
      });
}

// --- Bookmarks (the caller's own)

grpc::ServerUnaryReactor* QuestionsGrpcService::CreateBookmark(
    grpc::CallbackServerContext* context, const pb::CreateBookmarkRequest* request,
    pb::CreateBookmarkResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(Bookmark b, bank_->CreateBookmark(actor, request->question_id()));
        ToProto(b, response->mutable_bookmark());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::DeleteBookmark(
    grpc::CallbackServerContext* context, const pb::DeleteBookmarkRequest* request,
    pb::DeleteBookmarkResponse*) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        return bank_->DeleteBookmark(actor, request->question_id());
      });
}

grpc::ServerUnaryReactor* QuestionsGrpcService::ListBookmarks(
    grpc::CallbackServerContext* context, const pb::ListBookmarksRequest* request,
    pb::ListBookmarksResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(
            ListPage<Bookmark> page,
            bank_->ListBookmarks(actor, request->page_size(), request->page_token()));
        for (const Bookmark& b : page.items) ToProto(b, response->add_bookmarks());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

// --- The audit trail (admin)

grpc::ServerUnaryReactor* QuestionsGrpcService::ListAuditEvents(
    grpc::CallbackServerContext* context, const ::audit::v1::ListAuditEventsRequest* request,
    ::audit::v1::ListAuditEventsResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, executor_, authenticate_,
      [=](const Actor& actor, const RequestContext&) -> absl::Status {
        return suite::audit_api::ServeListAuditEvents(
            *request, [&] { return bank_->AuthorizeListAuditEvents(actor); },
            [&](const suite::audit_api::AuditQuery& query) {
              return bank_->ListAuditEvents(actor, query);
            },
            response);
      });
}

}  // namespace suite::questions
