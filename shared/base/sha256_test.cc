#include "shared/base/sha256.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace suite {
namespace {

// FIPS 180-2's examples: the digest must be SHA-256's, byte for byte, since stored hashes,
// migration checksums and every member's choice order depend on it.
TEST(Sha256Test, MatchesTheStandardsTestVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, RawDigestIsTheHexOnesBytesAndHoldsNulBytes) {
  const std::string raw = Sha256(std::string("a\0b", 3));
  ASSERT_EQ(raw.size(), 32u);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : raw) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  EXPECT_EQ(hex, Sha256Hex(std::string("a\0b", 3)));
  EXPECT_NE(Sha256(std::string("a\0b", 3)), Sha256("a"));
}

// Each thread keeps its own context: concurrent digests never mix their inputs.
TEST(Sha256Test, ThreadsHashingAtOnceEachGetTheirOwnDigest) {
  const std::string expected_abc = Sha256("abc");
  const std::string expected_long = Sha256(std::string(10000, 'x'));
  std::vector<std::thread> threads;
  std::vector<int> wrong(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const bool short_one = (i + t) % 2 == 0;
        const std::string got = short_one ? Sha256("abc") : Sha256(std::string(10000, 'x'));
        if (got != (short_one ? expected_abc : expected_long)) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(8, 0));
}

}  // namespace
}  // namespace suite
