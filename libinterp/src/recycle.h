// Recycling rules: when a worker's interpreter is due for replacement.
//
// Thread safety: pure functions.
#ifndef INTERPD_RECYCLE_H_
#define INTERPD_RECYCLE_H_

#include <cstdint>
#include <optional>

#include "interpd/pool.h"

namespace interpd {

// The first rule of `options` that an interpreter with these figures has
// reached, checked in the order tasks, memory, age; nullopt if none.
std::optional<RecycleReason> RecycleDue(const RecycleOptions& options, uint64_t tasks, int64_t memory_bytes,
                                        double age_seconds);

}  // namespace interpd

#endif  // INTERPD_RECYCLE_H_
