#include "channel_core.h"

#include <atomic>

namespace interpd {

template class BasicChannel<ChannelQueue>;

namespace {

// Process-global state owned by this file: the channel id counter. Starts at
// 1 so that 0 can mean "no channel" in the layers above; relaxed because an
// id only has to be unique, it orders nothing.
std::atomic<uint64_t> g_next_channel_id{1};

}  // namespace

ChannelCore::ChannelCore(Key, size_t maxsize, bool pickle, std::chrono::nanoseconds spin)
    : id_(g_next_channel_id.fetch_add(1, std::memory_order_relaxed)),
      pickle_(pickle),
      chan_(maxsize, spin) {}

ChannelCore::~ChannelCore() = default;

std::shared_ptr<ChannelCore> ChannelCore::Create(size_t maxsize, bool pickle,
                                                 std::chrono::nanoseconds spin) {
  return std::make_shared<ChannelCore>(Key{}, maxsize, pickle, spin);
}

std::string ChannelCore::Describe() const { return "<Channel " + std::to_string(id_) + ">"; }

}  // namespace interpd
