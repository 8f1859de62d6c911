#include "services/questions/storage/statements.h"

#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/batched_read_statement.h"

namespace suite::questions {
namespace {

// Timestamps travel as microseconds since the epoch (exact: extract() is numeric); keyset
// cursors carry the timestamptz text PostgreSQL prints, which casts back exactly.
#define US(col) "(extract(epoch FROM " col ") * 1000000)::int8"

constexpr char kQuestionColumns[] =
    "q.id, coalesce(q.external_key, ''), q.stem, q.explanation, q.difficulty::text, "
    "q.status::text, q.author_id, " US("q.created_at") ", " US("q.updated_at") ", "
    US("q.published_at") ", q.created_at::text";

// A question's choices and tags as two JSON arrays of arrays (the order of choices_of /
// tags_of), appended to kQuestionColumns of a query on `questions q`: a question, or a list
// page, with its children in one statement. In a page query the subqueries run for the
// returned rows only: a LIMIT stops the scan, and past a Sort PostgreSQL postpones costly
// output columns until after the LIMIT.
const std::string kChildrenColumns = absl::StrCat(
    "(SELECT coalesce(json_agg(json_build_array(c.id, c.position, c.text, c.is_correct) "
    "ORDER BY c.position), '[]') FROM questions.choices c WHERE c.question_id = q.id)"
    ", (SELECT coalesce(json_agg(json_build_array(t.id, t.kind::text, t.slug, t.label, ",
    US("t.created_at"), ") ORDER BY t.kind, t.slug), '[]') "
    "FROM questions.question_tags cqt JOIN questions.tags t ON t.id = cqt.tag_id "
    "WHERE cqt.question_id = q.id)");

// GetQuestion in one round trip, for the ids of one ReadBatcher batch (batched_read_statement.h):
// each question row with its choices and tags as JSON arrays of arrays (same order as
// choices_of / tags_of), then the id as asked for.
std::string FullQuestionsSql(absl::string_view ids) {
  return absl::StrCat("SELECT ", kQuestionColumns, ", ", kChildrenColumns, ", k.id FROM ", ids,
                      " JOIN questions.questions q ON q.id = k.id::uuid AND q.deleted_at IS NULL");
}

// ListQuestions' page over the questions in keyset order (newest first) with their choices
// and tags (kChildrenColumns); `all_tags` is the clause that filters on all_tag_ids ($4).
std::string ListQuestionsSql(absl::string_view all_tags) {
  return absl::StrCat(
      "SELECT ", kQuestionColumns, ", ", kChildrenColumns,
      " FROM questions.questions q WHERE q.deleted_at IS NULL "
      "AND ($1::questions.question_status IS NULL OR q.status = $1) "
      "AND ($2::questions.question_difficulty IS NULL OR q.difficulty = $2) "
      "AND ($3::uuid[] IS NULL OR EXISTS (SELECT 1 FROM questions.question_tags qt "
      "WHERE qt.question_id = q.id AND qt.tag_id = ANY($3::uuid[]))) ",
      all_tags,
      "AND ($5::text IS NULL OR to_tsvector('simple'::regconfig, q.stem) @@ "
      "plainto_tsquery('simple'::regconfig, $5)) "
      "AND ($6::timestamptz IS NULL OR (q.created_at, q.id) < ($6::timestamptz, $7::uuid)) "
      "ORDER BY q.created_at DESC, q.id DESC LIMIT $8");
}

// Whether user $1 knows they answered `question` correctly: the draw of a practice session
// prefers the others. An attempt of an exam session still open does not count: its
// correctness is hidden until the session ends, and a draw steered by it would tell (start a
// session of a few questions and see which of the exam's questions come back).
std::string KnownCorrect(absl::string_view question) {
  return absl::StrCat(
      "EXISTS (SELECT 1 FROM questions.attempts a JOIN questions.practice_sessions ps "
      "ON ps.id = a.session_id WHERE a.user_id = $1 AND a.question_id = ",
      question, " AND a.is_correct AND (ps.mode = 'tutor' OR ps.ended_at IS NOT NULL))");
}

}  // namespace

const std::map<std::string, std::string>& QuestionStatements() {
  static const auto* statements = new std::map<std::string, std::string>{
      {"insert_question",
       "INSERT INTO questions.questions (external_key, stem, explanation, difficulty, author_id, "
       "request_id) VALUES ($1, $2, $3, $4::questions.question_difficulty, $5, $6) RETURNING id"},
      {"insert_choices",
       "INSERT INTO questions.choices (question_id, position, text, is_correct) "
       "SELECT $1, (x.ord - 1)::int, x.c->>'text', (x.c->>'is_correct')::boolean "
       "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(c, ord)"},
      {"insert_question_tags",
       "INSERT INTO questions.question_tags (question_id, tag_id) "
       "SELECT $1, t FROM unnest($2::uuid[]) AS t ON CONFLICT DO NOTHING"},
      {"questions_by_ids",
       absl::StrCat("SELECT ", kQuestionColumns,
                    " FROM questions.questions q WHERE q.id = ANY($1::uuid[]) "
                    "AND q.deleted_at IS NULL")},
      {"choices_of",
       "SELECT question_id, id, position, text, is_correct FROM questions.choices "
       "WHERE question_id = ANY($1::uuid[]) ORDER BY question_id, position"},
      {"tags_of",
       "SELECT qt.question_id, t.id, t.kind::text, t.slug, t.label, " US("t.created_at")
       " FROM questions.question_tags qt JOIN questions.tags t ON t.id = qt.tag_id "
       "WHERE qt.question_id = ANY($1::uuid[]) ORDER BY qt.question_id, t.kind, t.slug"},
      {"lock_question",
       "SELECT status::text FROM questions.questions WHERE id = $1 AND deleted_at IS NULL "
       "FOR UPDATE"},
      {"update_question",
       "UPDATE questions.questions SET stem = coalesce($2, stem), "
       "explanation = coalesce($3, explanation), "
       "difficulty = coalesce($4::questions.question_difficulty, difficulty), request_id = $5 "
       "WHERE id = $1"},
      {"delete_choices", "DELETE FROM questions.choices WHERE question_id = $1"},
      {"transition_question",
       "UPDATE questions.questions SET status = $2::questions.question_status, "
       "published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END, "
       "request_id = $3 WHERE id = $1 AND deleted_at IS NULL "
       "AND status = ANY($4::questions.question_status[]) RETURNING id"},
      // ListQuestions' general statement. ListQuestions sends all_tag_ids ($4) to
      // list_questions_one_tag or _all_tags instead; this clause stays so that the three
      // statements take the same parameters, alike.
      {"list_questions",
       ListQuestionsSql("AND ($4::uuid[] IS NULL OR (SELECT count(*) FROM questions.question_tags "
                        "qt WHERE qt.question_id = q.id AND qt.tag_id = ANY($4::uuid[])) = "
                        "cardinality($4::uuid[])) ")},
      // list_questions for all_tag_ids of two tags or more (and no single any-tag): the
      // questions having every one of them are one set, built once from those tags' links and
      // then joined to the page walk. Checking each walked question's tags instead, a
      // combination few questions have read the whole bank (3.3 s at 10^6 questions; this
      // form 40-170 ms). Planned per call (see Create): a generic plan
      // of this form built the set by a GroupAggregate, 0.6 s.
      {"list_questions_all_tags",
       ListQuestionsSql("AND q.id IN (SELECT hat.question_id FROM questions.question_tags hat "
                        "WHERE hat.tag_id = ANY($4::uuid[]) GROUP BY hat.question_id "
                        "HAVING count(*) = cardinality($4::uuid[])) ")},
      // list_questions for the common filter of exactly one any-tag: walks that tag's links in
      // page order on question_tags_tag_id_question_created_at_idx (question_created_at is a
      // copy of q.created_at), so a page reads about $8 entries however many questions the tag
      // has. The keyset bound has no OR, so it is an index condition in the generic plan too.
      // Same parameters and result as list_questions, with $3 a single uuid.
      {"list_questions_one_tag",
       absl::StrCat(
           "SELECT ", kQuestionColumns, ", ", kChildrenColumns,
           " FROM questions.question_tags qt JOIN questions.questions q ON q.id = qt.question_id "
           "WHERE qt.tag_id = $3::uuid AND q.deleted_at IS NULL "
           "AND ($1::questions.question_status IS NULL OR q.status = $1) "
           "AND ($2::questions.question_difficulty IS NULL OR q.difficulty = $2) "
           "AND ($4::uuid[] IS NULL OR (SELECT count(*) FROM questions.question_tags qt2 "
           "WHERE qt2.question_id = q.id AND qt2.tag_id = ANY($4::uuid[])) = cardinality($4::uuid[])) "
           "AND ($5::text IS NULL OR to_tsvector('simple'::regconfig, q.stem) @@ "
           "plainto_tsquery('simple'::regconfig, $5)) "
           "AND (qt.question_created_at, qt.question_id) < "
           "(coalesce($6::timestamptz, 'infinity'), "
           "coalesce($7::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) "
           "ORDER BY qt.question_created_at DESC, qt.question_id DESC LIMIT $8")},
      {"insert_tag",
       "INSERT INTO questions.tags (kind, slug, label) VALUES ($1::questions.tag_kind, $2, $3) "
       "RETURNING id, kind::text, slug, label, " US("created_at")},
      {"list_tags",
       // ORDER BY qualified: the bare name would sort by the output column kind::text.
       "SELECT t.id, t.kind::text, t.slug, t.label, " US("t.created_at") " FROM questions.tags t "
       "WHERE ($1::questions.tag_kind IS NULL OR t.kind = $1) "
       "AND ($2::questions.tag_kind IS NULL OR (t.kind, t.slug) > ($2::questions.tag_kind, "
       "$3::text)) ORDER BY t.kind, t.slug LIMIT $4"},
      {"question_exists",
       "SELECT 1 FROM questions.questions WHERE id = $1 AND deleted_at IS NULL"},
      {"tag_exists", "SELECT 1 FROM questions.tags WHERE id = $1"},
      // The migration's SECURITY DEFINER function: ANALYZE needs the tables' owner.
      {"refresh_bank_statistics", "SELECT questions.refresh_bank_statistics($1::int8)"},
      {"tag_question",
       "INSERT INTO questions.question_tags (question_id, tag_id) VALUES ($1, $2) "
       "ON CONFLICT DO NOTHING"},
      {"untag_question",
       "DELETE FROM questions.question_tags WHERE question_id = $1 AND tag_id = $2"},
      {"existing_tag_ids", "SELECT id FROM questions.tags WHERE id = ANY($1::uuid[])"},
      {"import_chunk",
       "WITH items AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(external_key text, "
       "stem text, explanation text, difficulty questions.question_difficulty, publish boolean, "
       "author_id uuid, request_id uuid, choices jsonb, tag_ids uuid[])), "
       "ins AS (INSERT INTO questions.questions (external_key, stem, explanation, difficulty, "
       "status, published_at, author_id, request_id) "
       "SELECT external_key, stem, explanation, difficulty, CASE WHEN publish THEN "
       "'published'::questions.question_status ELSE 'draft'::questions.question_status END, "
       "CASE WHEN publish THEN now() END, author_id, request_id FROM items "
       "ON CONFLICT (external_key) DO NOTHING RETURNING id, external_key), "
       "ch AS (INSERT INTO questions.choices (question_id, position, text, is_correct) "
       "SELECT ins.id, (c.ord - 1)::int, c.value->>'text', (c.value->>'is_correct')::boolean "
       "FROM ins JOIN items USING (external_key) "
       "CROSS JOIN LATERAL jsonb_array_elements(items.choices) WITH ORDINALITY AS c(value, ord)), "
       "tg AS (INSERT INTO questions.question_tags (question_id, tag_id) "
       "SELECT DISTINCT ins.id, t.tag_id FROM ins JOIN items USING (external_key) "
       "CROSS JOIN LATERAL unnest(items.tag_ids) AS t(tag_id)) "
       "SELECT external_key FROM ins"},
      {"count_sessions_since",
       "SELECT count(*) FROM questions.practice_sessions WHERE user_id = $1 "
       "AND started_at >= $2::timestamptz"},
      // StartSession's draw. start_session orders every matching question (a correct-attempt
      // probe and a random() each) to keep `count`: exact, but linear in the bank (0.7 s at
      // 10^6 questions). start_session_sampled is tried first: 3 *
      // count random points in the id order (ids are random v4 UUIDs, so that order is a random
      // permutation), at each the next 32 published questions, of those one at random that
      // matches the filter and that the user does not know they answered correctly
      // (KnownCorrect: open exams do not count). Each question lies in
      // the windows of 32 random start gaps, so its chance is near uniform (simulated: 9 in 10
      // questions within 30% of the average, half within 12%), and the cost is at most 96 *
      // count rows, read index-only from questions_published_id_idx once vacuum has run (2 ms
      // for 20 questions at 10^6). It stores the session only when it drew `count` distinct
      // questions; otherwise (a small bank, a rare filter, a user who answered most of it) the
      // exact statement runs, so the result never differs in kind: random questions, the ones
      // not answered correctly first.
      {"start_session_sampled",
       absl::StrCat(
           "WITH points AS (SELECT gen_random_uuid() AS r FROM generate_series(1, 3 * $4::int)), "
           "drawn AS (SELECT DISTINCT d.id FROM points CROSS JOIN LATERAL ("
           "SELECT w.id FROM (SELECT q.id, q.difficulty FROM questions.questions q "
           "WHERE q.id >= points.r AND q.status = 'published' AND q.deleted_at IS NULL "
           "ORDER BY q.id LIMIT 32) w "
           "WHERE ($2::questions.question_difficulty IS NULL OR w.difficulty = $2) "
           "AND ($3::uuid[] IS NULL OR EXISTS (SELECT 1 FROM questions.question_tags qt "
           "WHERE qt.question_id = w.id AND qt.tag_id = ANY($3::uuid[]))) "
           "AND NOT ", KnownCorrect("w.id"),
           " ORDER BY random() LIMIT 1) d), "
           "picked AS (SELECT id FROM drawn ORDER BY random() LIMIT $4::int) "
           "INSERT INTO questions.practice_sessions (user_id, mode, filters, question_ids, "
           "request_id) SELECT $1, $5::questions.practice_mode, $6::jsonb, array_agg(id), $7 "
           "FROM picked HAVING count(*) = $4::int RETURNING id")},
      {"start_session",
       absl::StrCat(
           "WITH picked AS (SELECT q.id FROM questions.questions q "
           "WHERE q.status = 'published' AND q.deleted_at IS NULL "
           "AND ($2::questions.question_difficulty IS NULL OR q.difficulty = $2) "
           "AND ($3::uuid[] IS NULL OR EXISTS (SELECT 1 FROM questions.question_tags qt "
           "WHERE qt.question_id = q.id AND qt.tag_id = ANY($3::uuid[]))) "
           "ORDER BY ", KnownCorrect("q.id"), ", random() LIMIT $4) "
           "INSERT INTO questions.practice_sessions (user_id, mode, filters, question_ids, "
           "request_id) SELECT $1, $5::questions.practice_mode, $6::jsonb, array_agg(id), $7 "
           "FROM picked HAVING count(*) > 0 RETURNING id")},
      {"session_by_id",
       "SELECT s.id, s.user_id, s.mode::text, s.filters::text, s.question_ids::text, "
       US("s.started_at") ", " US("s.ended_at") ", s.score, "
       "(SELECT count(*) FROM questions.attempts a WHERE a.session_id = s.id), "
       "s.choice_seed::text "
       "FROM questions.practice_sessions s WHERE s.id = $1 AND s.user_id = $2"},
      {"lock_session_for_attempt",
       "SELECT mode::text, ended_at IS NOT NULL, $3::uuid = ANY(question_ids) "
       "FROM questions.practice_sessions WHERE id = $1 AND user_id = $2 FOR SHARE"},
      {"choice_of_question",
       "SELECT is_correct FROM questions.choices WHERE id = $1 AND question_id = $2"},
      {"insert_attempt",
       "INSERT INTO questions.attempts (session_id, question_id, choice_id, user_id, is_correct, "
       "time_spent_ms, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7) "
       "RETURNING id, " US("created_at")},
      {"answer_of_question",
       "SELECT c.id, q.explanation FROM questions.questions q JOIN questions.choices c "
       "ON c.question_id = q.id AND c.is_correct WHERE q.id = $1"},
      {"end_session",
       "UPDATE questions.practice_sessions SET ended_at = now(), score = (SELECT count(*) "
       "FROM questions.attempts a WHERE a.session_id = $1 AND a.is_correct) "
       "WHERE id = $1 AND user_id = $2 AND ended_at IS NULL RETURNING id"},
      {"session_attempts",
       "SELECT id, session_id, question_id, choice_id, is_correct, time_spent_ms, "
       US("created_at") ", false FROM questions.attempts WHERE session_id = $1 "
       "ORDER BY created_at, id"},
      {"list_attempts",
       "SELECT a.id, a.session_id, a.question_id, a.choice_id, a.is_correct, a.time_spent_ms, "
       US("a.created_at") ", (s.mode = 'exam' AND s.ended_at IS NULL), a.created_at::text "
       "FROM questions.attempts a JOIN questions.practice_sessions s ON s.id = a.session_id "
       "WHERE a.user_id = $1 AND ($2::uuid IS NULL OR a.session_id = $2) "
       "AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3::timestamptz, $4::uuid)) "
       "ORDER BY a.created_at DESC, a.id DESC LIMIT $5"},
      {"stats_by_difficulty",
       "SELECT q.difficulty::text, count(*), count(*) FILTER (WHERE a.is_correct) "
       "FROM questions.attempts a JOIN questions.practice_sessions s ON s.id = a.session_id "
       "JOIN questions.questions q ON q.id = a.question_id "
       "WHERE a.user_id = $1 AND NOT (s.mode = 'exam' AND s.ended_at IS NULL) "
       "GROUP BY q.difficulty ORDER BY q.difficulty"},
      {"stats_by_tag",
       "SELECT t.id, t.kind::text, t.slug, t.label, " US("t.created_at") ", count(*), "
       "count(*) FILTER (WHERE a.is_correct) "
       "FROM questions.attempts a JOIN questions.practice_sessions s ON s.id = a.session_id "
       "JOIN questions.question_tags qt ON qt.question_id = a.question_id "
       "JOIN questions.tags t ON t.id = qt.tag_id "
       "WHERE a.user_id = $1 AND NOT (s.mode = 'exam' AND s.ended_at IS NULL) "
       "GROUP BY t.id ORDER BY t.kind, t.slug"},
      {"insert_bookmark",
       "INSERT INTO questions.bookmarks (user_id, question_id) SELECT $1, q.id "
       "FROM questions.questions q WHERE q.id = $2 AND q.deleted_at IS NULL "
       "AND (NOT $3::boolean OR q.status = 'published') "
       "RETURNING question_id, " US("created_at")},
      {"delete_bookmark",
       "DELETE FROM questions.bookmarks WHERE user_id = $1 AND question_id = $2 RETURNING id"},
      {"list_bookmarks",
       "SELECT b.question_id, " US("b.created_at") ", b.created_at::text, b.id "
       "FROM questions.bookmarks b WHERE b.user_id = $1 "
       "AND ($2::timestamptz IS NULL OR (b.created_at, b.id) < ($2::timestamptz, $3::uuid)) "
       "ORDER BY b.created_at DESC, b.id DESC LIMIT $4"},
  };
  return *statements;
}

#undef US

absl::Status RegisterQuestionStatements(suite::db::ConnectionPool& pool) {
  for (const auto& [name, sql] : QuestionStatements()) {
    // Planned per call where the best plan depends on the arguments (see each statement).
    SUITE_RETURN_IF_ERROR(pool.RegisterStatement(name, sql,
                                                 name == "list_questions_all_tags"
                                                     ? suite::db::Planning::kPerCall
                                                     : suite::db::Planning::kPrepared));
  }
  SUITE_RETURN_IF_ERROR(suite::db::RegisterBatchedRead(pool, "question_full_by_id", "text", "k",
                                                       "id", FullQuestionsSql));
  // The audit trail's statements: the privileged changes of the store append to it.
  return suite::db::audit::RegisterAuditStatements(pool, kAuditSchema);
}

}  // namespace suite::questions
