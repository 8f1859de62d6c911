// Users: sign-up, reading, listing, changing, suspending, deleting, passwords and e-mail
// verification, over a real gRPC server and a real PostgreSQL database.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/identity/grpc/test_helpers.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;

class UsersTest : public IdentityServiceTest {
 protected:
  int Count(const std::string& sql) {
    pqxx::connection conn(server_->database().url());
    pqxx::work tx(conn);
    return tx.exec1(sql)[0].as<int>();
  }
  grpc::Status Create(const std::string& email, const std::string& password,
                      pb::CreateUserResponse* resp, const std::string& first_name = "") {
    pb::CreateUserRequest req;
    req.set_email(email);
    req.set_password(password);
    req.set_first_name(first_name);
    return client_->stub().CreateUser(Client::Bearer("").get(), req, resp);
  }
  grpc::Status Get(const std::string& token, const std::string& id, pb::GetUserResponse* resp) {
    pb::GetUserRequest req;
    req.set_user_id(id);
    return client_->stub().GetUser(Client::Bearer(token).get(), req, resp);
  }
  // Holds the identity.users row of `user_id` locked (FOR UPDATE) until tx ends.
  struct UserRowLock {
    UserRowLock(const std::string& url, const std::string& user_id) : conn(url), tx(conn) {
      tx.exec_params1("SELECT 1 FROM identity.users WHERE id = $1::uuid FOR UPDATE", user_id);
    }
    pqxx::connection conn;
    pqxx::work tx;
  };
  std::string FirstNameOf(const std::string& token, const std::string& id) {
    pb::GetUserResponse got;
    grpc::Status s = Get(token, id, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return got.user().first_name();
  }
  // Waits up to 2 s until no UPDATE of identity.users waits for a lock; false if one still does.
  bool NoUserUpdateWaitsForALock() {
    const absl::Time give_up = absl::Now() + absl::Seconds(2);
    while (true) {
      const int waiting = Count(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
          "AND query LIKE '%UPDATE identity.users%'");
      if (waiting == 0) return true;
      if (absl::Now() >= give_up) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
};

TEST_F(UsersTest, CreateUserNormalisesTheEmailAndNeverReturnsThePassword) {
  pb::CreateUserResponse resp;
  ASSERT_TRUE(Create("  Ada.Lovelace@Example.COM ", kPassword, &resp, "Ada").ok());
  EXPECT_EQ(resp.user().email(), "ada.lovelace@example.com");
  EXPECT_EQ(resp.user().first_name(), "Ada");
  EXPECT_EQ(resp.user().status(), pb::USER_STATUS_ACTIVE);
  EXPECT_FALSE(resp.user().has_email_verify_time());
  EXPECT_EQ(resp.DebugString().find(kPassword), std::string::npos);
  EXPECT_EQ(resp.DebugString().find("argon2"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.users WHERE password_hash LIKE '$argon2id$%'"),
            1);
}

TEST_F(UsersTest, CreateUserRejectsBadInputNamingTheFieldAndWritesNothing) {
  pb::CreateUserResponse resp;
  grpc::Status s = Create("no-at-sign", kPassword, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "email");
  s = Create("a@example.com", "short pass", &resp);  // 10 characters
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "password");
  s = Create("a@example.com", std::string(129, 'x'), &resp);
  EXPECT_EQ(BadField(s), "password");
  s = Create("a@example.com", kPassword, &resp, std::string(101, 'n'));
  EXPECT_EQ(BadField(s), "first_name");
  EXPECT_EQ(Count("SELECT count(*) FROM identity.users"), 0);
  // Exactly 12 characters, any composition, is accepted (NIST 800-63B).
  EXPECT_TRUE(Create("a@example.com", "aaaaaaaaaaaa", &resp).ok());
}

TEST_F(UsersTest, CreateUserWithATakenEmailInAnyCaseIsAlreadyExists) {
  pb::CreateUserResponse resp;
  ASSERT_TRUE(Create("ada@example.com", kPassword, &resp).ok());
  grpc::Status s = Create("ADA@EXAMPLE.com", kPassword, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ErrorReason(s), "EMAIL_TAKEN");
}

TEST_F(UsersTest, TwoSimultaneousSignUpsWithOneEmailGiveExactlyOneAlreadyExists) {
  for (int round = 0; round < 3; ++round) {
    const std::string email = "race" + std::to_string(round) + "@example.com";
    std::atomic<int> ok{0}, exists{0}, other{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&] {
        Client c(*server_);
        pb::CreateUserRequest req;
        req.set_email(email);
        req.set_password(kPassword);
        pb::CreateUserResponse resp;
        while (!go.load()) std::this_thread::yield();
        grpc::Status s = c.stub().CreateUser(Client::Bearer("").get(), req, &resp);
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
          ++exists;
        } else {
          ++other;
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(exists.load(), 1);
    EXPECT_EQ(other.load(), 0);
  }
}

TEST_F(UsersTest, GetUserReturnsSelfAndAnyoneForAdminButNotOthers) {
  std::string ada_id, bob_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string bob = client_->MemberToken("bob@example.com", &bob_id);
  const std::string admin = client_->AdminToken();
  pb::GetUserResponse resp;
  ASSERT_TRUE(Get(ada, ada_id, &resp).ok());
  EXPECT_EQ(resp.user().email(), "ada@example.com");
  EXPECT_EQ(Get(bob, ada_id, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Get(admin, ada_id, &resp).ok());
  EXPECT_EQ(Get(admin, "00000000-0000-4000-8000-000000000000", &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status bad = Get(admin, "not-a-uuid", &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(bad), "user_id");
  EXPECT_EQ(Get("", ada_id, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(UsersTest, ListUsersPagesWithSignedTokensAndFilters) {
  const std::string admin = client_->AdminToken();
  for (int i = 0; i < 5; ++i) client_->SignUp("user" + std::to_string(i) + "@example.com");
  pb::ListUsersRequest req;
  req.set_page_size(2);
  req.set_email_prefix("USER");
  std::vector<std::string> seen;
  std::string first_token;
  for (int page = 0; page < 10; ++page) {
    pb::ListUsersResponse resp;
    ASSERT_TRUE(client_->stub().ListUsers(Client::Bearer(admin).get(), req, &resp).ok());
    for (const auto& u : resp.users()) seen.push_back(u.email());
    if (page == 0) first_token = resp.next_page_token();
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(seen.size(), 5u);  // the admin is filtered out by the prefix
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());

  // A forged or re-targeted token is refused.
  pb::ListUsersResponse resp;
  pb::ListUsersRequest forged = req;
  std::string tampered = first_token;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  forged.set_page_token(tampered);
  grpc::Status s = client_->stub().ListUsers(Client::Bearer(admin).get(), forged, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "page_token");
  pb::ListUsersRequest other_filter;
  other_filter.set_page_token(first_token);
  EXPECT_EQ(client_->stub().ListUsers(Client::Bearer(admin).get(), other_filter, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // ...and so is a token of another listing.
  pb::ListAccountsRequest other_listing;
  other_listing.set_page_token(first_token);
  pb::ListAccountsResponse accounts;
  s = client_->stub().ListAccounts(Client::Bearer(admin).get(), other_listing, &accounts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "page_token");
  pb::ListUsersRequest negative;
  negative.set_page_size(-1);
  EXPECT_EQ(client_->stub().ListUsers(Client::Bearer(admin).get(), negative, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Members may not list users.
  const std::string member = client_->LoginToken("user0@example.com");
  EXPECT_EQ(client_->stub().ListUsers(Client::Bearer(member).get(), {}, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(UsersTest, UpdateUserChangesOnlyTheFieldsSetForSelfOrAdmin) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string bob = client_->MemberToken("bob@example.com");
  pb::UpdateUserRequest req;
  req.set_user_id(ada_id);
  req.set_first_name("Ada");
  req.set_phone("+44 20 7946 0000");
  pb::UpdateUserResponse resp;
  ASSERT_TRUE(client_->stub().UpdateUser(Client::Bearer(ada).get(), req, &resp).ok());
  EXPECT_EQ(resp.user().first_name(), "Ada");
  pb::UpdateUserRequest only_last;
  only_last.set_user_id(ada_id);
  only_last.set_last_name("Lovelace");
  ASSERT_TRUE(client_->stub().UpdateUser(Client::Bearer(ada).get(), only_last, &resp).ok());
  EXPECT_EQ(resp.user().first_name(), "Ada");
  EXPECT_EQ(resp.user().last_name(), "Lovelace");
  EXPECT_EQ(resp.user().phone(), "+44 20 7946 0000");
  EXPECT_EQ(client_->stub().UpdateUser(Client::Bearer(bob).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::UpdateUserRequest too_long;
  too_long.set_user_id(ada_id);
  too_long.set_phone(std::string(33, '1'));
  grpc::Status s = client_->stub().UpdateUser(Client::Bearer(ada).get(), too_long, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "phone");
}

// The handler's transaction lives by the call's deadline: an UPDATE stuck behind a row lock
// stops waiting when the client gives up (not at the 5 s statement timeout), and is never
// applied after the client was told DEADLINE_EXCEEDED.
TEST_F(UsersTest, AnUpdateThatOutlivesItsDeadlineStopsWaitingAndIsNeverApplied) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  UserRowLock lock(server_->database().url(), ada_id);

  pb::UpdateUserRequest req;
  req.set_user_id(ada_id);
  req.set_first_name("Late");
  pb::UpdateUserResponse resp;
  auto ctx = Client::Bearer(ada);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  EXPECT_EQ(client_->stub().UpdateUser(ctx.get(), req, &resp).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);

  // While the lock is still held, the service's UPDATE stops waiting for it.
  EXPECT_TRUE(NoUserUpdateWaitsForALock());

  lock.tx.abort();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_NE(FirstNameOf(ada, ada_id), "Late");
}

// The same for a call the client cancels (or a drain gives up on) without a deadline: the
// UPDATE stops waiting for the lock, and its transaction never commits.
TEST_F(UsersTest, AnUpdateWhoseCallIsCancelledIsNeverApplied) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  UserRowLock lock(server_->database().url(), ada_id);

  pb::UpdateUserRequest req;
  req.set_user_id(ada_id);
  req.set_first_name("Gone");
  pb::UpdateUserResponse resp;
  auto ctx = Client::Bearer(ada);
  std::thread cancel([&] {
    absl::SleepFor(absl::Milliseconds(300));
    ctx->TryCancel();
  });
  EXPECT_EQ(client_->stub().UpdateUser(ctx.get(), req, &resp).error_code(),
            grpc::StatusCode::CANCELLED);
  cancel.join();
  // While the lock is still held, the service's UPDATE stops waiting for it.
  EXPECT_TRUE(NoUserUpdateWaitsForALock());
  lock.tx.abort();  // had the UPDATE still waited, it would now go through: must not commit
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_NE(FirstNameOf(ada, ada_id), "Gone");
}

TEST_F(UsersTest, SuspendingAUserRevokesTheirSessionsAndOnlyAdminsMaySetStatus) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string admin = client_->AdminToken();
  pb::SetUserStatusRequest req;
  req.set_user_id(ada_id);
  req.set_status(pb::USER_STATUS_SUSPENDED);
  pb::SetUserStatusResponse resp;
  EXPECT_EQ(client_->stub().SetUserStatus(Client::Bearer(ada).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(client_->stub().SetUserStatus(Client::Bearer(admin).get(), req, &resp).ok());
  EXPECT_EQ(resp.user().status(), pb::USER_STATUS_SUSPENDED);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.sessions WHERE revoked_at IS NULL AND user_id "
                  "= '" + ada_id + "'"),
            0);
  pb::GetUserResponse got;
  EXPECT_EQ(Get(ada, ada_id, &got).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Re-activated, the user may log in again.
  req.set_status(pb::USER_STATUS_ACTIVE);
  ASSERT_TRUE(client_->stub().SetUserStatus(Client::Bearer(admin).get(), req, &resp).ok());
  client_->LoginToken("ada@example.com");
  pb::SetUserStatusRequest unspecified;
  unspecified.set_user_id(ada_id);
  grpc::Status s = client_->stub().SetUserStatus(Client::Bearer(admin).get(), unspecified, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "status");
}

// proto3 hands a handler any enum number a client sends: one identity does not know is refused
// as "<field>: unknown value N" (not "must be ..." or "is required"), never read as "no filter".
TEST_F(UsersTest, UnknownEnumNumberIsUnknownValueNamingTheField) {
  std::string ada_id;
  client_->MemberToken("ada@example.com", &ada_id);
  const std::string admin = client_->AdminToken();
  for (int n : {7, 4, -1, 2147483647, -2147483647 - 1}) {
    const std::string want = absl::StrCat("status: unknown value ", n);
    pb::SetUserStatusRequest set;
    set.set_user_id(ada_id);
    set.set_status(static_cast<pb::UserStatus>(n));
    pb::SetUserStatusResponse set_resp;
    grpc::Status s = client_->stub().SetUserStatus(Client::Bearer(admin).get(), set, &set_resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), want);
    EXPECT_EQ(BadField(s), "status");

    pb::ListUsersRequest list;
    list.set_status(static_cast<pb::UserStatus>(n));
    pb::ListUsersResponse listed;
    s = client_->stub().ListUsers(Client::Bearer(admin).get(), list, &listed);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), want);

    pb::UpdateAccountRequest account;
    account.set_account_id("00000000-0000-4000-8000-000000000000");
    account.set_status(static_cast<pb::AccountStatus>(n));
    pb::UpdateAccountResponse updated;
    s = client_->stub().UpdateAccount(Client::Bearer(admin).get(), account, &updated);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), want);

    pb::ListLoginAttemptsRequest attempts;
    attempts.set_success(static_cast<pb::SuccessFilter>(n));
    pb::ListLoginAttemptsResponse attempted;
    s = client_->stub().ListLoginAttempts(Client::Bearer(admin).get(), attempts, &attempted);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), absl::StrCat("success: unknown value ", n));
    EXPECT_EQ(BadField(s), "success");
  }
  // Not set where it must be: "is required".
  pb::SetUserStatusRequest unset;
  unset.set_user_id(ada_id);
  pb::SetUserStatusResponse resp;
  grpc::Status s = client_->stub().SetUserStatus(Client::Bearer(admin).get(), unset, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "status: is required");
  EXPECT_EQ(Count("SELECT count(*) FROM identity.users WHERE status <> 'active'"), 0);
}

TEST_F(UsersTest, DeleteUserIsSoftRevokesSessionsAndBlocksLogin) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string bob = client_->MemberToken("bob@example.com");
  const std::string admin = client_->AdminToken();
  pb::DeleteUserRequest req;
  req.set_user_id(ada_id);
  pb::DeleteUserResponse resp;
  EXPECT_EQ(client_->stub().DeleteUser(Client::Bearer(bob).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(client_->stub().DeleteUser(Client::Bearer(ada).get(), req, &resp).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM identity.users WHERE deleted_at IS NOT NULL"), 1);
  pb::LoginResponse login;
  EXPECT_EQ(client_->Login("ada@example.com", kPassword, &login).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  pb::GetUserResponse got;
  EXPECT_EQ(Get(admin, ada_id, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(client_->stub().DeleteUser(Client::Bearer(admin).get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(UsersTest, ChangePasswordNeedsTheCurrentOneAndRevokesOtherSessions) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string other_session = client_->LoginToken("ada@example.com");
  pb::ChangePasswordRequest req;
  req.set_user_id(ada_id);
  req.set_current_password("this is not it!");
  req.set_new_password("a brand new passphrase");
  pb::ChangePasswordResponse resp;
  grpc::Status s = client_->stub().ChangePassword(Client::Bearer(ada).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "current_password");
  req.set_current_password(kPassword);
  req.set_new_password("too short");
  s = client_->stub().ChangePassword(Client::Bearer(ada).get(), req, &resp);
  EXPECT_EQ(BadField(s), "new_password");
  req.set_new_password("a brand new passphrase");
  ASSERT_TRUE(client_->stub().ChangePassword(Client::Bearer(ada).get(), req, &resp).ok());
  EXPECT_EQ(resp.revoked_session_count(), 1);
  pb::GetUserResponse got;
  EXPECT_TRUE(Get(ada, ada_id, &got).ok());  // the current session lives on
  EXPECT_EQ(Get(other_session, ada_id, &got).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  pb::LoginResponse login;
  EXPECT_EQ(client_->Login("ada@example.com", kPassword, &login).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(client_->Login("ada@example.com", "a brand new passphrase", &login).ok());
  // Nobody changes another user's password here, not even an admin.
  const std::string admin = client_->AdminToken();
  EXPECT_EQ(client_->stub().ChangePassword(Client::Bearer(admin).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(UsersTest, EmailVerificationTokenIsOneTimeHashedAndExpires) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  const std::string admin = client_->AdminToken();
  pb::CreateEmailVerificationRequest req;
  req.set_user_id(ada_id);
  pb::CreateEmailVerificationResponse created;
  EXPECT_EQ(client_->stub().CreateEmailVerification(Client::Bearer(ada).get(), req, &created)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      client_->stub().CreateEmailVerification(Client::Bearer(admin).get(), req, &created).ok());
  EXPECT_EQ(created.verification_token().size(), 43u);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.email_verifications WHERE token_hash = '" +
                  created.verification_token() + "'"),
            0);

  pb::ConfirmEmailVerificationRequest confirm;
  confirm.set_verification_token(created.verification_token());
  pb::ConfirmEmailVerificationResponse confirmed;
  ASSERT_TRUE(client_->stub()
                  .ConfirmEmailVerification(Client::Bearer("").get(), confirm, &confirmed)
                  .ok());
  EXPECT_TRUE(confirmed.user().has_email_verify_time());
  grpc::Status again =
      client_->stub().ConfirmEmailVerification(Client::Bearer("").get(), confirm, &confirmed);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(again), "verification_token");

  ASSERT_TRUE(
      client_->stub().CreateEmailVerification(Client::Bearer(admin).get(), req, &created).ok());
  server_->clock().Advance(absl::Hours(25));
  confirm.set_verification_token(created.verification_token());
  EXPECT_EQ(client_->stub()
                .ConfirmEmailVerification(Client::Bearer("").get(), confirm, &confirmed)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(UsersTest, BootstrapAdminIsIdempotentAndNeverUsesADefaultPassword) {
  auto first = server_->identity().BootstrapAdmin(kAdminEmail, kPassword);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  auto second = server_->identity().BootstrapAdmin(kAdminEmail, kPassword);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.role_assignments WHERE role_key = 'admin'"), 1);
  auto weak = server_->identity().BootstrapAdmin("other@example.com", "");
  EXPECT_EQ(weak.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace suite::identity::testing
