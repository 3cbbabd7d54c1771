#include "daemon.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <thread>

#include "daemon/logging.h"
#include "interpd/pool.h"
#include "interpd/runtime.h"
#include "actor_methods.h"
#include "listen_socket.h"
#include "peer_access.h"
#include "rpc_methods.h"
#include "server.h"

namespace interpd::daemon {

namespace asio = boost::asio;

namespace {

// Runs pool callbacks (completions, streamed output) on the I/O thread. One
// thread runs the io_context, so posts run in the order they were made,
// which keeps a task's output before its result (pool.h invariant 2).
class IoDispatcher final : public Dispatcher {
 public:
  explicit IoDispatcher(asio::io_context& io) : io_(io) {}
  void Post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

 private:
  asio::io_context& io_;
};

std::shared_ptr<const ServerLimits> MakeLimits(const Config& c) {
  auto l = std::make_shared<ServerLimits>();
  l->protocol.max_frame_bytes = c.server.max_frame_bytes;
  l->protocol.max_depth = static_cast<int>(c.server.max_json_depth);
  l->protocol.max_batch_size = c.server.max_batch;
  l->max_connections = c.server.max_connections;
  l->max_in_flight = c.server.max_in_flight_per_connection;
  l->default_timeout = std::chrono::duration<double>(c.tasks.default_timeout);
  l->max_timeout = std::chrono::duration<double>(c.tasks.max_timeout);
  l->output_limit = c.tasks.output_limit;
  l->memory_limit = c.limits.memory_limit;
  l->max_memory_limit = c.limits.max_memory_limit;
  l->cpu_limit = std::chrono::duration<double>(c.limits.cpu_seconds);
  l->default_lane = c.tasks.default_lane == LaneChoice::kCompat ? Lane::kCompat
                    : c.tasks.default_lane == LaneChoice::kAuto ? Lane::kAuto
                                                                : Lane::kIsolated;
  l->actor_call_timeout = std::chrono::duration<double>(c.actors.call_timeout);
  l->actor_max_restarts = static_cast<int>(c.actors.max_restarts);
  l->actor_restart_window = std::chrono::duration<double>(c.actors.restart_window);
  l->http_idle_timeout = std::chrono::duration<double>(c.server.http_idle_timeout);
  return l;
}

Policy MakePolicy(const PolicyConfig& c) {
  Policy p;
  p.deny_subprocess = c.deny_subprocess;
  p.deny_kill = c.deny_kill;
  p.deny_ctypes = c.deny_ctypes;
  p.deny_socket = c.deny_socket;
  p.restrict_writes = c.restrict_writes;
  p.write_paths = c.write_paths;
  return p;
}

void Notify(const std::string& state) { sd_notify(0, state.c_str()); }

// HTTP has no SO_PEERCRED: an allowlist guards the Unix socket only.
void WarnAllowlistBypassed(const Server& server, const AccessPolicy& policy) {
  if (server.http_url().empty() || policy.open()) return;
  spdlog::warn("server.allow_users / allow_groups do not apply to HTTP clients ({}): HTTP has no peer credentials, "
               "so anyone who can connect to it can run code; keep http_listen on a loopback address and let only "
               "trusted local processes reach it, or turn it off",
               server.http_url());
}

}  // namespace

struct Daemon::Impl {
  Impl(Config c, ConfigSource s) : config(std::move(c)), source(std::move(s)) {}

  int Run();
  void OnSignal(int signo);
  void Drain();
  void Reload();
  void ArmWatchdog();
  void WatchdogTick();

  Config config;
  ConfigSource source;
  asio::io_context io{1};
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<Server> server;
  ListenSocket listen;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> watchdog_timer;
  std::unique_ptr<asio::steady_timer> flush_timer;
  std::chrono::microseconds watchdog_period{0};
  std::thread drain_thread;
  bool draining = false;
};

Daemon::Daemon(Config config, ConfigSource source)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(source))) {}
Daemon::~Daemon() = default;
int Daemon::Run() { return impl_->Run(); }

int Daemon::Impl::Run() {
  // A write to a client that went away must be an error, not a signal.
  signal(SIGPIPE, SIG_IGN);
  Logging::Install(config.log);

  // The socket comes first, while this is the only thread: creating it
  // changes the umask for a moment (listen_socket.h).
  bool inherited = false;
  Status s = AdoptSystemdSocket(&listen, &inherited);
  if (s.ok() && !inherited) {
    const std::string path = ResolveSocketPath(config.server.socket, SocketPathEnvironment::FromProcess());
    s = CreateListenSocket(path, static_cast<mode_t>(config.server.socket_mode), 512, &listen);
  }
  if (!s.ok()) {
    spdlog::critical("cannot listen: {}", s.message());
    return 1;
  }
  std::shared_ptr<const AccessPolicy> policy;
  s = AccessPolicy::Build(config.server.allow_users, config.server.allow_groups, &policy);
  if (!s.ok()) {
    spdlog::critical("{}", s.message());
    RemoveListenSocket(listen);
    return 2;
  }

  RuntimeOptions ro;
  ro.python_home = ResolvePythonHome(config.python.home);
  ro.extra_paths = config.python.path;
  ro.import_site = config.python.site;
  ro.policy = MakePolicy(config.policy);
  s = Runtime::Start(ro, &runtime);
  if (!s.ok()) {
    spdlog::critical("{}", s.message());
    RemoveListenSocket(listen);
    return 1;
  }
  PoolOptions po;
  po.workers = static_cast<int>(ResolveWorkerCount(config.workers.count));
  po.actor_workers = static_cast<int>(config.actors.workers);
  po.queue_limit = config.workers.queue_limit;
  po.idle_spin = std::chrono::microseconds(config.workers.idle_spin_us);
  po.interrupt_grace = std::chrono::duration<double>(config.workers.interrupt_grace);
  po.output_limit = config.tasks.output_limit;
  po.code_cache_entries = config.tasks.code_cache_entries;
  po.recycle.max_tasks = config.recycle.max_tasks;
  po.recycle.max_memory = config.recycle.max_memory;
  po.recycle.max_age = std::chrono::duration<double>(config.recycle.max_age);
  po.compat_workers = static_cast<int>(config.workers.compat_count);
  po.fresh_spares = static_cast<int>(config.workers.fresh_spares);
  po.dispatcher = std::make_shared<IoDispatcher>(io);
  // One pool per daemon: named channels die with it (faster shutdown).
  po.release_named_channels_at_shutdown = true;
  s = WorkerPool::Create(*runtime, po, &pool);
  if (!s.ok()) {
    spdlog::critical("cannot start the workers: {}", s.message());
    RemoveListenSocket(listen);
    return 1;
  }

  server = std::make_unique<Server>(io, *runtime, *pool, MakeLimits(config), policy);
  s = RegisterCoreMethods(*server);
  if (s.ok()) s = RegisterActorMethods(*server);
  if (s.ok()) s = server->Listen(listen.fd);
  if (!s.ok()) {
    spdlog::critical("{}", s.message());
    RemoveListenSocket(listen);
    return 1;
  }
  if (!config.server.http_listen.empty()) {
    // After the Unix socket, so a second daemon on the same socket fails on
    // that first; ConfigLoader has validated the address.
    const auto http = ParseHttpListen(config.server.http_listen);
    s = http ? server->ListenHttp(*http)
             : Status::InvalidArgument("server.http_listen: not ADDRESS:PORT: " + config.server.http_listen);
    if (!s.ok()) {
      spdlog::critical("{}", s.message());
      RemoveListenSocket(listen);
      // 2 (bad configuration: systemd does not restart in a loop) when
      // retrying cannot help; a port in use may free up.
      return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
  }

  signals = std::make_unique<asio::signal_set>(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(boost::system::error_code, int)> on_signal = [this, &on_signal](boost::system::error_code ec,
                                                                                    int signo) {
    if (ec) return;
    OnSignal(signo);
    if (signals) signals->async_wait(on_signal);
  };
  signals->async_wait(on_signal);
  ArmWatchdog();

  std::string where = listen.inherited ? "the socket systemd passed" : listen.path;
  if (!policy->open()) where += " (peers restricted by allow_users/allow_groups)";
  if (!server->http_url().empty()) where += " and " + server->http_url();
  spdlog::info("interpd {} ready: CPython {}, {} workers{}, listening on {}", INTERPD_VERSION,
               runtime->python_version(), po.workers,
               po.actor_workers ? " + " + std::to_string(po.actor_workers) + " actor workers" : std::string(), where);
  WarnAllowlistBypassed(*server, *policy);
  Notify("READY=1\nSTATUS=serving with " + std::to_string(pool->size()) + " workers");

  io.run();

  if (drain_thread.joinable()) drain_thread.join();
  server.reset();
  pool.reset();
  RemoveListenSocket(listen);
  runtime.reset();
  if (Runtime::live_threads() != 0) {
    // A worker stuck in C code could not be finalized; CPython was left as
    // it is. Leave without running static destructors under that thread.
    spdlog::warn("exiting with {} stuck worker thread(s) left behind", Runtime::live_threads());
    spdlog::default_logger()->flush();
    std::fflush(nullptr);
    _exit(0);
  }
  spdlog::info("stopped");
  return 0;
}

void Daemon::Impl::OnSignal(int signo) {
  if (signo == SIGHUP) {
    Reload();
    return;
  }
  if (!draining) {
    Drain();
    return;
  }
  spdlog::warn("second {} during shutdown: cancelling what is still running", signo == SIGINT ? "SIGINT" : "SIGTERM");
  pool->HurryShutdown();
}

void Daemon::Impl::Drain() {
  draining = true;
  const auto grace = std::chrono::duration<double>(config.server.shutdown_grace);
  spdlog::info("shutting down: no new connections or runs; running work has {:g} s to finish", grace.count());
  // Both listeners close here (the Unix socket file is removed below);
  // open connections, HTTP ones included, are served until the pool drains.
  Notify("STOPPING=1\nSTATUS=draining");
  server->StopAccepting();
  RemoveListenSocket(listen);
  listen.owns_path = false;
  drain_thread = std::thread([this, grace] {
    pool->Shutdown(grace);
    asio::post(io, [this] {
      // Every run has its answer queued by now: send them, then stop.
      server->CloseAll(/*flush=*/true);
      flush_timer = std::make_unique<asio::steady_timer>(io, std::chrono::seconds(5));
      flush_timer->async_wait([this](boost::system::error_code ec) {
        if (!ec) server->CloseAll(/*flush=*/false);  // clients that do not read
      });
      server->WhenNoSessions([this] {
        if (flush_timer) flush_timer->cancel();
        if (watchdog_timer) watchdog_timer->cancel();
        signals->cancel();
        signals.reset();
      });
    });
  });
}

void Daemon::Impl::Reload() {
  Notify("RELOADING=1");
  LoadResult loaded = ConfigLoader::Load(source);
  if (!loaded.ok()) {
    spdlog::error("reload failed; the running configuration stays in effect:\n{}", loaded.ErrorText());
    Notify("READY=1");
    return;
  }
  const ConfigDiff diff = Config::Diff(config, loaded.config);
  Config next = Config::ApplyReloadable(config, loaded.config);
  std::shared_ptr<const AccessPolicy> policy;
  Status s = AccessPolicy::Build(next.server.allow_users, next.server.allow_groups, &policy);
  if (!s.ok()) {
    spdlog::error("reload failed; the running configuration stays in effect: {}", s.message());
    Notify("READY=1");
    return;
  }
  if (auto logger = spdlog::default_logger()) Logging::SetLevel(*logger, next.log.level);
  server->SetLimits(MakeLimits(next));
  pool->SetLimits(next.workers.queue_limit, std::chrono::duration<double>(next.workers.interrupt_grace));
  server->SetPolicy(policy);
  if (next.server.allow_users != config.server.allow_users || next.server.allow_groups != config.server.allow_groups) {
    WarnAllowlistBypassed(*server, *policy);
  }
  Runtime::SetPolicy(MakePolicy(next.policy));
  int applied = 0;
  for (const auto& c : diff.changes) {
    if (c.reloadable) {
      ++applied;
      spdlog::info("reload: {} = {} (was {})", c.key, c.new_value, c.old_value);
    } else {
      spdlog::warn("reload: {} changed to {} but needs a restart; still {}", c.key, c.new_value, c.old_value);
    }
  }
  spdlog::info("configuration reloaded: {} change(s) applied{}", applied,
               diff.NeedsRestart() ? ", some need a restart (see above)" : "");
  config = std::move(next);
  Notify("READY=1");
}

void Daemon::Impl::ArmWatchdog() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_period = std::chrono::microseconds(usec / 2);
  watchdog_timer = std::make_unique<asio::steady_timer>(io);
  WatchdogTick();
}

void Daemon::Impl::WatchdogTick() {
  watchdog_timer->expires_after(watchdog_period);
  watchdog_timer->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    // The I/O loop is alive if this runs; that is what the watchdog checks.
    Notify("WATCHDOG=1");
    WatchdogTick();
  });
}

}  // namespace interpd::daemon
