// One sandbox per session: Create() starts a program inside every isolation layer of a Policy
// (user, PID, mount, network, IPC, UTS and cgroup namespaces; a minimal read-only root; Landlock;
// a seccomp allow-list; no_new_privs; no capabilities; rlimits; cgroup memory and pids limits)
// or refuses, naming the layer that could not be applied ("landlock: …", "cgroup: …"): it never
// runs anything with less. Destroy() kills everything inside, waits until nothing is left,
// removes the cgroups and the scratch directory, and says how long that took.
//
// The sandbox's init (PID 1 inside, our own code) reaps and exits when the program exits, and
// dies with the supervisor: PR_SET_PDEATHSIG, plus a pipe whose closing makes it exit. The
// parent-death signal follows the *thread* that called Create, so call it from a thread that
// outlives the sandbox (a server's long-lived threads do). Whatever a dead supervisor left behind
// is found and destroyed by Sweep() (sweep.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proc/process.h"
#include "sandbox/cgroups.h"
#include "sandbox/policy.h"
#include "sandbox/scratch.h"

namespace va::sandbox {

// A descriptor that crosses into the sandbox: `parent_fd` here becomes `child_fd` in the program.
struct InheritedFd {
  int parent_fd = -1;
  int child_fd = -1;
};

struct Spec {
  // "sbx_…" (NewSandboxId()); names the cgroups and the scratch directory, and must appear in
  // argv so that `ps` shows which sandbox a process belongs to.
  std::string id;
  // argv[0] is the program's path (Policy::executables must allow it).
  std::vector<std::string> argv;
  // Exactly these "K=V" strings; empty: PATH=/usr/bin:/bin only.
  std::vector<std::string> env;
  // The one host file exposed read-only at file_target ("" for none). Under a root supervisor the
  // program runs as Policy::host_uid, so the file must be readable by that uid to be opened by
  // path; otherwise pass it (opened here) as one of `fds`.
  std::string file;
  std::string file_target = "/input";
  // Descriptors for the program; 0, 1 and 2 not given here are /dev/null. Nothing else crosses.
  std::vector<InheritedFd> fds;
  // 0: the policy's limits.
  uint64_t memory_max = 0;
  uint64_t pids_max = 0;
  // Where the scratch directory goes (must exist; e.g. /run/vault/sandboxes).
  std::string scratch_root;
};

// A fresh "sbx_" id.
std::string NewSandboxId();

struct DestroyReport {
  std::chrono::nanoseconds elapsed{};
  size_t processes = 0;                   // processes inside when Destroy began (from the cgroup)
  std::string method;                     // "cgroup.kill" or "pid namespace init"
  std::optional<ExitStatus> init_status;  // how init ended (exit N = the program's status)
};

class Sandbox {
 public:
  Sandbox(Sandbox&& other) noexcept = default;
  Sandbox& operator=(Sandbox&& other) noexcept;
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;
  // Destroys the sandbox if Destroy() has not been called (errors are logged).
  ~Sandbox();

  const std::string& Id() const { return id_; }
  // The pidfd of the sandbox's init, which exits when the program exits: poll it for readability.
  int PidFd() const { return pidfd_.Get(); }
  // Host pid of init (for logs and `ps`; never signal it by pid).
  pid_t InitPid() const { return init_pid_; }
  // The layers in force, one "layer: detail" line each (for logs and doctor).
  const std::vector<std::string>& Layers() const { return layers_; }
  std::vector<std::string> CgroupPaths() const { return cgroups_.Paths(); }
  const std::string& ScratchPath() const { return scratch_.Path(); }

  // Waits until the program (and so init) has exited, at most until `deadline`; returns init's
  // status (exit N: the program exited with N; exit 128+S: it died of signal S), or nullopt at
  // the deadline. Does not clean up: call Destroy().
  Result<std::optional<ExitStatus>> Wait(MonoTime deadline);

  // Kills everything inside (cgroup.kill when available, and SIGKILL to init, which takes the
  // whole PID namespace), waits until every process is gone (kTimeout after `timeout`), removes
  // the cgroups and the scratch directory. A second call returns the first report.
  Result<DestroyReport> Destroy(std::chrono::nanoseconds timeout = std::chrono::seconds(5));

 private:
  friend Result<Sandbox> Create(const Policy& policy, const Spec& spec);
  Sandbox(std::string id, ScratchDir scratch, SandboxCgroups cgroups)
      : id_(std::move(id)), scratch_(std::move(scratch)), cgroups_(std::move(cgroups)) {}
  void ReapInit(bool block);

  std::string id_;
  ScratchDir scratch_;
  SandboxCgroups cgroups_;
  UniqueFd pidfd_;
  pid_t init_pid_ = 0;
  UniqueFd death_pipe_;  // write end: closing it makes init exit
  std::vector<std::string> layers_;
  std::optional<ExitStatus> init_status_;
  std::optional<DestroyReport> destroyed_;
};

// Starts spec.argv inside a new sandbox made after `policy`. Errors name the layer:
//   kUnsupported "landlock: kernel ABI 3 is below the policy's minimum 6",
//   kUnsupported/kPermission "cgroup: …", "user namespace: …", "seccomp: …", "mount: bind …: …",
//   kInvalid for a bad Spec (id not "sbx_…", argv without the id, descriptor given twice).
// Nothing is left behind on failure.
Result<Sandbox> Create(const Policy& policy, const Spec& spec);

}  // namespace va::sandbox
