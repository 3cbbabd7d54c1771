// The commands about the daemon itself: ping, version, stats.
//
// Human-readable by default; --json prints the daemon's result object as
// one line of JSON for scripts (jq and the like).
//
// Thread safety: none; one command on one thread.
#ifndef INTERPD_CLIENTS_INTERPCTL_ADMIN_COMMANDS_H_
#define INTERPD_CLIENTS_INTERPCTL_ADMIN_COMMANDS_H_

#include <string>

#include "command_context.h"
#include "interpd/value.h"

namespace interpd::clients {

// The protocol version this interpctl speaks (PROTOCOL.md).
inline constexpr int kProtocolVersion = 1;

// "pong from SOCKET in 0.12 ms".
int PingCommand(CommandContext& context);

// interpctl's version, then the daemon's (or why it could not be asked).
int VersionCommand(CommandContext& context, bool json);

int StatsCommand(CommandContext& context, bool json);

// The `stats` result as a summary and a table of workers. Missing or
// unexpected fields print as "-": the shape is not part of the protocol
// contract beyond "an object", and a newer daemon may add fields.
std::string FormatStats(const Value& stats);

// Seconds as "3d 04h 05m", "2h 03m 04s", "5m 06s" or "7.2s".
std::string FormatDuration(double seconds);

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_ADMIN_COMMANDS_H_
