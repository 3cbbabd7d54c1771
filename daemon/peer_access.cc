#include "peer_access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace interpd::daemon {

namespace {

bool ParseId(const std::string& s, unsigned long* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string UserName(uid_t uid) {
  std::vector<char> buf(4096);
  passwd pw{};
  passwd* res = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res) return res->pw_name;
  return "?";
}

}  // namespace

std::string PeerCredentials::Describe() const {
  return "uid " + std::to_string(uid) + " (" + UserName(uid) + "), gid " + std::to_string(gid) + ", pid " +
         std::to_string(pid);
}

Status GetPeerCredentials(int fd, PeerCredentials* out) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::Internal(std::string("SO_PEERCRED: ") + std::strerror(errno));
  }
  out->pid = cred.pid;
  out->uid = cred.uid;
  out->gid = cred.gid;
  return Status::OK();
}

Status AccessPolicy::Build(const std::vector<std::string>& users, const std::vector<std::string>& groups,
                           std::shared_ptr<const AccessPolicy>* out) {
  auto policy = std::make_shared<AccessPolicy>();
  std::vector<char> buf(16384);
  for (const auto& u : users) {
    unsigned long id = 0;
    if (ParseId(u, &id)) {
      policy->uids_.insert(static_cast<uid_t>(id));
      continue;
    }
    passwd pw{};
    passwd* res = nullptr;
    if (getpwnam_r(u.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) {
      return Status::InvalidArgument("server.allow_users: no such user \"" + u + "\"");
    }
    policy->uids_.insert(res->pw_uid);
  }
  for (const auto& g : groups) {
    unsigned long id = 0;
    if (ParseId(g, &id)) {
      policy->gids_.insert(static_cast<gid_t>(id));
      continue;
    }
    group gr{};
    group* res = nullptr;
    if (getgrnam_r(g.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || res == nullptr) {
      return Status::InvalidArgument("server.allow_groups: no such group \"" + g + "\"");
    }
    policy->gids_.insert(res->gr_gid);
  }
  *out = std::move(policy);
  return Status::OK();
}

std::vector<gid_t> ProcessGroups(pid_t pid) {
  std::vector<gid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream ids(line.substr(7));
    unsigned long g;
    while (ids >> g) out.push_back(static_cast<gid_t>(g));
    break;
  }
  return out;
}

bool AccessPolicy::Allows(const PeerCredentials& peer) const {
  if (open()) return true;
  if (uids_.count(peer.uid) || gids_.count(peer.gid)) return true;
  if (gids_.empty()) return false;
  for (gid_t g : ProcessGroups(peer.pid)) {
    if (gids_.count(g)) return true;
  }
  return false;
}

}  // namespace interpd::daemon
