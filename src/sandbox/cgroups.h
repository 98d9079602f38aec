// The cgroups of one sandbox, named after its id: a cgroup v2 directory (for cgroup.kill and
// CLONE_INTO_CGROUP) when cgroup2 is mounted and the supervisor may create one under its own
// cgroup, and the memory and pids limits either in that v2 directory (when the memory and pids
// controllers are delegated to it) or in the v1 `memory` and `pids` hierarchies (a hybrid host,
// root only). SandboxCgroups owns them all (move-only); destroying it kills what is left inside
// and removes every directory. When limits are required and neither v2 nor v1 can carry them,
// Create refuses with "cgroup: …" and the reason.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proc/group.h"

namespace va::sandbox {

// One directory in a cgroup v1 hierarchy. Move-only; removes it (after SIGKILLing what is left)
// on destruction.
class V1Cgroup {
 public:
  static Result<V1Cgroup> Create(const std::string& parent, const std::string& name);
  static Result<V1Cgroup> Open(const std::string& path);
  V1Cgroup(V1Cgroup&& other) noexcept = default;
  V1Cgroup& operator=(V1Cgroup&& other) noexcept;
  V1Cgroup(const V1Cgroup&) = delete;
  V1Cgroup& operator=(const V1Cgroup&) = delete;
  ~V1Cgroup();

  const std::string& Path() const { return path_; }
  Status Write(const char* file, const std::string& value) const;
  Status AddProcess(pid_t pid) const;
  Result<std::vector<pid_t>> Procs() const;
  // SIGKILLs each member through its pidfd, waits (until `deadline`) for the list to empty, rmdirs.
  Status Remove(MonoTime deadline);

 private:
  V1Cgroup(std::string path, UniqueFd dirfd) : path_(std::move(path)), dirfd_(std::move(dirfd)) {}
  std::string path_;
  UniqueFd dirfd_;
};

struct CgroupRequest {
  std::string name;  // the sandbox id
  uint64_t memory_max = 0;
  uint64_t pids_max = 0;
  bool require_limits = true;
};

class SandboxCgroups {
 public:
  static Result<SandboxCgroups> Create(const CgroupRequest& request);
  // Takes over directories a dead supervisor left (paths from its record); missing ones are
  // skipped.
  static SandboxCgroups Adopt(const std::vector<std::string>& paths);
  // The directories Create would make for `name`, for the record written before creating them.
  static std::vector<std::string> PlannedPaths(const std::string& name);

  SandboxCgroups(SandboxCgroups&&) noexcept = default;
  SandboxCgroups& operator=(SandboxCgroups&&) noexcept = default;
  ~SandboxCgroups() = default;

  // -1 when there is no v2 directory.
  int V2Fd() const { return v2_ ? v2_->DirFd() : -1; }
  bool HasKill() const { return v2_ && v2_->HasKillFile(); }
  bool HasLimits() const { return limits_ != Limits::kNone; }
  // "cgroup v2", "cgroup v1 memory+pids", "none".
  std::string LimitsDescription() const;
  std::vector<std::string> Paths() const;

  // Adds a process to the v1 directories (the v2 one is entered through CLONE_INTO_CGROUP).
  Status AddProcess(pid_t pid) const;
  // Processes inside (v2 if present, else v1 pids), for reports.
  size_t CountProcesses() const;
  // cgroup.kill (or freeze/kill/thaw) on the v2 directory; no-op without one.
  Status Kill() const;
  // Waits for the v2 directory to empty; true at once without one.
  Result<bool> WaitEmpty(MonoTime deadline) const;
  // Kills what is left, waits until `deadline`, removes every directory. Idempotent.
  Status Remove(MonoTime deadline);

 private:
  enum class Limits { kNone, kV2, kV1 };
  SandboxCgroups() = default;
  std::optional<Cgroup> v2_;
  std::vector<V1Cgroup> v1_;
  Limits limits_ = Limits::kNone;
};

// Where this process sits in each hierarchy: {mount point + own path} of the cgroup2 tree and of
// the v1 hierarchies carrying `controller` ("memory", "pids"). nullopt when absent.
std::optional<std::string> OwnV2Dir();
std::optional<std::string> OwnV1Dir(const std::string& controller);

}  // namespace va::sandbox
