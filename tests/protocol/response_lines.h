// Test helpers: read response lines back with nlohmann's DOM parser (fine
// here: the inputs are our own small outputs, never untrusted or deep).
#ifndef INTERPD_TESTS_PROTOCOL_RESPONSE_LINES_H_
#define INTERPD_TESTS_PROTOCOL_RESPONSE_LINES_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace interpd::protocol::testing {

// One NDJSON line -> JSON, checking the framing: exactly one '\n', at the end.
inline nlohmann::json ParseLine(const std::string& line) {
  INFO("line: " << line);
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(std::count(line.begin(), line.end(), '\n') == 1);
  return nlohmann::json::parse(line);
}

// A response with its error message replaced by "<message>" (after checking
// it is a non-empty string), so tests can compare against the spec's shapes
// while our messages stay free to be more specific than the spec's.
inline nlohmann::json Shape(nlohmann::json response) {
  if (response.is_array()) {
    for (auto& r : response) r = Shape(r);
    return response;
  }
  if (response.contains("error")) {
    auto& message = response["error"]["message"];
    CHECK(message.is_string());
    CHECK(!message.get<std::string>().empty());
    message = "<message>";
  }
  return response;
}

// Batch responses may come in any order (spec section 6): compare as sorted.
inline nlohmann::json Sorted(nlohmann::json array) {
  REQUIRE(array.is_array());
  std::vector<nlohmann::json> items(array.begin(), array.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.dump() < b.dump(); });
  return nlohmann::json(items);
}

}  // namespace interpd::protocol::testing

#endif  // INTERPD_TESTS_PROTOCOL_RESPONSE_LINES_H_
