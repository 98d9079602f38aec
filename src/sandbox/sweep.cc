// The start-up sweep; see sweep.h.
#include "sandbox/sweep.h"

#include <dirent.h>
#include <signal.h>

#include "base/log.h"
#include "base/sys.h"
#include "proc/process.h"
#include "sandbox/cgroups.h"
#include "sandbox/scratch.h"

namespace va::sandbox {
namespace {

Status DestroyLeftover(const std::string& path, const OwnerRecord& record) {
  const MonoTime deadline = MonoNow() + std::chrono::seconds(5);
  SandboxCgroups cgroups = SandboxCgroups::Adopt(record.cgroups);
  VA_TRY_STATUS(cgroups.Kill());
  if (record.init_pid > 0 && record.init_start > 0) {
    ExpectedIdentity expected;
    expected.start_time = record.init_start;
    if (auto init = Process::Adopt(record.init_pid, expected)) {
      (void)init->Signal(SIGKILL);
      (void)init->WaitExitUntil(deadline);
    }
  }
  VA_TRY(bool empty, cgroups.WaitEmpty(deadline));
  if (!empty) return Fail(ErrorKind::kTimeout, "cgroup still populated after kill");
  VA_TRY_STATUS(cgroups.Remove(deadline));
  return RemoveTree(path);
}

}  // namespace

Result<SweepResult> Sweep(const std::string& scratch_root) {
  SweepResult result;
  DIR* dir = ::opendir(scratch_root.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return result;
    return SysFail("sweep: opendir " + scratch_root);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.starts_with("sbx_")) names.push_back(name);
  }
  ::closedir(dir);
  for (const auto& name : names) {
    std::string path = scratch_root + "/" + name;
    auto text = ReadSmallFile(path + "/" + kOwnerFile);
    Result<OwnerRecord> record =
        text ? ParseOwnerRecord(*text) : Result<OwnerRecord>(tl::unexpected(text.error()));
    if (!record || record->id != name) {
      std::string why = record ? "record names " + record->id : record.error().message;
      result.failed.push_back(name + ": " + why);
      LogWarn("sandbox_sweep_skipped", {{"id", name}, {"error", why}});
      continue;
    }
    if (SupervisorAlive(*record)) continue;
    if (auto st = DestroyLeftover(path, *record); !st) {
      result.failed.push_back(name + ": " + st.error().message);
      LogWarn("sandbox_sweep_failed", {{"id", name}, {"error", st.error().message}});
      continue;
    }
    LogInfo("sandbox_swept", {{"id", name}, {"supervisor_pid", record->supervisor_pid}});
    result.destroyed.push_back(name);
  }
  return result;
}

}  // namespace va::sandbox
