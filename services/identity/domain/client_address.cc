#include "services/identity/domain/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"

namespace suite::identity {
namespace {

// ParseAddress reads an IPv4 or IPv6 address into its IPv6 form (IPv4 as ::ffff:a.b.c.d), so
// one comparison serves both families and a mapped address matches its IPv4 block.
absl::optional<std::array<uint8_t, 16>> ParseAddress(absl::string_view text) {
  const std::string s(absl::StripAsciiWhitespace(text));
  std::array<uint8_t, 16> out{};
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return absl::nullopt;
}

bool IsMappedIpv4(const std::array<uint8_t, 16>& a) {
  for (int i = 0; i < 10; ++i) {
    if (a[i] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

}  // namespace

absl::StatusOr<TrustedPeers> TrustedPeers::Parse(const std::set<std::string>& entries) {
  TrustedPeers peers;
  for (const std::string& raw : entries) {
    const absl::string_view entry = absl::StripAsciiWhitespace(raw);
    if (entry == "*") {
      peers.everyone_ = true;
      continue;
    }
    const std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits('/', 1));
    absl::optional<std::array<uint8_t, 16>> address = ParseAddress(parts[0]);
    if (!address) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\" is not *, an IP address or a CIDR block"));
    }
    Block block{*address, 128};
    if (parts.size() == 2) {
      const int family_bits = IsMappedIpv4(*address) && parts[0].find(':') ==
                                                            absl::string_view::npos
                                  ? 32
                                  : 128;
      int bits = -1;
      if (!absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > family_bits) {
        return absl::InvalidArgumentError(absl::StrCat("\"", entry, "\": the prefix must be 0..",
                                                       family_bits));
      }
      block.prefix_bits = bits + (128 - family_bits);
    }
    peers.blocks_.push_back(block);
  }
  return peers;
}

bool TrustedPeers::Trusts(absl::string_view ip) const {
  if (everyone_) return true;
  absl::optional<std::array<uint8_t, 16>> address = ParseAddress(ip);
  if (!address) return false;
  for (const Block& block : blocks_) {
    int bits = block.prefix_bits;
    bool match = true;
    for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
      match = ((*address)[i] & mask) == (block.address[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedPeers::ClientIp(absl::string_view peer_ip, absl::string_view client_ip,
                                   const std::vector<std::string>& forwarded_for) const {
  if (!Trusts(peer_ip)) return std::string(peer_ip);
  if (!client_ip.empty()) return std::string(client_ip);
  std::vector<absl::string_view> hops;
  for (const std::string& header : forwarded_for) {
    for (absl::string_view hop : absl::StrSplit(header, ',')) {
      hops.push_back(absl::StripAsciiWhitespace(hop));
    }
  }
  std::string client(peer_ip);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    if (!ParseAddress(*hop)) break;
    client = std::string(*hop);
    if (!Trusts(*hop)) break;
  }
  return client;
}

}  // namespace suite::identity
