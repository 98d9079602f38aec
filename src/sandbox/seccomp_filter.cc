// seccomp allow-list built with libseccomp; see seccomp_filter.h.
#include "sandbox/seccomp_filter.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "base/sys.h"

namespace va::sandbox {
namespace {

// Syscalls allowed without conditions. Deliberately absent (EPERM): ptrace, mount and every other
// mount API call, pivot_root, chroot, unshare, setns, keyctl/add_key/request_key, bpf, io_uring_*,
// perf_event_open, userfaultfd, pidfd_open/pidfd_send_signal/pidfd_getfd, process_vm_*,
// open_by_handle_at, name_to_handle_at, kexec_*, *_module, reboot, swapon/off, acct, quotactl,
// setuid/setgid family, capset, personality, sysfs, syslog, lookup_dcookie, fanotify_*,
// landlock_*, seccomp, memfd_secret, move_pages, mbind, kcmp, SysV IPC.
constexpr const char* kAllowed[] = {
    // files and descriptors
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "ioctl",
    "open",
    "openat",
    "openat2",
    "creat",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "getdents",
    "getdents64",
    "readlink",
    "readlinkat",
    "getcwd",
    "chdir",
    "fchdir",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "umask",
    "truncate",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "fadvise64",
    "readahead",
    "flock",
    "utimensat",
    "sendfile",
    "splice",
    "tee",
    "copy_file_range",
    "memfd_create",
    "pipe",
    "pipe2",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    // memory
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "msync",
    "mincore",
    "mlock",
    "munlock",
    "membarrier",
    "get_mempolicy",
    // waiting and time
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd",
    "signalfd4",
    "futex",
    "futex_waitv",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getitimer",
    "setitimer",
    "alarm",
    "pause",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "getcpu",
    // signals
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "kill",
    "tgkill",
    "tkill",
    "restart_syscall",
    // processes and threads
    "fork",
    "vfork",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "arch_prctl",
    "prctl",
    "getpid",
    "getppid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpgrp",
    "getpgid",
    "setpgid",
    "getsid",
    "setsid",
    "getpriority",
    "setpriority",
    "uname",
    "sysinfo",
    "times",
    "getrusage",
    "getrlimit",
    "setrlimit",
    "prlimit64",
    "getrandom",
    "capget",
    // sockets (socket and socketpair: AF_UNIX only, below)
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "getsockname",
    "getpeername",
    "getsockopt",
    "setsockopt",
};

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP |
                                     0x00000080 /* CLONE_NEWTIME */;

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

Error SeccompError(const std::string& what, int rc) {
  Error err = SysError("seccomp: " + what, -rc);
  return err;
}

}  // namespace

SeccompProgram::SeccompProgram(std::vector<sock_filter> filter) : filter_(std::move(filter)) {
  prog_.len = static_cast<unsigned short>(filter_.size());
  prog_.filter = filter_.data();
}

SeccompProgram::SeccompProgram(SeccompProgram&& other) noexcept
    : filter_(std::move(other.filter_)) {
  prog_.len = static_cast<unsigned short>(filter_.size());
  prog_.filter = filter_.data();
  other.prog_ = {};
}

SeccompProgram& SeccompProgram::operator=(SeccompProgram&& other) noexcept {
  if (this != &other) {
    filter_ = std::move(other.filter_);
    prog_.len = static_cast<unsigned short>(filter_.size());
    prog_.filter = filter_.data();
    other.prog_ = {};
  }
  return *this;
}

Result<SeccompProgram> SeccompProgram::BuildAllowList() {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!ctx) return Fail(ErrorKind::kSystem, "seccomp: seccomp_init failed");
  // A foreign architecture (or the x32 ABI) kills the process: the syscall numbers would mean
  // something else.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return tl::unexpected(SeccompError("set bad-arch action", rc));
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture (e.g. fork on arm64)
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) return tl::unexpected(SeccompError(std::string("allow ") + name, rc));
  }
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0));
  if (rc != 0) return tl::unexpected(SeccompError("allow clone", rc));
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return tl::unexpected(SeccompError("clone3", rc));
  for (int nr : {SCMP_SYS(socket), SCMP_SYS(socketpair)}) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    if (rc != 0) return tl::unexpected(SeccompError("allow AF_UNIX sockets", rc));
  }

  // Export the BPF through a memfd and read it back.
  VA_TRY(UniqueFd memfd, [&]() -> Result<UniqueFd> {
    int fd = ::memfd_create("va-seccomp", MFD_CLOEXEC);
    if (fd < 0) return SysFail("seccomp: memfd_create");
    return UniqueFd(fd);
  }());
  rc = seccomp_export_bpf(ctx.get(), memfd.Get());
  if (rc != 0) return tl::unexpected(SeccompError("export BPF", rc));
  if (::lseek(memfd.Get(), 0, SEEK_SET) != 0) return SysFail("seccomp: lseek");
  VA_TRY(std::string bytes, ReadAll(memfd.Get(), 1 << 20));
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0 ||
      bytes.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Fail(ErrorKind::kCorrupt, "seccomp: exported BPF has a bad size");
  }
  std::vector<sock_filter> filter(bytes.size() / sizeof(sock_filter));
  std::memcpy(filter.data(), bytes.data(), bytes.size());
  return SeccompProgram(std::move(filter));
}

const Result<SeccompProgram>& SeccompProgram::AllowList() {
  static const Result<SeccompProgram> program = BuildAllowList();
  return program;
}

int InstallSeccomp(const sock_fprog* program) {
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program, 0, 0);
}

bool SeccompAvailable() {
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) return false;
  // SECCOMP_GET_ACTION_AVAIL answers 0 when filters exist (EOPNOTSUPP for an unknown action).
  uint32_t action = SECCOMP_RET_ERRNO;
  return ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

}  // namespace va::sandbox
