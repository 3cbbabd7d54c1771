// Policy: what scripts in worker interpreters may do to the process they
// share with the daemon.
//
// Two mechanisms (docs/security.md says what each does and does not stop):
//   - An audit hook (PEP 578), installed once before CPython starts, that
//     sees the audit events of every interpreter and acts only on worker
//     interpreters (any interpreter but the main one). It enforces the
//     configurable rules of interpd::Policy (runtime.h) and, always, the
//     guards below that have an audit event (signalling the daemon itself,
//     re-importing a guarded module, importing CPython's test modules).
//   - Guards installed into each worker interpreter when it starts
//     (InstallProcessGuards): functions that end or take over the whole
//     process and raise no audit event (os._exit, os.abort,
//     signal.raise_signal, signal.alarm, ...) are replaced, in every module
//     that exposes them, by functions that raise PermissionError. They are
//     not configurable: a script must not end the daemon.
// A refusal raises PermissionError "interpd policy: <what> denied (<rule>)",
// where <rule> is the configuration key (policy.deny_subprocess) or
// "always: <why>" for a guard.
//
// Thread safety: SetPolicy() may run on any thread at any time; the hook
// reads the current policy through one acquire load. Policies are never
// freed (a reload makes a new one), so a hook that loaded one may keep
// using it. InstallProcessGuards() runs on a worker thread with its
// interpreter's GIL.
//
// Invariants:
//   1. The hook never refuses anything in the main interpreter.
//   2. Guards are installed before a worker interpreter runs any script;
//      after that, the interpreter refuses to create the guarded modules
//      again (import, _imp.create_builtin, _imp.create_dynamic), which is
//      how a script would get the original functions back.
#ifndef INTERPD_POLICY_H_
#define INTERPD_POLICY_H_

#include <string>

#include "interpd/runtime.h"
#include "interpd/status.h"
#include "python_compat.h"

namespace interpd {

class PolicyEnforcer {
 public:
  PolicyEnforcer() = delete;

  // Adds the audit hook. REQUIRES: before Py_InitializeFromConfig.
  static Status InstallHook();
  static void Set(const Policy& policy);
  static Policy Current();

  // Replaces the process-ending functions in the calling interpreter.
  // `isolated`: it has its own GIL and allocator (not the compat lane).
  // REQUIRES: a worker interpreter's GIL, before it runs any script.
  static Status InstallProcessGuards(bool isolated);

  // The path a write to `path` would touch, absolute and with the symlinks
  // of its directory resolved (and of the file itself when `follow` and it
  // exists). Relative paths are taken from `base` (a directory). Exposed
  // for tests.
  static std::string ResolveForWrite(const std::string& path, const std::string& base, bool follow);
  // Whether `resolved` is one of `allowed` or below one of them (whole path
  // components: /srv/a allows /srv/a/x, not /srv/ab). Exposed for tests.
  static bool PathAllowed(const std::string& resolved, const std::vector<std::string>& allowed);
};

}  // namespace interpd

#endif  // INTERPD_POLICY_H_
