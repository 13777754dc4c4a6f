// The order follows runc's finalizeNamespace and why: the bounding set is
// cut while we are still root with every capability (PR_CAPBSET_DROP needs
// CAP_SETPCAP); without no_new_privs the filter must go on before the user
// changes, since loading it needs CAP_SYS_ADMIN then; with no_new_privs it
// goes on last, so it never has to allow our own set-up calls. Inheritable
// and ambient sets are left empty, as docker does since CVE-2022-24769.
#include "enter-process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace strata {

int LoadSeccomp(const std::vector<uint8_t>& bpf) {
  if (bpf.empty()) return 0;
  struct sock_fprog prog;
  prog.len = (unsigned short)(bpf.size() / sizeof(struct sock_filter));
  prog.filter = (struct sock_filter*)bpf.data();
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) return errno;
  return 0;
}

namespace {

bool Has(const std::vector<int>& caps, int c) {
  for (int x : caps)
    if (x == c) return true;
  return false;
}

int Fail(std::string* what, const char* step) {
  int e = errno;
  *what = step;
  return e;
}

}  // namespace

int EnterProcess(const ProcessSpec& spec, std::string* what) {
  if (spec.argv.empty()) {
    *what = "argv";
    return EINVAL;
  }
  // PR_CAPBSET_READ fails (EINVAL) past the kernel's last capability.
  for (int c = 0; prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++)
    if (!Has(spec.caps, c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) return Fail(what, "prctl(PR_CAPBSET_DROP)");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (!spec.noNewPrivs) {
    int e = LoadSeccomp(spec.seccomp);
    if (e) { *what = "seccomp"; return e; }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return Fail(what, "prctl(PR_SET_KEEPCAPS)");
  if (setgroups(spec.groups.size(), spec.groups.data()) < 0) return Fail(what, "setgroups");
  if (setresgid(spec.gid, spec.gid, spec.gid) < 0) return Fail(what, "setgid");
  if (setresuid(spec.uid, spec.uid, spec.uid) < 0) return Fail(what, "setuid");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int c : spec.caps) {
    // What the host's bounding set lacks cannot be had (--privileged under a
    // restricted parent gets what the parent has).
    if (c < 0 || c >= 64 || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
    data[c / 32].effective |= 1u << (c % 32);
    data[c / 32].permitted |= 1u << (c % 32);
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return Fail(what, "capset");
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (chdir(spec.cwd.c_str()) < 0) return Fail(what, "chdir");

  std::vector<char*> av, ev;
  for (auto& s : spec.argv) av.push_back(const_cast<char*>(s.c_str()));
  av.push_back(nullptr);
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (auto& s : spec.env) {
    ev.push_back(const_cast<char*>(s.c_str()));
    if (s.rfind("PATH=", 0) == 0) path = s.substr(5);
  }
  ev.push_back(nullptr);
  // Node leaves signals blocked or ignored that a new program must not inherit.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  // Node marks the standard fds close-on-exec, and puts the pipes among them
  // in O_NONBLOCK mode; the command needs them, blocking as a shell's child
  // gets them (else `head -c 9M /dev/zero | …` fails with EAGAIN).
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  if (spec.noNewPrivs) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return Fail(what, "prctl(PR_SET_NO_NEW_PRIVS)");
    int e = LoadSeccomp(spec.seccomp);
    if (e) { *what = "seccomp"; return e; }
  }
  int err = ENOENT;
  const std::string& cmd = spec.argv[0];
  if (cmd.find('/') != std::string::npos) {
    execve(cmd.c_str(), av.data(), ev.data());
    err = errno;
  } else {
    for (size_t start = 0; start <= path.size();) {
      size_t end = path.find(':', start);
      if (end == std::string::npos) end = path.size();
      std::string candidate = path.substr(start, end - start);
      candidate = (candidate.empty() ? "." : candidate) + "/" + cmd;
      execve(candidate.c_str(), av.data(), ev.data());
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
      start = end + 1;
    }
  }
  *what = "execve";
  return err;
}

}  // namespace strata
