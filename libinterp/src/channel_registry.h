// ChannelRegistry: named channels, so that interpreters rendezvous by name
// (interpd.channel("jobs") in any interpreter returns the same channel).
//
// Semantics:
//   - GetOrCreate(name, ...) returns the channel registered under `name`,
//     creating it on first use. The first creator's maxsize and pickle win;
//     later callers get the existing channel whatever they asked for (they
//     can compare maxsize() if they care).
//   - A closed channel is not handed out again: GetOrCreate replaces a
//     closed entry with a new, open channel under the same name. Remove()
//     drops an entry early (the Python layer calls it when a named channel
//     is closed). Either way, holders of the old channel keep it (it is
//     reference counted) and see it closed; later callers of GetOrCreate get
//     a different channel with a new id.
//   - Names: 1..kMaxNameBytes bytes, no ASCII control characters (they end
//     up in logs and error messages); anything else is kInvalidArgument.
//
// Why a mutex: the registry is consulted when a Python program asks for a
// channel by name, not per message, so a std::mutex around a map is simpler
// than anything lock-free and costs nothing measurable. The channels it
// hands out are lock-free on their own.
//
// Thread safety: every method from any thread.
//
// Invariants:
//   1. At most one entry per name; each entry's channel was created by this
//      registry and is never null.
//   2. Global() is created on first use and deliberately never destroyed
//      (no static destructor runs at exit while interpreters may still be
//      tearing down); the runtime calls Clear() during its shutdown instead.
#ifndef INTERPD_CHANNEL_REGISTRY_H_
#define INTERPD_CHANNEL_REGISTRY_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "channel_core.h"
#include "interpd/status.h"

namespace interpd {

class ChannelRegistry {
 public:
  static constexpr size_t kMaxNameBytes = 256;

  ChannelRegistry() = default;
  ChannelRegistry(const ChannelRegistry&) = delete;
  ChannelRegistry& operator=(const ChannelRegistry&) = delete;

  // The process-wide registry (invariant 2).
  static ChannelRegistry& Global();

  // OK and *out = the channel for `name` (existing and open, or new).
  // kInvalidArgument for a bad name. REQUIRES: out != nullptr.
  Status GetOrCreate(std::string_view name, size_t maxsize, bool pickle,
                     std::shared_ptr<ChannelCore>* out);

  // The channel registered under `name` (even if closed), or null.
  std::shared_ptr<ChannelCore> Find(std::string_view name) const;

  // Removes `name` if it still maps to `channel` (so a late Remove() for an
  // old, closed channel cannot drop a newer one). Returns whether it did.
  bool Remove(std::string_view name, const ChannelCore* channel);

  // Number of names registered.
  size_t size() const;

  // Drops every entry (the channels live on while referenced elsewhere).
  void Clear();

  static Status ValidateName(std::string_view name);

 private:
  mutable std::mutex mu_;
  // Protected by mu_. std::less<> allows lookups by string_view.
  std::map<std::string, std::shared_ptr<ChannelCore>, std::less<>> channels_;
};

}  // namespace interpd

#endif  // INTERPD_CHANNEL_REGISTRY_H_
