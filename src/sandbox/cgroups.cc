// A sandbox's cgroups on v2, v1 or hybrid hosts; see cgroups.h.
#include "sandbox/cgroups.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "base/log.h"
#include "base/sys.h"
#include "proc/pidfd.h"

namespace va::sandbox {
namespace {

struct MountInfo {
  std::string root;
  std::string mount_point;
  std::string type;
  std::string super_options;
};

std::vector<MountInfo> CgroupMounts() {
  std::vector<MountInfo> out;
  auto info = ReadSmallFile("/proc/self/mountinfo");
  if (!info) return out;
  std::istringstream lines(*info);
  std::string line;
  while (std::getline(lines, line)) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream pre(line.substr(0, sep));
    std::istringstream post(line.substr(sep + 3));
    std::string id, parent, dev, root, mount_point;
    pre >> id >> parent >> dev >> root >> mount_point;
    MountInfo m;
    std::string source;
    post >> m.type >> source >> m.super_options;
    if (m.type != "cgroup" && m.type != "cgroup2") continue;
    m.root = root;
    m.mount_point = mount_point;
    out.push_back(std::move(m));
  }
  return out;
}

bool HasOption(const std::string& options, const std::string& name) {
  std::istringstream in(options);
  std::string opt;
  while (std::getline(in, opt, ',')) {
    if (opt == name) return true;
  }
  return false;
}

// Own path in the hierarchy whose /proc/self/cgroup controller field is `controllers`
// ("" for cgroup2, "memory" for v1 memory).
std::optional<std::string> OwnPath(const std::string& controller) {
  auto text = ReadSmallFile("/proc/self/cgroup");
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    if (controller.empty() ? ctrls.empty() : HasOption(ctrls, controller)) {
      return line.substr(b + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Join(const MountInfo& m, const std::string& own) {
  std::string rel = own;
  if (m.root != "/") {
    if (!own.starts_with(m.root)) return std::nullopt;
    rel = own.substr(m.root.size());
  }
  if (rel == "/") rel.clear();
  return m.mount_point + rel;
}

bool ContainsWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

Error CgroupError(Error err) {
  err.message = "cgroup: " + err.message;
  return err;
}

}  // namespace

std::optional<std::string> OwnV2Dir() {
  auto own = OwnPath("");
  if (!own) return std::nullopt;
  for (const auto& m : CgroupMounts()) {
    if (m.type == "cgroup2") return Join(m, *own);
  }
  return std::nullopt;
}

std::optional<std::string> OwnV1Dir(const std::string& controller) {
  auto own = OwnPath(controller);
  if (!own) return std::nullopt;
  for (const auto& m : CgroupMounts()) {
    if (m.type == "cgroup" && HasOption(m.super_options, controller)) return Join(m, *own);
  }
  return std::nullopt;
}

// --- V1Cgroup ---

Result<V1Cgroup> V1Cgroup::Create(const std::string& parent, const std::string& name) {
  std::string path = parent + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) return SysFail("mkdir " + path);
  auto fd = va::Open(path, O_RDONLY | O_DIRECTORY);
  if (!fd) {
    ::rmdir(path.c_str());
    return tl::unexpected(fd.error());
  }
  return V1Cgroup(std::move(path), std::move(*fd));
}

Result<V1Cgroup> V1Cgroup::Open(const std::string& path) {
  VA_TRY(UniqueFd fd, va::Open(path, O_RDONLY | O_DIRECTORY));
  if (::faccessat(fd.Get(), "cgroup.procs", F_OK, 0) != 0) {
    return Fail(ErrorKind::kInvalid, path + " is not a cgroup directory");
  }
  return V1Cgroup(path, std::move(fd));
}

V1Cgroup& V1Cgroup::operator=(V1Cgroup&& other) noexcept {
  if (this != &other) {
    if (dirfd_) (void)Remove(MonoNow() + std::chrono::seconds(2));
    path_ = std::move(other.path_);
    dirfd_ = std::move(other.dirfd_);
  }
  return *this;
}

V1Cgroup::~V1Cgroup() {
  if (!dirfd_) return;
  if (auto st = Remove(MonoNow() + std::chrono::seconds(2)); !st) {
    LogWarn("sandbox_cgroup_remove_failed", {{"path", path_}, {"error", st.error().message}});
  }
}

Status V1Cgroup::Write(const char* file, const std::string& value) const {
  VA_TRY(UniqueFd fd, OpenAt(dirfd_.Get(), file, O_WRONLY));
  auto st = WriteAll(fd.Get(), value);
  if (!st) return tl::unexpected(std::move(st.error()).Context(path_ + "/" + file));
  return {};
}

Status V1Cgroup::AddProcess(pid_t pid) const { return Write("cgroup.procs", std::to_string(pid)); }

Result<std::vector<pid_t>> V1Cgroup::Procs() const {
  VA_TRY(UniqueFd fd, OpenAt(dirfd_.Get(), "cgroup.procs", O_RDONLY));
  VA_TRY(std::string text, ReadAll(fd.Get(), 1 << 20));
  std::vector<pid_t> pids;
  std::istringstream in(text);
  pid_t pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

Status V1Cgroup::Remove(MonoTime deadline) {
  if (!dirfd_) return {};
  // Normally empty by now (the v2 kill or the PID namespace took everything); whatever is left
  // is killed by pidfd. A pid listed here is a member, so the pidfd is the member's.
  for (;;) {
    VA_TRY(std::vector<pid_t> pids, Procs());
    if (pids.empty()) break;
    for (pid_t pid : pids) {
      if (auto fd = PidfdOpen(pid)) (void)PidfdSendSignal(fd->Get(), SIGKILL);
    }
    if (MillisUntil(deadline) == 0) {
      return Fail(ErrorKind::kTimeout, "cgroup: " + path_ + " still has processes after kill");
    }
    // v1 has no populated notification; dying processes leave within microseconds.
    ::poll(nullptr, 0, 1);
  }
  dirfd_.Reset();
  for (;;) {
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return {};
    // EBUSY while the last members finish exiting.
    if (errno != EBUSY || MillisUntil(deadline) == 0) return SysFail("cgroup: rmdir " + path_);
    ::poll(nullptr, 0, 1);
  }
}

// --- SandboxCgroups ---

std::vector<std::string> SandboxCgroups::PlannedPaths(const std::string& name) {
  std::vector<std::string> out;
  if (auto v2 = OwnV2Dir()) out.push_back(*v2 + "/" + name);
  for (const char* c : {"memory", "pids"}) {
    if (auto v1 = OwnV1Dir(c)) out.push_back(*v1 + "/" + name);
  }
  return out;
}

Result<SandboxCgroups> SandboxCgroups::Create(const CgroupRequest& request) {
  SandboxCgroups cg;
  std::string v2_reason = "no cgroup2 file system is mounted";
  if (auto v2dir = OwnV2Dir()) {
    auto created = Cgroup::Create(*v2dir, request.name);
    if (created) {
      cg.v2_ = std::move(*created);
      auto subtree = ReadSmallFile(*v2dir + "/cgroup.subtree_control");
      if (subtree && ContainsWord(*subtree, "memory") && ContainsWord(*subtree, "pids")) {
        std::string dir = cg.v2_->Path();
        auto st = WriteExistingFile(dir + "/memory.max", std::to_string(request.memory_max));
        if (st) st = WriteExistingFile(dir + "/pids.max", std::to_string(request.pids_max));
        if (st && ::access((dir + "/memory.swap.max").c_str(), F_OK) == 0) {
          st = WriteExistingFile(dir + "/memory.swap.max", "0");
        }
        if (!st) return tl::unexpected(CgroupError(std::move(st.error())));
        cg.limits_ = Limits::kV2;
      } else {
        v2_reason = "the memory and pids controllers are not delegated to " + *v2dir;
      }
    } else {
      v2_reason = created.error().message;
    }
  }
  if (cg.limits_ == Limits::kNone) {
    auto mem = OwnV1Dir("memory");
    auto pids = OwnV1Dir("pids");
    if (mem && pids) {
      auto m = V1Cgroup::Create(*mem, request.name);
      auto p = m ? V1Cgroup::Create(*pids, request.name) : Result<V1Cgroup>(tl::unexpect, Error{});
      if (m && p) {
        auto st = p->Write("pids.max", std::to_string(request.pids_max));
        if (st) st = m->Write("memory.limit_in_bytes", std::to_string(request.memory_max));
        // With swap, the v1 limit alone would let memory spill to it.
        if (st && ::access((m->Path() + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0) {
          st = m->Write("memory.memsw.limit_in_bytes", std::to_string(request.memory_max));
        }
        if (st) (void)m->Write("memory.swappiness", "0");
        if (!st) return tl::unexpected(CgroupError(std::move(st.error())));
        cg.v1_.push_back(std::move(*m));
        cg.v1_.push_back(std::move(*p));
        cg.limits_ = Limits::kV1;
      } else if (request.require_limits) {
        Error err = !m ? m.error() : p.error();
        return Fail(
            err.kind == ErrorKind::kPermission ? ErrorKind::kPermission : ErrorKind::kUnsupported,
            "cgroup: cannot set memory and pids limits: " + v2_reason +
                "; cgroup v1: " + err.message,
            err.sys_errno);
      }
    } else if (request.require_limits) {
      return Fail(ErrorKind::kUnsupported,
                  "cgroup: cannot set memory and pids limits: " + v2_reason +
                      "; and there are no cgroup v1 memory and pids hierarchies");
    }
  }
  return cg;
}

SandboxCgroups SandboxCgroups::Adopt(const std::vector<std::string>& paths) {
  SandboxCgroups cg;
  auto v2root = Cgroup::V2Root();
  for (const auto& p : paths) {
    if (v2root && p.starts_with(*v2root + "/")) {
      if (auto c = Cgroup::Open(p)) cg.v2_ = std::move(*c);
    } else if (auto c = V1Cgroup::Open(p)) {
      cg.v1_.push_back(std::move(*c));
    }
  }
  return cg;
}

std::string SandboxCgroups::LimitsDescription() const {
  switch (limits_) {
    case Limits::kV2:
      return "cgroup v2 memory+pids";
    case Limits::kV1:
      return "cgroup v1 memory+pids";
    case Limits::kNone:
      break;
  }
  return "none";
}

std::vector<std::string> SandboxCgroups::Paths() const {
  std::vector<std::string> out;
  if (v2_) out.push_back(v2_->Path());
  for (const auto& c : v1_) out.push_back(c.Path());
  return out;
}

Status SandboxCgroups::AddProcess(pid_t pid) const {
  for (const auto& c : v1_) {
    auto st = c.AddProcess(pid);
    if (!st) return tl::unexpected(CgroupError(std::move(st.error())));
  }
  return {};
}

size_t SandboxCgroups::CountProcesses() const {
  if (v2_) {
    if (auto procs = v2_->Procs()) return procs->size();
  }
  for (const auto& c : v1_) {
    if (auto procs = c.Procs()) return procs->size();
  }
  return 0;
}

Status SandboxCgroups::Kill() const {
  if (!v2_) return {};
  auto st = v2_->KillAll();
  if (!st) return tl::unexpected(CgroupError(std::move(st.error())));
  return {};
}

Result<bool> SandboxCgroups::WaitEmpty(MonoTime deadline) const {
  if (!v2_) return true;
  return v2_->WaitEmpty(deadline);
}

Status SandboxCgroups::Remove(MonoTime deadline) {
  Status result;
  if (v2_) {
    auto left = deadline - MonoNow();
    auto st = v2_->Destroy(std::max<std::chrono::nanoseconds>(left, std::chrono::milliseconds(1)));
    if (!st && result) result = tl::unexpected(CgroupError(std::move(st.error())));
    if (st) v2_.reset();
  }
  for (auto& c : v1_) {
    auto st = c.Remove(deadline);
    if (!st && result) result = tl::unexpected(std::move(st.error()));
  }
  v1_.clear();
  return result;
}

}  // namespace va::sandbox
