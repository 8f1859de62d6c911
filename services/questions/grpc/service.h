// The gRPC adapter of questions.v1.QuestionBankService: authenticates the caller (bearer token
// through a CallerAuthenticator, e.g. //shared/identity_client:identity_authenticator),
// converts proto ↔ domain (enums and page tokens checked, fields named), calls QuestionBank,
// and ends every handler with ToGrpcStatus. No exception escapes a handler.
//
//   QuestionBankGrpcService service(&bank, &authenticator, &billing,
//                                   suite::rpc::PageTokenCodec(secret));
//   auto server = suite::rpc::GrpcServer::Start(config,
//       {{&service, questions::v1::QuestionBankService::service_full_name()}});
//
// Thread-safe (handlers run concurrently; all collaborators are thread-safe).
#ifndef SUITE_SERVICES_QUESTIONS_GRPC_SERVICE_H_
#define SUITE_SERVICES_QUESTIONS_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "questions/v1/questions_service.grpc.pb.h"
#include "services/questions/domain/question_bank.h"
#include "services/questions/grpc/billing_entitlements.h"
#include "shared/rpc/page_token.h"
#include "shared/rpc/request_context.h"

namespace suite::questions {

class QuestionBankGrpcService final : public ::questions::v1::QuestionBankService::Service {
 public:
  // None of the pointers is owned; all must outlive the service.
  QuestionBankGrpcService(QuestionBank* bank, suite::rpc::CallerAuthenticator* authenticator,
                          EntitlementSource* entitlements,
                          suite::rpc::PageTokenCodec tokens)
      : bank_(bank), authenticator_(authenticator), entitlements_(entitlements),
        tokens_(std::move(tokens)) {}

  grpc::Status CreateQuestion(grpc::ServerContext* context,
                              const ::questions::v1::CreateQuestionRequest* request,
                              ::questions::v1::CreateQuestionResponse* response) override;
  grpc::Status UpdateQuestion(grpc::ServerContext* context,
                              const ::questions::v1::UpdateQuestionRequest* request,
                              ::questions::v1::UpdateQuestionResponse* response) override;
  grpc::Status PublishQuestion(grpc::ServerContext* context,
                               const ::questions::v1::PublishQuestionRequest* request,
                               ::questions::v1::PublishQuestionResponse* response) override;
  grpc::Status ArchiveQuestion(grpc::ServerContext* context,
                               const ::questions::v1::ArchiveQuestionRequest* request,
                               ::questions::v1::ArchiveQuestionResponse* response) override;
  grpc::Status GetQuestion(grpc::ServerContext* context,
                           const ::questions::v1::GetQuestionRequest* request,
                           ::questions::v1::GetQuestionResponse* response) override;
  grpc::Status ListQuestions(grpc::ServerContext* context,
                             const ::questions::v1::ListQuestionsRequest* request,
                             ::questions::v1::ListQuestionsResponse* response) override;
  grpc::Status CreateTag(grpc::ServerContext* context,
                         const ::questions::v1::CreateTagRequest* request,
                         ::questions::v1::CreateTagResponse* response) override;
  grpc::Status ListTags(grpc::ServerContext* context,
                        const ::questions::v1::ListTagsRequest* request,
                        ::questions::v1::ListTagsResponse* response) override;
  grpc::Status TagQuestion(grpc::ServerContext* context,
                           const ::questions::v1::TagQuestionRequest* request,
                           ::questions::v1::TagQuestionResponse* response) override;
  grpc::Status UntagQuestion(grpc::ServerContext* context,
                             const ::questions::v1::UntagQuestionRequest* request,
                             ::questions::v1::UntagQuestionResponse* response) override;
  grpc::Status ImportQuestions(grpc::ServerContext* context,
                               grpc::ServerReader<::questions::v1::ImportQuestionsRequest>* reader,
                               ::questions::v1::ImportQuestionsResponse* response) override;
  grpc::Status StartPracticeSession(grpc::ServerContext* context,
                                    const ::questions::v1::StartPracticeSessionRequest* request,
                                    ::questions::v1::StartPracticeSessionResponse* response) override;
  grpc::Status GetPracticeSession(grpc::ServerContext* context,
                                  const ::questions::v1::GetPracticeSessionRequest* request,
                                  ::questions::v1::GetPracticeSessionResponse* response) override;
  grpc::Status SubmitAttempt(grpc::ServerContext* context,
                             const ::questions::v1::SubmitAttemptRequest* request,
                             ::questions::v1::SubmitAttemptResponse* response) override;
  grpc::Status EndPracticeSession(grpc::ServerContext* context,
                                  const ::questions::v1::EndPracticeSessionRequest* request,
                                  ::questions::v1::EndPracticeSessionResponse* response) override;
  grpc::Status ListAttempts(grpc::ServerContext* context,
                            const ::questions::v1::ListAttemptsRequest* request,
                            ::questions::v1::ListAttemptsResponse* response) override;
  grpc::Status GetUserStats(grpc::ServerContext* context,
                            const ::questions::v1::GetUserStatsRequest* request,
                            ::questions::v1::GetUserStatsResponse* response) override;
  grpc::Status CreateBookmark(grpc::ServerContext* context,
                              const ::questions::v1::CreateBookmarkRequest* request,
                              ::questions::v1::CreateBookmarkResponse* response) override;
  grpc::Status DeleteBookmark(grpc::ServerContext* context,
                              const ::questions::v1::DeleteBookmarkRequest* request,
                              ::questions::v1::DeleteBookmarkResponse* response) override;
  grpc::Status ListBookmarks(grpc::ServerContext* context,
                             const ::questions::v1::ListBookmarksRequest* request,
                             ::questions::v1::ListBookmarksResponse* response) override;

 private:
  // Authenticate returns the caller as a domain Actor, or the authentication error.
  absl::StatusOr<Actor> Authenticate(const suite::rpc::RequestContext& rc);

  QuestionBank* bank_;
  suite::rpc::CallerAuthenticator* authenticator_;
  EntitlementSource* entitlements_;
  const suite::rpc::PageTokenCodec tokens_;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_GRPC_SERVICE_H_
