#include "session.h"

#include "server.h"

namespace interpd::daemon {

Session::~Session() = default;

bool Session::TrackRun(const protocol::RequestId& id, const TaskHandle& task) {
  const std::string key = id.present() ? id.json() : "#" + std::to_string(task.id());
  return runs_.emplace(key, task).second;
}

void Session::UntrackRun(const protocol::RequestId& id, TaskId task) {
  const std::string key = id.present() ? id.json() : "#" + std::to_string(task);
  auto it = runs_.find(key);
  if (it != runs_.end() && it->second.id() == task) runs_.erase(it);
  OnRunUntracked();
}

TaskHandle Session::FindRun(const protocol::RequestId& id) const {
  auto it = runs_.find(id.json());
  return it == runs_.end() ? TaskHandle() : it->second;
}

void Session::CancelRuns() {
  closed_ = true;
  for (auto& [key, task] : runs_) server_.pool().Cancel(task);
  runs_.clear();
}

}  // namespace interpd::daemon
