// Both ends of the hand-over's wire (spare-wire.h): the caller's, taken by
// bin/strata's client and the CLI's own mounts (the addon's spareHandOff),
// and the spare's (the addon's spareAccept).
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

// One data buffer and room for the three fds, for both ends.
msghdr MessageOf(iovec* iov, char* cbuf, size_t cbufSize) {
  msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = cbufSize;
  return msg;
}

bool SendRequest(int fd, const std::string& payload, const int stdio[3]) {
  char head[4];
  uint32_t n = (uint32_t)payload.size();
  for (int i = 0; i < 4; i++) head[i] = (char)(n >> (8 * i));
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  iovec iov = {head, sizeof head};
  msghdr msg = MessageOf(&iov, cbuf, sizeof cbuf);
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

bool ReadFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= (size_t)r;
  }
  return true;
}

}  // namespace

bool TakeSpareRequest(int conn, int fds[3], std::string* payload) {
  char lenBytes[4];
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  iovec iov = {lenBytes, sizeof lenBytes};
  msghdr msg = MessageOf(&iov, cbuf, sizeof cbuf);
  ssize_t r;
  do r = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL); while (r < 0 && errno == EINTR);
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int* p = (int*)CMSG_DATA(c);
    for (int i = 0; i < n; i++) {
      if (got < 3) fds[got++] = p[i];
      else close(p[i]);
    }
  }
  uint32_t len = 0;
  bool ok = r == (ssize_t)sizeof lenBytes && got == 3 && !(msg.msg_flags & MSG_CTRUNC);
  if (ok) {
    len = (uint32_t)(unsigned char)lenBytes[0] | (uint32_t)(unsigned char)lenBytes[1] << 8 |
          (uint32_t)(unsigned char)lenBytes[2] << 16 | (uint32_t)(unsigned char)lenBytes[3] << 24;
    ok = len <= kSpareMaxRequest;
  }
  if (ok) {
    payload->resize(len);
    ok = ReadFull(conn, &(*payload)[0], len);
  }
  if (!ok) {
    for (int i = 0; i < got; i++) close(fds[i]);
  }
  return ok;
}

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
