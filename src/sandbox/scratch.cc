// Scratch directories and owner records; see scratch.h.
#include "sandbox/scratch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "base/log.h"
#include "base/sys.h"
#include "proc/identity.h"

namespace va::sandbox {
namespace {

constexpr char kVersionLine[] = "va-sandbox-owner 1";

Status RemoveTreeAt(int parent, const std::string& name, const std::string& shown, dev_t dev) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status{} : SysFail("stat " + shown);
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) return Fail(ErrorKind::kInvalid, shown + " is a mount point");
    VA_TRY(UniqueFd fd, OpenAt(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    int dup = ::fcntl(fd.Get(), F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return SysFail("dup");
    DIR* dir = ::fdopendir(dup);
    if (dir == nullptr) {
      ::close(dup);
      return SysFail("opendir " + shown);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(dir);
    for (const auto& n : names) VA_TRY_STATUS(RemoveTreeAt(fd.Get(), n, shown + "/" + n, dev));
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return SysFail("rmdir " + shown);
    }
    return {};
  }
  if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT)
    return SysFail("unlink " + shown);
  return {};
}

}  // namespace

std::string FormatOwnerRecord(const OwnerRecord& r) {
  std::string out = std::string(kVersionLine) + "\n";
  out += "id=" + r.id + "\n";
  out += "supervisor_pid=" + std::to_string(r.supervisor_pid) + "\n";
  out += "supervisor_start=" + std::to_string(r.supervisor_start) + "\n";
  out += "boot_id=" + r.boot_id + "\n";
  out += "init_pid=" + std::to_string(r.init_pid) + "\n";
  out += "init_start=" + std::to_string(r.init_start) + "\n";
  for (const auto& c : r.cgroups) out += "cgroup=" + c + "\n";
  return out;
}

Result<OwnerRecord> ParseOwnerRecord(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kVersionLine) {
    return Fail(ErrorKind::kCorrupt, "owner record: unknown version line");
  }
  OwnerRecord r;
  bool have_pid = false;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    try {
      if (key == "id") {
        r.id = value;
      } else if (key == "supervisor_pid") {
        r.supervisor_pid = static_cast<pid_t>(std::stol(value));
        have_pid = true;
      } else if (key == "supervisor_start") {
        r.supervisor_start = std::stoull(value);
      } else if (key == "boot_id") {
        r.boot_id = value;
      } else if (key == "init_pid") {
        r.init_pid = static_cast<pid_t>(std::stol(value));
      } else if (key == "init_start") {
        r.init_start = std::stoull(value);
      } else if (key == "cgroup") {
        r.cgroups.push_back(value);
      }
    } catch (const std::exception&) {
      return Fail(ErrorKind::kCorrupt, "owner record: bad value for " + key);
    }
  }
  if (r.id.empty() || !have_pid) return Fail(ErrorKind::kCorrupt, "owner record: missing fields");
  return r;
}

Result<OwnerRecord> SelfOwner() {
  OwnerRecord r;
  r.supervisor_pid = ::getpid();
  VA_TRY(ProcessIdentity id, ReadProcessStat(r.supervisor_pid));
  r.supervisor_start = id.start_time;
  VA_TRY(std::string boot, ReadSmallFile("/proc/sys/kernel/random/boot_id"));
  while (!boot.empty() && boot.back() == '\n') boot.pop_back();
  r.boot_id = boot;
  return r;
}

bool SupervisorAlive(const OwnerRecord& record) {
  auto self = SelfOwner();
  if (!self || self->boot_id != record.boot_id) return false;
  auto id = ReadProcessStat(record.supervisor_pid);
  return id && id->start_time == record.supervisor_start && id->state != 'Z' && id->state != 'X';
}

Result<ScratchDir> ScratchDir::Create(const std::string& root, const OwnerRecord& record) {
  std::string path = root + "/" + record.id;
  if (::mkdir(path.c_str(), 0700) != 0) return SysFail("scratch: mkdir " + path);
  ScratchDir dir(path, UniqueFd());
  if (::mkdir((path + "/root").c_str(), 0700) != 0)
    return SysFail("scratch: mkdir " + path + "/root");
  VA_TRY(dir.fd_, Open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  VA_TRY_STATUS(dir.WriteRecord(record));
  return dir;
}

ScratchDir ScratchDir::Adopt(std::string path) {
  auto fd = Open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  return ScratchDir(std::move(path), fd ? std::move(*fd) : UniqueFd());
}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    (void)Remove();
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

ScratchDir::~ScratchDir() {
  if (auto st = Remove(); !st) {
    LogWarn("sandbox_scratch_remove_failed", {{"path", path_}, {"error", st.error().message}});
  }
}

Status ScratchDir::WriteRecord(const OwnerRecord& record) const {
  // Atomic (a temporary file renamed over the record) but not fsync'ed: a record only matters
  // within one boot (after a reboot the boot id differs and the sweep removes the directory
  // whatever it holds), and two fsyncs would double the cost of creating a sandbox.
  std::string tmp = path_ + "/" + kOwnerFile + ".tmp";
  auto fd = Open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  if (!fd) return tl::unexpected(std::move(fd.error()).Context("scratch"));
  auto st = WriteAll(fd->Get(), FormatOwnerRecord(record));
  if (!st) return tl::unexpected(std::move(st.error()).Context("scratch: write " + tmp));
  if (::rename(tmp.c_str(), (path_ + "/" + kOwnerFile).c_str()) != 0) {
    return SysFail("scratch: rename " + tmp);
  }
  return {};
}

Status ScratchDir::Remove() {
  if (path_.empty()) return {};
  fd_.Reset();
  VA_TRY_STATUS(RemoveTree(path_));
  path_.clear();
  return {};
}

Status RemoveTree(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  VA_TRY(UniqueFd pfd, Open(parent, O_RDONLY | O_DIRECTORY));
  struct stat st {};
  if (::fstatat(pfd.Get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status{} : SysFail("stat " + path);
  }
  return RemoveTreeAt(pfd.Get(), name, path, st.st_dev);
}

}  // namespace va::sandbox
