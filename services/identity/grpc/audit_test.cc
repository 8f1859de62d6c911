// The audit trail seen from the API: each privileged call records the authenticated caller as
// the actor and the call's request id in one row, a call refused (for lack of privilege or
// bad input) records nothing, and ListAuditEvents lists the trail to admins only, newest
// first, filtered and paged without duplicates or gaps while rows are appended.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "services/identity/grpc/test_helpers.h"
#include "shared/api/timestamp.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/pool.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;
using ::audit::v1::AuditEvent;
using ::audit::v1::ListAuditEventsRequest;
using ::audit::v1::ListAuditEventsResponse;

class AuditTest : public IdentityServiceTest {
 protected:
  std::string UserIdOf(const std::string& token) {
    pb::ValidateSessionRequest req;
    req.set_session_token(token);
    pb::ValidateSessionResponse resp;
    EXPECT_TRUE(client_->stub().ValidateSession(Client::Bearer("").get(), req, &resp).ok());
    return resp.user_id();
  }

  grpc::Status List(const std::string& token, const ListAuditEventsRequest& request,
                    ListAuditEventsResponse* response) {
    return client_->stub().ListAuditEvents(Client::Bearer(token).get(), request, response);
  }

  // Every event matching `request`'s filters, newest first, read page by page.
  std::vector<AuditEvent> ListAll(const std::string& token, ListAuditEventsRequest request) {
    std::vector<AuditEvent> out;
    request.set_page_size(100);
    for (;;) {
      ListAuditEventsResponse response;
      grpc::Status status = List(token, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return out;
      out.insert(out.end(), response.events().begin(), response.events().end());
      if (response.next_page_token().empty()) return out;
      request.set_page_token(response.next_page_token());
    }
  }

  int Rows() {
    pqxx::connection db(server_->database().url());
    return pqxx::nontransaction(db).exec1("SELECT count(*) FROM identity.audit_log")[0].as<int>();
  }

  void ExpectChainIntact(int rows) {
    suite::db::PoolConfig config;
    config.database_url = server_->database().UrlAs("suite_retention");
    config.pool_size = 1;
    auto pool = suite::db::ConnectionPool::Create(config);
    ASSERT_TRUE(pool.ok()) << pool.status();
    ASSERT_TRUE(suite::db::audit::RegisterAuditStatements(**pool, "identity").ok());
    auto report = suite::db::audit::VerifyAuditChain(**pool, "identity");
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_FALSE(report->broken_seq.has_value()) << report->problem;
    EXPECT_EQ(report->rows, rows);
  }

  grpc::Status CreateRole(const std::string& token, const std::string& key,
                          const std::string& request_id = "") {
    pb::CreateRoleRequest req;
    req.set_key(key);
    req.set_label(absl::StrCat("Label of ", key));
    pb::CreateRoleResponse resp;
    auto ctx = Client::Bearer(token);
    if (!request_id.empty()) ctx->AddMetadata("x-request-id", request_id);
    return client_->stub().CreateRole(ctx.get(), req, &resp);
  }
};

TEST_F(AuditTest, APrivilegedCallRecordsItsCallerAndRequestIdAndARefusedOneNothing) {
  const std::string admin = client_->AdminToken();
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  pqxx::connection db(server_->database().url());

  pb::SetUserStatusRequest request;
  request.set_user_id(ada_id);
  request.set_status(pb::USER_STATUS_SUSPENDED);
  pb::SetUserStatusResponse response;
  EXPECT_EQ(client_->stub().SetUserStatus(Client::Bearer(ada).get(), request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Rows(), 0);

  constexpr char kRequestId[] = "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  auto ctx = Client::Bearer(admin);
  ctx->AddMetadata("x-request-id", kRequestId);
  ASSERT_TRUE(client_->stub().SetUserStatus(ctx.get(), request, &response).ok());
  pqxx::result rows = pqxx::nontransaction(db).exec(
      "SELECT l.action, l.target_id, l.request_id::text, l.after->>'status', "
      "l.actor_id = u.id FROM identity.audit_log l "
      "LEFT JOIN identity.users u ON lower(u.email) = 'root@example.com'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "user.set_status");
  EXPECT_EQ(rows[0][1].as<std::string>(), ada_id);
  EXPECT_EQ(rows[0][2].as<std::string>(), kRequestId);
  EXPECT_EQ(rows[0][3].as<std::string>(), "suspended");
  EXPECT_TRUE(rows[0][4].as<bool>()) << "the actor is not the admin who called";
}

// Runs `call` and expects exactly one new row, of `action` on `target_id`, by `actor` under
// `request_id` (the x-request-id the call carried); returns it.
struct Expected {
  std::string action, target_type, target_id, actor;
};

TEST_F(AuditTest, EachNewlyAuditedActionWritesExactlyOneRowWithActorAndRequestId) {
  const std::string admin = client_->AdminToken();
  const std::string admin_id = UserIdOf(admin);
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  pb::LoginResponse ada_login;
  ASSERT_TRUE(client_->Login("ada@example.com", kPassword, &ada_login).ok());
  int request_no = 0;
  auto next_request_id = [&] {
    return absl::StrCat("0b6c7a9e-1d2f-4c3b-9a8e-", absl::StrFormat("%012d", ++request_no));
  };
  // `call` gets a context carrying a fresh request id; the new row must carry it.
  auto expect_one_row = [&](const Expected& want,
                            const std::function<grpc::Status(grpc::ClientContext*)>& call,
                            const std::string& token) -> AuditEvent {
    const int before = Rows();
    const std::string request_id = next_request_id();
    auto ctx = Client::Bearer(token);
    ctx->AddMetadata("x-request-id", request_id);
    grpc::Status status = call(ctx.get());
    EXPECT_TRUE(status.ok()) << want.action << ": " << status.error_message();
    EXPECT_EQ(Rows(), before + 1) << want.action;
    ListAuditEventsRequest by_request;
    by_request.set_page_size(1);
    ListAuditEventsResponse newest;
    EXPECT_TRUE(List(admin, by_request, &newest).ok());
    if (newest.events_size() != 1) return AuditEvent();
    const AuditEvent& e = newest.events(0);
    EXPECT_EQ(e.action(), want.action);
    EXPECT_EQ(e.target_type(), want.target_type) << want.action;
    EXPECT_EQ(e.target_id(), want.target_id) << want.action;
    EXPECT_EQ(e.actor_user_id(), want.actor) << want.action;
    EXPECT_EQ(e.request_id(), request_id) << want.action;
    EXPECT_EQ(e.outcome(), "ok");
    return e;
  };

  expect_one_row({"role.create", "role", "auditor", admin_id},
                 [&](grpc::ClientContext* ctx) {
                   pb::CreateRoleRequest req;
                   req.set_key("auditor");
                   req.set_label("Auditor");
                   pb::CreateRoleResponse resp;
                   return client_->stub().CreateRole(ctx, req, &resp);
                 },
                 admin);

  std::string account_id;
  {
    const int before = Rows();
    pb::CreateAccountRequest req;
    req.set_name("Ada's team");
    pb::CreateAccountResponse resp;
    auto ctx = Client::Bearer(ada);
    ctx->AddMetadata("x-request-id", next_request_id());
    ASSERT_TRUE(client_->stub().CreateAccount(ctx.get(), req, &resp).ok());
    account_id = resp.account().account_id();
    EXPECT_EQ(Rows(), before + 1);
  }
  {
    ListAuditEventsRequest req;
    req.set_action("account.create");
    std::vector<AuditEvent> created = ListAll(admin, req);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0].target_id(), account_id);
    EXPECT_EQ(created[0].actor_user_id(), ada_id) << "a member creating an account is its actor";
  }

  AuditEvent account_update = expect_one_row(
      {"account.update", "account", account_id, admin_id},
      [&](grpc::ClientContext* ctx) {
        pb::UpdateAccountRequest req;
        req.set_account_id(account_id);
        req.set_status(pb::ACCOUNT_STATUS_SUSPENDED);
        pb::UpdateAccountResponse resp;
        return client_->stub().UpdateAccount(ctx, req, &resp);
      },
      admin);
  EXPECT_EQ(account_update.before_json(), R"({"status": "active"})");
  EXPECT_EQ(account_update.after_json(), R"({"status": "suspended"})");

  expect_one_row({"user.update", "user", ada_id, admin_id},
                 [&](grpc::ClientContext* ctx) {
                   pb::UpdateUserRequest req;
                   req.set_user_id(ada_id);
                   req.set_phone("+44 20 7946 0000");
                   pb::UpdateUserResponse resp;
                   return client_->stub().UpdateUser(ctx, req, &resp);
                 },
                 admin);

  AuditEvent password = expect_one_row(
      {"user.change_password", "user", ada_id, ada_id},
      [&](grpc::ClientContext* ctx) {
        pb::ChangePasswordRequest req;
        req.set_user_id(ada_id);
        req.set_current_password(kPassword);
        req.set_new_password("another long passphrase");
        pb::ChangePasswordResponse resp;
        return client_->stub().ChangePassword(ctx, req, &resp);
      },
      ada);
  EXPECT_EQ(password.after_json().find("passphrase"), std::string::npos);
  EXPECT_EQ(password.after_json().find("argon2"), std::string::npos);
  EXPECT_EQ(password.after_json(), R"({"revoked_sessions": 1})");

  // ChangePassword ended ada's other session; a fresh one for the admin to revoke.
  ASSERT_TRUE(client_->Login("ada@example.com", "another long passphrase", &ada_login).ok());
  expect_one_row({"session.revoke", "session", ada_login.session_id(), admin_id},
                 [&](grpc::ClientContext* ctx) {
                   pb::RevokeSessionRequest req;
                   req.set_session_id(ada_login.session_id());
                   pb::RevokeSessionResponse resp;
                   return client_->stub().RevokeSession(ctx, req, &resp);
                 },
                 admin);

  expect_one_row({"user.revoke_sessions", "user", ada_id, admin_id},
                 [&](grpc::ClientContext* ctx) {
                   pb::RevokeAllSessionsRequest req;
                   req.set_user_id(ada_id);
                   pb::RevokeAllSessionsResponse resp;
                   return client_->stub().RevokeAllSessions(ctx, req, &resp);
                 },
                 admin);
  ExpectChainIntact(Rows());
}

TEST_F(AuditTest, RoutineChangesToOnesOwnUserAndRefusedCallsWriteNoRow) {
  const std::string admin = client_->AdminToken();
  std::string ada_id, bob_id;
  std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string bob = client_->MemberToken("bob@example.com", &bob_id);
  pb::LoginResponse ada_second;
  ASSERT_TRUE(client_->Login("ada@example.com", kPassword, &ada_second).ok());
  ASSERT_EQ(Rows(), 0);

  // Routine: one's own profile and sessions.
  {
    pb::UpdateUserRequest req;
    req.set_user_id(ada_id);
    req.set_first_name("Ada");
    pb::UpdateUserResponse resp;
    ASSERT_TRUE(client_->stub().UpdateUser(Client::Bearer(ada).get(), req, &resp).ok());
  }
  {
    pb::RevokeSessionRequest req;
    req.set_session_id(ada_second.session_id());
    pb::RevokeSessionResponse resp;
    ASSERT_TRUE(client_->stub().RevokeSession(Client::Bearer(ada).get(), req, &resp).ok());
  }
  {
    pb::RevokeAllSessionsRequest req;
    req.set_keep_current(true);
    pb::RevokeAllSessionsResponse resp;
    ASSERT_TRUE(client_->stub().RevokeAllSessions(Client::Bearer(ada).get(), req, &resp).ok());
  }
  EXPECT_EQ(Rows(), 0) << "a member's own routine changes are not privileged actions";

  // Refused: no privilege, or bad input, or nothing to change.
  EXPECT_EQ(CreateRole(bob, "sneaky").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CreateRole(admin, "Bad Key").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(CreateRole(admin, "auditor").ok());
  const int after_create = Rows();
  EXPECT_EQ(CreateRole(admin, "auditor").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  {
    pb::UpdateAccountRequest req;
    req.set_account_id("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21");
    req.set_status(pb::ACCOUNT_STATUS_CLOSED);
    pb::UpdateAccountResponse resp;
    EXPECT_EQ(client_->stub().UpdateAccount(Client::Bearer(bob).get(), req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(client_->stub().UpdateAccount(Client::Bearer(admin).get(), req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    pb::RevokeAllSessionsRequest req;
    req.set_user_id(ada_id);
    pb::RevokeAllSessionsResponse resp;
    EXPECT_EQ(
        client_->stub().RevokeAllSessions(Client::Bearer(bob).get(), req, &resp).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    pb::UpdateUserRequest req;
    req.set_user_id(ada_id);
    req.set_first_name("Mallory");
    pb::UpdateUserResponse resp;
    EXPECT_EQ(client_->stub().UpdateUser(Client::Bearer(bob).get(), req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    req.set_first_name(std::string("A\0da", 4));
    EXPECT_EQ(client_->stub().UpdateUser(Client::Bearer(admin).get(), req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    pb::ChangePasswordRequest req;
    req.set_user_id(ada_id);
    req.set_current_password("not the password at all");
    req.set_new_password("another long passphrase");
    pb::ChangePasswordResponse resp;
    EXPECT_EQ(client_->stub().ChangePassword(Client::Bearer(ada).get(), req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    req.set_current_password(kPassword);
    EXPECT_EQ(client_->stub().ChangePassword(Client::Bearer(admin).get(), req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << "not even an admin sets another user's password here";
  }
  {
    pb::RevokeSessionRequest req;
    req.set_session_id(ada_second.session_id());  // already revoked
    pb::RevokeSessionResponse resp;
    EXPECT_EQ(client_->stub().RevokeSession(Client::Bearer(admin).get(), req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(Rows(), after_create);
  ExpectChainIntact(after_create);
}

TEST_F(AuditTest, ListsNewestFirstAndEachFilterAndTheirCombinationSelectExactlyTheirRows) {
  const std::string admin = client_->AdminToken();
  const std::string admin_id = UserIdOf(admin);
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  ASSERT_TRUE(CreateRole(admin, "first").ok());
  {
    pb::CreateAccountRequest req;
    req.set_name("Ada's team");
    pb::CreateAccountResponse resp;
    ASSERT_TRUE(client_->stub().CreateAccount(Client::Bearer(ada).get(), req, &resp).ok());
  }
  {
    pb::SetUserStatusRequest req;
    req.set_user_id(ada_id);
    req.set_status(pb::USER_STATUS_SUSPENDED);
    pb::SetUserStatusResponse resp;
    ASSERT_TRUE(client_->stub().SetUserStatus(Client::Bearer(admin).get(), req, &resp).ok());
  }
  ASSERT_TRUE(CreateRole(admin, "second").ok());
  ASSERT_TRUE(CreateRole(admin, "third").ok());

  const std::vector<AuditEvent> all = ListAll(admin, ListAuditEventsRequest());
  ASSERT_EQ(all.size(), 5u);
  std::vector<std::string> actions;
  for (size_t i = 0; i < all.size(); ++i) {
    actions.push_back(all[i].action());
    if (i > 0) {
      EXPECT_LT(all[i].sequence(), all[i - 1].sequence()) << "not newest first";
    }
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"role.create", "role.create", "user.set_status",
                                               "account.create", "role.create"}));

  // Each filter and combinations of them, against the same predicate applied to `all`.
  const absl::Time t_account = suite::api::TimeFromTimestamp(all[3].occur_time());
  const absl::Time t_second = suite::api::TimeFromTimestamp(all[1].occur_time());
  struct Case {
    std::string name;
    std::function<void(ListAuditEventsRequest&)> set;
    std::function<bool(const AuditEvent&)> keep;
  };
  auto at = [](const AuditEvent& e) { return suite::api::TimeFromTimestamp(e.occur_time()); };
  const std::vector<Case> cases = {
      {"actor ada", [&](auto& r) { r.set_actor_user_id(ada_id); },
       [&](const AuditEvent& e) { return e.actor_user_id() == ada_id; }},
      {"actor admin", [&](auto& r) { r.set_actor_user_id(admin_id); },
       [&](const AuditEvent& e) { return e.actor_user_id() == admin_id; }},
      {"action", [&](auto& r) { r.set_action("role.create"); },
       [&](const AuditEvent& e) { return e.action() == "role.create"; }},
      {"target", [&](auto& r) { r.set_target_id(ada_id); },
       [&](const AuditEvent& e) { return e.target_id() == ada_id; }},
      {"start", [&](auto& r) { suite::api::SetTimestamp(t_account, r.mutable_start_time()); },
       [&](const AuditEvent& e) { return at(e) >= t_account; }},
      {"end", [&](auto& r) { suite::api::SetTimestamp(t_second, r.mutable_end_time()); },
       [&](const AuditEvent& e) { return at(e) < t_second; }},
      {"start and end",
       [&](auto& r) {
         suite::api::SetTimestamp(t_account, r.mutable_start_time());
         suite::api::SetTimestamp(t_second, r.mutable_end_time());
       },
       [&](const AuditEvent& e) { return at(e) >= t_account && at(e) < t_second; }},
      {"actor and action",
       [&](auto& r) {
         r.set_actor_user_id(admin_id);
         r.set_action("role.create");
       },
       [&](const AuditEvent& e) {
         return e.actor_user_id() == admin_id && e.action() == "role.create";
       }},
      {"all five",
       [&](auto& r) {
         r.set_actor_user_id(admin_id);
         r.set_action("role.create");
         r.set_target_id("second");
         suite::api::SetTimestamp(t_account, r.mutable_start_time());
         suite::api::SetTimestamp(t_second + absl::Microseconds(1), r.mutable_end_time());
       },
       [&](const AuditEvent& e) {
         return e.actor_user_id() == admin_id && e.action() == "role.create" &&
                e.target_id() == "second";
       }},
      {"no match", [&](auto& r) { r.set_action("user.delete"); },
       [&](const AuditEvent&) { return false; }},
  };
  for (const Case& c : cases) {
    ListAuditEventsRequest request;
    c.set(request);
    std::vector<int64_t> got, want;
    for (const AuditEvent& e : ListAll(admin, request)) got.push_back(e.sequence());
    for (const AuditEvent& e : all) {
      if (c.keep(e)) want.push_back(e.sequence());
    }
    EXPECT_EQ(got, want) << c.name;
  }
  // Paged one by one under a filter: the same rows.
  ListAuditEventsRequest one;
  one.set_action("role.create");
  one.set_page_size(1);
  std::vector<std::string> targets;
  for (int i = 0; i < 10; ++i) {
    ListAuditEventsResponse page;
    ASSERT_TRUE(List(admin, one, &page).ok());
    for (const AuditEvent& e : page.events()) targets.push_back(e.target_id());
    if (page.next_page_token().empty()) break;
    one.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"third", "second", "first"}));
}

TEST_F(AuditTest, PagingWhileRowsAreAppendedConcurrentlyHasNoDuplicatesAndNoGaps) {
  const std::string admin = client_->AdminToken();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(CreateRole(admin, absl::StrCat("r", i)).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread writer([&] {
    auto stub = server_->NewStub();
    for (int i = 0; !stop.load() && i < 200; ++i) {
      pb::CreateRoleRequest req;
      req.set_key(absl::StrCat("w", i));
      req.set_label("written while paging");
      pb::CreateRoleResponse resp;
      if (stub->CreateRole(Client::Bearer(admin).get(), req, &resp).ok()) ++appended;
    }
  });
  ListAuditEventsRequest request;
  request.set_page_size(4);
  std::vector<int64_t> seen;
  for (int page_no = 0; page_no < 100; ++page_no) {
    ListAuditEventsResponse page;
    grpc::Status status = List(admin, request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const AuditEvent& e : page.events()) seen.push_back(e.sequence());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  stop = true;
  writer.join();
  ASSERT_FALSE(seen.empty());
  // From the newest row of the first page down to the first row, each seq exactly once.
  std::vector<int64_t> expected;
  for (int64_t s = seen.front(); s >= 1; --s) expected.push_back(s);
  EXPECT_EQ(seen, expected);
  EXPECT_GE(seen.front(), 30);
  ExpectChainIntact(Rows());
}

TEST_F(AuditTest, EveryInvalidArgumentNamesItsField) {
  const std::string admin = client_->AdminToken();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(CreateRole(admin, absl::StrCat("r", i)).ok());
  ListAuditEventsRequest first_page;
  first_page.set_page_size(1);
  ListAuditEventsResponse page;
  ASSERT_TRUE(List(admin, first_page, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());

  struct Case {
    std::string field;
    std::function<void(ListAuditEventsRequest&)> set;
  };
  const std::vector<Case> cases = {
      {"page_size", [](auto& r) { r.set_page_size(-1); }},
      {"page_size", [](auto& r) { r.set_page_size(101); }},
      {"actor_user_id", [](auto& r) { r.set_actor_user_id("root"); }},
      {"actor_user_id",
       [](auto& r) { r.set_actor_user_id("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a2Z"); }},
      {"action", [](auto& r) { r.set_action("role.create\n"); }},
      {"action", [](auto& r) { r.set_action(std::string(101, 'a')); }},
      {"target_id", [](auto& r) { r.set_target_id(std::string("x\0y", 3)); }},
      {"target_id", [](auto& r) { r.set_target_id("\xc2\x9b" "31m"); }},
      {"target_id", [](auto& r) { r.set_target_id(std::string(201, 'x')); }},
      {"end_time",
       [](auto& r) {
         r.mutable_start_time()->set_seconds(1800000000);
         r.mutable_end_time()->set_seconds(1800000000);
       }},
      {"end_time",
       [](auto& r) {
         r.mutable_start_time()->set_seconds(1800000001);
         r.mutable_end_time()->set_seconds(1800000000);
       }},
      {"start_time", [](auto& r) { r.mutable_start_time()->set_nanos(-5); }},
      {"end_time", [](auto& r) { r.mutable_end_time()->set_seconds(253402300800LL); }},
      {"page_token", [](auto& r) { r.set_page_token("not a token"); }},
      {"page_token",
       [&](auto& r) {  // a real token, reused with another filter
         r.set_page_token(page.next_page_token());
         r.set_action("role.create");
       }},
      {"page_token",
       [&](auto& r) {
         r.set_page_token(page.next_page_token());
         r.mutable_start_time()->set_seconds(1);
       }},
  };
  for (const Case& c : cases) {
    ListAuditEventsRequest request;
    c.set(request);
    ListAuditEventsResponse response;
    grpc::Status status = List(admin, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(BadField(status), c.field) << status.error_message();
  }
  // The same token with the same filters (another page size is no filter) is accepted.
  ListAuditEventsRequest next;
  next.set_page_size(2);
  next.set_page_token(page.next_page_token());
  EXPECT_TRUE(List(admin, next, &page).ok());
}

TEST_F(AuditTest, AMemberIsDeniedAndACallWithoutAValidTokenIsUnauthenticated) {
  const std::string admin = client_->AdminToken();
  ASSERT_TRUE(CreateRole(admin, "auditor").ok());
  const std::string ada = client_->MemberToken("ada@example.com");
  ListAuditEventsResponse response;
  grpc::Status denied = List(ada, ListAuditEventsRequest(), &response);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.events_size(), 0);
  // Refused before the request is read: an invalid one (a bad page size, an action too long, a
  // timestamp out of range, a forged token) is denied the same, so a member learns nothing of
  // the validation.
  ListAuditEventsRequest invalid;
  invalid.set_page_size(-1);
  invalid.set_action(std::string(101, 'a'));
  invalid.mutable_start_time()->set_nanos(-5);
  invalid.set_page_token("not a token");
  EXPECT_EQ(List(ada, invalid, &response).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List("", ListAuditEventsRequest(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List("not-a-session-token", ListAuditEventsRequest(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  pb::LogoutResponse out;
  ASSERT_TRUE(client_->stub().Logout(Client::Bearer(admin).get(), {}, &out).ok());
  EXPECT_EQ(List(admin, ListAuditEventsRequest(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED)
      << "a logged-out admin token lists nothing";
}

}  // namespace
}  // namespace suite::identity::testing
