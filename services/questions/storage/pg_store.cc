#include "services/questions/storage/pg_store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "services/questions/domain/errors.h"
#include "services/questions/storage/statements.h"
#include "shared/base/audit_actor.h"
#include "shared/base/status_macros.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/batched_read_statement.h"
#include "shared/db/transaction.h"

namespace suite::questions {
namespace {

using suite::db::RunInTransaction;
using suite::db::Transaction;
using suite::db::AutocommitRead;
using suite::db::ReadOnly;
using suite::db::TxOptions;
using suite::db::audit::AppendAudit;


const char* OrNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

// A uuid[] literal of validated UUIDs (the domain checked their format), or "" for none.
std::string UuidArray(const std::vector<std::string>& ids) {
  if (ids.empty()) return "";
  return absl::StrCat("{", absl::StrJoin(ids, ","), "}");
}

std::vector<std::string> ParseUuidArray(absl::string_view text) {
  text = absl::StripPrefix(absl::StripSuffix(text, "}"), "{");
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

absl::Time FromMicros(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }

absl::optional<absl::Time> MaybeMicros(const pqxx::field& f) {
  if (f.is_null()) return absl::nullopt;
  return FromMicros(f);
}

Tag TagFrom(const pqxx::row& r, int at) {
  Tag t;
  t.id = r[at].as<std::string>();
  t.kind = ParseTagKind(r[at + 1].as<std::string>()).value_or(TagKind::kTopic);
  t.slug = r[at + 2].as<std::string>();
  t.label = r[at + 3].as<std::string>();
  t.created_at = FromMicros(r[at + 4]);
  return t;
}

Question QuestionFrom(const pqxx::row& r) {
  Question q;
  q.id = r[0].as<std::string>();
  q.external_key = r[1].as<std::string>();
  q.stem = r[2].as<std::string>();
  q.explanation = r[3].as<std::string>();
  q.difficulty = ParseDifficulty(r[4].as<std::string>()).value_or(Difficulty::kMedium);
  q.status = ParseQuestionStatus(r[5].as<std::string>()).value_or(QuestionStatus::kDraft);
  q.author_id = r[6].as<std::string>();
  q.created_at = FromMicros(r[7]);
  q.updated_at = FromMicros(r[8]);
  q.published_at = MaybeMicros(r[9]);
  return q;
}

Attempt AttemptFrom(const pqxx::row& r) {
  Attempt a;
  a.id = r[0].as<std::string>();
  a.session_id = r[1].as<std::string>();
  a.question_id = r[2].as<std::string>();
  a.choice_id = r[3].as<std::string>();
  if (!r[7].as<bool>()) a.is_correct = r[4].as<bool>();
  a.time_spent_ms = r[5].as<int64_t>();
  a.created_at = FromMicros(r[6]);
  return a;
}

std::string ChoicesJson(const std::vector<ChoiceInput>& choices) {
  nlohmann::json array = nlohmann::json::array();
  for (const ChoiceInput& c : choices) {
    array.push_back({{"text", c.text}, {"is_correct", c.is_correct}});
  }
  return array.dump();
}

std::string FilterJson(const PracticeFilter& filter) {
  nlohmann::json j = nlohmann::json::object();
  if (filter.difficulty) j["difficulty"] = std::string(DifficultyName(*filter.difficulty));
  if (!filter.tag_ids.empty()) j["tag_ids"] = filter.tag_ids;
  return j.dump();
}

PracticeFilter FilterFromJson(const std::string& text) {
  PracticeFilter filter;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return filter;
  if (j.contains("difficulty") && j["difficulty"].is_string()) {
    filter.difficulty = ParseDifficulty(j["difficulty"].get<std::string>());
  }
  if (j.contains("tag_ids") && j["tag_ids"].is_array()) {
    for (const auto& id : j["tag_ids"]) {
      if (id.is_string()) filter.tag_ids.push_back(id.get<std::string>());
    }
  }
  return filter;
}

// Loads the choices and tags of `questions` (two statements for the whole batch).
absl::Status LoadChildren(Transaction& tx, std::vector<Question>& questions) {
  if (questions.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  std::map<std::string, Question*> by_id;
  for (Question& q : questions) {
    ids.push_back(q.id);
    by_id[q.id] = &q;
  }
  const std::string array = UuidArray(ids);
  SUITE_ASSIGN_OR_RETURN(pqxx::result choices, tx.Exec("choices_of", array));
  for (const pqxx::row& r : choices) {
    Choice c;
    c.id = r[1].as<std::string>();
    c.position = r[2].as<int>();
    c.text = r[3].as<std::string>();
    c.is_correct = r[4].as<bool>();
    by_id[r[0].as<std::string>()]->choices.push_back(std::move(c));
  }
  SUITE_ASSIGN_OR_RETURN(pqxx::result tags, tx.Exec("tags_of", array));
  for (const pqxx::row& r : tags) {
    by_id[r[0].as<std::string>()]->tags.push_back(TagFrom(r, 1));
  }
  return absl::OkStatus();
}

// Reads the children columns of a row (columns 11 and 12: choices and tags, statements.cc)
// into `q`.
absl::Status ChildrenFromJson(const std::string& choices_text, const std::string& tags_text,
                              Question& q) {
  const nlohmann::json choices =
      nlohmann::json::parse(choices_text, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json tags = nlohmann::json::parse(tags_text, nullptr, /*allow_exceptions=*/false);
  if (!choices.is_array() || !tags.is_array()) {
    return absl::InternalError("a question read returned malformed children");
  }
  for (const nlohmann::json& c : choices) {
    if (!c.is_array() || c.size() != 4 || !c[0].is_string() || !c[1].is_number_integer() ||
        !c[2].is_string() || !c[3].is_boolean()) {
      return absl::InternalError("a question read returned a malformed choice");
    }
    Choice choice;
    choice.id = c[0].get<std::string>();
    choice.position = c[1].get<int>();
    choice.text = c[2].get<std::string>();
    choice.is_correct = c[3].get<bool>();
    q.choices.push_back(std::move(choice));
  }
  for (const nlohmann::json& t : tags) {
    if (!t.is_array() || t.size() != 5 || !t[0].is_string() || !t[1].is_string() ||
        !t[2].is_string() || !t[3].is_string() || !t[4].is_number_integer()) {
      return absl::InternalError("a question read returned a malformed tag");
    }
    Tag tag;
    tag.id = t[0].get<std::string>();
    tag.kind = ParseTagKind(t[1].get<std::string>()).value_or(TagKind::kTopic);
    tag.slug = t[2].get<std::string>();
    tag.label = t[3].get<std::string>();
    tag.created_at = absl::FromUnixMicros(t[4].get<int64_t>());
    q.tags.push_back(std::move(tag));
  }
  return absl::OkStatus();
}

// A row of question_full_by_id as a Question.
absl::StatusOr<Question> FullQuestionFrom(const pqxx::row& row) {
  Question q = QuestionFrom(row);
  SUITE_RETURN_IF_ERROR(ChildrenFromJson(row[11].as<std::string>(), row[12].as<std::string>(), q));
  return q;
}

// The question with its choices and tags, in one statement of `tx`.
absl::StatusOr<Question> LoadQuestion(Transaction& tx, const std::string& id) {
  SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                         suite::db::ExecBatched(tx, "question_full_by_id", {id}));
  if (rows.empty()) return errors::QuestionNotFound(id);
  return FullQuestionFrom(rows[0]);
}

absl::StatusOr<PracticeSession> LoadSession(Transaction& tx, const std::string& user_id,
                                            const std::string& session_id) {
  SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                         tx.ExecMaybeOne("session_by_id", session_id, user_id));
  if (!row.has_value()) return errors::SessionNotFound(session_id);
  const pqxx::row& r = *row;
  PracticeSession s;
  s.id = r[0].as<std::string>();
  s.user_id = r[1].as<std::string>();
  s.mode = ParsePracticeMode(r[2].as<std::string>()).value_or(PracticeMode::kTutor);
  s.filter = FilterFromJson(r[3].as<std::string>());
  s.question_ids = ParseUuidArray(r[4].as<std::string>());
  s.started_at = FromMicros(r[5]);
  s.ended_at = MaybeMicros(r[6]);
  if (!r[7].is_null()) s.score = r[7].as<int>();
  s.answered_count = r[8].as<int>();
  s.choice_seed = r[9].as<std::string>();
  return s;
}

// Maps a status of the given code to `replacement`, leaving others alone.
absl::Status Remap(absl::Status status, absl::StatusCode code, absl::Status replacement) {
  if (status.code() == code) return replacement;
  return status;
}

template <typename T>
absl::StatusOr<T> Remap(absl::StatusOr<T> result, absl::StatusCode code,
                        absl::Status replacement) {
  if (!result.ok() && result.status().code() == code) return replacement;
  return result;
}

}  // namespace

const std::string& PgQuestionStore::StatementSql(const std::string& name) {
  return QuestionStatements().at(name);
}

absl::StatusOr<std::unique_ptr<PgQuestionStore>> PgQuestionStore::Create(
    suite::db::ConnectionPool* pool) {
  SUITE_RETURN_IF_ERROR(RegisterQuestionStatements(*pool));
  return std::unique_ptr<PgQuestionStore>(new PgQuestionStore(pool));
}

PgQuestionStore::PgQuestionStore(suite::db::ConnectionPool* pool)
    : pool_(pool),
      full_questions_({},
                      [this](const std::vector<std::string>& ids) {
                        return ReadFullQuestions(ids);
                      }) {}

absl::StatusOr<Question> PgQuestionStore::CreateQuestion(const NewQuestion& q) {
  const std::string choices = ChoicesJson(q.choices);
  const std::string tags = UuidArray(q.tag_ids);
  absl::StatusOr<std::string> id = RunInTransaction<std::string>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<std::string> {
        SUITE_ASSIGN_OR_RETURN(
            pqxx::row row,
            tx.ExecOne("insert_question", OrNull(q.external_key), q.stem, q.explanation,
                       std::string(DifficultyName(q.difficulty.value_or(Difficulty::kMedium))), q.author_id,
                       OrNull(q.request_id)));
        std::string id = row[0].as<std::string>();
        SUITE_RETURN_IF_ERROR(tx.Exec("insert_choices", id, choices).status());
        if (!tags.empty()) {
          SUITE_RETURN_IF_ERROR(Remap(tx.Exec("insert_question_tags", id, tags).status(),
                                      absl::StatusCode::kFailedPrecondition,
                                      errors::UnknownTag()));
        }
        nlohmann::json after = {{"status", "draft"}};
        if (!q.external_key.empty()) after["external_key"] = q.external_key;
        SUITE_RETURN_IF_ERROR(
            AppendAudit(tx, kAuditSchema, {"question.create", "question", id, nullptr, after}));
        return id;
      });
  if (!id.ok()) {
    return Remap(id.status(), absl::StatusCode::kAlreadyExists, errors::ExternalKeyExists());
  }
  return GetQuestion(*id);
}

namespace {

absl::StatusOr<Question> FoundQuestion(const std::string& id,
                                       absl::StatusOr<absl::optional<Question>> read) {
  SUITE_ASSIGN_OR_RETURN(absl::optional<Question> question, std::move(read));
  if (!question.has_value()) return errors::QuestionNotFound(id);
  return *std::move(question);
}

}  // namespace

absl::StatusOr<Question> PgQuestionStore::GetQuestion(const std::string& id) {
  return FoundQuestion(id, full_questions_.Read(id));
}

void PgQuestionStore::GetQuestionAsync(const std::string& id, const AsyncCaller& caller,
                                       GetQuestionDone done) {
  full_questions_.ReadAsync(
      id, caller, [id, done = std::move(done)](absl::StatusOr<absl::optional<Question>> read) {
        done(FoundQuestion(id, std::move(read)));
      });
}

absl::StatusOr<PgQuestionStore::QuestionBatcher::ValueMap> PgQuestionStore::ReadFullQuestions(
    const std::vector<std::string>& ids) {
  // One statement (question, choices and tags together), so autocommit gives the same
  // consistent snapshot a READ ONLY transaction would, in one round trip instead of five.
  using Result = QuestionBatcher::ValueMap;
  return RunInTransaction<Result>(
      *pool_, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<Result> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                               suite::db::ExecBatched(tx, "question_full_by_id", ids));
        Result questions;
        for (const pqxx::row& row : rows) {
          SUITE_ASSIGN_OR_RETURN(Question q, FullQuestionFrom(row));
          questions[row[row.size() - 1].as<std::string>()] = std::move(q);
        }
        return questions;
      });
}

absl::StatusOr<std::vector<Question>> PgQuestionStore::GetQuestions(
    const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<Question>();
  return RunInTransaction<std::vector<Question>>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<std::vector<Question>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("questions_by_ids", UuidArray(ids)));
        std::map<std::string, Question> by_id;
        std::vector<Question> loaded;
        for (const pqxx::row& r : rows) loaded.push_back(QuestionFrom(r));
        SUITE_RETURN_IF_ERROR(LoadChildren(tx, loaded));
        for (Question& q : loaded) by_id[q.id] = std::move(q);
        std::vector<Question> ordered;
        for (const std::string& id : ids) {
          auto it = by_id.find(id);
          if (it != by_id.end()) ordered.push_back(it->second);
        }
        return ordered;
      });
}

absl::StatusOr<Question> PgQuestionStore::UpdateDraft(const std::string& id,
                                                      const QuestionUpdate& update,
                                                      const std::string& request_id) {
  const std::string stem = update.stem.value_or("");
  const std::string explanation = update.explanation.value_or("");
  const std::string difficulty =
      update.difficulty ? std::string(DifficultyName(*update.difficulty)) : "";
  return RunInTransaction<Question>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<Question> {
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row, tx.ExecMaybeOne("lock_question", id));
        if (!row.has_value()) return errors::QuestionNotFound(id);
        const std::string status = (*row)[0].as<std::string>();
        if (status != "draft") return errors::WrongStatus(status, "updated");
        SUITE_RETURN_IF_ERROR(tx.Exec("update_question", id,
                                      update.stem ? stem.c_str() : nullptr,
                                      update.explanation ? explanation.c_str() : nullptr,
                                      OrNull(difficulty), OrNull(request_id))
                                  .status());
        if (update.choices) {
          SUITE_RETURN_IF_ERROR(tx.Exec("delete_choices", id).status());
          SUITE_RETURN_IF_ERROR(tx.Exec("insert_choices", id, ChoicesJson(*update.choices)).status());
        }
        // Which fields changed, not their text: the question itself holds the new text.
        nlohmann::json fields = nlohmann::json::array();
        if (update.stem) fields.push_back("stem");
        if (update.explanation) fields.push_back("explanation");
        if (update.difficulty) fields.push_back("difficulty");
        if (update.choices) fields.push_back("choices");
        SUITE_RETURN_IF_ERROR(AppendAudit(tx, kAuditSchema,
                                          {"question.update", "question", id, nullptr,
                                           {{"fields", fields}}}));
        return LoadQuestion(tx, id);
      });
}

absl::StatusOr<Question> PgQuestionStore::Transition(const std::string& id,
                                                     const std::vector<QuestionStatus>& from,
                                                     QuestionStatus to,
                                                     const std::string& request_id) {
  std::vector<std::string> names;
  for (QuestionStatus s : from) names.emplace_back(QuestionStatusName(s));
  const std::string from_array = absl::StrCat("{", absl::StrJoin(names, ","), "}");
  const std::string to_name(QuestionStatusName(to));
  return RunInTransaction<Question>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<Question> {
        // The row is locked first, so the status it had (the audit row's "before") is the one
        // the move replaces, also when another call moves it at the same time.
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row, tx.ExecMaybeOne("lock_question", id));
        if (!row.has_value()) return errors::QuestionNotFound(id);
        const std::string before = (*row)[0].as<std::string>();
        SUITE_ASSIGN_OR_RETURN(
            absl::optional<pqxx::row> moved,
            tx.ExecMaybeOne("transition_question", id, to_name, OrNull(request_id), from_array));
        if (!moved.has_value()) {
          return errors::WrongStatus(before,
                                     to == QuestionStatus::kPublished ? "published" : "archived");
        }
        SUITE_RETURN_IF_ERROR(AppendAudit(
            tx, kAuditSchema,
            {to == QuestionStatus::kPublished ? "question.publish" : "question.archive",
             "question", id, {{"status", before}}, {{"status", to_name}}}));
        return LoadQuestion(tx, id);
      });
}

absl::StatusOr<Page<Question>> PgQuestionStore::ListQuestions(const QuestionFilter& filter,
                                                              const absl::optional<Cursor>& after,
                                                              int limit) {
  const std::string status = filter.status ? std::string(QuestionStatusName(*filter.status)) : "";
  const std::string difficulty =
      filter.difficulty ? std::string(DifficultyName(*filter.difficulty)) : "";
  std::vector<std::string> all = filter.all_tag_ids;
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  const std::string any_tags = UuidArray(filter.any_tag_ids);
  const std::string all_tags = UuidArray(all);
  const std::string after_ts = after ? after->first : "";
  const std::string after_id = after ? after->second : "";
  // One statement (the page with its choices and tags), so autocommit reads one consistent
  // snapshot, as the READ ONLY transaction did, in one round trip instead of five.
  return RunInTransaction<Page<Question>>(
      *pool_, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<Page<Question>> {
        // One tag to have, any-of or all-of: that tag's keyset walk. Several to have all of:
        // the set of questions having them. Otherwise the general statement.
        const bool lone_all_tag = filter.any_tag_ids.empty() && all.size() == 1;
        const bool one_tag = filter.any_tag_ids.size() == 1 || lone_all_tag;
        const char* statement = one_tag        ? "list_questions_one_tag"
                                : !all.empty() ? "list_questions_all_tags"
                                               : "list_questions";
        SUITE_ASSIGN_OR_RETURN(
            pqxx::result rows,
            tx.Exec(statement, OrNull(status), OrNull(difficulty),
                    one_tag ? (lone_all_tag ? all[0] : filter.any_tag_ids[0]).c_str()
                            : OrNull(any_tags),
                    lone_all_tag ? nullptr : OrNull(all_tags), OrNull(filter.stem_query),
                    OrNull(after_ts), OrNull(after_id), limit + 1));
        Page<Question> page;
        for (const pqxx::row& r : rows) {
          if (static_cast<int>(page.items.size()) == limit) {
            const Question& last = page.items.back();
            page.next = Cursor{rows[limit - 1][10].as<std::string>(), last.id};
            break;
          }
          page.items.push_back(QuestionFrom(r));
          SUITE_RETURN_IF_ERROR(ChildrenFromJson(r[11].as<std::string>(),
                                                 r[12].as<std::string>(), page.items.back()));
        }
        return page;
      });
}

absl::StatusOr<Tag> PgQuestionStore::CreateTag(TagKind kind, const std::string& slug,
                                               const std::string& label) {
  absl::StatusOr<Tag> tag = RunInTransaction<Tag>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<Tag> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                               tx.ExecOne("insert_tag", std::string(TagKindName(kind)), slug, label));
        Tag tag = TagFrom(row, 0);
        SUITE_RETURN_IF_ERROR(AppendAudit(
            tx, kAuditSchema,
            {"tag.create", "tag", tag.id, nullptr,
             {{"kind", std::string(TagKindName(kind))}, {"slug", slug}}}));
        return tag;
      });
  return Remap(std::move(tag), absl::StatusCode::kAlreadyExists, errors::TagExists());
}

absl::StatusOr<Page<Tag>> PgQuestionStore::ListTags(const absl::optional<TagKind>& kind,
                                                    const absl::optional<Cursor>& after,
                                                    int limit) {
  const std::string kind_name = kind ? std::string(TagKindName(*kind)) : "";
  const std::string after_kind = after ? after->first : "";
  const std::string after_slug = after ? after->second : "";
  return RunInTransaction<Page<Tag>>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Page<Tag>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                               tx.Exec("list_tags", OrNull(kind_name), OrNull(after_kind),
                                       after_slug, limit + 1));
        Page<Tag> page;
        for (const pqxx::row& r : rows) {
          if (static_cast<int>(page.items.size()) == limit) {
            const Tag& last = page.items.back();
            page.next = Cursor{std::string(TagKindName(last.kind)), last.slug};
            break;
          }
          page.items.push_back(TagFrom(r, 0));
        }
        return page;
      });
}

absl::Status PgQuestionStore::TagQuestion(const std::string& question_id,
                                          const std::string& tag_id) {
  return RunInTransaction(*pool_, TxOptions(), [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> q,
                           tx.ExecMaybeOne("question_exists", question_id));
    if (!q.has_value()) return errors::QuestionNotFound(question_id);
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> t, tx.ExecMaybeOne("tag_exists", tag_id));
    if (!t.has_value()) return errors::TagNotFound(tag_id);
    SUITE_ASSIGN_OR_RETURN(pqxx::result added, tx.Exec("tag_question", question_id, tag_id));
    // Attaching an attached tag changes nothing, so it records nothing.
    if (added.affected_rows() == 0) return absl::OkStatus();
    return AppendAudit(tx, kAuditSchema,
                       {"question.tag", "question", question_id, nullptr, {{"tag_id", tag_id}}});
  });
}

absl::Status PgQuestionStore::UntagQuestion(const std::string& question_id,
                                            const std::string& tag_id) {
  return RunInTransaction(*pool_, TxOptions(), [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> q,
                           tx.ExecMaybeOne("question_exists", question_id));
    if (!q.has_value()) return errors::QuestionNotFound(question_id);
    SUITE_ASSIGN_OR_RETURN(pqxx::result removed, tx.Exec("untag_question", question_id, tag_id));
    if (removed.affected_rows() == 0) return absl::OkStatus();
    return AppendAudit(tx, kAuditSchema,
                       {"question.untag", "question", question_id, {{"tag_id", tag_id}}, nullptr});
  });
}

absl::StatusOr<std::set<std::string>> PgQuestionStore::ExistingTagIds(
    const std::vector<std::string>& ids) {
  if (ids.empty()) return std::set<std::string>();
  return RunInTransaction<std::set<std::string>>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<std::set<std::string>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("existing_tag_ids", UuidArray(ids)));
        std::set<std::string> found;
        for (const pqxx::row& r : rows) found.insert(r[0].as<std::string>());
        return found;
      });
}

namespace {

// An import's one audit row: no id of its own, so the request id names it.
absl::Status AppendImportAudit(Transaction& tx, const ImportTotals& totals) {
  return AppendAudit(tx, kAuditSchema,
                     {"question.import", "import", suite::CurrentAuditActor().request_id, nullptr,
                      {{"created", totals.created},
                       {"skipped", totals.skipped},
                       {"failed", totals.failed},
                       {"completed", totals.completed}}});
}

}  // namespace

absl::StatusOr<std::set<std::string>> PgQuestionStore::ImportChunk(
    const std::vector<NewQuestion>& chunk, const ImportTotals* last) {
  nlohmann::json items = nlohmann::json::array();
  for (const NewQuestion& q : chunk) {
    nlohmann::json choices = nlohmann::json::array();
    for (const ChoiceInput& c : q.choices) {
      choices.push_back({{"text", c.text}, {"is_correct", c.is_correct}});
    }
    items.push_back({{"external_key", q.external_key},
                     {"stem", q.stem},
                     {"explanation", q.explanation},
                     {"difficulty", std::string(DifficultyName(q.difficulty.value_or(Difficulty::kMedium)))},
                     {"publish", q.publish},
                     {"author_id", q.author_id},
                     {"request_id", q.request_id.empty() ? nlohmann::json() : nlohmann::json(q.request_id)},
                     {"choices", choices},
                     {"tag_ids", q.tag_ids}});
  }
  const std::string payload = items.dump();
  absl::StatusOr<std::set<std::string>> created = RunInTransaction<std::set<std::string>>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<std::set<std::string>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("import_chunk", payload));
        std::set<std::string> keys;
        for (const pqxx::row& r : rows) keys.insert(r[0].as<std::string>());
        if (last != nullptr) {
          ImportTotals totals = *last;
          totals.created += static_cast<int>(keys.size());
          totals.skipped += static_cast<int>(chunk.size() - keys.size());
          if (totals.created > 0) SUITE_RETURN_IF_ERROR(AppendImportAudit(tx, totals));
        }
        return keys;
      });
  return Remap(std::move(created), absl::StatusCode::kFailedPrecondition, errors::UnknownTag());
}

absl::Status PgQuestionStore::RecordImport(const ImportTotals& totals) {
  return RunInTransaction(*pool_, TxOptions(), [&](Transaction& tx) -> absl::Status {
    return AppendImportAudit(tx, totals);
  });
}

absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> PgQuestionStore::ListAuditEvents(
    const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) {
  return suite::db::audit::ListAuditEvents(*pool_, kAuditSchema, filter, before_seq, limit);
}

absl::StatusOr<bool> PgQuestionStore::RefreshStatistics(int64_t added) {
  return RunInTransaction<bool>(*pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<bool> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("refresh_bank_statistics", added));
    return row[0].as<bool>();
  });
}

absl::StatusOr<int> PgQuestionStore::CountSessionsSince(const std::string& user_id,
                                                        absl::Time since) {
  const std::string ts = absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", since, absl::UTCTimeZone());
  return RunInTransaction<int>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<int> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("count_sessions_since", user_id, ts));
    return row[0].as<int>();
  });
}

absl::StatusOr<PracticeSession> PgQuestionStore::StartSession(const std::string& user_id,
                                                              PracticeMode mode,
                                                              const PracticeFilter& filter,
                                                              int count,
                                                              const std::string& request_id) {
  const std::string difficulty =
      filter.difficulty ? std::string(DifficultyName(*filter.difficulty)) : "";
  const std::string tags = UuidArray(filter.tag_ids);
  return RunInTransaction<PracticeSession>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<PracticeSession> {
        auto draw = [&](const char* statement) {
          return tx.ExecMaybeOne(statement, user_id, OrNull(difficulty), OrNull(tags), count,
                                 std::string(PracticeModeName(mode)), FilterJson(filter),
                                 OrNull(request_id));
        };
        // The sampled draw first; the exact one when it could not draw `count` (see the SQL).
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row, draw("start_session_sampled"));
        if (!row.has_value()) {
          SUITE_ASSIGN_OR_RETURN(row, draw("start_session"));
        }
        if (!row.has_value()) return errors::NoQuestionsMatch();
        return LoadSession(tx, user_id, (*row)[0].as<std::string>());
      });
}

absl::StatusOr<PracticeSession> PgQuestionStore::GetSession(const std::string& user_id,
                                                            const std::string& session_id) {
  return RunInTransaction<PracticeSession>(*pool_, ReadOnly(), [&](Transaction& tx) {
    return LoadSession(tx, user_id, session_id);
  });
}

absl::StatusOr<std::vector<Attempt>> PgQuestionStore::SessionAttempts(
    const std::string& session_id) {
  return RunInTransaction<std::vector<Attempt>>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<std::vector<Attempt>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("session_attempts", session_id));
        std::vector<Attempt> attempts;
        for (const pqxx::row& r : rows) attempts.push_back(AttemptFrom(r));
        return attempts;
      });
}

absl::StatusOr<AttemptOutcome> PgQuestionStore::SubmitAttempt(const std::string& user_id,
                                                              const std::string& session_id,
                                                              const std::string& question_id,
                                                              const std::string& choice_id,
                                                              int64_t time_spent_ms,
                                                              const std::string& request_id) {
  absl::StatusOr<AttemptOutcome> outcome = RunInTransaction<AttemptOutcome>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<AttemptOutcome> {
        // FOR SHARE: concurrent submits proceed together, EndSession waits for them.
        SUITE_ASSIGN_OR_RETURN(
            absl::optional<pqxx::row> session,
            tx.ExecMaybeOne("lock_session_for_attempt", session_id, user_id, question_id));
        if (!session.has_value()) return errors::SessionNotFound(session_id);
        if ((*session)[1].as<bool>()) return errors::SessionEnded();
        if (!(*session)[2].as<bool>()) {
          return suite::api::InvalidArgument(
              "question_id", absl::StrCat("question ", question_id, " is not in practice session ",
                                          session_id));
        }
        const bool tutor = (*session)[0].as<std::string>() == "tutor";
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> choice,
                               tx.ExecMaybeOne("choice_of_question", choice_id, question_id));
        if (!choice.has_value()) {
          return suite::api::InvalidArgument(
              "choice_id",
              absl::StrCat("choice ", choice_id, " is not a choice of question ", question_id));
        }
        const bool correct = (*choice)[0].as<bool>();
        SUITE_ASSIGN_OR_RETURN(
            pqxx::row inserted,
            Remap(tx.ExecOne("insert_attempt", session_id, question_id, choice_id, user_id,
                             correct, time_spent_ms, OrNull(request_id)),
                  absl::StatusCode::kAlreadyExists, errors::AlreadyAnswered()));
        AttemptOutcome out;
        out.attempt.id = inserted[0].as<std::string>();
        out.attempt.created_at = FromMicros(inserted[1]);
        out.attempt.session_id = session_id;
        out.attempt.question_id = question_id;
        out.attempt.choice_id = choice_id;
        out.attempt.is_correct = correct;
        out.attempt.time_spent_ms = time_spent_ms;
        out.revealed = tutor;
        SUITE_ASSIGN_OR_RETURN(pqxx::row answer, tx.ExecOne("answer_of_question", question_id));
        out.correct_choice_id = answer[0].as<std::string>();
        out.explanation = answer[1].as<std::string>();
        return out;
      });
  return outcome;
}

absl::StatusOr<PracticeSession> PgQuestionStore::EndSession(const std::string& user_id,
                                                            const std::string& session_id) {
  return RunInTransaction<PracticeSession>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<PracticeSession> {
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> ended,
                               tx.ExecMaybeOne("end_session", session_id, user_id));
        SUITE_ASSIGN_OR_RETURN(PracticeSession session, LoadSession(tx, user_id, session_id));
        if (!ended.has_value()) return errors::SessionEnded();
        return session;
      });
}

absl::StatusOr<Page<Attempt>> PgQuestionStore::ListAttempts(const std::string& user_id,
                                                            const std::string& session_id,
                                                            const absl::optional<Cursor>& after,
                                                            int limit) {
  const std::string after_ts = after ? after->first : "";
  const std::string after_id = after ? after->second : "";
  return RunInTransaction<Page<Attempt>>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Page<Attempt>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                               tx.Exec("list_attempts", user_id, OrNull(session_id),
                                       OrNull(after_ts), OrNull(after_id), limit + 1));
        Page<Attempt> page;
        for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
          if (i == limit) {
            page.next = Cursor{rows[i - 1][8].as<std::string>(), rows[i - 1][0].as<std::string>()};
            break;
          }
          page.items.push_back(AttemptFrom(rows[i]));
        }
        return page;
      });
}

absl::StatusOr<UserStats> PgQuestionStore::GetUserStats(const std::string& user_id) {
  return RunInTransaction<UserStats>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<UserStats> {
        UserStats stats;
        SUITE_ASSIGN_OR_RETURN(pqxx::result by_difficulty,
                               tx.Exec("stats_by_difficulty", user_id));
        for (const pqxx::row& r : by_difficulty) {
          Accuracy a{r[1].as<int>(), r[2].as<int>()};
          stats.overall.attempts += a.attempts;
          stats.overall.correct += a.correct;
          stats.by_difficulty.emplace_back(
              ParseDifficulty(r[0].as<std::string>()).value_or(Difficulty::kMedium), a);
        }
        SUITE_ASSIGN_OR_RETURN(pqxx::result by_tag, tx.Exec("stats_by_tag", user_id));
        for (const pqxx::row& r : by_tag) {
          stats.by_tag.emplace_back(TagFrom(r, 0), Accuracy{r[5].as<int>(), r[6].as<int>()});
        }
        return stats;
      });
}

absl::StatusOr<Bookmark> PgQuestionStore::CreateBookmark(const std::string& user_id,
                                                         const std::string& question_id,
                                                         Visibility visibility) {
  absl::StatusOr<Bookmark> bookmark = RunInTransaction<Bookmark>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<Bookmark> {
        SUITE_ASSIGN_OR_RETURN(
            absl::optional<pqxx::row> row,
            tx.ExecMaybeOne("insert_bookmark", user_id, question_id,
                            visibility == Visibility::kPublishedOnly));
        if (!row.has_value()) return errors::QuestionNotFound(question_id);
        return Bookmark{(*row)[0].as<std::string>(), FromMicros((*row)[1])};
      });
  return Remap(std::move(bookmark), absl::StatusCode::kAlreadyExists, errors::BookmarkExists());
}

absl::Status PgQuestionStore::DeleteBookmark(const std::string& user_id,
                                             const std::string& question_id) {
  return RunInTransaction(*pool_, TxOptions(), [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                           tx.ExecMaybeOne("delete_bookmark", user_id, question_id));
    if (!row.has_value()) return errors::BookmarkNotFound(question_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<Page<Bookmark>> PgQuestionStore::ListBookmarks(const std::string& user_id,
                                                              const absl::optional<Cursor>& after,
                                                              int limit) {
  const std::string after_ts = after ? after->first : "";
  const std::string after_id = after ? after->second : "";
  return RunInTransaction<Page<Bookmark>>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Page<Bookmark>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                               tx.Exec("list_bookmarks", user_id, OrNull(after_ts),
                                       OrNull(after_id), limit + 1));
        Page<Bookmark> page;
        for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
          if (i == limit) {
            page.next = Cursor{rows[i - 1][2].as<std::string>(), rows[i - 1][3].as<std::string>()};
            break;
          }
          page.items.push_back(Bookmark{rows[i][0].as<std::string>(), FromMicros(rows[i][1])});
        }
        return page;
      });
}

}  // namespace suite::questions
