#include "services/billing/domain/audit_query.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shared/api/status.h"
#include "shared/base/text.h"
#include "shared/base/uuid.h"

namespace suite::billing {
namespace {

absl::Status CheckLine(absl::string_view field, absl::string_view value) {
  if (auto problem = suite::TextProblem(value, suite::TextKind::kLine, kMaxAuditFilterChars)) {
    return suite::api::InvalidArgument(field, *problem);
  }
  return absl::OkStatus();
}

// Each value with its length in front, so that no choice of values makes two filters' scopes
// equal.
void AddPart(std::string* scope, absl::string_view value) {
  absl::StrAppend(scope, "|", value.size(), ":", value);
}

}  // namespace

absl::StatusOr<int> ValidateAuditListRequest(const AuditListRequest& request) {
  if (request.page_size < 0 || request.page_size > kMaxAuditPageSize) {
    return suite::api::InvalidArgument("page_size",
                                       absl::StrCat("must be between 0 and ", kMaxAuditPageSize,
                                                    " (0: ", kDefaultAuditPageSize, ")"));
  }
  const AuditFilter& f = request.filter;
  if (!f.actor_user_id.empty() && !suite::IsUuid(f.actor_user_id)) {
    return suite::api::InvalidArgument("actor_user_id", "must be a UUID");
  }
  if (absl::Status s = CheckLine("action", f.action); !s.ok()) return s;
  if (absl::Status s = CheckLine("target_id", f.target_id); !s.ok()) return s;
  if (f.start_time && f.end_time && *f.end_time <= *f.start_time) {
    return suite::api::InvalidArgument("end_time", "must be after start_time");
  }
  return request.page_size == 0 ? kDefaultAuditPageSize : request.page_size;
}

std::string AuditPageScope(const AuditFilter& filter) {
  std::string scope = "audit";
  AddPart(&scope, absl::AsciiStrToLower(filter.actor_user_id));
  AddPart(&scope, filter.action);
  AddPart(&scope, filter.target_id);
  AddPart(&scope, filter.start_time ? absl::StrCat(absl::ToUnixMicros(*filter.start_time)) : "");
  AddPart(&scope, filter.end_time ? absl::StrCat(absl::ToUnixMicros(*filter.end_time)) : "");
  return scope;
}

}  // namespace suite::billing
