// The audit trail seen from the API: a privileged call records the authenticated caller as
// the actor and the call's request id, and a call refused for lack of privilege records
// nothing.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <string>

#include "services/identity/grpc/test_helpers.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;

class AuditTest : public IdentityServiceTest {};

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
  EXPECT_EQ(pqxx::nontransaction(db).exec1("SELECT count(*) FROM identity.audit_log")[0]
                .as<int>(),
            0);

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

}  // namespace
}  // namespace suite::identity::testing
