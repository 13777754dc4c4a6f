// The caller's end of the hand-over (spare-wire.h): bin/strata's client and
// the CLI's own mounts (the addon's spareHandOff) both go through here.
#include "spare-wire.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spare-key.h"

namespace strata {
namespace {

void Field(std::string* out, const std::string& s) {
  out->append(s);
  out->push_back('\0');
}

bool SendRequest(int fd, const std::string& payload, const int stdio[3]) {
  char head[4];
  uint32_t n = (uint32_t)payload.size();
  for (int i = 0; i < 4; i++) head[i] = (char)(n >> (8 * i));
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  iovec iov = {head, sizeof head};
  msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  memcpy(CMSG_DATA(c), stdio, 3 * sizeof(int));
  ssize_t r;
  do r = sendmsg(fd, &msg, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  if (r != (ssize_t)sizeof head) return false;
  const char* p = payload.data();
  size_t left = payload.size();
  while (left > 0) {
    do r = send(fd, p, left, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
    if (r <= 0) return false;
    p += r;
    left -= (size_t)r;
  }
  return true;
}

// One line from fd (without its newline); false at EOF before a newline.
bool ReadLine(int fd, std::string* line) {
  line->clear();
  for (;;) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    if (ch == '\n') return true;
    if (line->size() < 65536) line->push_back(ch);
  }
}

}  // namespace

bool HandToSpare(const std::string& name, const std::vector<std::string>& args, const std::string& cwd,
                 const std::vector<std::string>& env, const int stdio[3], std::string* ready) {
  ready->clear();
  int fd = ConnectAbstract(name);
  if (fd < 0) return false;
  // Nothing of ours goes to a listener that is not a spare of our own kind.
  bool handed = false;
  if (PeerIsLikeMe(fd)) {
    std::string payload;
    Field(&payload, std::to_string(args.size()));
    for (const auto& a : args) Field(&payload, a);
    Field(&payload, cwd);
    Field(&payload, std::to_string(env.size()));
    for (const auto& e : env) Field(&payload, e);
    std::string line;
    // Until "go" the spare has done nothing with the request: the caller may run it itself.
    handed = payload.size() <= kSpareMaxRequest && SendRequest(fd, payload, stdio) && ReadLine(fd, &line) && line == "go";
    if (handed && !ReadLine(fd, ready)) ready->clear();
  }
  close(fd);
  return handed;
}

}  // namespace strata
