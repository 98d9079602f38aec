// sandbox-supervisor-helper: a sandbox supervisor in a process of its own, for tests that kill
// the supervisor or run it as another user.
//   hold  --scratch=DIR --probe=PATH [--children=N] [--relaxed]
//         creates a sandbox whose probe forks N sleepers, prints
//         "sandbox <id> <init pid> <cgroup path>..." once they run, then waits to be killed.
//   probe --scratch=DIR --probe=PATH [--relaxed] [--file=PATH] -- PROBE ARGS...
//         creates a sandbox running the probe with PROBE ARGS, copies its output, then prints
//         "exit <status>"; or prints "refused <kind> <message>" and exits 3.
// --relaxed: the production policy without required cgroup limits.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/sys.h"
#include "sandbox/sandbox.h"

namespace {

using va::sandbox::Spec;

void Out(const std::string& s) {
  std::fputs((s + "\n").c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string mode = argv[1];
  std::string scratch, probe, file;
  long children = 0;
  bool relaxed = false;
  std::vector<std::string> probe_args;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.starts_with("--scratch=")) {
      scratch = a.substr(10);
    } else if (a.starts_with("--probe=")) {
      probe = a.substr(8);
    } else if (a.starts_with("--file=")) {
      file = a.substr(7);
    } else if (a.starts_with("--children=")) {
      children = std::stol(a.substr(11));
    } else if (a == "--relaxed") {
      relaxed = true;
    } else if (a == "--") {
      for (++i; i < argc; ++i) probe_args.emplace_back(argv[i]);
    }
  }
  auto policy = va::sandbox::ViewerPolicy(probe);
  if (!policy) {
    Out("refused " + std::string(va::ErrorKindName(policy.error().kind)) + " " +
        policy.error().message);
    return 3;
  }
  if (relaxed) policy->require_cgroup_limits = false;
  auto pipe = va::MakePipe();
  if (!pipe) return 4;
  Spec spec;
  spec.id = va::sandbox::NewSandboxId();
  spec.scratch_root = scratch;
  spec.file = file;
  spec.pids_max = static_cast<uint64_t>(children) + 50;
  spec.fds = {{pipe->write.Get(), 1}};
  spec.argv = {probe, "--sbx-id=" + spec.id};
  if (mode == "hold") {
    spec.argv.push_back("--hold");
    spec.argv.push_back("--children=" + std::to_string(children));
  } else {
    spec.argv.insert(spec.argv.end(), probe_args.begin(), probe_args.end());
  }
  auto sb = va::sandbox::Create(*policy, spec);
  pipe->write.Reset();
  if (!sb) {
    Out("refused " + std::string(va::ErrorKindName(sb.error().kind)) + " " + sb.error().message);
    return 3;
  }
  std::string text;
  for (;;) {
    char buf[4096];
    auto n = va::Read(pipe->read.Get(), buf);
    if (!n || *n == 0) break;
    text.append(buf, *n);
    if (mode == "hold" && text.find('\n') != std::string::npos) break;
  }
  if (mode == "hold") {
    std::string line = "sandbox " + sb->Id() + " " + std::to_string(sb->InitPid());
    for (const auto& p : sb->CgroupPaths()) line += " " + p;
    Out(line);
    for (;;) ::pause();
  }
  std::fputs(text.c_str(), stdout);
  auto status = sb->Wait(va::MonoNow() + std::chrono::seconds(30));
  Out("exit " + (status && *status ? (*status)->ToString() : std::string("none")));
  auto report = sb->Destroy();
  Out(report ? "destroyed" : "destroy failed " + report.error().message);
  return 0;
}
