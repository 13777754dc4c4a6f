// See spare-key.h. Hashing is only to fit the abstract name in sun_path;
// security rests on PeerIsLikeMe, not on the name being unguessable.
#include "spare-key.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

extern char** environ;

namespace strata {
namespace {

const char* const kStatusFields[] = {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"};
const char* const kNamespaces[] = {"user", "mnt", "net", "cgroup"};

bool StatOf(const std::string& path, std::string* out) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  *out += std::to_string((unsigned long long)st.st_dev) + ':' + std::to_string((unsigned long long)st.st_ino) + ';';
  return true;
}

uint64_t Fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) { h ^= c; h *= 0x100000001b3ULL; }
  return h;
}

sockaddr_un AbstractAddr(const std::string& name, socklen_t* len) {
  sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t n = std::min(name.size(), sizeof a.sun_path - 1);
  memcpy(a.sun_path + 1, name.data(), n);  // sun_path[0] = 0: abstract
  *len = (socklen_t)(offsetof(sockaddr_un, sun_path) + 1 + n);
  return a;
}

}  // namespace

std::string ProcessIdentity(const std::string& pid) {
  std::string dir = "/proc/" + pid;
  std::ifstream status(dir + "/status");
  if (!status) return "";
  std::string out, line;
  size_t found = 0;
  while (std::getline(status, line)) {
    for (const char* f : kStatusFields) {
      if (line.compare(0, strlen(f), f) == 0) { out += line + '\n'; found++; }
    }
  }
  if (found != sizeof kStatusFields / sizeof *kStatusFields) return "";
  for (const char* ns : kNamespaces) {
    if (!StatOf(dir + "/ns/" + ns, &out)) return "";
  }
  if (!StatOf(dir + "/root", &out)) return "";
  return out;
}

std::vector<std::string> BuildFilesOf(const std::string& dist) {
  return {dist + "/cli/spare-main.js", dist + "/../build/Release/strata_native.node"};
}

std::string SpareName(const std::vector<std::string>& buildFiles) {
  std::string build;
  for (const auto& file : buildFiles) {
    struct stat st;
    if (stat(file.c_str(), &st) != 0) return "";
    build += std::to_string((unsigned long long)st.st_dev) + ':' + std::to_string((unsigned long long)st.st_ino) + ':' +
             std::to_string((long long)st.st_size) + ':' + std::to_string((long long)st.st_mtim.tv_sec) + '.' +
             std::to_string((long)st.st_mtim.tv_nsec) + ';';
  }
  std::string id = ProcessIdentity("self");
  if (id.empty()) return "";
  // The environment a spare was booted with is the one its modules read at
  // load time (STRATA_DEBUG, the test kill points, NODE_OPTIONS) and that
  // its run dir and store were found from (STRATA_RUN_DIR, XDG_*, HOME).
  std::vector<std::string> env;
  for (char** e = environ; *e; e++) {
    if (strncmp(*e, "STRATA_", 7) == 0 || strncmp(*e, "NODE_", 5) == 0 || strncmp(*e, "XDG_", 4) == 0 ||
        strncmp(*e, "HOME=", 5) == 0) {
      env.emplace_back(*e);
    }
  }
  std::sort(env.begin(), env.end());
  std::string all = build + '\n' + id;
  for (const auto& e : env) all += e + '\n';
  char hex[40];
  snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)Fnv1a(all, 0xcbf29ce484222325ULL),
           (unsigned long long)Fnv1a(all, 0x84222325cbf29ce4ULL));
  return std::string("strata-spare-") + hex;
}

bool PeerIsLikeMe(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) return false;
  if (cred.uid != geteuid() || cred.gid != getegid()) return false;
  std::string mine = ProcessIdentity("self");
  return !mine.empty() && ProcessIdentity(std::to_string(cred.pid)) == mine;
}

int ListenAbstract(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  socklen_t len;
  sockaddr_un a = AbstractAddr(name, &len);
  if (bind(fd, (sockaddr*)&a, len) != 0 || listen(fd, 8) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

int ConnectAbstract(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  socklen_t len;
  sockaddr_un a = AbstractAddr(name, &len);
  if (connect(fd, (sockaddr*)&a, len) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

}  // namespace strata
