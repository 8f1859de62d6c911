// The gRPC adapter of questions.v1.QuestionBankService: authenticates the caller (bearer token
// through a CallerAuthenticator, e.g. //shared/clients/identity:identity_authenticator),
// converts proto ↔ domain (enums and page tokens checked, fields named), calls QuestionBank,
// and ends every handler with ToGrpcStatus. No exception escapes a handler.
//
//   QuestionBankGrpcService service(&bank, &authenticator, &billing,
//                                   suite::api::PageTokenCodec(secret));
//   auto server = suite::rpc::GrpcServer::Start(config,
//       {{&service, questions::v1::QuestionBankService::service_full_name()}});
//
// Thread-safe (handlers run concurrently; all collaborators are thread-safe).
#ifndef SUITE_SERVICES_QUESTIONS_GRPC_SERVICE_H_
#define SUITE_SERVICES_QUESTIONS_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "questions/v1/questions_service.grpc.pb.h"
#include "services/questions/domain/question_bank.h"
#include "shared/api/page_token.h"
#include "shared/clients/billing/entitlements.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::questions {

// Every RPC on gRPC's callback API with its blocking work on a BlockingExecutor, except the
// client stream ImportQuestions, which stays on the sync API: its handler blocks in Read()
// between batches, imports are rare, and the sync server gives it a thread of its own.
using QuestionBankServiceBase = ::questions::v1::QuestionBankService::WithCallbackMethod_CreateQuestion<
    ::questions::v1::QuestionBankService::
        WithCallbackMethod_UpdateQuestion<::questions::v1::QuestionBankService::WithCallbackMethod_PublishQuestion<
            ::questions::v1::QuestionBankService::WithCallbackMethod_ArchiveQuestion<
                ::questions::v1::QuestionBankService::WithCallbackMethod_GetQuestion<
                    ::questions::v1::QuestionBankService::WithCallbackMethod_ListQuestions<
                        ::questions::v1::QuestionBankService::WithCallbackMethod_CreateTag<
                            ::questions::v1::QuestionBankService::WithCallbackMethod_ListTags<
                                ::questions::v1::QuestionBankService::WithCallbackMethod_TagQuestion<
                                    ::questions::v1::QuestionBankService::WithCallbackMethod_UntagQuestion<
                                        ::questions::v1::QuestionBankService::WithCallbackMethod_StartPracticeSession<
                                            ::questions::v1::QuestionBankService::WithCallbackMethod_GetPracticeSession<
                                                ::questions::v1::QuestionBankService::WithCallbackMethod_SubmitAttempt<
                                                    ::questions::v1::QuestionBankService::WithCallbackMethod_EndPracticeSession<
                                                        ::questions::v1::QuestionBankService::WithCallbackMethod_ListAttempts<
                                                            ::questions::v1::QuestionBankService::WithCallbackMethod_GetUserStats<
                                                                ::questions::v1::QuestionBankService::WithCallbackMethod_CreateBookmark<
                                                                    ::questions::v1::QuestionBankService::WithCallbackMethod_DeleteBookmark<
                                                                        ::questions::v1::QuestionBankService::
                                                                            WithCallbackMethod_ListBookmarks<
                                                                                ::questions::v1::QuestionBankService::
                                                                                    Service>>>>>>>>>>>>>>>>>>>;

class QuestionBankGrpcService final : public QuestionBankServiceBase {
 public:
  // None of the pointers is owned; all must outlive the service.
  QuestionBankGrpcService(QuestionBank* bank, suite::rpc::CallerAuthenticator* authenticator,
                          suite::billing_client::EntitlementSource* entitlements, suite::api::PageTokenCodec tokens,
                          int handler_threads = 16)
      : bank_(bank),
        authenticator_(authenticator),
        entitlements_(entitlements),
        tokens_(std::move(tokens)),
        executor_("questions", handler_threads) {}

  grpc::ServerUnaryReactor* CreateQuestion(
      grpc::CallbackServerContext* context, const ::questions::v1::CreateQuestionRequest* request,
      ::questions::v1::CreateQuestionResponse* response) override;
  grpc::ServerUnaryReactor* UpdateQuestion(
      grpc::CallbackServerContext* context, const ::questions::v1::UpdateQuestionRequest* request,
      ::questions::v1::UpdateQuestionResponse* response) override;
  grpc::ServerUnaryReactor* PublishQuestion(
      grpc::CallbackServerContext* context, const ::questions::v1::PublishQuestionRequest* request,
      ::questions::v1::PublishQuestionResponse* response) override;
  grpc::ServerUnaryReactor* ArchiveQuestion(
      grpc::CallbackServerContext* context, const ::questions::v1::ArchiveQuestionRequest* request,
      ::questions::v1::ArchiveQuestionResponse* response) override;
  grpc::ServerUnaryReactor* GetQuestion(grpc::CallbackServerContext* context,
                                        const ::questions::v1::GetQuestionRequest* request,
                                        ::questions::v1::GetQuestionResponse* response) override;
  grpc::ServerUnaryReactor* ListQuestions(
      grpc::CallbackServerContext* context, const ::questions::v1::ListQuestionsRequest* request,
      ::questions::v1::ListQuestionsResponse* response) override;
  grpc::ServerUnaryReactor* CreateTag(grpc::CallbackServerContext* context,
                                      const ::questions::v1::CreateTagRequest* request,
                                      ::questions::v1::CreateTagResponse* response) override;
  grpc::ServerUnaryReactor* ListTags(grpc::CallbackServerContext* context,
                                     const ::questions::v1::ListTagsRequest* request,
                                     ::questions::v1::ListTagsResponse* response) override;
  grpc::ServerUnaryReactor* TagQuestion(grpc::CallbackServerContext* context,
                                        const ::questions::v1::TagQuestionRequest* request,
                                        ::questions::v1::TagQuestionResponse* response) override;
  grpc::ServerUnaryReactor* UntagQuestion(
      grpc::CallbackServerContext* context, const ::questions::v1::UntagQuestionRequest* request,
      ::questions::v1::UntagQuestionResponse* response) override;
  grpc::Status ImportQuestions(grpc::ServerContext* context,
                               grpc::ServerReader<::questions::v1::ImportQuestionsRequest>* reader,
                               ::questions::v1::ImportQuestionsResponse* response) override;
  grpc::ServerUnaryReactor* StartPracticeSession(
      grpc::CallbackServerContext* context,
      const ::questions::v1::StartPracticeSessionRequest* request,
      ::questions::v1::StartPracticeSessionResponse* response) override;
  grpc::ServerUnaryReactor* GetPracticeSession(
      grpc::CallbackServerContext* context,
      const ::questions::v1::GetPracticeSessionRequest* request,
      ::questions::v1::GetPracticeSessionResponse* response) override;
  grpc::ServerUnaryReactor* SubmitAttempt(
      grpc::CallbackServerContext* context, const ::questions::v1::SubmitAttemptRequest* request,
      ::questions::v1::SubmitAttemptResponse* response) override;
  grpc::ServerUnaryReactor* EndPracticeSession(
      grpc::CallbackServerContext* context,
      const ::questions::v1::EndPracticeSessionRequest* request,
      ::questions::v1::EndPracticeSessionResponse* response) override;
  grpc::ServerUnaryReactor* ListAttempts(grpc::CallbackServerContext* context,
                                         const ::questions::v1::ListAttemptsRequest* request,
                                         ::questions::v1::ListAttemptsResponse* response) override;
  grpc::ServerUnaryReactor* GetUserStats(grpc::CallbackServerContext* context,
                                         const ::questions::v1::GetUserStatsRequest* request,
                                         ::questions::v1::GetUserStatsResponse* response) override;
  grpc::ServerUnaryReactor* CreateBookmark(
      grpc::CallbackServerContext* context, const ::questions::v1::CreateBookmarkRequest* request,
      ::questions::v1::CreateBookmarkResponse* response) override;
  grpc::ServerUnaryReactor* DeleteBookmark(
      grpc::CallbackServerContext* context, const ::questions::v1::DeleteBookmarkRequest* request,
      ::questions::v1::DeleteBookmarkResponse* response) override;
  grpc::ServerUnaryReactor* ListBookmarks(
      grpc::CallbackServerContext* context, const ::questions::v1::ListBookmarksRequest* request,
      ::questions::v1::ListBookmarksResponse* response) override;

 private:
  // Authenticate returns the caller as a domain Actor, or the authentication error.
  absl::StatusOr<Actor> Authenticate(const suite::rpc::RequestContext& rc);
  // ActorOf is the domain Actor of an authenticated caller.
  static Actor ActorOf(const suite::rpc::Caller& caller, const suite::rpc::RequestContext& rc);

  QuestionBank* bank_;
  suite::rpc::CallerAuthenticator* authenticator_;
  suite::billing_client::EntitlementSource* entitlements_;
  const suite::api::PageTokenCodec tokens_;
  suite::rpc::BlockingExecutor executor_;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_GRPC_SERVICE_H_
