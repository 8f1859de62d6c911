// PostgreSQL implementation of the question bank's QuestionStore (the service's only SQL).
//
//   SUITE_ASSIGN_OR_RETURN(auto pool, suite::db::ConnectionPool::Create(config));
//   SUITE_ASSIGN_OR_RETURN(auto store, PgQuestionStore::Create(pool.get()));
//   QuestionBank bank(store.get(), {});
//
// Every query is a named statement registered with the pool by Create. Lists use keyset
// pagination on indexed sort keys: newest first on (created_at, id), tags on (kind, slug).
// Thread-safe (each call runs in its own pooled transaction).
#ifndef SUITE_SERVICES_QUESTIONS_STORAGE_PG_STORE_H_
#define SUITE_SERVICES_QUESTIONS_STORAGE_PG_STORE_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/questions/domain/store.h"
#include "shared/db/pool.h"
#include "shared/db/read_batcher.h"

namespace suite::questions {

class PgQuestionStore : public QuestionStore {
 public:
  // Create registers the statements with `pool` (not owned; must outlive the store).
  // Returns the pool's ALREADY_EXISTS when a statement name is taken by other SQL.
  static absl::StatusOr<std::unique_ptr<PgQuestionStore>> Create(suite::db::ConnectionPool* pool);

  // The SQL of a named statement, for the EXPLAIN tests ("list_questions", "list_tags",
  // "list_attempts", "list_bookmarks", "count_sessions_since", "start_session_sampled", ...).
  static const std::string& StatementSql(const std::string& name);

  absl::StatusOr<Question> CreateQuestion(const NewQuestion& q) override;
  absl::StatusOr<Question> GetQuestion(const std::string& id) override;
  void GetQuestionAsync(const std::string& id, const AsyncCaller& caller,
                        GetQuestionDone done) override;
  absl::StatusOr<Question> UpdateDraft(const std::string& id, const QuestionUpdate& update,
                                       const std::string& request_id) override;
  absl::StatusOr<Question> Transition(const std::string& id,
                                      const std::vector<QuestionStatus>& from, QuestionStatus to,
                                      const std::string& request_id) override;
  absl::StatusOr<Page<Question>> ListQuestions(const QuestionFilter& filter,
                                               const absl::optional<Cursor>& after,
                                               int limit) override;
  absl::StatusOr<Tag> CreateTag(TagKind kind, const std::string& slug,
                                const std::string& label) override;
  absl::StatusOr<Page<Tag>> ListTags(const absl::optional<TagKind>& kind,
                                     const absl::optional<Cursor>& after, int limit) override;
  absl::Status TagQuestion(const std::string& question_id, const std::string& tag_id) override;
  absl::Status UntagQuestion(const std::string& question_id, const std::string& tag_id) override;
  absl::StatusOr<std::set<std::string>> ExistingTagIds(const std::vector<std::string>& ids) override;
  absl::StatusOr<std::set<std::string>> ImportChunk(const std::vector<NewQuestion>& chunk,
                                                    const ImportTotals* last) override;
  absl::Status RecordImport(const ImportTotals& totals) override;
  absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) override;
  absl::StatusOr<bool> RefreshStatistics(int64_t added) override;
  absl::StatusOr<int> CountSessionsSince(const std::string& user_id, absl::Time since) override;
  absl::StatusOr<PracticeSession> StartSession(const std::string& user_id, PracticeMode mode,
                                               const PracticeFilter& filter, int count,
                                               const std::string& request_id) override;
  absl::StatusOr<PracticeSession> GetSession(const std::string& user_id,
                                             const std::string& session_id) override;
  absl::StatusOr<std::vector<Question>> GetQuestions(const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<Attempt>> SessionAttempts(const std::string& session_id) override;
  absl::StatusOr<AttemptOutcome> SubmitAttempt(const std::string& user_id,
                                               const std::string& session_id,
                                               const std::string& question_id,
                                               const std::string& choice_id,
                                               int64_t time_spent_ms,
                                               const std::string& request_id) override;
  absl::StatusOr<PracticeSession> EndSession(const std::string& user_id,
                                             const std::string& session_id) override;
  absl::StatusOr<Page<Attempt>> ListAttempts(const std::string& user_id,
                                             const std::string& session_id,
                                             const absl::optional<Cursor>& after,
                                             int limit) override;
  absl::StatusOr<UserStats> GetUserStats(const std::string& user_id) override;
  absl::StatusOr<Bookmark> CreateBookmark(const std::string& user_id,
                                          const std::string& question_id,
                                          Visibility visibility) override;
  absl::Status DeleteBookmark(const std::string& user_id, const std::string& question_id) override;
  absl::StatusOr<Page<Bookmark>> ListBookmarks(const std::string& user_id,
                                               const absl::optional<Cursor>& after,
                                               int limit) override;

  // How GetQuestion's reads were batched so far (for /metrics).
  suite::db::ReadBatcherStats FullQuestionStats() const { return full_questions_.Stats(); }

 private:
  using QuestionBatcher = suite::db::ReadBatcher<Question>;

  explicit PgQuestionStore(suite::db::ConnectionPool* pool);
  // One statement for the ids of concurrent GetQuestion calls (ReadBatcher).
  absl::StatusOr<QuestionBatcher::ValueMap> ReadFullQuestions(const std::vector<std::string>& ids);

  suite::db::ConnectionPool* pool_;
  QuestionBatcher full_questions_;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_STORAGE_PG_STORE_H_
