// vault-sandbox-probe: runs inside a sandbox and tries to get out. Each attempt prints one line
//   denied <name>: <what happened>     the sandbox stopped it (the expected outcome)
//   ALLOWED <name>: <what happened>    it worked: a hole
//   ok <name>: <detail>                a thing the program is meant to be able to do worked
//   FAILED <name>: <detail>            such a thing did not work
// and the probe exits 0 when it could run every attempt (whatever their outcome). Used by
// `vaultctl doctor` and the sandbox tests. Self-contained (libc and libstdc++ only), so that it
// runs unchanged inside the sandbox whatever the build's sanitizers.
//
// Options: --sbx-id=ID (for ps) --file=PATH --file-fd=N --shm-fd=N --notify-fd=N --expect-fds=LIST
//   --secret=PATH
//   --outside-pid=N
//   --outside-pidfd=N --abstract=NAME --tcp-port=N --only=a,b,c --forks=N --alloc-mb=N
//   --hold (print "ready N" after forking --children=N sleepers, then wait forever)
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string file, secret, abstract_name;
  int file_fd = -1, outside_pid = 0, outside_pidfd = -1, tcp_port = 0, shm_fd = -1, notify_fd = -1;
  long forks = 0, alloc_mb = 0, children = 0;
  bool hold = false;
  std::string expect_fds;  // "0,1,2,5": exactly these descriptors are open
  std::set<std::string> only;
};

struct Outcome {
  bool allowed = false;
  std::string detail;
};

void Print(const std::string& line) {
  std::string l = line + "\n";
  ssize_t ignored = write(1, l.data(), l.size());
  (void)ignored;
}

std::string Err(int e) {
  return std::string(strerrorname_np(e) ? strerrorname_np(e) : "E?") + " (" + strerror(e) + ")";
}

// A syscall-style result: -1 = denied with errno; otherwise allowed.
Outcome FromRc(long rc, const std::string& ok_detail = "succeeded") {
  if (rc < 0) return {false, Err(errno)};
  return {true, ok_detail};
}

Outcome TryOpen(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) return {false, "open " + path + ": " + Err(errno)};
  close(fd);
  return {true, "open " + path + " succeeded"};
}

Outcome TryRead(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {false, "open " + path + ": " + Err(errno)};
  char buf[64];
  ssize_t n = read(fd, buf, sizeof(buf));
  int e = errno;
  close(fd);
  if (n < 0) return {false, "read " + path + ": " + Err(e)};
  return {true, "read " + std::to_string(n) + " bytes of " + path};
}

// Runs `fn` in a child; the child's exit code 0 = allowed, else errno (denied); a signal = denied.
Outcome InChild(const std::function<int()>& fn, const std::string& what) {
  pid_t pid = fork();
  if (pid < 0) return {false, "fork: " + Err(errno)};
  if (pid == 0) _exit(fn());
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return {false, what + ": killed by signal " + std::string(sigabbrev_np(WTERMSIG(status)))};
  }
  int code = WEXITSTATUS(status);
  if (code == 0) return {true, what + " succeeded"};
  return {false, what + ": " + Err(code)};
}

Outcome Socket(int domain, int type, const sockaddr* addr, socklen_t len, bool send) {
  int s = socket(domain, type | SOCK_CLOEXEC, 0);
  if (s < 0) return {false, "socket: " + Err(errno)};
  int rc = send ? static_cast<int>(sendto(s, "x", 1, 0, addr, len)) : connect(s, addr, len);
  int e = errno;
  close(s);
  if (rc < 0) return {false, std::string(send ? "sendto" : "connect") + ": " + Err(e)};
  return {true, std::string(send ? "sendto" : "connect") + " succeeded"};
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

Outcome ForkBomb(long n) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {false, "pipe: " + Err(errno)};
  std::vector<pid_t> kids;
  int fail_errno = 0;
  for (long i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      fail_errno = errno;
      break;
    }
    if (pid == 0) {
      char c;
      close(p[1]);
      ssize_t ignored = read(p[0], &c, 1);
      (void)ignored;
      _exit(0);
    }
    kids.push_back(pid);
  }
  close(p[1]);
  close(p[0]);
  for (pid_t k : kids) waitpid(k, nullptr, 0);
  if (fail_errno == 0) return {true, "forked all " + std::to_string(n) + " processes"};
  return {false,
          "fork failed after " + std::to_string(kids.size()) + " processes: " + Err(fail_errno)};
}

Outcome Allocate(long mb) {
  return InChild(
      [mb]() -> int {
        size_t bytes = static_cast<size_t>(mb) << 20;
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return errno;
        for (size_t i = 0; i < bytes; i += 4096) static_cast<volatile char*>(p)[i] = 1;
        return 0;
      },
      "allocate and touch " + std::to_string(mb) + " MiB");
}

int Hold(long children) {
  for (long i = 0; i < children; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      Print("FAILED hold: fork " + std::to_string(i) + ": " + Err(errno));
      return 1;
    }
    if (pid == 0) {
      for (;;) pause();
    }
  }
  Print("ready " + std::to_string(children + 1));
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* key) -> const char* {
      size_t k = strlen(key);
      return a.compare(0, k, key) == 0 ? a.c_str() + k : nullptr;
    };
    if (const char* v = val("--file="))
      o.file = v;
    else if (const char* v = val("--file-fd="))
      o.file_fd = atoi(v);
    else if (const char* v = val("--secret="))
      o.secret = v;
    else if (const char* v = val("--outside-pid="))
      o.outside_pid = atoi(v);
    else if (const char* v = val("--outside-pidfd="))
      o.outside_pidfd = atoi(v);
    else if (const char* v = val("--abstract="))
      o.abstract_name = v;
    else if (const char* v = val("--tcp-port="))
      o.tcp_port = atoi(v);
    else if (const char* v = val("--forks="))
      o.forks = atol(v);
    else if (const char* v = val("--alloc-mb="))
      o.alloc_mb = atol(v);
    else if (const char* v = val("--children="))
      o.children = atol(v);
    else if (const char* v = val("--shm-fd="))
      o.shm_fd = atoi(v);
    else if (const char* v = val("--notify-fd="))
      o.notify_fd = atoi(v);
    else if (const char* v = val("--expect-fds="))
      o.expect_fds = v;
    else if (a == "--hold")
      o.hold = true;
    else if (const char* v = val("--only=")) {
      std::string s = v;
      size_t start = 0;
      while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) o.only.insert(s.substr(start, end - start));
        start = end + 1;
      }
    } else if (val("--sbx-id=") == nullptr) {
      fprintf(stderr, "vault-sandbox-probe: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (o.hold) return Hold(o.children);

  auto want = [&](const std::string& name) { return o.only.empty() || o.only.count(name) > 0; };
  auto attempt = [&](const std::string& name, const std::function<Outcome()>& fn) {
    if (!want(name)) return;
    Outcome r = fn();
    Print(std::string(r.allowed ? "ALLOWED " : "denied ") + name + ": " + r.detail);
  };
  auto check = [&](const std::string& name, const std::function<Outcome()>& fn) {
    if (!want(name)) return;
    Outcome r = fn();
    Print(std::string(r.allowed ? "ok " : "FAILED ") + name + ": " + r.detail);
  };

  // What the program is meant to be able to do.
  if (!o.file.empty()) check("read-file", [&] { return TryRead(o.file); });
  if (o.file_fd >= 0) {
    check("read-file-fd", [&]() -> Outcome {
      char buf[64];
      ssize_t n = pread(o.file_fd, buf, sizeof(buf), 0);
      if (n < 0) return {false, "pread: " + Err(errno)};
      return {true, "read " + std::to_string(n) + " bytes"};
    });
  }
  // The viewer's channels: a memfd of shared frames and a socketpair end for notifications.
  if (o.shm_fd >= 0) {
    check("write-shared-memory", [&]() -> Outcome {
      void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, o.shm_fd, 0);
      if (p == MAP_FAILED) return {false, "mmap: " + Err(errno)};
      memcpy(p, "frame", 5);
      munmap(p, 4096);
      return {true, "wrote 5 bytes to the shared memory"};
    });
  }
  if (o.notify_fd >= 0) {
    check("notify", [&]() -> Outcome {
      if (send(o.notify_fd, "n", 1, MSG_NOSIGNAL) != 1) return {false, "send: " + Err(errno)};
      return {true, "sent 1 byte on the socket"};
    });
  }
  if (!o.expect_fds.empty()) {
    check("open-fds", [&]() -> Outcome {
      DIR* dir = opendir("/proc/self/fd");
      if (dir == nullptr) return {false, "opendir /proc/self/fd: " + Err(errno)};
      std::string open_fds;
      std::vector<int> fds;
      while (dirent* e = readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd != dirfd(dir)) fds.push_back(fd);
      }
      closedir(dir);
      std::sort(fds.begin(), fds.end());
      for (int fd : fds) open_fds += (open_fds.empty() ? "" : ",") + std::to_string(fd);
      return {open_fds == o.expect_fds, "open: " + open_fds};
    });
  }
  check("write-tmp", [] {
    Outcome r = TryOpen("/tmp/probe-scratch", O_WRONLY | O_CREAT | O_TRUNC);
    unlink("/tmp/probe-scratch");
    return r;
  });

  // Files.
  std::string secret = o.secret.empty() ? "/etc/shadow" : o.secret;
  attempt("read-secret", [&] { return TryRead(secret); });
  attempt("read-etc-passwd", [] { return TryRead("/etc/passwd"); });
  attempt("read-dotdot", [&] { return TryRead("/tmp/../../../.." + secret); });
  attempt("read-dotdot-from-file", [&] {
    std::string f = o.file.empty() ? "/input" : o.file;
    return TryRead(f + "/../../../.." + secret);
  });
  attempt("read-symlink", [&] {
    unlink("/tmp/probe-link");
    if (symlink(secret.c_str(), "/tmp/probe-link") != 0) {
      return Outcome{false, "symlink: " + Err(errno)};
    }
    Outcome r = TryRead("/tmp/probe-link");
    unlink("/tmp/probe-link");
    return r;
  });
  attempt("read-proc-root", [&] { return TryRead("/proc/1/root" + secret); });
  attempt("read-proc-self-root", [&] { return TryRead("/proc/self/root/../../.." + secret); });
  if (o.outside_pid > 0) {
    attempt("read-proc-outside",
            [&] { return TryRead("/proc/" + std::to_string(o.outside_pid) + "/root" + secret); });
  }
  attempt("write-usr", [] { return TryOpen("/usr/probe-write", O_WRONLY | O_CREAT); });
  attempt("write-root", [] { return FromRc(mkdir("/probe-dir", 0755)); });
  attempt("write-file", [&] { return TryOpen(o.file.empty() ? "/input" : o.file, O_WRONLY); });
  attempt("mknod", [] { return FromRc(mknod("/tmp/probe-null", S_IFCHR | 0666, makedev(1, 3))); });

  // Network.
  attempt("tcp-connect", [&] {
    sockaddr_in a = Loopback(o.tcp_port > 0 ? o.tcp_port : 80);
    return Socket(AF_INET, SOCK_STREAM, reinterpret_cast<sockaddr*>(&a), sizeof(a), false);
  });
  attempt("tcp-listen", []() -> Outcome {
    int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return {false, "socket: " + Err(errno)};
    int rc = listen(s, 1);
    int e = errno;
    close(s);
    return rc < 0 ? Outcome{false, "listen: " + Err(e)} : Outcome{true, "listen succeeded"};
  });
  attempt("udp-send", [&] {
    sockaddr_in a = Loopback(o.tcp_port > 0 ? o.tcp_port : 53);
    return Socket(AF_INET, SOCK_DGRAM, reinterpret_cast<sockaddr*>(&a), sizeof(a), true);
  });
  attempt("netlink", [] { return FromRc(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0)); });
  if (!o.abstract_name.empty()) {
    attempt("abstract-unix", [&] {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      memcpy(a.sun_path + 1, o.abstract_name.data(), o.abstract_name.size());
      socklen_t len =
          static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + o.abstract_name.size());
      return Socket(AF_UNIX, SOCK_STREAM, reinterpret_cast<sockaddr*>(&a), len, false);
    });
  }

  // Processes.
  if (o.outside_pid > 0) {
    attempt("signal-outside", [&] { return FromRc(kill(o.outside_pid, SIGTERM)); });
    attempt("ptrace-outside", [&] { return FromRc(ptrace(PTRACE_ATTACH, o.outside_pid, 0, 0)); });
  }
  if (o.outside_pidfd >= 0) {
    attempt("signal-outside-pidfd", [&] {
      return FromRc(syscall(SYS_pidfd_send_signal, o.outside_pidfd, SIGTERM, nullptr, 0));
    });
  }
  attempt("signal-init", [] { return FromRc(kill(1, SIGTERM)); });
  attempt("ptrace-init", [] { return FromRc(ptrace(PTRACE_ATTACH, 1, 0, 0)); });
  attempt("exec-not-provided", [] {
    return InChild(
        [] {
          char* args[] = {const_cast<char*>("/usr/bin/env"), nullptr};
          execve(args[0], args, environ);
          return errno;
        },
        "execve /usr/bin/env");
  });
  attempt("exec-from-tmp", [] {
    int fd = open("/tmp/probe-script", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd >= 0) {
      ssize_t ignored = write(fd, "#!/bin/sh\nexit 0\n", 17);
      (void)ignored;
      close(fd);
    }
    Outcome r = InChild(
        [] {
          char* args[] = {const_cast<char*>("/tmp/probe-script"), nullptr};
          execve(args[0], args, environ);
          return errno;
        },
        "execve /tmp/probe-script");
    unlink("/tmp/probe-script");
    return r;
  });

  // Kernel interfaces.
  attempt("mount", [] { return FromRc(mount("none", "/tmp", "tmpfs", 0, nullptr)); });
  attempt("umount", [] { return FromRc(umount2("/usr", MNT_DETACH)); });
  attempt("chroot", [] { return FromRc(chroot("/tmp")); });
  attempt("unshare-user", [] { return FromRc(unshare(CLONE_NEWUSER)); });
  attempt("unshare-mount", [] { return FromRc(unshare(CLONE_NEWNS)); });
  attempt("clone-newuser", [] {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return FromRc(pid);
  });
  attempt("setns", []() -> Outcome {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {false, "open /proc/self/ns/net: " + Err(errno)};
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    return rc < 0 ? Outcome{false, "setns: " + Err(e)} : Outcome{true, "setns succeeded"};
  });
  attempt("keyctl", [] {
    return FromRc(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
  });
  attempt("add-key", [] {
    return FromRc(syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_SESSION_KEYRING));
  });
  attempt("bpf", [] {
    union bpf_attr attr {};
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return FromRc(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
  });
  attempt("io-uring", [] {
    io_uring_params params{};
    return FromRc(syscall(SYS_io_uring_setup, 4, &params));
  });
  attempt("perf-event", [] {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    return FromRc(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  });
  attempt("userfaultfd", [] { return FromRc(syscall(SYS_userfaultfd, 0)); });
  attempt("raise-rlimit-nofile", []() -> Outcome {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    rlimit more{lim.rlim_max + 1, lim.rlim_max + 1};
    return FromRc(setrlimit(RLIMIT_NOFILE, &more));
  });
  attempt("raise-rlimit-core", [] {
    rlimit more{1 << 20, 1 << 20};
    return FromRc(setrlimit(RLIMIT_CORE, &more));
  });
  attempt("regain-capabilities", []() -> Outcome {
    int rc = setuid(0);  // uid 0 inside gives nothing either
    int e = errno;
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &header, data) != 0) return {false, "capget: " + Err(errno)};
    if (data[0].effective | data[1].effective | data[0].permitted | data[1].permitted) {
      return {true, "holds capabilities after setuid(0)"};
    }
    return {false, std::string("no capabilities; setuid(0): ") + (rc == 0 ? "no-op" : Err(e))};
  });
  if (o.forks > 0) attempt("fork-bomb", [&] { return ForkBomb(o.forks); });
  if (o.alloc_mb > 0) attempt("allocate-past-limit", [&] { return Allocate(o.alloc_mb); });
  return 0;
}
