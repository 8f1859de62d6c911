#include "migrations/questions/schema.h"

#include "shared/db/audit/audit_schema.h"

namespace suite::migrations {

using suite::db::schema::Boolean;
using suite::db::schema::Column;
using suite::db::schema::CreatedAt;
using suite::db::schema::DeletedAt;
using suite::db::schema::Enum;
using suite::db::schema::EnumColumn;
using suite::db::schema::IndexSpec;
using suite::db::schema::Integer;
using suite::db::schema::Jsonb;
using suite::db::schema::OnDelete;
using suite::db::schema::OwnerSchema;
using suite::db::schema::Pk;
using suite::db::schema::RequestId;
using suite::db::schema::Table;
using suite::db::schema::TableSpec;
using suite::db::schema::Text;
using suite::db::schema::Timestamptz;
using suite::db::schema::UpdatedAt;
using suite::db::schema::Uuid;

OwnerSchema QuestionsSchema() {
  TableSpec questions =
      Table("questions", "questions")
          .Column(Pk())
          .Column(Text("external_key"))
          .Column(Text("stem").NotNull())
          .Column(Text("explanation").NotNull().Default("''"))
          .Column(EnumColumn("difficulty", "questions.question_difficulty").NotNull())
          .Column(EnumColumn("status", "questions.question_status").NotNull().Default("'draft'"))
          .Column(Uuid("author_id").NotNull())
          .Column(Timestamptz("published_at"))
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .Column(DeletedAt())
          .Column(RequestId())
          .UniqueIndex("questions_external_key_key", {"external_key"})
          .Index("questions_created_at_idx", {"created_at DESC", "id DESC"}, "deleted_at IS NULL")
          .Index("questions_status_created_at_idx", {"status", "created_at DESC", "id DESC"},
                 "deleted_at IS NULL")
          .Index(IndexSpec{"questions_stem_fts_idx", false,
                           {"to_tsvector('simple'::regconfig, stem)"}, "", "gin"})
          .Index("questions_author_id_idx", {"author_id"})
          .Index("questions_published_id_idx", {"id", "difficulty"},
                 "status = 'published'::questions.question_status AND deleted_at IS NULL")
          .Check("questions_published_at_check")
          .Trigger("questions_set_updated_at");

  TableSpec choices =
      Table("questions", "choices")
          .Column(Pk())
          .Column(Uuid("question_id").NotNull())
          .Column(Integer("position").NotNull())
          .Column(Text("text").NotNull())
          .Column(Boolean("is_correct").NotNull().Default("false"))
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("choices_question_id_position_key", {"question_id", "position"})
          .UniqueIndex("choices_one_correct_key", {"question_id"}, "is_correct")
          .ForeignKey({"question_id"}, "questions.questions", {"id"}, OnDelete::kCascade)
          .Check("choices_position_check")
          .Trigger("choices_set_updated_at");

  TableSpec tags = Table("questions", "tags")
                       .Column(Pk())
                       .Column(EnumColumn("kind", "questions.tag_kind").NotNull())
                       .Column(Text("slug").NotNull())
                       .Column(Text("label").NotNull())
                       .Column(CreatedAt())
                       .Column(UpdatedAt())
                       .UniqueIndex("tags_kind_slug_key", {"kind", "slug"})
                       .Trigger("tags_set_updated_at");

  TableSpec question_tags =
      Table("questions", "question_tags")
          .Column(Uuid("question_id").NotNull())
          .Column(Uuid("tag_id").NotNull())
          .Column(CreatedAt())
          // A copy of the question's created_at (trigger), for the tag-filtered page's keyset.
          .Column(Timestamptz("question_created_at").NotNull())
          .PrimaryKey({"question_id", "tag_id"})
          .Index("question_tags_tag_id_idx", {"tag_id", "question_id"})
          .Index("question_tags_tag_id_question_created_at_idx",
                 {"tag_id", "question_created_at DESC", "question_id DESC"})
          .Trigger("question_tags_copy_question_created_at", "questions.copy_question_created_at")
          .ForeignKey({"question_id"}, "questions.questions", {"id"}, OnDelete::kCascade)
          .ForeignKey({"tag_id"}, "questions.tags", {"id"}, OnDelete::kCascade);

  TableSpec practice_sessions =
      Table("questions", "practice_sessions")
          .Column(Pk())
          .Column(Uuid("user_id").NotNull())
          .Column(EnumColumn("mode", "questions.practice_mode").NotNull())
          .Column(Jsonb("filters").NotNull().Default("'{}'"))
          .Column(Column("question_ids", "uuid[]").NotNull())
          .Column(Timestamptz("started_at").NotNull().Default("now()"))
          .Column(Timestamptz("ended_at"))
          .Column(Integer("score"))
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .Column(RequestId())
          // The seed of the session's choice order (domain: ShuffleChoices).
          .Column(Uuid("choice_seed").NotNull().Default("gen_random_uuid()"))
          .Index("practice_sessions_open_started_at_idx", {"started_at"}, "ended_at IS NULL")
          .Index("practice_sessions_user_id_started_at_idx",
                 {"user_id", "started_at DESC", "id DESC"})
          .Check("practice_sessions_score_check")
          .Trigger("practice_sessions_set_updated_at");

  TableSpec attempts =
      Table("questions", "attempts")
          .Column(Pk())
          .Column(Uuid("session_id").NotNull())
          .Column(Uuid("question_id").NotNull())
          .Column(Uuid("choice_id").NotNull())
          .Column(Uuid("user_id").NotNull())
          .Column(Boolean("is_correct").NotNull())
          .Column(Integer("time_spent_ms").NotNull().Default("0"))
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .Column(RequestId())
          .UniqueIndex("attempts_session_id_question_id_key", {"session_id", "question_id"})
          .Index("attempts_question_id_idx", {"question_id"})
          .Index("attempts_choice_id_idx", {"choice_id"})
          .Index("attempts_user_id_created_at_idx", {"user_id", "created_at DESC", "id DESC"})
          .Index("attempts_user_id_question_id_correct_idx", {"user_id", "question_id"},
                 "is_correct")
          .ForeignKey({"session_id"}, "questions.practice_sessions", {"id"}, OnDelete::kCascade)
          .ForeignKey({"question_id"}, "questions.questions", {"id"}, OnDelete::kRestrict)
          .ForeignKey({"choice_id"}, "questions.choices", {"id"}, OnDelete::kRestrict)
          .Check("attempts_time_spent_ms_check")
          .Trigger("attempts_set_updated_at");

  TableSpec bookmarks =
      Table("questions", "bookmarks")
          .Column(Pk())
          .Column(Uuid("user_id").NotNull())
          .Column(Uuid("question_id").NotNull())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("bookmarks_user_id_question_id_key", {"user_id", "question_id"})
          .Index("bookmarks_question_id_idx", {"question_id"})
          .Index("bookmarks_user_id_created_at_idx", {"user_id", "created_at DESC", "id DESC"})
          .ForeignKey({"question_id"}, "questions.questions", {"id"}, OnDelete::kCascade)
          .Trigger("bookmarks_set_updated_at");

  // The audit trail (migrations/questions/*_create_audit_log.sql, docs/audit.md).
  const suite::db::audit::AuditTables audit = suite::db::audit::AuditTableSpecs("questions");

  OwnerSchema schema;
  schema.owner = "questions";
  schema.tables = {questions, choices, tags, question_tags, practice_sessions, attempts,
                   bookmarks, audit.audit_log, audit.audit_chain_head};
  schema.enums = {
      Enum("questions", "question_difficulty", {"easy", "medium", "hard"}),
      Enum("questions", "question_status", {"draft", "published", "archived"}),
      Enum("questions", "tag_kind", {"domain", "topic", "substance", "treatment", "diagnosis"}),
      Enum("questions", "practice_mode", {"tutor", "exam"}),
  };
  schema.extensions = {"pgcrypto"};
  schema.functions = {std::string(suite::db::schema::kSetUpdatedAtFunction),
                      "questions.copy_question_created_at", "questions.refresh_bank_statistics",
                      "questions.audit_hash"};
  return schema;
}

}  // namespace suite::migrations
