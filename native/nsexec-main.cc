// strata-nsexec: a process in a running container, for `strata exec`. Node
// cannot join a mount namespace (setns(CLONE_NEWNS) refuses a multithreaded
// process), so this small single-threaded program does: it joins the
// container's cgroups and namespaces (the mount namespace last: it moves
// our root and cwd to the container's), forks so the child is inside the
// PID namespace, and the child becomes the process as the container's init
// did (enter-process.cc). The parent passes signals on and exits with the
// child's status (128 + signal when killed).
//
// usage: strata-nsexec [--tty] PID UID GID GROUPS CWD CAPS NNP BPF CGROUPS -- ARGV…
// (--tty: the process gets a pty of the container's devpts, pty-relay.cc)
// GROUPS, CAPS and CGROUPS (cgroup.procs files) are comma lists ("" none);
// BPF is a file of seccomp BPF or "-"; the environment is the process's.
//
// strata-nsexec --new [net] -- ARGV… starts a container's init instead, in
// place of util-linux unshare: new mount, UTS, IPC, PID (and network)
// namespaces, ARGV as PID 1. Both this process and the init die with their
// parent (PR_SET_PDEATHSIG), and the exit status is the init's, 128 + signal
// when it was killed (unshare reports a killed child as 1).
#include "enter-process.h"
#include "pty-relay.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

pid_t child = -1;

void Forward(int sig) {
  if (child > 0) kill(child, sig);
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int Die(const char* what, int err) {
  fprintf(stderr, "strata-nsexec: %s: %s\n", what, strerror(err));
  return 125;
}

int Relay() {
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (int s : sigs) signal(s, Forward);
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return Die("waitpid", errno);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int NewContainer(int argc, char** argv) {
  int i = 2, flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;
  if (i < argc && strcmp(argv[i], "net") == 0) { flags |= CLONE_NEWNET; i++; }
  if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
    fprintf(stderr, "usage: strata-nsexec --new [net] -- ARGV...\n");
    return 125;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return Die("prctl(PR_SET_PDEATHSIG)", errno);
  if (getppid() == 1) return 125;  // the parent died before the line above
  if (unshare(flags) < 0) return Die("unshare", errno);
  child = fork();
  if (child < 0) return Die("fork", errno);
  if (child == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(Die("prctl(PR_SET_PDEATHSIG)", errno));
    execvp(argv[i + 1], argv + i + 1);
    _exit(Die(argv[i + 1], errno));
  }
  return Relay();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "--new") == 0) return NewContainer(argc, argv);
  bool tty = argc >= 2 && strcmp(argv[1], "--tty") == 0;
  if (tty) { argv[1] = argv[0]; argv++; argc--; }
  if (argc < 12 || strcmp(argv[10], "--") != 0) {
    fprintf(stderr, "usage: strata-nsexec [--tty] PID UID GID GROUPS CWD CAPS NNP BPF CGROUPS -- ARGV...\n");
    return 125;
  }
  std::string pid = argv[1];
  strata::ProcessSpec spec;
  spec.uid = (uid_t)strtoul(argv[2], nullptr, 10);
  spec.gid = (gid_t)strtoul(argv[3], nullptr, 10);
  for (auto& g : Split(argv[4])) spec.groups.push_back((gid_t)strtoul(g.c_str(), nullptr, 10));
  spec.cwd = argv[5];
  for (auto& c : Split(argv[6])) spec.caps.push_back(atoi(c.c_str()));
  spec.noNewPrivs = strcmp(argv[7], "1") == 0;
  if (strcmp(argv[8], "-") != 0) {
    FILE* f = fopen(argv[8], "rb");
    if (!f) return Die(argv[8], errno);
    unsigned char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) spec.seccomp.insert(spec.seccomp.end(), buf, buf + n);
    fclose(f);
  }
  for (auto& procs : Split(argv[9])) {
    int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) return Die(procs.c_str(), errno);
    close(fd);
  }
  for (int i = 11; i < argc; i++) spec.argv.push_back(argv[i]);
  for (char** e = environ; *e; e++) spec.env.push_back(*e);

  // Opened first, all from the host's /proc: once in the mount namespace
  // the container's /proc is what /proc names.
  const char* kinds[] = {"ipc", "uts", "net", "pid", "mnt"};
  int fds[5];
  for (int i = 0; i < 5; i++) {
    std::string p = "/proc/" + pid + "/ns/" + kinds[i];
    fds[i] = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) return Die(p.c_str(), errno);
  }
  for (int i = 0; i < 5; i++) {
    if (setns(fds[i], 0) < 0) return Die(kinds[i], errno);
    close(fds[i]);
  }
  // Forks itself: the command's process is then inside the PID namespace.
  if (tty) strata::RunWithPty(spec);
  child = fork();
  if (child < 0) return Die("fork", errno);
  if (child == 0) {
    std::string what;
    int err = strata::EnterProcess(spec, &what);
    fprintf(stderr, "strata: %s %s: %s\n", what.c_str(), spec.argv[0].c_str(), strerror(err));
    _exit(err == ENOENT ? 127 : err == EACCES || err == ENOEXEC ? 126 : 125);
  }
  return Relay();
}
