#include "shared/db/audit/audit_schema.h"

#include <utility>

namespace suite::db::audit {

using suite::db::schema::Bigint;
using suite::db::schema::Boolean;
using suite::db::schema::Jsonb;
using suite::db::schema::Table;
using suite::db::schema::TableSpec;
using suite::db::schema::Text;
using suite::db::schema::Timestamptz;
using suite::db::schema::Uuid;

AuditTables AuditTableSpecs(absl::string_view schema) {
  TableSpec audit_log = Table(schema, "audit_log")
                            .Column(Bigint("seq").PrimaryKey())
                            .Column(Timestamptz("occurred_at").NotNull())
                            .Column(Uuid("actor_id"))
                            .Column(Text("action").NotNull())
                            .Column(Text("target_type").NotNull())
                            .Column(Text("target_id").NotNull())
                            .Column(Uuid("request_id"))
                            .Column(Text("outcome").NotNull())
                            .Column(Jsonb("before"))
                            .Column(Jsonb("after"))
                            .Column(Text("prev_hash").NotNull())
                            .Column(Text("hash").NotNull())
                            .Index("audit_log_occurred_at_idx", {"occurred_at"})
                            .Index("audit_log_actor_id_seq_idx", {"actor_id", "seq DESC"})
                            .Index("audit_log_target_id_seq_idx", {"target_id", "seq DESC"})
                            .Index("audit_log_action_seq_idx", {"action", "seq DESC"})
                            .Check("audit_log_action_check")
                            .Check("audit_log_outcome_check")
                            .Check("audit_log_hash_check");

  TableSpec audit_chain_head = Table(schema, "audit_chain_head")
                                   .Column(Boolean("id").PrimaryKey().Default("true"))
                                   .Column(Bigint("seq").NotNull())
                                   .Column(Text("hash").NotNull())
                                   .Check("audit_chain_head_id_check");

  return AuditTables{std::move(audit_log), std::move(audit_chain_head)};
}

}  // namespace suite::db::audit
