// Hostile input against every unary RPC of the three services, running in-process on real
// PostgreSQL databases. The cases are generated from the request descriptors: for every string
// field of every request (and of its singular sub-messages) a 1 MiB value, invalid UTF-8 and
// SQL metacharacters; for the fields whose bound the proto documents, the bound and one past
// it; for required fields the empty value; for id fields malformed UUIDs; for every enum an
// unknown number; for page_size negative and huge values; for page_token forged and edited
// tokens; plus the empty request and one message over the server's 4 MiB limit.
//
// Every rejected call must carry the documented code naming the field (google.rpc.BadRequest),
// must write nothing (row counts of the service's schema before and after) and the server's
// health must still be SERVING after the whole table. Each exception to the generic rule is
// listed in kExpected below with its reason, so a change in behaviour fails the test.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/testing/billing_test_server.h"
#include "services/identity/grpc/test_helpers.h"
#include "services/identity/testing/identity_test_server.h"
#include "services/questions/testing/questions_test_server.h"
#include "shared/api/status.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/grpc_status.h"
#include "tests/reliability/harness.h"

namespace suite::reliability {
namespace {

namespace pb = ::google::protobuf;

// The invalid UTF-8 cases make protobuf log one line per parse; the test asserts the codes.
const bool kQuietProtobuf = [] {
  pb::SetLogHandler(nullptr);
  return true;
}();

// One RPC: its request as text format (placeholders $NAME are replaced by ids the fixture
// created), the documented length bounds of its string fields, the fields that are required,
// and the fields that hold UUIDs.
struct MethodSpec {
  std::string method;
  std::string base;
  std::map<std::string, int> bounds;
  std::set<std::string> required;
  std::set<std::string> uuids;
  // Refusals that are recorded on purpose (Login audits failed attempts): calls answered
  // with this code may write rows.
  grpc::StatusCode audited = grpc::StatusCode::OK;
  // Fields left alone (e.g. the other member of a set-exactly-one pair).
  std::set<std::string> skip = {};
};

struct Tally {
  int cases = 0;
  std::map<std::string, int> by_kind;
  std::map<std::string, std::map<std::string, int>> codes_by_kind;  // kind -> code -> n
  std::map<std::string, std::string> example;                         // kind -> a message
};

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",           "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  return c >= 0 && c <= 16 ? kNames[c] : "?";
}

bool NamesField(const grpc::Status& status, const std::string& path) {
  absl::Status s = suite::rpc::FromGrpcStatus(status);
  std::string leaf = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
  for (const auto& v : suite::api::FieldViolationsOf(s)) {
    if (v.field == path || v.field == leaf || absl::StartsWith(v.field, path + ".") ||
        absl::StartsWith(v.field, path + "[") || absl::EndsWith(v.field, "." + leaf)) {
      return true;
    }
  }
  return false;
}

std::string Violations(const grpc::Status& status) {
  std::vector<std::string> out;
  for (const auto& v : suite::api::FieldViolationsOf(suite::rpc::FromGrpcStatus(status))) {
    out.push_back(v.field + ": " + v.description);
  }
  return absl::StrJoin(out, "; ");
}

// A value of exactly `n` characters that is otherwise well-formed for the field.
std::string FillerFor(const std::string& field, int n) {
  if (absl::EndsWith(field, "email")) {
    // local@ + labels of at most 63 characters + ".com".
    std::string domain;
    int left = n - 2 - 4;  // "u@" and ".com"
    while (left > 0) {
      int label = std::min(left, 63);
      if (!domain.empty()) {
        domain += ".";
        --left;
        label = std::min(left, 63);
        if (label <= 0) break;
      }
      domain += std::string(label, 'd');
      left -= label;
    }
    std::string out = "u@" + domain + ".com";
    while (static_cast<int>(out.size()) < n) out.insert(0, "u");
    return out;
  }
  if (absl::EndsWith(field, "slug") || absl::EndsWith(field, "key") || field == "role") {
    return std::string(n, 'k');
  }
  return std::string(n, 'a');
}

class HostileRunner {
 public:
  HostileRunner(std::shared_ptr<grpc::Channel> channel, std::string service,
                std::string db_url, std::string schema, std::string token,
                std::map<std::string, std::string> placeholders)
      : channel_(std::move(channel)),
        service_(std::move(service)),
        db_url_(std::move(db_url)),
        schema_(std::move(schema)),
        token_(std::move(token)),
        placeholders_(std::move(placeholders)) {}

  // Expected overrides "Method field kind" -> code, each with its reason in the table.
  void Expect(const std::string& key, grpc::StatusCode code) { overrides_[key] = code; }

  void Run(const MethodSpec& spec) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(service_);
    ASSERT_NE(service, nullptr) << service_;
    const pb::MethodDescriptor* method = service->FindMethodByName(spec.method);
    ASSERT_NE(method, nullptr) << spec.method;
    covered_.insert(spec.method);
    const pb::Message* prototype =
        pb::MessageFactory::generated_factory()->GetPrototype(method->input_type());
    std::unique_ptr<pb::Message> base(prototype->New());
    std::string text = absl::StrReplaceAll(spec.base, placeholders_);
    ASSERT_TRUE(pb::TextFormat::ParseFromString(text, base.get())) << spec.method << ": " << text;
    const std::string path = absl::StrCat("/", service_, "/", spec.method);

    // The base request itself must pass validation, or "names the field" proves nothing.
    RawResult base_result = CallRaw(channel_, path, base->SerializeAsString(), token_);
    EXPECT_NE(base_result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << spec.method << " base request is invalid: " << base_result.status.error_message()
        << " " << Violations(base_result.status);
    EXPECT_NE(base_result.status.error_code(), grpc::StatusCode::INTERNAL) << spec.method;

    // The empty request.
    if (!spec.required.empty()) {
      std::unique_ptr<pb::Message> empty(prototype->New());
      Check(spec, path, "(all)", "missing", empty->SerializeAsString(),
            grpc::StatusCode::INVALID_ARGUMENT, /*field_named=*/"");
    }

    ForEachField(*base, "", [&](const std::string& field, pb::Message& /*owner*/,
                                const pb::FieldDescriptor* fd) {
      if (spec.skip.count(field)) return;
      auto with = [&](const std::function<void(pb::Message&)>& edit) {
        std::unique_ptr<pb::Message> copy(base->New());
        copy->CopyFrom(*base);
        pb::Message* target = Resolve(*copy, field);
        edit(*target);
        return copy->SerializePartialAsString();
      };
      if (fd->type() == pb::FieldDescriptor::TYPE_STRING && !fd->is_repeated()) {
        auto set = [&](std::string v) {
          return with([&, v](pb::Message& m) { m.GetReflection()->SetString(&m, fd, v); });
        };
        bool is_token = fd->name() == "page_token";
        Check(spec, path, field, "1MiB", set(std::string(1 << 20, 'a')),
              grpc::StatusCode::INVALID_ARGUMENT, field);
        // proto3 strings must be UTF-8: the request does not parse and no handler runs. gRPC
        // alone would answer UNIMPLEMENTED (callback API) with an empty message; the suite's
        // interceptor makes it INVALID_ARGUMENT (shared/rpc/server/call_interceptor.cc). The parser
        // does not say which field, so none is named.
        Check(spec, path, field, "invalid_utf8", set("abc\xff\xfe\xc3"),
              grpc::StatusCode::INVALID_ARGUMENT, "");
        Check(spec, path, field, "sql", set("x'); DROP TABLE " + schema_ + ".t; --"),
              kAnyButInternal, "");
        auto bound = spec.bounds.find(field);
        if (bound != spec.bounds.end()) {
          Check(spec, path, field, "at_bound", set(FillerFor(field, bound->second)),
                kNotThisField, field, /*count_rows=*/false);
          Check(spec, path, field, "over_bound", set(FillerFor(field, bound->second + 1)),
                grpc::StatusCode::INVALID_ARGUMENT, field);
        }
        if (spec.required.count(field)) {
          Check(spec, path, field, "empty", set(""), grpc::StatusCode::INVALID_ARGUMENT, field);
        }
        if (spec.uuids.count(field)) {
          Check(spec, path, field, "bad_uuid", set("not-a-uuid"),
                grpc::StatusCode::INVALID_ARGUMENT, field);
          Check(spec, path, field, "bad_uuid_hex", set("0000000g-0000-0000-0000-000000000000"),
                grpc::StatusCode::INVALID_ARGUMENT, field);
        }
        if (is_token) {
          Check(spec, path, field, "forged_token",
                set(absl::WebSafeBase64Escape("{\"after\":\"0\",\"id\":\"x\"}")),
                grpc::StatusCode::INVALID_ARGUMENT, field);
          EditedToken(spec, path, *base, fd, field);
        }
      } else if (fd->type() == pb::FieldDescriptor::TYPE_ENUM && !fd->is_repeated()) {
        Check(spec, path, field, "unknown_enum",
              with([&](pb::Message& m) { m.GetReflection()->SetEnumValue(&m, fd, 999); }),
              grpc::StatusCode::INVALID_ARGUMENT, field);
      } else if (fd->name() == "page_size" && fd->type() == pb::FieldDescriptor::TYPE_INT32) {
        Check(spec, path, field, "negative_page_size",
              with([&](pb::Message& m) { m.GetReflection()->SetInt32(&m, fd, -1); }),
              grpc::StatusCode::INVALID_ARGUMENT, field);
        // AIP-158 lets a service clamp or refuse a page size over its maximum; every service
        // here clamps (shared/api/page_size.h), but either answer is acceptable API behaviour.
        Check(spec, path, field, "huge_page_size",
              with([&](pb::Message& m) { m.GetReflection()->SetInt32(&m, fd, 2147483647); }),
              kOkOrNamed, field, /*count_rows=*/false);
      } else if (fd->type() == pb::FieldDescriptor::TYPE_STRING && fd->is_repeated()) {
        Check(spec, path, field, "1MiB_element",
              with([&](pb::Message& m) { m.GetReflection()->AddString(&m, fd, std::string(1 << 20, 'a')); }),
              grpc::StatusCode::INVALID_ARGUMENT, field);
        Check(spec, path, field, "bad_uuid_element",
              with([&](pb::Message& m) { m.GetReflection()->AddString(&m, fd, "'; --"); }),
              grpc::StatusCode::INVALID_ARGUMENT, field);
      }
    });
  }

  // Oversize sends one message bigger than the server's 4 MiB limit.
  void Oversize(const std::string& method, const std::string& field_text) {
    const std::string path = absl::StrCat("/", service_, "/", method);
    // Field 1 as length-delimited bytes: whatever its type, the transport refuses it first.
    std::string big(5 << 20, 'a');
    std::string wire;
    wire.push_back(0x0a);
    uint64_t n = big.size();
    while (n >= 0x80) {
      wire.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    wire.push_back(static_cast<char>(n));
    wire += big;
    MethodSpec spec{method, "", {}, {}, {}};
    Check(spec, path, field_text, "oversize_5MiB", wire, grpc::StatusCode::RESOURCE_EXHAUSTED, "");
  }

  void ExpectHealthy() {
    EXPECT_EQ(HealthOf(channel_), HealthStatus::kServing) << service_ << " after hostile input";
  }

  void ExpectAllMethodsCovered(const std::set<std::string>& skipped) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(service_);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string& name = service->method(i)->name();
      EXPECT_TRUE(covered_.count(name) || skipped.count(name)) << "no hostile cases for " << name;
    }
  }

  const Tally& tally() const { return tally_; }

  void Print() const {
    std::printf("%s: %d cases\n", service_.c_str(), tally_.cases);
    for (const auto& [kind, codes] : tally_.codes_by_kind) {
      std::vector<std::string> parts;
      for (const auto& [code, n] : codes) parts.push_back(absl::StrCat(code, "=", n));
      std::printf("  %-20s %s  e.g. %s\n", kind.c_str(), absl::StrJoin(parts, " ").c_str(),
                  tally_.example.count(kind) ? tally_.example.at(kind).c_str() : "-");
    }
  }

 private:
  // Expectations that are not one code (values outside grpc::StatusCode's range).
  static constexpr grpc::StatusCode kAnyButInternal = static_cast<grpc::StatusCode>(100);
  static constexpr grpc::StatusCode kNotThisField = static_cast<grpc::StatusCode>(101);
  static constexpr grpc::StatusCode kOkOrNamed = static_cast<grpc::StatusCode>(102);

  // Visits every field of `message` and of its singular sub-messages (one level), with the
  // dotted path of the field.
  void ForEachField(pb::Message& message, const std::string& prefix,
                    const std::function<void(const std::string&, pb::Message&,
                                             const pb::FieldDescriptor*)>& visit) {
    const pb::Descriptor* d = message.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* fd = d->field(i);
      std::string name = prefix.empty() ? fd->name() : prefix + "." + fd->name();
      if (fd->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
        if (fd->is_repeated() || fd->is_map() || !prefix.empty()) continue;
        if (absl::StartsWith(fd->message_type()->full_name(), "google.protobuf.")) continue;
        pb::Message* sub = message.GetReflection()->MutableMessage(&message, fd);
        ForEachField(*sub, name, visit);
        continue;
      }
      visit(name, message, fd);
    }
  }

  // Resolve returns the message that owns the field at dotted `path` inside `root`.
  static pb::Message* Resolve(pb::Message& root, const std::string& path) {
    size_t dot = path.find('.');
    if (dot == std::string::npos) return &root;
    const pb::FieldDescriptor* fd = root.GetDescriptor()->FindFieldByName(path.substr(0, dot));
    return Resolve(*root.GetReflection()->MutableMessage(&root, fd), path.substr(dot + 1));
  }

  void EditedToken(const MethodSpec& spec, const std::string& path, const pb::Message& base,
                   const pb::FieldDescriptor* token_fd, const std::string& field) {
    std::unique_ptr<pb::Message> first(base.New());
    first->CopyFrom(base);
    const pb::FieldDescriptor* size_fd = first->GetDescriptor()->FindFieldByName("page_size");
    if (size_fd == nullptr) return;
    first->GetReflection()->SetInt32(first.get(), size_fd, 1);
    RawResult r = CallRaw(channel_, path, first->SerializeAsString(), token_);
    if (!r.status.ok()) return;
    const pb::MethodDescriptor* m = pb::DescriptorPool::generated_pool()
                                        ->FindServiceByName(service_)
                                        ->FindMethodByName(spec.method);
    std::unique_ptr<pb::Message> response(
        pb::MessageFactory::generated_factory()->GetPrototype(m->output_type())->New());
    if (!response->ParseFromString(r.response)) return;
    const pb::FieldDescriptor* next = response->GetDescriptor()->FindFieldByName("next_page_token");
    if (next == nullptr) return;
    std::string token = response->GetReflection()->GetString(*response, next);
    if (token.empty()) return;
    ++edited_tokens_;
    // Flip one character in the middle (the signed payload) and one at the end (the MAC).
    for (size_t pos : {token.size() / 2, token.size() - 2}) {
      std::string edited = token;
      edited[pos] = edited[pos] == 'A' ? 'B' : 'A';
      std::unique_ptr<pb::Message> req(first->New());
      req->CopyFrom(*first);
      req->GetReflection()->SetString(req.get(), token_fd, edited);
      Check(spec, path, field, "edited_token", req->SerializeAsString(),
            grpc::StatusCode::INVALID_ARGUMENT, field);
    }
  }

  void Check(const MethodSpec& spec, const std::string& path, const std::string& field,
             const std::string& kind, const std::string& bytes, grpc::StatusCode expected,
             const std::string& field_named, bool count_rows = true) {
    const std::string key = absl::StrCat(spec.method, " ", field, " ", kind);
    auto o = overrides_.find(key);
    if (o != overrides_.end()) {
      expected = o->second;
      used_overrides_.insert(key);
    }
    absl::StatusOr<int64_t> before = CountRows(db_url_, schema_);
    ASSERT_TRUE(before.ok()) << before.status();
    RawResult r = CallRaw(channel_, path, bytes, token_);
    grpc::StatusCode got = r.status.error_code();
    ++tally_.cases;
    ++tally_.by_kind[kind];
    ++tally_.codes_by_kind[kind][CodeName(got)];
    if (got != grpc::StatusCode::OK && !tally_.example.count(kind)) {
      tally_.example[kind] = absl::StrCat(CodeName(got), " \"", r.status.error_message().substr(0, 80), "\"");
    }
    const std::string what = absl::StrCat(key, " -> ", CodeName(got), " \"",
                                          r.status.error_message().substr(0, 120), "\" [",
                                          Violations(r.status), "]");
    EXPECT_NE(got, grpc::StatusCode::UNKNOWN) << what;
    EXPECT_NE(got, grpc::StatusCode::DEADLINE_EXCEEDED) << what;
    if (expected == kAnyButInternal) {
      EXPECT_NE(got, grpc::StatusCode::INTERNAL) << what;
    } else if (expected == kOkOrNamed) {
      EXPECT_TRUE(got == grpc::StatusCode::OK || (got == grpc::StatusCode::INVALID_ARGUMENT &&
                                                  NamesField(r.status, field_named)))
          << what;
    } else if (expected == kNotThisField) {
      EXPECT_NE(got, grpc::StatusCode::INTERNAL) << what;
      if (got == grpc::StatusCode::INVALID_ARGUMENT) {
        EXPECT_FALSE(NamesField(r.status, field_named)) << "value at the bound refused: " << what;
      }
    } else {
      EXPECT_EQ(got, expected) << what;
      if (got == grpc::StatusCode::INVALID_ARGUMENT && !field_named.empty()) {
        EXPECT_TRUE(NamesField(r.status, field_named)) << "field not named: " << what;
      }
    }
    if (count_rows && got != grpc::StatusCode::OK && !(got == spec.audited && got != grpc::StatusCode::OK)) {
      absl::StatusOr<int64_t> after = CountRows(db_url_, schema_);
      ASSERT_TRUE(after.ok()) << after.status();
      EXPECT_EQ(*after, *before) << "a refused call wrote rows: " << what;
    }
  }

 public:
  void ExpectOverridesUsed() {
    for (const auto& [key, code] : overrides_) {
      EXPECT_TRUE(used_overrides_.count(key)) << "stale expectation: " << key;
    }
  }
  int edited_tokens() const { return edited_tokens_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string service_;
  std::string db_url_;
  std::string schema_;
  std::string token_;
  std::map<std::string, std::string> placeholders_;
  std::map<std::string, grpc::StatusCode> overrides_;
  std::set<std::string> used_overrides_;
  std::set<std::string> covered_;
  Tally tally_;
  int edited_tokens_ = 0;
};

// ---------------------------------------------------------------------------------------------
// identity

TEST(HostileInput, IdentityRejectsEveryMalformedFieldNamingItAndWritesNothing) {
  auto server = identity::testing::IdentityTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  identity::testing::Client client(**server);
  std::string admin = client.AdminToken();
  std::string member_id;
  client.MemberToken("member@example.com", &member_id);
  client.SignUp("other@example.com");
  // An account, so $ACCOUNT names a real one.
  ::identity::v1::CreateAccountRequest account_req;
  account_req.set_name("Acme");
  ::identity::v1::CreateAccountResponse account;
  auto ctx = identity::testing::Client::Bearer(admin);
  ASSERT_TRUE(client.stub().CreateAccount(ctx.get(), account_req, &account).ok());

  ::identity::v1::CreateEmailVerificationRequest verify_req;
  verify_req.set_user_id(member_id);
  ::identity::v1::CreateEmailVerificationResponse verify;
  ctx = identity::testing::Client::Bearer(admin);
  ASSERT_TRUE(client.stub().CreateEmailVerification(ctx.get(), verify_req, &verify).ok());

  HostileRunner runner(NewChannel((*server)->address()), "identity.v1.IdentityService",
                       (*server)->database().url(), "identity", admin,
                       {{"$USER", member_id},
                        {"$ACCOUNT", account.account().account_id()},
                        {"$VERIFY", verify.verification_token()}});
  // The session token is a credential: whatever is wrong with it, the answer is the one
  // UNAUTHENTICATED of the contract (no hint which check failed).
  for (const char* kind : {"(all) missing", "session_token 1MiB", "session_token empty"}) {
    runner.Expect(std::string("ValidateSession ") + kind, grpc::StatusCode::UNAUTHENTICATED);
  }
  const std::string kPw = "correct horse battery staple";
  std::vector<MethodSpec> specs = {
      {"CreateUser",
       "email: 'new@example.com' password: '" + kPw + "' first_name: 'A' last_name: 'B' "
       "phone: '+4412345'",
       {{"email", 254}, {"password", 128}, {"first_name", 100}, {"last_name", 100}, {"phone", 32}},
       {"email", "password"}, {}},
      {"GetUser", "user_id: '$USER'", {}, {"user_id"}, {"user_id"}},
      {"ListUsers", "page_size: 10 email_prefix: 'm'", {}, {}, {}},
      {"UpdateUser", "user_id: '$USER' first_name: 'Z'", {{"first_name", 100},
       {"last_name", 100}, {"phone", 32}}, {"user_id"}, {"user_id"}},
      {"SetUserStatus", "user_id: '$USER' status: USER_STATUS_ACTIVE", {}, {"user_id"},
       {"user_id"}},
      {"DeleteUser", "user_id: '00000000-0000-4000-8000-000000000000'", {}, {"user_id"},
       {"user_id"}},
      {"ChangePassword",
       "user_id: '00000000-0000-4000-8000-000000000000' current_password: '" + kPw +
           "' new_password: 'another horse battery'",
       {{"new_password", 128}}, {"user_id", "new_password"}, {"user_id"}},
      {"CreateEmailVerification", "user_id: '00000000-0000-4000-8000-000000000000'", {},
       {"user_id"}, {"user_id"}},
      {"ConfirmEmailVerification", "verification_token: '$VERIFY'", {}, {"verification_token"},
       {}},
      {"Login", "email: 'nobody@example.com' password: '" + kPw +
                    "' client_ip: '10.1.2.3' user_agent: 'ua'",
       {{"email", 254}, {"user_agent", 512}, {"client_ip", 64}}, {"email", "password"}, {},
       grpc::StatusCode::UNAUTHENTICATED},
      {"ValidateSession", "session_token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'", {},
       {"session_token"}, {}},
      // Empty user_id means the caller's own sessions (documented), so it is not required.
      {"ListSessions", "user_id: '$USER'", {}, {}, {"user_id"}},
      {"RevokeSession", "session_id: '00000000-0000-4000-8000-000000000000'", {},
       {"session_id"}, {"session_id"}},
      {"RevokeAllSessions", "user_id: '00000000-0000-4000-8000-000000000000'", {}, {},
       {"user_id"}},
      {"CreateAccount", "name: 'Globex'", {{"name", 200}}, {"name"}, {}},
      {"GetAccount", "account_id: '$ACCOUNT'", {}, {"account_id"}, {"account_id"}},
      {"ListAccounts", "page_size: 5", {}, {}, {}},
      {"ListRoles", "page_size: 5", {}, {}, {}},
      {"UpdateAccount", "account_id: '$ACCOUNT' name: 'Acme 2'", {{"name", 200}},
       {"account_id"}, {"account_id"}},
      {"CreateRole", "key: 'auditor' label: 'Auditor'", {{"key", 64}, {"label", 200}},
       {"key", "label"}, {}},
      {"AssignRole", "user_id: '$USER' role: 'no_such_role'", {}, {"user_id", "role"},
       {"user_id"}},
      {"RevokeRole", "user_id: '$USER' role: 'no_such_role'", {}, {"user_id", "role"},
       {"user_id"}},
      {"ListRoleAssignments", "user_id: '$USER'", {}, {}, {"user_id", "account_id"}},
      {"ListLoginAttempts", "page_size: 5", {{"email", 254}, {"ip", 64}}, {}, {}},
      {"ListAuditEvents",
       "page_size: 5 actor_user_id: '$USER' action: 'role.create' target_id: 'auditor'",
       {{"action", 100}, {"target_id", 200}}, {}, {"actor_user_id"}},
  };
  for (const auto& spec : specs) runner.Run(spec);
  runner.Oversize("CreateUser", "email");
  runner.ExpectHealthy();
  runner.ExpectOverridesUsed();
  // Logout and RotateSession take empty requests: nothing to corrupt but the bearer (covered
  // by the security tests). WatchRevocations is server-streaming: its one field's hostile
  // values (garbled, empty, future, huge cursors) are in services/identity/grpc:revocation_test.
  runner.ExpectAllMethodsCovered({"Logout", "RotateSession", "WatchRevocations"});
  runner.Print();
}

// ---------------------------------------------------------------------------------------------
// billing

constexpr char kAdminId[] = "11111111-1111-4111-8111-111111111111";
constexpr char kMemberId[] = "22222222-2222-4222-8222-222222222222";

TEST(HostileInput, BillingRejectsEveryMalformedFieldNamingItAndWritesNothing) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  suite::billing::testing::StaticAuthenticator auth;
  auth.Add("admin-token", {kAdminId, {"admin"}, ""});
  auth.AddUser(kMemberId);  // LinkCustomer links only users identity knows
  suite::billing::BillingOptions options;
  options.webhook_secrets = {"whsec_hostile"};
  options.page_token_secret = "page-token-secret-for-hostile-input";
  auto server = suite::billing::testing::BillingTestServer::Start((*db)->UrlAs("billing_service"),
                                                                options, auth);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = NewChannel(absl::StrCat("127.0.0.1:", (*server)->grpc_port()));

  // Two transactions on one account, so ListTransactions hands out a real page token to edit.
  const std::string account = "33333333-3333-4333-8333-333333333333";
  const std::string tx_text = absl::StrCat(
      "transaction { account_id: '", account, "' user_id: '", kMemberId,
      "' kind: TRANSACTION_KIND_PAYMENT status: TRANSACTION_STATUS_SUCCEEDED currency: 'USD' "
      "amount_cents: 500 provider: 'stripe' provider_charge_id: 'ch_1' }");
  for (const char* key : {"seed-1", "seed-2"}) {
    ::billing::v1::RecordTransactionRequest req;
    ASSERT_TRUE(pb::TextFormat::ParseFromString(tx_text, &req));
    req.set_idempotency_key(key);
    ASSERT_TRUE(CallRaw(channel, "/billing.v1.BillingService/RecordTransaction",
                        req.SerializeAsString(), "admin-token")
                    .status.ok());
  }

  HostileRunner runner(channel, "billing.v1.BillingService", (*db)->url(), "billing",
                       "admin-token", {{"$ACCOUNT", account}, {"$MEMBER", kMemberId}});
  // Output-only fields of the Transaction are ignored on input (AIP-203), whatever they hold.
  for (const char* field : {"id", "idempotency_key", "request_id"}) {
    runner.Expect(absl::StrCat("RecordTransaction transaction.", field, " 1MiB"),
                  grpc::StatusCode::OK);
  }
  // A webhook with a bad signature header is an authentication failure, not a bad argument
  // (ParseStripeSignatureHeader documents UNAUTHENTICATED SIGNATURE_*).
  for (const char* kind : {"(all) missing", "stripe_signature 1MiB", "stripe_signature empty",
                           "stripe_signature over_bound"}) {
    runner.Expect(std::string("IngestStripeEvent ") + kind, grpc::StatusCode::UNAUTHENTICATED);
  }
  std::vector<MethodSpec> specs = {
      {"IngestStripeEvent", "payload: '{}' stripe_signature: 't=1,v1=" + std::string(64, 'a') + "'",
       {{"stripe_signature", 4096}}, {"stripe_signature"}, {}},
      // GetCustomer takes exactly one of user_id and stripe_customer_id: each is mutated
      // with the other unset.
      {"GetCustomer", "user_id: '$MEMBER'", {}, {}, {"user_id"}, grpc::StatusCode::OK,
       {"stripe_customer_id"}},
      {"GetCustomer", "stripe_customer_id: 'cus_none'", {{"stripe_customer_id", 255}}, {}, {},
       grpc::StatusCode::OK, {"user_id"}},
      {"LinkCustomer", "stripe_customer_id: 'cus_hostile' user_id: '$MEMBER'",
       {{"stripe_customer_id", 255}}, {"stripe_customer_id", "user_id"}, {"user_id"}},
      {"GetSubscription", "stripe_subscription_id: 'sub_none'", {{"stripe_subscription_id", 255}},
       {"stripe_subscription_id"}, {}},
      // Empty user_id lists the caller's own subscriptions (documented), so it is optional.
      {"ListSubscriptions", "user_id: '$MEMBER' page_size: 10", {}, {}, {"user_id"}},
      {"GetEntitlement", "user_id: '$MEMBER'", {}, {"user_id"}, {"user_id"}},
      {"RecordTransaction", "idempotency_key: 'hostile-1' " + tx_text,
       {{"idempotency_key", 255}, {"transaction.provider", 64},
        {"transaction.provider_charge_id", 255}},
       {"idempotency_key", "transaction.account_id", "transaction.currency",
        "transaction.provider"},
       {"transaction.account_id", "transaction.user_id"}},
      {"ListTransactions", "account_id: '$ACCOUNT' page_size: 10", {}, {"account_id"},
       {"account_id"}},
      {"ListStripeEvents", "page_size: 10 type: 'invoice.paid'", {{"type", 255}}, {}, {}},
      {"ReprocessStripeEvent", "stripe_event_id: 'evt_none'", {{"stripe_event_id", 255}},
       {"stripe_event_id"}, {}},
      // The two seed transactions above are two audit rows, so page_size 1 hands out a token.
      {"ListAuditEvents", "page_size: 10 action: 'ledger.append'",
       {{"action", 100}, {"target_id", 200}}, {}, {"actor_user_id"}},
  };
  for (const auto& spec : specs) runner.Run(spec);
  runner.Oversize("RecordTransaction", "idempotency_key");
  runner.ExpectHealthy();
  runner.ExpectOverridesUsed();
  runner.ExpectAllMethodsCovered({});
  runner.Print();
}

// ---------------------------------------------------------------------------------------------
// questions

TEST(HostileInput, QuestionsRejectsEveryMalformedFieldNamingItAndWritesNothing) {
  suite::billing::testing::StaticAuthenticator auth;
  auth.Add("admin-token", {kAdminId, {"admin", "author"}, ""});
  questions::testing::QuestionsServerOptions options;
  options.authenticator = &auth;
  options.billing_addr = "127.0.0.1:1";  // never needed: the free quota is large
  options.free_sessions_per_day = 100000;
  auto server = questions::testing::QuestionsTestServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = (*server)->NewStub();
  auto call_ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("authorization", "Bearer admin-token");
    return c;
  };
  std::string question_id, archive_id, draft_id, choice_id, tag_id, session_id;
  for (int i = 0; i < 4; ++i) {
    ::questions::v1::CreateQuestionRequest req;
    ASSERT_TRUE(pb::TextFormat::ParseFromString(
        absl::StrCat("stem: 'What is ", i, " plus two?' difficulty: QUESTION_DIFFICULTY_EASY "
                     "choices { text: 'four' is_correct: true } choices { text: 'five' }"),
        &req));
    ::questions::v1::CreateQuestionResponse resp;
    auto c = call_ctx();
    ASSERT_TRUE(stub->CreateQuestion(c.get(), req, &resp).ok());
    if (i == 3) {
      draft_id = resp.question().id();  // stays a draft: only drafts can be updated
      continue;
    }
    ::questions::v1::PublishQuestionRequest pub;
    pub.set_question_id(resp.question().id());
    ::questions::v1::PublishQuestionResponse pub_resp;
    c = call_ctx();
    ASSERT_TRUE(stub->PublishQuestion(c.get(), pub, &pub_resp).ok());
    if (i == 0) {
      question_id = resp.question().id();
      choice_id = resp.question().choices(0).id();
    }
    if (i == 1) archive_id = resp.question().id();
  }
  {
    ::questions::v1::CreateTagRequest req;
    req.set_kind(::questions::v1::TAG_KIND_TOPIC);
    req.set_slug("arithmetic");
    req.set_label("Arithmetic");
    ::questions::v1::CreateTagResponse resp;
    auto c = call_ctx();
    ASSERT_TRUE(stub->CreateTag(c.get(), req, &resp).ok());
    tag_id = resp.tag().id();
    ::questions::v1::StartPracticeSessionRequest start;
    start.set_mode(::questions::v1::PRACTICE_MODE_TUTOR);
    start.set_question_count(3);
    ::questions::v1::StartPracticeSessionResponse started;
    c = call_ctx();
    grpc::Status s = stub->StartPracticeSession(c.get(), start, &started);
    ASSERT_TRUE(s.ok()) << s.error_message();
    session_id = started.session().id();
    ::questions::v1::CreateBookmarkRequest mark;
    mark.set_question_id(question_id);
    ::questions::v1::CreateBookmarkResponse marked;
    c = call_ctx();
    ASSERT_TRUE(stub->CreateBookmark(c.get(), mark, &marked).ok());
  }

  HostileRunner runner(NewChannel((*server)->address()), "questions.v1.QuestionBankService",
                       (*server)->database().url(), "questions", "admin-token",
                       {{"$QUESTION", question_id},
                        {"$ARCHIVE", archive_id},
                        {"$DRAFT", draft_id},
                        {"$CHOICE", choice_id},
                        {"$TAG", tag_id},
                        {"$SESSION", session_id}});
  std::vector<MethodSpec> specs = {
      {"CreateQuestion",
       "stem: 'Which is prime?' explanation: 'Seven.' difficulty: QUESTION_DIFFICULTY_MEDIUM "
       "choices { text: 'seven' is_correct: true } choices { text: 'nine' } "
       "external_key: 'hostile-1'",
       {{"stem", 4000}, {"explanation", 8000}, {"external_key", 200}}, {"stem"}, {}},
      {"UpdateQuestion", "question_id: '$DRAFT' stem: 'What is three plus two?' "
                         "explanation: 'Five.' difficulty: QUESTION_DIFFICULTY_HARD "
                         "update_mask { paths: ['stem', 'explanation', 'difficulty'] }",
       {{"stem", 4000}, {"explanation", 8000}}, {"question_id"}, {"question_id"}},
      {"PublishQuestion", "question_id: '$QUESTION'", {}, {"question_id"}, {"question_id"}},
      {"ArchiveQuestion", "question_id: '$ARCHIVE'", {}, {"question_id"}, {"question_id"}},
      {"GetQuestion", "question_id: '$QUESTION'", {}, {"question_id"}, {"question_id"}},
      {"ListQuestions", "page_size: 10 filter { stem_query: 'plus' }",
       {{"filter.stem_query", 200}}, {}, {}},
      {"CreateTag", "kind: TAG_KIND_DOMAIN slug: 'cardiology' label: 'Cardiology'",
       {{"slug", 64}, {"label", 200}}, {"slug", "label"}, {}},
      {"ListTags", "page_size: 10", {}, {}, {}},
      {"TagQuestion", "question_id: '$QUESTION' tag_id: '$TAG'", {}, {"question_id", "tag_id"},
       {"question_id", "tag_id"}},
      {"UntagQuestion", "question_id: '$QUESTION' tag_id: '$TAG'", {},
       {"question_id", "tag_id"}, {"question_id", "tag_id"}},
      {"StartPracticeSession", "mode: PRACTICE_MODE_TUTOR question_count: 1", {}, {}, {}},
      {"GetPracticeSession", "session_id: '$SESSION'", {}, {"session_id"}, {"session_id"}},
      {"SubmitAttempt", "session_id: '$SESSION' question_id: '$QUESTION' choice_id: '$CHOICE' "
                        "time_spent_ms: 1000",
       {}, {"session_id", "question_id", "choice_id"}, {"session_id", "question_id", "choice_id"}},
      {"EndPracticeSession", "session_id: '$SESSION'", {}, {"session_id"}, {"session_id"}},
      {"ListAttempts", "page_size: 10", {}, {}, {"session_id"}},
      {"GetUserStats", "", {}, {}, {}},
      {"CreateBookmark", "question_id: '$QUESTION'", {}, {"question_id"}, {"question_id"}},
      {"DeleteBookmark", "question_id: '$ARCHIVE'", {}, {"question_id"}, {"question_id"}},
      {"ListBookmarks", "page_size: 10", {}, {}, {}},
      {"ListAuditEvents", "page_size: 10 action: 'question.create'",
       {{"action", 100}, {"target_id", 200}}, {}, {"actor_user_id"}},
  };
  for (const auto& spec : specs) runner.Run(spec);
  runner.Oversize("CreateQuestion", "stem");
  runner.ExpectHealthy();
  runner.ExpectOverridesUsed();
  // ImportQuestions is client-streaming: its cases are in the test below.
  runner.ExpectAllMethodsCovered({"ImportQuestions"});
  runner.Print();
}

// ImportQuestions (client-streaming): every bad item is reported with its index and the field
// at fault while the good items of the same stream are stored; an empty stream imports
// nothing; a message over the server's 4 MiB limit fails the call with RESOURCE_EXHAUSTED
// (items read before it are committed, see below); a stream over the 100,000-item cap fails
// with INVALID_ARGUMENT "items"; the server stays SERVING.
class ImportStream {
 public:
  explicit ImportStream(::questions::v1::QuestionBankService::Stub& stub) {
    ctx_.AddMetadata("authorization", "Bearer admin-token");
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    writer_ = stub.ImportQuestions(&ctx_, &response_);
  }
  // Sends one message; false once the server has ended the call.
  bool Send(const ::questions::v1::ImportQuestionsRequest& batch) {
    return writer_->Write(batch);
  }
  grpc::Status Finish() {
    writer_->WritesDone();
    return writer_->Finish();
  }
  const ::questions::v1::ImportQuestionsResponse& response() const { return response_; }

 private:
  grpc::ClientContext ctx_;
  ::questions::v1::ImportQuestionsResponse response_;
  std::unique_ptr<grpc::ClientWriter<::questions::v1::ImportQuestionsRequest>> writer_;
};

int64_t CountWhere(const std::string& url, const std::string& sql, const std::string& arg) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return tx.exec_params(sql, arg)[0][0].as<int64_t>();
}

TEST(HostileInput, QuestionsImportReportsEachBadItemByFieldAndStoresOnlyTheGoodOnes) {
  namespace qpb = ::questions::v1;
  suite::billing::testing::StaticAuthenticator auth;
  auth.Add("admin-token", {kAdminId, {"admin", "author"}, ""});
  questions::testing::QuestionsServerOptions options;
  options.authenticator = &auth;
  options.billing_addr = "127.0.0.1:1";
  auto server = questions::testing::QuestionsTestServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = NewChannel((*server)->address());
  auto stub = qpb::QuestionBankService::NewStub(channel);
  const std::string url = (*server)->database().url();
  std::string tag_id;
  {
    qpb::CreateTagRequest req;
    req.set_kind(qpb::TAG_KIND_TOPIC);
    req.set_slug("imports");
    req.set_label("Imports");
    qpb::CreateTagResponse resp;
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer admin-token");
    ASSERT_TRUE(stub->CreateTag(&c, req, &resp).ok());
    tag_id = resp.tag().id();
  }
  auto rows = [&] {
    auto n = CountRows(url, "questions");
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  };
  const std::string kMiB(1 << 20, 'a');
  auto good = [&](const std::string& key) {
    qpb::ImportQuestionItem item;
    item.set_external_key(key);
    item.set_stem("Imported: " + key + "?");
    item.set_explanation("Because.");
    item.set_difficulty(qpb::QUESTION_DIFFICULTY_MEDIUM);
    auto* a = item.add_choices();
    a->set_text("right");
    a->set_is_correct(true);
    item.add_choices()->set_text("wrong");
    return item;
  };

  // An empty stream: OK, nothing imported, nothing written.
  {
    const int64_t before = rows();
    ImportStream stream(*stub);
    grpc::Status s = stream.Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(stream.response().created_count(), 0);
    EXPECT_EQ(stream.response().failed_count(), 0);
    EXPECT_EQ(rows(), before);
  }

  // One bad field per item, each item in its own message (1 MiB values fit one by one),
  // between good items sent three to a message.
  struct Bad {
    std::string name, field;
    std::function<void(qpb::ImportQuestionItem&)> spoil;
  };
  const std::vector<Bad> bads = {
      {"external_key empty", "external_key", [](auto& i) { i.set_external_key(""); }},
      {"external_key 201", "external_key",
       [](auto& i) { i.set_external_key(std::string(201, 'k')); }},
      {"external_key 1MiB", "external_key", [&](auto& i) { i.set_external_key(kMiB); }},
      {"external_key repeated in the stream", "external_key",
       [](auto& i) { i.set_external_key("good-0"); }},
      {"stem empty", "stem", [](auto& i) { i.set_stem(""); }},
      {"stem blank", "stem", [](auto& i) { i.set_stem("  \t "); }},
      {"stem 4001", "stem", [](auto& i) { i.set_stem(std::string(4001, 's')); }},
      {"stem 1MiB", "stem", [&](auto& i) { i.set_stem(kMiB); }},
      {"explanation 8001", "explanation",
       [](auto& i) { i.set_explanation(std::string(8001, 'e')); }},
      {"explanation 1MiB", "explanation", [&](auto& i) { i.set_explanation(kMiB); }},
      {"difficulty unspecified", "difficulty",
       [](auto& i) { i.set_difficulty(qpb::QUESTION_DIFFICULTY_UNSPECIFIED); }},
      {"difficulty unknown enum 99", "difficulty",
       [](auto& i) { i.set_difficulty(static_cast<qpb::QuestionDifficulty>(99)); }},
      {"no choices", "choices", [](auto& i) { i.clear_choices(); }},
      {"1 choice", "choices", [](auto& i) { i.mutable_choices()->RemoveLast(); }},
      {"11 choices", "choices",
       [](auto& i) {
         for (int k = 0; k < 9; ++k) i.add_choices()->set_text(absl::StrCat("extra ", k));
       }},
      {"zero correct", "choices", [](auto& i) { i.mutable_choices(0)->set_is_correct(false); }},
      {"two correct", "choices", [](auto& i) { i.mutable_choices(1)->set_is_correct(true); }},
      {"choice text empty", "choices[1].text", [](auto& i) { i.mutable_choices(1)->set_text(""); }},
      {"choice text 1MiB", "choices[0].text",
       [&](auto& i) { i.mutable_choices(0)->set_text(kMiB); }},
      {"tag id not a UUID", "tag_ids[0]", [](auto& i) { i.add_tag_ids("not-a-uuid"); }},
      {"tag id SQL", "tag_ids[0]", [](auto& i) { i.add_tag_ids("' OR '1'='1"); }},
      {"tag id unknown", "tag_ids[1]",
       [&](auto& i) {
         i.add_tag_ids(tag_id);
         i.add_tag_ids("00000000-0000-4000-8000-00000000dead");
       }},
      {"21 tag ids", "tag_ids", [&](auto& i) {
         for (int k = 0; k < 21; ++k) i.add_tag_ids(tag_id);
       }},
  };
  const int64_t questions_before = CountWhere(url, "SELECT count(*) FROM questions.questions "
                                                   "WHERE $1::text = $1::text", "");
  const int64_t tags_before =
      CountWhere(url, "SELECT count(*) FROM questions.question_tags WHERE tag_id = $1::uuid",
                 tag_id);
  std::map<int, std::string> expected_field;  // stream index -> field
  std::vector<std::string> good_keys;
  int index = 0;
  {
    ImportStream stream(*stub);
    auto send_goods = [&](int n) {
      qpb::ImportQuestionsRequest batch;
      for (int k = 0; k < n; ++k) {
        const std::string key = absl::StrCat("good-", good_keys.size());
        qpb::ImportQuestionItem item = good(key);
        if (good_keys.size() == 1) item.add_tag_ids(tag_id);
        // SQL metacharacters are data, stored verbatim.
        if (good_keys.size() == 2) item.set_stem("Robert'); DROP TABLE questions.questions;--");
        *batch.add_items() = item;
        good_keys.push_back(key);
        ++index;
      }
      ASSERT_TRUE(stream.Send(batch));
    };
    send_goods(3);
    for (size_t b = 0; b < bads.size(); ++b) {
      qpb::ImportQuestionItem item = good(absl::StrCat("bad-", b));
      bads[b].spoil(item);
      qpb::ImportQuestionsRequest batch;
      *batch.add_items() = item;
      ASSERT_TRUE(stream.Send(batch)) << bads[b].name;
      expected_field[index++] = bads[b].field;
      if (b % 8 == 7) send_goods(3);
    }
    send_goods(2);
    grpc::Status s = stream.Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    const auto& r = stream.response();
    EXPECT_EQ(r.created_count(), static_cast<int>(good_keys.size()));
    EXPECT_EQ(r.skipped_count(), 0);
    EXPECT_EQ(r.failed_count(), static_cast<int>(bads.size()));
    ASSERT_EQ(r.errors_size(), static_cast<int>(bads.size()));
    std::set<int> reported;
    for (const auto& e : r.errors()) {
      reported.insert(e.index());
      auto it = expected_field.find(e.index());
      ASSERT_NE(it, expected_field.end()) << "a good item was rejected: " << e.index() << " "
                                          << e.field() << ": " << e.message();
      EXPECT_EQ(e.field(), it->second) << "item " << e.index() << ": " << e.message();
      EXPECT_FALSE(e.message().empty());
      EXPECT_LE(e.external_key().size(), static_cast<size_t>(1 << 20));
    }
    EXPECT_EQ(reported.size(), bads.size());
  }
  // Exactly the good items are stored, each once; the tagged one has its tag.
  for (const std::string& key : good_keys) {
    EXPECT_EQ(CountWhere(url, "SELECT count(*) FROM questions.questions WHERE external_key = $1",
                         key),
              1)
        << key;
  }
  EXPECT_EQ(CountWhere(url, "SELECT count(*) FROM questions.questions WHERE $1::text = $1::text", ""),
            questions_before + static_cast<int64_t>(good_keys.size()))
      << "a bad item was stored";
  EXPECT_EQ(CountWhere(url, "SELECT count(*) FROM questions.question_tags WHERE tag_id = $1::uuid",
                       tag_id),
            tags_before + 1);
  EXPECT_EQ(CountWhere(url, "SELECT count(*) FROM questions.questions WHERE stem = $1",
                       "Robert'); DROP TABLE questions.questions;--"),
            1);

  // The same good items again: all skipped, nothing written.
  {
    const int64_t before = rows();
    ImportStream stream(*stub);
    qpb::ImportQuestionsRequest batch;
    for (const std::string& key : good_keys) *batch.add_items() = good(key);
    ASSERT_TRUE(stream.Send(batch));
    grpc::Status s = stream.Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(stream.response().created_count(), 0);
    EXPECT_EQ(stream.response().skipped_count(), static_cast<int>(good_keys.size()));
    EXPECT_EQ(rows(), before);
  }

  // A message over the server's 4 MiB limit after a good one: the client gets
  // RESOURCE_EXHAUSTED. The server's handler cannot tell a broken stream from its end (in the
  // synchronous gRPC API Read() is false in both cases and the cancellation is reported only
  // after the handler returns), so it commits the items read before the break: the neighbour
  // is stored once, the oversize item is not, and a retry skips the neighbour (idempotent by
  // external_key). Documented in RELIABILITY.md; a change of behaviour fails here.
  {
    const int64_t before = CountWhere(
        url, "SELECT count(*) FROM questions.questions WHERE $1::text = $1::text", "");
    ImportStream stream(*stub);
    qpb::ImportQuestionsRequest first;
    *first.add_items() = good("oversize-neighbour");
    stream.Send(first);
    qpb::ImportQuestionsRequest big;
    qpb::ImportQuestionItem item = good("oversize");
    item.set_explanation(std::string(5 << 20, 'x'));
    *big.add_items() = item;
    stream.Send(big);
    grpc::Status s = stream.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    // gRPC answers the client as soon as the oversize message arrives; the handler commits
    // after that, so the neighbour appears a moment after Finish returns.
    const auto neighbours = [&] {
      return CountWhere(url, "SELECT count(*) FROM questions.questions WHERE external_key = $1",
                        "oversize-neighbour");
    };
    for (const absl::Time end = absl::Now() + absl::Seconds(10);
         neighbours() == 0 && absl::Now() < end;) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_EQ(neighbours(), 1);
    EXPECT_EQ(CountWhere(url, "SELECT count(*) FROM questions.questions WHERE external_key = $1",
                         "oversize"),
              0);
    EXPECT_EQ(CountWhere(url, "SELECT count(*) FROM questions.questions WHERE $1::text = $1::text",
                         ""),
              before + 1);
    ImportStream retry(*stub);
    ASSERT_TRUE(retry.Send(first));
    ASSERT_TRUE(retry.Finish().ok());
    EXPECT_EQ(retry.response().skipped_count(), 1);
    EXPECT_EQ(retry.response().created_count(), 0);
  }

  // One item more than the 100,000-item cap (items that fail validation, so nothing is
  // stored on the way): INVALID_ARGUMENT naming "items".
  {
    const int64_t before = rows();
    ImportStream stream(*stub);
    qpb::ImportQuestionsRequest batch;
    for (int k = 0; k < 10000; ++k) batch.add_items()->set_stem("no key");
    bool open = true;
    for (int m = 0; m < 10 && open; ++m) open = stream.Send(batch);
    qpb::ImportQuestionsRequest last;
    last.add_items()->set_stem("one too many");
    if (open) stream.Send(last);
    grpc::Status s = stream.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_TRUE(NamesField(s, "items")) << Violations(s);
    EXPECT_EQ(rows(), before);
  }

  EXPECT_EQ(HealthOf(channel), HealthStatus::kServing) << "questions after hostile imports";
}

}  // namespace
}  // namespace suite::reliability
