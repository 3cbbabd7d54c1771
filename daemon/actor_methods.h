// The actor.* JSON-RPC methods (PROTOCOL.md): spawn, call, send, stop, list.
//
// Thread safety: handlers and replies run on the I/O thread (the pool's
// dispatcher posts there), so a call's timeout timer and its reply never
// race.
#ifndef INTERPD_DAEMON_ACTOR_METHODS_H_
#define INTERPD_DAEMON_ACTOR_METHODS_H_

#include "interpd/status.h"
#include "server.h"

namespace interpd::daemon {

// REQUIRES: before server.Listen().
Status RegisterActorMethods(Server& server);

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_ACTOR_METHODS_H_
