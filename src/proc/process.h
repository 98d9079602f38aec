// Process: one process known by its pidfd, whether we spawned it or adopted it after checking its
// identity. A bare pid is never stored without its pidfd. Move-only; the destructor closes the
// pidfd and reaps the child if it has already exited, but never signals it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proc/identity.h"

namespace va {

struct ExitStatus {
  bool signaled = false;  // true: killed by signal `code`; false: exited with status `code`
  int code = 0;
  // "exit 0", "signal SIGKILL".
  std::string ToString() const;
  bool operator==(const ExitStatus&) const = default;
};

// The child starts with default signal dispositions and an empty signal mask, whatever the
// spawning thread has blocked or ignored.
struct SpawnOptions {
  // argv[0] is the program: an absolute/relative path, or a name looked up in PATH.
  std::vector<std::string> argv;
  // nullopt: inherit the environment; otherwise exactly these "K=V" strings.
  std::optional<std::vector<std::string>> env;
  std::string cwd;  // empty: inherit
  bool new_process_group = false;
  bool new_session = false;
  // Descriptors to install as the child's 0, 1, 2; -1 inherits, kDevNull opens /dev/null.
  static constexpr int kDevNull = -2;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Further descriptors to pass: {fd in parent, fd number in child}. Everything else is closed.
  std::vector<std::pair<int, int>> extra_fds;
  // A cgroup v2 directory fd: the child starts inside it (CLONE_INTO_CGROUP).
  int cgroup_fd = -1;
  // Signal the child receives when the spawning thread exits (PR_SET_PDEATHSIG); 0 = none.
  int parent_death_signal = 0;
};

class Process {
 public:
  // Starts a child with clone3(CLONE_PIDFD): the pidfd exists before the child can run, so there
  // is no window for pid reuse. Returns once the child has exec'd; fails with the child's errno
  // when exec (or a set-up step before it) failed, in which case the child is reaped.
  static Result<Process> Spawn(const SpawnOptions& options);

  // Takes hold of an existing process: opens its pidfd, then reads its identity and checks it
  // against `expected`. Fails with kNotFound when no such pid exists, kUntrusted (message: the
  // mismatch) when it is another process. A process that has exited but was not reaped (a
  // zombie) is adopted; Exited() is then true.
  static Result<Process> Adopt(pid_t pid, const ExpectedIdentity& expected = {});

  Process(Process&& other) noexcept = default;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t Pid() const { return pid_; }
  int PidFd() const { return pidfd_.Get(); }
  bool IsChild() const { return child_; }
  const ProcessIdentity& Identity() const { return identity_; }

  // Sends `sig` through the pidfd. true: sent; false: it had already exited.
  // kPermission when the caller may not signal it.
  Result<bool> Signal(int sig) const;
  // True once the process has exited (a zombie counts).
  bool Exited() const;
  // Blocks until the process exits or `timeout` passes; true when it exited.
  Result<bool> WaitExit(std::chrono::nanoseconds timeout) const;
  Result<bool> WaitExitUntil(MonoTime deadline) const;
  // For a child that has exited: reaps it (once) and returns its status. nullopt when it is still
  // running or not our child.
  std::optional<ExitStatus> Reap();
  const std::optional<ExitStatus>& Status() const { return status_; }

 private:
  Process(pid_t pid, UniqueFd pidfd, bool child)
      : pid_(pid), pidfd_(std::move(pidfd)), child_(child) {}

  pid_t pid_ = 0;
  UniqueFd pidfd_;
  bool child_ = false;
  ProcessIdentity identity_;
  std::optional<ExitStatus> status_;
};

// Name of a signal: "SIGTERM"; "SIG<n>" when unknown.
std::string SignalName(int sig);

}  // namespace va
