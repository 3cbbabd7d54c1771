#include "channel_core.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using interpd::ChannelCore;
using interpd::DeadlineAfter;
using interpd::Interrupt;
using interpd::kForever;
using interpd::Status;
using interpd::Value;
using interpd::ValueKind;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Code = Status::Code;

namespace {

// Generous bounds for a shared 2-core VM and ThreadSanitizer: they catch
// "never woke" and "slept an extra timeout", not jitter.
constexpr auto kPrompt = milliseconds(500);
constexpr auto kSlack = milliseconds(300);

// A Handle whose destruction is counted: carried in a Value, it tells how
// many times the runtime dropped the value.
class CountedHandle final : public interpd::Handle {
 public:
  CountedHandle(uint64_t id, std::atomic<int>* drops) : id_(id), drops_(drops) {}
  ~CountedHandle() override { drops_->fetch_add(1); }
  std::string Describe() const override { return "<Counted " + std::to_string(id_) + ">"; }
  uint64_t Identity() const override { return id_; }

 private:
  uint64_t id_;
  std::atomic<int>* drops_;
};

Value Counted(uint64_t id, std::atomic<int>* drops) {
  return Value::FromHandle(ValueKind::kActor, std::make_shared<CountedHandle>(id, drops));
}

// Starts `fn` on a thread and waits until it is (very probably) blocked.
template <typename Fn>
std::thread StartBlocked(Fn fn, std::atomic<bool>* started) {
  std::thread t(std::move(fn));
  while (!started->load()) std::this_thread::yield();
  std::this_thread::sleep_for(milliseconds(30));  // past any spin, into the futex
  return t;
}

// Both spin settings, so the spin phase and the park phase are each tested.
const std::vector<std::chrono::nanoseconds> kSpins = {std::chrono::nanoseconds(0),
                                                      ChannelCore::kDefaultSpin};

}  // namespace

TEST_CASE("channels get unique ids and describe themselves as <Channel id>", "[channel]") {
  auto a = ChannelCore::Create(0, false);
  auto b = ChannelCore::Create(3, true);
  CHECK(a->id() != b->id());
  CHECK(a->Identity() == a->id());
  CHECK(a->Describe() == "<Channel " + std::to_string(a->id()) + ">");
  CHECK(a->maxsize() == 0);
  CHECK(b->maxsize() == 3);
  CHECK_FALSE(a->pickle());
  CHECK(b->pickle());
  CHECK_FALSE(a->closed());
}

TEST_CASE("values from one producer come out in the order they were sent", "[channel]") {
  auto ch = ChannelCore::Create(0, false);
  for (int64_t i = 0; i < 1000; ++i) REQUIRE(ch->Send(Value::Int(i)).ok());
  CHECK(ch->size() == 1000);
  for (int64_t i = 0; i < 1000; ++i) {
    Value v;
    REQUIRE(ch->Recv(&v).ok());
    REQUIRE(v.as_int() == i);
  }
  CHECK(ch->size() == 0);
}

TEST_CASE("values from one producer thread stay in order for a consumer thread", "[channel]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(8, false, spin);
    constexpr int64_t kCount = 5000;
    std::thread producer([&] {
      for (int64_t i = 0; i < kCount; ++i) (void)ch->Send(Value::Int(i));
    });
    std::vector<int64_t> got;
    for (int64_t i = 0; i < kCount; ++i) {
      Value v;
      if (!ch->Recv(&v, DeadlineAfter(std::chrono::seconds(10))).ok()) break;
      got.push_back(v.as_int());
    }
    producer.join();
    REQUIRE(got.size() == static_cast<size_t>(kCount));
    CHECK(std::is_sorted(got.begin(), got.end()));
  }
}

TEST_CASE("a full channel makes TrySend fail and Send block until a receiver takes one",
          "[channel]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(2, false, spin);
    REQUIRE(ch->TrySend(Value::Int(1)).ok());
    REQUIRE(ch->Send(Value::Int(2)).ok());
    CHECK(ch->TrySend(Value::Int(3)).code() == Code::kOverloaded);
    CHECK(ch->size() == 2);

    std::atomic<bool> started{false};
    std::atomic<bool> sent{false};
    Status send_status;
    std::thread sender = StartBlocked(
        [&] {
          started.store(true);
          send_status = ch->Send(Value::Int(3), DeadlineAfter(std::chrono::seconds(10)));
          sent.store(true);
        },
        &started);
    CHECK_FALSE(sent.load());  // still blocked: the channel is full
    Value v;
    REQUIRE(ch->TryRecv(&v).ok());
    CHECK(v.as_int() == 1);
    auto t0 = Clock::now();
    sender.join();
    CHECK(Clock::now() - t0 < kPrompt);
    CHECK(send_status.ok());
    // 3 was sent after 2 but by another thread: no order between them
    // (channel_core.h, "Ordering"), only both must come out.
    std::set<int64_t> rest;
    for (int i = 0; i < 2; ++i) {
      Value w;
      REQUIRE(ch->TryRecv(&w).ok());
      rest.insert(w.as_int());
    }
    CHECK(rest == std::set<int64_t>{2, 3});
  }
}

TEST_CASE("a blocked receiver wakes promptly when a value is sent", "[channel]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(0, false, spin);
    std::atomic<bool> started{false};
    Status status;
    Value got;
    std::thread receiver = StartBlocked(
        [&] {
          started.store(true);
          status = ch->Recv(&got, DeadlineAfter(std::chrono::seconds(10)));
        },
        &started);
    auto t0 = Clock::now();
    REQUIRE(ch->Send(Value::Str("hello")).ok());
    receiver.join();
    CHECK(Clock::now() - t0 < kPrompt);
    REQUIRE(status.ok());
    CHECK(got.str() == "hello");
  }
}

TEST_CASE("TryRecv on an empty channel reports kNotFound", "[channel]") {
  auto ch = ChannelCore::Create(0, false);
  Value v;
  CHECK(ch->TryRecv(&v).code() == Code::kNotFound);
  CHECK(v.is_none());
}

TEST_CASE("Send and Recv honor their timeouts", "[channel]") {
  struct Row {
    const char* what;
    milliseconds timeout;
  } rows[] = {{"short", milliseconds(5)}, {"medium", milliseconds(60)}};
  for (auto spin : kSpins) {
    for (const Row& row : rows) {
      CAPTURE(row.what, spin.count());
      auto empty = ChannelCore::Create(0, false, spin);
      Value v;
      auto t0 = Clock::now();
      CHECK(empty->Recv(&v, t0 + row.timeout).code() == Code::kTimeout);
      auto elapsed = Clock::now() - t0;
      CHECK(elapsed >= row.timeout);
      CHECK(elapsed < row.timeout + kSlack);

      auto full = ChannelCore::Create(1, false, spin);
      REQUIRE(full->Send(Value::Int(0)).ok());
      t0 = Clock::now();
      CHECK(full->Send(Value::Int(1), t0 + row.timeout).code() == Code::kTimeout);
      elapsed = Clock::now() - t0;
      CHECK(elapsed >= row.timeout);
      CHECK(elapsed < row.timeout + kSlack);
      CHECK(full->size() == 1);  // the timed-out value was not added
    }
  }
}

TEST_CASE("a deadline in the past fails at once instead of blocking", "[channel]") {
  auto ch = ChannelCore::Create(1, false);
  Value v;
  auto t0 = Clock::now();
  CHECK(ch->Recv(&v, t0 - milliseconds(1)).code() == Code::kTimeout);
  REQUIRE(ch->Send(Value::Int(1)).ok());
  CHECK(ch->Send(Value::Int(2), t0 - milliseconds(1)).code() == Code::kTimeout);
  CHECK(Clock::now() - t0 < kPrompt);
  // ...but a value that is there is still taken.
  CHECK(ch->Recv(&v, t0 - milliseconds(1)).ok());
}

TEST_CASE("Close wakes blocked receivers promptly with kClosed", "[channel]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(0, false, spin);
    constexpr int kReceivers = 3;
    std::atomic<int> started{0};
    std::vector<Status> results(kReceivers);
    std::vector<std::thread> threads;
    for (int i = 0; i < kReceivers; ++i) {
      threads.emplace_back([&, i] {
        started.fetch_add(1);
        Value v;
        results[static_cast<size_t>(i)] = ch->Recv(&v, DeadlineAfter(std::chrono::seconds(10)));
      });
    }
    while (started.load() < kReceivers) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(30));
    auto t0 = Clock::now();
    ch->Close();
    for (auto& t : threads) t.join();
    CHECK(Clock::now() - t0 < kPrompt);
    for (const Status& s : results) CHECK(s.code() == Code::kClosed);
  }
}

TEST_CASE("Close wakes blocked senders promptly with kClosed", "[channel]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(1, false, spin);
    REQUIRE(ch->Send(Value::Int(0)).ok());
    constexpr int kSenders = 3;
    std::atomic<int> started{0};
    std::vector<Status> results(kSenders);
    std::vector<std::thread> threads;
    for (int i = 0; i < kSenders; ++i) {
      threads.emplace_back([&, i] {
        started.fetch_add(1);
        results[static_cast<size_t>(i)] =
            ch->Send(Value::Int(i + 1), DeadlineAfter(std::chrono::seconds(10)));
      });
    }
    while (started.load() < kSenders) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(30));
    auto t0 = Clock::now();
    ch->Close();
    for (auto& t : threads) t.join();
    CHECK(Clock::now() - t0 < kPrompt);
    for (const Status& s : results) CHECK(s.code() == Code::kClosed);
    CHECK(ch->size() == 1);  // only the value sent before Close
  }
}

TEST_CASE("after Close receivers drain the remaining values, then get kClosed", "[channel]") {
  auto ch = ChannelCore::Create(0, false);
  for (int64_t i = 0; i < 3; ++i) REQUIRE(ch->Send(Value::Int(i)).ok());
  ch->Close();
  CHECK(ch->closed());
  CHECK(ch->Send(Value::Int(99)).code() == Code::kClosed);
  CHECK(ch->TrySend(Value::Int(99)).code() == Code::kClosed);
  Value v;
  REQUIRE(ch->TryRecv(&v).ok());
  CHECK(v.as_int() == 0);
  v = Value();
  REQUIRE(ch->Recv(&v, DeadlineAfter(milliseconds(100))).ok());
  CHECK(v.as_int() == 1);
  v = Value();
  REQUIRE(ch->Recv(&v).ok());  // no deadline: must not block
  CHECK(v.as_int() == 2);
  v = Value();
  CHECK(ch->Recv(&v).code() == Code::kClosed);
  CHECK(ch->TryRecv(&v).code() == Code::kClosed);
  CHECK(ch->size() == 0);
}

TEST_CASE("Close is idempotent", "[channel]") {
  auto ch = ChannelCore::Create(0, false);
  ch->Close();
  ch->Close();
  CHECK(ch->closed());
  Value v;
  CHECK(ch->Recv(&v).code() == Code::kClosed);
}

TEST_CASE("a fired Interrupt wakes a blocked receiver with kCancelled", "[channel][interrupt]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(0, false, spin);
    Interrupt intr;
    std::atomic<bool> started{false};
    Status status;
    std::thread receiver = StartBlocked(
        [&] {
          started.store(true);
          Value v;
          status = ch->Recv(&v, DeadlineAfter(std::chrono::seconds(10)), &intr);
        },
        &started);
    auto t0 = Clock::now();
    intr.Fire();
    receiver.join();
    CHECK(Clock::now() - t0 < kPrompt);
    CHECK(status.code() == Code::kCancelled);
    // The channel is unaffected: a later value goes to a later receiver.
    REQUIRE(ch->Send(Value::Int(1)).ok());
    Value v;
    CHECK(ch->TryRecv(&v).ok());
  }
}

TEST_CASE("a fired Interrupt wakes a blocked sender with kCancelled", "[channel][interrupt]") {
  for (auto spin : kSpins) {
    auto ch = ChannelCore::Create(1, false, spin);
    REQUIRE(ch->Send(Value::Int(0)).ok());
    Interrupt intr;
    std::atomic<bool> started{false};
    Status status;
    std::thread sender = StartBlocked(
        [&] {
          started.store(true);
          status = ch->Send(Value::Int(1), kForever, &intr);
        },
        &started);
    auto t0 = Clock::now();
    intr.Fire();
    sender.join();
    CHECK(Clock::now() - t0 < kPrompt);
    CHECK(status.code() == Code::kCancelled);
    CHECK(ch->size() == 1);
  }
}

TEST_CASE("an Interrupt fired during the spin phase also cancels", "[channel][interrupt]") {
  // A long spin, so the receiver is still spinning when the interrupt fires.
  auto ch = ChannelCore::Create(0, false, std::chrono::seconds(5));
  Interrupt intr;
  std::atomic<bool> started{false};
  Status status;
  std::thread receiver([&] {
    started.store(true);
    Value v;
    status = ch->Recv(&v, kForever, &intr);
  });
  while (!started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(milliseconds(10));
  auto t0 = Clock::now();
  intr.Fire();
  receiver.join();
  CHECK(Clock::now() - t0 < kPrompt);
  CHECK(status.code() == Code::kCancelled);
}

TEST_CASE("an Interrupt fired before the call cancels it, and Reset re-arms it",
          "[channel][interrupt]") {
  auto ch = ChannelCore::Create(0, false);
  Interrupt intr;
  intr.Fire();
  intr.Fire();  // idempotent
  CHECK(intr.fired());
  Value v;
  CHECK(ch->Recv(&v, kForever, &intr).code() == Code::kCancelled);
  CHECK(ch->Send(Value::Int(1), kForever, &intr).code() == Code::kCancelled);
  CHECK(ch->size() == 0);
  intr.Reset();
  CHECK_FALSE(intr.fired());
  REQUIRE(ch->Send(Value::Int(1), kForever, &intr).ok());
  CHECK(ch->Recv(&v, kForever, &intr).ok());
  CHECK(ch->Recv(&v, DeadlineAfter(milliseconds(5)), &intr).code() == Code::kTimeout);
}

TEST_CASE("values left in a channel are destroyed exactly once with it", "[channel]") {
  std::atomic<int> drops{0};
  {
    auto ch = ChannelCore::Create(0, false);
    for (uint64_t i = 0; i < 100; ++i) REQUIRE(ch->Send(Counted(i, &drops)).ok());
    for (int i = 0; i < 40; ++i) {
      Value v;
      REQUIRE(ch->TryRecv(&v).ok());
    }  // each received value is dropped here by its receiver
    CHECK(drops.load() == 40);
    ch->Close();  // closing does not drop what is inside
    CHECK(drops.load() == 40);
  }
  CHECK(drops.load() == 100);
}

TEST_CASE("a value is dropped once when its send fails", "[channel]") {
  std::atomic<int> drops{0};
  auto ch = ChannelCore::Create(1, false);
  REQUIRE(ch->Send(Counted(1, &drops)).ok());
  CHECK(ch->TrySend(Counted(2, &drops)).code() == Code::kOverloaded);
  CHECK(ch->Send(Counted(3, &drops), DeadlineAfter(milliseconds(1))).code() == Code::kTimeout);
  ch->Close();
  CHECK(ch->Send(Counted(4, &drops)).code() == Code::kClosed);
  CHECK(drops.load() == 3);
  ch.reset();
  CHECK(drops.load() == 4);
}

TEST_CASE("values outlive the thread that sent them", "[channel]") {
  auto ch = ChannelCore::Create(0, false);
  std::thread([&] {
    (void)ch->Send(Value::Tuple({Value::Str("from a thread that is gone"), Value::Int(7)}));
  }).join();
  Value v;
  REQUIRE(ch->TryRecv(&v).ok());
  REQUIRE(v.kind() == ValueKind::kTuple);
  CHECK(v.items()[0].str() == "from a thread that is gone");
  CHECK(v.items()[1].as_int() == 7);
}

TEST_CASE("a channel can travel through another channel as a handle", "[channel]") {
  auto carrier = ChannelCore::Create(0, false);
  auto inner = ChannelCore::Create(0, false);
  REQUIRE(carrier->Send(Value::FromHandle(ValueKind::kChannel, inner)).ok());
  Value v;
  REQUIRE(carrier->TryRecv(&v).ok());
  REQUIRE(v.kind() == ValueKind::kChannel);
  CHECK(v.handle()->Identity() == inner->id());
  CHECK(v.Repr().find("Channel") != std::string::npos);
}

TEST_CASE("maxsize larger than the counter allows is clamped", "[channel]") {
  auto ch = ChannelCore::Create(size_t{1} << 40, false);
  CHECK(ch->maxsize() == (size_t{1} << 31) - 1);
}

// ---- Seeded stress ----------------------------------------------------------
//
// P producers and C consumers over K channels with different bounds and spin
// settings do random Send (with and without deadlines), TrySend, Recv (with
// deadlines), TryRecv; an interrupter fires random Interrupts; channels are
// closed mid-run. Every value carries a unique id and a counted handle. After
// join we check: every successful send was received exactly once or is still
// in its channel; nothing failed was received; each value was dropped exactly
// once in the end (leftovers when the channels are destroyed); and each
// consumer saw each producer's values on a channel in sending order.
TEST_CASE("seeded stress: every sent value is received once or left in its channel",
          "[channel][stress]") {
  const uint32_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 20240611u;
  CAPTURE(seed);
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kChannels = 3;
  constexpr int kOpsPerProducer = 6000;

  std::mt19937 setup(seed);
  std::vector<std::shared_ptr<ChannelCore>> channels;
  const size_t bounds[kChannels] = {1, 4, 0};
  for (int k = 0; k < kChannels; ++k) {
    auto spin = setup() % 2 ? ChannelCore::kDefaultSpin : std::chrono::nanoseconds(0);
    channels.push_back(ChannelCore::Create(bounds[k], false, spin));
  }
  // Channel 0 is closed by a producer half way through; the others at the end.
  std::atomic<int> drops{0};
  std::vector<Interrupt> intr(kProducers + kConsumers);

  auto make_id = [](int producer, int seq) {
    return (static_cast<uint64_t>(producer) << 32) | static_cast<uint32_t>(seq);
  };

  struct ProducerLog {
    std::vector<std::pair<int, uint64_t>> sent;  // (channel, id)
    std::vector<uint64_t> failed;
    std::map<Code, int> codes;
  };
  struct ConsumerLog {
    std::vector<std::pair<int, uint64_t>> received;  // in receive order
    std::map<Code, int> codes;
  };
  std::vector<ProducerLog> plogs(kProducers);
  std::vector<ConsumerLog> clogs(kConsumers);
  std::atomic<bool> producers_done{false};
  std::atomic<int> next_seq{0};

  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      std::mt19937 rng(seed * 31 + static_cast<uint32_t>(p));
      ProducerLog& log = plogs[static_cast<size_t>(p)];
      Interrupt* my_intr = &intr[static_cast<size_t>(p)];
      for (int i = 0; i < kOpsPerProducer; ++i) {
        if (p == 0 && i == kOpsPerProducer / 2) channels[0]->Close();
        int k = static_cast<int>(rng() % kChannels);
        uint64_t id = make_id(p, next_seq.fetch_add(1));
        Value v = Counted(id, &drops);
        Status s;
        switch (rng() % 4) {
          case 0: s = channels[static_cast<size_t>(k)]->TrySend(std::move(v)); break;
          case 1:
            s = channels[static_cast<size_t>(k)]->Send(
                std::move(v), DeadlineAfter(std::chrono::microseconds(rng() % 2000)), my_intr);
            break;
          case 2:
            s = channels[static_cast<size_t>(k)]->Send(std::move(v),
                                                       DeadlineAfter(std::chrono::seconds(20)));
            break;
          default:
            s = channels[static_cast<size_t>(k)]->Send(std::move(v), kForever, my_intr);
            break;
        }
        log.codes[s.code()]++;
        if (s.code() == Code::kCancelled) my_intr->Reset();
        if (s.ok()) {
          log.sent.emplace_back(k, id);
        } else {
          log.failed.push_back(id);
        }
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(seed * 131 + static_cast<uint32_t>(c));
      ConsumerLog& log = clogs[static_cast<size_t>(c)];
      Interrupt* my_intr = &intr[static_cast<size_t>(kProducers + c)];
      // Once the producers are done, consumers drain channels 0 and 1 (both
      // closed by then) and leave channel 2 alone, so values stay inside it
      // for the channel's destructor.
      int idle_rounds = 0;
      while (!producers_done.load() || idle_rounds < 3) {
        int k = static_cast<int>(rng() % (producers_done.load() ? 2 : kChannels));
        Value v;
        Status s;
        if (rng() % 3 == 0) {
          s = channels[static_cast<size_t>(k)]->TryRecv(&v);
        } else {
          s = channels[static_cast<size_t>(k)]->Recv(
              &v, DeadlineAfter(std::chrono::microseconds(rng() % 3000)), my_intr);
        }
        log.codes[s.code()]++;
        if (s.code() == Code::kCancelled) my_intr->Reset();
        if (s.ok()) {
          log.received.emplace_back(k, v.handle()->Identity());
          idle_rounds = 0;
        } else if (producers_done.load()) {
          ++idle_rounds;
        }
      }
    });
  }
  std::atomic<bool> stop_interrupter{false};
  std::thread interrupter([&] {
    std::mt19937 rng(seed * 7 + 1);
    while (!stop_interrupter.load()) {
      intr[rng() % intr.size()].Fire();
      std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 800));
    }
  });

  for (int p = 0; p < kProducers; ++p) threads[static_cast<size_t>(p)].join();
  // Blocked senders are gone; close channel 1 so its receivers drain it,
  // leave channel 2 open so values stay inside it.
  channels[1]->Close();
  producers_done.store(true);
  for (size_t i = kProducers; i < threads.size(); ++i) threads[i].join();
  stop_interrupter.store(true);
  interrupter.join();

  // ---- Invariants, checked after join ----
  std::map<uint64_t, int> sent_on;  // id -> channel
  std::set<uint64_t> failed;
  int total_created = next_seq.load();
  for (const auto& log : plogs) {
    for (auto [k, id] : log.sent) sent_on[id] = k;
    failed.insert(log.failed.begin(), log.failed.end());
  }
  REQUIRE(sent_on.size() + failed.size() == static_cast<size_t>(total_created));

  std::map<uint64_t, int> times_received;
  for (const auto& log : clogs) {
    for (auto [k, id] : log.received) {
      times_received[id]++;
      auto it = sent_on.find(id);
      REQUIRE(it != sent_on.end());  // never a value whose send failed
      REQUIRE(it->second == k);      // on the channel it was sent to
    }
  }
  for (const auto& [id, n] : times_received) REQUIRE(n == 1);

  size_t left_inside = 0;
  for (const auto& ch : channels) left_inside += ch->size();
  CHECK(sent_on.size() == times_received.size() + left_inside);
  CHECK(channels[0]->size() == 0);  // closed mid-run and drained by receivers
  CHECK(channels[1]->size() == 0);  // closed before the consumers stopped

  // Per producer FIFO as seen by each consumer on each channel.
  for (const auto& log : clogs) {
    std::map<std::pair<int, uint64_t>, uint64_t> last;  // (channel, producer) -> seq
    for (auto [k, id] : log.received) {
      auto key = std::make_pair(k, id >> 32);
      auto it = last.find(key);
      if (it != last.end()) REQUIRE(it->second < (id & 0xffffffffu));
      last[key] = id & 0xffffffffu;
    }
  }

  // Every value not inside a channel was dropped exactly once already...
  CHECK(drops.load() == total_created - static_cast<int>(left_inside));
  // ...and the leftovers go with their channels.
  channels.clear();
  CHECK(drops.load() == total_created);

  // The run exercised what it should have.
  int sends_ok = 0, closed = 0, full = 0, timeouts = 0, cancelled = 0;
  for (const auto& log : plogs) {
    auto get = [&](Code c) { auto it = log.codes.find(c); return it == log.codes.end() ? 0 : it->second; };
    sends_ok += get(Code::kOk);
    closed += get(Code::kClosed);
    full += get(Code::kOverloaded);
    timeouts += get(Code::kTimeout);
    cancelled += get(Code::kCancelled);
  }
  int recv_cancelled = 0;
  for (const auto& log : clogs) {
    auto it = log.codes.find(Code::kCancelled);
    if (it != log.codes.end()) recv_cancelled += it->second;
  }
  CAPTURE(sends_ok, closed, full, timeouts, cancelled, recv_cancelled, left_inside);
  CHECK(sends_ok > 0);
  CHECK(closed > 0);
  CHECK(full > 0);
}
