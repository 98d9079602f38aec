// `vaultctl doctor`; see doctor.h.
#include "sandbox/doctor.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <vector>

#include "base/ids.h"
#include "base/log.h"
#include "base/sys.h"
#include "proc/group.h"
#include "proc/process.h"
#include "sandbox/cgroups.h"
#include "sandbox/landlock.h"
#include "sandbox/sandbox.h"
#include "sandbox/scratch.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/userns.h"

namespace va::sandbox {
namespace {

struct Line {
  std::string kind;  // "layer", "attempt", "check"
  std::string name;
  bool good = false;
  std::string status;  // "in force" / "missing", "denied" / "ALLOWED", "ok" / "FAILED"
  std::string detail;
};

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void AddLayer(std::vector<Line>& lines, const std::string& name, bool good,
              const std::string& detail) {
  lines.push_back({"layer", name, good, good ? "in force" : "missing", detail});
}

// The doctor's temporary world: a directory with the scratch root, the one file and a secret,
// an outside process, an abstract socket and a TCP listener owned outside. Removed at the end.
struct Fixture {
  std::string dir;
  std::optional<Process> outside;
  UniqueFd abstract_socket;
  std::string abstract_name;
  UniqueFd tcp_socket;
  int tcp_port = 0;

  ~Fixture() {
    if (outside) {
      (void)outside->Signal(SIGKILL);
      (void)outside->WaitExit(std::chrono::seconds(2));
      outside->Reap();
    }
    if (!dir.empty()) (void)RemoveTree(dir);
  }
};

Status SetUp(Fixture& f) {
  char tmpl[] = "/tmp/va-doctor-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return SysFail("mkdtemp");
  f.dir = tmpl;
  if (::chmod(f.dir.c_str(), 0711) != 0) return SysFail("chmod " + f.dir);
  if (::mkdir((f.dir + "/scratch").c_str(), 0711) != 0) return SysFail("mkdir scratch");
  VA_TRY(UniqueFd doc, Open(f.dir + "/document", O_WRONLY | O_CREAT | O_EXCL, 0644));
  VA_TRY_STATUS(WriteAll(doc.Get(), "the one file\n"));
  VA_TRY(UniqueFd secret, Open(f.dir + "/secret", O_WRONLY | O_CREAT | O_EXCL, 0644));
  VA_TRY_STATUS(WriteAll(secret.Get(), "not for the sandbox\n"));
  SpawnOptions so;
  so.argv = {"/bin/sleep", "300"};
  so.stdin_fd = so.stdout_fd = so.stderr_fd = SpawnOptions::kDevNull;
  so.parent_death_signal = SIGKILL;
  VA_TRY(Process p, Process::Spawn(so));
  f.outside = std::move(p);

  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return SysFail("socket AF_UNIX");
  f.abstract_socket = UniqueFd(s);
  f.abstract_name = "va-doctor-" + RandomHex(8);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path + 1, f.abstract_name.data(), f.abstract_name.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + f.abstract_name.size());
  if (::bind(s, reinterpret_cast<sockaddr*>(&un), len) != 0 || ::listen(s, 4) != 0) {
    return SysFail("bind abstract socket");
  }
  int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (t < 0) return SysFail("socket AF_INET");
  f.tcp_socket = UniqueFd(t);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t in_len = sizeof(in);
  if (::bind(t, reinterpret_cast<sockaddr*>(&in), sizeof(in)) != 0 || ::listen(t, 4) != 0 ||
      ::getsockname(t, reinterpret_cast<sockaddr*>(&in), &in_len) != 0) {
    return SysFail("bind TCP listener");
  }
  f.tcp_port = ntohs(in.sin_port);
  return {};
}

void ProbeLayers(std::vector<Line>& lines, int min_abi) {
  auto abi = ProbeLandlockAbi();
  int a = abi ? *abi : 0;
  AddLayer(lines, "landlock", a >= min_abi,
           "ABI " + std::to_string(a) + " (policy minimum " + std::to_string(min_abi) + ")");
  auto userns = UserNamespacesAvailable();
  AddLayer(lines, "user namespace", userns && *userns,
           userns ? (*userns ? "can be created" : "creation refused by the kernel")
                  : userns.error().message);
  std::string missing;
  for (const char* ns : {"pid", "mnt", "net", "ipc", "uts", "cgroup"}) {
    if (::access((std::string("/proc/self/ns/") + ns).c_str(), F_OK) != 0) {
      missing += std::string(missing.empty() ? "" : ", ") + ns;
    }
  }
  AddLayer(lines, "namespaces", missing.empty(),
           missing.empty() ? "pid, mount, network, ipc, uts, cgroup" : "missing: " + missing);
  auto filter = SeccompProgram::BuildAllowList();
  AddLayer(lines, "seccomp", SeccompAvailable() && filter.has_value(),
           filter ? "filters available; allow-list of " + std::to_string(filter->Instructions()) +
                        " instructions"
                  : filter.error().message);
  // cgroup.kill exists in every non-root cgroup of a kernel that has it: try one of our own.
  auto v2 = OwnV2Dir();
  if (!v2) {
    AddLayer(lines, "cgroup kill", false, "no cgroup2 file system is mounted");
    return;
  }
  auto probe_cg = Cgroup::Create(*v2, "va-doctor-" + RandomHex(6));
  if (!probe_cg) {
    AddLayer(lines, "cgroup kill", false, "cannot create a cgroup: " + probe_cg.error().message);
    return;
  }
  bool kill = probe_cg->HasKillFile();
  AddLayer(lines, "cgroup kill", kill,
           kill ? "cgroup.kill under " + *v2
                : "no cgroup.kill in this kernel (destroy would rely on the pid namespace's init)");
}

// Parses the probe's "<verdict> <name>: <detail>" lines.
void ParseProbe(const std::string& out, std::vector<Line>& lines) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    auto colon = line.find(": ");
    if (sp == std::string::npos || colon == std::string::npos || colon < sp) continue;
    std::string verdict = line.substr(0, sp);
    std::string name = line.substr(sp + 1, colon - sp - 1);
    std::string detail = line.substr(colon + 2);
    if (verdict == "denied" || verdict == "ALLOWED") {
      lines.push_back({"attempt", name, verdict == "denied", verdict, detail});
    } else if (verdict == "ok" || verdict == "FAILED") {
      lines.push_back({"check", name, verdict == "ok", verdict, detail});
    }
  }
}

void RunProbe(std::vector<Line>& lines, const std::string& probe) {
  Fixture f;
  if (auto st = SetUp(f); !st) {
    AddLayer(lines, "probe", false, "cannot set up: " + st.error().message);
    return;
  }
  auto policy = ViewerPolicy(probe);
  if (!policy) {
    AddLayer(lines, "policy", false, policy.error().message);
    return;
  }
  auto out = MakePipe();
  auto outside_pidfd = f.outside ? f.outside->PidFd() : -1;
  if (!out) {
    AddLayer(lines, "probe", false, out.error().message);
    return;
  }
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = f.dir + "/scratch";
  spec.file = f.dir + "/document";
  spec.file_target = "/input";
  spec.memory_max = 64ULL << 20;
  spec.fds = {{out->write.Get(), 1}, {outside_pidfd, 3}};
  spec.argv = {probe,
               "--sbx-id=" + spec.id,
               "--file=/input",
               "--secret=" + f.dir + "/secret",
               "--outside-pid=" + std::to_string(f.outside->Pid()),
               "--outside-pidfd=3",
               "--abstract=" + f.abstract_name,
               "--tcp-port=" + std::to_string(f.tcp_port),
               "--forks=" + std::to_string(policy->pids_max + 50),
               "--alloc-mb=" + std::to_string((spec.memory_max >> 20) * 2)};
  auto sb = Create(*policy, spec);
  out->write.Reset();
  if (!sb) {
    std::string msg = sb.error().message;
    std::string layer = msg.substr(0, msg.find(':'));
    AddLayer(lines, layer.size() < 24 ? layer : "sandbox", false, "refused: " + msg);
    return;
  }
  for (const auto& l : sb->Layers()) {
    auto colon = l.find(": ");
    lines.push_back(
        {"layer", "sandbox " + l.substr(0, colon), true, "in force", l.substr(colon + 2)});
  }
  std::string text;
  const MonoTime deadline = MonoNow() + std::chrono::seconds(60);
  for (;;) {
    auto ready = PollOne(out->read.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline)));
    if (!ready || *ready == 0) {
      AddLayer(lines, "probe", false, "no answer within 60 s");
      break;
    }
    char buf[4096];
    auto n = Read(out->read.Get(), buf);
    if (!n || *n == 0) break;
    text.append(buf, *n);
  }
  auto status = sb->Wait(deadline);
  ParseProbe(text, lines);
  if (!status || !*status || **status != ExitStatus{false, 0}) {
    AddLayer(lines, "probe", false,
             "the probe did not finish cleanly: " +
                 (status && *status ? (*status)->ToString() : std::string("no exit")));
  }
  auto report = sb->Destroy();
  AddLayer(lines, "destroy", report.has_value(),
           report ? "everything killed and removed in " + LogField::FormatMillis(report->elapsed) +
                        " (" + report->method + ")"
                  : report.error().message);
}

}  // namespace

int RunDoctor(const DoctorOptions& options) {
  std::vector<Line> lines;
  std::string probe =
      (options.bin_dir.empty() ? std::string(".") : options.bin_dir) + "/vault-sandbox-probe";
  Policy defaults;
  ProbeLayers(lines, defaults.landlock_min_abi);
  if (::access(probe.c_str(), X_OK) != 0) {
    AddLayer(lines, "probe", false, probe + " not found");
  } else {
    RunProbe(lines, probe);
  }
  bool ok = true;
  size_t layers = 0, attempts = 0, denied = 0;
  for (const auto& l : lines) {
    ok = ok && l.good;
    if (l.kind == "layer") ++layers;
    if (l.kind == "attempt") {
      ++attempts;
      if (l.good) ++denied;
    }
  }
  if (attempts == 0) ok = false;
  if (options.json) {
    std::string out = "{\"ok\":" + std::string(ok ? "true" : "false") + ",\"results\":[";
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& l = lines[i];
      out += (i ? "," : "") + std::string("{\"kind\":") + JsonString(l.kind) +
             ",\"name\":" + JsonString(l.name) + ",\"status\":" + JsonString(l.status) +
             ",\"good\":" + (l.good ? "true" : "false") + ",\"detail\":" + JsonString(l.detail) +
             "}";
    }
    out += "]}\n";
    std::fputs(out.c_str(), stdout);
  } else {
    for (const auto& l : lines) {
      std::printf("%-7s %-26s %-9s %s\n", l.kind.c_str(), (l.name + ":").c_str(), l.status.c_str(),
                  l.detail.c_str());
    }
    std::printf("doctor: %s: %zu layer lines, %zu of %zu escape attempts denied\n",
                ok ? "ok" : "FAILED", layers, denied, attempts);
  }
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace va::sandbox
