#include "services/questions/domain/audit_query.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/api/page_token.h"
#include "shared/api/status.h"
#include "shared/base/text.h"
#include "shared/base/uuid.h"

namespace suite::questions {

using suite::api::InvalidArgument;

absl::StatusOr<int> AuditPageLimit(int page_size) {
  if (page_size == 0) return kDefaultAuditPageSize;
  if (page_size < 1 || page_size > kMaxAuditPageSize) {
    return InvalidArgument("page_size", absl::StrCat("must be between 0 and ", kMaxAuditPageSize,
                                                     " (0: ", kDefaultAuditPageSize, "); got ",
                                                     page_size));
  }
  return page_size;
}

absl::Status ValidateAuditQuery(const AuditQuery& query) {
  if (!query.actor_user_id.empty() && !suite::IsUuid(query.actor_user_id)) {
    return InvalidArgument("actor_user_id", "must be a UUID");
  }
  for (const auto& [field, value] :
       {std::make_pair("action", &query.action), std::make_pair("target_id", &query.target_id)}) {
    if (auto problem = suite::TextProblem(*value, suite::TextKind::kLine, kMaxAuditFilterChars)) {
      return InvalidArgument(field, *problem);
    }
  }
  if (query.start_time && query.end_time && !(*query.start_time < *query.end_time)) {
    return InvalidArgument("end_time", "must be after start_time");
  }
  return absl::OkStatus();
}

std::string AuditQueryFingerprint(const AuditQuery& query) {
  const auto micros = [](const absl::optional<absl::Time>& t) {
    return t ? absl::StrCat(absl::ToUnixMicros(*t)) : std::string("-");
  };
  // \x1e cannot occur in a validated filter (one line of text: no control characters).
  const std::string joined =
      absl::StrJoin({query.actor_user_id, query.action, query.target_id, micros(query.start_time),
                     micros(query.end_time)},
                    "\x1e");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

std::string AuditCursorKey(int64_t seq) { return absl::StrCat(seq); }

absl::StatusOr<int64_t> AuditCursorSeq(absl::string_view key) {
  int64_t seq = 0;
  if (!absl::SimpleAtoi(key, &seq) || seq < 1) {
    return suite::api::InvalidPageToken("its position is not an audit sequence number");
  }
  return seq;
}

}  // namespace suite::questions
