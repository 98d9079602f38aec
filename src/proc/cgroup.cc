// Cgroup v2 directories and stopping everything in one; see group.h.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <sstream>

#include "base/log.h"
#include "base/sys.h"
#include "proc/group.h"
#include "proc/pidfd.h"

namespace va {
namespace {

Result<std::string> ReadAt(int dirfd, const char* name) {
  VA_TRY(UniqueFd fd, OpenAt(dirfd, name, O_RDONLY));
  return ReadAll(fd.Get(), 1 << 20);
}

Status WriteAt(int dirfd, const char* name, std::string_view value) {
  VA_TRY(UniqueFd fd, OpenAt(dirfd, name, O_WRONLY));
  return WriteAll(fd.Get(), value);
}

bool PopulatedFrom(const std::string& events) {
  auto at = events.find("populated ");
  return at != std::string::npos && events.compare(at + 10, 1, "1") == 0;
}

// Removes the descendants of `dirfd` (deepest first), then nothing else.
Status RemoveChildren(int dirfd, const std::string& path) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return SysFail("dup");
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return SysFail("fdopendir " + path);
  }
  std::vector<std::string> children;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") children.push_back(name);
  }
  ::closedir(dir);
  for (const auto& child : children) {
    VA_TRY(UniqueFd fd, OpenAt(dirfd, child, O_RDONLY | O_DIRECTORY));
    VA_TRY_STATUS(RemoveChildren(fd.Get(), path + "/" + child));
    if (::unlinkat(dirfd, child.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return SysFail("rmdir " + path + "/" + child);
    }
  }
  return {};
}

}  // namespace

Result<std::string> Cgroup::V2Root() {
  VA_TRY(std::string info, ReadSmallFile("/proc/self/mountinfo"));
  std::istringstream lines(info);
  std::string line;
  while (std::getline(lines, line)) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos || line.compare(sep + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, sep));
    std::string f, mount_point;
    for (int i = 0; i < 5 && fields >> f; ++i) mount_point = f;
    return mount_point;
  }
  return Fail(ErrorKind::kUnsupported, "no cgroup2 file system is mounted");
}

Result<Cgroup> Cgroup::Create(const std::string& parent, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return Fail(ErrorKind::kInvalid, "bad cgroup name '" + name + "'");
  }
  std::string path = parent + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) return SysFail("mkdir " + path);
  auto fd = va::Open(path, O_RDONLY | O_DIRECTORY);
  if (!fd) {
    ::rmdir(path.c_str());
    return tl::unexpected(fd.error());
  }
  return Cgroup(std::move(path), std::move(*fd));
}

Result<Cgroup> Cgroup::Open(const std::string& path) {
  VA_TRY(UniqueFd fd, va::Open(path, O_RDONLY | O_DIRECTORY));
  if (::faccessat(fd.Get(), "cgroup.procs", F_OK, 0) != 0) {
    return Fail(ErrorKind::kInvalid, path + " is not a cgroup directory");
  }
  return Cgroup(path, std::move(fd));
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : path_(std::move(other.path_)), dirfd_(std::move(other.dirfd_)) {}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    if (dirfd_) (void)Destroy();
    path_ = std::move(other.path_);
    dirfd_ = std::move(other.dirfd_);
  }
  return *this;
}

Cgroup::~Cgroup() {
  if (!dirfd_) return;
  if (auto st = Destroy(); !st) {
    LogWarn("cgroup_destroy_failed", {{"path", path_}, {"error", st.error().message}});
  }
}

Status Cgroup::AddProcess(pid_t pid) const {
  auto st = WriteAt(dirfd_.Get(), "cgroup.procs", std::to_string(pid));
  if (!st)
    return tl::unexpected(
        std::move(st.error()).Context("add " + std::to_string(pid) + " to " + path_));
  return {};
}

Result<std::vector<pid_t>> Cgroup::Procs() const {
  VA_TRY(std::string text, ReadAt(dirfd_.Get(), "cgroup.procs"));
  std::vector<pid_t> pids;
  std::istringstream in(text);
  pid_t pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

Result<bool> Cgroup::Populated() const {
  VA_TRY(std::string events, ReadAt(dirfd_.Get(), "cgroup.events"));
  return PopulatedFrom(events);
}

bool Cgroup::HasKillFile() const { return ::faccessat(dirfd_.Get(), "cgroup.kill", F_OK, 0) == 0; }

Status Cgroup::KillAll() const {
  if (HasKillFile()) return WriteAt(dirfd_.Get(), "cgroup.kill", "1");
  // Older kernels: freeze so nothing forks while we go through the list, kill each, thaw.
  VA_TRY_STATUS(WriteAt(dirfd_.Get(), "cgroup.freeze", "1"));
  auto procs = Procs();
  if (procs) {
    for (pid_t pid : *procs) {
      if (auto fd = PidfdOpen(pid)) (void)PidfdSendSignal(fd->Get(), SIGKILL);
    }
  }
  VA_TRY_STATUS(WriteAt(dirfd_.Get(), "cgroup.freeze", "0"));
  if (!procs) return tl::unexpected(procs.error());
  return {};
}

Result<bool> Cgroup::WaitEmpty(MonoTime deadline) const {
  VA_TRY(UniqueFd events, OpenAt(dirfd_.Get(), "cgroup.events", O_RDONLY));
  for (;;) {
    char buf[512];
    ssize_t n = ::pread(events.Get(), buf, sizeof(buf) - 1, 0);
    if (n < 0) return SysFail("read " + path_ + "/cgroup.events");
    if (!PopulatedFrom(std::string(buf, static_cast<size_t>(n)))) return true;
    int ms = MillisUntil(deadline);
    if (ms == 0) return false;
    // kernfs signals a change of cgroup.events as POLLPRI (with POLLERR).
    VA_TRY(short revents, PollOne(events.Get(), POLLPRI, std::chrono::milliseconds(ms)));
    (void)revents;
  }
}

Status Cgroup::Destroy(std::chrono::nanoseconds timeout) {
  if (!dirfd_) return {};
  auto populated = Populated();
  if (populated && *populated) {
    VA_TRY_STATUS(KillAll());
    VA_TRY(bool empty, WaitEmpty(MonoNow() + timeout));
    if (!empty) return Fail(ErrorKind::kTimeout, path_ + " still has processes after kill");
  }
  VA_TRY_STATUS(RemoveChildren(dirfd_.Get(), path_));
  dirfd_.Reset();
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) return SysFail("rmdir " + path_);
  return {};
}

GroupStopResult StopCgroup(const Cgroup& cgroup, const StopPolicy& policy) {
  const MonoTime start = MonoNow();
  GroupStopResult result;
  auto finish = [&](StopOutcome outcome, std::string detail = {}) {
    result.outcome = outcome;
    result.detail = std::move(detail);
    result.elapsed = MonoNow() - start;
    Log(result.outcome == StopOutcome::kUnkillable || result.outcome == StopOutcome::kFailed
            ? LogLevel::kWarn
            : LogLevel::kDebug,
        "proc_cgroup_stop_done",
        {{"cgroup", cgroup.Path()},
         {"outcome", StopOutcomeName(outcome)},
         {"signalled", result.signalled},
         {"killed", result.killed},
         {"elapsed", result.elapsed},
         {"detail", result.detail}});
    return result;
  };
  auto procs = cgroup.Procs();
  if (!procs) return finish(StopOutcome::kFailed, procs.error().message);
  if (procs->empty()) return finish(StopOutcome::kAlreadyGone);
  for (pid_t pid : *procs) {
    auto fd = PidfdOpen(pid);  // a pid listed in our cgroup cannot be recycled outside it unseen
    if (!fd) continue;
    auto sent = PidfdSendSignal(fd->Get(), policy.term_signal);
    if (sent && *sent) ++result.signalled;
  }
  if (policy.on_step) policy.on_step(StopStep::kTermSent);
  auto empty = cgroup.WaitEmpty(start + policy.grace);
  if (!empty) return finish(StopOutcome::kFailed, empty.error().message);
  if (*empty) return finish(StopOutcome::kExitedGracefully);
  if (policy.on_step) policy.on_step(StopStep::kGraceExpired);
  if (auto left = cgroup.Procs()) result.killed = left->size();
  if (auto st = cgroup.KillAll(); !st) return finish(StopOutcome::kFailed, st.error().message);
  if (policy.on_step) policy.on_step(StopStep::kKillSent);
  empty = cgroup.WaitEmpty(MonoNow() + policy.kill_grace);
  if (!empty) return finish(StopOutcome::kFailed, empty.error().message);
  return *empty ? finish(StopOutcome::kKilled)
                : finish(StopOutcome::kUnkillable, "cgroup still populated after kill");
}

}  // namespace va
