#include "recycle.h"

namespace interpd {

std::string_view RecycleReasonName(RecycleReason reason) {
  switch (reason) {
    case RecycleReason::kMaxTasks: return "max_tasks";
    case RecycleReason::kMaxMemory: return "max_memory";
    case RecycleReason::kMaxAge: return "max_age";
  }
  return "?";
}

std::optional<RecycleReason> RecycleDue(const RecycleOptions& options, uint64_t tasks, int64_t memory_bytes,
                                        double age_seconds) {
  if (options.max_tasks != 0 && tasks >= options.max_tasks) return RecycleReason::kMaxTasks;
  if (options.max_memory != 0 && memory_bytes > 0 && static_cast<uint64_t>(memory_bytes) >= options.max_memory) {
    return RecycleReason::kMaxMemory;
  }
  if (options.max_age.count() > 0 && age_seconds >= options.max_age.count()) return RecycleReason::kMaxAge;
  return std::nullopt;
}

}  // namespace interpd
