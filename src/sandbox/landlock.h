// Landlock, wrapped in one small file: the constants of every ABI up to 7 (the system headers know
// only the old ones), a run-time ABI probe, and LandlockRuleset, the move-only owner of one
// ruleset fd. Rules are added in the supervisor from descriptors it opened (rules attach to
// inodes, so they hold for the same inodes bind-mounted inside the sandbox); the sandbox's own
// tmpfs and proc get their rules from the child, through the same ruleset fd, before it restricts
// itself. Every failure names the layer: "landlock: …".
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace va::sandbox {

// Filesystem access rights (LANDLOCK_ACCESS_FS_*), with the ABI that introduced them.
inline constexpr uint64_t kFsExecute = 1ULL << 0;     // ABI 1
inline constexpr uint64_t kFsWriteFile = 1ULL << 1;   // ABI 1
inline constexpr uint64_t kFsReadFile = 1ULL << 2;    // ABI 1
inline constexpr uint64_t kFsReadDir = 1ULL << 3;     // ABI 1
inline constexpr uint64_t kFsRemoveDir = 1ULL << 4;   // ABI 1
inline constexpr uint64_t kFsRemoveFile = 1ULL << 5;  // ABI 1
inline constexpr uint64_t kFsMakeChar = 1ULL << 6;    // ABI 1
inline constexpr uint64_t kFsMakeDir = 1ULL << 7;     // ABI 1
inline constexpr uint64_t kFsMakeReg = 1ULL << 8;     // ABI 1
inline constexpr uint64_t kFsMakeSock = 1ULL << 9;    // ABI 1
inline constexpr uint64_t kFsMakeFifo = 1ULL << 10;   // ABI 1
inline constexpr uint64_t kFsMakeBlock = 1ULL << 11;  // ABI 1
inline constexpr uint64_t kFsMakeSym = 1ULL << 12;    // ABI 1
inline constexpr uint64_t kFsRefer = 1ULL << 13;      // ABI 2
inline constexpr uint64_t kFsTruncate = 1ULL << 14;   // ABI 3
inline constexpr uint64_t kFsIoctlDev = 1ULL << 15;   // ABI 5

// Network access rights (LANDLOCK_ACCESS_NET_*), ABI 4.
inline constexpr uint64_t kNetBindTcp = 1ULL << 0;
inline constexpr uint64_t kNetConnectTcp = 1ULL << 1;

// Scopes (LANDLOCK_SCOPE_*), ABI 6.
inline constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
inline constexpr uint64_t kScopeSignal = 1ULL << 1;

// landlock_create_ruleset flags and rule types.
inline constexpr uint32_t kCreateRulesetVersion = 1U << 0;
inline constexpr int kRulePathBeneath = 1;
inline constexpr int kRuleNetPort = 2;

// The newest ABI whose constants this file defines.
inline constexpr int kNewestKnownAbi = 7;

// Every filesystem right the given ABI knows (0 for ABI < 1).
uint64_t FsRightsForAbi(int abi);
// Rights that make sense on a regular file (the kernel refuses directory-only rights there).
inline constexpr uint64_t kFileRights =
    kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;
inline constexpr uint64_t kReadRights = kFsReadFile | kFsReadDir;

// The kernel's Landlock ABI version; 0 when Landlock is compiled out or disabled at boot
// (EOPNOTSUPP/ENOSYS). Fails only on an unexpected error.
Result<int> ProbeLandlockAbi();

// One Landlock ruleset. Move-only; closes its fd.
class LandlockRuleset {
 public:
  // A ruleset handling every filesystem right of `abi`, TCP bind/connect from ABI 4, and
  // abstract-socket and signal scoping from ABI 6 (the newer ones the kernel does not know are
  // left out, so abi should be what ProbeLandlockAbi returned). kUnsupported when abi < 1.
  static Result<LandlockRuleset> Create(int abi);

  LandlockRuleset(LandlockRuleset&&) noexcept = default;
  LandlockRuleset& operator=(LandlockRuleset&&) noexcept = default;

  // Allows `access` beneath the file or directory `fd` (opened with O_PATH is enough). Rights the
  // ruleset does not handle are dropped; directory-only rights are dropped for a non-directory.
  Status AllowPath(int fd, uint64_t access, const std::string& what) const;
  // Opens `path` (O_PATH, following symlinks) and allows `access` beneath it.
  Status AllowPath(const std::string& path, uint64_t access) const;

  int Fd() const { return fd_.Get(); }
  int Abi() const { return abi_; }
  uint64_t HandledFs() const { return handled_fs_; }
  uint64_t HandledNet() const { return handled_net_; }
  uint64_t Scoped() const { return scoped_; }

 private:
  LandlockRuleset(UniqueFd fd, int abi, uint64_t fs, uint64_t net, uint64_t scoped)
      : fd_(std::move(fd)), abi_(abi), handled_fs_(fs), handled_net_(net), scoped_(scoped) {}
  UniqueFd fd_;
  int abi_ = 0;
  uint64_t handled_fs_ = 0;
  uint64_t handled_net_ = 0;
  uint64_t scoped_ = 0;
};

// Raw calls for the sandbox child (no allocation): add a path rule for `fd`, and restrict the
// calling thread. Return 0 or -1 with errno set, like the syscalls.
int LandlockAddPathRule(int ruleset_fd, int fd, uint64_t access);
int LandlockRestrictSelf(int ruleset_fd);

}  // namespace va::sandbox
