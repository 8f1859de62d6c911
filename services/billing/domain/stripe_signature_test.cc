// Stripe-Signature verification against vectors computed independently with
//   printf '%s' "1700000000.<payload>" | openssl dgst -sha256 -hmac <secret>
#include "services/billing/domain/stripe_signature.h"

#include <string>

#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::billing {
namespace {

constexpr char kPayload[] = R"({"id":"evt_1","object":"event","type":"customer.created"})";
constexpr int64_t kT = 1700000000;
constexpr char kSecret[] = "whsec_test_secret";
constexpr char kSecretSig[] = "7401f12dfbd370e571f0ed15746eb48bff16d798a9b8f1fc8c91034db4bb4698";
constexpr char kRotated[] = "whsec_rotated";
constexpr char kRotatedSig[] = "31ba274822aba958931165817a918775fe08b8d3acce5cabb02f80f637057237";
constexpr char kOtherSig[] = "0000000000000000000000000000000000000000000000000000000000000000";

StripeSignatureVerifier VerifierAt(std::vector<std::string> secrets, absl::Time now) {
  return StripeSignatureVerifier(std::move(secrets), absl::Seconds(300), [now] { return now; });
}

std::string ReasonOf(const absl::Status& status) {
  auto info = suite::api::ErrorInfoOf(status);
  return info ? info->reason : "";
}

const absl::Time kNow = absl::FromUnixSeconds(kT + 10);

TEST(StripeSignatureTest, ComputeMatchesOpensslVectors) {
  EXPECT_EQ(ComputeStripeSignature(kSecret, kT, kPayload), kSecretSig);
  EXPECT_EQ(ComputeStripeSignature(kRotated, kT, kPayload), kRotatedSig);
}

TEST(StripeSignatureTest, AcceptsKnownGoodHeader) {
  auto v = VerifierAt({kSecret}, kNow);
  EXPECT_TRUE(v.Verify(kPayload, std::string("t=1700000000,v1=") + kSecretSig).ok());
}

TEST(StripeSignatureTest, AcceptsAnyOfSeveralV1AndIgnoresV0) {
  auto v = VerifierAt({kSecret}, kNow);
  EXPECT_TRUE(v.Verify(kPayload, std::string("t=1700000000, v1=") + kOtherSig +
                                     ", v1=" + kSecretSig + ",v0=" + kOtherSig)
                  .ok());
}

TEST(StripeSignatureTest, RejectsTamperedPayload) {
  auto v = VerifierAt({kSecret}, kNow);
  std::string tampered = kPayload;
  tampered[10] = 'X';
  absl::Status s = v.Verify(tampered, std::string("t=1700000000,v1=") + kSecretSig);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(s), "SIGNATURE_MISMATCH");
}

TEST(StripeSignatureTest, RejectsTamperedTimestamp) {
  auto v = VerifierAt({kSecret}, kNow);
  absl::Status s = v.Verify(kPayload, std::string("t=1700000001,v1=") + kSecretSig);
  EXPECT_EQ(ReasonOf(s), "SIGNATURE_MISMATCH");
}

TEST(StripeSignatureTest, RejectsWrongSecret) {
  auto v = VerifierAt({"whsec_wrong"}, kNow);
  absl::Status s = v.Verify(kPayload, std::string("t=1700000000,v1=") + kSecretSig);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(s), "SIGNATURE_MISMATCH");
}

TEST(StripeSignatureTest, RejectsWhenNoSecretConfigured) {
  auto v = VerifierAt({}, kNow);
  EXPECT_EQ(ReasonOf(v.Verify(kPayload, std::string("t=1700000000,v1=") + kSecretSig)),
            "SIGNATURE_MISMATCH");
}

TEST(StripeSignatureTest, RotationAcceptsEitherSecret) {
  auto v = VerifierAt({kSecret, kRotated}, kNow);
  EXPECT_TRUE(v.Verify(kPayload, std::string("t=1700000000,v1=") + kSecretSig).ok());
  EXPECT_TRUE(v.Verify(kPayload, std::string("t=1700000000,v1=") + kRotatedSig).ok());
  // Stripe signs with both during a rotation: a header with both verifies too.
  EXPECT_TRUE(
      v.Verify(kPayload, std::string("t=1700000000,v1=") + kRotatedSig + ",v1=" + kSecretSig).ok());
  // After the old secret is retired, only the new one verifies.
  auto retired = VerifierAt({kRotated}, kNow);
  EXPECT_EQ(ReasonOf(retired.Verify(kPayload, std::string("t=1700000000,v1=") + kSecretSig)),
            "SIGNATURE_MISMATCH");
}

TEST(StripeSignatureTest, RejectsStaleAndFutureTimestampsButAcceptsTheEdges) {
  const std::string header = std::string("t=1700000000,v1=") + kSecretSig;
  EXPECT_TRUE(VerifierAt({kSecret}, absl::FromUnixSeconds(kT + 300)).Verify(kPayload, header).ok());
  EXPECT_TRUE(VerifierAt({kSecret}, absl::FromUnixSeconds(kT - 300)).Verify(kPayload, header).ok());
  EXPECT_EQ(
      ReasonOf(VerifierAt({kSecret}, absl::FromUnixSeconds(kT + 301)).Verify(kPayload, header)),
      "SIGNATURE_TIMESTAMP_OUT_OF_TOLERANCE");
  EXPECT_EQ(
      ReasonOf(VerifierAt({kSecret}, absl::FromUnixSeconds(kT - 301)).Verify(kPayload, header)),
      "SIGNATURE_TIMESTAMP_OUT_OF_TOLERANCE");
}

TEST(StripeSignatureTest, ToleranceIsConfigurable) {
  StripeSignatureVerifier v({kSecret}, absl::Seconds(5),
                            [] { return absl::FromUnixSeconds(kT + 6); });
  EXPECT_EQ(ReasonOf(v.Verify(kPayload, std::string("t=1700000000,v1=") + kSecretSig)),
            "SIGNATURE_TIMESTAMP_OUT_OF_TOLERANCE");
}

TEST(StripeSignatureTest, MalformedHeadersAreRefused) {
  auto v = VerifierAt({kSecret}, kNow);
  EXPECT_EQ(ReasonOf(v.Verify(kPayload, "")), "SIGNATURE_MISSING");
  EXPECT_EQ(ReasonOf(v.Verify(kPayload, "   ")), "SIGNATURE_MISSING");
  const std::string sig = kSecretSig;
  for (const std::string& header : std::vector<std::string>{
           "v1=" + sig,                                   // no t
           std::string("t=1700000000"),                   // no v1
           "t=1700000000,v0=" + sig,                      // only other schemes
           "t=abc,v1=" + sig,                             // t not a number
           "t=-5,v1=" + sig,                              // negative
           "t=1700000000,t=1700000000,v1=" + sig,         // t twice
           "t=1700000000,v1=" + sig.substr(0, 63),        // short signature
           "t=1700000000,v1=" + sig.substr(0, 63) + "g",  // not hex
           "t=1700000000,garbage,v1=" + sig,              // item without '='
           std::string(5000, 'x'),
       }) {
    absl::Status s = v.Verify(kPayload, header);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_EQ(ReasonOf(s), "SIGNATURE_MALFORMED") << header;
  }
}

TEST(StripeSignatureTest, ParseKeepsEveryV1InLowerCase) {
  auto parsed = ParseStripeSignatureHeader(std::string("t=42,v1=") + kOtherSig + ",v1=ABCDEF" +
                                           std::string(58, '0'));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->timestamp, 42);
  ASSERT_EQ(parsed->v1.size(), 2u);
  EXPECT_EQ(parsed->v1[1].substr(0, 6), "abcdef");
}

}  // namespace
}  // namespace suite::billing
