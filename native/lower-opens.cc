// The lower-open registry (see lower-opens.h).
#include "lower-opens.h"
#include "errors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata {
namespace {
std::mutex lowerOpenMu;
std::unordered_map<uint64_t, std::vector<int>> lowerOpens;
std::unordered_map<int, uint64_t> lowerOpenNode;

}  // namespace

void AddLowerOpen(uint64_t ino, int fd) {
  std::lock_guard<std::mutex> g(lowerOpenMu);
  lowerOpens[ino].push_back(fd);
  lowerOpenNode[fd] = ino;
}

void ResetLowerOpens() {
  std::lock_guard<std::mutex> g(lowerOpenMu);
  lowerOpens.clear();
  lowerOpenNode.clear();
}

void DropLowerOpen(int fd) {
  std::lock_guard<std::mutex> g(lowerOpenMu);
  auto it = lowerOpenNode.find(fd);
  if (it == lowerOpenNode.end()) return;
  auto v = lowerOpens.find(it->second);
  if (v != lowerOpens.end()) {
    auto& fds = v->second;
    fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
    if (fds.empty()) lowerOpens.erase(v);
  }
  lowerOpenNode.erase(it);
}

// reopenLower(nodeid, dirfd, name): the node was copied up to (dirfd, name);
// every read-only fd still open on its lower file now reads the upper copy.
// Returns how many fds were switched.
Napi::Value ReopenLower(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t ino = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  int dirfd = info[1].As<Napi::Number>().Int32Value();
  std::string name = Latin1(info[2]);
  std::lock_guard<std::mutex> g(lowerOpenMu);
  auto it = lowerOpens.find(ino);
  if (it == lowerOpens.end()) return Napi::Number::New(env, 0);
  int n = 0;
  for (int fd : it->second) {
    int flags = fcntl(fd, F_GETFL);
    int nfd = openat(dirfd, name.c_str(), (flags < 0 ? O_RDONLY : flags & (O_ACCMODE | O_NOATIME | O_LARGEFILE)) | O_NOFOLLOW | O_CLOEXEC);
    // Should the upper copy not open, the reader keeps its lower content.
    if (nfd < 0) continue;
    if (dup3(nfd, fd, O_CLOEXEC) >= 0) n++;
    close(nfd);
  }
  for (int fd : it->second) lowerOpenNode.erase(fd);
  lowerOpens.erase(it);
  return Napi::Number::New(env, n);
}

}  // namespace strata
