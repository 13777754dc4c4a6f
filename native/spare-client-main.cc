// strata-spare DIST ARGS…: bin/strata's first try at a mount line. Hands the
// line, with this process's stdio, cwd and environment, to a spare mount
// daemon already booted (spare-key.h), so the caller (podman's
// mount_program, `strata mount --lowerdir …`) waits for no Node start-up.
// Written in C++ because its whole point is to not be Node.
// Exit: 0 mounted, 1 failed (said on stderr), 76 not a line the daemon takes
// (bin/strata runs the full CLI), 75 no spare took it (bin/strata starts a
// daemon itself, as it would without spares).
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "spare-key.h"
#include "spare-wire.h"

extern char** environ;

namespace {

constexpr int kMounted = 0, kFailed = 1, kNoSpare = 75, kNotALine = 76;

void Field(std::string* out, const std::string& s) {
  out->append(s);
  out->push_back('\0');
}

bool SendRequest(int fd, const std::string& payload) {
  char head[4];
  uint32_t n = (uint32_t)payload.size();
  for (int i = 0; i < 4; i++) head[i] = (char)(n >> (8 * i));
  int fds[3] = {0, 1, 2};
  char cbuf[CMSG_SPACE(sizeof fds)];
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
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
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
    if (line->size() < 4096) line->push_back(ch);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return kNoSpare;
  const char* off = getenv("STRATA_SPARE");
  if (off && strcmp(off, "0") == 0) return kNoSpare;
  std::string name = strata::SpareName(strata::BuildFilesOf(argv[1]));
  if (name.empty()) return kNoSpare;
  int fd = strata::ConnectAbstract(name);
  if (fd < 0) return kNoSpare;
  // Nothing of ours goes to a listener that is not a spare of our own kind.
  if (!strata::PeerIsLikeMe(fd)) return kNoSpare;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return kNoSpare;
  std::string payload;
  Field(&payload, std::to_string(argc - 2));
  for (int i = 2; i < argc; i++) Field(&payload, argv[i]);
  Field(&payload, cwd);
  int envc = 0;
  for (char** e = environ; *e; e++) envc++;
  Field(&payload, std::to_string(envc));
  for (char** e = environ; *e; e++) Field(&payload, *e);
  if (payload.size() > strata::kSpareMaxRequest || !SendRequest(fd, payload)) return kNoSpare;
  std::string line;
  // Until "go" the spare has done nothing with the line: running it here is safe.
  if (!ReadLine(fd, &line) || line != "go") return kNoSpare;
  if (!ReadLine(fd, &line)) return kFailed;
  if (line.compare(0, 3, "ok ") == 0) return kMounted;
  if (line == "cli") return kNotALine;
  return kFailed;
}
