// libFuzzer target: page-token decoding (shared/rpc/page_token, used by every List RPC of the
// three services). Input: scope, a NUL byte, then the token. No crash on any token; a token
// the fuzzer made up is never accepted (it cannot know the secret); a token the codec made
// round-trips, and any one-byte edit of it is refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "shared/api/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const suite::api::PageTokenCodec codec("fuzz-secret");
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string scope = input.substr(0, nul);
  std::string rest = nul == std::string::npos ? "" : input.substr(nul + 1);

  if (codec.Decode(scope, rest).ok()) std::abort();  // forged

  // Round trip with fuzzed contents, then tamper.
  suite::api::PageCursor cursor{rest.substr(0, rest.size() / 2), rest.substr(rest.size() / 2)};
  std::string token = codec.Encode(scope, cursor);
  auto back = codec.Decode(scope, token);
  if (token.size() <= suite::api::kMaxPageTokenLength) {
    if (!back.ok() || !(*back == cursor)) std::abort();
  }
  if (!token.empty()) {
    std::string edited = token;
    size_t pos = size % token.size();
    edited[pos] = static_cast<char>(edited[pos] ^ (1 + size % 63));
    auto tampered = codec.Decode(scope, edited);
    // An edit may only be accepted if it decodes to the very same cursor (e.g. an unused
    // bit of the last base64 character); a different cursor means the MAC was bypassed.
    if (tampered.ok() && !(*tampered == cursor)) std::abort();
  }
  return 0;
}
