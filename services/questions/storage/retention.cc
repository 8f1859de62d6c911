#include "services/questions/storage/retention.h"

#include "shared/db/audit/audit_log.h"

namespace suite::questions {

using db::retention::UpdateBatchSql;

std::vector<db::retention::PurgeRule> QuestionsPurgeRules(const QuestionsRetention& retention) {
  std::vector<db::retention::PurgeRule> rules;
  rules.push_back({"questions.practice_sessions", "close", "questions_retention_abandoned_sessions",
                   UpdateBatchSql("questions.practice_sessions",
                                  "ended_at = now(), score = (SELECT count(*) FROM "
                                  "questions.attempts a WHERE a.session_id = t.id AND a.is_correct)",
                                  "started_at", "ended_at IS NULL"),
                   retention.abandoned_practice_sessions,
                   // A session in use must never be closed under its user.
                   absl::Hours(1)});
  rules.push_back(db::audit::AuditPurgeRule("questions", retention.audit_log));
  return rules;
}

}  // namespace suite::questions
