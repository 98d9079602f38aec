// Stopping many processes at once: a process group, or everything in a cgroup v2 directory.
// Members are each taken by their pidfd before being signalled, so a pid that is recycled while we
// work is never hit; members forked during the stop are found on the next scan.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proc/stop.h"

namespace va {

struct GroupStopResult {
  StopOutcome outcome = StopOutcome::kFailed;  // kAlreadyGone when the group was empty
  size_t signalled = 0;                        // members that received the term signal
  size_t killed = 0;                           // members that needed the kill signal
  std::chrono::nanoseconds elapsed{};
  std::string detail;
};

// Pids whose process group is `pgid` and that have not exited (zombies excluded), from /proc.
Result<std::vector<pid_t>> ListProcessGroup(pid_t pgid);

// Term signal to every member, grace, kill signal to those left, verified empty within kill_grace.
GroupStopResult StopProcessGroup(pid_t pgid, const StopPolicy& policy = {});

// A cgroup v2 directory that this process created and owns: removed (after killing what is left
// inside) when the object is destroyed. Move-only.
class Cgroup {
 public:
  // The cgroup2 mount point, from /proc/self/mountinfo (e.g. /sys/fs/cgroup or
  // /sys/fs/cgroup/unified on a hybrid host). kUnsupported when there is none.
  static Result<std::string> V2Root();
  // mkdir PARENT/NAME (fails if it exists). kPermission when the parent is not delegated to us.
  static Result<Cgroup> Create(const std::string& parent, const std::string& name);
  // Takes ownership of an existing directory (used by start-up sweeps).
  static Result<Cgroup> Open(const std::string& path);

  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&& other) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();

  const std::string& Path() const { return path_; }
  int DirFd() const { return dirfd_.Get(); }  // for SpawnOptions::cgroup_fd

  Status AddProcess(pid_t pid) const;
  Result<std::vector<pid_t>> Procs() const;
  // "populated 1" in cgroup.events: some process (in it or a descendant) is alive.
  Result<bool> Populated() const;
  bool HasKillFile() const;
  // Kills everything inside at once: cgroup.kill when the kernel has it, otherwise freeze, SIGKILL
  // each member through its pidfd, thaw.
  Status KillAll() const;
  // Waits for "populated 0" using cgroup.events notifications. true: empty before the deadline.
  Result<bool> WaitEmpty(MonoTime deadline) const;
  // Kills what is left, waits up to `timeout` for it to empty, then rmdirs it.
  Status Destroy(std::chrono::nanoseconds timeout = std::chrono::seconds(2));

 private:
  Cgroup(std::string path, UniqueFd dirfd) : path_(std::move(path)), dirfd_(std::move(dirfd)) {}
  std::string path_;
  UniqueFd dirfd_;
};

// Stops a cgroup gracefully: term signal to each member, wait for it to empty within grace, then
// KillAll and wait kill_grace. The directory itself is left for the caller.
GroupStopResult StopCgroup(const Cgroup& cgroup, const StopPolicy& policy = {});

}  // namespace va
