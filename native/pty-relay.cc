// The -t of run and exec: the command on a pty of the container's devpts as
// its controlling terminal, and this process relaying between our stdio and
// the pty. Shared by the addon (a container's init, after pivot_root) and by
// strata-nsexec (exec, after setns); plain C++ with no N-API for the latter.
#include "pty-relay.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace strata {
namespace {

volatile sig_atomic_t gotSignal = 0;
void OnSignal(int sig) { gotSignal = sig; }

bool WriteAll(int fd, const char* p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= w;
  }
  return true;
}

}  // namespace

// run -t and exec -t: the command gets a pty of the container's own devpts
// (/dev/pts after pivot_root, or after setns into its mount namespace) as its
// controlling terminal, in a session of its own. This process (run's PID 1,
// exec's helper) stays, with no capabilities and no_new_privs, and relays bytes between our stdio (the client's terminal)
// and the pty master, the window size, and the signals a PID 1 receives;
// it exits with the command's status once the pty has drained.
[[noreturn]] void RunWithPty(const ProcessSpec& spec) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) { perror("strata: /dev/ptmx"); _exit(125); }
  char name[64];
  if (ptsname_r(master, name, sizeof name) != 0) { perror("strata: ptsname"); _exit(125); }
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  pid_t child = fork();
  if (child < 0) { perror("strata: fork"); _exit(125); }
  if (child == 0) {
    setsid();
    int slave = open(name, O_RDWR);
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) { perror("strata: pty"); _exit(125); }
    for (int fd = 0; fd <= 2; fd++) dup2(slave, fd);
    if (slave > 2) close(slave);
    std::string what;
    int err = EnterProcess(spec, &what);
    fprintf(stderr, "strata: %s %s: %s\n", what.c_str(), spec.argv[0].c_str(), strerror(err));
    _exit(err == ENOENT ? 127 : err == EACCES || err == ENOEXEC ? 126 : 125);
  }
  // The relay keeps nothing a container process could borrow.
  for (int c = 0; prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct none[2];
  memset(none, 0, sizeof none);
  syscall(SYS_capset, &hdr, none);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};
  for (int sg : sigs) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = OnSignal;
    sigaction(sg, &sa, nullptr);
  }
  bool inOpen = true;
  int status = 0;
  bool exited = false;
  char buf[8192];
  for (;;) {
    int sig = gotSignal;
    gotSignal = 0;
    if (sig == SIGWINCH) {
      if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    } else if (sig && sig != SIGCHLD) {
      kill(child, sig);
    }
    if (!exited && waitpid(child, &status, WNOHANG) == child) exited = true;
    struct pollfd fds[2] = {{master, POLLIN, 0}, {0, POLLIN, 0}};
    int n = poll(fds, inOpen ? 2 : 1, exited ? 0 : 200);
    if (n < 0 && errno == EINTR) continue;
    if (fds[0].revents & POLLIN) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r > 0) { WriteAll(1, buf, r); continue; }
    }
    if (exited && !(fds[0].revents & POLLIN)) break;  // drained
    if (fds[0].revents & (POLLHUP | POLLERR) && exited) break;
    if (inOpen && (fds[1].revents & (POLLIN | POLLHUP))) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r > 0) WriteAll(master, buf, r);
      else inOpen = false;
    }
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace strata
