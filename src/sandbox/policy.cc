// PolicyBuilder and the production viewer policy; see policy.h.
#include "sandbox/policy.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/sys.h"

namespace va::sandbox {
namespace {

bool Beneath(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

Result<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return SysFail("realpath " + path);
  return std::string(buf);
}

}  // namespace

PolicyBuilder::PolicyBuilder() { policy_.rlimits = {{RLIMIT_CORE, 0}}; }

void PolicyBuilder::SetError(Error error) {
  if (!error_) error_ = std::move(error).Context("policy");
}

bool PolicyBuilder::Covered(const std::string& path) const {
  for (const auto& m : policy_.mounts) {
    // Only a directory bind brings the host's files along; a tmpfs or proc mounted above a path
    // hides it, so a file under one (a program in a build tree under /tmp) still needs its bind.
    if (m.kind == MountKind::kBind && m.directory) {
      if (Beneath(path, m.path)) return true;
    } else if (m.path == path) {
      return true;
    }
  }
  return false;
}

void PolicyBuilder::AddBind(const std::string& path, bool optional, const char* call) {
  if (Failed()) return;
  if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos ||
      path.ends_with("/..")) {
    SetError(Error{ErrorKind::kInvalid, 0, std::string(call) + " '" + path + "': not absolute"});
    return;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (optional && errno == ENOENT) return;
    SetError(SysError(std::string(call) + " " + path, errno));
    return;
  }
  if (Covered(path)) return;
  MountEntry entry;
  entry.path = path;
  if (S_ISLNK(st.st_mode)) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
    if (n < 0) {
      SetError(SysError(std::string(call) + " readlink " + path, errno));
      return;
    }
    entry.kind = MountKind::kSymlink;
    entry.target.assign(buf, static_cast<size_t>(n));
  } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
    entry.kind = MountKind::kBind;
    entry.directory = S_ISDIR(st.st_mode);
  } else {
    SetError(Error{ErrorKind::kInvalid, 0,
                   std::string(call) + " " + path + ": not a file, directory or symlink"});
    return;
  }
  policy_.mounts.push_back(std::move(entry));
}

PolicyBuilder& PolicyBuilder::ReadOnly(const std::string& path) {
  AddBind(path, false, "ReadOnly");
  return *this;
}

PolicyBuilder& PolicyBuilder::ReadOnlyIfExists(const std::string& path) {
  AddBind(path, true, "ReadOnlyIfExists");
  return *this;
}

PolicyBuilder& PolicyBuilder::Executable(const std::string& path) {
  if (Failed()) return *this;
  auto real = RealPath(path);
  if (!real) {
    SetError(std::move(real.error()).Context("Executable"));
    return *this;
  }
  auto interp = ElfInterpreter(*real);
  if (!interp) {
    SetError(std::move(interp.error()).Context("Executable"));
    return *this;
  }
  std::vector<std::string> files = {*real};
  if (!interp->empty()) {
    auto real_interp = RealPath(*interp);
    if (!real_interp) {
      SetError(std::move(real_interp.error()).Context("Executable interpreter"));
      return *this;
    }
    files.push_back(*real_interp);
  }
  // Only the real paths are bound: a path given through a symlink (/bin/true) resolves inside
  // when the symlink is reproduced too (ReadOnly("/bin")), and the sandbox execs the real path.
  for (const auto& f : files) {
    AddBind(f, false, "Executable");
    policy_.executables.push_back(f);
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::Tmpfs(const std::string& path, uint64_t max_bytes) {
  if (Failed()) return *this;
  if (path.empty() || path[0] != '/' || path == "/" || max_bytes == 0) {
    SetError(Error{ErrorKind::kInvalid, 0, "Tmpfs '" + path + "': bad path or size"});
    return *this;
  }
  policy_.mounts.push_back({MountKind::kTmpfs, path, "", true, max_bytes});
  return *this;
}

PolicyBuilder& PolicyBuilder::Proc() {
  if (!Failed()) policy_.mounts.push_back({MountKind::kProc, "/proc", "", true, 0});
  return *this;
}

PolicyBuilder& PolicyBuilder::Device(const std::string& path) {
  if (Failed()) return *this;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    SetError(SysError("Device " + path, errno));
  } else if (!S_ISCHR(st.st_mode) || !path.starts_with("/dev/")) {
    SetError(Error{ErrorKind::kInvalid, 0, "Device " + path + ": not a character device"});
  } else {
    policy_.mounts.push_back({MountKind::kDevice, path, "", false, 0});
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::LandlockMinimumAbi(int abi) {
  if (Failed()) return *this;
  if (abi < 1) {
    SetError(Error{ErrorKind::kInvalid, 0,
                   "LandlockMinimumAbi " + std::to_string(abi) + ": Landlock is required (>= 1)"});
  } else {
    policy_.landlock_min_abi = abi;
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::MemoryLimit(uint64_t bytes) {
  if (Failed()) return *this;
  if (bytes < (4ULL << 20)) {
    SetError(Error{ErrorKind::kInvalid, 0, "MemoryLimit below 4 MiB"});
  } else {
    policy_.memory_max = bytes;
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::PidsLimit(uint64_t count) {
  if (Failed()) return *this;
  if (count < 2) {
    SetError(Error{ErrorKind::kInvalid, 0, "PidsLimit below 2 (init and the program)"});
  } else {
    policy_.pids_max = count;
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::RequireCgroupLimits(bool required) {
  policy_.require_cgroup_limits = required;
  return *this;
}

PolicyBuilder& PolicyBuilder::Rlimit(int resource, uint64_t value) {
  if (Failed()) return *this;
  if (resource < 0 || resource >= RLIM_NLIMITS) {
    SetError(Error{ErrorKind::kInvalid, 0, "Rlimit: unknown resource " + std::to_string(resource)});
    return *this;
  }
  for (auto& r : policy_.rlimits) {
    if (r.resource == resource) {
      r.value = value;
      return *this;
    }
  }
  policy_.rlimits.push_back({resource, value});
  return *this;
}

PolicyBuilder& PolicyBuilder::Hostname(const std::string& name) {
  if (Failed()) return *this;
  if (name.empty() || name.size() > 64) {
    SetError(Error{ErrorKind::kInvalid, 0, "Hostname '" + name + "': empty or too long"});
  } else {
    policy_.hostname = name;
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::HostIdentity(uid_t uid, gid_t gid) {
  if (Failed()) return *this;
  if (uid == 0 || gid == 0) {
    SetError(Error{ErrorKind::kInvalid, 0, "HostIdentity: the program may not run as root"});
  } else {
    policy_.host_uid = uid;
    policy_.host_gid = gid;
  }
  return *this;
}

Result<Policy> PolicyBuilder::Build() const {
  if (error_) return tl::unexpected(*error_);
  if (policy_.executables.empty()) {
    return Fail(ErrorKind::kInvalid, "policy: no Executable (nothing could run)");
  }
  return policy_;
}

Result<std::string> ElfInterpreter(const std::string& program) {
  VA_TRY(UniqueFd fd, Open(program, O_RDONLY));
  Elf64_Ehdr eh{};
  ssize_t n = ::pread(fd.Get(), &eh, sizeof(eh), 0);
  if (n != static_cast<ssize_t>(sizeof(eh)) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    return std::string();  // not ELF (a script): no interpreter of ours to allow
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
      eh.e_phnum > 256) {
    return Fail(ErrorKind::kUnsupported, program + ": not a 64-bit ELF program");
  }
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    off_t at = static_cast<off_t>(eh.e_phoff + static_cast<uint64_t>(i) * sizeof(ph));
    if (::pread(fd.Get(), &ph, sizeof(ph), at) != static_cast<ssize_t>(sizeof(ph))) {
      return Fail(ErrorKind::kCorrupt, program + ": truncated program headers");
    }
    if (ph.p_type != PT_INTERP) continue;
    if (ph.p_filesz == 0 || ph.p_filesz > PATH_MAX) {
      return Fail(ErrorKind::kCorrupt, program + ": bad PT_INTERP");
    }
    std::string interp(ph.p_filesz, '\0');
    if (::pread(fd.Get(), interp.data(), ph.p_filesz, static_cast<off_t>(ph.p_offset)) !=
        static_cast<ssize_t>(ph.p_filesz)) {
      return Fail(ErrorKind::kCorrupt, program + ": truncated PT_INTERP");
    }
    while (!interp.empty() && interp.back() == '\0') interp.pop_back();
    return interp;
  }
  return std::string();
}

Result<Policy> ViewerPolicy(const std::string& program) {
  PolicyBuilder b;
  b.ReadOnly("/usr");
  for (const char* p : {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}) {
    b.ReadOnlyIfExists(p);
  }
  for (const char* p : {"/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/locale.alias",
                        "/var/cache/fontconfig"}) {
    b.ReadOnlyIfExists(p);
  }
  // Mounts apply in order: the tmpfs first, so a program that lives under /tmp (a build tree
  // there) is bound on top of it rather than hidden by it.
  b.Tmpfs("/tmp", 64ULL << 20)
      .Executable(program)
      .Proc()
      .Device("/dev/null")
      .Device("/dev/zero")
      .Device("/dev/urandom")
      .LandlockMinimumAbi(6)
      .MemoryLimit(512ULL << 20)
      .PidsLimit(128)
      .Rlimit(RLIMIT_CORE, 0)
      .Rlimit(RLIMIT_NOFILE, 1024)
      .Rlimit(RLIMIT_AS, 4ULL << 30)
      .Rlimit(RLIMIT_FSIZE, 64ULL << 20);
  return b.Build();
}

}  // namespace va::sandbox
