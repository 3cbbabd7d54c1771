// Tests for ConfigKeys: the key table itself and the value syntaxes (sizes,
// modes, seconds, strings) and "did you mean" matching it relies on.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include <toml++/toml.h>

#include "daemon/config_keys.h"

namespace interpd::daemon {
namespace {

TEST_CASE("The key table is unique, grouped by section, in file order", "[config_keys]") {
  std::set<std::string> seen;
  auto sections = ConfigKeys::Sections();
  std::size_t section_index = 0;
  for (const ConfigKey& key : ConfigKeys::All()) {
    INFO(key.Dotted());
    CHECK(seen.insert(key.Dotted()).second);
    // Sections never go backwards: the printer relies on it to write each
    // [section] header once.
    while (section_index < sections.size() && sections[section_index] != key.section) ++section_index;
    REQUIRE(section_index < sections.size());
    CHECK(ConfigKeys::Find(key.section, key.name) == &key);
    CHECK(ConfigKeys::FindDotted(key.Dotted()) == &key);
    CHECK(key.set);
    CHECK(key.render);
    CHECK(key.copy);
  }
  CHECK(ConfigKeys::Find("workers", "nope") == nullptr);
  CHECK(ConfigKeys::FindDotted("workers") == nullptr);
  for (std::string_view reserved : ConfigKeys::ReservedSections()) {
    CHECK(std::find(sections.begin(), sections.end(), reserved) == sections.end());
  }
}

TEST_CASE("A key that refuses a value leaves the Config unchanged", "[config_keys]") {
  // One value of each shape; the list has a valid entry before a bad one,
  // so a setter that stored entries as it went would be caught.
  const toml::table values = toml::parse(R"(
    junk = "not-anything-valid-\u0001/"
    list = ["/ok", 1.5]
    negative = -1
    table = { a = 1 }
  )");
  for (const ConfigKey& key : ConfigKeys::All()) {
    for (auto&& [name, value] : values) {
      INFO(key.Dotted() << " = " << ConfigKeys::Literal(value));
      Config c;
      if (key.set(value, c).has_value()) CHECK(c == Config{});
    }
  }
}

TEST_CASE("Sizes parse from bytes and binary units, and nothing else", "[config_keys]") {
  struct Case {
    const char* text;
    std::optional<std::uint64_t> bytes;
  };
  const Case cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"1B", 1},
      {"512KiB", 512 * 1024},
      {"64MiB", 64ull << 20},
      {"64 MiB", 64ull << 20},
      {"1GiB", 1ull << 30},
      {"2TiB", 2ull << 40},
      {"", std::nullopt},
      {"MiB", std::nullopt},
      {"64MB", std::nullopt},
      {"64mib", std::nullopt},
      {"64K", std::nullopt},
      {"1.5MiB", std::nullopt},
      {"-1KiB", std::nullopt},
      {"+1KiB", std::nullopt},
      {" 1KiB", std::nullopt},
      {"1KiB ", std::nullopt},
      {"64  MiB", std::nullopt},
      {"64 ", std::nullopt},
      {"0x10", std::nullopt},
      {"18446744073709551615", 18446744073709551615ull},
      {"18446744073709551616", std::nullopt},  // overflows the number
      {"16777216TiB", std::nullopt},           // overflows the product
  };
  for (const Case& c : cases) {
    INFO('"' << c.text << '"');
    CHECK(ConfigKeys::ParseSize(c.text) == c.bytes);
  }
}

TEST_CASE("Sizes print in the largest exact unit and parse back", "[config_keys]") {
  const std::pair<std::uint64_t, const char*> cases[] = {
      {0, "0B"},        {1, "1B"},           {1000, "1000B"},  {1024, "1KiB"},      {1025, "1025B"},
      {1536, "1536B"},  {1u << 20, "1MiB"},  {3u << 29, "1536MiB"}, {1ull << 30, "1GiB"}, {5ull << 40, "5TiB"},
  };
  for (const auto& [bytes, text] : cases) {
    INFO(bytes);
    CHECK(ConfigKeys::FormatSize(bytes) == text);
    CHECK(ConfigKeys::ParseSize(text) == bytes);
  }
}

TEST_CASE("Modes are 3 or 4 octal digits of permission bits", "[config_keys]") {
  const std::pair<const char*, std::optional<std::uint32_t>> cases[] = {
      {"0660", 0660}, {"660", 0660}, {"0777", 0777}, {"000", 0},         {"0600", 0600},
      {"1777", std::nullopt},        {"4755", std::nullopt},            {"0680", std::nullopt},
      {"66", std::nullopt},          {"00660", std::nullopt},           {"", std::nullopt},
      {"0o660", std::nullopt},       {"rw-rw----", std::nullopt},
  };
  for (const auto& [text, mode] : cases) {
    INFO(text);
    CHECK(ConfigKeys::ParseMode(text) == mode);
  }
  CHECK(ConfigKeys::FormatMode(0660) == "0660");
  CHECK(ConfigKeys::FormatMode(07) == "0007");
}

TEST_CASE("Seconds print exactly, without a trailing fraction when whole", "[config_keys]") {
  using std::chrono::nanoseconds;
  const std::pair<nanoseconds, const char*> cases[] = {
      {nanoseconds(0), "0"},
      {std::chrono::seconds(30), "30"},
      {std::chrono::milliseconds(1500), "1.5"},
      {std::chrono::milliseconds(250), "0.25"},
      {nanoseconds(1), "0.000000001"},
      {nanoseconds(1'000'000'001), "1.000000001"},
      {std::chrono::seconds(2'592'000), "2592000"},
  };
  for (const auto& [d, text] : cases) {
    INFO(text);
    CHECK(ConfigKeys::FormatSeconds(d) == text);
  }
}

TEST_CASE("Quoted strings are valid TOML that reads back as the same bytes", "[config_keys]") {
  const std::string cases[] = {
      "",
      "plain",
      "with \"quotes\" and \\backslashes\\",
      "tab\tnewline\ncr\rformfeed\fbackspace\b",
      std::string("nul\0byte", 8),
      "\x01\x1f\x7f",
      "caf\xC3\xA9 \xE2\x82\xAC",
  };
  for (const std::string& text : cases) {
    INFO(ConfigKeys::Quote(text));
    const toml::table t = toml::parse("v = " + ConfigKeys::Quote(text));
    REQUIRE(t.get("v") != nullptr);
    REQUIRE(t.get("v")->as_string() != nullptr);
    CHECK(t.get("v")->as_string()->get() == text);
  }
}

TEST_CASE("Literals show values as they were written", "[config_keys]") {
  const toml::table t = toml::parse(R"(
    i = -3
    o = 0o660
    h = 0xff
    f = 2.5
    w = 3.0
    n = nan
    s = "a\"b"
    b = true
    a = [1, "x", [2.5]]
    d = 2024-05-01
    e = {}
    t = { k = 1 }
  )");
  const std::pair<const char*, const char*> cases[] = {
      {"i", "-3"},    {"o", "0o660"},    {"h", "0xff"}, {"f", "2.5"},
      {"w", "3.0"},   {"n", "nan"},      {"s", R"("a\"b")"}, {"b", "true"},
      {"a", R"([1, "x", [2.5]])"},       {"d", "2024-05-01"}, {"e", "{}"}, {"t", "{ k = 1 }"},
  };
  for (const auto& [name, literal] : cases) {
    INFO(name);
    CHECK(ConfigKeys::Literal(*t.get(name)) == literal);
  }
}

TEST_CASE("Did-you-mean suggests only near misses", "[config_keys]") {
  const std::string_view names[] = {"count", "queue_limit", "idle_spin_us", "interrupt_grace"};
  const std::pair<const char*, const char*> cases[] = {
      {"cuont", "count"},                       // two neighbours swapped: one edit
      {"counts", "count"},
      {"Count", "count"},                       // case differs only
      {"queue_limt", "queue_limit"},
      {"interupt_grace", "interrupt_grace"},
      {"idle_spin", "idle_spin_us"},            // 3 edits for 9 letters: still close
      {"interrupt", "interrupt_grace"},         // cut short
      {"queue_limits_max", "queue_limit"},      // run on
      {"spin", nullptr},                        // 8 edits, and not a prefix
      {"co", nullptr},                          // a prefix, but too short to mean much
      {"threads", nullptr},
      {"c", nullptr},
  };
  for (const auto& [word, expected] : cases) {
    INFO(word);
    const auto got = ConfigKeys::ClosestMatch(word, names);
    if (expected == nullptr) {
      CHECK_FALSE(got.has_value());
    } else {
      REQUIRE(got.has_value());
      CHECK(*got == expected);
    }
  }
}

}  // namespace
}  // namespace interpd::daemon
