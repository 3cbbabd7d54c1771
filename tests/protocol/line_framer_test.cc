#include "interpd/protocol/line_framer.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using interpd::protocol::LineFramer;

namespace {

// What the framer reported, flattened: a line's text, or "<oversized>".
std::vector<std::string> FeedAll(LineFramer& framer, const std::vector<std::string>& chunks) {
  std::vector<std::string> events;
  for (const auto& chunk : chunks) {
    framer.Feed(chunk, [&](const LineFramer::Frame& f) {
      events.push_back(f.oversized ? std::string("<oversized>") : std::string(f.line));
    });
  }
  return events;
}

}  // namespace

TEST_CASE("complete lines in one chunk are reported in order", "[framer]") {
  LineFramer framer(100);
  CHECK(FeedAll(framer, {"a\nbb\nccc\n"}) == std::vector<std::string>{"a", "bb", "ccc"});
  CHECK_FALSE(framer.partial_pending());
}

TEST_CASE("a stream split at every byte position yields the same lines", "[framer]") {
  const std::string stream = "{\"id\":1}\r\n\n[1,2]\n\r\n  x \nlast\n";
  const std::vector<std::string> expected = {"{\"id\":1}", "[1,2]", "  x ", "last"};
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    LineFramer framer(100);
    INFO("cut at " << cut);
    CHECK(FeedAll(framer, {stream.substr(0, cut), stream.substr(cut)}) == expected);
    CHECK_FALSE(framer.partial_pending());
  }
  // And fed one byte at a time.
  LineFramer framer(100);
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  CHECK(FeedAll(framer, bytes) == expected);
}

TEST_CASE("empty lines and bare CRLF lines are skipped, a trailing CR is stripped", "[framer]") {
  LineFramer framer(100);
  CHECK(FeedAll(framer, {"\n\r\n\n a\r\n\r\r\n"}) == std::vector<std::string>{" a", "\r"});
}

TEST_CASE("half a line stays pending until its newline arrives", "[framer]") {
  LineFramer framer(100);
  CHECK(FeedAll(framer, {"{\"jsonrpc\":"}).empty());
  CHECK(framer.partial_pending());
  CHECK(framer.buffered_bytes() == 11);
  CHECK(FeedAll(framer, {"\"2.0\"}\nnext"}) == std::vector<std::string>{"{\"jsonrpc\":\"2.0\"}"});
  CHECK(framer.partial_pending());  // "next" has no newline yet
}

TEST_CASE("a line of exactly the limit is accepted and one byte more is oversized", "[framer]") {
  LineFramer framer(5);
  CHECK(FeedAll(framer, {"12345\n123456\nok\n"}) == std::vector<std::string>{"12345", "<oversized>", "ok"});
}

TEST_CASE("an oversized line is reported once and skipped, and the next line is still parsed", "[framer]") {
  const size_t limit = 16;
  const std::string big(1000, 'x');
  const std::string stream = "before\n" + big + "\nafter\n";
  const std::vector<std::string> expected = {"before", "<oversized>", "after"};
  for (size_t chunk_size : {size_t{1}, size_t{3}, size_t{7}, size_t{16}, size_t{17}, size_t{64}, stream.size()}) {
    LineFramer framer(limit);
    std::vector<std::string> events;
    for (size_t pos = 0; pos < stream.size(); pos += chunk_size) {
      framer.Feed(std::string_view(stream).substr(pos, chunk_size), [&](const LineFramer::Frame& f) {
        events.push_back(f.oversized ? std::string("<oversized>") : std::string(f.line));
      });
      // Invariant 1: never more than the limit held, whatever the chunking.
      REQUIRE(framer.buffered_bytes() <= limit);
    }
    INFO("chunk size " << chunk_size);
    CHECK(events == expected);
    CHECK_FALSE(framer.skipping());
  }
}

TEST_CASE("an oversized line is reported before its newline arrives", "[framer]") {
  LineFramer framer(8);
  CHECK(FeedAll(framer, {"0123456789"}) == std::vector<std::string>{"<oversized>"});
  CHECK(framer.skipping());
  CHECK_FALSE(framer.partial_pending());  // already answered
  CHECK(framer.buffered_bytes() == 0);
  CHECK(FeedAll(framer, {"more bytes of it", "...\nnext\n"}) == std::vector<std::string>{"next"});
}

TEST_CASE("an oversized line whose newline is in the same chunk does not swallow the next line", "[framer]") {
  LineFramer framer(4);
  CHECK(FeedAll(framer, {"ab", "cdefgh\nij\n"}) == std::vector<std::string>{"<oversized>", "ij"});
  CHECK_FALSE(framer.skipping());
}

TEST_CASE("consecutive oversized lines are each reported once", "[framer]") {
  LineFramer framer(3);
  CHECK(FeedAll(framer, {"aaaaa\nbbbbbbb\nc\n"}) == std::vector<std::string>{"<oversized>", "<oversized>", "c"});
}
