// "Accepted means stored and returned byte for byte", for every write RPC of the three
// services, running in-process on real PostgreSQL databases.
//
// The string fields of each request are found by walking its descriptor: singular strings,
// strings of nested messages, every element of repeated messages (choices[1].text), repeated
// strings (tag_ids[0]), map keys and values (transaction.metadata), the items of the
// ImportQuestions stream and the envelope strings of a signed Stripe webhook payload. Each is
// filled, one at a time, with every value of a deterministic generator (fixed seed): NUL at start,
// middle and end; every other C0 control and DEL; every C1 control; a character of every Unicode
// plane (BMP, SMP emoji, SIP, TIP, SSP, private use planes 15 and 16); combining marks;
// right-to-left text and bidi marks and overrides; zero-width joiners; the BOM; leading and
// trailing white space; the documented maximum length in characters with 1-, 2-, 3- and 4-byte
// characters (so bytes > characters) and one character more; and random mixes of all of these.
//
// Each call must either be refused with INVALID_ARGUMENT naming exactly that field
// (google.rpc.BadRequest; for an import item, the item's error names it) and write nothing
// (row counts of the service's schema unchanged), or be accepted and read back identical,
// byte for byte, through the matching Get/List. A field the walk finds without a rule below
// fails the test, so a new request field cannot go unchecked. Problems are collected by kind
// and reported once each with examples; the per-service case counts are printed.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/domain/stripe_signature.h"
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
namespace ipb = ::identity::v1;
namespace bpb = ::billing::v1;
namespace qpb = ::questions::v1;

constexpr uint32_t kSeed = 20261206;
constexpr int kRandomValuesPerField = 12;

// ---------------------------------------------------------------------------------------------
// Values

std::string Utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

std::string Repeat(const std::string& unit, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += unit;
  return out;
}

// Code points the random values are drawn from: a little of everything above.
const std::vector<uint32_t>& Pool() {
  static const auto* const pool = new std::vector<uint32_t>{
      'a',     'Z',     '7',     ' ',     '\'',    '"',     '\\',    '%',     '_',     '-',
      0x00,    0x01,    0x09,    0x0A,    0x0D,    0x1B,    0x1F,    0x7F,    0x80,    0x85,
      0x9B,    0x9F,    0xA0,    0xE9,    0x301,   0x302,   0x5D0,   0x627,   0x61C,   0x200B,
      0x200C,  0x200D,  0x200E,  0x200F,  0x202A,  0x202E,  0x2066,  0x2069,  0x2028,  0x3000,
      0x4E2D,  0xE000,  0xFEFF,  0xFFFD,  0xFFFF,  0x1F600, 0x1F469, 0x20000, 0x2A6D6, 0x30000,
      0xE0001, 0xE0100, 0xF0000, 0xFFFFD, 0x10FFFD};
  return *pool;
}

struct Value {
  std::string name;  // how the report names it, e.g. "nul_start", "C0_1B"
  std::string bytes;
  // The documented bound: "at_bound" must not be refused for its length, "over_bound" must
  // be refused.
  enum Length { kAny, kAtBound, kOverBound } length = kAny;
  bool wrapped = false;  // put in the field's template (Rule::wrap) when the case runs
};

// Values for a field whose documented bound is `max_chars` (0 = none documented) when the
// service adds `overhead` characters around it (a template, see Rule::wrap).
std::vector<Value> Values(const std::string& field, int max_chars, int overhead, bool non_empty) {
  std::vector<Value> v = {
      {"nul_start", std::string("\0abc", 4)},
      {"nul_middle", std::string("ab\0cd", 5)},
      {"nul_end", std::string("abc\0", 4)},
      {"nul_only", std::string(1, '\0')},
  };
  for (uint32_t c = 1; c < 0x20; ++c) {
    v.push_back({absl::StrFormat("C0_%02X", c), "x" + Utf8(c) + "y"});
  }
  v.push_back({"DEL", "x\x7fy"});
  for (uint32_t c = 0x80; c <= 0x9F; ++c) {
    v.push_back({absl::StrFormat("C1_%02X", c), "x" + Utf8(c) + "y"});
  }
  const std::vector<std::pair<std::string, std::string>> fixed = {
      {"bmp_latin", "Caf\u00e9 na\u00efve"},
      {"bmp_cjk", "\u4e2d\u6587\u984c\u76ee"},
      {"bmp_private_use", "\ue000\uf8ff"},
      {"bmp_noncharacter", "a\uffff\ufffe"},
      {"smp_emoji", "\U0001F600\U0001F4A9"},
      {"sip_cjk_ext_b", "\U00020000\U0002A6D6"},
      {"tip_cjk_ext_g", "\U00030000\U0003134A"},
      {"ssp_tags_and_selectors", "x\U000E0001\U000E0041\U000E0100"},
      {"plane15_private_use", "\U000F0000\U000FFFFD"},
      {"plane16_private_use", "\U00100000\U0010FFFD"},
      {"combining_acute", "e\u0301"},
      {"combining_stack", "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306"},
      {"combining_first", "\u0301abc"},
      {"hebrew", "\u05e9\u05dc\u05d5\u05dd"},
      {"arabic", "\u0645\u0631\u062d\u0628\u0627"},
      {"rlm_lrm_alm", "a\u200fb\u200ec\u061c"},
      {"bidi_override_rlo", "abc\u202edcba\u202c"},
      {"bidi_embeddings", "\u202a\u202b\u202d\u202c"},
      {"bidi_isolates", "\u2066a\u2067b\u2068c\u2069"},
      {"zwj_family", "\U0001F468\u200d\U0001F469\u200d\U0001F467"},
      {"zwnj_zwsp_wj", "a\u200cb\u200bc\u2060d"},
      {"bom_start", "\ufeffabc"},
      {"bom_middle", "ab\ufeffc"},
      {"line_separator", "a\u2028b\u2029c"},
      {"space_leading", "  abc"},
      {"space_trailing", "abc  "},
      {"tab_leading", "\tabc"},
      {"newline_trailing", "abc\n"},
      {"crlf_middle", "a\r\nb"},
      {"nbsp_ideographic_around", "\u00a0abc\u3000"},
      {"space_only", "   "},
      {"sql_and_quotes", "x'); DROP TABLE t; -- \"\\%_"},
  };
  for (const auto& [name, bytes] : fixed) v.push_back({name, bytes});
  if (!non_empty) v.push_back({"empty", ""});
  if (max_chars > 0) {
    const int n = max_chars - overhead;
    v.push_back({"max_ascii", std::string(n, 'a'), Value::kAtBound});
    v.push_back({"max_2byte", Repeat("\u00e9", n), Value::kAtBound});
    v.push_back({"max_3byte", Repeat("\u4e2d", n), Value::kAtBound});
    v.push_back({"max_4byte", Repeat("\U0001F600", n), Value::kAtBound});
    v.push_back({"max_combining", Repeat("e\u0301", n / 2) + (n % 2 ? "e" : ""), Value::kAtBound});
    v.push_back({"over_ascii", std::string(n + 1, 'a'), Value::kOverBound});
    v.push_back({"over_4byte", Repeat("\U0001F600", n + 1), Value::kOverBound});
  }
  // Random mixes, reproducible: the seed is fixed and the field's name picks the stream.
  uint32_t h = kSeed;
  for (char c : field) h = h * 16777619u ^ static_cast<unsigned char>(c);
  std::mt19937 rng(h);
  const auto& pool = Pool();
  for (int i = 0; i < kRandomValuesPerField; ++i) {
    const int len = 1 + static_cast<int>(rng() % 16);
    std::string s;
    for (int k = 0; k < len; ++k) s += Utf8(pool[rng() % pool.size()]);
    v.push_back({absl::StrCat("random_", i), s});
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Walking a request

// One string field of a request: how to reach it (field, index) step by step from the root.
struct FieldRef {
  std::string path;  // "choices[1].text", "tag_ids[0]", "transaction.metadata[].value"
  std::string rule;  // the path with element indexes of maps removed, for the rule table
  std::vector<std::pair<const pb::FieldDescriptor*, int>> steps;  // index -1: singular
  bool map_entry = false;  // the last message step is a map entry (key or value)
};

// `rule` is `prefix` with the indexes of repeated messages written "[]" (the rule table's key).
void Walk(const pb::Message& m, const std::string& prefix, const std::string& rule,
          std::vector<FieldRef>& out, std::vector<std::pair<const pb::FieldDescriptor*, int>> steps,
          bool in_map = false) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* fd = d->field(i);
    const std::string name = prefix.empty() ? fd->name() : absl::StrCat(prefix, ".", fd->name());
    const std::string key = rule.empty() ? fd->name() : absl::StrCat(rule, ".", fd->name());
    if (fd->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (!fd->is_repeated()) {
        auto s = steps;
        s.push_back({fd, -1});
        out.push_back({name, key, s, in_map});
      } else {
        // Every element present in the base request; an empty list gets one added.
        const int n = std::max(1, r->FieldSize(m, fd));
        for (int k = 0; k < n; ++k) {
          auto s = steps;
          s.push_back({fd, k});
          out.push_back({absl::StrCat(name, "[", k, "]"), key + "[]", s, in_map});
        }
      }
    } else if (fd->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      if (absl::StartsWith(fd->message_type()->full_name(), "google.protobuf.")) continue;
      if (fd->is_repeated()) {
        for (int k = 0; k < r->FieldSize(m, fd); ++k) {
          auto s = steps;
          s.push_back({fd, k});
          Walk(r->GetRepeatedMessage(m, fd, k), absl::StrCat(name, "[", k, "]"), key + "[]", out, s,
               fd->is_map());
        }
      } else {
        auto s = steps;
        s.push_back({fd, -1});
        Walk(r->GetMessage(m, fd), name, key, out, s);
      }
    }
  }
}

void SetAt(pb::Message& root, const FieldRef& ref, const std::string& value) {
  pb::Message* m = &root;
  for (size_t i = 0; i + 1 < ref.steps.size(); ++i) {
    const auto& [fd, k] = ref.steps[i];
    m = k < 0 ? m->GetReflection()->MutableMessage(m, fd)
              : m->GetReflection()->MutableRepeatedMessage(m, fd, k);
  }
  const auto& [fd, k] = ref.steps.back();
  const pb::Reflection* r = m->GetReflection();
  if (k < 0) {
    r->SetString(m, fd, value);
  } else if (k < r->FieldSize(*m, fd)) {
    r->SetRepeatedString(m, fd, k, value);
  } else {
    r->AddString(m, fd, value);
  }
}

// The string at a dotted path with [i] indexes ("choices[1].text"); nullopt when absent.
absl::optional<std::string> GetPath(const pb::Message& root, const std::string& path) {
  const pb::Message* m = &root;
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string name = parts[i];
    int index = -1;
    if (size_t b = name.find('['); b != std::string::npos) {
      index = std::stoi(name.substr(b + 1));
      name = name.substr(0, b);
    }
    const pb::FieldDescriptor* fd = m->GetDescriptor()->FindFieldByName(name);
    if (fd == nullptr) return absl::nullopt;
    const pb::Reflection* r = m->GetReflection();
    if (index >= 0 && index >= r->FieldSize(*m, fd)) return absl::nullopt;
    const bool last = i + 1 == parts.size();
    if (last) {
      if (fd->type() != pb::FieldDescriptor::TYPE_STRING) return absl::nullopt;
      return index < 0 ? r->GetString(*m, fd) : r->GetRepeatedString(*m, fd, index);
    }
    m = index < 0 ? &r->GetMessage(*m, fd) : &r->GetRepeatedMessage(*m, fd, index);
  }
  return absl::nullopt;
}

// A map<string, string> field as a std::map, for comparing maps whatever their order.
std::map<std::string, std::string> MapAt(const pb::Message& m, const std::string& name) {
  std::map<std::string, std::string> out;
  const pb::FieldDescriptor* fd = m.GetDescriptor()->FindFieldByName(name);
  if (fd == nullptr || !fd->is_map()) return out;
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < r->FieldSize(m, fd); ++i) {
    const pb::Message& e = r->GetRepeatedMessage(m, fd, i);
    out[e.GetReflection()->GetString(e, e.GetDescriptor()->field(0))] =
        e.GetReflection()->GetString(e, e.GetDescriptor()->field(1));
  }
  return out;
}

std::string Show(const std::string& bytes) {
  std::string s = absl::CHexEscape(bytes.substr(0, 40));
  if (bytes.size() > 40) absl::StrAppend(&s, "...(", bytes.size(), " bytes)");
  return absl::StrCat("\"", s, "\"");
}

// A JSON string literal of UTF-8 `s` (controls escaped as \u00XX, the rest as is).
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Violations(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : suite::api::FieldViolationsOf(s)) {
    out.push_back(v.field + ": " + v.description);
  }
  return absl::StrJoin(out, "; ");
}

// ---------------------------------------------------------------------------------------------
// Rules

// What a field's value must do when the call accepts it.
struct Rule {
  enum Kind {
    kStored,     // read back through `read` at `stored_as`; must be identical
    kReference,  // an id or key of something that exists; refused (INVALID_ARGUMENT naming
                 // it, or NOT_FOUND/FAILED_PRECONDITION) with nothing written, never accepted
    kSecret,     // a password: not readable; `check` proves what was stored
    kIgnored,    // output only, ignored on input (AIP-203): anything goes, nothing checked
    kNotStored,  // a credential or filter argument: refused or not, never written as text
  };
  Rule(Kind kind = kStored, std::string stored_as = "", int max_chars = 0)
      : kind(kind), stored_as(std::move(stored_as)), max_chars(max_chars) {}
  Kind kind;
  std::string stored_as;  // path in the resource `read` returns; "" = the same path
  int max_chars;          // documented bound (0 = none)
  // A template around the generated value (e.g. to make it an e-mail address); the raw value
  // is tried too. `overhead` is the template's own length in characters.
  std::function<std::string(const std::string& v, int n)> wrap;
  int overhead = 0;
  // Empty stands for a documented default (Login's client_ip: the peer's address), so it is
  // not a value that could read back as sent.
  bool empty_is_default = false;
  // The documented normalisation of an accepted value (e-mail: trimmed, lower-cased).
  std::function<std::string(const std::string&)> normalize;
};

struct Call {
  using Read = std::function<absl::StatusOr<std::unique_ptr<pb::Message>>(const pb::Message&,
                                                                          const pb::Message&)>;
  using Prepare = std::function<std::map<std::string, std::string>(int n)>;
  using Check =
      std::function<std::string(const pb::Message&, const std::string&, const std::string&)>;
  Call(std::string method, std::string base, std::map<std::string, Rule> rules, Read read,
       grpc::StatusCode accepted = grpc::StatusCode::OK,
       grpc::StatusCode refused = grpc::StatusCode::INVALID_ARGUMENT, Prepare prepare = nullptr,
       Check check = nullptr)
      : method(std::move(method)),
        base(std::move(base)),
        rules(std::move(rules)),
        read(std::move(read)),
        accepted(accepted),
        refused(refused),
        prepare(std::move(prepare)),
        check(std::move(check)) {}
  std::string method;
  std::string base;  // text format; $N is the case number, $UUID a fresh UUID, $IP a fresh IP
  std::map<std::string, Rule> rules;  // by FieldRef::rule
  // Reads back the resource the call wrote: (request, response) -> resource.
  std::function<absl::StatusOr<std::unique_ptr<pb::Message>>(const pb::Message&,
                                                             const pb::Message&)>
      read;
  // The code of an accepted call (Login answers UNAUTHENTICATED to an unknown e-mail and
  // audits the attempt).
  grpc::StatusCode accepted = grpc::StatusCode::OK;
  // A refusal that is not INVALID_ARGUMENT (a bad webhook signature is UNAUTHENTICATED).
  grpc::StatusCode refused = grpc::StatusCode::INVALID_ARGUMENT;
  // Per-case setup (fresh placeholders, e.g. a new user and their token as "$TOKEN").
  std::function<std::map<std::string, std::string>(int n)> prepare;
  // Extra proof for kSecret fields: (request, path, value) -> error message or "".
  std::function<std::string(const pb::Message&, const std::string&, const std::string&)> check;
};

std::string CaseUuid(int n) { return absl::StrFormat("5eed0000-0000-4000-8000-%012d", n); }
std::string CaseIp(int n) {
  return absl::StrCat("10.", (n >> 16) & 255, ".", (n >> 8) & 255, ".", n & 255);
}

std::string NormalizeEmail(const std::string& v) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(v));
}

// Counts every row of a schema through one connection kept open (a new connection per count
// would cost more than the call under test).
class RowCounter {
 public:
  RowCounter(const std::string& url, const std::string& schema) : conn_(url) {
    pqxx::nontransaction tx(conn_);
    pqxx::result tables = tx.exec_params(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM "
        "information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' "
        "ORDER BY 1",
        schema);
    sql_ = "SELECT 0::bigint";
    // Table names come from the catalog, quoted by quote_ident: not user input.
    for (const auto& row : tables) {
      absl::StrAppend(&sql_, " + (SELECT count(*) FROM ", row[0].as<std::string>(), ")");
    }
  }
  absl::StatusOr<int64_t> Count() {
    try {
      pqxx::nontransaction tx(conn_);
      return tx.exec1(sql_)[0].as<int64_t>();
    } catch (const std::exception& e) {
      return absl::InternalError(e.what());
    }
  }

 private:
  pqxx::connection conn_;
  std::string sql_;
};

class RoundTripRunner {
 public:
  RoundTripRunner(std::string service, std::shared_ptr<grpc::Channel> channel, std::string db_url,
                  std::string schema, std::string token)
      : service_(std::move(service)),
        channel_(std::move(channel)),
        db_url_(std::move(db_url)),
        schema_(std::move(schema)),
        token_(std::move(token)),
        rows_(db_url_, schema_) {}

  void Placeholder(const std::string& key, const std::string& value) { fixed_[key] = value; }

  void Run(const Call& call) {
    const pb::MethodDescriptor* method =
        pb::DescriptorPool::generated_pool()->FindServiceByName(service_)->FindMethodByName(
            call.method);
    ASSERT_NE(method, nullptr) << call.method;
    covered_.insert(call.method);
    const pb::Message* req_proto =
        pb::MessageFactory::generated_factory()->GetPrototype(method->input_type());
    const pb::Message* resp_proto =
        pb::MessageFactory::generated_factory()->GetPrototype(method->output_type());
    std::unique_ptr<pb::Message> shape(req_proto->New());
    ASSERT_TRUE(pb::TextFormat::ParseFromString(Expand(call.base, 0, {}), shape.get()))
        << call.method;
    std::vector<FieldRef> refs;
    Walk(*shape, "", "", refs, {});
    for (const FieldRef& ref : refs) {
      auto rule_it = call.rules.find(ref.rule);
      if (rule_it == call.rules.end()) {
        ADD_FAILURE() << call.method << " " << ref.path << ": no round-trip rule for this field";
        continue;
      }
      const Rule& rule = rule_it->second;
      std::vector<Value> values;
      for (Value v : Values(ref.rule, rule.max_chars, 0,
                            rule.kind == Rule::kReference || rule.empty_is_default)) {
        if (rule.wrap && v.length != Value::kAny) continue;  // lengths come wrapped below
        values.push_back(v);
      }
      if (rule.wrap) {
        for (Value v : Values(ref.rule, rule.max_chars, rule.overhead, false)) {
          v.name = "wrapped_" + v.name;
          v.wrapped = true;
          values.push_back(v);
        }
      }
      for (const Value& v : values) RunCase(call, *req_proto, *resp_proto, ref, rule, v);
    }
  }

  void ExpectAllWriteMethodsCovered(const std::set<std::string>& reads) {
    const pb::ServiceDescriptor* s =
        pb::DescriptorPool::generated_pool()->FindServiceByName(service_);
    for (int i = 0; i < s->method_count(); ++i) {
      const std::string& name = s->method(i)->name();
      EXPECT_TRUE(covered_.count(name) || reads.count(name))
          << name << " has no round-trip cases and is not listed as a read";
    }
  }

  // Records a problem of `kind` with an example; reported once per kind by Report(), with
  // the first example of each method and field it was seen in.
  void Problem(const std::string& kind, const std::string& example) {
    auto& p = problems_[kind];
    ++p.first;
    const std::string where = example.substr(0, example.find(' ', example.find(' ') + 1));
    if (seen_[kind].insert(where).second) p.second.push_back(example);
  }

  void Count(bool accepted) { ++cases_, ++(accepted ? accepted_ : refused_); }

  // Prints the case counts and fails once per kind of problem.
  void Report(const std::string& label = "") {
    std::printf("%s%s: %d round-trip cases (%d accepted and read back, %d refused)\n",
                service_.c_str(), label.c_str(), cases_, accepted_, refused_);
    for (const auto& [kind, p] : problems_) {
      std::printf("  PROBLEM %s: %d cases, e.g.\n", kind.c_str(), p.first);
      for (const auto& e : p.second) std::printf("    %s\n", e.c_str());
      ADD_FAILURE() << service_ << ": " << kind << " (" << p.first << " cases), e.g. "
                    << absl::StrJoin(p.second, " | ");
    }
    std::fflush(stdout);
  }

  int cases() const { return cases_; }
  absl::StatusOr<int64_t> CountRows() { return rows_.Count(); }

  std::string Expand(const std::string& text, int n,
                     const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> all = fixed_;
    for (const auto& [k, v] : extra) all[k] = v;
    all["$N"] = absl::StrCat(n);
    all["$UUID"] = CaseUuid(n);
    all["$IP"] = CaseIp(n);
    std::vector<std::pair<std::string, std::string>> ordered(all.begin(), all.end());
    // Longer keys first, so $USER2 is not read as $USER.
    std::sort(ordered.begin(), ordered.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    return absl::StrReplaceAll(text, ordered);
  }

  int NextCase() { return ++counter_; }

 private:
  void RunCase(const Call& call, const pb::Message& req_proto, const pb::Message& resp_proto,
               const FieldRef& ref, const Rule& rule, Value value) {
    const int n = NextCase();
    if (value.wrapped) value.bytes = rule.wrap(value.bytes, n);
    std::map<std::string, std::string> extra;
    if (call.prepare) extra = call.prepare(n);
    std::unique_ptr<pb::Message> req(req_proto.New());
    if (!pb::TextFormat::ParseFromString(Expand(call.base, n, extra), req.get())) {
      Problem("base request does not parse", call.method);
      return;
    }
    SetAt(*req, ref, value.bytes);
    const std::string what =
        absl::StrCat(call.method, " ", ref.path, " ", value.name, " ", Show(value.bytes));
    absl::StatusOr<int64_t> before = rows_.Count();
    if (!before.ok()) {
      Problem("row count failed", before.status().ToString());
      return;
    }
    const std::string token = extra.count("$TOKEN") ? extra.at("$TOKEN") : token_;
    RawResult r = CallRaw(channel_, absl::StrCat("/", service_, "/", call.method),
                          req->SerializeAsString(), token, absl::Seconds(30));
    const grpc::StatusCode code = r.status.error_code();
    const absl::Status status = suite::rpc::FromGrpcStatus(r.status);
    const std::string got =
        absl::StrCat(" -> ", code, " \"", r.status.error_message().substr(0, 100), "\" [",
                     Violations(status), "]");
    auto unchanged = [&] {
      absl::StatusOr<int64_t> after = rows_.Count();
      if (after.ok() && *after != *before) {
        Problem("a refused call wrote rows", what + got);
      }
    };
    const bool is_refusal =
        code == call.refused || code == grpc::StatusCode::INVALID_ARGUMENT ||
        (rule.kind == Rule::kReference &&
         (code == grpc::StatusCode::NOT_FOUND || code == grpc::StatusCode::FAILED_PRECONDITION));
    if (code != call.accepted && is_refusal) {
      Count(false);
      unchanged();
      if (code == grpc::StatusCode::INVALID_ARGUMENT) {
        bool named = false;
        for (const auto& v : suite::api::FieldViolationsOf(status)) {
          named = named || v.field == ref.path ||
                  (ref.map_entry && absl::StartsWith(v.field, MapField(ref.path)));
        }
        if (!named) Problem("refused without naming the field", what + got);
        if (value.length == Value::kAtBound &&
            absl::StrContains(r.status.error_message(), "at most")) {
          Problem("a value at the documented bound refused for its length (bytes counted?)",
                  what + got);
        }
      }
      return;
    }
    if (code != call.accepted) {
      Count(false);
      Problem(absl::StrCat("answered ", code, " (neither accepted nor INVALID_ARGUMENT)"),
              what + got);
      unchanged();
      return;
    }
    Count(true);
    if (value.length == Value::kOverBound) {
      Problem("a value over the documented bound was accepted", what);
    }
    switch (rule.kind) {
      case Rule::kIgnored:
      case Rule::kNotStored:
        return;
      case Rule::kReference:
        Problem("an id or key field accepted a value that names nothing", what + got);
        return;
      case Rule::kSecret: {
        const std::string err = call.check ? call.check(*req, ref.path, value.bytes) : "";
        if (!err.empty()) Problem("a secret was not stored as sent", what + ": " + err);
        return;
      }
      case Rule::kStored:
        break;
    }
    std::unique_ptr<pb::Message> resp(resp_proto.New());
    if (code == grpc::StatusCode::OK && !resp->ParseFromString(r.response)) {
      Problem("response does not parse", what);
      return;
    }
    absl::StatusOr<std::unique_ptr<pb::Message>> stored = call.read(*req, *resp);
    if (!stored.ok()) {
      Problem("accepted but not found on reading back", what + " " + stored.status().ToString());
      return;
    }
    const std::string sent = rule.normalize ? rule.normalize(value.bytes) : value.bytes;
    if (ref.map_entry) {
      const std::string map_name = MapField(ref.path).substr(MapField(ref.path).rfind('.') + 1);
      const pb::FieldDescriptor* top = ref.steps[ref.steps.size() - 2].first;
      // The request's map, at the same place as the resource's (one level deep here).
      const pb::Message* owner = req.get();
      for (size_t i = 0; i + 2 < ref.steps.size(); ++i) {
        owner = &owner->GetReflection()->GetMessage(*owner, ref.steps[i].first);
      }
      auto want = MapAt(*owner, top->name());
      auto have = MapAt(**stored, map_name);
      if (want != have) {
        std::vector<std::string> h;
        for (const auto& [k, v] : have) h.push_back(Show(k) + "=" + Show(v));
        Problem("read back differs", what + " read back {" + absl::StrJoin(h, ", ") + "}");
      }
      return;
    }
    const std::string at = rule.stored_as.empty() ? ref.path : rule.stored_as;
    absl::optional<std::string> back = GetPath(**stored, at);
    if (!back.has_value()) {
      Problem("read back lacks the field", what + " at " + at);
    } else if (*back != sent) {
      Problem("read back differs", what + " read back " + Show(*back));
    }
  }

  // "transaction.metadata[].value" -> "transaction.metadata".
  static std::string MapField(const std::string& path) {
    size_t b = path.rfind('[');
    return b == std::string::npos ? path : path.substr(0, b);
  }

  std::string service_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string db_url_;
  std::string schema_;
  std::string token_;
  RowCounter rows_;
  std::map<std::string, std::string> fixed_;
  std::set<std::string> covered_;
  std::map<std::string, std::pair<int, std::vector<std::string>>> problems_;
  std::map<std::string, std::set<std::string>> seen_;
  int counter_ = 0;
  int cases_ = 0, accepted_ = 0, refused_ = 0;
};

template <typename T>
const T& As(const pb::Message& m) {
  return static_cast<const T&>(m);
}

template <typename T>
absl::StatusOr<std::unique_ptr<pb::Message>> Owned(const T& m) {
  return std::unique_ptr<pb::Message>(new T(m));
}

absl::Status Failed(const grpc::Status& s, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

// ---------------------------------------------------------------------------------------------
// identity

TEST(RoundTrip, IdentityStoresEveryAcceptedStringByteForByte) {
  auto server = identity::testing::IdentityTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  identity::testing::Client client(**server);
  const std::string admin = client.AdminToken();
  std::string member_id;
  client.MemberToken("member@example.com", &member_id);
  ipb::CreateAccountRequest account_req;
  account_req.set_name("Acme");
  ipb::CreateAccountResponse account;
  auto ctx = identity::testing::Client::Bearer(admin);
  ASSERT_TRUE(client.stub().CreateAccount(ctx.get(), account_req, &account).ok());
  auto stub = (*server)->NewStub();

  RoundTripRunner runner("identity.v1.IdentityService", NewChannel((*server)->address()),
                         (*server)->database().url(), "identity", admin);
  runner.Placeholder("$USER", member_id);
  runner.Placeholder("$ACCOUNT", account.account().account_id());

  auto get_user = [&](const std::string& id) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
    ipb::GetUserRequest req;
    req.set_user_id(id);
    ipb::GetUserResponse resp;
    auto c = identity::testing::Client::Bearer(admin);
    grpc::Status s = stub->GetUser(c.get(), req, &resp);
    if (!s.ok()) return Failed(s, "GetUser");
    return Owned(resp.user());
  };
  auto get_account = [&](const std::string& id) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
    ipb::GetAccountRequest req;
    req.set_account_id(id);
    ipb::GetAccountResponse resp;
    auto c = identity::testing::Client::Bearer(admin);
    grpc::Status s = stub->GetAccount(c.get(), req, &resp);
    if (!s.ok()) return Failed(s, "GetAccount");
    return Owned(resp.account());
  };
  int logins = 0;  // each check logs in from its own IP, so no throttle is reached
  // Logs in with exactly `password`; with a NUL in it, the part before the NUL must not work
  // (it would if the password had been cut there before hashing).
  auto login_works = [&](const std::string& email, const std::string& password,
                         const std::string& ip) -> std::string {
    ipb::LoginResponse resp;
    grpc::Status s = client.Login(email, password, &resp, ip);
    if (!s.ok()) return absl::StrCat("Login with the password as sent: ", s.error_message());
    const size_t nul = password.find('\0');
    if (nul != std::string::npos && nul >= 1) {
      s = client.Login(email, password.substr(0, nul), &resp, ip);
      if (s.ok()) return "Login with the password cut at its NUL works";
    }
    return "";
  };
  auto email_rule = [] {
    Rule r(Rule::kStored, "", 254);
    r.wrap = [](const std::string& v, int n) {
      return absl::StrCat(absl::StrFormat("u%06d", n), v, "@example.com");
    };
    r.overhead = 1 + 6 + 12;  // "u%06d" and "@example.com"
    r.normalize = NormalizeEmail;
    return r;
  };
  auto password_rule = [] {
    Rule r(Rule::kSecret, "", 128);
    r.wrap = [](const std::string& v, int) { return "pw-12-chars-" + v; };
    r.overhead = 12;
    return r;
  };
  const Rule line100{Rule::kStored, "", 100};

  std::vector<Call> calls;
  calls.push_back(
      {"CreateUser",
       "email: 'new$N@example.com' password: 'correct horse battery staple' first_name: 'A' "
       "last_name: 'B' phone: '+4412345'",
       {{"email", email_rule()},
        {"password", password_rule()},
        {"first_name", line100},
        {"last_name", line100},
        {"phone", Rule{Rule::kStored, "", 32}}},
       [&](const pb::Message&, const pb::Message& resp) {
         return get_user(As<ipb::CreateUserResponse>(resp).user().user_id());
       },
       grpc::StatusCode::OK,
       grpc::StatusCode::INVALID_ARGUMENT,
       nullptr,
       [&](const pb::Message& req, const std::string&, const std::string&) {
         const auto& r = As<ipb::CreateUserRequest>(req);
         return login_works(NormalizeEmail(r.email()), r.password(), CaseIp(200000 + ++logins));
       }});
  calls.push_back({"UpdateUser",
                   "user_id: '$USER' first_name: 'Z' last_name: 'Y' phone: '+1'",
                   {{"user_id", Rule{Rule::kReference}},
                    {"first_name", line100},
                    {"last_name", line100},
                    {"phone", Rule{Rule::kStored, "", 32}}},
                   [&](const pb::Message& req, const pb::Message&) {
                     return get_user(As<ipb::UpdateUserRequest>(req).user_id());
                   }});
  calls.push_back({"CreateAccount",
                   "name: 'Globex $N'",
                   {{"name", Rule{Rule::kStored, "", 200}}},
                   [&](const pb::Message&, const pb::Message& resp) {
                     return get_account(
                         As<ipb::CreateAccountResponse>(resp).account().account_id());
                   }});
  calls.push_back({"UpdateAccount",
                   "account_id: '$ACCOUNT' name: 'Acme $N'",
                   {{"account_id", Rule{Rule::kReference}}, {"name", Rule{Rule::kStored, "", 200}}},
                   [&](const pb::Message& req, const pb::Message&) {
                     return get_account(As<ipb::UpdateAccountRequest>(req).account_id());
                   }});
  calls.push_back({"CreateRole",
                   "key: 'role_$N' label: 'Role $N'",
                   {{"key", Rule{Rule::kStored, "", 64}}, {"label", Rule{Rule::kStored, "", 200}}},
                   [&](const pb::Message& req,
                       const pb::Message&) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
                     const std::string& key = As<ipb::CreateRoleRequest>(req).key();
                     std::string token;
                     do {
                       ipb::ListRolesRequest list;
                       list.set_page_size(100);
                       list.set_page_token(token);
                       ipb::ListRolesResponse resp;
                       auto c = identity::testing::Client::Bearer(admin);
                       grpc::Status s = stub->ListRoles(c.get(), list, &resp);
                       if (!s.ok()) return Failed(s, "ListRoles");
                       for (const auto& role : resp.roles()) {
                         if (role.key() == key) return Owned(role);
                       }
                       token = resp.next_page_token();
                     } while (!token.empty());
                     return absl::NotFoundError("no role with the key sent");
                   }});
  calls.push_back({"AssignRole",
                   "user_id: '$USER' role: 'author' account_id: '$ACCOUNT'",
                   {{"user_id", Rule{Rule::kReference}},
                    {"role", Rule{Rule::kReference}},
                    {"account_id", Rule{Rule::kReference}}},
                   nullptr});
  // Login audits every attempt (login_attempts): an unknown e-mail is UNAUTHENTICATED and the
  // attempt, with the e-mail, IP and user agent, is what must read back. Each case comes from
  // its own IP and e-mail, so no throttle is reached.
  calls.push_back({"Login",
                   "email: 'nobody$N@example.com' password: 'correct horse battery staple' "
                   "client_ip: '$IP' user_agent: 'ua $N'",
                   {{"email", email_rule()},
                    {"password", Rule{Rule::kNotStored}},
                    {"client_ip",
                     [] {
                       Rule r(Rule::kStored, "ip", 64);
                       r.empty_is_default = true;
                       return r;
                     }()},
                    {"user_agent", Rule{Rule::kStored, "", 512}}},
                   [&](const pb::Message& req,
                       const pb::Message&) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
                     const auto& login = As<ipb::LoginRequest>(req);
                     ipb::ListLoginAttemptsRequest list;
                     list.set_ip(login.client_ip());
                     list.set_page_size(5);
                     ipb::ListLoginAttemptsResponse resp;
                     auto c = identity::testing::Client::Bearer(admin);
                     grpc::Status s = stub->ListLoginAttempts(c.get(), list, &resp);
                     if (!s.ok()) return Failed(s, "ListLoginAttempts");
                     if (resp.login_attempts_size() != 1) {
                       return absl::NotFoundError(
                           absl::StrCat(resp.login_attempts_size(), " attempts from the IP"));
                     }
                     return Owned(resp.login_attempts(0));
                   },
                   grpc::StatusCode::UNAUTHENTICATED});
  // ChangePassword: a fresh user per case, who changes their own password.
  calls.push_back(
      {"ChangePassword",
       "user_id: '$CPUSER' current_password: 'correct horse battery staple' "
       "new_password: 'another horse battery'",
       {{"user_id", Rule{Rule::kReference}},
        {"current_password", Rule{Rule::kNotStored}},
        {"new_password", password_rule()}},
       nullptr,
       grpc::StatusCode::OK,
       grpc::StatusCode::INVALID_ARGUMENT,
       [&](int n) -> std::map<std::string, std::string> {
         const std::string who = absl::StrCat("cp", n, "@example.com");
         std::string id = client.SignUp(who);
         return {{"$CPUSER", id},
                 {"$TOKEN", client.LoginToken(who, identity::testing::kPassword, CaseIp(n))}};
       },
       [&](const pb::Message& req, const std::string&, const std::string&) {
         const auto& r = As<ipb::ChangePasswordRequest>(req);
         ipb::GetUserRequest get;
         get.set_user_id(r.user_id());
         ipb::GetUserResponse user;
         auto c = identity::testing::Client::Bearer(admin);
         if (!stub->GetUser(c.get(), get, &user).ok()) return std::string("GetUser failed");
         return login_works(user.user().email(), r.new_password(), CaseIp(300000 + ++logins));
       }});
  // A user id that names no user: RevokeAllSessions, SetUserStatus, DeleteUser and
  // CreateEmailVerification take only ids; every generated value must be refused.
  calls.push_back({"SetUserStatus",
                   "user_id: '$USER' status: USER_STATUS_ACTIVE",
                   {{"user_id", Rule{Rule::kReference}}},
                   nullptr});
  calls.push_back(
      {"DeleteUser", "user_id: '$UUID'", {{"user_id", Rule{Rule::kReference}}}, nullptr});
  calls.push_back({"CreateEmailVerification",
                   "user_id: '$USER'",
                   {{"user_id", Rule{Rule::kReference}}},
                   nullptr});
  calls.push_back({"ConfirmEmailVerification",
                   "verification_token: 'x'",
                   {{"verification_token", Rule{Rule::kReference}}},
                   nullptr});
  calls.push_back(
      {"RevokeSession", "session_id: '$UUID'", {{"session_id", Rule{Rule::kReference}}}, nullptr});
  calls.push_back(
      {"RevokeAllSessions", "user_id: '$UUID'", {{"user_id", Rule{Rule::kReference}}}, nullptr});
  calls.push_back({"RevokeRole",
                   "user_id: '$USER' role: 'author' account_id: '$ACCOUNT'",
                   {{"user_id", Rule{Rule::kReference}},
                    {"role", Rule{Rule::kReference}},
                    {"account_id", Rule{Rule::kReference}}},
                   nullptr});
  for (const Call& call : calls) runner.Run(call);
  // Reads, and the calls whose only argument is the bearer token.
  runner.ExpectAllWriteMethodsCovered(
      {"GetUser", "ListUsers", "ValidateSession", "Logout", "ListSessions", "RotateSession",
       "GetAccount", "ListAccounts", "ListRoles", "ListRoleAssignments", "ListLoginAttempts",
       "ListAuditEvents", "WatchRevocations"});
  runner.Report();
}

// ---------------------------------------------------------------------------------------------
// billing

constexpr char kAdminId[] = "11111111-1111-4111-8111-111111111111";

TEST(RoundTrip, BillingStoresEveryAcceptedStringByteForByte) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  suite::billing::testing::StaticAuthenticator auth;
  auth.Add("admin-token", {kAdminId, {"admin"}, ""});
  // LinkCustomer asks identity whether the user exists; every case links to this known user,
  // moving the customer of the case before (allow_relink) so that each case is accepted.
  const std::string kLinkedUserId = "33333333-3333-4333-8333-333333333333";
  auth.AddUser(kLinkedUserId);
  suite::billing::BillingOptions options;
  options.webhook_secrets = {"whsec_roundtrip"};
  options.page_token_secret = "page-token-secret-for-roundtrip";
  auto server = suite::billing::testing::BillingTestServer::Start((*db)->UrlAs("billing_service"),
                                                                options, auth);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = NewChannel(absl::StrCat("127.0.0.1:", (*server)->grpc_port()));
  auto stub = bpb::BillingService::NewStub(channel);
  auto bearer = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("authorization", "Bearer admin-token");
    return c;
  };
  RoundTripRunner runner("billing.v1.BillingService", channel, (*db)->url(), "billing",
                         "admin-token");

  std::vector<Call> calls;
  calls.push_back(
      {"LinkCustomer",
       absl::StrCat("stripe_customer_id: 'cus_$N' user_id: '", kLinkedUserId,
                    "' allow_relink: true"),
       {{"stripe_customer_id", Rule{Rule::kStored, "", 255}}, {"user_id", Rule{Rule::kReference}}},
       [&](const pb::Message& req,
           const pb::Message&) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
         bpb::GetCustomerRequest get;
         get.set_stripe_customer_id(As<bpb::LinkCustomerRequest>(req).stripe_customer_id());
         bpb::GetCustomerResponse resp;
         auto c = bearer();
         grpc::Status s = stub->GetCustomer(c.get(), get, &resp);
         if (!s.ok()) return Failed(s, "GetCustomer");
         return Owned(resp.customer());
       }});
  const Rule id255{Rule::kStored, "", 255};
  // One account per case, so ListTransactions finds exactly the case's entry.
  calls.push_back(
      {"RecordTransaction",
       "idempotency_key: 'idem-$N' transaction { account_id: '$UUID' "
       "user_id: '22222222-2222-4222-8222-222222222222' kind: TRANSACTION_KIND_PAYMENT "
       "status: TRANSACTION_STATUS_SUCCEEDED currency: 'USD' amount_cents: 500 "
       "provider: 'stripe' provider_payment_intent_id: 'pi_1' provider_charge_id: 'ch_1' "
       "provider_invoice_id: 'in_1' provider_checkout_session_id: 'cs_1' "
       "metadata { key: 'note' value: 'hello' } }",
       {{"idempotency_key", Rule{Rule::kStored, "idempotency_key", 255}},
        {"transaction.id", Rule{Rule::kIgnored}},
        {"transaction.idempotency_key", Rule{Rule::kIgnored}},
        {"transaction.request_id", Rule{Rule::kIgnored}},
        {"transaction.account_id", Rule{Rule::kReference}},
        {"transaction.user_id", Rule{Rule::kReference}},
        {"transaction.currency", Rule{Rule::kReference}},
        {"transaction.provider", Rule{Rule::kStored, "provider", 64}},
        {"transaction.provider_payment_intent_id",
         Rule{Rule::kStored, "provider_payment_intent_id", 255}},
        {"transaction.provider_charge_id", Rule{Rule::kStored, "provider_charge_id", 255}},
        {"transaction.provider_invoice_id", Rule{Rule::kStored, "provider_invoice_id", 255}},
        {"transaction.provider_checkout_session_id",
         Rule{Rule::kStored, "provider_checkout_session_id", 255}},
        {"transaction.metadata[].key", Rule{Rule::kStored, "metadata", 40}},
        {"transaction.metadata[].value", Rule{Rule::kStored, "metadata", 500}}},
       [&](const pb::Message& req,
           const pb::Message&) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
         bpb::ListTransactionsRequest list;
         list.set_account_id(As<bpb::RecordTransactionRequest>(req).transaction().account_id());
         bpb::ListTransactionsResponse resp;
         auto c = bearer();
         grpc::Status s = stub->ListTransactions(c.get(), list, &resp);
         if (!s.ok()) return Failed(s, "ListTransactions");
         if (resp.transactions_size() != 1) {
           return absl::NotFoundError(absl::StrCat(resp.transactions_size(), " transactions"));
         }
         return Owned(resp.transactions(0));
       }});
  // The webhook's Stripe-Signature is a credential, never stored: a bad one is
  // UNAUTHENTICATED (documented) and writes nothing.
  calls.push_back({"IngestStripeEvent",
                   "payload: '{}' stripe_signature: 't=1,v1=" + std::string(64, 'a') + "'",
                   {{"stripe_signature", Rule{Rule::kNotStored}}},
                   nullptr,
                   grpc::StatusCode::OK,
                   grpc::StatusCode::UNAUTHENTICATED});
  calls.push_back({"ReprocessStripeEvent",
                   "stripe_event_id: 'evt_none'",
                   {{"stripe_event_id", Rule{Rule::kReference}}},
                   nullptr});
  for (const Call& call : calls) runner.Run(call);

  // The strings billing keeps from a webhook payload's envelope (stripe_event_id, type,
  // api_version), each sent as a JSON string in a correctly signed payload: refused with
  // INVALID_ARGUMENT naming payload.<key>, or stored and listed as sent. (The rest of the
  // payload is either checked as Stripe ids by the domain or dropped by the redaction.)
  for (const std::string key : {"id", "type", "api_version"}) {
    const int max = key == "api_version" ? 64 : 255;
    for (const Value& v : Values("payload." + key, max, 0, /*non_empty=*/key != "api_version")) {
      const int n = runner.NextCase();
      std::map<std::string, std::string> fields = {{"id", absl::StrCat("evt_rt", n)},
                                                   {"type", "product.created"},
                                                   {"api_version", "2024-06-20"}};
      fields[key] = v.bytes;
      const std::string payload = absl::StrCat(
          "{\"id\":", JsonString(fields["id"]),
          ",\"object\":\"event\",\"type\":", JsonString(fields["type"]),
          ",\"created\":1800000000,\"livemode\":false,"
          "\"api_version\":",
          JsonString(fields["api_version"]), ",\"data\":{\"object\":{\"id\":\"prod_1\"}}}");
      const int64_t now = absl::ToUnixSeconds(absl::Now());
      bpb::IngestStripeEventRequest req;
      req.set_payload(payload);
      req.set_stripe_signature(absl::StrCat(
          "t=", now, ",v1=",
          suite::billing::ComputeStripeSignature("whsec_roundtrip", now, payload)));
      const std::string what =
          absl::StrCat("IngestStripeEvent payload.", key, " ", v.name, " ", Show(v.bytes));
      absl::StatusOr<int64_t> before = runner.CountRows();
      ASSERT_TRUE(before.ok()) << before.status();
      bpb::IngestStripeEventResponse resp;
      grpc::ClientContext c;
      grpc::Status s = stub->IngestStripeEvent(&c, req, &resp);
      const absl::Status status = suite::rpc::FromGrpcStatus(s);
      if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        runner.Count(false);
        absl::StatusOr<int64_t> after = runner.CountRows();
        if (after.ok() && *after != *before) runner.Problem("a refused call wrote rows", what);
        bool named = false;
        for (const auto& f : suite::api::FieldViolationsOf(status)) {
          named = named || f.field == "payload." + key;
        }
        if (!named) {
          runner.Problem("refused without naming the field",
                         absl::StrCat(what, " -> ", Violations(status)));
        }
        continue;
      }
      if (!s.ok()) {
        runner.Count(false);
        runner.Problem(
            absl::StrCat("answered ", s.error_code(), " (neither accepted nor INVALID_ARGUMENT)"),
            absl::StrCat(what, " -> ", s.error_message()));
        continue;
      }
      runner.Count(true);
      if (v.length == Value::kOverBound) {
        runner.Problem("a value over the documented bound was accepted", what);
      }
      bpb::ListStripeEventsRequest list;
      list.set_page_size(1);
      bpb::ListStripeEventsResponse listed;
      auto lc = bearer();
      grpc::Status ls = stub->ListStripeEvents(lc.get(), list, &listed);
      if (!ls.ok() || listed.stripe_events_size() != 1 ||
          listed.stripe_events(0).stripe_event_id() != fields["id"]) {
        runner.Problem("accepted but not found on reading back", what);
        continue;
      }
      const bpb::StripeEvent& e = listed.stripe_events(0);
      const std::string back = key == "id"     ? e.stripe_event_id()
                               : key == "type" ? e.type()
                                               : e.api_version();
      if (back != v.bytes) runner.Problem("read back differs", what + " read back " + Show(back));
    }
  }
  runner.ExpectAllWriteMethodsCovered({"GetCustomer", "GetSubscription", "ListSubscriptions",
                                       "GetEntitlement", "ListTransactions", "ListStripeEvents",
                                       "ListAuditEvents"});
  runner.Report();
}

// ---------------------------------------------------------------------------------------------
// questions

struct QuestionsFixture {
  suite::billing::testing::StaticAuthenticator auth;
  std::unique_ptr<questions::testing::QuestionsTestServer> server;
  std::unique_ptr<qpb::QuestionBankService::Stub> stub;

  static std::unique_ptr<grpc::ClientContext> Bearer() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("authorization", "Bearer admin-token");
    return c;
  }

  void Start() {
    auth.Add("admin-token", {kAdminId, {"admin", "author"}, ""});
    questions::testing::QuestionsServerOptions options;
    options.authenticator = &auth;
    options.billing_addr = "127.0.0.1:1";
    options.free_sessions_per_day = 1000000;
    auto s = questions::testing::QuestionsTestServer::Start(options);
    ASSERT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
    stub = server->NewStub();
  }

  absl::StatusOr<std::unique_ptr<pb::Message>> GetQuestion(const std::string& id) {
    qpb::GetQuestionRequest req;
    req.set_question_id(id);
    qpb::GetQuestionResponse resp;
    auto c = Bearer();
    grpc::Status s = stub->GetQuestion(c.get(), req, &resp);
    if (!s.ok()) return Failed(s, "GetQuestion");
    return Owned(resp.question());
  }

  std::string CreateQuestion(const std::string& text) {
    qpb::CreateQuestionRequest req;
    EXPECT_TRUE(pb::TextFormat::ParseFromString(text, &req));
    qpb::CreateQuestionResponse resp;
    auto c = Bearer();
    grpc::Status s = stub->CreateQuestion(c.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.question().id();
  }
};

const char kQuestionText[] =
    "stem: 'What is $N plus two?' explanation: 'Arithmetic.' "
    "difficulty: QUESTION_DIFFICULTY_MEDIUM choices { text: 'four' is_correct: true } "
    "choices { text: 'five' }";

TEST(RoundTrip, QuestionsStoresEveryAcceptedStringByteForByte) {
  QuestionsFixture f;
  ASSERT_NO_FATAL_FAILURE(f.Start());
  std::string tag_id;
  {
    qpb::CreateTagRequest req;
    req.set_kind(qpb::TAG_KIND_TOPIC);
    req.set_slug("arithmetic");
    req.set_label("Arithmetic");
    qpb::CreateTagResponse resp;
    auto c = f.Bearer();
    ASSERT_TRUE(f.stub->CreateTag(c.get(), req, &resp).ok());
    tag_id = resp.tag().id();
  }
  const std::string draft = f.CreateQuestion(absl::StrReplaceAll(kQuestionText, {{"$N", "1"}}));
  const std::string published = f.CreateQuestion(absl::StrReplaceAll(kQuestionText, {{"$N", "2"}}));
  {
    qpb::PublishQuestionRequest req;
    req.set_question_id(published);
    qpb::PublishQuestionResponse resp;
    auto c = f.Bearer();
    ASSERT_TRUE(f.stub->PublishQuestion(c.get(), req, &resp).ok());
  }
  std::string session_id, choice_id;
  {
    qpb::StartPracticeSessionRequest req;
    req.set_mode(qpb::PRACTICE_MODE_TUTOR);
    req.set_question_count(1);
    qpb::StartPracticeSessionResponse resp;
    auto c = f.Bearer();
    grpc::Status s = f.stub->StartPracticeSession(c.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    session_id = resp.session().id();
  }
  {
    auto q = f.GetQuestion(published);
    ASSERT_TRUE(q.ok());
    choice_id = As<qpb::Question>(**q).choices(0).id();
  }

  RoundTripRunner runner("questions.v1.QuestionBankService", NewChannel(f.server->address()),
                         f.server->database().url(), "questions", "admin-token");
  runner.Placeholder("$DRAFT", draft);
  runner.Placeholder("$PUBLISHED", published);
  runner.Placeholder("$TAG", tag_id);
  runner.Placeholder("$SESSION", session_id);
  runner.Placeholder("$CHOICE", choice_id);

  const Rule stem{Rule::kStored, "", 4000};
  const Rule explanation{Rule::kStored, "", 8000};
  const Rule choice{Rule::kStored, "", 1000};
  auto get_created = [&](const pb::Message&, const pb::Message& resp) {
    return f.GetQuestion(As<qpb::CreateQuestionResponse>(resp).question().id());
  };
  std::vector<Call> calls;
  calls.push_back({"CreateQuestion",
                   std::string(kQuestionText) + " external_key: 'ext-$N' tag_ids: '$TAG'",
                   {{"stem", stem},
                    {"explanation", explanation},
                    {"external_key", Rule{Rule::kStored, "", 200}},
                    {"choices[].text", choice},
                    {"tag_ids[]", Rule{Rule::kReference}}},
                   get_created});
  calls.push_back({"UpdateQuestion",
                   "question_id: '$DRAFT' stem: 'Updated $N?' explanation: 'Because $N.' "
                   "choices { text: 'yes' is_correct: true } choices { text: 'no' } "
                   "update_mask { paths: ['stem', 'explanation', 'choices'] }",
                   {{"question_id", Rule{Rule::kReference}},
                    {"stem", stem},
                    {"explanation", explanation},
                    {"choices[].text", choice}},
                   [&](const pb::Message& req, const pb::Message&) {
                     return f.GetQuestion(As<qpb::UpdateQuestionRequest>(req).question_id());
                   }});
  calls.push_back({"CreateTag",
                   "kind: TAG_KIND_DIAGNOSIS slug: 'slug-$N' label: 'Label $N'",
                   {{"slug", Rule{Rule::kStored, "", 64}}, {"label", Rule{Rule::kStored, "", 200}}},
                   [&](const pb::Message& req,
                       const pb::Message&) -> absl::StatusOr<std::unique_ptr<pb::Message>> {
                     const std::string& slug = As<qpb::CreateTagRequest>(req).slug();
                     std::string token;
                     do {
                       qpb::ListTagsRequest list;
                       list.set_kind(qpb::TAG_KIND_DIAGNOSIS);
                       list.set_page_size(500);
                       list.set_page_token(token);
                       qpb::ListTagsResponse resp;
                       auto c = f.Bearer();
                       grpc::Status s = f.stub->ListTags(c.get(), list, &resp);
                       if (!s.ok()) return Failed(s, "ListTags");
                       for (const auto& t : resp.tags()) {
                         if (t.slug() == slug) return Owned(t);
                       }
                       token = resp.next_page_token();
                     } while (!token.empty());
                     return absl::NotFoundError("no tag with the slug sent");
                   }});
  // Calls that take only ids: every generated value must be refused.
  const Rule ref{Rule::kReference};
  calls.push_back({"PublishQuestion", "question_id: '$DRAFT'", {{"question_id", ref}}, nullptr});
  calls.push_back({"ArchiveQuestion", "question_id: '$DRAFT'", {{"question_id", ref}}, nullptr});
  calls.push_back({"TagQuestion",
                   "question_id: '$DRAFT' tag_id: '$TAG'",
                   {{"question_id", ref}, {"tag_id", ref}},
                   nullptr});
  calls.push_back({"UntagQuestion",
                   "question_id: '$DRAFT' tag_id: '$TAG'",
                   {{"question_id", ref}, {"tag_id", ref}},
                   nullptr});
  calls.push_back({"StartPracticeSession",
                   "mode: PRACTICE_MODE_TUTOR question_count: 1 filter { tag_ids: '$TAG' }",
                   {{"filter.tag_ids[]", ref}},
                   nullptr});
  calls.push_back({"SubmitAttempt",
                   "session_id: '$SESSION' question_id: '$PUBLISHED' choice_id: '$CHOICE' "
                   "time_spent_ms: 1",
                   {{"session_id", ref}, {"question_id", ref}, {"choice_id", ref}},
                   nullptr});
  calls.push_back({"EndPracticeSession", "session_id: '$SESSION'", {{"session_id", ref}}, nullptr});
  calls.push_back({"CreateBookmark", "question_id: '$PUBLISHED'", {{"question_id", ref}}, nullptr});
  calls.push_back({"DeleteBookmark", "question_id: '$PUBLISHED'", {{"question_id", ref}}, nullptr});
  for (const Call& call : calls) runner.Run(call);
  // ImportQuestions is client-streaming: its cases are in the test below.
  runner.ExpectAllWriteMethodsCovered({"GetQuestion", "ListQuestions", "ListTags",
                                       "GetPracticeSession", "ListAttempts", "GetUserStats",
                                       "ListBookmarks", "ListAuditEvents", "ImportQuestions"});
  runner.Report();
}

// ImportQuestions: one stream per case holding one item with the generated value. The item is
// either reported (index 0, its field named) with nothing written, or created and read back
// identical (the newest draft, through ListQuestions and GetQuestion). A failure of the whole
// call is a problem: a bad item must never cost the other items of its stream.
TEST(RoundTrip, QuestionsImportStoresEveryAcceptedItemStringByteForByte) {
  QuestionsFixture f;
  ASSERT_NO_FATAL_FAILURE(f.Start());
  std::string tag_id;
  {
    qpb::CreateTagRequest req;
    req.set_kind(qpb::TAG_KIND_TOPIC);
    req.set_slug("imports");
    req.set_label("Imports");
    qpb::CreateTagResponse resp;
    auto c = f.Bearer();
    ASSERT_TRUE(f.stub->CreateTag(c.get(), req, &resp).ok());
    tag_id = resp.tag().id();
  }
  RoundTripRunner runner("questions.v1.QuestionBankService", NewChannel(f.server->address()),
                         f.server->database().url(), "questions", "admin-token");
  const std::string base = absl::StrCat(
      "external_key: 'imp-$N' stem: 'Imported $N?' explanation: 'Because.' "
      "difficulty: QUESTION_DIFFICULTY_EASY choices { text: 'right' is_correct: true } "
      "choices { text: 'wrong' } tag_ids: '",
      tag_id, "'");
  const std::map<std::string, Rule> rules = {
      {"external_key", Rule{Rule::kStored, "", 200}},
      {"stem", Rule{Rule::kStored, "", 4000}},
      {"explanation", Rule{Rule::kStored, "", 8000}},
      {"choices[].text", Rule{Rule::kStored, "", 1000}},
      {"tag_ids[]", Rule{Rule::kReference}},
  };
  qpb::ImportQuestionItem shape;
  ASSERT_TRUE(pb::TextFormat::ParseFromString(runner.Expand(base, 0, {}), &shape));
  std::vector<FieldRef> refs;
  Walk(shape, "", "", refs, {});
  for (const FieldRef& ref : refs) {
    auto rule_it = rules.find(ref.rule);
    if (rule_it == rules.end()) {
      ADD_FAILURE() << "ImportQuestionItem " << ref.path << ": no round-trip rule";
      continue;
    }
    const Rule& rule = rule_it->second;
    for (const Value& v :
         Values("items." + ref.rule, rule.max_chars, 0, rule.kind == Rule::kReference)) {
      const int n = runner.NextCase();
      qpb::ImportQuestionItem item;
      ASSERT_TRUE(pb::TextFormat::ParseFromString(runner.Expand(base, n, {}), &item));
      SetAt(item, ref, v.bytes);
      const std::string what =
          absl::StrCat("ImportQuestions items[0].", ref.path, " ", v.name, " ", Show(v.bytes));
      absl::StatusOr<int64_t> before = runner.CountRows();
      ASSERT_TRUE(before.ok()) << before.status();
      qpb::ImportQuestionsResponse resp;
      grpc::Status s;
      {
        auto c = f.Bearer();
        c->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
        auto writer = f.stub->ImportQuestions(c.get(), &resp);
        qpb::ImportQuestionsRequest batch;
        *batch.add_items() = item;
        writer->Write(batch);
        writer->WritesDone();
        s = writer->Finish();
      }
      if (!s.ok()) {
        runner.Count(false);
        runner.Problem("the whole import failed",
                       absl::StrCat(what, " -> ", s.error_code(), " \"", s.error_message(), "\""));
        continue;
      }
      absl::StatusOr<int64_t> after = runner.CountRows();
      if (resp.failed_count() == 1) {
        runner.Count(false);
        if (after.ok() && *after != *before) runner.Problem("a refused item wrote rows", what);
        if (resp.errors_size() != 1 || resp.errors(0).index() != 0 ||
            resp.errors(0).field() != ref.path) {
          runner.Problem("item refused without naming the field",
                         absl::StrCat(what, " -> ", resp.ShortDebugString().substr(0, 200)));
        } else if (v.length == Value::kAtBound &&
                   absl::StrContains(resp.errors(0).message(), "at most")) {
          runner.Problem("a value at the documented bound refused for its length", what);
        }
        continue;
      }
      if (resp.created_count() != 1) {
        runner.Count(false);
        runner.Problem("item neither created nor reported", what + " " + resp.ShortDebugString());
        continue;
      }
      runner.Count(true);
      if (v.length == Value::kOverBound) {
        runner.Problem("a value over the documented bound was accepted", what);
      }
      if (rule.kind == Rule::kReference) {
        runner.Problem("an id field accepted a value that names nothing", what);
        continue;
      }
      qpb::ListQuestionsRequest list;
      list.set_page_size(1);
      qpb::ListQuestionsResponse listed;
      auto c = f.Bearer();
      grpc::Status ls = f.stub->ListQuestions(c.get(), list, &listed);
      if (!ls.ok() || listed.questions_size() != 1) {
        runner.Problem("accepted but not found on reading back", what);
        continue;
      }
      auto stored = f.GetQuestion(listed.questions(0).id());
      if (!stored.ok()) {
        runner.Problem("accepted but not found on reading back", what);
        continue;
      }
      absl::optional<std::string> back = GetPath(**stored, ref.path);
      if (!back.has_value() || *back != v.bytes) {
        runner.Problem("read back differs",
                       what + " read back " + (back ? Show(*back) : std::string("nothing")));
      }
    }
  }
  runner.Report(" ImportQuestions");
}

}  // namespace
}  // namespace suite::reliability
