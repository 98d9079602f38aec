// What the sandbox's child processes (our init, then the program it forks) need, prepared by the
// supervisor before clone so that the children never allocate or take a lock (the supervisor may
// be multithreaded), and how they report a failed step: one fixed-size record on a pipe. The
// supervisor turns a record into an error naming the layer ("mount: bind /usr: …").
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "sandbox/policy.h"

namespace va::sandbox {

// One step of building the new root, applied in order relative to it.
enum class MountOpKind : int {
  kMkdir,     // mkdir target
  kBindDir,   // bind source (recursively) on the directory target, then make it read-only
  kBindFile,  // create an empty file target, bind source on it, make it read-only
  kSymlink,   // symlink target -> source
  kTmpfs,     // mount a tmpfs (options in data) on target
  kProc,      // mount proc (pid directories only, others' hidden) on target
  kDevice,    // create an empty file target, bind the device source on it (read-write, nosuid)
};

struct MountOp {
  MountOpKind kind = MountOpKind::kMkdir;
  const char* source = nullptr;  // absolute host path, or a symlink's target
  const char* target = nullptr;  // relative to the new root: "usr/lib"
  const char* data = nullptr;    // mount data for tmpfs
  uint64_t landlock_access = 0;  // for tmpfs/proc: the rule the child adds for the new mount
};

// Layers a failed step belongs to (the prefix of the error message).
enum class ChildStep : int {
  kFds,
  kSync,
  kCgroupNs,
  kMountPrivate,
  kMountRoot,
  kMountOp,
  kMountReadOnlyRoot,
  kPivotRoot,
  kHostname,
  kLandlockRule,
  kFork,
  kSession,
  kBoundingSet,
  kSecureBits,
  kSetGroups,
  kSetGid,
  kSetUid,
  kCapset,
  kRlimit,
  kNoNewPrivs,
  kLandlockRestrict,
  kSeccomp,
  kExec,
};

struct ChildReport {
  int step = 0;
  int index = 0;  // which mount op or rlimit, when the step has several
  int err = 0;    // errno
};

// "mount", "landlock", … and what was being done.
const char* ChildStepLayer(ChildStep step);
const char* ChildStepName(ChildStep step);

struct ChildPlan {
  // Descriptors in the supervisor; the init moves them to fixed numbers first.
  int report_fd = -1;
  int sync_fd = -1;
  int death_fd = -1;
  int ruleset_fd = -1;
  const int* pass_from = nullptr;  // descriptors for the program: from (supervisor) ...
  const int* pass_to = nullptr;    // ... to (number in the program)
  size_t pass_count = 0;

  // The scratch directory, by path: a descriptor opened before clone would point into the
  // supervisor's mount namespace, where the child may not mount.
  const char* scratch_path = nullptr;
  const MountOp* ops = nullptr;
  size_t op_count = 0;
  const char* hostname = nullptr;

  bool switch_uid = false;  // the program becomes uid/gid 1 inside (mapped to Policy::host_uid)
  int cap_last = 40;        // /proc/sys/kernel/cap_last_cap
  const RlimitEntry* rlimits = nullptr;
  size_t rlimit_count = 0;
  const sock_fprog* seccomp = nullptr;

  const char* exec_path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

// The clone child's body: becomes the sandbox's init (PID 1 of its namespace). Never returns.
[[noreturn]] void RunInit(const ChildPlan& plan);

// Builds the new root from the ops (cwd is its empty tmpfs), adds the Landlock rules of the new
// tmpfs/proc mounts, makes the root read-only and pivots into it. 0, or -1 with errno set and
// *failed_step / *failed_index saying where.
int ApplyMounts(const ChildPlan& plan, int ruleset_fd, ChildStep* failed_step, int* failed_index);

// In the program child: drop every capability for good (bounding set, ambient, securebits, then
// capset to nothing, after switching to uid/gid 1 when asked) and apply the rlimits. 0 or -1 with
// errno and *failed_step / *failed_index set.
int DropPrivileges(const ChildPlan& plan, ChildStep* failed_step, int* failed_index);

}  // namespace va::sandbox
