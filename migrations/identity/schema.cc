#include "migrations/identity/schema.h"

#include "shared/db/audit/audit_schema.h"
#include "shared/db/schema/schema_spec.h"

namespace suite::migrations {

using suite::db::schema::Bigint;
using suite::db::schema::Boolean;
using suite::db::schema::Column;
using suite::db::schema::CreatedAt;
using suite::db::schema::DeletedAt;
using suite::db::schema::OnDelete;
using suite::db::schema::OwnerSchema;
using suite::db::schema::Pk;
using suite::db::schema::RequestId;
using suite::db::schema::StatusText;
using suite::db::schema::Table;
using suite::db::schema::TableSpec;
using suite::db::schema::Text;
using suite::db::schema::Timestamptz;
using suite::db::schema::UpdatedAt;
using suite::db::schema::Uuid;

OwnerSchema IdentitySchema() {
  TableSpec users = Table("identity", "users")
                        .Column(Pk())
                        .Column(Text("email").NotNull())
                        .Column(Timestamptz("email_verified_at"))
                        .Column(Text("password_hash"))
                        .Column(Text("first_name"))
                        .Column(Text("last_name"))
                        .Column(Text("phone"))
                        .Column(StatusText().Default("'active'"))
                        .Column(CreatedAt())
                        .Column(UpdatedAt())
                        .Column(DeletedAt())
                        .UniqueIndex("users_email_key", {"lower(email)"})
                        .Index("users_created_at_id_idx", {"created_at", "id"})
                        .Index("users_email_prefix_idx", {"lower(email)"})  // text_pattern_ops
                        .Check("users_status_check")
                        .Check("users_email_check")
                        .Trigger("users_set_updated_at")
                        .Trigger("users_log_revocation", "identity.log_user_revocation");

  TableSpec accounts = Table("identity", "accounts")
                           .Column(Pk())
                           .Column(Text("name").NotNull())
                           .Column(StatusText().Default("'active'"))
                           .Column(CreatedAt())
                           .Column(UpdatedAt())
                           .Column(DeletedAt())
                           .Index("accounts_created_at_id_idx", {"created_at", "id"})
                           .Check("accounts_status_check")
                           .Check("accounts_name_check")
                           .Trigger("accounts_set_updated_at");

  TableSpec roles = Table("identity", "roles")
                        .Column(Pk())
                        .Column(Text("key").NotNull())
                        .Column(Text("label").NotNull())
                        .Column(CreatedAt())
                        .Column(UpdatedAt())
                        .UniqueIndex("roles_key_key", {"key"})
                        .Check("roles_key_check")
                        .Check("roles_label_check")
                        .Trigger("roles_set_updated_at");

  TableSpec role_assignments =
      Table("identity", "role_assignments")
          .Column(Pk())
          .Column(Uuid("user_id").NotNull())
          .Column(Text("role_key").NotNull())
          .Column(Uuid("account_id"))
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("role_assignments_user_role_account_key",
                       {"user_id", "role_key",
                        "COALESCE(account_id, '00000000-0000-0000-0000-000000000000'::uuid)"})
          .Index("role_assignments_role_key_idx", {"role_key"})
          .Index("role_assignments_account_id_created_at_idx", {"account_id", "created_at DESC"})
          .Index("role_assignments_created_at_id_idx", {"created_at", "id"})
          .ForeignKey({"user_id"}, "identity.users", {"id"}, OnDelete::kCascade)
          .ForeignKey({"role_key"}, "identity.roles", {"key"}, OnDelete::kRestrict)
          .ForeignKey({"account_id"}, "identity.accounts", {"id"}, OnDelete::kCascade)
          .Trigger("role_assignments_set_updated_at")
          .Trigger("role_assignments_log_revocation", "identity.log_roles_revocation");

  TableSpec sessions =
      Table("identity", "sessions")
          .Column(Pk())
          .Column(Uuid("user_id").NotNull())
          .Column(Text("session_token_hash").NotNull())
          .Column(Timestamptz("last_seen_at").NotNull())
          .Column(Timestamptz("expires_at").NotNull())
          .Column(Timestamptz("absolute_expires_at").NotNull())
          .Column(Timestamptz("revoked_at"))
          .Column(Text("ip_created"))
          .Column(Text("user_agent_created"))
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("sessions_session_token_hash_key", {"session_token_hash"})
          .Index("sessions_ended_at_idx", {"LEAST(revoked_at, expires_at)"})
          .Index("sessions_user_id_revoked_at_expires_at_idx",
                 {"user_id", "revoked_at", "expires_at"})
          .ForeignKey({"user_id"}, "identity.users", {"id"}, OnDelete::kCascade)
          .Check("sessions_session_token_hash_check")
          .Check("sessions_expires_at_check")
          .Trigger("sessions_set_updated_at")
          .Trigger("sessions_log_revocation", "identity.log_session_revocation")
          .Trigger("sessions_log_deletion", "identity.log_session_revocation");

  TableSpec login_attempts =
      Table("identity", "login_attempts")
          .Column(Pk())
          .Column(Text("email").NotNull())
          .Column(Uuid("user_id"))
          .Column(Text("ip").NotNull())
          .Column(Text("user_agent"))
          .Column(Boolean("success").NotNull())
          .Column(Text("failure_reason"))
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .Index("login_attempts_email_created_at_idx", {"email", "created_at DESC"})
          .Index("login_attempts_ip_created_at_idx", {"ip", "created_at DESC"})
          .Index("login_attempts_email_failures_idx", {"email", "created_at DESC"}, "NOT success")
          .Index("login_attempts_ip_failures_idx", {"ip", "created_at DESC"}, "NOT success")
          .Index("login_attempts_email_ip_failures_idx", {"email", "ip", "created_at DESC"},
                 "NOT success")
          .Index("login_attempts_created_at_id_idx", {"created_at DESC", "id DESC"})
          .Index("login_attempts_user_id_idx", {"user_id"})
          .ForeignKey({"user_id"}, "identity.users", {"id"}, OnDelete::kSetNull)
          .Check("login_attempts_failure_reason_check")
          .Trigger("login_attempts_set_updated_at");

  TableSpec email_verifications =
      Table("identity", "email_verifications")
          .Column(Pk())
          .Column(Uuid("user_id").NotNull())
          .Column(Text("token_hash").NotNull())
          .Column(Text("email").NotNull())
          .Column(Timestamptz("expires_at").NotNull())
          .Column(Timestamptz("consumed_at"))
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("email_verifications_token_hash_key", {"token_hash"})
          .Index("email_verifications_user_id_idx", {"user_id"})
          .Index("email_verifications_ended_at_idx", {"LEAST(consumed_at, expires_at)"})
          .ForeignKey({"user_id"}, "identity.users", {"id"}, OnDelete::kCascade)
          .Check("email_verifications_token_hash_check")
          .Trigger("email_verifications_set_updated_at");

  // Written by the triggers above, read by WatchRevocations (migration ..._create_revocations_log).
  TableSpec revocations =
      Table("identity", "revocations")
          .Column(Bigint("id").NotNull().PrimaryKey().Default(
              "nextval('identity.revocations_id_seq'::regclass)"))
          .Column(Text("kind").NotNull())
          .Column(Uuid("session_id"))
          .Column(Uuid("user_id").NotNull())
          .Column(Column("xact_id", "xid8").NotNull().Default("pg_current_xact_id()"))
          .Column(CreatedAt())
          .Index("revocations_xact_id_idx", {"xact_id"})
          .Index("revocations_created_at_idx", {"created_at"})
          .Check("revocations_kind_check");

  // The audit trail of admin-only writes, hash-chained (shared/db/audit/audit_log.h).
  const suite::db::audit::AuditTables audit = suite::db::audit::AuditTableSpecs("identity");

  OwnerSchema schema;
  schema.owner = "identity";
  schema.tables = {users,    accounts,       roles,
                   role_assignments, sessions, login_attempts,
                   email_verifications, revocations, audit.audit_log, audit.audit_chain_head};
  schema.functions = {std::string(suite::db::schema::kSetUpdatedAtFunction),
                      "identity.log_revocation", "identity.log_session_revocation",
                      "identity.log_user_revocation",
                      "identity.log_roles_revocation", "identity.audit_hash"};
  return schema;
}

}  // namespace suite::migrations
