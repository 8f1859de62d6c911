// The shared rules of ListAuditEvents: page sizes, each filter's refusal naming its field,
// and keyset paging over a growing trail (an in-memory trail stands in for the table here;
// the services' tests run the same paging against PostgreSQL).
#include "shared/audit_api/audit_query.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shared/api/status.h"

namespace suite::audit_api {
namespace {

using suite::api::FirstViolatedField;

TEST(AuditPageLimitTest, ZeroIsFiftyAndOneToHundredAreKept) {
  EXPECT_EQ(*AuditPageLimit(0), 50);
  EXPECT_EQ(*AuditPageLimit(1), 1);
  EXPECT_EQ(*AuditPageLimit(100), 100);
}

TEST(AuditPageLimitTest, NegativeAndAboveHundredAreInvalidArgumentNamingPageSize) {
  for (int size : {-1, -2147483647 - 1, 101, 2147483647}) {
    absl::StatusOr<int> limit = AuditPageLimit(size);
    EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_EQ(FirstViolatedField(limit.status()), "page_size") << size;
  }
}

TEST(ValidateAuditFilterTest, AnEmptyFilterAndAFullValidOneAreAccepted) {
  EXPECT_TRUE(ValidateAuditFilter(AuditFilter()).ok());
  AuditFilter f;
  f.actor_id = "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  f.action = "role.assign";
  f.target_id = "evt_1Nq\u00e9";
  f.since = absl::FromUnixSeconds(10);
  f.until = absl::FromUnixSeconds(11);
  EXPECT_TRUE(ValidateAuditFilter(f).ok());
}

TEST(ValidateAuditFilterTest, EachBadFieldIsInvalidArgumentNamingIt) {
  struct Case {
    AuditFilter filter;
    std::string field;
  };
  std::vector<Case> cases;
  for (const char* actor :
       {"not-a-uuid", "0b6c7a9e1d2f4c3b9a8e7f6d5c4b3a21", "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a2",
        " 0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21"}) {
    Case c{AuditFilter(), "actor_user_id"};
    c.filter.actor_id = actor;
    cases.push_back(c);
  }
  for (const std::string& bad :
       {std::string("a\0b", 3), std::string("a\nb"), std::string("a\tb"), std::string("\x1b[31m"),
        std::string("\x7f"), std::string("\xc2\x9b"), std::string("\xff"),
        std::string(201, 'x')}) {
    Case target{AuditFilter(), "target_id"};
    target.filter.target_id = bad;
    cases.push_back(target);
    Case action{AuditFilter(), "action"};
    action.filter.action = bad;
    cases.push_back(action);
  }
  Case same_time{AuditFilter(), "end_time"};
  same_time.filter.since = same_time.filter.until = absl::FromUnixSeconds(5);
  cases.push_back(same_time);
  Case reversed{AuditFilter(), "end_time"};
  reversed.filter.since = absl::FromUnixSeconds(6);
  reversed.filter.until = absl::FromUnixSeconds(5);
  cases.push_back(reversed);
  for (const Case& c : cases) {
    absl::Status status = ValidateAuditFilter(c.filter);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(FirstViolatedField(status), c.field) << status;
  }
}

TEST(AuditFilterFingerprintTest, DifferentFiltersNeverShareAFingerprint) {
  AuditFilter a, b;
  a.action = "x|y";
  b.action = "x";
  b.target_id = "y";
  EXPECT_NE(AuditFilterFingerprint(a), AuditFilterFingerprint(b));
  AuditFilter c, d;
  d.since = absl::FromUnixSeconds(0);
  EXPECT_NE(AuditFilterFingerprint(c), AuditFilterFingerprint(d));
}

// A trail in memory, newest first by seq, appended to between pages.
class Trail {
 public:
  void Append(int n, const std::string& action = "user.delete") {
    for (int i = 0; i < n; ++i) {
      AuditEvent e;
      e.seq = static_cast<int64_t>(events_.size()) + 1;
      e.action = action;
      events_.push_back(e);
    }
  }
  FetchAuditEvents Fetch() {
    return [this](const AuditFilter& f, int64_t before, int limit) {
      std::vector<AuditEvent> out;
      for (auto it = events_.rbegin(); it != events_.rend() && static_cast<int>(out.size()) < limit;
           ++it) {
        if (before != 0 && it->seq >= before) continue;
        if (!f.action.empty() && it->action != f.action) continue;
        out.push_back(*it);
      }
      return absl::StatusOr<std::vector<AuditEvent>>(out);
    };
  }

 private:
  std::vector<AuditEvent> events_;
};

TEST(ListAuditPageTest, PagesNewestFirstWithoutDuplicatesOrGapsWhileRowsAreAppended) {
  const suite::api::PageTokenCodec codec("secret");
  Trail trail;
  trail.Append(25);
  AuditQuery query;
  query.page_size = 10;
  std::vector<int64_t> seen;
  for (int page_no = 0; page_no < 10; ++page_no) {
    absl::StatusOr<AuditPage> page = ListAuditPage(query, codec, "test.audit", trail.Fetch());
    ASSERT_TRUE(page.ok()) << page.status();
    for (const AuditEvent& e : page->events) seen.push_back(e.seq);
    trail.Append(3);  // appended between pages: newer than the first page, never read here
    if (page->next_page_token.empty()) break;
    query.page_token = page->next_page_token;
  }
  std::vector<int64_t> expected;
  for (int64_t s = 25; s >= 1; --s) expected.push_back(s);
  EXPECT_EQ(seen, expected);
}

TEST(ListAuditPageTest, ALastPageThatIsExactlyFullHasNoNextToken) {
  const suite::api::PageTokenCodec codec("secret");
  Trail trail;
  trail.Append(10);
  AuditQuery query;
  query.page_size = 10;
  absl::StatusOr<AuditPage> page = ListAuditPage(query, codec, "test.audit", trail.Fetch());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events.size(), 10u);
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST(ListAuditPageTest, ATokenReusedWithOtherFiltersOrAnotherListingIsRefusedNamingPageToken) {
  const suite::api::PageTokenCodec codec("secret");
  Trail trail;
  trail.Append(5);
  AuditQuery query;
  query.page_size = 2;
  absl::StatusOr<AuditPage> first = ListAuditPage(query, codec, "test.audit", trail.Fetch());
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token.empty());

  std::vector<AuditQuery> changed(5, query);
  for (AuditQuery& q : changed) q.page_token = first->next_page_token;
  changed[0].filter.action = "user.delete";
  changed[1].filter.actor_id = "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  changed[2].filter.target_id = "x";
  changed[3].filter.since = absl::FromUnixSeconds(1);
  changed[4].filter.until = absl::FromUnixSeconds(1);
  for (const AuditQuery& q : changed) {
    absl::StatusOr<AuditPage> page = ListAuditPage(q, codec, "test.audit", trail.Fetch());
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(FirstViolatedField(page.status()), "page_token") << page.status();
  }
  AuditQuery same = query;
  same.page_token = first->next_page_token;
  EXPECT_EQ(FirstViolatedField(ListAuditPage(same, codec, "other.audit", trail.Fetch()).status()),
            "page_token");
  EXPECT_EQ(FirstViolatedField(ListAuditPage(same, suite::api::PageTokenCodec("other secret"), "test.audit",
                                  trail.Fetch())
                        .status()),
            "page_token");
  // A page size may change between pages: it is not a filter.
  same.page_size = 3;
  EXPECT_TRUE(ListAuditPage(same, codec, "test.audit", trail.Fetch()).ok());
}

TEST(ListAuditPageTest, ARefusedQueryReadsNothing) {
  const suite::api::PageTokenCodec codec("secret");
  int reads = 0;
  FetchAuditEvents fetch = [&](const AuditFilter&, int64_t, int) {
    ++reads;
    return absl::StatusOr<std::vector<AuditEvent>>(std::vector<AuditEvent>{});
  };
  AuditQuery bad_size;
  bad_size.page_size = 101;
  AuditQuery bad_token;
  bad_token.page_token = "garbage";
  AuditQuery bad_actor;
  bad_actor.filter.actor_id = "x";
  for (const AuditQuery& q : {bad_size, bad_token, bad_actor}) {
    EXPECT_EQ(ListAuditPage(q, codec, "test.audit", fetch).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(reads, 0);
}

}  // namespace
}  // namespace suite::audit_api
