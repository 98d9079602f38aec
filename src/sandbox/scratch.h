// A sandbox's scratch directory, SCRATCH_ROOT/<sbx id>: the mount point of its root tmpfs (inside
// its own mount namespace only) and its owner record, which names the supervisor (pid, start
// time, boot id), the sandbox's init and its cgroups so that a later supervisor can tell whether
// the owner is alive and, if not, destroy what it left (see sweep.h). The record is versioned,
// written atomically (not fsync'ed: it matters only within one boot) before any cgroup exists,
// and read defensively. ScratchDir owns the
// directory: move-only, removed (recursively) on destruction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace va::sandbox {

struct OwnerRecord {
  std::string id;
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start = 0;  // /proc/PID/stat start time
  std::string boot_id;
  pid_t init_pid = 0;  // host pid of the sandbox's init; 0 until started
  uint64_t init_start = 0;
  std::vector<std::string> cgroups;
};

inline constexpr char kOwnerFile[] = "owner";

std::string FormatOwnerRecord(const OwnerRecord& record);
// kCorrupt when the version line or a required field is missing; unknown keys are ignored.
Result<OwnerRecord> ParseOwnerRecord(const std::string& text);
// This process as a supervisor (pid, start time, boot id).
Result<OwnerRecord> SelfOwner();
// True when `record`'s supervisor is this boot's process with that pid and start time.
bool SupervisorAlive(const OwnerRecord& record);

class ScratchDir {
 public:
  // mkdir ROOT/ID (0700, owned by the caller) with an empty root/ inside and the record.
  static Result<ScratchDir> Create(const std::string& root, const OwnerRecord& record);
  // An existing one (for the sweep).
  static ScratchDir Adopt(std::string path);

  ScratchDir(ScratchDir&& other) noexcept = default;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::string& Path() const { return path_; }
  // O_PATH|O_DIRECTORY fd of the directory, for the child's fchdir.
  int Fd() const { return fd_.Get(); }
  Status WriteRecord(const OwnerRecord& record) const;
  // Removes the directory and everything in it. Idempotent.
  Status Remove();

 private:
  ScratchDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// rm -rf that never follows symlinks and stays on one file system.
Status RemoveTree(const std::string& path);

}  // namespace va::sandbox
