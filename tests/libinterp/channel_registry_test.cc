#include "channel_registry.h"

#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using interpd::ChannelCore;
using interpd::ChannelRegistry;
using interpd::Status;
using interpd::Value;

TEST_CASE("GetOrCreate returns the same channel for the same name", "[registry]") {
  ChannelRegistry reg;
  std::shared_ptr<ChannelCore> a, b;
  REQUIRE(reg.GetOrCreate("jobs", 4, false, &a).ok());
  REQUIRE(reg.GetOrCreate("jobs", 4, false, &b).ok());
  CHECK(a == b);
  REQUIRE(a->Send(Value::Int(1)).ok());
  Value v;
  CHECK(b->TryRecv(&v).ok());
  CHECK(reg.size() == 1);
}

TEST_CASE("different names give different channels", "[registry]") {
  ChannelRegistry reg;
  std::shared_ptr<ChannelCore> a, b;
  REQUIRE(reg.GetOrCreate("a", 0, false, &a).ok());
  REQUIRE(reg.GetOrCreate("b", 0, false, &b).ok());
  CHECK(a != b);
  CHECK(a->id() != b->id());
}

TEST_CASE("the first creator's maxsize and pickle flag win", "[registry]") {
  ChannelRegistry reg;
  std::shared_ptr<ChannelCore> a, b;
  REQUIRE(reg.GetOrCreate("results", 2, true, &a).ok());
  REQUIRE(reg.GetOrCreate("results", 0, false, &b).ok());
  CHECK(b == a);
  CHECK(b->maxsize() == 2);
  CHECK(b->pickle());
}

TEST_CASE("invalid channel names are rejected", "[registry]") {
  ChannelRegistry reg;
  struct Row {
    const char* why;
    std::string name;
  } rows[] = {
      {"empty", ""},
      {"too long", std::string(ChannelRegistry::kMaxNameBytes + 1, 'x')},
      {"newline", "a\nb"},
      {"NUL", std::string("a\0b", 3)},
      {"DEL", "a\x7f"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.why);
    std::shared_ptr<ChannelCore> ch;
    CHECK(reg.GetOrCreate(row.name, 0, false, &ch).code() == Status::Code::kInvalidArgument);
    CHECK(ch == nullptr);
  }
  CHECK(reg.size() == 0);
  std::shared_ptr<ChannelCore> ok;
  CHECK(reg.GetOrCreate(std::string(ChannelRegistry::kMaxNameBytes, 'x'), 0, false, &ok).ok());
  CHECK(reg.GetOrCreate("caf\xc3\xa9 / jobs:1", 0, false, &ok).ok());
}

TEST_CASE("a closed named channel is replaced by a new one on the next GetOrCreate",
          "[registry]") {
  ChannelRegistry reg;
  std::shared_ptr<ChannelCore> old_ch, new_ch;
  REQUIRE(reg.GetOrCreate("events", 0, false, &old_ch).ok());
  old_ch->Close();
  CHECK(reg.Find("events") == old_ch);  // still registered until replaced
  REQUIRE(reg.GetOrCreate("events", 0, false, &new_ch).ok());
  CHECK(new_ch != old_ch);
  CHECK_FALSE(new_ch->closed());
  CHECK(old_ch->closed());  // holders of the old one see it closed
  CHECK(reg.Find("events") == new_ch);
}

TEST_CASE("Remove drops only the channel it names", "[registry]") {
  ChannelRegistry reg;
  std::shared_ptr<ChannelCore> first, second;
  REQUIRE(reg.GetOrCreate("q", 0, false, &first).ok());
  first->Close();
  REQUIRE(reg.GetOrCreate("q", 0, false, &second).ok());
  // A late Remove for the old channel must not drop the new one.
  CHECK_FALSE(reg.Remove("q", first.get()));
  CHECK(reg.Find("q") == second);
  CHECK(reg.Remove("q", second.get()));
  CHECK(reg.Find("q") == nullptr);
  CHECK_FALSE(reg.Remove("q", second.get()));
  CHECK(reg.size() == 0);
}

TEST_CASE("Find returns null for names never created", "[registry]") {
  ChannelRegistry reg;
  CHECK(reg.Find("nope") == nullptr);
}

TEST_CASE("Clear forgets every name but the channels live on", "[registry]") {
  ChannelRegistry reg;
  std::shared_ptr<ChannelCore> a;
  REQUIRE(reg.GetOrCreate("a", 0, false, &a).ok());
  REQUIRE(a->Send(Value::Int(5)).ok());
  reg.Clear();
  CHECK(reg.size() == 0);
  CHECK(reg.Find("a") == nullptr);
  Value v;
  CHECK(a->TryRecv(&v).ok());
}

TEST_CASE("concurrent GetOrCreate from many threads rendezvous on one channel", "[registry]") {
  ChannelRegistry reg;
  constexpr int kThreads = 6;
  std::vector<std::shared_ptr<ChannelCore>> got(kThreads);
  std::vector<int> ok(kThreads, 0);  // not vector<bool>: its elements share bytes
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 100; ++round) {
        std::shared_ptr<ChannelCore> ch;
        ok[static_cast<size_t>(i)] = reg.GetOrCreate("rendezvous", 0, false, &ch).ok() ? 1 : 0;
        got[static_cast<size_t>(i)] = ch;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<ChannelCore*> distinct;
  for (int i = 0; i < kThreads; ++i) {
    CHECK(ok[static_cast<size_t>(i)]);
    distinct.insert(got[static_cast<size_t>(i)].get());
  }
  CHECK(distinct.size() == 1);
}

TEST_CASE("Global is one process-wide registry", "[registry]") {
  ChannelRegistry& a = ChannelRegistry::Global();
  ChannelRegistry& b = ChannelRegistry::Global();
  CHECK(&a == &b);
  std::shared_ptr<ChannelCore> x, y;
  REQUIRE(a.GetOrCreate("registry-test-global", 0, false, &x).ok());
  REQUIRE(b.GetOrCreate("registry-test-global", 0, false, &y).ok());
  CHECK(x == y);
  CHECK(a.Remove("registry-test-global", x.get()));
}
