// The declared table specs of a service's audit trail (audit_log.h): the same two tables,
// audit_log and audit_chain_head, live in every owner schema that keeps a trail, created by
// that owner's *_create_audit_log.sql migration. Declaring them once keeps the three owners'
// `migrate verify` and schema tests comparing the live database against one definition.
#ifndef SUITE_SHARED_DB_AUDIT_AUDIT_SCHEMA_H_
#define SUITE_SHARED_DB_AUDIT_AUDIT_SCHEMA_H_

#include "absl/strings/string_view.h"
#include "shared/db/schema/schema_spec.h"

namespace suite::db::audit {

// Both tables of one owner's audit trail, in the order the owner lists them.
struct AuditTables {
  suite::db::schema::TableSpec audit_log;
  suite::db::schema::TableSpec audit_chain_head;
};

// The specs of `schema`.audit_log (hash-chained, append-only events) and
// `schema`.audit_chain_head (the one-row head of the chain).
AuditTables AuditTableSpecs(absl::string_view schema);

}  // namespace suite::db::audit

#endif  // SUITE_SHARED_DB_AUDIT_AUDIT_SCHEMA_H_
