// Policy: each audit rule refuses and names itself; the guards against
// ending the daemon hold, including against reload() and sys.modules
// tricks; the main interpreter is never refused anything.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "policy.h"
#include "test_support.h"

using namespace interpd;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;

namespace {

// Restores the default (all rules off) when a test case ends.
struct PolicyScope {
  explicit PolicyScope(const Policy& p) { Runtime::SetPolicy(p); }
  ~PolicyScope() { Runtime::SetPolicy(Policy{}); }
};

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/interpd-policy-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

void CheckDenied(WorkerPool& pool, const std::string& code, const std::string& message) {
  INFO(code);
  TaskResult r = Run(pool, code);
  INFO(Describe(r));
  REQUIRE(r.status == TaskStatus::kError);
  CHECK(r.error->type == "PermissionError");
  CHECK(r.error->message == message);
}

void CheckAllowed(WorkerPool& pool, const std::string& code, TaskStatus status = TaskStatus::kOk) {
  INFO(code);
  TaskResult r = Run(pool, code);
  INFO(Describe(r));
  CHECK(r.status == status);
  if (r.error) CHECK(r.error->type != "PermissionError");
}

}  // namespace

TEST_CASE("each audit rule denies its operations and names itself", "[policy]") {
  Policy p;
  p.deny_subprocess = true;
  p.deny_kill = true;
  p.deny_ctypes = true;
  p.deny_socket = true;
  PolicyScope scope(p);
  auto pool = MakePool(1);
  struct Row {
    const char* code;
    const char* message;
  } rows[] = {
      {"import subprocess\nsubprocess.run(['true'])",
       "interpd policy: subprocess (subprocess.Popen) denied (policy.deny_subprocess)"},
      {"import os\nos.system('true')", "interpd policy: subprocess (os.system) denied (policy.deny_subprocess)"},
      {"import os\nos.posix_spawn('/bin/true', ['true'], {})",
       "interpd policy: subprocess (os.posix_spawn) denied (policy.deny_subprocess)"},
      // What subprocess.Popen calls after its audit event; it raises none.
      {"import _posixsubprocess, os\n"
       "r, w = os.pipe()\n"
       "_posixsubprocess.fork_exec([b'/bin/true'], [b'/bin/true'], True, (w,), None, None, -1, -1, -1, -1, -1, -1,\n"
       "                           r, w, False, False, -1, None, None, None, -1, None, True)",
       "interpd policy: subprocess (_posixsubprocess.fork_exec) denied (policy.deny_subprocess)"},
      {"import os\nos.kill(999999, 15)", "interpd policy: os.kill(999999) denied (policy.deny_kill)"},
      {"import ctypes", "interpd policy: ctypes (import ctypes) denied (policy.deny_ctypes)"},
      {"import socket\nsocket.socket()", "interpd policy: socket denied (policy.deny_socket)"},
  };
  for (const Row& row : rows) CheckDenied(*pool, row.code, row.message);
  // Probing a process with signal 0 sends nothing and stays allowed.
  CheckAllowed(*pool, "import os\nos.kill(os.getpid(), 0)");
}

TEST_CASE("with every rule off, the same operations are allowed", "[policy]") {
  PolicyScope scope(Policy{});
  auto pool = MakePool(1);
  CheckAllowed(*pool, "import os\nos.system('true')");
  CheckAllowed(*pool, "import os\nos.kill(999999, 15)", TaskStatus::kError);  // ProcessLookupError
  // Before CPython 3.13 _ctypes is single-phase init: an isolated
  // interpreter refuses it with ImportError (CPython's refusal, not the
  // policy's; CheckAllowed still checks it is no PermissionError).
  const bool ctypes_loads = Runtime::Get()->python_version().rfind("3.12", 0) != 0;
  CheckAllowed(*pool, "import ctypes\nctypes.sizeof(ctypes.c_int)",
               ctypes_loads ? TaskStatus::kOk : TaskStatus::kError);
  CheckAllowed(*pool, "import socket\nsocket.socket().close()");
}

TEST_CASE("a reloaded policy applies to running workers at once", "[policy]") {
  PolicyScope scope(Policy{});
  auto pool = MakePool(1);
  CheckAllowed(*pool, "import socket\nsocket.socket().close()");
  Policy p;
  p.deny_socket = true;
  Runtime::SetPolicy(p);
  CheckDenied(*pool, "import socket\nsocket.socket()", "interpd policy: socket denied (policy.deny_socket)");
  CHECK(Runtime::CurrentPolicy() == p);
}

TEST_CASE("writes are allowed under write_paths only, symlinks and dir_fd included", "[policy]") {
  TempDir allowed;
  TempDir outside;
  Policy p;
  p.restrict_writes = true;
  p.write_paths = {allowed.path};
  PolicyScope scope(p);
  auto pool = MakePool(1);
  const std::string in = allowed.path;
  const std::string out = outside.path;
  std::ofstream(out + "/existing") << "x";
  CheckAllowed(*pool, "open('" + in + "/a.txt', 'w').write('ok')");
  CheckAllowed(*pool, "import os\nos.mkdir('" + in + "/sub')\nos.rename('" + in + "/a.txt', '" + in + "/sub/b.txt')");
  CheckAllowed(*pool, "open('" + out + "/existing').read()");  // reading is not restricted
  CheckAllowed(*pool, "import os\nfd = os.open('" + out + "/existing', os.O_RDONLY)\nos.close(fd)");
  const std::string denied = "interpd policy: writing \"" + out;
  struct Row {
    std::string code;
    std::string message;
  } rows[] = {
      {"open('" + out + "/new.txt', 'w')", denied + "/new.txt\" denied (policy.write_paths)"},
      {"open('" + out + "/existing', 'a')", denied + "/existing\" denied (policy.write_paths)"},
      {"open('" + out + "/existing', 'r+')", denied + "/existing\" denied (policy.write_paths)"},
      {"import os\nos.open('" + out + "/x', os.O_WRONLY | os.O_CREAT)", denied + "/x\" denied (policy.write_paths)"},
      {"import os\nos.remove('" + out + "/existing')", denied + "/existing\" denied (policy.write_paths)"},
      {"import os\nos.mkdir('" + out + "/d')", denied + "/d\" denied (policy.write_paths)"},
      {"import os\nos.rename('" + in + "/sub/b.txt', '" + out + "/b.txt')", denied + "/b.txt\" denied (policy.write_paths)"},
      // A way out through a symlink inside the allowed directory.
      {"import os\nos.symlink('" + out + "/existing', '" + in + "/link')\nopen('" + in + "/link', 'w')",
       denied + "/existing\" denied (policy.write_paths)"},
      // Relative to a directory descriptor outside.
      {"import os\nfd = os.open('" + out + "', os.O_RDONLY)\nos.remove('existing', dir_fd=fd)",
       denied + "/existing\" denied (policy.write_paths)"},
      // ".." does not climb out.
      {"open('" + in + "/../" + std::filesystem::path(out).filename().string() + "/y', 'w')",
       denied + "/y\" denied (policy.write_paths)"},
  };
  for (const Row& row : rows) CheckDenied(*pool, row.code, row.message);
  CHECK(std::filesystem::exists(out + "/existing"));
  CHECK(std::filesystem::exists(in + "/sub/b.txt"));
}

TEST_CASE("write paths are resolved and matched on whole components", "[policy]") {
  CHECK(PolicyEnforcer::ResolveForWrite("b/../c.txt", "/srv/a", false) == "/srv/a/c.txt");
  CHECK(PolicyEnforcer::ResolveForWrite("/srv/a/./x", "/", false) == "/srv/a/x");
  const std::vector<std::string> allowed = {"/srv/a", "/var/tmp/x"};
  struct Row {
    const char* path;
    bool ok;
  } rows[] = {{"/srv/a", true}, {"/srv/a/b/c", true}, {"/srv/ab", false}, {"/srv", false},
              {"/var/tmp/x/y", true}, {"/var/tmp/xy", false}, {"/", false}};
  for (const Row& row : rows) {
    INFO(row.path);
    CHECK(PolicyEnforcer::PathAllowed(row.path, allowed) == row.ok);
  }
  CHECK(PolicyEnforcer::PathAllowed("/anything", {"/"}));
}

TEST_CASE("a script cannot end or signal the daemon, whatever the policy", "[policy][guards]") {
  PolicyScope scope(Policy{});
  auto pool = MakePool(1);
  const std::string self = "(always: the signal would reach the daemon, not the script)";
  struct Row {
    const char* code;
    std::string message;
  } rows[] = {
      {"import os\nos._exit(3)",
       "interpd policy: os._exit denied (always: it would end the daemon, not the script; raise SystemExit or call "
       "sys.exit())"},
      {"import posix\nposix._exit(3)",
       "interpd policy: os._exit denied (always: it would end the daemon, not the script; raise SystemExit or call "
       "sys.exit())"},
      {"import os\nos.abort()", "interpd policy: os.abort denied (always: it would end the daemon, not the script)"},
      {"import signal\nsignal.raise_signal(signal.SIGTERM)", "interpd policy: signal.raise_signal denied " + self},
      {"import _signal\n_signal.raise_signal(15)", "interpd policy: signal.raise_signal denied " + self},
      {"import os, signal\nos.kill(os.getpid(), signal.SIGTERM)",
       "interpd policy: os.kill of the daemon's own process denied " + self},
      // (pid 0, -1 and the own process group are refused the same way; a
      // test that got them wrong would signal ctest and everything else.)
      {"import signal, threading\nsignal.pthread_kill(threading.get_ident(), signal.SIGUSR1)",
       "interpd policy: signal.pthread_kill denied " + self},
      {"import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(os.getpid()), signal.SIGTERM)",
       "interpd policy: signal.pidfd_send_signal of the daemon's own process denied (always: the signal would reach "
       "the daemon, not the script)"},
      {"import signal\nsignal.alarm(1)", "interpd policy: signal.alarm denied (always: SIGALRM would end the daemon)"},
      {"import signal\nsignal.setitimer(signal.ITIMER_REAL, 0.5)",
       "interpd policy: signal.setitimer denied (always: its timer signal would end the daemon)"},
      {"import _testinternalcapi",
       "interpd policy: importing _testinternalcapi denied (always: CPython's test modules can end the process)"},
  };
  for (const Row& row : rows) CheckDenied(*pool, row.code, row.message);
  // Harmless forms still work.
  CHECK(Run(*pool, "import signal\nsignal.alarm(0)").value == Value::Int(0));
  CHECK(Run(*pool, "import signal\nsignal.setitimer(signal.ITIMER_REAL, 0)").value ==
        Value::Tuple({Value::Float(0), Value::Float(0)}));
  // sys.exit ends the script only.
  TaskResult r = Run(*pool, "import sys\nsys.exit(4)");
  CHECK(r.status == TaskStatus::kExit);
  CHECK(r.exit_code == 4);
}

TEST_CASE("the guards survive reload(), sys.modules tricks and re-creating the module", "[policy][guards]") {
  PolicyScope scope(Policy{});
  auto pool = MakePool(1);
  const std::string exit_denied =
      "interpd policy: os._exit denied (always: it would end the daemon, not the script; raise SystemExit or call "
      "sys.exit())";
  CheckDenied(*pool, "import importlib, os\nimportlib.reload(os)\nos._exit(3)", exit_denied);
  CheckDenied(*pool, "import importlib, sys\nimport posix\nimportlib.reload(posix)\nposix._exit(3)", exit_denied);
  CheckDenied(*pool,
              "import sys\n"
              "saved = sys.modules.pop('posix')\n"
              "try:\n"
              "    import posix\n"
              "    posix._exit(3)\n"
              "finally:\n"
              "    sys.modules['posix'] = saved\n",
              "interpd policy: importing posix again denied (always: a new copy would undo the guards on functions "
              "that end the daemon)");
  const std::string recreate =
      " again denied (always: a new copy would undo the guards on functions that end the daemon)";
  CheckDenied(*pool,
              "import _imp, importlib.machinery\n"
              "_imp.create_builtin(importlib.machinery.ModuleSpec('posix', None))",
              "interpd policy: creating module posix" + recreate);
  CheckDenied(*pool,
              "import importlib.util\n"
              "importlib.util.module_from_spec(importlib.util.find_spec('_signal'))",
              "interpd policy: creating module _signal" + recreate);
  // An extension file exporting PyInit_posix (libpython does) under any
  // package name.
  CheckDenied(*pool,
              "import _imp, importlib.machinery, sys, sysconfig, os\n"
              "lib = os.path.join(sysconfig.get_config_var('LIBDIR'), sysconfig.get_config_var('LDLIBRARY'))\n"
              "_imp.create_dynamic(importlib.machinery.ModuleSpec('evil.posix', None, origin=lib))",
              "interpd policy: creating module evil.posix" + recreate);
  // No reachable copy of an original is left for gc to hand out (the
  // _imp wrappers hold theirs in an opaque capsule, untracked).
  TaskResult scan = Run(*pool,
                        "import gc\n"
                        "[f.__name__ for f in gc.get_objects()\n"
                        " if type(f).__name__ == 'builtin_function_or_method'\n"
                        " and f.__name__ in ('_exit', 'abort', 'raise_signal', 'create_builtin')\n"
                        " and f.__self__ is not None and type(f.__self__).__name__ != 'PyCapsule']");
  INFO(Describe(scan));
  CHECK(scan.value == Value::List({}));
}

TEST_CASE("faulthandler is refused where it loads (the compat lane) and stays an ImportError elsewhere",
          "[policy][guards]") {
  PolicyScope scope(Policy{});
  PoolOptions o;
  o.compat_workers = 1;
  auto pool = MakePool(1, o);
  TaskResult iso = Run(*pool, "import faulthandler");
  INFO(Describe(iso));
  REQUIRE(iso.error.has_value());
  CHECK(iso.error->type == "ImportError");
  TaskRequest compat;
  compat.code = "import faulthandler\nfaulthandler._sigsegv()";
  compat.lane = Lane::kCompat;
  TaskResult c = pool->Submit(compat).Get();
  INFO(Describe(c));
  REQUIRE(c.error.has_value());
  CHECK(c.error->message ==
        "interpd policy: this faulthandler function denied (always: it crashes the process or takes over the "
        "daemon's signals)");
  compat.code = "import faulthandler, signal\nfaulthandler.register(signal.SIGTERM)";
  CHECK(pool->Submit(compat).Get().error->type == "PermissionError");
  // The rest of faulthandler works.
  compat.code = "import faulthandler\nfaulthandler.is_enabled() in (True, False)";
  CHECK(pool->Submit(compat).Get().value == Value::Bool(true));
}

TEST_CASE("decimal works in every isolated interpreter, spares and recycled ones included", "[policy][compat]") {
  // CPython 3.12 runs _decimal's single-phase init in an isolated
  // interpreter before refusing it, and the second interpreter to do so
  // crashed the process; interpd refuses that import up front there, and
  // decimal uses its pure-Python implementation.
  PoolOptions o;
  o.fresh_spares = 1;
  o.recycle.max_tasks = 2;
  auto pool = MakePool(2, o);
  const std::string code = "import fractions, decimal\n(str(decimal.Decimal(1) / 7), str(fractions.Fraction(2, 4)))";
  for (int i = 0; i < 6; ++i) {
    TaskRequest r;
    r.code = code;
    if (i % 3 == 2) {
      r.isolation = Isolation::kFresh;
    } else {
      r.worker = i % 2;
    }
    TaskResult res = pool->Submit(r).Get();
    INFO(Describe(res));
    CHECK(res.value == Value::Tuple({Value::Str("0.1428571428571428571428571429"), Value::Str("1/2")}));
  }
}

TEST_CASE("the policy never applies to the main interpreter", "[policy]") {
  Policy p;
  p.deny_subprocess = true;
  p.deny_socket = true;
  PolicyScope scope(p);
  // The main interpreter is idle in interpd; borrow it for a moment.
  PyGILState_STATE g = PyGILState_Ensure();
  const int rc = PyRun_SimpleString(
      "import socket, os\n"
      "socket.socket().close()\n"
      "assert os.system('true') == 0\n");
  PyGILState_Release(g);
  CHECK(rc == 0);
  auto pool = MakePool(1);
  CheckDenied(*pool, "import socket\nsocket.socket()", "interpd policy: socket denied (policy.deny_socket)");
}
