// Which address a login is counted under: trusted peers as addresses and CIDR blocks (both
// families), client_ip and x-forwarded-for believed from them only, and forged hops ignored.
#include "services/identity/domain/client_address.h"

#include <gtest/gtest.h>

namespace suite::identity {
namespace {

TrustedPeers Peers(std::set<std::string> entries) {
  absl::StatusOr<TrustedPeers> peers = TrustedPeers::Parse(entries);
  EXPECT_TRUE(peers.ok()) << peers.status();
  return peers.value_or(TrustedPeers());
}

TEST(TrustedPeersTest, MatchesAddressesAndCidrBlocksOfBothFamiliesAtTheirEdges) {
  TrustedPeers peers = Peers({"10.1.0.0/16", "192.0.2.7", "fd00:1::/32", "::1"});
  EXPECT_TRUE(peers.Trusts("10.1.0.0"));
  EXPECT_TRUE(peers.Trusts("10.1.255.255"));
  EXPECT_FALSE(peers.Trusts("10.2.0.0"));
  EXPECT_FALSE(peers.Trusts("10.0.255.255"));
  EXPECT_TRUE(peers.Trusts("192.0.2.7"));
  EXPECT_FALSE(peers.Trusts("192.0.2.8"));
  EXPECT_TRUE(peers.Trusts("::ffff:192.0.2.7"));  // IPv4-mapped
  EXPECT_TRUE(peers.Trusts("fd00:1:ffff::1"));
  EXPECT_FALSE(peers.Trusts("fd00:2::1"));
  EXPECT_TRUE(peers.Trusts("::1"));
  EXPECT_FALSE(peers.Trusts("127.0.0.1"));
  EXPECT_FALSE(peers.Trusts(""));
  EXPECT_FALSE(peers.Trusts("not an address"));
  EXPECT_FALSE(TrustedPeers().Trusts("127.0.0.1"));
  EXPECT_TRUE(Peers({"0.0.0.0/0"}).Trusts("203.0.113.9"));
  EXPECT_FALSE(Peers({"0.0.0.0/0"}).Trusts("2001:db8::1"));
  EXPECT_TRUE(Peers({"*"}).Trusts("2001:db8::1"));
}

TEST(TrustedPeersTest, RefusesEntriesThatAreNotAddressesOrBlocks) {
  for (const std::string bad : {"localhost", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "::/129",
                                "10.0.0.0/8/8", "10.0.0.256", "*/8", "10.0.0.0/x"}) {
    absl::StatusOr<TrustedPeers> peers = TrustedPeers::Parse({bad});
    EXPECT_EQ(peers.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(TrustedPeersTest, AnUntrustedPeerIsCountedUnderItsOwnAddressWhateverItClaims) {
  TrustedPeers peers = Peers({"10.0.0.1"});
  EXPECT_EQ(peers.ClientIp("198.51.100.1", "203.0.113.5", {"203.0.113.6"}), "198.51.100.1");
  EXPECT_EQ(TrustedPeers().ClientIp("127.0.0.1", "203.0.113.5", {}), "127.0.0.1");
}

TEST(TrustedPeersTest, ATrustedPeerIsBelievedClientIpFirstThenTheForwardedFor) {
  TrustedPeers peers = Peers({"10.0.0.0/8"});
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "203.0.113.5", {"198.51.100.9"}), "203.0.113.5");
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"198.51.100.9"}), "198.51.100.9");
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {}), "10.0.0.1");
  // Read from the right, skipping the trusted proxies: what the client wrote itself on the
  // left is not believed.
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"1.2.3.4, 198.51.100.9, 10.9.9.9"}),
            "198.51.100.9");
  // Several headers are one list, in order.
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"1.2.3.4", "198.51.100.9", "10.9.9.9"}),
            "198.51.100.9");
  // A hop that is not an address ends the walk at the last address read.
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"198.51.100.9, junk, 10.9.9.9"}), "10.9.9.9");
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"junk"}), "10.0.0.1");
  // Only trusted hops: the leftmost.
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"10.5.5.5, 10.9.9.9"}), "10.5.5.5");
  EXPECT_EQ(peers.ClientIp("10.0.0.1", "", {"2001:db8::7"}), "2001:db8::7");
}

}  // namespace
}  // namespace suite::identity
