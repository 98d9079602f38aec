// Process: spawn with clone3(CLONE_PIDFD), adopt with identity checks, signal and wait through
// the pidfd; see process.h.
//
// Between clone and exec the child runs only async-signal-safe syscalls on memory prepared by the
// parent (no allocation, no locks) and reports a failure as {step, errno} through a close-on-exec
// pipe; the parent reads that pipe, so Spawn returns after the exec has happened or failed.
#include "proc/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/sys.h"
#include "proc/pidfd.h"

extern char** environ;

namespace va {
namespace {

enum class ChildStep : int { kSignals, kSession, kGroup, kDeathSig, kChdir, kFds, kExec };

const char* StepName(ChildStep step) {
  switch (step) {
    case ChildStep::kSignals:
      return "reset signals";
    case ChildStep::kSession:
      return "setsid";
    case ChildStep::kGroup:
      return "setpgid";
    case ChildStep::kDeathSig:
      return "prctl(PR_SET_PDEATHSIG)";
    case ChildStep::kChdir:
      return "chdir";
    case ChildStep::kFds:
      return "set up descriptors";
    case ChildStep::kExec:
      return "exec";
  }
  return "spawn";
}

struct ChildReport {
  int step;
  int err;
};

struct FdMove {
  int from;
  int to;
};

// Everything the child needs, prepared before clone so the child never allocates.
struct ChildPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  bool new_session = false;
  bool new_group = false;
  int death_signal = 0;
  pid_t parent = 0;
  const FdMove* moves = nullptr;
  size_t move_count = 0;
  int report_fd = -1;
  int scratch_base = 0;            // first fd number above every target and source
  const sigset_t* mask = nullptr;  // the child's signal mask at exec (empty)
};

[[noreturn]] void ChildFail(const ChildPlan& plan, ChildStep step) {
  ChildReport report{static_cast<int>(step), errno};
  ssize_t ignored = ::write(plan.report_fd, &report, sizeof(report));
  (void)ignored;
  ::_exit(127);
}

[[noreturn]] void RunChild(const ChildPlan& plan) {
  // Dispositions back to default; every signal stays blocked (the parent blocked them around clone)
  // until the mask is replaced just before exec.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for the reserved real-time signals
  }
  if (plan.new_session && ::setsid() < 0) ChildFail(plan, ChildStep::kSession);
  if (plan.new_group && !plan.new_session && ::setpgid(0, 0) < 0)
    ChildFail(plan, ChildStep::kGroup);
  if (plan.death_signal != 0) {
    if (::prctl(PR_SET_PDEATHSIG, plan.death_signal) < 0) ChildFail(plan, ChildStep::kDeathSig);
    // The parent may have died before the prctl: then nobody will send the signal.
    if (::getppid() != plan.parent) ::syscall(SYS_kill, ::getpid(), plan.death_signal);
  }
  if (plan.cwd != nullptr && ::chdir(plan.cwd) < 0) ChildFail(plan, ChildStep::kChdir);

  // Move the report pipe and every source out of the way of the targets, then install targets.
  int report = ::fcntl(plan.report_fd, F_DUPFD_CLOEXEC, plan.scratch_base);
  if (report < 0) ChildFail(plan, ChildStep::kFds);
  ChildPlan p = plan;
  p.report_fd = report;
  int scratch[64];
  for (size_t i = 0; i < p.move_count; ++i) {
    scratch[i] = ::fcntl(p.moves[i].from, F_DUPFD_CLOEXEC, p.scratch_base);
    if (scratch[i] < 0) ChildFail(p, ChildStep::kFds);
  }
  for (size_t i = 0; i < p.move_count; ++i) {
    if (::dup2(scratch[i], p.moves[i].to) < 0) ChildFail(p, ChildStep::kFds);  // clears CLOEXEC
  }
  // Everything that is not a target is closed at exec; the report pipe closes then too.
  unsigned lo = 3;
  for (size_t i = 0; i < p.move_count; ++i) {  // moves are sorted by target
    unsigned target = static_cast<unsigned>(p.moves[i].to);
    if (target < lo) continue;
    if (target > lo) ::syscall(SYS_close_range, lo, target - 1, CLOSE_RANGE_CLOEXEC);
    lo = target + 1;
  }
  ::syscall(SYS_close_range, lo, ~0U, CLOSE_RANGE_CLOEXEC);
  ::sigprocmask(SIG_SETMASK, p.mask, nullptr);
  ::execve(p.path, p.argv, p.envp);
  ChildFail(p, ChildStep::kExec);
}

// PATH lookup done in the parent (it allocates).
Result<std::string> ResolveProgram(const std::string& name,
                                   const std::optional<std::vector<std::string>>& env) {
  if (name.empty()) return Fail(ErrorKind::kInvalid, "spawn: empty program name");
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) return SysFail("spawn " + name);
    return name;
  }
  std::string path_var;
  if (env) {
    for (const auto& kv : *env) {
      if (kv.starts_with("PATH=")) path_var = kv.substr(5);
    }
  } else if (const char* p = ::getenv("PATH")) {
    path_var = p;
  }
  if (path_var.empty()) path_var = "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path_var.size()) {
    size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return Fail(ErrorKind::kNotFound, "spawn " + name + ": command not found in PATH", ENOENT);
}

ExitStatus StatusFromSiginfo(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return {false, info.si_status};
  return {true, info.si_status};
}

}  // namespace

std::string ExitStatus::ToString() const {
  return signaled ? "signal " + SignalName(code) : "exit " + std::to_string(code);
}

std::string SignalName(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "SIG" + std::to_string(sig);
}

Result<Process> Process::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Fail(ErrorKind::kInvalid, "spawn: empty argv");
  VA_TRY(std::string path, ResolveProgram(options.argv[0], options.env));

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const auto& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }

  UniqueFd dev_null;
  std::vector<FdMove> moves;
  auto add_std = [&](int fd, int target) -> va::Status {
    if (fd == -1) return {};
    if (fd == SpawnOptions::kDevNull) {
      if (!dev_null) {
        VA_TRY(dev_null, Open("/dev/null", O_RDWR));
      }
      fd = dev_null.Get();
    }
    moves.push_back({fd, target});
    return {};
  };
  VA_TRY_STATUS(add_std(options.stdin_fd, 0));
  VA_TRY_STATUS(add_std(options.stdout_fd, 1));
  VA_TRY_STATUS(add_std(options.stderr_fd, 2));
  // Descriptors 0-2 that are not redirected stay inherited.
  for (int std_fd = 0; std_fd < 3; ++std_fd) {
    bool mapped =
        std::any_of(moves.begin(), moves.end(), [&](const FdMove& m) { return m.to == std_fd; });
    if (!mapped && ::fcntl(std_fd, F_GETFD) >= 0) moves.push_back({std_fd, std_fd});
  }
  for (auto [from, to] : options.extra_fds) {
    if (to < 0 || from < 0) return Fail(ErrorKind::kInvalid, "spawn: negative descriptor");
    moves.push_back({from, to});
  }
  std::sort(moves.begin(), moves.end(),
            [](const FdMove& a, const FdMove& b) { return a.to < b.to; });
  for (size_t i = 1; i < moves.size(); ++i) {
    if (moves[i].to == moves[i - 1].to) {
      return Fail(ErrorKind::kInvalid,
                  "spawn: descriptor " + std::to_string(moves[i].to) + " given twice");
    }
  }
  if (moves.size() > 64) return Fail(ErrorKind::kInvalid, "spawn: too many descriptors");

  VA_TRY(Pipe report, MakePipe());
  int scratch_base = report.write.Get() + 1;
  for (const auto& m : moves) scratch_base = std::max({scratch_base, m.to + 1, m.from + 1});

  sigset_t all, old, child_mask;
  sigfillset(&all);
  // The child starts with nothing blocked, whatever this thread blocks (a supervisor that reads
  // SIGTERM through a signalfd must not hand a blocked SIGTERM to openconnect).
  sigemptyset(&child_mask);
  ChildPlan plan;
  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.envp = options.env ? envp.data() : environ;
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  plan.new_session = options.new_session;
  plan.new_group = options.new_process_group;
  plan.death_signal = options.parent_death_signal;
  plan.parent = ::getpid();
  plan.moves = moves.data();
  plan.move_count = moves.size();
  plan.report_fd = report.write.Get();
  plan.scratch_base = scratch_base;
  plan.mask = &child_mask;

  int pidfd = -1;
  struct clone_args args {};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (options.cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(options.cgroup_fd);
  }

  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = ::syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) RunChild(plan);  // never returns
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return SysFail("clone3 " + options.argv[0], clone_errno);

  Process proc(static_cast<pid_t>(pid), UniqueFd(pidfd), true);
  report.write.Reset();
  ChildReport child_report{};
  size_t got = 0;
  while (got < sizeof(child_report)) {
    auto n = Read(report.read.Get(),
                  {reinterpret_cast<char*>(&child_report) + got, sizeof(child_report) - got});
    if (!n || *n == 0) break;
    got += *n;
  }
  if (got == sizeof(child_report)) {
    // The child failed before exec and has exited with 127: reap it.
    siginfo_t info{};
    RetryEintr([&] { return ::waitid(P_PIDFD, static_cast<id_t>(proc.PidFd()), &info, WEXITED); });
    proc.status_ = StatusFromSiginfo(info);
    auto err = SysError(std::string("spawn ") + options.argv[0] + ": " +
                            StepName(static_cast<ChildStep>(child_report.step)),
                        child_report.err);
    return tl::unexpected(std::move(err));
  }
  if (auto id = ReadProcessIdentity(proc.pid_)) proc.identity_ = std::move(*id);
  return proc;
}

Result<Process> Process::Adopt(pid_t pid, const ExpectedIdentity& expected) {
  if (pid <= 0) return Fail(ErrorKind::kInvalid, "invalid pid " + std::to_string(pid));
  auto fd = PidfdOpen(pid);
  if (!fd) {
    if (fd.error().sys_errno == ESRCH) {
      return Fail(ErrorKind::kNotFound, "no process " + std::to_string(pid), ESRCH);
    }
    return tl::unexpected(fd.error());
  }
  VA_TRY(ProcessIdentity id, ReadProcessIdentity(pid));
  auto mismatch = IdentityMismatch(id, expected);
  if (PidfdExited(fd->Get()) && id.state != 'Z' && id.state != 'X') {
    // The process we opened exited, and what /proc showed may already be a new process that
    // reuses the pid: nothing of ours is left to check or signal.
    return Fail(ErrorKind::kNotFound, "process " + std::to_string(pid) + " exited", ESRCH);
  }
  if (mismatch) return Fail(ErrorKind::kUntrusted, *mismatch);
  Process proc(pid, std::move(*fd), id.ppid == ::getpid());
  proc.identity_ = std::move(id);
  return proc;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (child_ && pidfd_ && !status_ && Exited()) Reap();
    pid_ = other.pid_;
    pidfd_ = std::move(other.pidfd_);
    child_ = other.child_;
    identity_ = std::move(other.identity_);
    status_ = other.status_;
  }
  return *this;
}

Process::~Process() {
  if (child_ && pidfd_ && !status_ && Exited()) Reap();
}

Result<bool> Process::Signal(int sig) const {
  auto r = PidfdSendSignal(pidfd_.Get(), sig);
  if (!r) return tl::unexpected(std::move(r.error()).Context("signal pid " + std::to_string(pid_)));
  return r;
}

bool Process::Exited() const { return status_.has_value() || PidfdExited(pidfd_.Get()); }

Result<bool> Process::WaitExit(std::chrono::nanoseconds timeout) const {
  return WaitExitUntil(MonoNow() + timeout);
}

Result<bool> Process::WaitExitUntil(MonoTime deadline) const {
  if (status_) return true;
  for (;;) {
    int ms = MillisUntil(deadline);
    VA_TRY(short revents, PollOne(pidfd_.Get(), POLLIN, std::chrono::milliseconds(ms)));
    if (revents & (POLLIN | POLLHUP)) return true;
    if (revents & (POLLERR | POLLNVAL)) return Fail(ErrorKind::kSystem, "poll pidfd: error");
    if (ms == 0 || MonoNow() >= deadline) return false;
  }
}

std::optional<ExitStatus> Process::Reap() {
  if (status_ || !child_ || !pidfd_) return status_;
  siginfo_t info{};
  int r = RetryEintr(
      [&] { return ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.Get()), &info, WEXITED | WNOHANG); });
  if (r != 0) {
    if (errno == ECHILD) child_ = false;  // reaped elsewhere (e.g. by a SIGCHLD handler)
    return std::nullopt;
  }
  if (info.si_pid == 0) return std::nullopt;  // still running
  status_ = StatusFromSiginfo(info);
  return status_;
}

}  // namespace va
