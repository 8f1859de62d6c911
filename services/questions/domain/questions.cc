#include "services/questions/domain/questions.h"

#include <algorithm>
#include <initializer_list>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "services/questions/domain/errors.h"
#include "shared/api/page_size.h"
#include "shared/api/status.h"
#include "shared/api/uuid_field.h"
#include "shared/base/sha256.h"
#include "shared/base/status_macros.h"
#include "shared/base/text.h"
#include "shared/base/uuid.h"

namespace suite::questions {
namespace {

using suite::api::InvalidArgument;
using suite::api::RequireUuid;

using Violation = absl::optional<std::pair<std::string, std::string>>;
using suite::TextKind;

// The suite's one text rule (shared/base/text.h): no NUL (PostgreSQL text and jsonb cannot
// hold it; it used to cut the stored value short), no control character except, in prose, tab
// and line breaks; at most `max` characters (code points).
Violation CheckText(const std::string& field, absl::string_view value, TextKind kind,
                    size_t max, bool required) {
  if (auto problem = suite::TextProblem(value, kind, max, required)) {
    return std::make_pair(field, *std::move(problem));
  }
  return absl::nullopt;
}

Violation CheckChoices(const std::string& field, const std::vector<ChoiceInput>& choices) {
  if (choices.size() < kMinChoices || choices.size() > kMaxChoices) {
    return std::make_pair(field, absl::StrCat("must have ", kMinChoices, " to ", kMaxChoices,
                                              " choices"));
  }
  int correct = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (auto v = CheckText(absl::StrCat(field, "[", i, "].text"), choices[i].text,
                           TextKind::kProse, kMaxChoiceChars, true)) {
      return v;
    }
    if (choices[i].is_correct) ++correct;
  }
  if (correct != 1) {
    return std::make_pair(field, std::string("exactly one choice must be correct"));
  }
  return absl::nullopt;
}

Violation CheckIds(const std::string& field, const std::vector<std::string>& ids) {
  if (ids.size() > kMaxTags) {
    return std::make_pair(field, absl::StrCat("must have at most ", kMaxTags, " entries"));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!suite::IsUuid(ids[i])) {
      return std::make_pair(absl::StrCat(field, "[", i, "]"), std::string("must be a UUID"));
    }
  }
  return absl::nullopt;
}

absl::Status ToStatus(const Violation& v) {
  if (!v.has_value()) return absl::OkStatus();
  return InvalidArgument(v->first, v->second);
}

absl::Status RequireAuthor(const Actor& actor) {
  if (!actor.author) return errors::AuthorRequired();
  return absl::OkStatus();
}

bool IsSlug(absl::string_view s) {
  if (s.empty() || s.size() > kMaxSlugChars || s.front() == '-' || s.back() == '-') return false;
  char prev = 0;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && prev == '-')) return false;
    prev = c;
  }
  return true;
}

// Reveals one question of a session: with answers when `reveal`, else as a member sees it;
// either way in the session's own choice order.
Question Reveal(Question q, bool reveal, absl::string_view choice_seed) {
  if (reveal) {
    q.author_id.clear();
  } else {
    q = ForMember(std::move(q));
  }
  ShuffleChoices(q, choice_seed);
  return q;
}

// RequireTags returns FAILED_PRECONDITION (UNKNOWN_TAG) naming the first id of `lists` (in
// order) that is no tag by its field path, e.g. "filter.any_tag_ids[2]"; one read for all.
absl::Status RequireTags(
    QuestionStore& store,
    std::initializer_list<std::pair<absl::string_view, const std::vector<std::string>*>> lists) {
  std::vector<std::string> ids;
  for (const auto& [field, list] : lists) ids.insert(ids.end(), list->begin(), list->end());
  if (ids.empty()) return absl::OkStatus();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  SUITE_ASSIGN_OR_RETURN(std::set<std::string> existing, store.ExistingTagIds(ids));
  for (const auto& [field, list] : lists) {
    for (size_t i = 0; i < list->size(); ++i) {
      if (existing.count((*list)[i]) == 0) {
        return errors::UnknownTag(absl::StrCat(field, "[", i, "]"), (*list)[i]);
      }
    }
  }
  return absl::OkStatus();
}

// A stored question as `author` (or a member) may see it: members get published questions
// only, without what they must not see yet.
absl::StatusOr<Question> AsSeenBy(bool author, const std::string& id,
                                  absl::StatusOr<Question> stored) {
  SUITE_ASSIGN_OR_RETURN(Question q, std::move(stored));
  if (author) return q;
  if (q.status != QuestionStatus::kPublished) return errors::QuestionNotFound(id);
  return ForMember(std::move(q));
}

// --- page tokens ---

// A stable digest of a list's filters, so a page token only works with the filters it was
// issued for.
std::string Fingerprint(const std::vector<std::string>& parts) {
  return absl::BytesToHexString(suite::Sha256(absl::StrJoin(parts, "\x1e")).substr(0, 16));
}

// An optional enum filter as its number in the API (0: not set; the domain's enums are the
// API's in order), so that tokens keep the form they had when the adapter made them.
template <typename E>
std::string EnumPart(const absl::optional<E>& value) {
  return absl::StrCat(value.has_value() ? static_cast<int>(*value) + 1 : 0);
}

std::string SortedJoin(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return absl::StrJoin(ids, ",");
}

// The scope binds the list and its filter fingerprint.
std::string PageScope(absl::string_view list, absl::string_view fingerprint) {
  return absl::StrCat(list, "|", fingerprint);
}

// DecodePage is the keyset position of `token` (nullopt for "", the first page);
// INVALID_ARGUMENT page_token when it is not one of this list's with these filters.
absl::StatusOr<absl::optional<Cursor>> DecodePage(const suite::api::PageTokenCodec& codec,
                                                  absl::string_view token, absl::string_view list,
                                                  absl::string_view fingerprint) {
  if (token.empty()) return absl::optional<Cursor>();
  SUITE_ASSIGN_OR_RETURN(suite::api::PageCursor cursor,
                         codec.Decode(PageScope(list, fingerprint), token));
  return absl::optional<Cursor>(Cursor{std::move(cursor.key), std::move(cursor.id)});
}

// ToListPage turns a store page into the API's: its next cursor into a token of the same scope.
template <typename T>
ListPage<T> ToListPage(Page<T> page, const suite::api::PageTokenCodec& codec,
                       absl::string_view list, absl::string_view fingerprint) {
  ListPage<T> out;
  out.items = std::move(page.items);
  if (page.next) {
    out.next_page_token =
        codec.Encode(PageScope(list, fingerprint), {page.next->first, page.next->second});
  }
  return out;
}

}  // namespace

absl::optional<std::pair<std::string, std::string>> CheckNewQuestion(const NewQuestion& q,
                                                                      bool require_external_key) {
  if (require_external_key && suite::IsBlank(q.external_key)) {
    return std::make_pair(std::string("external_key"), std::string("is required"));
  }
  if (auto v = CheckText("external_key", q.external_key, TextKind::kLine, kMaxExternalKeyChars,
                          false)) return v;
  if (auto v = CheckText("stem", q.stem, TextKind::kProse, kMaxStemChars, true)) return v;
  if (auto v = CheckText("explanation", q.explanation, TextKind::kProse, kMaxExplanationChars,
                         false)) {
    return v;
  }
  if (!q.difficulty.has_value()) {
    return std::make_pair(std::string("difficulty"), std::string("is required"));
  }
  if (auto v = CheckChoices("choices", q.choices)) return v;
  if (auto v = CheckIds("tag_ids", q.tag_ids)) return v;
  return absl::nullopt;
}

Question ForMember(Question q) {
  for (Choice& c : q.choices) c.is_correct.reset();
  q.explanation.clear();
  q.author_id.clear();
  ShuffleChoices(q, "");
  return q;
}

void ShuffleChoices(Question& q, absl::string_view seed) {
  std::vector<std::pair<std::string, Choice>> keyed;
  keyed.reserve(q.choices.size());
  for (Choice& c : q.choices) {
    keyed.emplace_back(suite::Sha256(absl::StrCat(seed, "/", c.id)), std::move(c));
  }
  // Ids are distinct, so equal digests (never seen for SHA-256) would still order by id.
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
  });
  q.choices.clear();
  for (auto& [key, c] : keyed) {
    c.position = static_cast<int>(q.choices.size());
    q.choices.push_back(std::move(c));
  }
}

QuestionBank::QuestionBank(QuestionStore* store, QuestionBankOptions options)
    : store_(store),
      options_(std::move(options)),
      page_tokens_(options_.page_token_secret) {}

absl::StatusOr<Question> QuestionBank::CreateQuestion(const Actor& actor, NewQuestion q) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  SUITE_RETURN_IF_ERROR(ToStatus(CheckNewQuestion(q, false)));
  SUITE_RETURN_IF_ERROR(RequireTags(*store_, {{"tag_ids", &q.tag_ids}}));
  q.author_id = actor.user_id;
  q.request_id = actor.request_id;
  q.publish = false;
  return store_->CreateQuestion(q);
}

absl::StatusOr<Question> QuestionBank::UpdateQuestion(const Actor& actor, const std::string& id,
                                                      const QuestionUpdate& update) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", id));
  if (!update.stem && !update.explanation && !update.difficulty && !update.choices) {
    return InvalidArgument("update_mask", "must name at least one field");
  }
  if (update.stem) {
    SUITE_RETURN_IF_ERROR(
        ToStatus(CheckText("stem", *update.stem, TextKind::kProse, kMaxStemChars, true)));
  }
  if (update.explanation) {
    SUITE_RETURN_IF_ERROR(
        ToStatus(CheckText("explanation", *update.explanation, TextKind::kProse,
                           kMaxExplanationChars, false)));
  }
  if (update.choices) SUITE_RETURN_IF_ERROR(ToStatus(CheckChoices("choices", *update.choices)));
  return store_->UpdateDraft(id, update, actor.request_id);
}

absl::StatusOr<Question> QuestionBank::PublishQuestion(const Actor& actor, const std::string& id) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", id));
  return store_->Transition(id, {QuestionStatus::kDraft}, QuestionStatus::kPublished,
                            actor.request_id);
}

absl::StatusOr<Question> QuestionBank::ArchiveQuestion(const Actor& actor, const std::string& id) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", id));
  return store_->Transition(id, {QuestionStatus::kDraft, QuestionStatus::kPublished},
                            QuestionStatus::kArchived, actor.request_id);
}

absl::StatusOr<Tag> QuestionBank::CreateTag(const Actor& actor, absl::optional<TagKind> kind,
                                            const std::string& slug, const std::string& label) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  if (!kind.has_value()) return InvalidArgument("kind", "is required");
  if (!IsSlug(slug)) {
    return InvalidArgument("slug",
                           "must be 1-64 lower-case letters, digits and single inner hyphens");
  }
  SUITE_RETURN_IF_ERROR(
      ToStatus(CheckText("label", label, TextKind::kLine, kMaxLabelChars, true)));
  return store_->CreateTag(*kind, slug, label);
}

absl::StatusOr<Question> QuestionBank::TagQuestion(const Actor& actor,
                                                   const std::string& question_id,
                                                   const std::string& tag_id) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", question_id));
  SUITE_RETURN_IF_ERROR(RequireUuid("tag_id", tag_id));
  SUITE_RETURN_IF_ERROR(store_->TagQuestion(question_id, tag_id));
  return store_->GetQuestion(question_id);
}

absl::StatusOr<Question> QuestionBank::UntagQuestion(const Actor& actor,
                                                     const std::string& question_id,
                                                     const std::string& tag_id) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", question_id));
  SUITE_RETURN_IF_ERROR(RequireUuid("tag_id", tag_id));
  SUITE_RETURN_IF_ERROR(store_->UntagQuestion(question_id, tag_id));
  return store_->GetQuestion(question_id);
}

absl::StatusOr<Question> QuestionBank::GetQuestion(const Actor& actor, const std::string& id) {
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", id));
  return AsSeenBy(actor.author, id, store_->GetQuestion(id));
}

void QuestionBank::GetQuestionAsync(const Actor& actor, const std::string& id,
                                    const AsyncCaller& caller, GetQuestionDone done) {
  if (absl::Status valid = RequireUuid("question_id", id); !valid.ok()) return done(valid);
  store_->GetQuestionAsync(
      id, caller,
      [author = actor.author, id, done = std::move(done)](absl::StatusOr<Question> q) {
        done(AsSeenBy(author, id, std::move(q)));
      });
}

absl::StatusOr<ListPage<Question>> QuestionBank::ListQuestions(const Actor& actor,
                                                               QuestionFilter filter,
                                                               int page_size,
                                                               const std::string& page_token) {
  // The filters as the caller gave them (before a member's are narrowed to published).
  const std::string fingerprint =
      Fingerprint({EnumPart(filter.status), EnumPart(filter.difficulty),
                   SortedJoin(filter.any_tag_ids), SortedJoin(filter.all_tag_ids),
                   filter.stem_query});
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, page_token, "questions", fingerprint));
  SUITE_ASSIGN_OR_RETURN(int limit, suite::api::PageLimit(page_size, 20, 100));
  SUITE_RETURN_IF_ERROR(ToStatus(CheckIds("filter.any_tag_ids", filter.any_tag_ids)));
  SUITE_RETURN_IF_ERROR(ToStatus(CheckIds("filter.all_tag_ids", filter.all_tag_ids)));
  // Words separated by any white space, tabs and line breaks included.
  SUITE_RETURN_IF_ERROR(
      ToStatus(CheckText("filter.stem_query", filter.stem_query, TextKind::kProse,
                         kMaxStemQueryChars, false)));
  filter.stem_query = std::string(absl::StripAsciiWhitespace(filter.stem_query));
  if (!actor.author) {
    if (filter.status.has_value() && *filter.status != QuestionStatus::kPublished) {
      return suite::api::WithErrorInfo(
          absl::PermissionDeniedError("members may list published questions only"),
          "MISSING_ROLE", errors::kDomain, {{"role", "author"}});
    }
    filter.status = QuestionStatus::kPublished;
  }
  // A tag that does not exist would silently match nothing; the caller learns which it is.
  SUITE_RETURN_IF_ERROR(RequireTags(*store_, {{"filter.any_tag_ids", &filter.any_tag_ids},
                                              {"filter.all_tag_ids", &filter.all_tag_ids}}));
  SUITE_ASSIGN_OR_RETURN(Page<Question> page, store_->ListQuestions(filter, after, limit));
  if (!actor.author) {
    for (Question& q : page.items) q = ForMember(std::move(q));
  }
  return ToListPage(std::move(page), page_tokens_, "questions", fingerprint);
}

absl::StatusOr<ListPage<Tag>> QuestionBank::ListTags(const Actor& actor,
                                                     const absl::optional<TagKind>& kind,
                                                     int page_size,
                                                     const std::string& page_token) {
  const std::string fingerprint = Fingerprint({EnumPart(kind)});
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, page_token, "tags", fingerprint));
  SUITE_ASSIGN_OR_RETURN(int limit, suite::api::PageLimit(page_size, 100, 500));
  SUITE_ASSIGN_OR_RETURN(Page<Tag> page, store_->ListTags(kind, after, limit));
  return ToListPage(std::move(page), page_tokens_, "tags", fingerprint);
}

// --- Import ---

absl::StatusOr<QuestionBank::Import> QuestionBank::StartImport(const Actor& actor) {
  SUITE_RETURN_IF_ERROR(RequireAuthor(actor));
  return Import(this, actor);
}

void QuestionBank::Import::Fail(int index, const std::string& key, std::string field,
                                std::string message) {
  ++result_.failed;
  if (result_.errors.size() < bank_->options_.max_import_errors) {
    result_.errors.push_back({index, key, std::move(field), std::move(message)});
  }
}

absl::Status QuestionBank::Import::Add(NewQuestion item) {
  if (next_index_ >= kMaxImportItems) {
    return InvalidArgument("items", absl::StrCat("an import holds at most ", kMaxImportItems,
                                                 " items; split it"));
  }
  const int index = next_index_++;
  if (auto v = CheckNewQuestion(item, /*require_external_key=*/true)) {
    Fail(index, item.external_key, v->first, v->second);
    return absl::OkStatus();
  }
  if (!seen_keys_.insert(item.external_key).second) {
    Fail(index, item.external_key, "external_key", "appears earlier in this import");
    return absl::OkStatus();
  }
  item.author_id = actor_.user_id;
  item.request_id = actor_.request_id;
  pending_.emplace_back(index, std::move(item));
  if (pending_.size() >= bank_->options_.import_chunk_size) return Flush();
  return absl::OkStatus();
}

absl::Status QuestionBank::Import::Reject(const NewQuestion& item, std::string field,
                                          std::string message) {
  if (next_index_ >= kMaxImportItems) {
    return InvalidArgument("items", absl::StrCat("an import holds at most ", kMaxImportItems,
                                                 " items; split it"));
  }
  Fail(next_index_++, item.external_key, std::move(field), std::move(message));
  return absl::OkStatus();
}

absl::Status QuestionBank::Import::Flush(bool last) {
  if (pending_.empty()) {
    if (last && result_.created > 0) {
      SUITE_RETURN_IF_ERROR(bank_->store_->RecordImport(
          {result_.created, result_.skipped, result_.failed, /*completed=*/true}));
      recorded_ = true;
    }
    return absl::OkStatus();
  }
  std::vector<std::string> tag_ids;
  for (const auto& [index, item] : pending_) {
    tag_ids.insert(tag_ids.end(), item.tag_ids.begin(), item.tag_ids.end());
  }
  std::set<std::string> existing;
  if (!tag_ids.empty()) {
    std::sort(tag_ids.begin(), tag_ids.end());
    tag_ids.erase(std::unique(tag_ids.begin(), tag_ids.end()), tag_ids.end());
    SUITE_ASSIGN_OR_RETURN(existing, bank_->store_->ExistingTagIds(tag_ids));
  }
  std::vector<NewQuestion> chunk;
  chunk.reserve(pending_.size());
  for (auto& [index, item] : pending_) {
    bool ok = true;
    for (size_t i = 0; i < item.tag_ids.size(); ++i) {
      if (existing.count(item.tag_ids[i]) == 0) {
        Fail(index, item.external_key, absl::StrCat("tag_ids[", i, "]"),
             absl::StrCat("tag ", item.tag_ids[i], " not found"));
        ok = false;
        break;
      }
    }
    if (ok) chunk.push_back(std::move(item));
  }
  pending_.clear();
  if (chunk.empty()) return Flush(last);
  const ImportTotals before{result_.created, result_.skipped, result_.failed,
                            /*completed=*/true};
  SUITE_ASSIGN_OR_RETURN(std::set<std::string> created,
                         bank_->store_->ImportChunk(chunk, last ? &before : nullptr));
  result_.created += static_cast<int>(created.size());
  result_.skipped += static_cast<int>(chunk.size() - created.size());
  if (last) recorded_ = true;
  return absl::OkStatus();
}

void QuestionBank::Import::Abandon() {
  if (recorded_ || result_.created == 0) return;
  recorded_ = true;
  bank_->store_
      ->RecordImport({result_.created, result_.skipped, result_.failed, /*completed=*/false})
      .IgnoreError();
}

absl::StatusOr<ImportResult> QuestionBank::Import::Finish() {
  SUITE_RETURN_IF_ERROR(Flush(/*last=*/true));
  // Best effort: the questions are stored either way, and autovacuum analyses the tables later.
  if (result_.created > 0) bank_->store_->RefreshStatistics(result_.created).IgnoreError();
  return result_;
}

// --- Practice ---

absl::StatusOr<SessionView> QuestionBank::View(PracticeSession session) {
  SessionView view;
  SUITE_ASSIGN_OR_RETURN(view.attempts, store_->SessionAttempts(session.id));
  SUITE_ASSIGN_OR_RETURN(std::vector<Question> questions,
                         store_->GetQuestions(session.question_ids));
  const bool ended = session.ended_at.has_value();
  std::set<std::string> answered;
  for (const Attempt& a : view.attempts) answered.insert(a.question_id);
  for (Question& q : questions) {
    bool reveal = ended || (session.mode == PracticeMode::kTutor && answered.count(q.id) > 0);
    view.questions.push_back(Reveal(std::move(q), reveal, session.choice_seed));
  }
  if (session.mode == PracticeMode::kExam && !ended) {
    for (Attempt& a : view.attempts) a.is_correct.reset();
  }
  session.answered_count = static_cast<int>(view.attempts.size());
  view.session = std::move(session);
  return view;
}

absl::StatusOr<SessionView> QuestionBank::StartPracticeSession(
    const Actor& actor, absl::optional<PracticeMode> mode, const PracticeFilter& filter,
    int question_count, const EntitlementCheck& entitled) {
  if (!mode.has_value()) return InvalidArgument("mode", "is required");
  SUITE_RETURN_IF_ERROR(ToStatus(CheckIds("filter.tag_ids", filter.tag_ids)));
  if (question_count < 1 || question_count > kMaxSessionQuestions) {
    return InvalidArgument("question_count",
                           absl::StrCat("must be between 1 and ", kMaxSessionQuestions));
  }
  // Before billing is asked: an unknown tag is named, not reported as "nothing matches".
  SUITE_RETURN_IF_ERROR(RequireTags(*store_, {{"filter.tag_ids", &filter.tag_ids}}));
  // The entitlement gate. Billing is asked only when the call needs it; its answer is not
  // cached here, so a cancelled subscription stops paid use at once.
  absl::string_view needs;
  if (*mode == PracticeMode::kExam) {
    needs = "exam mode";
  } else {
    const absl::Time now = options_.now();
    const absl::Time day_start =
        absl::FromCivil(absl::ToCivilDay(now, absl::UTCTimeZone()), absl::UTCTimeZone());
    SUITE_ASSIGN_OR_RETURN(int today, store_->CountSessionsSince(actor.user_id, day_start));
    if (today >= options_.free_sessions_per_day) needs = "free daily quota used up";
  }
  if (!needs.empty()) {
    absl::StatusOr<bool> ok = entitled();
    if (!ok.ok()) {
      if (ok.status().code() == absl::StatusCode::kPermissionDenied ||
          ok.status().code() == absl::StatusCode::kUnauthenticated) {
        return ok.status();
      }
      return errors::BillingUnavailable(ok.status().message());
    }
    if (!*ok) return errors::EntitlementRequired(needs);
  }
  SUITE_ASSIGN_OR_RETURN(PracticeSession session,
                         store_->StartSession(actor.user_id, *mode, filter, question_count,
                                              actor.request_id));
  return View(std::move(session));
}

absl::StatusOr<SessionView> QuestionBank::GetPracticeSession(const Actor& actor,
                                                             const std::string& id) {
  SUITE_RETURN_IF_ERROR(RequireUuid("session_id", id));
  SUITE_ASSIGN_OR_RETURN(PracticeSession session, store_->GetSession(actor.user_id, id));
  return View(std::move(session));
}

absl::StatusOr<AttemptOutcome> QuestionBank::SubmitAttempt(const Actor& actor,
                                                           const std::string& session_id,
                                                           const std::string& question_id,
                                                           const std::string& choice_id,
                                                           int64_t time_spent_ms) {
  SUITE_RETURN_IF_ERROR(RequireUuid("session_id", session_id));
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", question_id));
  SUITE_RETURN_IF_ERROR(RequireUuid("choice_id", choice_id));
  if (time_spent_ms < 0 || time_spent_ms > kMaxTimeSpentMs) {
    return InvalidArgument("time_spent_ms", "must be between 0 and 86400000");
  }
  SUITE_ASSIGN_OR_RETURN(AttemptOutcome outcome,
                         store_->SubmitAttempt(actor.user_id, session_id, question_id, choice_id,
                                               time_spent_ms, actor.request_id));
  if (!outcome.revealed) {
    // Exam mode: nothing about correctness leaves before the session ends.
    outcome.attempt.is_correct.reset();
    outcome.correct_choice_id.clear();
    outcome.explanation.clear();
  }
  return outcome;
}

absl::StatusOr<SessionView> QuestionBank::EndPracticeSession(const Actor& actor,
                                                             const std::string& id) {
  SUITE_RETURN_IF_ERROR(RequireUuid("session_id", id));
  SUITE_ASSIGN_OR_RETURN(PracticeSession session, store_->EndSession(actor.user_id, id));
  return View(std::move(session));
}

absl::StatusOr<ListPage<Attempt>> QuestionBank::ListAttempts(const Actor& actor,
                                                             const std::string& session_id,
                                                             int page_size,
                                                             const std::string& page_token) {
  // The token is bound to the caller too: a token is useless to another user.
  const std::string fingerprint = Fingerprint({actor.user_id, session_id});
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, page_token, "attempts", fingerprint));
  if (!session_id.empty()) SUITE_RETURN_IF_ERROR(RequireUuid("session_id", session_id));
  SUITE_ASSIGN_OR_RETURN(int limit, suite::api::PageLimit(page_size, 20, 100));
  SUITE_ASSIGN_OR_RETURN(Page<Attempt> page,
                         store_->ListAttempts(actor.user_id, session_id, after, limit));
  return ToListPage(std::move(page), page_tokens_, "attempts", fingerprint);
}

absl::StatusOr<UserStats> QuestionBank::GetUserStats(const Actor& actor) {
  return store_->GetUserStats(actor.user_id);
}

// --- Bookmarks ---

absl::StatusOr<Bookmark> QuestionBank::CreateBookmark(const Actor& actor,
                                                      const std::string& question_id) {
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", question_id));
  return store_->CreateBookmark(actor.user_id, question_id,
                                actor.author ? Visibility::kAll : Visibility::kPublishedOnly);
}

absl::Status QuestionBank::DeleteBookmark(const Actor& actor, const std::string& question_id) {
  SUITE_RETURN_IF_ERROR(RequireUuid("question_id", question_id));
  return store_->DeleteBookmark(actor.user_id, question_id);
}

absl::StatusOr<ListPage<Bookmark>> QuestionBank::ListBookmarks(const Actor& actor,
                                                               int page_size,
                                                               const std::string& page_token) {
  const std::string fingerprint = Fingerprint({actor.user_id});
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, page_token, "bookmarks", fingerprint));
  SUITE_ASSIGN_OR_RETURN(int limit, suite::api::PageLimit(page_size, 20, 100));
  SUITE_ASSIGN_OR_RETURN(Page<Bookmark> page, store_->ListBookmarks(actor.user_id, after, limit));
  return ToListPage(std::move(page), page_tokens_, "bookmarks", fingerprint);
}

// --- Audit ---

absl::Status QuestionBank::AuthorizeListAuditEvents(const Actor& actor) const {
  if (actor.admin) return absl::OkStatus();
  return suite::api::WithErrorInfo(
      absl::PermissionDeniedError("only an admin may list the audit trail"), "MISSING_ROLE",
      errors::kDomain, {{"role", "admin"}});
}

absl::StatusOr<suite::audit_api::AuditPage> QuestionBank::ListAuditEvents(
    const Actor& actor, const suite::audit_api::AuditQuery& query) {
  SUITE_RETURN_IF_ERROR(AuthorizeListAuditEvents(actor));
  return suite::audit_api::ListAuditPage(
      query, page_tokens_, "questions.audit_events",
      [this](const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) {
        return store_->ListAuditEvents(filter, before_seq, limit);
      });
}

}  // namespace suite::questions
