// Which address a login is throttled under (LoginLimits' "source"): the caller's own peer
// address, unless that peer is a trusted proxy (a front end relaying end users), whose word on
// the end user's address is then believed: the request's client_ip field first, else the
// X-Forwarded-For header, read from the right and skipping the trusted proxies in it.
//
//   absl::StatusOr<TrustedPeers> peers = TrustedPeers::Parse({"10.0.0.0/8", "::1"});
//   std::string ip = peers->ClientIp("10.1.2.3", request.client_ip(), {"198.51.100.7"});
//
// Thread-safe after construction.
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_CLIENT_ADDRESS_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_CLIENT_ADDRESS_H_

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace suite::identity {

class TrustedPeers {
 public:
  // Nobody is trusted.
  TrustedPeers() = default;
  // Parse reads entries that are each "*" (every peer: only behind a proxy that is the sole
  // way in), an IPv4 or IPv6 address, or a CIDR block ("10.0.0.0/8", "fd00::/8").
  // INVALID_ARGUMENT naming the first entry that is none of these.
  static absl::StatusOr<TrustedPeers> Parse(const std::set<std::string>& entries);

  // Trusts is true when `ip` (an address as text; IPv4-mapped IPv6 counts as IPv4) is trusted.
  bool Trusts(absl::string_view ip) const;

  // ClientIp is the address a call from `peer_ip` is counted under. From an untrusted peer:
  // `peer_ip`, whatever the request claims. From a trusted one: `client_ip` when not empty
  // (returned as given, for the domain to validate); else, of `forwarded_for` (the values of
  // every x-forwarded-for header, each a comma-separated list, oldest hop first), the
  // rightmost address that is not itself a trusted peer, or the leftmost when all are; else
  // `peer_ip`. An entry that is not an address ends the walk there: what lies left of it was
  // written by someone no trusted proxy vouches for.
  std::string ClientIp(absl::string_view peer_ip, absl::string_view client_ip,
                       const std::vector<std::string>& forwarded_for) const;

 private:
  struct Block {
    std::array<uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6
    int prefix_bits = 0;
  };
  bool everyone_ = false;
  std::vector<Block> blocks_;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_CLIENT_ADDRESS_H_
