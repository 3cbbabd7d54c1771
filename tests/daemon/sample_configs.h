// Configuration texts shared by the daemon tests.
//
// Thread safety: constants.
//
// Invariants:
//   1. kEveryKeyChanged sets every key of ConfigKeys to a valid value that
//      differs from its default (config_test checks this through Diff), using
//      every spelling the loader accepts: size strings and plain byte counts,
//      integer and fractional seconds, names and numeric ids.
#ifndef INTERPD_TESTS_DAEMON_SAMPLE_CONFIGS_H_
#define INTERPD_TESTS_DAEMON_SAMPLE_CONFIGS_H_

#include <string_view>

namespace interpd::daemon::testing {

inline constexpr std::string_view kEveryKeyChanged = R"toml(
[server]
socket = "/srv/interpd/api.sock"
socket_mode = "0600"
allow_users = ["alice", 1001, "svc-batch"]
allow_groups = ["interpd-clients", "2000"]
max_connections = 200
max_in_flight_per_connection = 8
max_frame_bytes = "4MiB"
max_json_depth = 64
max_batch = 500
shutdown_grace = 12.5
http_listen = "127.0.0.1:8080"
http_allow_remote = true
http_idle_timeout = 2.5

[workers]
count = 6
queue_limit = 2000
idle_spin_us = 0
interrupt_grace = 0.25
compat_count = 2
fresh_spares = 0

[tasks]
default_timeout = 10
max_timeout = 120
output_limit = 65536
code_cache_entries = 0
default_lane = "auto"

[limits]
memory_limit = "256MiB"
max_memory_limit = 1073741824
cpu_seconds = 1.5

[recycle]
max_tasks = 1000
max_memory = "2GiB"
max_age = 3600

[policy]
deny_subprocess = false
deny_kill = false
deny_ctypes = false
deny_socket = true
restrict_writes = true
write_paths = ["/srv/out", "/tmp"]

[actors]
workers = 2
call_timeout = 0
max_restarts = 7
restart_window = 5.5

[python]
home = "/opt/python3.13"
path = ["/opt/interpd/lib", "/srv/app"]
site = false

[log]
level = "debug"
target = "journal"
)toml";

}  // namespace interpd::daemon::testing

#endif  // INTERPD_TESTS_DAEMON_SAMPLE_CONFIGS_H_
