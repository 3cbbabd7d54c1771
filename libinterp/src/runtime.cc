// Process-global state owned by this file (crossinterp.c style map):
//   g_runtime        the one Runtime (invariant 1 of runtime.h); set by Start(),
//                    cleared by ~Runtime(); read by worker threads.
//   g_started_once   set forever by the first Start(): CPython is not restarted.
//   g_live_threads   threads that may run Python in subinterpreters; a stuck
//                    one may outlive the Runtime object, hence a global.
//   g_threads_mu/cv  let ~Runtime() wait for those threads to end.
#include "interpd/runtime.h"

#include <condition_variable>
#include <mutex>

#include "interpd_module.h"
#include "memory_accounting.h"
#include "policy.h"
#include "python_compat.h"

namespace interpd {

namespace {
std::atomic<Runtime*> g_runtime{nullptr};
std::atomic<bool> g_started_once{false};
std::atomic<int> g_live_threads{0};
std::mutex g_threads_mu;
std::condition_variable g_threads_cv;

std::string StatusText(const PyStatus& st) {
  std::string why = st.err_msg ? st.err_msg : "unknown error";
  if (st.func) why = std::string(st.func) + ": " + why;
  return why;
}
}  // namespace

Runtime* Runtime::Get() { return g_runtime.load(std::memory_order_acquire); }

Status Runtime::Start(const RuntimeOptions& options, std::unique_ptr<Runtime>* out) {
  if (g_started_once.exchange(true)) {
    return Status::Internal("the CPython runtime can be started only once per process");
  }
  std::unique_ptr<Runtime> rt(new Runtime(options));
  rt->python_home_ = options.python_home.empty() ? std::string(INTERPD_PYTHON_HOME) : options.python_home;

  // Pre-initialize (isolated, as the configuration below), so that the
  // allocators can be replaced where CPython allows it: after
  // Py_PreInitialize, before Py_InitializeFromConfig.
  PyPreConfig preconfig;
  PyPreConfig_InitIsolatedConfig(&preconfig);
  PyStatus pre = Py_PreInitialize(&preconfig);
  if (PyStatus_Exception(pre)) return Status::Internal("CPython failed to pre-initialize: " + StatusText(pre));
  if (options.memory_accounting) {
    if (Status s = MemoryAccounting::Install(); !s.ok()) return s;
  }
  // The audit hook sees every interpreter; it must be in place before the
  // first one exists.
  PolicyEnforcer::Set(options.policy);
  if (Status s = PolicyEnforcer::InstallHook(); !s.ok()) return s;

  // The `interpd` module is built in, so every interpreter can import it
  // without a search path; it must be registered before initialization.
  if (PyImport_AppendInittab("interpd", &PyInit_interpd) != 0) {
    return Status::Internal("PyImport_AppendInittab(interpd) failed");
  }

  PyConfig config;
  // Isolated: ignore PYTHON* environment variables and the user site, do not
  // install signal handlers (the daemon owns signals), do not touch C stdio.
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;
  config.site_import = options.import_site ? 1 : 0;
  config.user_site_directory = 0;
  config.parse_argv = 0;
  PyStatus st = PyConfig_SetBytesString(&config, &config.home, rt->python_home_.c_str());
  if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(st)) {
    return Status::Internal("CPython failed to start (home " + rt->python_home_ + "): " + StatusText(st));
  }
  rt->python_version_ = std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION) + "." +
                        std::to_string(PY_MICRO_VERSION);
  // Invariant 2: release the main GIL; the main interpreter stays idle.
  rt->main_thread_state_ = PyEval_SaveThread();
  g_runtime.store(rt.get(), std::memory_order_release);
  *out = std::move(rt);
  return Status::OK();
}

void Runtime::ThreadStarted() { g_live_threads.fetch_add(1, std::memory_order_relaxed); }

void Runtime::ThreadEnded() {
  std::lock_guard<std::mutex> lock(g_threads_mu);
  g_live_threads.fetch_sub(1, std::memory_order_relaxed);
  g_threads_cv.notify_all();
}

int Runtime::live_threads() { return g_live_threads.load(std::memory_order_relaxed); }

void Runtime::SetPolicy(const Policy& policy) { PolicyEnforcer::Set(policy); }

Policy Runtime::CurrentPolicy() { return PolicyEnforcer::Current(); }

bool Runtime::memory_accounting() { return MemoryAccounting::installed(); }

Runtime::~Runtime() {
  {
    std::unique_lock<std::mutex> lock(g_threads_mu);
    g_threads_cv.wait_for(lock, options_.straggler_wait,
                          [] { return g_live_threads.load(std::memory_order_relaxed) == 0; });
  }
  if (g_live_threads.load(std::memory_order_relaxed) != 0) {
    // A worker thread is stuck (in C code, holding its interpreter's GIL).
    // Py_FinalizeEx would try to finalize that interpreter from here and hang
    // or crash, so CPython is left as it is (invariant 4).
    clean_shutdown_ = false;
  } else {
    PyEval_RestoreThread(static_cast<PyThreadState*>(main_thread_state_));
    Py_FinalizeEx();
  }
  g_runtime.store(nullptr, std::memory_order_release);
}

}  // namespace interpd
