// What questions closes and when (docs/retention.md), as purge rules for the retention runner
// (shared/db/retention/purger.h). Questions owns its tables, so the statements live here; the
// retention job runs them as suite_retention, which may only set ended_at and score of
// questions.practice_sessions and delete rows of questions.audit_log.
#ifndef SUITE_SERVICES_QUESTIONS_STORAGE_RETENTION_H_
#define SUITE_SERVICES_QUESTIONS_STORAGE_RETENTION_H_

#include <vector>

#include "absl/time/time.h"
#include "shared/db/retention/purger.h"

namespace suite::questions {

struct QuestionsRetention {
  // A practice session still open this long after it started is abandoned: it is closed and
  // scored as EndPractice would (its correct attempts), so its exam answers count and no open
  // session lingers for ever. Nothing is deleted: sessions and attempts are the user's history.
  absl::Duration abandoned_practice_sessions = absl::Hours(24);
  // The audit trail (questions.audit_log), by occurred_at: two years for investigations and
  // compliance, as identity's; at least one (the rule's minimum). Its own period, so an
  // operator may keep the question bank's trail for another time than identity's.
  absl::Duration audit_log = absl::Hours(24 * 730);
};

// The rules: close open practice sessions started before the period, through
// practice_sessions_open_started_at_idx; then delete the oldest audit rows past the audit
// period (a prefix of the chain, through audit_log_occurred_at_idx).
std::vector<db::retention::PurgeRule> QuestionsPurgeRules(const QuestionsRetention& retention);

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_STORAGE_RETENTION_H_
