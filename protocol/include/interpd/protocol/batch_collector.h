// BatchCollector: gathers the responses of one batch and releases them as a
// single array line once the last one is in (JSON-RPC 2.0 section 6: the
// server returns an array of responses, in any order).
//
// Responses arrive as they complete: from different workers, in any order,
// some immediately (errors for invalid elements). The collector appends each
// one to the array under construction, so finishing costs nothing extra.
//
// Thread safety: thread-safe. Add() may be called concurrently from any
// threads; exactly one call, the one adding the last response, receives the
// array line.
//
// Invariants:
//   1. expected() responses are collected, each exactly once; the array line
//      is produced once, when the count reaches expected().
//   2. The array holds the responses exactly as given, minus their '\n'.
#ifndef INTERPD_PROTOCOL_BATCH_COLLECTOR_H_
#define INTERPD_PROTOCOL_BATCH_COLLECTOR_H_

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace interpd::protocol {

class BatchCollector {
 public:
  // REQUIRES: expected > 0 (a batch with nothing to answer sends nothing,
  // so it needs no collector).
  explicit BatchCollector(size_t expected);

  BatchCollector(const BatchCollector&) = delete;
  BatchCollector& operator=(const BatchCollector&) = delete;

  // Adds one response line (as built by response.h, ending '\n'). Returns
  // the batch line "[r1,r2,...]\n" when this was the last expected response,
  // nullopt otherwise.
  // REQUIRES: fewer than expected() responses were added before.
  std::optional<std::string> Add(std::string_view response_line);

  size_t expected() const { return expected_; }
  // Responses added so far.
  size_t received() const;

 private:
  // Constant after construction.
  const size_t expected_;

  // Protected by mu_.
  mutable std::mutex mu_;
  size_t received_ = 0;
  std::string array_;  // "[" followed by the responses so far, comma-separated
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_BATCH_COLLECTOR_H_
