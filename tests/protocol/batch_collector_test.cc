#include "interpd/protocol/batch_collector.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "response_lines.h"

using interpd::protocol::BatchCollector;
using interpd::protocol::testing::ParseLine;

namespace {
std::string Response(int id) { return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"result\":null}\n"; }
}  // namespace

TEST_CASE("a batch of one becomes a one-element array", "[batch]") {
  BatchCollector c(1);
  auto line = c.Add(Response(1));
  REQUIRE(line.has_value());
  CHECK(*line == "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}]\n");
}

TEST_CASE("the array line comes only with the last response, in arrival order", "[batch]") {
  BatchCollector c(3);
  CHECK_FALSE(c.Add(Response(3)).has_value());
  CHECK_FALSE(c.Add(Response(1)).has_value());
  CHECK(c.received() == 2);
  auto line = c.Add(Response(2));
  REQUIRE(line.has_value());
  auto array = ParseLine(*line);
  REQUIRE(array.size() == 3);
  CHECK(array[0]["id"] == 3);
  CHECK(array[1]["id"] == 1);
  CHECK(array[2]["id"] == 2);
  CHECK(c.received() == 3);
}

TEST_CASE("responses added from many threads yield exactly one complete array", "[batch]") {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  BatchCollector c(kThreads * kPerThread);
  std::atomic<int> finals{0};
  std::string result;  // written by the one thread that gets the line
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int k = 0; k < kPerThread; ++k) {
        if (rng() % 4 == 0) std::this_thread::yield();
        if (auto line = c.Add(Response(t * kPerThread + k))) {
          finals.fetch_add(1);
          result = std::move(*line);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(finals.load() == 1);
  auto array = ParseLine(result);
  REQUIRE(array.size() == kThreads * kPerThread);
  std::set<int> ids;
  for (const auto& r : array) ids.insert(r["id"].get<int>());
  CHECK(ids.size() == kThreads * kPerThread);
  CHECK(*ids.begin() == 0);
  CHECK(*ids.rbegin() == kThreads * kPerThread - 1);
}
