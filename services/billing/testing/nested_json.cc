#include "services/billing/testing/nested_json.h"

namespace suite::billing::testing {

std::string Nest(const std::string& open, const std::string& close, int levels) {
  std::string out;
  out.reserve((open.size() + close.size()) * levels + 1);
  for (int i = 0; i < levels; ++i) out += open;
  out += "1";
  for (int i = 0; i < levels; ++i) out += close;
  return out;
}

std::string Mixed(int levels) {
  std::string out;
  for (int i = 0; i < levels; ++i) out += i % 2 ? "[" : R"({"a":)";
  out += "1";
  for (int i = levels - 1; i >= 0; --i) out += i % 2 ? "]" : "}";
  return out;
}

}  // namespace suite::billing::testing
