// The question bank's error catalog: every status the service makes on purpose,
// with a stable ErrorInfo reason in domain "questions.suite", chosen once here.
//
//   if (!actor.author) return errors::AuthorRequired();
//   return errors::QuestionNotFound(id);
//
// Field errors (INVALID_ARGUMENT) are made with suite::api::InvalidArgument(field, why).
// All functions are thread-safe.
#ifndef SUITE_SERVICES_QUESTIONS_DOMAIN_ERRORS_H_
#define SUITE_SERVICES_QUESTIONS_DOMAIN_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shared/api/status.h"

namespace suite::questions::errors {

inline constexpr absl::string_view kDomain = "questions.suite";

// PERMISSION_DENIED: the RPC needs role author or admin.
inline absl::Status AuthorRequired() {
  return suite::api::WithErrorInfo(
      absl::PermissionDeniedError("this call needs role author or admin"), "MISSING_ROLE",
      kDomain, {{"role", "author"}});
}

// PERMISSION_DENIED: exam mode or practice beyond the free quota needs a subscription.
inline absl::Status EntitlementRequired(absl::string_view why) {
  return suite::api::WithErrorInfo(
      absl::PermissionDeniedError(absl::StrCat("an active subscription is required: ", why)),
      "ENTITLEMENT_REQUIRED", kDomain);
}

// UNAVAILABLE: billing could not say whether the caller is entitled (fail closed).
inline absl::Status BillingUnavailable(absl::string_view detail) {
  return suite::api::WithErrorInfo(
      absl::UnavailableError(absl::StrCat("entitlement unknown, billing unavailable: ", detail)),
      "BILLING_UNAVAILABLE", kDomain);
}

// NOT_FOUND: no question with this id visible to the caller.
inline absl::Status QuestionNotFound(absl::string_view id) {
  return suite::api::WithErrorInfo(absl::NotFoundError(absl::StrCat("question ", id, " not found")),
                                   "QUESTION_NOT_FOUND", kDomain);
}

// NOT_FOUND: no tag with this id (request field tag_id, named as a field violation).
inline absl::Status TagNotFound(absl::string_view id) {
  const std::string what = absl::StrCat("tag ", id, " not found");
  return suite::api::WithErrorInfo(
      suite::api::WithFieldViolation(absl::NotFoundError(absl::StrCat("tag_id: ", what)),
                                     "tag_id", what),
      "TAG_NOT_FOUND", kDomain, {{"tag_id", std::string(id)}});
}

// ALREADY_EXISTS: the (kind, slug) of a tag is taken.
inline absl::Status TagExists() {
  return suite::api::WithErrorInfo(
      absl::AlreadyExistsError("a tag with this kind and slug exists"), "TAG_EXISTS", kDomain);
}

// ALREADY_EXISTS: the external_key of a question is taken.
inline absl::Status ExternalKeyExists() {
  return suite::api::WithErrorInfo(
      absl::AlreadyExistsError("a question with this external_key exists"),
      "EXTERNAL_KEY_EXISTS", kDomain);
}

// FAILED_PRECONDITION: the question's status does not allow the change.
inline absl::Status WrongStatus(absl::string_view status, absl::string_view action) {
  return suite::api::WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat("a ", status, " question cannot be ", action)),
      "WRONG_QUESTION_STATUS", kDomain, {{"status", std::string(status)}});
}

// FAILED_PRECONDITION: the tag `id` that request field `field` ("tag_ids[2]",
// "filter.any_tag_ids[0]") refers to does not exist. The field is also a BadRequest field
// violation and the id ErrorInfo metadata, so that a client can point at the offending entry.
inline absl::Status UnknownTag(absl::string_view field, absl::string_view id) {
  const std::string what = absl::StrCat("tag ", id, " not found");
  return suite::api::WithErrorInfo(
      suite::api::WithFieldViolation(
          absl::FailedPreconditionError(absl::StrCat(field, ": ", what)), field, what),
      "UNKNOWN_TAG", kDomain, {{"tag_id", std::string(id)}});
}

// FAILED_PRECONDITION: a tag checked a moment before was gone when the rows referring to it
// were written (the database's foreign key caught it; which one is not known there).
inline absl::Status UnknownTag() {
  return suite::api::WithErrorInfo(
      absl::FailedPreconditionError("a tag was removed while the question was written; retry"),
      "UNKNOWN_TAG", kDomain);
}

// FAILED_PRECONDITION: no published question matches the practice filter.
inline absl::Status NoQuestionsMatch() {
  return suite::api::WithErrorInfo(
      absl::FailedPreconditionError("no published question matches the filter"),
      "NO_QUESTIONS_MATCH", kDomain);
}

// NOT_FOUND: no practice session with this id belongs to the caller.
inline absl::Status SessionNotFound(absl::string_view id) {
  return suite::api::WithErrorInfo(
      absl::NotFoundError(absl::StrCat("practice session ", id, " not found")),
      "SESSION_NOT_FOUND", kDomain);
}

// FAILED_PRECONDITION: the practice session has ended.
inline absl::Status SessionEnded() {
  return suite::api::WithErrorInfo(absl::FailedPreconditionError("the session has ended"),
                                   "SESSION_ENDED", kDomain);
}

// ALREADY_EXISTS: the question was already answered in this session.
inline absl::Status AlreadyAnswered() {
  return suite::api::WithErrorInfo(
      absl::AlreadyExistsError("this question was already answered in this session"),
      "ALREADY_ANSWERED", kDomain);
}

// ALREADY_EXISTS: the question is already bookmarked.
inline absl::Status BookmarkExists() {
  return suite::api::WithErrorInfo(absl::AlreadyExistsError("already bookmarked"),
                                   "BOOKMARK_EXISTS", kDomain);
}

// NOT_FOUND: the caller has no bookmark on the question.
inline absl::Status BookmarkNotFound(absl::string_view question_id) {
  return suite::api::WithErrorInfo(
      absl::NotFoundError(absl::StrCat("no bookmark on question ", question_id)),
      "BOOKMARK_NOT_FOUND", kDomain);
}

}  // namespace suite::questions::errors

#endif  // SUITE_SERVICES_QUESTIONS_DOMAIN_ERRORS_H_
