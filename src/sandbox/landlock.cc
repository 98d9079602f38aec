// Landlock syscalls and the ruleset owner; see landlock.h.
#include "sandbox/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/sys.h"

namespace va::sandbox {
namespace {

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

// The kernel's structs, defined here with the fields of ABI 6 (the headers stop at ABI 2).
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

constexpr uint64_t kDirOnlyRights = kFsReadDir | kFsRemoveDir | kFsRemoveFile | kFsMakeChar |
                                    kFsMakeDir | kFsMakeReg | kFsMakeSock | kFsMakeFifo |
                                    kFsMakeBlock | kFsMakeSym | kFsRefer;

}  // namespace

uint64_t FsRightsForAbi(int abi) {
  if (abi < 1) return 0;
  uint64_t rights = (kFsMakeSym << 1) - 1;  // ABI 1: bits 0-12
  if (abi >= 2) rights |= kFsRefer;
  if (abi >= 3) rights |= kFsTruncate;
  if (abi >= 5) rights |= kFsIoctlDev;
  return rights;
}

Result<int> ProbeLandlockAbi() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  if (abi >= 0) return static_cast<int>(abi);
  if (errno == EOPNOTSUPP || errno == ENOSYS) return 0;
  return SysFail("landlock: probe ABI");
}

Result<LandlockRuleset> LandlockRuleset::Create(int abi) {
  if (abi < 1) {
    return Fail(ErrorKind::kUnsupported, "landlock: not available in this kernel", EOPNOTSUPP);
  }
  RulesetAttr attr{};
  attr.handled_access_fs = FsRightsForAbi(abi);
  if (abi >= 4) attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
  if (abi >= 6) attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
  long fd = ::syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
  if (fd < 0) {
    Error err = SysError("landlock: create ruleset", errno);
    if (errno == EINVAL || errno == E2BIG || errno == EOPNOTSUPP)
      err.kind = ErrorKind::kUnsupported;
    return tl::unexpected(std::move(err));
  }
  return LandlockRuleset(UniqueFd(static_cast<int>(fd)), abi, attr.handled_access_fs,
                         attr.handled_access_net, attr.scoped);
}

Status LandlockRuleset::AllowPath(int fd, uint64_t access, const std::string& what) const {
  VA_TRY(struct stat st, Fstat(fd));
  access &= handled_fs_;
  if (!S_ISDIR(st.st_mode)) access &= ~kDirOnlyRights;
  if (access == 0) return {};
  if (LandlockAddPathRule(fd_.Get(), fd, access) != 0) {
    return SysFail("landlock: add rule for " + what);
  }
  return {};
}

Status LandlockRuleset::AllowPath(const std::string& path, uint64_t access) const {
  auto fd = Open(path, O_PATH);
  if (!fd) return tl::unexpected(std::move(fd.error()).Context("landlock"));
  return AllowPath(fd->Get(), access, path);
}

int LandlockAddPathRule(int ruleset_fd, int fd, uint64_t access) {
  PathBeneathAttr attr{access, fd};
  return static_cast<int>(::syscall(SYS_landlock_add_rule, ruleset_fd, kRulePathBeneath, &attr, 0));
}

int LandlockRestrictSelf(int ruleset_fd) {
  return static_cast<int>(::syscall(SYS_landlock_restrict_self, ruleset_fd, 0));
}

}  // namespace va::sandbox
