// The gRPC adapter of questions.v1.QuestionBankService: handlers only. Each one authenticates
// the caller (bearer token through a CallerAuthenticator, e.g.
// //shared/clients/identity:identity_authenticator) into the domain's Actor, converts the
// request (converters.h), calls QuestionBank, which decides everything else (authorization,
// validation, page tokens), and converts the answer; every unary handler is
// suite::rpc::RunAuthenticated (or RunAuthenticatedAsync for the batched read of GetQuestion),
// which ends it with ToGrpcStatus. No exception escapes a handler.
//
//   QuestionsGrpcService service(&bank, &authenticator, &billing);
//   auto server = suite::rpc::GrpcServer::Start(config,
//       {{&service, questions::v1::QuestionBankService::service_full_name()}});
//
// Thread-safe (handlers run concurrently; all collaborators are thread-safe).
#ifndef SUITE_SERVICES_QUESTIONS_GRPC_QUESTIONS_SERVICE_H_
#define SUITE_SERVICES_QUESTIONS_GRPC_QUESTIONS_SERVICE_H_

#include <functional>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/questions/domain/questions.h"
#include "shared/clients/billing/entitlements.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::questions {

// Every RPC on gRPC's callback API with its blocking work on a BlockingExecutor. The client
// stream ImportQuestions reads its batches on gRPC's threads and validates and commits each
// on the executor, one batch at a time.
class QuestionsGrpcService final : public ::questions::v1::QuestionBankService::CallbackService {
 public:
  // None of the pointers is owned; all must outlive the service.
  QuestionsGrpcService(QuestionBank* bank, suite::rpc::CallerAuthenticator* authenticator,
                       suite::billing_client::EntitlementSource* entitlements, int handler_threads = 16);

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
  grpc::ServerReadReactor<::questions::v1::ImportQuestionsRequest>* ImportQuestions(
      grpc::CallbackServerContext* context,
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
  grpc::ServerUnaryReactor* ListAuditEvents(
      grpc::CallbackServerContext* context, const ::audit::v1::ListAuditEventsRequest* request,
      ::audit::v1::ListAuditEventsResponse* response) override;

 private:
  class ImportReactor;
  // The caller as the domain's Actor, or the authentication error (RequireCaller, ActorOf).
  using Authenticate = std::function<absl::StatusOr<Actor>(const suite::rpc::RequestContext&)>;

  QuestionBank* bank_;
  suite::rpc::CallerAuthenticator* authenticator_;
  suite::billing_client::EntitlementSource* entitlements_;
  suite::rpc::BlockingExecutor executor_;
  const Authenticate authenticate_;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_GRPC_QUESTIONS_SERVICE_H_
