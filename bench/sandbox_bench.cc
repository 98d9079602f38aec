// Benchmark: what a sandbox costs, compared in the same run with its peers.
//
//   1. Create + Destroy of a sandbox running /bin/true with the production policy (start, the
//      program runs and exits, everything is removed), against
//        - bubblewrap: bwrap --unshare-all --die-with-parent with read-only /usr, proc, dev, tmpfs,
//        - firejail --quiet --noprofile --net=none --private-dev --private-tmp,
//        - a plain spawn of /bin/true (the floor: no isolation at all).
//   2. Destroy of a sandbox with 200 processes inside (goal: at most 20 ms).
// Usage: sandbox_bench [--quick]; needs root (cgroup limits on this host need it).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/sys.h"
#include "bench_util.h"
#include "proc/group.h"
#include "proc/process.h"
#include "sandbox/cgroups.h"
#include "sandbox/policy.h"
#include "sandbox/sandbox.h"
#include "sandbox/scratch.h"

namespace {

using va::sandbox::Spec;

double Ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

std::string BinDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.find_last_of('/'));
}

// Spawns argv with /dev/null stdio and waits for it; nullopt when it could not run or failed.
std::optional<double> TimeCommand(const std::vector<std::string>& argv) {
  va::SpawnOptions so;
  so.argv = argv;
  so.stdin_fd = so.stdout_fd = so.stderr_fd = va::SpawnOptions::kDevNull;
  auto start = va::MonoNow();
  auto p = va::Process::Spawn(so);
  if (!p) return std::nullopt;
  (void)p->WaitExit(std::chrono::seconds(30));
  auto st = p->Reap();
  double ms = Ms(va::MonoNow() - start);
  if (!st || *st != va::ExitStatus{false, 0}) return std::nullopt;
  return ms;
}

std::optional<double> TimeSandbox(const va::sandbox::Policy& policy, const std::string& root) {
  auto start = va::MonoNow();
  Spec spec;
  spec.id = va::sandbox::NewSandboxId();
  spec.scratch_root = root;
  spec.argv = {"/bin/true", spec.id};
  auto sb = va::sandbox::Create(policy, spec);
  if (!sb) {
    std::fprintf(stderr, "create: %s\n", sb.error().message.c_str());
    return std::nullopt;
  }
  auto st = sb->Wait(va::MonoNow() + std::chrono::seconds(10));
  auto report = sb->Destroy();
  double ms = Ms(va::MonoNow() - start);
  if (!st || !*st || **st != va::ExitStatus{false, 0} || !report) return std::nullopt;
  return ms;
}

std::optional<double> TimeDestroy200(const va::sandbox::Policy& policy, const std::string& root,
                                     const std::string& probe) {
  auto out = va::MakePipe();
  if (!out) return std::nullopt;
  Spec spec;
  spec.id = va::sandbox::NewSandboxId();
  spec.scratch_root = root;
  spec.pids_max = 300;
  spec.fds = {{out->write.Get(), 1}};
  spec.argv = {probe, "--sbx-id=" + spec.id, "--hold", "--children=199"};
  auto sb = va::sandbox::Create(policy, spec);
  out->write.Reset();
  if (!sb) {
    std::fprintf(stderr, "create: %s\n", sb.error().message.c_str());
    return std::nullopt;
  }
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos) {
    auto ready = va::PollOne(out->read.Get(), POLLIN, std::chrono::seconds(20));
    if (!ready || *ready == 0) return std::nullopt;
    if (::read(out->read.Get(), &c, 1) != 1) return std::nullopt;
    line += c;
  }
  if (line != "ready 200\n") return std::nullopt;
  auto report = sb->Destroy();
  if (!report || report->processes < 201) return std::nullopt;
  return Ms(report->elapsed);
}

// The floor for Destroy: the same 200 processes outside any sandbox, in a bare cgroup v2
// directory, killed with cgroup.kill and waited for until the cgroup is empty.
std::optional<double> TimeBareKill200(const std::string& probe) {
  auto parent = va::sandbox::OwnV2Dir();
  if (!parent) return std::nullopt;
  auto cg = va::Cgroup::Create(*parent, "va-bench-" + va::sandbox::NewSandboxId());
  if (!cg) return std::nullopt;
  auto out = va::MakePipe();
  if (!out) return std::nullopt;
  va::SpawnOptions so;
  so.argv = {probe, "--hold", "--children=199"};
  so.stdout_fd = out->write.Get();
  so.cgroup_fd = cg->DirFd();
  auto p = va::Process::Spawn(so);
  out->write.Reset();
  if (!p) return std::nullopt;
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos) {
    auto ready = va::PollOne(out->read.Get(), POLLIN, std::chrono::seconds(20));
    if (!ready || *ready == 0 || ::read(out->read.Get(), &c, 1) != 1) break;
    line += c;
  }
  auto start = va::MonoNow();
  if (!cg->KillAll()) return std::nullopt;
  auto empty = cg->WaitEmpty(va::MonoNow() + std::chrono::seconds(10));
  double ms = Ms(va::MonoNow() - start);
  p->Reap();
  if (line != "ready 200\n" || !empty || !*empty) return std::nullopt;
  return ms;
}

void Add(std::vector<va::bench::Row>& rows, const std::string& name,
         const std::vector<double>& samples, const std::string& note) {
  rows.push_back({name, va::bench::Summarize(samples), samples.empty() ? "failed: " + note : note});
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int n = quick ? 10 : 50;
  const int n200 = quick ? 3 : 15;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "sandbox_bench: needs root (cgroup limits on this host)\n");
    return 1;
  }
  char tmpl[] = "/tmp/va-sandbox-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  std::string root = tmpl;
  auto policy = va::sandbox::ViewerPolicy("/bin/true");
  auto probe = BinDir() + "/vault-sandbox-probe";
  auto probe_policy = va::sandbox::ViewerPolicy(probe);
  if (!policy || !probe_policy) {
    std::fprintf(stderr, "policy: %s\n",
                 (!policy ? policy.error() : probe_policy.error()).message.c_str());
    return 1;
  }
  const std::vector<std::string> bwrap = {"bwrap",     "--unshare-all", "--die-with-parent",
                                          "--ro-bind", "/usr",          "/usr",
                                          "--symlink", "usr/lib64",     "/lib64",
                                          "--symlink", "usr/lib",       "/lib",
                                          "--symlink", "usr/bin",       "/bin",
                                          "--proc",    "/proc",         "--dev",
                                          "/dev",      "--tmpfs",       "/tmp",
                                          "/bin/true"};
  const std::vector<std::string> firejail = {"firejail",   "--quiet",       "--noprofile",
                                             "--net=none", "--private-dev", "--private-tmp",
                                             "/bin/true"};
  const std::vector<std::string> plain = {"/bin/true"};

  // Warm-up (page cache, ccache of the dynamic loader), then interleaved samples so that any
  // drift of the machine hits every method alike.
  (void)TimeSandbox(*policy, root);
  (void)TimeCommand(bwrap);
  (void)TimeCommand(firejail);
  std::vector<double> ours, bw, fj, floor;
  for (int i = 0; i < n; ++i) {
    if (auto ms = TimeSandbox(*policy, root)) ours.push_back(*ms);
    if (auto ms = TimeCommand(bwrap)) bw.push_back(*ms);
    if (auto ms = TimeCommand(firejail)) fj.push_back(*ms);
    if (auto ms = TimeCommand(plain)) floor.push_back(*ms);
  }
  std::vector<va::bench::Row> rows;
  Add(rows, "va::sandbox create+destroy", ours, "ViewerPolicy, every layer");
  Add(rows, "bwrap --unshare-all", bw, "no seccomp, no Landlock, no cgroup");
  Add(rows, "firejail --quiet", fj, "");
  Add(rows, "plain spawn /bin/true", floor, "no isolation (floor)");
  va::bench::PrintTable("Create + destroy of a sandbox running /bin/true (ratio: ours / method)",
                        rows, 0);

  std::vector<double> d200, bare200;
  for (int i = 0; i < n200; ++i) {
    if (auto ms = TimeDestroy200(*probe_policy, root, probe)) d200.push_back(*ms);
    if (auto ms = TimeBareKill200(probe)) bare200.push_back(*ms);
  }
  std::vector<va::bench::Row> rows200;
  Add(rows200, "Destroy, 200 processes inside", d200, "goal <= 20 ms");
  Add(rows200, "cgroup.kill of 200 bare processes", bare200, "same processes, no sandbox (floor)");
  va::bench::PrintTable("Destroy of a sandbox with 200 processes", rows200, 0);

  auto all = rows;
  all.insert(all.end(), rows200.begin(), rows200.end());
  va::bench::WriteJson("sandbox", all);
  (void)va::sandbox::RemoveTree(root);
  return ours.empty() || d200.empty() ? 1 : 0;
}
