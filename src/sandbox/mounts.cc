// The mount layer: the plan (supervisor) and ApplyMounts (child, no allocation); see mounts.h and
// child_plan.h.
#include "sandbox/mounts.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/landlock.h"

namespace va::sandbox {
namespace {

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

std::string Relative(const std::string& abs) {
  size_t i = 0;
  while (i < abs.size() && abs[i] == '/') ++i;
  return abs.substr(i);
}

int SetAttr(const char* path, uint64_t set, bool recursive) {
  struct mount_attr attr {};
  attr.attr_set = set;
  return static_cast<int>(::syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0,
                                    &attr, sizeof(attr)));
}

int MakeEmptyFile(const char* target) {
  int fd = ::open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return -1;
  ::close(fd);
  return 0;
}

int AddRuleFor(int ruleset_fd, const char* target, uint64_t access) {
  int fd = ::open(target, O_PATH | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = LandlockAddPathRule(ruleset_fd, fd, access);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc;
}

}  // namespace

const char* MountPlan::Keep(std::string s) {
  strings_.push_back(std::move(s));
  return strings_.back().c_str();
}

void MountPlan::MkdirParents(const std::string& rel, bool include_self) {
  size_t pos = 0;
  for (;;) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos && !include_self) return;
    std::string dir = slash == std::string::npos ? rel : rel.substr(0, slash);
    if (!dir.empty() && made_dirs_.insert(dir).second) {
      ops_.push_back({MountOpKind::kMkdir, nullptr, Keep(dir), nullptr, 0});
    }
    if (slash == std::string::npos) return;
    pos = slash + 1;
  }
}

void MountPlan::Add(MountOpKind kind, const std::string& source, const std::string& target,
                    const std::string& data, uint64_t access) {
  bool dir =
      kind == MountOpKind::kBindDir || kind == MountOpKind::kTmpfs || kind == MountOpKind::kProc;
  MkdirParents(target, dir);
  ops_.push_back({kind, source.empty() ? nullptr : Keep(source), Keep(target),
                  data.empty() ? nullptr : Keep(data), access});
}

Result<MountPlan> MountPlan::Build(const Policy& policy, const std::string& file,
                                   const std::string& file_target, uint64_t tmpfs_access,
                                   uint64_t proc_access) {
  MountPlan plan;
  for (const auto& m : policy.mounts) {
    std::string rel = Relative(m.path);
    if (rel.empty()) return Fail(ErrorKind::kInvalid, "mount: cannot mount over /");
    switch (m.kind) {
      case MountKind::kBind:
        plan.Add(m.directory ? MountOpKind::kBindDir : MountOpKind::kBindFile, m.path, rel);
        break;
      case MountKind::kSymlink:
        plan.Add(MountOpKind::kSymlink, m.target, rel);
        break;
      case MountKind::kTmpfs:
        plan.Add(MountOpKind::kTmpfs, "", rel,
                 "mode=1777,size=" + std::to_string(m.tmpfs_bytes) + ",nr_inodes=16384",
                 tmpfs_access);
        break;
      case MountKind::kProc:
        plan.Add(MountOpKind::kProc, "", rel, "subset=pid,hidepid=invisible", proc_access);
        break;
      case MountKind::kDevice:
        plan.Add(MountOpKind::kDevice, m.path, rel);
        break;
    }
  }
  if (!file.empty()) {
    std::string rel = Relative(file_target);
    if (rel.empty() || file_target[0] != '/') {
      return Fail(ErrorKind::kInvalid, "mount: the file's target '" + file_target + "' is bad");
    }
    plan.Add(MountOpKind::kBindFile, file, rel);
  }
  return plan;
}

std::string MountPlan::Describe(size_t i) const {
  if (i >= ops_.size()) return "op " + std::to_string(i);
  const MountOp& op = ops_[i];
  std::string target = std::string("/") + op.target;
  switch (op.kind) {
    case MountOpKind::kMkdir:
      return "mkdir " + target;
    case MountOpKind::kBindDir:
    case MountOpKind::kBindFile:
      return std::string("bind ") + op.source + " on " + target;
    case MountOpKind::kSymlink:
      return "symlink " + target + " -> " + op.source;
    case MountOpKind::kTmpfs:
      return "tmpfs on " + target;
    case MountOpKind::kProc:
      return "proc on " + target;
    case MountOpKind::kDevice:
      return std::string("device ") + op.source;
  }
  return "op";
}

int ApplyMounts(const ChildPlan& plan, int ruleset_fd, ChildStep* failed_step, int* failed_index) {
  *failed_step = ChildStep::kMountOp;
  for (size_t i = 0; i < plan.op_count; ++i) {
    const MountOp& op = plan.ops[i];
    *failed_index = static_cast<int>(i);
    int rc = 0;
    switch (op.kind) {
      case MountOpKind::kMkdir:
        rc = ::mkdir(op.target, 0755);
        if (rc != 0 && errno == EEXIST) rc = 0;
        break;
      case MountOpKind::kBindDir:
      case MountOpKind::kBindFile:
        if (op.kind == MountOpKind::kBindFile) rc = MakeEmptyFile(op.target);
        if (rc == 0) rc = ::mount(op.source, op.target, nullptr, MS_BIND | MS_REC, nullptr);
        if (rc == 0) {
          rc = SetAttr(op.target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
        }
        break;
      case MountOpKind::kSymlink:
        rc = ::symlink(op.source, op.target);
        break;
      case MountOpKind::kTmpfs:
        rc = ::mount("tmpfs", op.target, "tmpfs", MS_NOSUID | MS_NODEV, op.data);
        if (rc == 0 && AddRuleFor(ruleset_fd, op.target, op.landlock_access) != 0) {
          *failed_step = ChildStep::kLandlockRule;
          return -1;
        }
        break;
      case MountOpKind::kProc:
        rc = ::mount("proc", op.target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, op.data);
        if (rc == 0 && AddRuleFor(ruleset_fd, op.target, op.landlock_access) != 0) {
          *failed_step = ChildStep::kLandlockRule;
          return -1;
        }
        break;
      case MountOpKind::kDevice:
        rc = MakeEmptyFile(op.target);
        if (rc == 0) rc = ::mount(op.source, op.target, nullptr, MS_BIND, nullptr);
        if (rc == 0) rc = SetAttr(op.target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
        break;
    }
    if (rc != 0) return -1;
  }
  *failed_index = 0;
  // Nothing may be created in the root itself.
  *failed_step = ChildStep::kMountReadOnlyRoot;
  if (SetAttr(".", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false) != 0) {
    return -1;
  }
  *failed_step = ChildStep::kPivotRoot;
  // pivot_root(".", "."): the old root ends up on top of the new one; detach it.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return -1;
  if (::umount2(".", MNT_DETACH) != 0) return -1;
  if (::chdir("/") != 0) return -1;
  return 0;
}

}  // namespace va::sandbox
