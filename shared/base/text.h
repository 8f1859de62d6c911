// The one rule for caller-written text that every service's validation applies before a
// string is stored, so that what a call accepts is stored and returned byte for byte.
//
// Why it exists: PostgreSQL `text` (and jsonb) cannot hold U+0000, and libpq passes text
// parameters as C strings, so a NUL cuts the value short silently (or fails the statement
// inside jsonb). Refusing it at validation, with the field named, is the only place the
// caller can be told. The other refusals are choices, one per kind of field:
//
//   kLine  (identifiers, keys, names, labels, e-mail addresses, user agents): every control
//          character is refused — C0 (U+0000..U+001F, tab and line breaks included), DEL
//          (U+007F) and C1 (U+0080..U+009F). A one-line value has no use for them, and they
//          are what log injection, terminal escapes (ESC, CSI U+009B) and look-alike keys are
//          made of.
//   kProse (question stems, explanations, choice texts, ledger metadata values): tab, line
//          feed and carriage return are legitimate in multi-line text and kept verbatim;
//          every other C0 control, DEL and C1 control is refused for the reasons above.
//
// Everything else that is valid UTF-8 is accepted and stored verbatim, in both kinds:
// characters of every plane, private use, combining marks, right-to-left text and bidi
// controls (U+200E/F, U+202A..U+202E, U+2066..U+2069), zero-width joiners and the BOM.
// These are format characters, not controls: scripts and emoji sequences need them, and
// rendering them safely is the display's job. Leading and trailing white space is kept too
// (nothing is trimmed behind the caller's back).
//
// Lengths are counted in characters, meaning Unicode code points (what PostgreSQL's
// char_length counts in a UTF-8 database), never bytes; proto comments that say
// "N characters" mean this.
//
//   if (auto problem = suite::TextProblem(request.stem(), suite::TextKind::kProse, 4000,
//                                         /*required=*/true)) {
//     return suite::api::InvalidArgument("stem", *problem);
//   }
//
// Thread-safe: pure functions. Depends on Abseil only.
#ifndef SUITE_SHARED_BASE_TEXT_H_
#define SUITE_SHARED_BASE_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace suite {

enum class TextKind {
  kLine,   // one line: no control character at all
  kProse,  // multi-line: \t \n \r allowed, no other control character
};

// TextProblem returns what is wrong with `value` as text of `kind` holding at most
// `max_chars` characters, or nullopt when it is acceptable. With `required`, a value that is
// empty or only white space (Unicode White_Space) is refused. The description is ready for a
// field violation, e.g. "must not contain U+0000 at byte 3", "must not contain the control
// character U+001B at byte 0", "must be at most 200 characters (has 201)".
absl::optional<std::string> TextProblem(absl::string_view value, TextKind kind, size_t max_chars,
                                        bool required = false);

// Utf8Problem returns what is wrong with `value` as UTF-8 ("is not valid UTF-8 at byte 4"),
// or nullopt when it is valid (surrogates and overlong forms are invalid).
absl::optional<std::string> Utf8Problem(absl::string_view value);

// CharCount returns the number of code points of valid UTF-8 `value`.
size_t CharCount(absl::string_view value);

// IsBlank is true when `value` is empty or holds only Unicode White_Space characters.
bool IsBlank(absl::string_view value);

// DescribeByteAt names the character that starts at byte `at` of `value` for an error message:
// "U+00E9 at byte 4" (or "byte 0xFF at byte 4" when it is not valid UTF-8).
std::string DescribeByteAt(absl::string_view value, size_t at);

}  // namespace suite

#endif  // SUITE_SHARED_BASE_TEXT_H_
