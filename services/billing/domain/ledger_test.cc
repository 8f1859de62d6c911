#include "services/billing/domain/ledger.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::billing {
namespace {

NewTransaction Valid() {
  NewTransaction tx;
  tx.idempotency_key = "key-1";
  tx.account_id = "bbbbbbbb-0000-4000-8000-000000000001";
  tx.currency = "EUR";
  tx.amount_cents = 100;
  tx.provider = "manual";
  return tx;
}

TEST(LedgerTest, CurrenciesAreIso4217UpperCase) {
  for (const char* ok : {"EUR", "USD", "JPY", "CHF", "XAU"}) EXPECT_TRUE(IsIsoCurrency(ok)) << ok;
  for (const char* bad : {"eur", "EURO", "EU", "ABC", "", "US$"}) {
    EXPECT_FALSE(IsIsoCurrency(bad)) << bad;
  }
}

TEST(LedgerTest, FingerprintChangesWithEveryRequestFieldButNotTheKey) {
  const std::string base = RequestFingerprint(Valid());
  NewTransaction same = Valid();
  same.idempotency_key = "other-key";
  same.request_id = "aaaaaaaa-0000-4000-8000-000000000009";
  EXPECT_EQ(RequestFingerprint(same), base);
  NewTransaction t = Valid();
  t.amount_cents = 101;
  EXPECT_NE(RequestFingerprint(t), base);
  t = Valid();
  t.currency = "USD";
  EXPECT_NE(RequestFingerprint(t), base);
  t = Valid();
  t.metadata["a"] = "b";
  EXPECT_NE(RequestFingerprint(t), base);
  // Length-prefixed: moving a character between fields changes the fingerprint.
  NewTransaction a = Valid(), b = Valid();
  a.provider_charge_id = "ab";
  b.provider_charge_id = "a";
  b.provider_invoice_id = "b";
  EXPECT_NE(RequestFingerprint(a), RequestFingerprint(b));
}

TEST(LedgerTest, ValidationNamesTheField) {
  auto field = [](NewTransaction tx) {
    auto v = suite::api::FieldViolationsOf(ValidateNewTransaction(tx));
    return v.empty() ? std::string() : v[0].field;
  };
  EXPECT_TRUE(ValidateNewTransaction(Valid()).ok());
  NewTransaction t = Valid();
  t.idempotency_key = "";
  EXPECT_EQ(field(t), "idempotency_key");
  t = Valid();
  t.idempotency_key = std::string(256, 'k');
  EXPECT_EQ(field(t), "idempotency_key");
  t = Valid();
  t.account_id = "x";
  EXPECT_EQ(field(t), "transaction.account_id");
  EXPECT_EQ(ValidateNewTransaction(t).message(), "transaction.account_id: must be a UUID");
  t.account_id = "";
  EXPECT_EQ(ValidateNewTransaction(t).message(), "transaction.account_id: is required");
  t = Valid();
  t.user_id = "x";
  EXPECT_EQ(field(t), "transaction.user_id");
  t = Valid();
  t.currency = "eur";
  EXPECT_EQ(field(t), "transaction.currency");
  t = Valid();
  t.amount_cents = int64_t{1} << 31;
  EXPECT_EQ(field(t), "transaction.amount_cents");
  t = Valid();
  t.amount_cents = -1;  // a payment is never negative ...
  EXPECT_EQ(field(t), "transaction.amount_cents");
  t.kind = TransactionKind::kRefund;
  EXPECT_EQ(field(t), "transaction.amount_cents");
  t.kind = TransactionKind::kAdjustment;  // ... an adjustment may be, down to -2^31
  t.amount_cents = -(int64_t{1} << 31);
  EXPECT_TRUE(ValidateNewTransaction(t).ok());
  t.amount_cents = -(int64_t{1} << 31) - 1;
  EXPECT_EQ(field(t), "transaction.amount_cents");
  t = Valid();
  t.provider = "";
  EXPECT_EQ(field(t), "transaction.provider");
  t = Valid();
  // Metadata violations name the entry by its key (C-escaped).
  t.metadata[std::string(41, 'k')] = "v";
  EXPECT_EQ(field(t), "transaction.metadata[\"" + std::string(41, 'k') + "\"]");
  t = Valid();
  t.metadata["k"] = std::string("a\0b", 3);
  EXPECT_EQ(field(t), "transaction.metadata[\"k\"]");
  t = Valid();
  t.metadata[std::string("k\0", 2)] = "v";
  EXPECT_EQ(field(t), "transaction.metadata[\"k\\x00\"]");
  t = Valid();
  t.metadata[""] = "v";
  EXPECT_EQ(field(t), "transaction.metadata[\"\"]");
  // Lengths are characters: 40 four-byte characters in a key, 500 in a value, are fine.
  t = Valid();
  std::string key, value;
  for (int i = 0; i < 40; ++i) key += "\U0001F600";
  for (int i = 0; i < 500; ++i) value += "\u4e2d";
  t.metadata[key] = value + "\n\t";
  EXPECT_EQ(field(t), "transaction.metadata[\"" + absl::CHexEscape(key) + "\"]");  // 502
  t.metadata[key] = value;
  EXPECT_TRUE(ValidateNewTransaction(t).ok());
  t.metadata[key] = "line one\r\n\tline two";  // prose: tab and line breaks are kept
  EXPECT_TRUE(ValidateNewTransaction(t).ok());
  t.metadata[key] = "esc \x1b[31m";
  EXPECT_EQ(field(t), "transaction.metadata[\"" + absl::CHexEscape(key) + "\"]");
}

}  // namespace
}  // namespace suite::billing
