// Deeply nested JSON for tests of the webhook doors' nesting limits (domain/stripe_event.h's
// kMaxJsonDepth, the 1 MiB body limit): the same shapes in billing's own tests and in the
// cross-process ones of tests/reliability.
//
//   std::string arrays = Nest("[", "]", 100000);        // [[[...1...]]]
//   std::string unclosed = Nest(R"({"a":)", "", 1000);  // {"a":{"a":...1
//   std::string both = Mixed(100000);                   // {"a":[{"a":[...1...]}]}
#ifndef SUITE_SERVICES_BILLING_TESTING_NESTED_JSON_H_
#define SUITE_SERVICES_BILLING_TESTING_NESTED_JSON_H_

#include <string>

namespace suite::billing::testing {

// Nest returns `levels` times `open`, then the value 1, then `levels` times `close`.
std::string Nest(const std::string& open, const std::string& close, int levels);

// Mixed returns `levels` levels alternating an object ({"a":) and an array, closed.
std::string Mixed(int levels);

}  // namespace suite::billing::testing

#endif  // SUITE_SERVICES_BILLING_TESTING_NESTED_JSON_H_
