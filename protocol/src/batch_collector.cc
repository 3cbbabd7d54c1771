#include "interpd/protocol/batch_collector.h"

#include <cassert>

namespace interpd::protocol {

BatchCollector::BatchCollector(size_t expected) : expected_(expected), array_("[") { assert(expected_ > 0); }

std::optional<std::string> BatchCollector::Add(std::string_view response_line) {
  if (!response_line.empty() && response_line.back() == '\n') response_line.remove_suffix(1);
  std::lock_guard<std::mutex> lock(mu_);
  assert(received_ < expected_);
  if (received_ >= expected_) return std::nullopt;  // a caller bug; never emit a second array
  if (received_ > 0) array_.push_back(',');
  array_.append(response_line);
  if (++received_ < expected_) return std::nullopt;
  array_.append("]\n");
  return std::move(array_);
}

size_t BatchCollector::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

}  // namespace interpd::protocol
