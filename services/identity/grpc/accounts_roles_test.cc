// Accounts, roles and the login audit over a real gRPC server and a real PostgreSQL database.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/identity/grpc/test_helpers.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;

class AccountsRolesTest : public IdentityServiceTest {
 protected:
  pb::Account CreateAccount(const std::string& token, const std::string& name) {
    pb::CreateAccountRequest req;
    req.set_name(name);
    pb::CreateAccountResponse resp;
    grpc::Status s = client_->stub().CreateAccount(Client::Bearer(token).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.account();
  }
};

TEST_F(AccountsRolesTest, TheCreatorIsAMemberAndOnlyMembersOrAdminsSeeAnAccount) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string bob = client_->MemberToken("bob@example.com");
  const std::string admin = client_->AdminToken();
  pb::Account acme = CreateAccount(ada, "Acme");
  EXPECT_EQ(acme.status(), pb::ACCOUNT_STATUS_ACTIVE);

  pb::GetAccountRequest get;
  get.set_account_id(acme.account_id());
  pb::GetAccountResponse got;
  EXPECT_TRUE(client_->stub().GetAccount(Client::Bearer(ada).get(), get, &got).ok());
  EXPECT_EQ(got.account().name(), "Acme");
  EXPECT_EQ(client_->stub().GetAccount(Client::Bearer(bob).get(), get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(client_->stub().GetAccount(Client::Bearer(admin).get(), get, &got).ok());
  get.set_account_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(client_->stub().GetAccount(Client::Bearer(admin).get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Membership shows in ValidateSession as an account-scoped grant.
  pb::ValidateSessionRequest v;
  v.set_session_token(ada);
  pb::ValidateSessionResponse vr;
  ASSERT_TRUE(client_->stub().ValidateSession(Client::Bearer("").get(), v, &vr).ok());
  bool scoped = false;
  for (const auto& g : vr.role_grants()) {
    scoped |= g.role() == "member" && g.account_id() == acme.account_id();
  }
  EXPECT_TRUE(scoped);

  pb::CreateAccountRequest empty;
  pb::CreateAccountResponse created;
  grpc::Status s = client_->stub().CreateAccount(Client::Bearer(ada).get(), empty, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "name");
}

TEST_F(AccountsRolesTest, ListAccountsShowsMembersTheirOwnAndAdminsAllWithPaging) {
  const std::string ada = client_->MemberToken("ada@example.com");
  const std::string bob = client_->MemberToken("bob@example.com");
  const std::string admin = client_->AdminToken();
  for (int i = 0; i < 3; ++i) CreateAccount(ada, "ada-" + std::to_string(i));
  CreateAccount(bob, "bob-0");

  pb::ListAccountsRequest req;
  pb::ListAccountsResponse resp;
  ASSERT_TRUE(client_->stub().ListAccounts(Client::Bearer(bob).get(), req, &resp).ok());
  ASSERT_EQ(resp.accounts_size(), 1);
  EXPECT_EQ(resp.accounts(0).name(), "bob-0");

  req.set_page_size(2);
  int total = 0;
  for (int page = 0; page < 5; ++page) {
    ASSERT_TRUE(client_->stub().ListAccounts(Client::Bearer(admin).get(), req, &resp).ok());
    total += resp.accounts_size();
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(total, 4);
  // An admin's page token is not valid for a member's listing.
  pb::ListAccountsRequest first;
  first.set_page_size(1);
  ASSERT_TRUE(client_->stub().ListAccounts(Client::Bearer(admin).get(), first, &resp).ok());
  first.set_page_token(resp.next_page_token());
  EXPECT_EQ(client_->stub().ListAccounts(Client::Bearer(ada).get(), first, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// An admin's listing of every grant pages in creation order without a gap or a repeat, and a
// token serves only the filters it was made for.
TEST_F(AccountsRolesTest, ListRoleAssignmentsPagesEveryGrantAndATokenKeepsItsFilters) {
  std::string ada_id;
  client_->MemberToken("ada@example.com", &ada_id);
  client_->MemberToken("bob@example.com");
  client_->MemberToken("cid@example.com");
  const std::string admin = client_->AdminToken();

  pb::ListRoleAssignmentsResponse all;
  ASSERT_TRUE(client_->stub().ListRoleAssignments(Client::Bearer(admin).get(),
                                                  pb::ListRoleAssignmentsRequest(), &all)
                  .ok());
  ASSERT_GE(all.role_assignments_size(), 4);  // three members and the admin
  EXPECT_TRUE(all.next_page_token().empty());

  pb::ListRoleAssignmentsRequest req;
  req.set_page_size(2);
  std::vector<std::string> paged;
  pb::ListRoleAssignmentsResponse page;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client_->stub().ListRoleAssignments(Client::Bearer(admin).get(), req, &page).ok());
    EXPECT_LE(page.role_assignments_size(), 2);
    for (const auto& a : page.role_assignments()) paged.push_back(a.role_assignment_id());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  std::vector<std::string> unpaged;
  for (const auto& a : all.role_assignments()) unpaged.push_back(a.role_assignment_id());
  EXPECT_EQ(paged, unpaged);

  // A token of the listing of everyone is refused for ada's grants.
  pb::ListRoleAssignmentsRequest first;
  first.set_page_size(1);
  ASSERT_TRUE(client_->stub().ListRoleAssignments(Client::Bearer(admin).get(), first, &page).ok());
  pb::ListRoleAssignmentsRequest adas;
  adas.set_user_id(ada_id);
  adas.set_page_token(page.next_page_token());
  grpc::Status refused =
      client_->stub().ListRoleAssignments(Client::Bearer(admin).get(), adas, &page);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("page_token"), std::string::npos)
      << refused.error_message();
}

TEST_F(AccountsRolesTest, UpdateAccountIsAdminOnly) {
  const std::string ada = client_->MemberToken("ada@example.com");
  const std::string admin = client_->AdminToken();
  pb::Account acme = CreateAccount(ada, "Acme");
  pb::UpdateAccountRequest req;
  req.set_account_id(acme.account_id());
  req.set_name("Acme Ltd");
  req.set_status(pb::ACCOUNT_STATUS_SUSPENDED);
  pb::UpdateAccountResponse resp;
  EXPECT_EQ(client_->stub().UpdateAccount(Client::Bearer(ada).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(client_->stub().UpdateAccount(Client::Bearer(admin).get(), req, &resp).ok());
  EXPECT_EQ(resp.account().name(), "Acme Ltd");
  EXPECT_EQ(resp.account().status(), pb::ACCOUNT_STATUS_SUSPENDED);
  req.set_account_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(client_->stub().UpdateAccount(Client::Bearer(admin).get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AccountsRolesTest, RolesArePagedByKey) {
  const std::string ada = client_->MemberToken("ada@example.com");
  const std::string admin = client_->AdminToken();
  for (const char* key : {"reviewer", "billing_clerk"}) {
    pb::CreateRoleRequest create;
    create.set_key(key);
    create.set_label(key);
    pb::CreateRoleResponse created;
    ASSERT_TRUE(client_->stub().CreateRole(Client::Bearer(admin).get(), create, &created).ok());
  }
  std::vector<std::string> keys;
  pb::ListRolesRequest req;
  req.set_page_size(2);
  int pages = 0;
  do {
    pb::ListRolesResponse page;
    ASSERT_TRUE(client_->stub().ListRoles(Client::Bearer(ada).get(), req, &page).ok());
    EXPECT_LE(page.roles_size(), 2);
    for (const auto& role : page.roles()) keys.push_back(role.key());
    req.set_page_token(page.next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(keys, (std::vector<std::string>{"admin", "author", "billing_clerk", "member",
                                            "reviewer"}));

  pb::ListRolesResponse all;  // the default page holds them all, without a token
  ASSERT_TRUE(client_->stub().ListRoles(Client::Bearer(ada).get(), {}, &all).ok());
  EXPECT_EQ(all.roles_size(), 5);
  EXPECT_TRUE(all.next_page_token().empty());

  pb::ListRolesRequest bad;
  bad.set_page_size(-1);
  grpc::Status s = client_->stub().ListRoles(Client::Bearer(ada).get(), bad, &all);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "page_size");
  bad.set_page_size(0);
  bad.set_page_token("not-a-token");
  s = client_->stub().ListRoles(Client::Bearer(ada).get(), bad, &all);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "page_token");
  // A token of another listing is refused, not read as a role key.
  pb::ListAccountsRequest accounts_req;
  accounts_req.set_page_size(1);
  pb::ListAccountsResponse accounts;
  for (const char* name : {"A", "B"}) {
    pb::CreateAccountRequest account;
    account.set_name(name);
    pb::CreateAccountResponse created;
    ASSERT_TRUE(client_->stub().CreateAccount(Client::Bearer(ada).get(), account, &created).ok());
  }
  ASSERT_TRUE(
      client_->stub().ListAccounts(Client::Bearer(ada).get(), accounts_req, &accounts).ok());
  ASSERT_FALSE(accounts.next_page_token().empty());
  bad.set_page_token(accounts.next_page_token());
  EXPECT_EQ(client_->stub().ListRoles(Client::Bearer(ada).get(), bad, &all).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AccountsRolesTest, RolesAreCreatedAssignedListedAndRevokedByAdmins) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string admin = client_->AdminToken();

  pb::ListRolesResponse roles;
  ASSERT_TRUE(client_->stub().ListRoles(Client::Bearer(ada).get(), {}, &roles).ok());
  ASSERT_EQ(roles.roles_size(), 3);
  EXPECT_EQ(roles.roles(0).key(), "admin");
  EXPECT_EQ(roles.roles(1).key(), "author");
  EXPECT_EQ(roles.roles(2).key(), "member");

  pb::CreateRoleRequest create;
  create.set_key("reviewer");
  create.set_label("Reviewer");
  pb::CreateRoleResponse created;
  EXPECT_EQ(client_->stub().CreateRole(Client::Bearer(ada).get(), create, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(client_->stub().CreateRole(Client::Bearer(admin).get(), create, &created).ok());
  EXPECT_EQ(client_->stub().CreateRole(Client::Bearer(admin).get(), create, &created).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  create.set_key("Bad Key");
  grpc::Status s = client_->stub().CreateRole(Client::Bearer(admin).get(), create, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "key");

  pb::AssignRoleRequest assign;
  assign.set_user_id(ada_id);
  assign.set_role("author");
  pb::AssignRoleResponse assigned;
  EXPECT_EQ(client_->stub().AssignRole(Client::Bearer(ada).get(), assign, &assigned).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(client_->stub().AssignRole(Client::Bearer(admin).get(), assign, &assigned).ok());
  const std::string grant_id = assigned.role_assignment().role_assignment_id();
  // Assigning again returns the same grant.
  ASSERT_TRUE(client_->stub().AssignRole(Client::Bearer(admin).get(), assign, &assigned).ok());
  EXPECT_EQ(assigned.role_assignment().role_assignment_id(), grant_id);
  pb::AssignRoleRequest unknown_role = assign;
  unknown_role.set_role("nosuchrole");
  EXPECT_EQ(
      client_->stub().AssignRole(Client::Bearer(admin).get(), unknown_role, &assigned).error_code(),
      grpc::StatusCode::NOT_FOUND);

  // The new role is visible to other services at once (ValidateSession reads it).
  pb::ValidateSessionRequest v;
  v.set_session_token(ada);
  pb::ValidateSessionResponse vr;
  ASSERT_TRUE(client_->stub().ValidateSession(Client::Bearer("").get(), v, &vr).ok());
  bool author = false;
  for (const auto& g : vr.role_grants()) author |= g.role() == "author" && g.account_id().empty();
  EXPECT_TRUE(author);

  pb::ListRoleAssignmentsResponse list;
  ASSERT_TRUE(client_->stub().ListRoleAssignments(Client::Bearer(ada).get(), {}, &list).ok());
  EXPECT_EQ(list.role_assignments_size(), 2);  // member + author

  pb::RevokeRoleRequest revoke;
  revoke.set_user_id(ada_id);
  revoke.set_role("author");
  pb::RevokeRoleResponse revoked;
  EXPECT_EQ(client_->stub().RevokeRole(Client::Bearer(ada).get(), revoke, &revoked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(client_->stub().RevokeRole(Client::Bearer(admin).get(), revoke, &revoked).ok());
  EXPECT_EQ(client_->stub().RevokeRole(Client::Bearer(admin).get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// AssignRole and RevokeRole name three things; a NOT_FOUND says which one names nothing (the
// first, in request order, when several do), and writes nothing.
TEST_F(AccountsRolesTest, AssignAndRevokeRoleSayWhichOfUserRoleAndAccountIsNotFound) {
  std::string ada_id, gone_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string gone = client_->MemberToken("gone@example.com", &gone_id);
  const std::string admin = client_->AdminToken();
  const std::string acme = CreateAccount(ada, "Acme").account_id();
  {
    pb::DeleteUserRequest del;
    del.set_user_id(gone_id);
    pb::DeleteUserResponse deleted;
    ASSERT_TRUE(client_->stub().DeleteUser(Client::Bearer(admin).get(), del, &deleted).ok());
  }
  const std::string nobody = "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  auto count_grants = [&] {
    pb::ListRoleAssignmentsRequest req;
    req.set_page_size(100);
    pb::ListRoleAssignmentsResponse resp;
    EXPECT_TRUE(
        client_->stub().ListRoleAssignments(Client::Bearer(admin).get(), req, &resp).ok());
    return resp.role_assignments_size();
  };
  const int grants_before = count_grants();

  struct Case {
    std::string user_id, role, account_id, field, reason;
  };
  const std::vector<Case> cases = {
      {nobody, "author", "", "user_id", "USER_NOT_FOUND"},
      {gone_id, "author", acme, "user_id", "USER_NOT_FOUND"},  // deleted
      {ada_id, "nosuchrole", "", "role", "ROLE_NOT_FOUND"},
      {ada_id, "nosuchrole", acme, "role", "ROLE_NOT_FOUND"},
      {ada_id, "author", nobody, "account_id", "ACCOUNT_NOT_FOUND"},
      {nobody, "nosuchrole", nobody, "user_id", "USER_NOT_FOUND"},  // all three: the first
      {ada_id, "nosuchrole", nobody, "role", "ROLE_NOT_FOUND"},
  };
  for (const Case& c : cases) {
    const std::string what = c.user_id + " / " + c.role + " / " + c.account_id;
    pb::AssignRoleRequest assign;
    assign.set_user_id(c.user_id);
    assign.set_role(c.role);
    assign.set_account_id(c.account_id);
    pb::AssignRoleResponse assigned;
    grpc::Status s = client_->stub().AssignRole(Client::Bearer(admin).get(), assign, &assigned);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << what;
    EXPECT_EQ(ErrorReason(s), c.reason) << what;
    EXPECT_EQ(ErrorMetadata(s)["field"], c.field) << what;
    EXPECT_EQ(s.error_message().rfind(c.field + ": ", 0), 0u) << s.error_message();

    pb::RevokeRoleRequest revoke;
    revoke.set_user_id(c.user_id);
    revoke.set_role(c.role);
    revoke.set_account_id(c.account_id);
    pb::RevokeRoleResponse revoked;
    s = client_->stub().RevokeRole(Client::Bearer(admin).get(), revoke, &revoked);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << what;
    EXPECT_EQ(ErrorReason(s), c.reason) << what;
    EXPECT_EQ(ErrorMetadata(s)["field"], c.field) << what;
  }
  EXPECT_EQ(count_grants(), grants_before);

  // All three exist but the grant does not: that is what RevokeRole says.
  pb::RevokeRoleRequest revoke;
  revoke.set_user_id(ada_id);
  revoke.set_role("author");
  revoke.set_account_id(acme);
  pb::RevokeRoleResponse revoked;
  grpc::Status s = client_->stub().RevokeRole(Client::Bearer(admin).get(), revoke, &revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorReason(s), "ROLE_ASSIGNMENT_NOT_FOUND");
  EXPECT_EQ(ErrorMetadata(s).count("field"), 0u);
  // And the same three, granted, are revoked.
  pb::AssignRoleRequest assign;
  assign.set_user_id(ada_id);
  assign.set_role("author");
  assign.set_account_id(acme);
  pb::AssignRoleResponse assigned;
  ASSERT_TRUE(client_->stub().AssignRole(Client::Bearer(admin).get(), assign, &assigned).ok());
  EXPECT_TRUE(client_->stub().RevokeRole(Client::Bearer(admin).get(), revoke, &revoked).ok());
}

TEST_F(AccountsRolesTest, ListLoginAttemptsIsAdminOnlyAndFilters) {
  client_->SignUp("ada@example.com");
  pb::LoginResponse login;
  client_->Login("ada@example.com", "wrong password 1", &login, "10.0.0.5");
  client_->Login("ada@example.com", kPassword, &login, "10.0.0.6");
  const std::string admin = client_->AdminToken();
  const std::string ada = client_->LoginToken("ada@example.com");

  pb::ListLoginAttemptsRequest req;
  pb::ListLoginAttemptsResponse resp;
  EXPECT_EQ(client_->stub().ListLoginAttempts(Client::Bearer(ada).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  req.set_email("ADA@example.com");
  req.set_success(pb::SUCCESS_FILTER_FAILED);
  ASSERT_TRUE(client_->stub().ListLoginAttempts(Client::Bearer(admin).get(), req, &resp).ok());
  ASSERT_EQ(resp.login_attempts_size(), 1);
  EXPECT_EQ(resp.login_attempts(0).ip(), "10.0.0.5");
  EXPECT_EQ(resp.login_attempts(0).failure_reason(), "invalid_credentials");

  pb::ListLoginAttemptsRequest by_ip;
  by_ip.set_ip("10.0.0.6");
  ASSERT_TRUE(client_->stub().ListLoginAttempts(Client::Bearer(admin).get(), by_ip, &resp).ok());
  ASSERT_EQ(resp.login_attempts_size(), 1);
  EXPECT_TRUE(resp.login_attempts(0).success());

  pb::ListLoginAttemptsRequest paged;
  paged.set_page_size(2);
  int total = 0;
  for (int page = 0; page < 5; ++page) {
    ASSERT_TRUE(client_->stub().ListLoginAttempts(Client::Bearer(admin).get(), paged, &resp).ok());
    total += resp.login_attempts_size();
    if (resp.next_page_token().empty()) break;
    paged.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(total, 4);  // ada ×3 and the admin's login

  pb::ListLoginAttemptsRequest future;
  future.mutable_start_time()->set_seconds(4000000000);
  ASSERT_TRUE(client_->stub().ListLoginAttempts(Client::Bearer(admin).get(), future, &resp).ok());
  EXPECT_EQ(resp.login_attempts_size(), 0);
  pb::ListLoginAttemptsRequest backwards;
  backwards.mutable_start_time()->set_seconds(2000);
  backwards.mutable_end_time()->set_seconds(1000);
  grpc::Status s =
      client_->stub().ListLoginAttempts(Client::Bearer(admin).get(), backwards, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "end_time");
}

}  // namespace
}  // namespace suite::identity::testing
