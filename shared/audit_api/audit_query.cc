#include "shared/audit_api/audit_query.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "shared/api/status.h"
#include "shared/base/status_macros.h"
#include "shared/base/text.h"
#include "shared/base/uuid.h"

namespace suite::audit_api {
namespace {

absl::Status CheckLine(absl::string_view field, absl::string_view value, size_t max_chars) {
  if (auto problem = suite::TextProblem(value, suite::TextKind::kLine, max_chars)) {
    return suite::api::InvalidArgument(field, *problem);
  }
  return absl::OkStatus();
}

std::string TimeKey(absl::Time t) {
  if (t == absl::InfinitePast()) return "-";
  if (t == absl::InfiniteFuture()) return "+";
  return absl::StrCat(absl::ToUnixNanos(t));
}

std::string Scope(absl::string_view listing, const AuditFilter& filter) {
  return absl::StrCat(listing, "\n", AuditFilterFingerprint(filter));
}

}  // namespace

absl::StatusOr<int> AuditPageLimit(int page_size) {
  if (page_size == 0) return kDefaultAuditPageSize;
  if (page_size < 0 || page_size > kMaxAuditPageSize) {
    return suite::api::InvalidArgument(
        "page_size", absl::StrCat("must be between 0 and ", kMaxAuditPageSize, " (0 means ",
                                  kDefaultAuditPageSize, "), got ", page_size));
  }
  return page_size;
}

absl::Status ValidateAuditFilter(const AuditFilter& filter) {
  if (!filter.actor_id.empty() && !suite::IsUuid(filter.actor_id)) {
    return suite::api::InvalidArgument("actor_user_id", "must be a UUID");
  }
  SUITE_RETURN_IF_ERROR(CheckLine("action", filter.action, kMaxAuditActionLength));
  SUITE_RETURN_IF_ERROR(CheckLine("target_id", filter.target_id, kMaxAuditTargetIdLength));
  if (filter.until <= filter.since) {
    return suite::api::InvalidArgument("end_time", "must be after start_time");
  }
  return absl::OkStatus();
}

std::string AuditFilterFingerprint(const AuditFilter& filter) {
  std::string out;
  for (absl::string_view part :
       {absl::string_view(filter.actor_id), absl::string_view(filter.action),
        absl::string_view(filter.target_id)}) {
    absl::StrAppend(&out, part.size(), ":", part, "|");
  }
  absl::StrAppend(&out, TimeKey(filter.since), "|", TimeKey(filter.until));
  return out;
}

absl::StatusOr<AuditPage> ListAuditPage(const AuditQuery& query,
                                        const suite::api::PageTokenCodec& codec,
                                        absl::string_view listing, const FetchAuditEvents& fetch) {
  SUITE_ASSIGN_OR_RETURN(int limit, AuditPageLimit(query.page_size));
  SUITE_RETURN_IF_ERROR(ValidateAuditFilter(query.filter));
  int64_t before_seq = 0;
  if (!query.page_token.empty()) {
    SUITE_ASSIGN_OR_RETURN(suite::api::PageCursor cursor,
                           codec.Decode(Scope(listing, query.filter), query.page_token));
    if (!absl::SimpleAtoi(cursor.key, &before_seq) || before_seq <= 0) {
      return suite::api::InvalidPageToken("is malformed");
    }
  }
  // One row more than the page tells whether another page follows.
  SUITE_ASSIGN_OR_RETURN(std::vector<AuditEvent> events,
                         fetch(query.filter, before_seq, limit + 1));
  AuditPage page;
  if (static_cast<int>(events.size()) > limit) {
    events.resize(limit);
    page.next_page_token =
        codec.Encode(Scope(listing, query.filter), {absl::StrCat(events.back().seq), ""});
  }
  page.events = std::move(events);
  return page;
}

}  // namespace suite::audit_api
