// Process-global state owned by this file (crossinterp.c style map):
//   g_current    the policy the hook enforces; swapped by Set(), read by the
//                hook on any thread (acquire).
//   g_all        every policy ever set, owning them: a hook may still be
//                reading an old one, so none is freed before exit.
//   g_all_mu     guards g_all.
// Per interpreter (in PyInterpreterState_GetDict, under its GIL):
//   "interpd.guarded"  the frozenset of module names whose functions
//                      InstallProcessGuards() replaced (invariant 2).
//   "interpd.isolated" present in isolated worker interpreters.
#include "policy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace interpd {

namespace {

// A Policy plus what the hook needs precomputed.
struct Compiled {
  Policy policy;
  std::vector<std::string> allowed;  // write_paths, absolute and resolved
};

std::atomic<const Compiled*> g_current{nullptr};
std::mutex g_all_mu;
std::vector<std::unique_ptr<Compiled>>& AllPolicies() {
  static auto* all = new std::vector<std::unique_ptr<Compiled>>();  // lives until exit
  return *all;
}

constexpr const char kGuardedKey[] = "interpd.guarded";
constexpr const char kIsolatedKey[] = "interpd.isolated";

bool InterpreterIsolated() {
  PyObject* dict = PyInterpreterState_GetDict(PyInterpreterState_Get());  // borrowed
  return dict != nullptr && PyDict_GetItemString(dict, kIsolatedKey) != nullptr;
}

std::string_view LastComponent(std::string_view name) {
  const size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

// CPython's own test extensions exist to poke at internals; several end the
// process on purpose (_testcapi.fatal_error, ...).
bool IsTestModule(std::string_view name) { return name.rfind("_test", 0) == 0; }

int Deny(const std::string& what, const char* rule) {
  PyErr_Format(PyExc_PermissionError, "interpd policy: %s denied (%s)", what.c_str(), rule);
  return -1;
}

constexpr const char kSelfRule[] = "always: the signal would reach the daemon, not the script";

// Whether the guards replaced functions of the extension module `name`
// (last component) in the calling thread's interpreter. Creating it again
// would hand a script the originals (invariant 2).
bool IsGuardedModule(std::string_view name) {
  PyObject* dict = PyInterpreterState_GetDict(PyInterpreterState_Get());  // borrowed
  PyObject* guarded = dict != nullptr ? PyDict_GetItemString(dict, kGuardedKey) : nullptr;  // borrowed
  if (guarded == nullptr) return false;
  const std::string_view last = LastComponent(name);
  PyObject* key = PyUnicode_FromStringAndSize(last.data(), static_cast<Py_ssize_t>(last.size()));
  const int found = key != nullptr ? PySet_Contains(guarded, key) : -1;
  Py_XDECREF(key);
  if (found < 0) PyErr_Clear();
  return found == 1;
}

// Text of a str/bytes/os.PathLike argument; false (no exception) for
// anything else, such as a file descriptor.
bool PathText(PyObject* obj, std::string* out) {
  if (obj == nullptr || obj == Py_None || PyLong_Check(obj)) return false;
  PyObject* bytes = nullptr;
  if (!PyUnicode_FSConverter(obj, &bytes)) {
    PyErr_Clear();
    return false;
  }
  out->assign(PyBytes_AS_STRING(bytes), static_cast<size_t>(PyBytes_GET_SIZE(bytes)));
  Py_DECREF(bytes);
  return true;
}

// The directory a path relative to `dir_fd` is taken from.
std::string BaseDirectory(PyObject* dir_fd) {
  if (dir_fd != nullptr && PyLong_Check(dir_fd)) {
    const long fd = PyLong_AsLong(dir_fd);
    if (fd >= 0 && !PyErr_Occurred()) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
      if (!ec) return target.string();
    }
    PyErr_Clear();
  }
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  return ec ? std::string("/") : cwd.string();
}

PyObject* Arg(PyObject* args, Py_ssize_t i) {
  return args != nullptr && PyTuple_Check(args) && i >= 0 && i < PyTuple_GET_SIZE(args) ? PyTuple_GET_ITEM(args, i)
                                                                                       : nullptr;
}

// One written path of an event: argument `path_arg`, relative to the
// directory descriptor in argument `dir_fd_arg` (-1: none).
int CheckWrite(const Compiled& c, PyObject* args, int path_arg, int dir_fd_arg) {
  std::string path;
  if (!PathText(Arg(args, path_arg), &path)) return 0;
  const std::string base = BaseDirectory(Arg(args, dir_fd_arg));
  // Both readings must be allowed: the path itself (what remove/rename
  // touch) and, when it exists, what it points to (what open/chmod touch).
  const std::string here = PolicyEnforcer::ResolveForWrite(path, base, false);
  const std::string there = PolicyEnforcer::ResolveForWrite(path, base, true);
  for (const std::string& p : {here, there}) {
    if (!PolicyEnforcer::PathAllowed(p, c.allowed)) return Deny("writing \"" + p + "\"", "policy.write_paths");
  }
  return 0;
}

bool OpensForWriting(PyObject* args) {
  PyObject* mode = Arg(args, 1);
  if (mode != nullptr && PyUnicode_Check(mode)) {
    const char* m = PyUnicode_AsUTF8(mode);
    if (m == nullptr) {
      PyErr_Clear();
      return true;  // unreadable: assume the worst
    }
    if (std::string_view(m).find_first_of("wax+") != std::string_view::npos) return true;
  }
  PyObject* flags = Arg(args, 2);
  if (flags != nullptr && PyLong_Check(flags)) {
    const long f = PyLong_AsLong(flags);
    if (PyErr_Occurred()) {
      PyErr_Clear();
      return true;
    }
    if ((f & O_ACCMODE) != O_RDONLY || (f & (O_CREAT | O_TRUNC | O_APPEND)) != 0) return true;
  }
  return false;
}

bool LongArg(PyObject* args, Py_ssize_t i, long long* out) {
  PyObject* v = Arg(args, i);
  if (v == nullptr || !PyLong_Check(v)) return false;
  *out = PyLong_AsLongLong(v);
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}

// os.kill(pid, sig) and os.killpg(pgid, sig).
int CheckKill(const Compiled& c, PyObject* args, bool group) {
  long long target = 0;
  long long sig = 0;
  if (!LongArg(args, 0, &target) || !LongArg(args, 1, &sig)) return 0;  // os.kill raises TypeError itself
  if (sig == 0) return 0;  // probing for existence sends nothing
  const long long me = getpid();
  const long long my_group = getpgrp();
  const bool self = group ? (target == 0 || target == my_group)
                          : (target == me || target == 0 || target == -1 || target == -my_group);
  const char* fn = group ? "os.killpg" : "os.kill";
  if (self) return Deny(std::string(fn) + " of the daemon's own process", kSelfRule);
  if (c.policy.deny_kill) return Deny(std::string(fn) + "(" + std::to_string(target) + ")", "policy.deny_kill");
  return 0;
}

enum class Event {
  kOther,
  kSubprocess,
  kKill,
  kKillpg,
  kPthreadKill,
  kCtypes,
  kSocket,
  kImport,
  kOpen,
  kWrite,  // a path argument, and maybe a dir_fd argument
  kRenameLike,  // src and dst are both written (os.rename, os.replace)
  kLinkLike,    // dst is written (os.symlink, os.link)
};

struct EventInfo {
  Event kind = Event::kOther;
  int path_arg = 0;
  int dir_fd_arg = -1;
};

EventInfo Classify(std::string_view e) {
  struct Row {
    std::string_view name;
    EventInfo info;
  };
  static constexpr Row kRows[] = {
      {"subprocess.Popen", {Event::kSubprocess}},
      {"os.system", {Event::kSubprocess}},
      {"os.exec", {Event::kSubprocess}},
      {"os.posix_spawn", {Event::kSubprocess}},
      {"os.spawn", {Event::kSubprocess}},
      {"os.fork", {Event::kSubprocess}},
      {"os.forkpty", {Event::kSubprocess}},
      {"pty.spawn", {Event::kSubprocess}},
      {"os.kill", {Event::kKill}},
      {"os.killpg", {Event::kKillpg}},
      {"signal.pthread_kill", {Event::kPthreadKill}},
      {"socket.__new__", {Event::kSocket}},
      {"import", {Event::kImport}},
      {"open", {Event::kOpen}},
      {"os.remove", {Event::kWrite, 0, 1}},
      {"os.rmdir", {Event::kWrite, 0, 1}},
      {"os.mkdir", {Event::kWrite, 0, 2}},
      {"os.chmod", {Event::kWrite, 0, 2}},
      {"os.chown", {Event::kWrite, 0, 3}},
      {"os.utime", {Event::kWrite, 0, 3}},
      {"os.truncate", {Event::kWrite, 0, -1}},
      {"os.setxattr", {Event::kWrite, 0, -1}},
      {"os.removexattr", {Event::kWrite, 0, -1}},
      {"os.mkfifo", {Event::kWrite, 0, -1}},
      {"os.mknod", {Event::kWrite, 0, -1}},
      {"os.rename", {Event::kRenameLike, 0, 2}},
      {"os.symlink", {Event::kLinkLike, 1, 2}},
      {"os.link", {Event::kLinkLike, 1, 3}},
  };
  if (e.rfind("ctypes.", 0) == 0) return {Event::kCtypes};
  for (const Row& r : kRows) {
    if (r.name == e) return r.info;
  }
  return {};
}

int AuditHook(const char* event, PyObject* args, void*) {
  PyThreadState* ts = compat::CurrentThreadState();
  if (ts == nullptr) return 0;
  PyInterpreterState* interp = PyThreadState_GetInterpreter(ts);
  if (interp == PyInterpreterState_Main()) return 0;  // invariant 1
  const EventInfo info = Classify(event);
  if (info.kind == Event::kOther) return 0;
  const Compiled* c = g_current.load(std::memory_order_acquire);
  if (c == nullptr) return 0;
  const Policy& p = c->policy;
  switch (info.kind) {
    case Event::kOther:
      return 0;
    case Event::kSubprocess:
      return p.deny_subprocess ? Deny("subprocess (" + std::string(event) + ")", "policy.deny_subprocess") : 0;
    case Event::kKill:
      return CheckKill(*c, args, false);
    case Event::kKillpg:
      return CheckKill(*c, args, true);
    case Event::kPthreadKill: {
      long long sig = 0;
      // Every thread of this process is the daemon's.
      if (LongArg(args, 1, &sig) && sig != 0) return Deny("signal.pthread_kill", kSelfRule);
      return 0;
    }
    case Event::kCtypes:
      return p.deny_ctypes ? Deny("ctypes (" + std::string(event) + ")", "policy.deny_ctypes") : 0;
    case Event::kSocket:
      return p.deny_socket ? Deny("socket", "policy.deny_socket") : 0;
    case Event::kImport: {
      PyObject* name_obj = Arg(args, 0);
      if (name_obj == nullptr || !PyUnicode_Check(name_obj)) return 0;
      const char* raw = PyUnicode_AsUTF8(name_obj);
      if (raw == nullptr) {
        PyErr_Clear();
        return 0;
      }
      const std::string_view name(raw);
      if (compat::InitUnsafeInIsolatedInterpreter(name) && InterpreterIsolated()) {
        // Not a policy refusal: an ImportError, which the importer of this
        // accelerator module expects and answers with its fallback.
        PyErr_Format(PyExc_ImportError,
                     "interpd: %s is not imported in isolated interpreters on this CPython version (its "
                     "single-phase init would corrupt state other interpreters use)",
                     raw);
        return -1;
      }
      if (IsTestModule(LastComponent(name))) {
        return Deny("importing " + std::string(name), "always: CPython's test modules can end the process");
      }
      if (p.deny_ctypes && (name == "ctypes" || name == "_ctypes")) {
        return Deny("ctypes (import " + std::string(name) + ")", "policy.deny_ctypes");
      }
      if (IsGuardedModule(name)) {
        return Deny("importing " + std::string(name) + " again",
                    "always: a new copy would undo the guards on functions that end the daemon");
      }
      return 0;
    }
    case Event::kOpen:
      if (!p.restrict_writes || !OpensForWriting(args)) return 0;
      return CheckWrite(*c, args, 0, -1);
    case Event::kWrite:
      return p.restrict_writes ? CheckWrite(*c, args, info.path_arg, info.dir_fd_arg) : 0;
    case Event::kRenameLike:
      if (!p.restrict_writes) return 0;
      if (CheckWrite(*c, args, 0, 2) != 0) return -1;
      return CheckWrite(*c, args, 1, 3);
    case Event::kLinkLike:
      return p.restrict_writes ? CheckWrite(*c, args, info.path_arg, info.dir_fd_arg) : 0;
  }
  return 0;
}

// ---- Guards: replacements for functions that end the process ----

PyObject* DenyCall(const char* what, const char* why) {
  PyErr_Format(PyExc_PermissionError, "interpd policy: %s denied (always: %s)", what, why);
  return nullptr;
}

PyObject* GuardExit(PyObject*, PyObject*, PyObject*) {
  return DenyCall("os._exit", "it would end the daemon, not the script; raise SystemExit or call sys.exit()");
}
PyObject* GuardAbort(PyObject*, PyObject*, PyObject*) {
  return DenyCall("os.abort", "it would end the daemon, not the script");
}
PyObject* GuardRaiseSignal(PyObject*, PyObject*, PyObject*) {
  return DenyCall("signal.raise_signal", "the signal would reach the daemon, not the script");
}

// The first positional argument as a float; `ok` false if not a number.
double FirstNumber(PyObject* args, Py_ssize_t index, bool* ok) {
  PyObject* v = Arg(args, index);
  *ok = false;
  if (v == nullptr) return 0;
  const double d = PyFloat_AsDouble(v);
  if (d == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    return 0;
  }
  *ok = true;
  return d;
}

// signal.alarm(0) and signal.setitimer(which, 0) only cancel a timer, and
// no script can have set one: answer what the real functions would.
PyObject* GuardAlarm(PyObject*, PyObject* args, PyObject*) {
  bool ok = false;
  if (FirstNumber(args, 0, &ok) == 0 && ok) return PyLong_FromLong(0);
  return DenyCall("signal.alarm", "SIGALRM would end the daemon");
}
PyObject* GuardSetitimer(PyObject*, PyObject* args, PyObject*) {
  bool ok = false;
  if (FirstNumber(args, 1, &ok) == 0 && ok) return Py_BuildValue("(dd)", 0.0, 0.0);
  return DenyCall("signal.setitimer", "its timer signal would end the daemon");
}

// signal.pidfd_send_signal(pidfd, sig, siginfo=None, flags=0): no audit
// event, so the guard checks whose pidfd it is and sends the signal itself.
PyObject* GuardPidfdSendSignal(PyObject*, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"pidfd", "sig", "siginfo", "flags", nullptr};
  int pidfd = -1;
  int sig = 0;
  PyObject* siginfo = Py_None;
  int flags = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ii|Oi:pidfd_send_signal", const_cast<char**>(kKeywords), &pidfd,
                                   &sig, &siginfo, &flags)) {
    return nullptr;
  }
  if (siginfo != Py_None) {
    PyErr_SetString(PyExc_TypeError, "siginfo must be None");
    return nullptr;
  }
  long long target = -1;
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(pidfd));
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("Pid:", 0) == 0) target = std::atoll(line.c_str() + 4);
  }
  if (sig != 0 && target == getpid()) return DenyCall("signal.pidfd_send_signal of the daemon's own process",
                                                      "the signal would reach the daemon, not the script");
  const Compiled* c = g_current.load(std::memory_order_acquire);
  if (sig != 0 && c != nullptr && c->policy.deny_kill) {
    PyErr_SetString(PyExc_PermissionError, "interpd policy: signal.pidfd_send_signal denied (policy.deny_kill)");
    return nullptr;
  }
  long r;
  Py_BEGIN_ALLOW_THREADS
  r = syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, flags);
  Py_END_ALLOW_THREADS
  if (r < 0) return PyErr_SetFromErrno(PyExc_OSError);
  Py_RETURN_NONE;
}

PyObject* GuardFaulthandler(PyObject*, PyObject*, PyObject*) {
  return DenyCall("this faulthandler function", "it crashes the process or takes over the daemon's signals");
}

// Wrappers keep the function they wrap in a capsule as their `self`
// (opaque to Python; the original itself is untracked by the GC, so
// gc.get_objects() cannot hand it out).
PyObject* Original(PyObject* capsule) {
  return static_cast<PyObject*>(PyCapsule_GetPointer(capsule, "interpd.guarded_original"));
}

// _posixsubprocess.fork_exec: what subprocess.Popen calls after its audit
// event, and a way around it when called directly (it raises none).
PyObject* GuardForkExec(PyObject* capsule, PyObject* args, PyObject* kwargs) {
  PyObject* original = Original(capsule);
  if (original == nullptr) return nullptr;
  const Compiled* c = g_current.load(std::memory_order_acquire);
  if (c != nullptr && c->policy.deny_subprocess) {
    PyErr_SetString(PyExc_PermissionError,
                    "interpd policy: subprocess (_posixsubprocess.fork_exec) denied (policy.deny_subprocess)");
    return nullptr;
  }
  return PyObject_Call(original, args, kwargs);
}

// _imp.create_builtin(spec) / _imp.create_dynamic(spec, file=None): refuse
// to build a guarded module again.
PyObject* CallOriginal(PyObject* capsule, PyObject* args, PyObject* kwargs) {
  PyObject* original = Original(capsule);
  if (original == nullptr) return nullptr;
  PyObject* spec = Arg(args, 0);
  if (spec != nullptr) {
    PyObject* name = PyObject_GetAttrString(spec, "name");
    if (name == nullptr) PyErr_Clear();
    const char* text = name != nullptr && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : nullptr;
    if (text == nullptr) PyErr_Clear();
    const bool guarded = text != nullptr && IsGuardedModule(text);
    const std::string shown = text != nullptr ? text : "";
    Py_XDECREF(name);
    if (guarded) {
      PyErr_Format(PyExc_PermissionError,
                   "interpd policy: creating module %s again denied (always: a new copy would undo the guards on "
                   "functions that end the daemon)",
                   shown.c_str());
      return nullptr;
    }
  }
  return PyObject_Call(original, args, kwargs);
}

void FreeOriginal(PyObject* capsule) {
  Py_XDECREF(static_cast<PyObject*>(PyCapsule_GetPointer(capsule, "interpd.guarded_original")));
}

#define INTERPD_GUARD(fn) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fn))

PyMethodDef kExitDef = {"_exit", INTERPD_GUARD(GuardExit), METH_VARARGS | METH_KEYWORDS,
                        "Refused by interpd: use sys.exit()."};
PyMethodDef kAbortDef = {"abort", INTERPD_GUARD(GuardAbort), METH_VARARGS | METH_KEYWORDS, "Refused by interpd."};
PyMethodDef kRaiseSignalDef = {"raise_signal", INTERPD_GUARD(GuardRaiseSignal), METH_VARARGS | METH_KEYWORDS,
                               "Refused by interpd."};
PyMethodDef kAlarmDef = {"alarm", INTERPD_GUARD(GuardAlarm), METH_VARARGS | METH_KEYWORDS,
                         "Refused by interpd (alarm(0) is accepted)."};
PyMethodDef kSetitimerDef = {"setitimer", INTERPD_GUARD(GuardSetitimer), METH_VARARGS | METH_KEYWORDS,
                             "Refused by interpd (a zero timer is accepted)."};
PyMethodDef kPidfdDef = {"pidfd_send_signal", INTERPD_GUARD(GuardPidfdSendSignal), METH_VARARGS | METH_KEYWORDS,
                         "pidfd_send_signal(pidfd, sig, siginfo=None, flags=0), guarded by interpd."};
PyMethodDef kFaulthandlerDef = {"refused", INTERPD_GUARD(GuardFaulthandler), METH_VARARGS | METH_KEYWORDS,
                                "Refused by interpd."};
PyMethodDef kForkExecDef = {"fork_exec", INTERPD_GUARD(GuardForkExec), METH_VARARGS | METH_KEYWORDS,
                            "_posixsubprocess.fork_exec, guarded by interpd."};
PyMethodDef kCreateBuiltinDef = {"create_builtin", INTERPD_GUARD(CallOriginal), METH_VARARGS | METH_KEYWORDS,
                                 "_imp.create_builtin, guarded by interpd."};
PyMethodDef kCreateDynamicDef = {"create_dynamic", INTERPD_GUARD(CallOriginal), METH_VARARGS | METH_KEYWORDS,
                                 "_imp.create_dynamic, guarded by interpd."};

#undef INTERPD_GUARD

// Sets module.<name> = a new function from `def` (if the module has that
// attribute: a platform may lack it). Returns -1 with an exception set.
int Replace(PyObject* module, const char* name, PyMethodDef* def, PyObject* self = nullptr) {
  PyObject* old = nullptr;
  const int found = compat::GetOptionalAttrString(module, name, &old);
  if (found <= 0) return found;
  Py_DECREF(old);
  PyObject* fn = PyCFunction_NewEx(def, self, nullptr);
  if (fn == nullptr) return -1;
  const int r = PyObject_SetAttrString(module, name, fn);
  Py_DECREF(fn);
  return r;
}

// Wraps module.<name> with `def`, keeping the original out of Python's reach.
int Wrap(PyObject* module, const char* name, PyMethodDef* def) {
  PyObject* original = nullptr;
  const int found = compat::GetOptionalAttrString(module, name, &original);
  if (found <= 0) return found;
  if (PyObject_GC_IsTracked(original)) PyObject_GC_UnTrack(original);
  PyObject* capsule = PyCapsule_New(original, "interpd.guarded_original", FreeOriginal);  // owns `original`
  if (capsule == nullptr) {
    Py_DECREF(original);
    return -1;
  }
  const int r = Replace(module, name, def, capsule);
  Py_DECREF(capsule);
  return r;
}

// The module, imported; nullptr without an exception if it cannot load here
// (faulthandler is single-phase: only the compat lane has it).
PyObject* ImportOptional(const char* name) {
  PyObject* m = PyImport_ImportModule(name);
  if (m == nullptr && PyErr_ExceptionMatches(PyExc_ImportError)) PyErr_Clear();
  return m;
}

}  // namespace

Status PolicyEnforcer::InstallHook() {
  if (g_current.load(std::memory_order_acquire) == nullptr) Set(Policy{});
  if (PySys_AddAuditHook(AuditHook, nullptr) != 0) return Status::Internal("PySys_AddAuditHook failed");
  return Status::OK();
}

void PolicyEnforcer::Set(const Policy& policy) {
  auto c = std::make_unique<Compiled>();
  c->policy = policy;
  for (const std::string& p : policy.write_paths) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(p, ec);
    std::filesystem::path resolved = ec ? std::filesystem::path(p) : std::filesystem::weakly_canonical(abs, ec);
    if (ec) resolved = abs.lexically_normal();
    std::string s = resolved.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    c->allowed.push_back(std::move(s));
  }
  std::lock_guard<std::mutex> lock(g_all_mu);
  g_current.store(c.get(), std::memory_order_release);
  AllPolicies().push_back(std::move(c));
}

Policy PolicyEnforcer::Current() {
  const Compiled* c = g_current.load(std::memory_order_acquire);
  return c != nullptr ? c->policy : Policy{};
}

std::string PolicyEnforcer::ResolveForWrite(const std::string& path, const std::string& base, bool follow) {
  namespace fs = std::filesystem;
  fs::path full = fs::path(path).is_absolute() ? fs::path(path) : fs::path(base) / path;
  full = full.lexically_normal();
  std::error_code ec;
  if (follow) {
    fs::path target = fs::canonical(full, ec);
    if (!ec) return target.string();
  }
  fs::path leaf = full.filename();
  fs::path dir = full.parent_path();
  if (leaf.empty() || leaf == "." || leaf == "..") {
    fs::path whole = fs::weakly_canonical(full, ec);
    return ec ? full.string() : whole.string();
  }
  fs::path resolved_dir = fs::weakly_canonical(dir, ec);
  if (ec) resolved_dir = dir;
  std::string out = (resolved_dir / leaf).string();
  return out;
}

bool PolicyEnforcer::PathAllowed(const std::string& resolved, const std::vector<std::string>& allowed) {
  for (const std::string& a : allowed) {
    if (a == "/") return true;
    if (resolved == a) return true;
    if (resolved.size() > a.size() && resolved.compare(0, a.size(), a) == 0 && resolved[a.size()] == '/') return true;
  }
  return false;
}

Status PolicyEnforcer::InstallProcessGuards(bool isolated) {
  struct Target {
    const char* module;
    std::vector<std::pair<const char*, PyMethodDef*>> names;
  };
  static const Target kTargets[] = {
      {"posix", {{"_exit", &kExitDef}, {"abort", &kAbortDef}}},
      {"os", {{"_exit", &kExitDef}, {"abort", &kAbortDef}}},
      {"_signal",
       {{"raise_signal", &kRaiseSignalDef}, {"alarm", &kAlarmDef}, {"setitimer", &kSetitimerDef},
        {"pidfd_send_signal", &kPidfdDef}}},
      {"signal",
       {{"raise_signal", &kRaiseSignalDef}, {"alarm", &kAlarmDef}, {"setitimer", &kSetitimerDef},
        {"pidfd_send_signal", &kPidfdDef}}},
      {"faulthandler",
       {{"_sigsegv", &kFaulthandlerDef}, {"_sigabrt", &kFaulthandlerDef}, {"_sigfpe", &kFaulthandlerDef},
        {"_read_null", &kFaulthandlerDef}, {"_fatal_error", &kFaulthandlerDef},
        {"_fatal_error_c_thread", &kFaulthandlerDef}, {"_stack_overflow", &kFaulthandlerDef},
        {"register", &kFaulthandlerDef}, {"dump_traceback_later", &kFaulthandlerDef}}},
  };
  // The extension modules guarded here: creating them again is refused.
  // (os and signal are Python modules that take their functions from posix
  // and _signal: importing them again is harmless.)
  PyObject* guarded = PySet_New(nullptr);
  auto note = [guarded](const char* module) {
    if (std::string_view(module) == "os" || std::string_view(module) == "signal") return;
    PyObject* name = PyUnicode_FromString(module);
    if (name == nullptr || PySet_Add(guarded, name) != 0) PyErr_Clear();
    Py_XDECREF(name);
  };
  for (const Target& t : kTargets) {
    if (guarded == nullptr) break;
    // faulthandler is single-phase: an isolated interpreter refuses it, but
    // only after running its init function. Do not run it for nothing.
    if (isolated && std::string_view(t.module) == "faulthandler") continue;
    PyObject* m = ImportOptional(t.module);
    if (m == nullptr) {
      if (PyErr_Occurred()) break;
      continue;
    }
    int r = 0;
    for (const auto& [name, def] : t.names) {
      if ((r = Replace(m, name, def)) < 0) break;
    }
    Py_DECREF(m);
    if (r < 0) break;
    note(t.module);
  }
  struct Wrapped {
    const char* module;
    const char* name;
    PyMethodDef* def;
  };
  static const Wrapped kWrapped[] = {
      {"_posixsubprocess", "fork_exec", &kForkExecDef},
      {"_imp", "create_builtin", &kCreateBuiltinDef},
      {"_imp", "create_dynamic", &kCreateDynamicDef},
  };
  for (const Wrapped& w : kWrapped) {
    if (guarded == nullptr || PyErr_Occurred()) break;
    PyObject* m = ImportOptional(w.module);
    if (m == nullptr) continue;
    if (Wrap(m, w.name, w.def) == 0) note(w.module);
    Py_DECREF(m);
  }
  if (guarded != nullptr && !PyErr_Occurred()) {
    PyObject* frozen = PyFrozenSet_New(guarded);
    PyObject* dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (frozen == nullptr || dict == nullptr || PyDict_SetItemString(dict, kGuardedKey, frozen) != 0 ||
        (isolated && PyDict_SetItemString(dict, kIsolatedKey, Py_True) != 0)) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "no interpreter dict");
    }
    Py_XDECREF(frozen);
  }
  Py_XDECREF(guarded);
  if (PyErr_Occurred()) {
    PyErr_Print();
    return Status::Internal("cannot install interpd's process guards in a worker interpreter");
  }
  return Status::OK();
}

}  // namespace interpd
