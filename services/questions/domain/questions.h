// The question bank's rules: who may author, what members may see, validation of
// every input (INVALID_ARGUMENT naming the proto field, before any storage call), the
// practice flow with its entitlement gate, and bulk import in chunks.
//
//   QuestionBank bank(&store, QuestionBankOptions{});
//   Actor author{"<uuid>", /*author=*/true, /*admin=*/false, request_id};
//   SUITE_ASSIGN_OR_RETURN(Question q, bank.CreateQuestion(author, new_question));
//   SUITE_ASSIGN_OR_RETURN(SessionView s, bank.StartPracticeSession(
//       member, PracticeMode::kTutor, {}, 10, [&] { return billing_says_entitled(); }));
//
// Roles: Actor::author (role author or admin) authors and sees everything; any other caller
// is a member: published questions only, never is_correct nor the explanation before
// answering, choices in an order that does not give the answer away (ShuffleChoices), and
// only their own sessions, attempts and bookmarks.
//
// Thread-safe when the store is.
#ifndef SUITE_SERVICES_QUESTIONS_DOMAIN_QUESTIONS_H_
#define SUITE_SERVICES_QUESTIONS_DOMAIN_QUESTIONS_H_

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/questions/domain/model.h"
#include "services/questions/domain/store.h"
#include "shared/api/page_token.h"
#include "shared/audit_api/audit_query.h"

namespace suite::questions {

// Limits (also documented in the proto).
inline constexpr size_t kMaxStemChars = 4000;
inline constexpr size_t kMaxExplanationChars = 8000;
inline constexpr size_t kMaxChoiceChars = 1000;
inline constexpr size_t kMinChoices = 2;
inline constexpr size_t kMaxChoices = 10;
inline constexpr size_t kMaxTags = 20;
inline constexpr size_t kMaxExternalKeyChars = 200;
inline constexpr size_t kMaxSlugChars = 64;
inline constexpr size_t kMaxLabelChars = 200;
inline constexpr size_t kMaxStemQueryChars = 200;
inline constexpr int kMaxSessionQuestions = 100;
inline constexpr int64_t kMaxTimeSpentMs = 86400000;
// Items one ImportQuestions stream may carry (memory for duplicate-key detection is bounded).
inline constexpr int kMaxImportItems = 100000;

struct QuestionBankOptions {
  // Practice sessions a user without entitlement may start per UTC day (tutor mode).
  int free_sessions_per_day = 3;
  // Valid import items are committed in chunks of this many.
  size_t import_chunk_size = 500;
  // At most this many per-item import errors are listed (all are counted).
  size_t max_import_errors = 1000;
  // The clock (tests inject one).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // HMAC key of page tokens (QUESTIONS_PAGE_TOKEN_SECRET); empty = random per process.
  std::string page_token_secret;
};

// One page of a list as the API serves it: the rows and the opaque token of the next page
// (empty on the last). Tokens are HMAC-signed (//shared/api:page_token) and bound to the list,
// its filters and, for a caller's own lists, the caller.
template <typename T>
struct ListPage {
  std::vector<T> items;
  std::string next_page_token;
};

// Asks billing whether the caller is entitled: true/false, or UNAVAILABLE when billing cannot
// tell (the caller then fails closed). Built per call by the adapter, which carries the
// caller's bearer token, request id and deadline.
using EntitlementCheck = std::function<absl::StatusOr<bool>()>;

// A practice session as its owner may see it.
struct SessionView {
  PracticeSession session;
  std::vector<Question> questions;  // answers revealed per the session's mode and state
  std::vector<Attempt> attempts;
};

// CheckNewQuestion returns the first invalid field of `q` as (field, description), or nullopt.
// Field names are those of CreateQuestionRequest / ImportQuestionItem ("choices[1].text").
absl::optional<std::pair<std::string, std::string>> CheckNewQuestion(const NewQuestion& q,
                                                                      bool require_external_key);

class QuestionBank {
 public:
  // `store` is not owned and must outlive the bank.
  QuestionBank(QuestionStore* store, QuestionBankOptions options);

  // --- Authoring (author/admin; PERMISSION_DENIED otherwise) ---
  // CreateQuestion: INVALID_ARGUMENT (field named), ALREADY_EXISTS (external_key),
  // FAILED_PRECONDITION (UNKNOWN_TAG, naming the field "tag_ids[i]" and the id).
  absl::StatusOr<Question> CreateQuestion(const Actor& actor, NewQuestion q);
  // UpdateQuestion: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (not a draft).
  absl::StatusOr<Question> UpdateQuestion(const Actor& actor, const std::string& id,
                                          const QuestionUpdate& update);
  // PublishQuestion: draft → published; NOT_FOUND, FAILED_PRECONDITION otherwise.
  absl::StatusOr<Question> PublishQuestion(const Actor& actor, const std::string& id);
  // ArchiveQuestion: draft/published → archived; NOT_FOUND, FAILED_PRECONDITION otherwise.
  absl::StatusOr<Question> ArchiveQuestion(const Actor& actor, const std::string& id);
  // CreateTag: INVALID_ARGUMENT, ALREADY_EXISTS.
  absl::StatusOr<Tag> CreateTag(const Actor& actor, absl::optional<TagKind> kind,
                                const std::string& slug, const std::string& label);
  // TagQuestion / UntagQuestion: INVALID_ARGUMENT, NOT_FOUND.
  absl::StatusOr<Question> TagQuestion(const Actor& actor, const std::string& question_id,
                                       const std::string& tag_id);
  absl::StatusOr<Question> UntagQuestion(const Actor& actor, const std::string& question_id,
                                         const std::string& tag_id);

  // --- Reading (any caller; members see published questions only, masked) ---
  // GetQuestion: INVALID_ARGUMENT, NOT_FOUND (also for a member asking for a draft).
  absl::StatusOr<Question> GetQuestion(const Actor& actor, const std::string& id);
  // GetQuestionAsync is GetQuestion without blocking the calling thread (for gRPC's own
  // thread): `done` gets the same result, at once for an invalid id, otherwise on
  // `caller.run_blocking` after the batched read (QuestionStore::GetQuestionAsync).
  using GetQuestionDone = std::function<void(absl::StatusOr<Question>)>;
  void GetQuestionAsync(const Actor& actor, const std::string& id, const AsyncCaller& caller,
                        GetQuestionDone done);
  // ListQuestions: INVALID_ARGUMENT (filter.*, page_size, page_token), FAILED_PRECONDITION
  // (UNKNOWN_TAG: "filter.any_tag_ids[i]" / "filter.all_tag_ids[i]" is no tag). Members asking
  // for a status other than published get PERMISSION_DENIED.
  absl::StatusOr<ListPage<Question>> ListQuestions(const Actor& actor, QuestionFilter filter,
                                                   int page_size, const std::string& page_token);
  // ListTags: INVALID_ARGUMENT (page_size, page_token).
  absl::StatusOr<ListPage<Tag>> ListTags(const Actor& actor, const absl::optional<TagKind>& kind,
                                         int page_size, const std::string& page_token);

  // Import collects the items of one ImportQuestions stream: each Add validates one item
  // (errors are recorded, not returned) and commits a chunk when full; Finish commits the
  // rest. Add/Finish return a non-OK status only when storage fails (chunks committed before
  // stay; re-running the import skips them). Not thread-safe; one per stream.
  class Import {
   public:
    absl::Status Add(NewQuestion item);
    // Reject counts `item` as the next item, failed on `field` with `message`: for a fault
    // only the caller can see (an enum number the API adapter does not know). INVALID_ARGUMENT
    // beyond the import's item limit, as Add.
    absl::Status Reject(const NewQuestion& item, std::string field, std::string message);
    // Finish commits the rest; the import's one audit row (question.import, with its counts)
    // goes into the transaction of the last chunk.
    absl::StatusOr<ImportResult> Finish();
    // Abandon records an import that ends early (the stream broke, storage failed) after some
    // chunks were committed: its audit row with the counts so far and completed=false. Best
    // effort (the import is failing already); nothing when nothing was created.
    void Abandon();

   private:
    friend class QuestionBank;
    Import(QuestionBank* bank, Actor actor) : bank_(bank), actor_(std::move(actor)) {}
    // Flush commits the pending items; `last` when it is the import's last chunk.
    absl::Status Flush(bool last = false);
    void Fail(int index, const std::string& key, std::string field, std::string message);

    QuestionBank* bank_;
    Actor actor_;
    int next_index_ = 0;
    std::set<std::string> seen_keys_;
    std::vector<std::pair<int, NewQuestion>> pending_;
    ImportResult result_;
    bool recorded_ = false;  // the audit row is written
  };
  // StartImport: PERMISSION_DENIED unless author/admin.
  absl::StatusOr<Import> StartImport(const Actor& actor);

  // --- Practice (any signed-in caller, on their own data) ---
  // StartPracticeSession: INVALID_ARGUMENT (mode, filter.*, question_count),
  // PERMISSION_DENIED (not entitled), UNAVAILABLE (billing unreachable: fail closed),
  // FAILED_PRECONDITION (UNKNOWN_TAG naming "filter.tag_ids[i]"; no question matches).
  // The session's choices are shown in its own order (ShuffleChoices with its choice_seed).
  absl::StatusOr<SessionView> StartPracticeSession(const Actor& actor,
                                                   absl::optional<PracticeMode> mode,
                                                   const PracticeFilter& filter,
                                                   int question_count,
                                                   const EntitlementCheck& entitled);
  // GetPracticeSession: INVALID_ARGUMENT, NOT_FOUND (also another user's session).
  absl::StatusOr<SessionView> GetPracticeSession(const Actor& actor, const std::string& id);
  // SubmitAttempt: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (ended), ALREADY_EXISTS.
  // Tutor mode reveals correctness and explanation; exam mode nothing.
  absl::StatusOr<AttemptOutcome> SubmitAttempt(const Actor& actor, const std::string& session_id,
                                               const std::string& question_id,
                                               const std::string& choice_id,
                                               int64_t time_spent_ms);
  // EndPracticeSession: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (already ended).
  absl::StatusOr<SessionView> EndPracticeSession(const Actor& actor, const std::string& id);
  // ListAttempts: INVALID_ARGUMENT (session_id, page_size, page_token; a token is the
  // caller's own).
  absl::StatusOr<ListPage<Attempt>> ListAttempts(const Actor& actor,
                                                 const std::string& session_id, int page_size,
                                                 const std::string& page_token);
  absl::StatusOr<UserStats> GetUserStats(const Actor& actor);

  // --- Bookmarks (own) ---
  // CreateBookmark: INVALID_ARGUMENT, NOT_FOUND (question not visible), ALREADY_EXISTS.
  absl::StatusOr<Bookmark> CreateBookmark(const Actor& actor, const std::string& question_id);
  // DeleteBookmark: INVALID_ARGUMENT, NOT_FOUND.
  absl::Status DeleteBookmark(const Actor& actor, const std::string& question_id);
  // ListBookmarks: INVALID_ARGUMENT (page_size, page_token; a token is the caller's own).
  absl::StatusOr<ListPage<Bookmark>> ListBookmarks(const Actor& actor, int page_size,
                                                   const std::string& page_token);

  // --- Audit (admin) ---
  // AuthorizeListAuditEvents: PERMISSION_DENIED (MISSING_ROLE) unless `actor` is an admin. The
  // gRPC adapter asks it before it reads the request, so a member learns nothing about the
  // request's validation; ListAuditEvents asks it again.
  absl::Status AuthorizeListAuditEvents(const Actor& actor) const;
  // ListAuditEvents: the question bank's audit trail, newest first, by the shared rules of
  // shared/audit_api/audit_query.h. PERMISSION_DENIED unless admin; INVALID_ARGUMENT naming
  // page_size, actor_user_id, action, target_id, end_time or page_token (also one issued for
  // other filters).
  absl::StatusOr<suite::audit_api::AuditPage> ListAuditEvents(
      const Actor& actor, const suite::audit_api::AuditQuery& query);

 private:
  absl::StatusOr<SessionView> View(PracticeSession session);

  QuestionStore* store_;
  QuestionBankOptions options_;
  suite::api::PageTokenCodec page_tokens_;
};

// ForMember hides what a member must not see of a question they have not answered:
// is_correct of every choice, the explanation and the author; and it puts the choices in an
// order that says nothing about which is correct (ShuffleChoices with an empty seed), as the
// order the author wrote them in often does.
Question ForMember(Question q);

// ShuffleChoices sorts q's choices by SHA-256 of `seed`, "/" and the choice id, and renumbers
// their positions 0..n-1 in that order. Choice ids are random, so the order is a uniformly
// random permutation independent of which choice is correct; it depends on nothing else, so
// the same seed gives the same order in every process. A practice session uses its stored
// choice_seed: one order per session, another in the next session.
void ShuffleChoices(Question& q, absl::string_view seed);

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_DOMAIN_QUESTIONS_H_
