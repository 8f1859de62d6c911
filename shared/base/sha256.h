// Sha256 and Sha256Hex: the suite's one SHA-256, for every digest it computes (a token's
// stored hash and cache key, a member's choice order, a page token's filter fingerprint, a
// ledger row's or a migration's checksum).
//
// OpenSSL's implementation (SHA-NI or AVX2 where the CPU has them), through a digest fetched
// once and a context kept per thread: OpenSSL 3's one-shot SHA256() looks the algorithm up by
// name and allocates a context on every call, which for a 56-byte input measured 340 ns here
// against 130 ns this way (libsodium's portable one: 390 ns). A member's GetQuestion hashes
// every choice, so this is on the hot path of the question bank.
#ifndef SUITE_SHARED_BASE_SHA256_H_
#define SUITE_SHARED_BASE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace suite {

// The 32 raw bytes of the SHA-256 of `data`. Thread-safe.
std::string Sha256(absl::string_view data);

// The same digest as 64 lowercase hex digits. Thread-safe.
std::string Sha256Hex(absl::string_view data);

}  // namespace suite

#endif  // SUITE_SHARED_BASE_SHA256_H_
