// Benchmark: `akon vpn off` and `akon vpn status`, measured as a user sees them (wall time of the
// whole command, process start included).
//
//  1. Stand-in rows (no VPN needed): an `openconnect` that exits at once on SIGTERM; `vpn off`
//     against it, `vpn status` with it connected, `akon vpn status` with no state (start-up and
//     exit of the binary), and the floor: starting /bin/true the same way.
//  2. Real rows (root, ocserv + openconnect in network namespaces, PAM accepting any password so
//     that logins need not wait for a fresh TOTP step): openconnect's own exit time after SIGTERM
//     (it runs the vpnc-script disconnect before it exits), against `akon vpn off` on the same
//     kind of connection. The difference is akon's overhead.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "akon/state.h"
#include "bench_util.h"
#include "proc/identity.h"
#include "support/child.h"
#include "support/test_env.h"
#include "vpn/ocserv_env.h"

extern char** environ;

namespace {

using va::MonoNow;
using va::testing::RunCommand;

double Ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

struct Paths {
  va::testing::TempDir dir;
  std::string akon = va::testing::BinPath("akon");
  std::string State() const { return dir.File("state.json"); }
  std::vector<std::string> Env() const {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      if (!std::string_view(*e).starts_with("AKON_")) env.emplace_back(*e);
    }
    env.push_back("AKON_STATE_FILE=" + State());
    env.push_back("AKON_CONFIG_DIR=" + dir.File("config"));
    env.push_back("AKON_RUNTIME_DIR=" + dir.File("run"));
    return env;
  }
};

// Wall time of one command; aborts the benchmark if it fails unexpectedly.
double TimeCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   int expect_code) {
  auto t0 = MonoNow();
  auto r = RunCommand(argv, env, {}, std::chrono::seconds(60));
  auto t1 = MonoNow();
  VA_CHECK(r && r->status && !r->status->signaled && r->status->code == expect_code,
           r ? r->Describe() : r.error().message);
  return Ms(t1 - t0);
}

void WriteStateFor(const Paths& p, const va::Process& proc) {
  va::akon::VpnState s;
  s.ip = "10.99.0.7";
  s.device = "tun0";
  s.connected_at = va::WallNow();
  s.pid = proc.Pid();
  s.pid_start_time = proc.Identity().start_time;
  VA_CHECK(va::akon::SaveState(p.State(), s).has_value(), "save state");
}

std::vector<va::bench::Row> StandInRows(int n) {
  Paths p;
  ::mkdir(p.dir.File("run").c_str(), 0700);
  const std::string openconnect = p.dir.File("openconnect");
  std::filesystem::create_symlink(va::testing::BinPath("va-test-child"), openconnect);
  std::vector<double> spawn, floor, off, status;
  for (int i = 0; i < n; ++i) spawn.push_back(TimeCommand({"/bin/true"}, p.Env(), 0));
  for (int i = 0; i < n; ++i) {
    floor.push_back(TimeCommand({p.akon, "vpn", "status"}, p.Env(), 1));
  }
  for (int i = 0; i < n; ++i) {
    va::SpawnOptions opt;
    opt.argv = {openconnect};
    auto child = va::testing::StartChild({"exit-on-term"}, opt);
    VA_CHECK(child.has_value(), "stand-in");
    WriteStateFor(p, child->process);
    status.push_back(TimeCommand({p.akon, "vpn", "status"}, p.Env(), 0));
    off.push_back(TimeCommand({p.akon, "vpn", "off"}, p.Env(), 0));
    child->process.Reap();
  }
  return {
      {"/bin/true (process start floor)", va::bench::Summarize(spawn), "physical limit"},
      {"akon start-up (status, no state)", va::bench::Summarize(floor), "start + exit"},
      {"vpn status (connected)", va::bench::Summarize(status), "goal: median <= 10 ms"},
      {"vpn off (exits at once on SIGTERM)", va::bench::Summarize(off), "goal: median <= 25 ms"},
  };
}

std::optional<std::vector<va::bench::Row>> RealRows(int n) {
  if (auto why = va::testing::OcservEnv::UnavailableReason()) {
    std::fprintf(stderr, "akon_bench: real rows skipped: %s\n", why->c_str());
    return std::nullopt;
  }
  va::testing::OcservOptions options;
  options.accept_any_password = true;
  auto env = va::testing::OcservEnv::Start(options);
  VA_CHECK(env.has_value(), env ? "" : env.error().message);
  auto& oc = **env;
  Paths p;
  ::mkdir(p.dir.File("run").c_str(), 0700);
  ::mkdir(p.dir.File("config").c_str(), 0700);
  auto setup = RunCommand(
      {p.akon, "setup", "--non-interactive", "--server", oc.Url(), "--username", oc.Username(),
       "--protocol", "anyconnect", "--servercert", oc.ServerCertPin(), "--backend", "file"},
      p.Env(), oc.Pin() + "\n" + oc.TotpSecretBase32() + "\n");
  VA_CHECK(setup && setup->status && setup->status->code == 0, "akon setup");
  auto on = [&] {
    // The harness forgets the last TOTP step so `vpn on` does not wait 30 s between samples; the
    // server here accepts any password, and `vpn on` is not what is measured.
    std::filesystem::remove(p.dir.File("run/totp_last_step"));
    auto r =
        RunCommand(oc.ClientCommand({p.akon, "vpn", "on"}), p.Env(), {}, std::chrono::seconds(60));
    VA_CHECK(r && r->status && r->status->code == 0,
             (r ? r->Describe() : r.error().message) + "\nocserv: " + oc.LogTail(15));
    auto s = va::akon::LoadState(p.State());
    VA_CHECK(s && s->pid, "state after vpn on");
    return *s;
  };
  std::vector<double> direct, off;
  for (int i = 0; i < n; ++i) {
    std::fprintf(stderr, "\rakon_bench: real connection %d/%d", i + 1, n);
    auto s = on();
    auto oc_proc = va::Process::Adopt(*s.pid);
    VA_CHECK(oc_proc.has_value(), "adopt openconnect");
    auto t0 = MonoNow();
    VA_CHECK(oc_proc->Signal(SIGTERM).value_or(false), "SIGTERM");
    VA_CHECK(oc_proc->WaitExit(std::chrono::seconds(10)).value_or(false), "openconnect exit");
    direct.push_back(Ms(MonoNow() - t0));
    // Its supervisor records the unexpected exit and leaves; clear the state for the next round.
    if (s.supervisor_pid) {
      if (auto sup = va::Process::Adopt(*s.supervisor_pid))
        (void)sup->WaitExit(std::chrono::seconds(10));
    }
    TimeCommand(oc.ClientCommand({p.akon, "vpn", "reset"}), p.Env(), 0);
    VA_CHECK(oc.WaitForNoClientTun(MonoNow() + std::chrono::seconds(10)).has_value(), "tun gone");

    on();
    // Signalling needs no network namespace: run `off` directly, as the peer row is measured.
    off.push_back(TimeCommand({p.akon, "vpn", "off"}, p.Env(), 0));
    VA_CHECK(oc.WaitForNoClientTun(MonoNow() + std::chrono::seconds(10)).has_value(), "tun gone");
  }
  std::fprintf(stderr, "\n");
  return std::vector<va::bench::Row>{
      {"openconnect exit after SIGTERM", va::bench::Summarize(direct), "peer: its own exit"},
      {"akon vpn off (real openconnect)", va::bench::Summarize(off), "goal: overhead <= 10 ms"},
  };
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  auto rows = StandInRows(quick ? 20 : 100);
  va::bench::PrintTable("akon with a stand-in openconnect (wall time of the whole command)", rows,
                        0);
  va::bench::WriteJson("akon_standin", rows);
  if (auto real = RealRows(quick ? 5 : 20)) {
    va::bench::PrintTable("akon against a real openconnect and ocserv", *real, 0);
    double overhead = (*real)[1].stats.median - (*real)[0].stats.median;
    std::printf("akon vpn off overhead over openconnect's own exit (medians): %.3f ms\n", overhead);
    va::bench::WriteJson("akon_real", *real, ",\"overhead_ms\":" + std::to_string(overhead));
  }
  return 0;
}
