#include "channel_registry.h"

#include <utility>

namespace interpd {

ChannelRegistry& ChannelRegistry::Global() {
  // Process-global state: the one registry of named channels. Leaked on
  // purpose (header, invariant 2).
  static ChannelRegistry* const registry = new ChannelRegistry;
  return *registry;
}

Status ChannelRegistry::ValidateName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("channel name is empty");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("channel name is longer than " +
                                   std::to_string(kMaxNameBytes) + " bytes");
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument("channel name contains a control character");
    }
  }
  return Status::OK();
}

Status ChannelRegistry::GetOrCreate(std::string_view name, size_t maxsize, bool pickle,
                                    std::shared_ptr<ChannelCore>* out) {
  Status s = ValidateName(name);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(name);
  if (it != channels_.end() && !it->second->closed()) {
    *out = it->second;
    return Status::OK();
  }
  auto channel = ChannelCore::Create(maxsize, pickle);
  if (it != channels_.end()) {
    it->second = channel;  // replaces a closed channel
  } else {
    channels_.emplace(std::string(name), channel);
  }
  *out = std::move(channel);
  return Status::OK();
}

std::shared_ptr<ChannelCore> ChannelRegistry::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second;
}

bool ChannelRegistry::Remove(std::string_view name, const ChannelCore* channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(name);
  if (it == channels_.end() || it->second.get() != channel) return false;
  channels_.erase(it);
  return true;
}

size_t ChannelRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return channels_.size();
}

void ChannelRegistry::Clear() {
  std::map<std::string, std::shared_ptr<ChannelCore>, std::less<>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    doomed.swap(channels_);
  }
  // Channels (and the values left in them) are destroyed outside mu_: their
  // destruction may release shares, which must not run under our lock.
}

}  // namespace interpd
