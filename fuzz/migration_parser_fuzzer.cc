// libFuzzer target: the migration-file parser (shared/db/migrate/parser). Input: file name,
// a NUL byte, then the file's contents. No crash on any input; every statement of a parsed
// file is non-empty text found in the contents.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "shared/base/sha256.h"
#include "shared/db/migrate/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string name = input.substr(0, nul);
  std::string contents = nul == std::string::npos ? input : input.substr(nul + 1);

  (void)suite::db::migrate::ParseFileName("fuzz/" + name, name);
  (void)suite::db::migrate::IsValidOwner(name);
  (void)suite::db::migrate::SplitStatements("fuzz.sql", contents);
  // With a valid name, the contents alone decide.
  auto file = suite::db::migrate::ParseMigration(
      "fuzz/core/20240101000000_create_fuzz.sql", "core", "20240101000000_create_fuzz.sql",
      contents);
  if (file.ok() && file->checksum != suite::Sha256Hex(contents)) std::abort();
  return 0;
}
