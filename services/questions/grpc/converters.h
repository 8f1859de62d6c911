// The question bank's proto <-> domain conversions: enums (an unknown number is refused,
// naming the field, never read as "not set"), request messages into domain inputs, domain
// values into response messages, and the authenticated caller into the domain's Actor. No rule
// of the bank lives here (questions.h decides), only the shape of the API.
//
//   SUITE_ASSIGN_OR_RETURN(NewQuestion q, NewQuestionFromProto(*request));
//   ToProto(created, response->mutable_question());
//
// Thread-safe: pure functions.
#ifndef SUITE_SERVICES_QUESTIONS_GRPC_CONVERTERS_H_
#define SUITE_SERVICES_QUESTIONS_GRPC_CONVERTERS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "questions/v1/questions_service.pb.h"
#include "services/questions/domain/model.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::questions {

// --- enums: FromProto is nullopt for UNSPECIFIED and for a number this build does not know.
absl::optional<Difficulty> FromProto(::questions::v1::QuestionDifficulty d);
::questions::v1::QuestionDifficulty ToProto(Difficulty d);
absl::optional<QuestionStatus> FromProto(::questions::v1::QuestionStatus s);
::questions::v1::QuestionStatus ToProto(QuestionStatus s);
absl::optional<TagKind> FromProto(::questions::v1::TagKind k);
::questions::v1::TagKind ToProto(TagKind k);
absl::optional<PracticeMode> FromProto(::questions::v1::PracticeMode m);
::questions::v1::PracticeMode ToProto(PracticeMode m);

// OptionalEnum checks an optional enum field: UNSPECIFIED is "not set"; a number we do not
// know (`known` false for a non-zero `value`) is INVALID_ARGUMENT "unknown value N" naming
// `field` (suite::api::CheckEnumField).
absl::Status OptionalEnum(absl::string_view field, int value, bool known);

// --- requests
// ActorOf is the domain Actor of an authenticated caller: admin and author from the caller's
// global roles (an account-scoped grant makes no one an author), the call's request id.
Actor ActorOf(const suite::rpc::Caller& caller, const suite::rpc::RequestContext& rc);
std::vector<ChoiceInput> FromProto(
    const google::protobuf::RepeatedPtrField<::questions::v1::ChoiceInput>& choices);
std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& values);
// INVALID_ARGUMENT naming "difficulty" for an unknown number.
absl::StatusOr<NewQuestion> NewQuestionFromProto(
    const ::questions::v1::CreateQuestionRequest& request);
// The fields update_mask names; INVALID_ARGUMENT naming "update_mask" for an unknown path and
// "difficulty" for a difficulty that is not set or unknown.
absl::StatusOr<QuestionUpdate> QuestionUpdateFromProto(
    const ::questions::v1::UpdateQuestionRequest& request);
// INVALID_ARGUMENT naming "filter.status" / "filter.difficulty" for an unknown number.
absl::StatusOr<QuestionFilter> QuestionFilterFromProto(const ::questions::v1::QuestionFilter& f);
absl::StatusOr<PracticeFilter> PracticeFilterFromProto(const ::questions::v1::PracticeFilter& f);
// One import item as given (its difficulty nullopt when unset or unknown: the caller checks
// it with OptionalEnum and fails that item alone).
NewQuestion ImportItemFromProto(const ::questions::v1::ImportQuestionItem& item);

// --- responses
void ToProto(const Tag& t, ::questions::v1::Tag* out);
void ToProto(const Question& q, ::questions::v1::Question* out);
void ToProto(const Attempt& a, ::questions::v1::Attempt* out);
void ToProto(const PracticeSession& s, ::questions::v1::PracticeSession* out);
void ToProto(const Bookmark& b, ::questions::v1::Bookmark* out);
void ToProto(const UserStats& stats, ::questions::v1::GetUserStatsResponse* out);
void ToProto(const ImportResult& result, ::questions::v1::ImportQuestionsResponse* out);

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_GRPC_CONVERTERS_H_
