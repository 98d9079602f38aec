// Create and Destroy: the supervisor's side of a sandbox; see sandbox.h. The children's side is
// in init.cc, the layers in one file each (userns, mounts, landlock, seccomp_filter, caps,
// cgroups, scratch).
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "base/ids.h"
#include "base/log.h"
#include "base/sys.h"
#include "proc/identity.h"
#include "proc/pidfd.h"
#include "sandbox/child_plan.h"
#include "sandbox/landlock.h"
#include "sandbox/mounts.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/userns.h"

namespace va::sandbox {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(5);

ErrorKind KindForErrno(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return ErrorKind::kPermission;
    case ENOSYS:
    case EINVAL:
    case EOPNOTSUPP:
      return ErrorKind::kUnsupported;
    case ENOENT:
      return ErrorKind::kNotFound;
    default:
      return ErrorKind::kSystem;
  }
}

Error LayerError(const std::string& message, int err) {
  return Error{KindForErrno(err), err, message + ": " + std::strerror(err)};
}

int CapLast() {
  auto text = ReadSmallFile("/proc/sys/kernel/cap_last_cap");
  if (!text) return 63;
  return std::atoi(text->c_str());
}

std::string RlimitName(int resource) {
  switch (resource) {
    case RLIMIT_AS:
      return "RLIMIT_AS";
    case RLIMIT_CORE:
      return "RLIMIT_CORE";
    case RLIMIT_NOFILE:
      return "RLIMIT_NOFILE";
    case RLIMIT_FSIZE:
      return "RLIMIT_FSIZE";
    case RLIMIT_NPROC:
      return "RLIMIT_NPROC";
    default:
      return "resource " + std::to_string(resource);
  }
}

std::string RlimitsText(const std::vector<RlimitEntry>& rlimits) {
  std::string out;
  for (const auto& r : rlimits) {
    if (!out.empty()) out += ", ";
    out += RlimitName(r.resource) + "=" +
           (r.value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(r.value));
  }
  return out.empty() ? "none" : out;
}

Status ValidateSpec(const Spec& spec) {
  if (!spec.id.starts_with("sbx_") || spec.id.size() < 8 || spec.id.size() > 64 ||
      spec.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return Fail(ErrorKind::kInvalid, "sandbox: bad id '" + spec.id + "'");
  }
  if (spec.argv.empty()) return Fail(ErrorKind::kInvalid, "sandbox: empty argv");
  if (std::none_of(spec.argv.begin(), spec.argv.end(),
                   [&](const std::string& a) { return a.find(spec.id) != std::string::npos; })) {
    return Fail(ErrorKind::kInvalid, "sandbox: argv does not carry the id " + spec.id);
  }
  if (spec.scratch_root.empty() || spec.scratch_root[0] != '/') {
    return Fail(ErrorKind::kInvalid, "sandbox: scratch_root must be an absolute path");
  }
  return {};
}

}  // namespace

std::string NewSandboxId() { return RandomId("sbx_"); }

Result<Sandbox> Create(const Policy& policy, const Spec& spec) {
  const MonoTime start = MonoNow();
  VA_TRY_STATUS(ValidateSpec(spec));
  char real[PATH_MAX];
  if (::realpath(spec.argv[0].c_str(), real) == nullptr) {
    return SysFail("exec: " + spec.argv[0]);
  }
  const std::string exec_path = real;
  if (std::find(policy.executables.begin(), policy.executables.end(), exec_path) ==
      policy.executables.end()) {
    return Fail(ErrorKind::kInvalid,
                "exec: " + spec.argv[0] + " is not an executable of the policy");
  }
  if (!spec.file.empty()) {
    struct stat st {};
    if (::stat(spec.file.c_str(), &st) != 0) return SysFail("file: " + spec.file);
    if (!S_ISREG(st.st_mode)) {
      return Fail(ErrorKind::kInvalid, "file: " + spec.file + " is not a regular file");
    }
  }

  // Landlock: the newest ABI the kernel offers, never below the policy's minimum.
  VA_TRY(int abi, ProbeLandlockAbi());
  if (abi < policy.landlock_min_abi) {
    return Fail(ErrorKind::kUnsupported, "landlock: kernel ABI " + std::to_string(abi) +
                                             " is below the policy's minimum " +
                                             std::to_string(policy.landlock_min_abi));
  }
  VA_TRY(LandlockRuleset ruleset, LandlockRuleset::Create(std::min(abi, kNewestKnownAbi)));
  for (const auto& m : policy.mounts) {
    if (m.kind == MountKind::kBind) {
      VA_TRY_STATUS(ruleset.AllowPath(m.path, kReadRights));
    } else if (m.kind == MountKind::kDevice) {
      VA_TRY_STATUS(ruleset.AllowPath(m.path, kFsReadFile | kFsWriteFile | kFsTruncate));
    }
  }
  for (const auto& e : policy.executables) {
    VA_TRY_STATUS(ruleset.AllowPath(e, kFsReadFile | kFsExecute));
  }
  if (!spec.file.empty()) VA_TRY_STATUS(ruleset.AllowPath(spec.file, kFsReadFile));
  const uint64_t tmpfs_access =
      ruleset.HandledFs() & ~(kFsExecute | kFsIoctlDev | kFsMakeChar | kFsMakeBlock);
  const Result<SeccompProgram>& compiled = SeccompProgram::AllowList();
  if (!compiled) return tl::unexpected(compiled.error());
  const SeccompProgram& seccomp = *compiled;
  VA_TRY(MountPlan mounts,
         MountPlan::Build(policy, spec.file, spec.file_target, tmpfs_access, kReadRights));

  // The record exists before any cgroup, so a supervisor dying from here on leaves a trail.
  VA_TRY(OwnerRecord record, SelfOwner());
  record.id = spec.id;
  record.cgroups = SandboxCgroups::PlannedPaths(spec.id);
  VA_TRY(ScratchDir scratch, ScratchDir::Create(spec.scratch_root, record));
  CgroupRequest request{spec.id, spec.memory_max ? spec.memory_max : policy.memory_max,
                        spec.pids_max ? spec.pids_max : policy.pids_max,
                        policy.require_cgroup_limits};
  VA_TRY(SandboxCgroups cgroups, SandboxCgroups::Create(request));
  Sandbox sb(spec.id, std::move(scratch), std::move(cgroups));

  // Descriptors for the program: 0-2 default to /dev/null; nothing else crosses.
  VA_TRY(UniqueFd dev_null, Open("/dev/null", O_RDWR));
  std::vector<int> pass_from, pass_to;
  for (const auto& f : spec.fds) {
    if (f.parent_fd < 0 || f.child_fd < 0 || f.child_fd >= 1024) {
      return Fail(ErrorKind::kInvalid, "sandbox: bad descriptor " + std::to_string(f.parent_fd) +
                                           " -> " + std::to_string(f.child_fd));
    }
    if (std::find(pass_to.begin(), pass_to.end(), f.child_fd) != pass_to.end()) {
      return Fail(ErrorKind::kInvalid,
                  "sandbox: descriptor " + std::to_string(f.child_fd) + " given twice");
    }
    pass_from.push_back(f.parent_fd);
    pass_to.push_back(f.child_fd);
  }
  for (int std_fd = 0; std_fd < 3; ++std_fd) {
    if (std::find(pass_to.begin(), pass_to.end(), std_fd) == pass_to.end()) {
      pass_from.push_back(dev_null.Get());
      pass_to.push_back(std_fd);
    }
  }
  if (pass_from.size() > 64) return Fail(ErrorKind::kInvalid, "sandbox: too many descriptors");

  std::vector<std::string> env = spec.env;
  if (env.empty()) env.push_back("PATH=/usr/bin:/bin");
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  VA_TRY(Pipe report, MakePipe());
  VA_TRY(Pipe sync, MakePipe());
  VA_TRY(Pipe death, MakePipe());
  const bool privileged = ::geteuid() == 0;

  ChildPlan plan;
  plan.report_fd = report.write.Get();
  plan.sync_fd = sync.read.Get();
  plan.death_fd = death.read.Get();
  plan.ruleset_fd = ruleset.Fd();
  const std::string scratch_path = sb.scratch_.Path();
  plan.scratch_path = scratch_path.c_str();
  plan.pass_from = pass_from.data();
  plan.pass_to = pass_to.data();
  plan.pass_count = pass_from.size();
  plan.ops = mounts.Ops().data();
  plan.op_count = mounts.Ops().size();
  plan.hostname = policy.hostname.c_str();
  plan.switch_uid = privileged;
  plan.cap_last = CapLast();
  plan.rlimits = policy.rlimits.data();
  plan.rlimit_count = policy.rlimits.size();
  plan.seccomp = seccomp.Program();
  plan.exec_path = exec_path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();

  int pidfd = -1;
  struct clone_args args {};
  args.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (sb.cgroups_.V2Fd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(sb.cgroups_.V2Fd());
  }
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = ::syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) RunInit(plan);  // never returns
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    return tl::unexpected(
        LayerError("namespaces: clone3(user, pid, mount, net, ipc, uts)", clone_errno));
  }
  sb.pidfd_ = UniqueFd(pidfd);
  sb.init_pid_ = static_cast<pid_t>(pid);
  sb.death_pipe_ = std::move(death.write);
  report.write.Reset();
  sync.read.Reset();
  death.read.Reset();

  VA_TRY_STATUS(WriteIdMaps(sb.init_pid_, {privileged, policy.host_uid, policy.host_gid}));
  VA_TRY_STATUS(sb.cgroups_.AddProcess(sb.init_pid_));
  VA_TRY_STATUS(WriteAll(sync.write.Get(), "g"));
  sync.write.Reset();

  // EOF on the report pipe: the program has exec'd. A record: the step that failed.
  ChildReport child{};
  size_t got = 0;
  const MonoTime deadline = MonoNow() + kStartTimeout;
  while (got < sizeof(child)) {
    VA_TRY(short revents,
           PollOne(report.read.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline))));
    if (revents == 0) {
      return Fail(ErrorKind::kTimeout, "sandbox: init did not start the program within 5 s");
    }
    VA_TRY(size_t n,
           Read(report.read.Get(), {reinterpret_cast<char*>(&child) + got, sizeof(child) - got}));
    if (n == 0) break;
    got += n;
  }
  if (got == sizeof(child)) {
    auto step = static_cast<ChildStep>(child.step);
    std::string what = std::string(ChildStepLayer(step)) + ": ";
    if (step == ChildStep::kMountOp) {
      what += mounts.Describe(static_cast<size_t>(child.index));
    } else if (step == ChildStep::kRlimit && child.index < static_cast<int>(plan.rlimit_count)) {
      what += "setrlimit " + RlimitName(policy.rlimits[static_cast<size_t>(child.index)].resource);
    } else if (step == ChildStep::kCgroupNs) {
      what += "unshare(CLONE_NEWCGROUP)";
    } else {
      what += ChildStepName(step);
    }
    if (step == ChildStep::kExec) what += " " + exec_path;
    return tl::unexpected(LayerError(what, child.err));
  }
  if (got != 0) return Fail(ErrorKind::kSystem, "sandbox: short report from init");

  record.init_pid = sb.init_pid_;
  if (auto stat = ReadProcessStat(sb.init_pid_)) record.init_start = stat->start_time;
  record.cgroups = sb.cgroups_.Paths();
  VA_TRY_STATUS(sb.scratch_.WriteRecord(record));

  sb.layers_ = {
      "user namespace: " + std::string(privileged
                                           ? "uid 0 -> 0 (init), 1 -> " +
                                                 std::to_string(policy.host_uid) + " (program)"
                                           : "uid 0 -> " + std::to_string(::geteuid())),
      "namespaces: pid, mount, network (empty), ipc, uts, cgroup",
      "mount: fresh read-only root, " + std::to_string(plan.op_count) + " steps",
      "landlock: ABI " + std::to_string(ruleset.Abi()) +
          (ruleset.HandledNet() ? ", tcp bind/connect denied" : "") +
          (ruleset.Scoped() ? ", signals and abstract sockets scoped" : ""),
      "seccomp: allow-list of " + std::to_string(seccomp.Instructions()) + " BPF instructions",
      "capabilities: none, no_new_privs",
      "rlimits: " + RlimitsText(policy.rlimits),
      "cgroup: " + sb.cgroups_.LimitsDescription() +
          (sb.cgroups_.HasKill() ? ", cgroup.kill" : ", kill through the pid namespace"),
  };
  LogInfo("sandbox_created", {{"id", sb.id_},
                              {"init_pid", sb.init_pid_},
                              {"landlock_abi", ruleset.Abi()},
                              {"limits", sb.cgroups_.LimitsDescription()},
                              {"elapsed", MonoNow() - start}});
  return sb;
}

Sandbox& Sandbox::operator=(Sandbox&& other) noexcept {
  if (this != &other) {
    if (pidfd_ && !destroyed_) (void)Destroy();
    id_ = std::move(other.id_);
    scratch_ = std::move(other.scratch_);
    cgroups_ = std::move(other.cgroups_);
    pidfd_ = std::move(other.pidfd_);
    init_pid_ = other.init_pid_;
    death_pipe_ = std::move(other.death_pipe_);
    layers_ = std::move(other.layers_);
    init_status_ = other.init_status_;
    destroyed_ = std::move(other.destroyed_);
  }
  return *this;
}

Sandbox::~Sandbox() {
  if (id_.empty() || destroyed_) return;
  if (auto r = Destroy(); !r) {
    LogWarn("sandbox_destroy_failed", {{"id", id_}, {"error", r.error().message}});
  }
}

void Sandbox::ReapInit(bool block) {
  if (!pidfd_ || init_status_) return;
  siginfo_t info{};
  int rc = RetryEintr([&] {
    return ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.Get()), &info,
                    WEXITED | (block ? 0 : WNOHANG));
  });
  if (rc == 0 && info.si_pid != 0) {
    init_status_ = ExitStatus{info.si_code != CLD_EXITED, info.si_status};
  }
}

Result<std::optional<ExitStatus>> Sandbox::Wait(MonoTime deadline) {
  if (init_status_) return init_status_;
  if (!pidfd_) return Fail(ErrorKind::kInvalid, "sandbox: not started");
  VA_TRY(short revents,
         PollOne(pidfd_.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline))));
  if (revents == 0) return std::optional<ExitStatus>();
  ReapInit(true);
  return init_status_;
}

Result<DestroyReport> Sandbox::Destroy(std::chrono::nanoseconds timeout) {
  if (destroyed_) return *destroyed_;
  const MonoTime start = MonoNow();
  const MonoTime deadline = start + timeout;
  DestroyReport report;
  report.processes = cgroups_.CountProcesses();
  report.method = "pid namespace init";
  if (cgroups_.HasKill()) {
    VA_TRY_STATUS(cgroups_.Kill());
    report.method = "cgroup.kill";
  }
  if (pidfd_ && !init_status_) {
    // init's death takes the whole PID namespace with it.
    VA_TRY(bool sent, PidfdSendSignal(pidfd_.Get(), SIGKILL));
    (void)sent;
  }
  // With a cgroup, "nothing left" is its populated flag going to 0: every process has exited
  // (init's last zombies are reaped by the kernel as init finishes). Without one, init's pidfd
  // turns readable only once every process of its namespace has been reaped.
  VA_TRY(bool empty, cgroups_.WaitEmpty(deadline));
  if (!empty) return Fail(ErrorKind::kTimeout, "cgroup: " + id_ + " still populated after kill");
  if (pidfd_ && !init_status_) {
    VA_TRY(short revents,
           PollOne(pidfd_.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline))));
    if (revents == 0) {
      return Fail(ErrorKind::kTimeout, "sandbox: " + id_ + ": init still running after SIGKILL");
    }
    ReapInit(true);
  }
  death_pipe_.Reset();
  VA_TRY_STATUS(cgroups_.Remove(deadline));
  VA_TRY_STATUS(scratch_.Remove());
  report.elapsed = MonoNow() - start;
  report.init_status = init_status_;
  destroyed_ = report;
  LogInfo("sandbox_destroyed", {{"id", id_},
                                {"processes", report.processes},
                                {"method", report.method},
                                {"elapsed", report.elapsed}});
  return report;
}

}  // namespace va::sandbox
