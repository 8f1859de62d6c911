// The storage interface of the question bank: what the domain (questions.h) needs from
// the database. storage/pg_store.h implements it on PostgreSQL; domain tests may fake it.
//
//   SUITE_ASSIGN_OR_RETURN(Question q, store.GetQuestion(id));
//
// Inputs are validated by the domain before they reach a store (ids are UUIDs, lengths
// bounded). Each privileged change (authoring, publishing, archiving, tagging, imports)
// appends its audit row inside its own transaction, with the thread's suite::ScopedAuditActor
// as the actor (docs/audit.md); a change that fails or is refused appends nothing. Every
// method may also return UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED from the
// database layer. Implementations must be thread-safe.
#ifndef SUITE_SERVICES_QUESTIONS_DOMAIN_STORE_H_
#define SUITE_SERVICES_QUESTIONS_DOMAIN_STORE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/questions/domain/model.h"
#include "shared/base/async_caller.h"
#include "shared/db/audit/audit_event.h"

namespace suite::questions {

// Which questions a list may return.
enum class Visibility { kAll, kPublishedOnly };

class QuestionStore {
 public:
  virtual ~QuestionStore() = default;

  // --- Authoring ---
  // CreateQuestion inserts a question (draft, or published when q.publish) with its choices
  // and tags. ALREADY_EXISTS when external_key is taken; FAILED_PRECONDITION when a tag does
  // not exist (the domain names which before; this is the foreign key's last word).
  virtual absl::StatusOr<Question> CreateQuestion(const NewQuestion& q) = 0;
  // GetQuestion returns a question with choices (is_correct set) and tags; NOT_FOUND if none.
  virtual absl::StatusOr<Question> GetQuestion(const std::string& id) = 0;
  // GetQuestionAsync is GetQuestion without blocking the calling thread: it returns at once
  // and `done` gets the result later on `caller.run_blocking`, under the caller's request
  // scope (//shared/db:read_batcher's ReadAsync). `done` must not throw.
  using GetQuestionDone = std::function<void(absl::StatusOr<Question>)>;
  virtual void GetQuestionAsync(const std::string& id, const AsyncCaller& caller,
                                GetQuestionDone done) = 0;
  // UpdateDraft applies `update` to a draft (choices are replaced). NOT_FOUND if no question;
  // FAILED_PRECONDITION if it is not a draft (checked under a row lock).
  virtual absl::StatusOr<Question> UpdateDraft(const std::string& id,
                                               const QuestionUpdate& update,
                                               const std::string& request_id) = 0;
  // Transition moves a question to `to` if its status is one of `from`. NOT_FOUND if no
  // question; FAILED_PRECONDITION (message names the status) otherwise.
  virtual absl::StatusOr<Question> Transition(const std::string& id,
                                              const std::vector<QuestionStatus>& from,
                                              QuestionStatus to,
                                              const std::string& request_id) = 0;
  // ListQuestions returns up to `limit` questions after `after`, newest first.
  virtual absl::StatusOr<Page<Question>> ListQuestions(const QuestionFilter& filter,
                                                       const absl::optional<Cursor>& after,
                                                       int limit) = 0;
  // CreateTag inserts a tag. ALREADY_EXISTS when (kind, slug) is taken.
  virtual absl::StatusOr<Tag> CreateTag(TagKind kind, const std::string& slug,
                                        const std::string& label) = 0;
  // ListTags returns up to `limit` tags after `after`, by kind then slug.
  virtual absl::StatusOr<Page<Tag>> ListTags(const absl::optional<TagKind>& kind,
                                             const absl::optional<Cursor>& after, int limit) = 0;
  // TagQuestion attaches a tag (no-op when attached). NOT_FOUND when the question or the tag
  // does not exist.
  virtual absl::Status TagQuestion(const std::string& question_id, const std::string& tag_id) = 0;
  // UntagQuestion detaches a tag (no-op when not attached). NOT_FOUND when the question does
  // not exist.
  virtual absl::Status UntagQuestion(const std::string& question_id,
                                     const std::string& tag_id) = 0;
  // ExistingTagIds returns which of `ids` are tags.
  virtual absl::StatusOr<std::set<std::string>> ExistingTagIds(
      const std::vector<std::string>& ids) = 0;
  // ImportChunk inserts the questions of one chunk in one transaction, skipping those whose
  // external_key exists; returns the external keys created. Every tag must exist
  // (FAILED_PRECONDITION otherwise, nothing written). With `last` (the import's totals before
  // this chunk) it is the import's last chunk: the import's one audit row (question.import,
  // the totals with this chunk's counts added) is appended in the same transaction, when the
  // import created anything.
  virtual absl::StatusOr<std::set<std::string>> ImportChunk(const std::vector<NewQuestion>& chunk,
                                                            const ImportTotals* last) = 0;
  // RecordImport appends an import's audit row on its own, for an import whose last chunk
  // wrote nothing (everything before was committed in earlier chunks) or that stopped early.
  virtual absl::Status RecordImport(const ImportTotals& totals) = 0;
  // RefreshStatistics re-analyses the bank's tables when `added` questions are more than a
  // tenth of what the planner believes the bank holds, so that plans made after a bulk import
  // see its size; true when it analysed.
  virtual absl::StatusOr<bool> RefreshStatistics(int64_t added) = 0;

  // --- Practice ---
  // CountSessionsSince counts the user's sessions started at or after `since`.
  virtual absl::StatusOr<int> CountSessionsSince(const std::string& user_id, absl::Time since) = 0;
  // StartSession draws up to `count` published questions matching `filter` at random,
  // preferring ones the user has not answered correctly (attempts of exam sessions still open
  // do not count: the draw must not tell how they went), and stores the session with a random
  // choice_seed. FAILED_PRECONDITION when no question matches.
  virtual absl::StatusOr<PracticeSession> StartSession(const std::string& user_id,
                                                       PracticeMode mode,
                                                       const PracticeFilter& filter, int count,
                                                       const std::string& request_id) = 0;
  // GetSession returns the user's session (with its choice_seed); NOT_FOUND when it does not
  // exist or is another user's.
  virtual absl::StatusOr<PracticeSession> GetSession(const std::string& user_id,
                                                     const std::string& session_id) = 0;
  // GetQuestions returns the questions with these ids, in the order of `ids` (missing ones
  // left out).
  virtual absl::StatusOr<std::vector<Question>> GetQuestions(const std::vector<std::string>& ids) = 0;
  // SessionAttempts returns every attempt of a session, oldest first (is_correct set).
  virtual absl::StatusOr<std::vector<Attempt>> SessionAttempts(const std::string& session_id) = 0;
  // SubmitAttempt records an attempt. NOT_FOUND when the session is not the user's;
  // FAILED_PRECONDITION when it has ended; INVALID_ARGUMENT (question_id / choice_id, the
  // message naming the ids) when the question is not in the session or the choice not of the
  // question; ALREADY_EXISTS when the question was already answered in the session (the
  // unique constraint decides under concurrency). The outcome carries the correct choice and
  // explanation in every mode; the domain decides what to reveal.
  virtual absl::StatusOr<AttemptOutcome> SubmitAttempt(const std::string& user_id,
                                                       const std::string& session_id,
                                                       const std::string& question_id,
                                                       const std::string& choice_id,
                                                       int64_t time_spent_ms,
                                                       const std::string& request_id) = 0;
  // EndSession closes the user's session and stores its score. NOT_FOUND as GetSession;
  // FAILED_PRECONDITION when already ended.
  virtual absl::StatusOr<PracticeSession> EndSession(const std::string& user_id,
                                                     const std::string& session_id) = 0;
  // ListAttempts returns the user's attempts newest first (of one session when set);
  // is_correct is nullopt for attempts of exam sessions still open.
  virtual absl::StatusOr<Page<Attempt>> ListAttempts(const std::string& user_id,
                                                     const std::string& session_id,
                                                     const absl::optional<Cursor>& after,
                                                     int limit) = 0;
  // UserStats returns the user's accuracy, leaving out attempts of exam sessions still open.
  virtual absl::StatusOr<UserStats> GetUserStats(const std::string& user_id) = 0;

  // --- Audit ---
  // ListAuditEvents returns up to `limit` rows of the audit trail matching `filter`, newest
  // first, with seq below `before_seq` (0: from the newest). The filter is validated.
  virtual absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) = 0;

  // --- Bookmarks ---
  // CreateBookmark bookmarks a question. NOT_FOUND when the question does not exist (or is
  // not published, with kPublishedOnly); ALREADY_EXISTS when already bookmarked.
  virtual absl::StatusOr<Bookmark> CreateBookmark(const std::string& user_id,
                                                  const std::string& question_id,
                                                  Visibility visibility) = 0;
  // DeleteBookmark removes a bookmark; NOT_FOUND when there is none.
  virtual absl::Status DeleteBookmark(const std::string& user_id,
                                      const std::string& question_id) = 0;
  // ListBookmarks returns the user's bookmarks newest first.
  virtual absl::StatusOr<Page<Bookmark>> ListBookmarks(const std::string& user_id,
                                                       const absl::optional<Cursor>& after,
                                                       int limit) = 0;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_DOMAIN_STORE_H_
