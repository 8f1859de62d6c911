#include "shared/db/migrate/parser.h"

#include <cctype>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/base/sha256.h"

namespace suite::db::migrate {
namespace {

absl::Status Error(absl::string_view path, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Characters that may continue an unquoted identifier; PostgreSQL allows '$' inside one
// (so `a$b$` is no dollar quote) and any non-ASCII byte.
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}

bool IsTagStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}

bool IsTagChar(char c) { return IsTagStart(c) || IsDigit(c); }

int CountNewlines(absl::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n' ? 1 : 0;
  return n;
}

bool ValidTimestamp(absl::string_view digits) {
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (digits[i] - '0');
    return v;
  };
  const int year = num(0, 4), month = num(4, 2), day = num(6, 2);
  const int hour = num(8, 2), minute = num(10, 2), second = num(12, 2);
  return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 &&
         minute <= 59 && second <= 59;
}

}  // namespace

bool IsValidOwner(absl::string_view owner) {
  if (owner.empty() || !IsLower(owner[0])) return false;
  for (char c : owner) {
    if (!IsLower(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

absl::StatusOr<MigrationName> ParseFileName(absl::string_view path, absl::string_view file_name) {
  const std::string expected =
      "expected YYYYMMDDHHMMSS_verb_description.sql, e.g. 20240101120000_create_user_schema.sql";
  if (!absl::EndsWith(file_name, ".sql")) {
    return Error(path, 1, absl::StrCat("bad migration file name: ", expected));
  }
  absl::string_view stem = file_name.substr(0, file_name.size() - 4);
  if (stem.size() < 15 || stem[14] != '_') {
    return Error(path, 1, absl::StrCat("bad migration file name: ", expected));
  }
  absl::string_view digits = stem.substr(0, 14);
  for (char c : digits) {
    if (!IsDigit(c)) {
      return Error(path, 1,
                   absl::StrCat("bad migration file name: the version must be 14 digits; ",
                                expected));
    }
  }
  if (!ValidTimestamp(digits)) {
    return Error(path, 1,
                 absl::StrCat("bad migration file name: '", digits,
                              "' is not a valid UTC date and time YYYYMMDDHHMMSS"));
  }
  absl::string_view rest = stem.substr(15);
  std::vector<absl::string_view> words = absl::StrSplit(rest, '_');
  if (words.size() < 2) {
    return Error(path, 1,
                 absl::StrCat("bad migration file name: needs a verb and a description after "
                              "the version; ",
                              expected));
  }
  for (size_t i = 0; i < words.size(); ++i) {
    absl::string_view w = words[i];
    bool ok = !w.empty() && IsLower(w[0]);
    for (char c : w) ok = ok && (IsLower(c) || (i > 0 && IsDigit(c)));
    if (!ok) {
      return Error(path, 1,
                   absl::StrCat("bad migration file name: ",
                                i == 0 ? "the verb must be lowercase letters"
                                       : "description words must be lowercase letters and "
                                         "digits, joined by single underscores",
                                "; ", expected));
    }
  }
  MigrationName out;
  if (!absl::SimpleAtoi(digits, &out.version)) {
    return Error(path, 1, "bad migration file name: version out of range");
  }
  out.name = std::string(rest);
  return out;
}

absl::StatusOr<std::vector<Statement>> SplitStatements(absl::string_view path,
                                                       absl::string_view sql, int first_line) {
  std::vector<Statement> out;
  const size_t n = sql.size();
  constexpr size_t kNone = absl::string_view::npos;
  size_t start = kNone;  // index of the current statement's first significant character
  int start_line = 0;
  int line = first_line;
  auto emit = [&](size_t end) {
    std::string text(absl::StripTrailingAsciiWhitespace(sql.substr(start, end - start)));
    if (!text.empty()) out.push_back(Statement{std::move(text), start_line});
    start = kNone;
  };

  size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      // PostgreSQL block comments nest.
      const int open_line = line;
      int depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] == '\n') ++line;
        if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
      if (depth > 0) return Error(path, open_line, "unterminated /* comment");
      continue;
    }
    // A significant character: it belongs to a statement.
    if (start == kNone) {
      start = i;
      start_line = line;
    }
    if (c == ';') {
      emit(i);
      ++i;
      continue;
    }
    if (c == '\'' || c == '"') {
      // E'...' strings treat backslash as an escape; standard strings and identifiers do not.
      const bool backslash = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                             !(i > 1 && IsIdentChar(sql[i - 2]));
      const int open_line = line;
      ++i;
      bool closed = false;
      while (i < n) {
        const char d = sql[i];
        if (d == '\n') ++line;
        if (backslash && d == '\\' && i + 1 < n) {
          if (sql[i + 1] == '\n') ++line;
          i += 2;
          continue;
        }
        if (d == c) {
          if (i + 1 < n && sql[i + 1] == c) {  // doubled quote: an escaped quote
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        ++i;
      }
      if (!closed) {
        return Error(path, open_line,
                     c == '\'' ? "unterminated string literal" : "unterminated quoted identifier");
      }
      continue;
    }
    if (c == '$' && !(i > 0 && IsIdentChar(sql[i - 1]))) {
      size_t j = i + 1;
      if (j < n && IsTagStart(sql[j])) {
        while (j < n && IsTagChar(sql[j])) ++j;
      }
      if (j < n && sql[j] == '$') {  // $$ or $tag$: a dollar-quoted body
        const absl::string_view tag = sql.substr(i, j - i + 1);
        const size_t close = sql.find(tag, j + 1);
        if (close == kNone) {
          return Error(path, line, absl::StrCat("unterminated dollar-quoted body ", tag));
        }
        line += CountNewlines(sql.substr(i, close - i));
        i = close + tag.size();
        continue;
      }
      ++i;  // a parameter like $1 or a lone '$'
      continue;
    }
    ++i;
  }
  if (start != kNone) emit(n);
  return out;
}

absl::StatusOr<MigrationFile> ParseMigration(absl::string_view path, absl::string_view owner,
                                             absl::string_view file_name,
                                             absl::string_view contents) {
  if (!IsValidOwner(owner)) {
    return Error(path, 1,
                 absl::StrCat("bad owner directory '", owner,
                              "': use a lowercase letter, then lowercase letters, digits or _"));
  }
  absl::StatusOr<MigrationName> name = ParseFileName(path, file_name);
  if (!name.ok()) return name.status();

  enum class Section { kNone, kUp, kDown };
  Section section = Section::kNone;
  std::string up_text, down_text;
  int up_marker = 0, down_marker = 0, notx_marker = 0;

  const std::vector<absl::string_view> lines = absl::StrSplit(contents, '\n');
  for (size_t idx = 0; idx < lines.size(); ++idx) {
    const int line_no = static_cast<int>(idx) + 1;
    absl::string_view raw = lines[idx];
    if (absl::EndsWith(raw, "\r")) raw.remove_suffix(1);
    const absl::string_view trimmed = absl::StripAsciiWhitespace(raw);
    std::string* target = section == Section::kUp     ? &up_text
                          : section == Section::kDown ? &down_text
                                                      : nullptr;
    if (absl::StartsWith(trimmed, "--")) {
      const absl::string_view rest = absl::StripLeadingAsciiWhitespace(trimmed.substr(2));
      if (absl::StartsWith(rest, "+migrate")) {
        const absl::string_view marker = absl::StripAsciiWhitespace(rest.substr(8));
        if (marker == "Up") {
          if (up_marker != 0) {
            return Error(path, line_no,
                         absl::StrCat("a second '-- +migrate Up' marker (the first is on line ",
                                      up_marker, ")"));
          }
          if (down_marker != 0) {
            return Error(path, line_no, "'-- +migrate Up' must come before '-- +migrate Down'");
          }
          up_marker = line_no;
          section = Section::kUp;
        } else if (marker == "Down") {
          if (down_marker != 0) {
            return Error(path, line_no,
                         absl::StrCat("a second '-- +migrate Down' marker (the first is on line ",
                                      down_marker, ")"));
          }
          if (up_marker == 0) {
            return Error(path, line_no, "'-- +migrate Down' before any '-- +migrate Up'");
          }
          down_marker = line_no;
          section = Section::kDown;
        } else if (marker == "NoTransaction") {
          if (notx_marker != 0) {
            return Error(path, line_no, "a second '-- +migrate NoTransaction' marker");
          }
          notx_marker = line_no;
        } else {
          return Error(path, line_no,
                       absl::StrCat("unknown marker '-- +migrate ", marker,
                                    "' (known: Up, Down, NoTransaction)"));
        }
        // Keep line numbers of the section text aligned with the file.
        if (target != nullptr) target->push_back('\n');
        continue;
      }
    }
    if (target == nullptr) {
      if (!trimmed.empty() && !absl::StartsWith(trimmed, "--")) {
        return Error(path, line_no,
                     "text before the first '-- +migrate Up' marker (only comments may "
                     "precede it)");
      }
      continue;
    }
    absl::StrAppend(target, raw, "\n");
  }
  if (up_marker == 0) return Error(path, 1, "no '-- +migrate Up' section");
  if (down_marker == 0) {
    const int last_line = static_cast<int>(lines.size()) -
                          (absl::EndsWith(contents, "\n") && lines.size() > 1 ? 1 : 0);
    return Error(path, last_line,
                 "no '-- +migrate Down' section (it may be empty, but must be there)");
  }

  MigrationFile file;
  file.owner = std::string(owner);
  file.version = name->version;
  file.name = std::move(name->name);
  file.file_name = std::string(file_name);
  file.path = std::string(path);
  file.checksum = Sha256Hex(contents);
  file.transactional = notx_marker == 0;
  absl::StatusOr<std::vector<Statement>> up = SplitStatements(path, up_text, up_marker + 1);
  if (!up.ok()) return up.status();
  if (up->empty()) return Error(path, up_marker, "the Up section has no statements");
  absl::StatusOr<std::vector<Statement>> down = SplitStatements(path, down_text, down_marker + 1);
  if (!down.ok()) return down.status();
  file.up = *std::move(up);
  file.down = *std::move(down);
  return file;
}

}  // namespace suite::db::migrate
