#include "usage_formatter.h"

namespace interpd::clients {

std::string UsageFormatter::UsageOf(const CLI::App* app) const {
  auto it = usages_.find(app);
  return it != usages_.end() ? it->second : "interpctl " + app->get_name();
}

std::string UsageFormatter::make_usage(const CLI::App* app, std::string name) const {
  auto it = usages_.find(app);
  if (it == usages_.end()) return CLI::Formatter::make_usage(app, std::move(name));
  return get_label("Usage") + ": " + it->second + "\n";
}

}  // namespace interpd::clients
