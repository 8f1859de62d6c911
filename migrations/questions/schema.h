// The schema the question bank's migrations produce, for
// `migrate verify` and the service's schema test.
//
//   suite::db::schema::OwnerSchema questions = suite::migrations::QuestionsSchema();
#ifndef SUITE_MIGRATIONS_QUESTIONS_SCHEMA_H_
#define SUITE_MIGRATIONS_QUESTIONS_SCHEMA_H_

#include "shared/db/migrate/owner_schema.h"

namespace suite::migrations {

// QuestionsSchema returns the declaration of owner `questions`: the enums question_difficulty,
// question_status, tag_kind, practice_mode and the tables questions, choices, tags,
// question_tags, practice_sessions, attempts, bookmarks. Thread-safe.
suite::db::schema::OwnerSchema QuestionsSchema();

}  // namespace suite::migrations

#endif  // SUITE_MIGRATIONS_QUESTIONS_SCHEMA_H_
