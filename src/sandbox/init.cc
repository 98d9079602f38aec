// The sandbox's init and the program child it forks. Both run between clone and exec of a
// possibly multithreaded supervisor: only syscalls on memory the supervisor prepared, no
// allocation, no locks, no libc fork (its atfork handlers take locks). See child_plan.h.
//
// init (PID 1 of the new PID namespace, in the new user, mount, network, IPC and UTS namespaces):
//   1. asks for SIGKILL when the supervisor dies, moves its descriptors to fixed numbers and
//      closes everything else;
//   2. waits for the supervisor's go (uid/gid maps written, v1 cgroups joined); EOF means the
//      supervisor is gone;
//   3. enters a new cgroup namespace, builds the new root and pivots into it;
//   4. forks the program, then reaps every process of the namespace until the program exits
//      (init exits with its status: 128+N for signal N) or the supervisor's pipe closes (init
//      exits, and the kernel kills everything left in the namespace).
// program: drops every capability, applies rlimits, no_new_privs, Landlock, seccomp, exec.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sandbox/child_plan.h"
#include "sandbox/landlock.h"
#include "sandbox/seccomp_filter.h"

namespace va::sandbox {
namespace {

// Fixed descriptor numbers in init.
constexpr int kReportFd = 3;
constexpr int kSyncFd = 4;
constexpr int kDeathFd = 5;
constexpr int kRulesetFd = 6;
constexpr int kFirstPassFd = 7;

[[noreturn]] void Report(ChildStep step, int index, int report_fd = kReportFd) {
  ChildReport r{static_cast<int>(step), index, errno};
  ssize_t ignored = ::write(report_fd, &r, sizeof(r));
  (void)ignored;
  ::_exit(127);
}

[[noreturn]] void RunProgram(const ChildPlan& plan) {
  // Init's death (the whole namespace's end) takes the program along even if it escaped init's
  // reaping somehow.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::setsid() < 0) Report(ChildStep::kSession, 0);

  // Move everything out of the way of the targets, then install the targets (without CLOEXEC).
  int base = kFirstPassFd + static_cast<int>(plan.pass_count);
  for (size_t i = 0; i < plan.pass_count; ++i) base = std::max(base, plan.pass_to[i] + 1);
  int report = ::fcntl(kReportFd, F_DUPFD_CLOEXEC, base);
  if (report < 0) Report(ChildStep::kFds, 0);
  int ruleset = ::fcntl(kRulesetFd, F_DUPFD_CLOEXEC, base);
  if (ruleset < 0) Report(ChildStep::kFds, 0, report);
  int moved[64];
  for (size_t i = 0; i < plan.pass_count; ++i) {
    moved[i] = ::fcntl(kFirstPassFd + static_cast<int>(i), F_DUPFD_CLOEXEC, base);
    if (moved[i] < 0) Report(ChildStep::kFds, static_cast<int>(i), report);
  }
  for (size_t i = 0; i < plan.pass_count; ++i) {
    if (::dup2(moved[i], plan.pass_to[i]) < 0) Report(ChildStep::kFds, static_cast<int>(i), report);
  }
  // Every other descriptor is close-on-exec (init created them so).

  ChildStep step = ChildStep::kCapset;
  int index = 0;
  if (DropPrivileges(plan, &step, &index) != 0) Report(step, index, report);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Report(ChildStep::kNoNewPrivs, 0, report);
  if (LandlockRestrictSelf(ruleset) != 0) Report(ChildStep::kLandlockRestrict, 0, report);
  ::close(ruleset);
  if (InstallSeccomp(plan.seccomp) != 0) Report(ChildStep::kSeccomp, 0, report);

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(plan.exec_path, plan.argv, plan.envp);
  Report(ChildStep::kExec, 0, report);
}

// init's descriptors at their fixed numbers, everything else closed.
void ArrangeInitFds(const ChildPlan& plan) {
  int srcs[4 + 64];
  int n = 0;
  srcs[n++] = plan.report_fd;
  srcs[n++] = plan.sync_fd;
  srcs[n++] = plan.death_fd;
  srcs[n++] = plan.ruleset_fd;
  for (size_t i = 0; i < plan.pass_count; ++i) srcs[n++] = plan.pass_from[i];
  int base = kFirstPassFd + static_cast<int>(plan.pass_count);
  for (int i = 0; i < n; ++i) base = std::max(base, srcs[i] + 1);
  int tmp[4 + 64];
  for (int i = 0; i < n; ++i) {
    tmp[i] = ::fcntl(srcs[i], F_DUPFD_CLOEXEC, base);
    if (tmp[i] < 0) {
      // Nothing to report through yet but the original report fd.
      Report(ChildStep::kFds, i, plan.report_fd);
    }
  }
  for (int i = 0; i < n; ++i) {
    if (::dup3(tmp[i], kReportFd + i, O_CLOEXEC) < 0) Report(ChildStep::kFds, i, tmp[0]);
  }
  ::syscall(SYS_close_range, kReportFd + n, ~0U, 0);
  ::syscall(SYS_close_range, 0, 2, 0);
}

int StatusToExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

const char* ChildStepLayer(ChildStep step) {
  switch (step) {
    case ChildStep::kFds:
    case ChildStep::kFork:
    case ChildStep::kSession:
    case ChildStep::kExec:
      return "exec";
    case ChildStep::kSync:
      return "user namespace";
    case ChildStep::kCgroupNs:
      return "cgroup namespace";
    case ChildStep::kMountPrivate:
    case ChildStep::kMountRoot:
    case ChildStep::kMountOp:
    case ChildStep::kMountReadOnlyRoot:
    case ChildStep::kPivotRoot:
      return "mount";
    case ChildStep::kHostname:
      return "uts namespace";
    case ChildStep::kLandlockRule:
    case ChildStep::kLandlockRestrict:
      return "landlock";
    case ChildStep::kBoundingSet:
    case ChildStep::kSecureBits:
    case ChildStep::kCapset:
      return "capabilities";
    case ChildStep::kSetGroups:
    case ChildStep::kSetGid:
    case ChildStep::kSetUid:
      return "user namespace";
    case ChildStep::kRlimit:
      return "rlimit";
    case ChildStep::kNoNewPrivs:
      return "no_new_privs";
    case ChildStep::kSeccomp:
      return "seccomp";
  }
  return "sandbox";
}

const char* ChildStepName(ChildStep step) {
  switch (step) {
    case ChildStep::kFds:
      return "arrange descriptors";
    case ChildStep::kSync:
      return "wait for the supervisor";
    case ChildStep::kCgroupNs:
      return "unshare";
    case ChildStep::kMountPrivate:
      return "make / private";
    case ChildStep::kMountRoot:
      return "mount the root tmpfs";
    case ChildStep::kMountOp:
      return "";
    case ChildStep::kMountReadOnlyRoot:
      return "make the root read-only";
    case ChildStep::kPivotRoot:
      return "pivot_root";
    case ChildStep::kHostname:
      return "sethostname";
    case ChildStep::kLandlockRule:
      return "add a rule for a sandbox mount";
    case ChildStep::kFork:
      return "fork the program";
    case ChildStep::kSession:
      return "setsid";
    case ChildStep::kBoundingSet:
      return "drop the bounding set";
    case ChildStep::kSecureBits:
      return "set securebits";
    case ChildStep::kSetGroups:
      return "setgroups";
    case ChildStep::kSetGid:
      return "setresgid";
    case ChildStep::kSetUid:
      return "setresuid";
    case ChildStep::kCapset:
      return "capset";
    case ChildStep::kRlimit:
      return "setrlimit";
    case ChildStep::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case ChildStep::kLandlockRestrict:
      return "restrict self";
    case ChildStep::kSeccomp:
      return "install filter";
    case ChildStep::kExec:
      return "execve";
  }
  return "";
}

void RunInit(const ChildPlan& plan) {
  // Every signal is blocked (the supervisor blocked them around clone); back to default actions.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  // The supervisor's death kills init (and so the namespace). A supervisor that died before this
  // line is caught by the sync pipe below (its end closes).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ArrangeInitFds(plan);

  char go = 0;
  ssize_t n;
  do {
    n = ::read(kSyncFd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1 || go != 'g') ::_exit(126);
  ::close(kSyncFd);
  // Only now: a non-dumpable process's /proc files belong to root, and an unprivileged
  // supervisor had to write our uid/gid maps there first.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  if (::unshare(CLONE_NEWCGROUP) != 0) Report(ChildStep::kCgroupNs, 0);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Report(ChildStep::kMountPrivate, 0);
  }
  if (::chdir(plan.scratch_path) != 0 ||
      ::mount("tmpfs", "root", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m,nr_inodes=4096") !=
          0 ||
      ::chdir("root") != 0) {
    Report(ChildStep::kMountRoot, 0);
  }
  ChildStep step = ChildStep::kMountOp;
  int index = 0;
  if (ApplyMounts(plan, kRulesetFd, &step, &index) != 0) Report(step, index);
  if (plan.hostname != nullptr && ::sethostname(plan.hostname, ::strlen(plan.hostname)) != 0) {
    Report(ChildStep::kHostname, 0);
  }

  long program = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (program < 0) Report(ChildStep::kFork, 0);
  if (program == 0) RunProgram(plan);

  // init keeps nothing of the program's: the report pipe and passed descriptors close here, so
  // the supervisor sees EOF once the program has exec'd.
  ::close(kReportFd);
  ::close(kRulesetFd);
  if (plan.pass_count > 0) ::syscall(SYS_close_range, kFirstPassFd, ~0U, 0);

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) ::_exit(125);
  for (;;) {
    // Reap everything that has exited: orphans of the namespace land here.
    for (;;) {
      int status = 0;
      pid_t pid = static_cast<pid_t>(::wait4(-1, &status, WNOHANG, nullptr));
      if (pid <= 0) break;
      if (pid == program) ::_exit(StatusToExitCode(status));
    }
    pollfd fds[2] = {{kDeathFd, POLLIN, 0}, {sfd, POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno != EINTR) ::_exit(124);
    if (fds[0].revents != 0) ::_exit(123);  // the supervisor is gone
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(sfd, &info, sizeof(info)) > 0) {
      }
    }
  }
}

}  // namespace va::sandbox
