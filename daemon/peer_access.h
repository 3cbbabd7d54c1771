// PeerAccess: who may talk to the daemon, checked with SO_PEERCRED.
//
// Thread safety: an AccessPolicy is immutable once built; the server swaps
// whole policies on SIGHUP (shared_ptr<const AccessPolicy>).
//
// Invariants:
//   1. An empty policy (no users, no groups) allows every peer that could
//      open the socket: the socket's mode is then the only gate.
//   2. Otherwise a peer is allowed iff its uid is listed, or its primary
//      gid, or one of the supplementary groups of the connecting process,
//      is listed. Root gets no exception.
//   3. Names are resolved to ids when the policy is built; a name that does
//      not resolve is an error then, not a silent "nobody".
#ifndef INTERPD_DAEMON_PEER_ACCESS_H_
#define INTERPD_DAEMON_PEER_ACCESS_H_

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "interpd/status.h"

namespace interpd::daemon {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // "uid 1000 (alice), gid 1000, pid 4242" for logs.
  std::string Describe() const;
};

// Reads SO_PEERCRED of a connected Unix socket.
Status GetPeerCredentials(int fd, PeerCredentials* out);

class AccessPolicy {
 public:
  // Builds a policy from configured user/group names or numeric ids.
  static Status Build(const std::vector<std::string>& users, const std::vector<std::string>& groups,
                      std::shared_ptr<const AccessPolicy>* out);

  bool open() const { return uids_.empty() && gids_.empty(); }
  bool Allows(const PeerCredentials& peer) const;

 private:
  std::set<uid_t> uids_;
  std::set<gid_t> gids_;
};

// The supplementary groups of process `pid` (from /proc/<pid>/status).
std::vector<gid_t> ProcessGroups(pid_t pid);

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_PEER_ACCESS_H_
