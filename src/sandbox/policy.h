// What a sandbox may see and do, independent of any one sandbox: the read-only host paths bound
// into its fresh root (and which of them it may execute), its private tmpfs, proc and device
// nodes, the Landlock minimum ABI, rlimits, and the default memory and pids limits.
//
// A Policy is made by a PolicyBuilder, which checks each call as it comes (paths absolute and
// existing, limits sane) and keeps the first error; Build() returns that error, naming the call
// that caused it, or the finished Policy. ViewerPolicy() is the production policy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace va::sandbox {

enum class MountKind {
  kBind,     // the host path, read-only, at the same path inside (file or directory)
  kSymlink,  // a symlink at `path` pointing to `target` (reproduces /lib -> usr/lib)
  kTmpfs,    // a private, writable tmpfs of at most `tmpfs_bytes`
  kProc,     // a proc of the sandbox's own PID namespace (pid directories only)
  kDevice,   // a host device node bound read-write (e.g. /dev/null), nothing else of /dev
};

struct MountEntry {
  MountKind kind = MountKind::kBind;
  std::string path;    // absolute path inside (and on the host, for kBind and kDevice)
  std::string target;  // kSymlink only
  bool directory = false;
  uint64_t tmpfs_bytes = 0;
};

struct RlimitEntry {
  int resource = 0;
  uint64_t value = 0;  // soft and hard
};

struct Policy {
  std::vector<MountEntry> mounts;        // applied in this order
  std::vector<std::string> executables;  // host paths the sandbox may execve (Landlock EXECUTE)
  int landlock_min_abi = 6;              // below this the sandbox is refused
  uint64_t memory_max = 512ULL << 20;    // bytes; per sandbox unless the Spec says otherwise
  uint64_t pids_max = 128;
  // true: a sandbox without cgroup memory and pids limits is refused ("cgroup: …").
  bool require_cgroup_limits = true;
  std::vector<RlimitEntry> rlimits;
  std::string hostname = "sandbox";
  // When the supervisor is root, the program runs as this host uid/gid (mapped as uid 1 inside);
  // an unprivileged supervisor can map only itself, and the program keeps that identity.
  uid_t host_uid = 65534;
  gid_t host_gid = 65534;
};

class PolicyBuilder {
 public:
  PolicyBuilder();

  // Binds a host file or directory read-only at the same path (a symlink is reproduced as one;
  // bind its target too). Fails (kNotFound) when it does not exist.
  PolicyBuilder& ReadOnly(const std::string& path);
  // Same, but a missing path is skipped (for optional font or locale directories).
  PolicyBuilder& ReadOnlyIfExists(const std::string& path);
  // Binds a program read-only and allows executing it, and its ELF interpreter (ld.so) if any.
  PolicyBuilder& Executable(const std::string& path);
  PolicyBuilder& Tmpfs(const std::string& path, uint64_t max_bytes);
  PolicyBuilder& Proc();
  PolicyBuilder& Device(const std::string& path);
  PolicyBuilder& LandlockMinimumAbi(int abi);
  PolicyBuilder& MemoryLimit(uint64_t bytes);
  PolicyBuilder& PidsLimit(uint64_t count);
  PolicyBuilder& RequireCgroupLimits(bool required);
  // RLIMIT_* resource set to `value` (soft = hard) before exec; later calls replace earlier ones.
  PolicyBuilder& Rlimit(int resource, uint64_t value);
  PolicyBuilder& Hostname(const std::string& name);
  PolicyBuilder& HostIdentity(uid_t uid, gid_t gid);

  // The policy, or the first error any call met ("policy: ReadOnly /x: No such file …").
  Result<Policy> Build() const;

 private:
  bool Failed() const { return error_.has_value(); }
  void SetError(Error error);
  bool Covered(const std::string& path) const;
  void AddBind(const std::string& path, bool optional, const char* call);

  std::optional<Error> error_;
  Policy policy_;
};

// The production policy for a viewer program: /usr and the merged-/usr symlinks, /etc/fonts,
// /etc/ld.so.cache and a few read-only locale files, the program itself (executable, as is its
// ELF interpreter, and nothing else), a 64 MiB private tmpfs at /tmp, proc, /dev/null, /dev/zero
// and /dev/urandom; Landlock ABI 6 at least; rlimits: core 0, 1024 open files, 4 GiB address
// space, 64 MiB file size; 512 MiB memory and 128 pids.
Result<Policy> ViewerPolicy(const std::string& program);

// The ELF interpreter named by a program's PT_INTERP ("" for a static binary or a script).
Result<std::string> ElfInterpreter(const std::string& program);

}  // namespace va::sandbox
