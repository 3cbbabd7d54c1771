// The daemon's JSON-RPC methods (PROTOCOL.md "Methods"): ping, version,
// run, cancel, stats. Actor methods register themselves elsewhere.
//
// Thread safety: handlers run on the I/O thread; run completions arrive
// there too (the pool's dispatcher posts to the io_context).
#ifndef INTERPD_DAEMON_RPC_METHODS_H_
#define INTERPD_DAEMON_RPC_METHODS_H_

#include "interpd/status.h"
#include "interpd/task.h"
#include "interpd/value.h"
#include "server.h"

namespace interpd::daemon {

// REQUIRES: before server.Listen().
Status RegisterCoreMethods(Server& server);

// A TaskResult as the `run` result object of PROTOCOL.md. A final value that
// JSON cannot carry turns the result into status "error" with type
// interpd.NotRepresentable, as the protocol says.
Value RunResultToValue(const TaskResult& result, const protocol::Limits& limits);

// The `stats` result.
Value StatsToValue(Server& server);

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_RPC_METHODS_H_
