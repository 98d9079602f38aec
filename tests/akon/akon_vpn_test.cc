// akon against a real VPN: a real ocserv (PIN + TOTP through pam_oath) in a network namespace and
// a real openconnect driven by the real `akon` binary in a client namespace. Covers spec §4/§5 and
// seed 003's integration contract: on → status → off, on while connected, off twice, wrong PIN,
// on again right after off (a fresh TOTP step), the forced-kill path with routes and resolv.conf
// restored, and openconnect killed from outside; and `vpn on`'s failures before and during the
// connect: openconnect not installed, no config, a server that never answers (connect timeout).
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "akon/config.h"
#include "akon/state.h"
#include "base/sys.h"
#include "support/child.h"
#include "support/test_env.h"
#include "vpn/ocserv_env.h"

extern char** environ;

namespace va::testing {
namespace {

using std::chrono::seconds;

// Pids of the processes named `comm` whose network namespace is the named one (/run/netns/NS).
std::vector<pid_t> ProcessesInNetns(const std::string& ns, const std::string& comm) {
  std::vector<pid_t> found;
  struct stat want {};
  if (::stat(("/run/netns/" + ns).c_str(), &want) != 0) return found;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return found;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) continue;
    const std::string base = std::string("/proc/") + e->d_name;
    struct stat got {};
    if (::stat((base + "/ns/net").c_str(), &got) != 0) continue;
    if (got.st_dev != want.st_dev || got.st_ino != want.st_ino) continue;
    std::ifstream in(base + "/comm");
    std::string name;
    std::getline(in, name);
    if (name == comm) found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return found;
}

class AkonVpnTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (auto why = OcservEnv::UnavailableReason()) {
      skip_reason_ = new std::string(*why);
      return;
    }
    auto env = OcservEnv::Start();
    ASSERT_TRUE(env.has_value()) << env.error().message;
    env_ = env->release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    if (skip_reason_) GTEST_SKIP() << *skip_reason_;
    ASSERT_NE(env_, nullptr);
    ::mkdir(dir_.File("run").c_str(), 0700);
    ::mkdir(dir_.File("config").c_str(), 0700);
    // Configure through the real CLI, secrets in the file backend.
    auto setup = Akon(
        {"setup", "--non-interactive", "--server", env_->Url(), "--username", env_->Username(),
         "--protocol", "anyconnect", "--servercert", env_->ServerCertPin(), "--backend", "file"},
        pin_ + "\n" + env_->TotpSecretBase32() + "\n", /*in_netns=*/false);
    ASSERT_EQ(setup.status, (ExitStatus{false, 0})) << setup.Describe();
  }

  void TearDown() override {
    if (skip_reason_ || env_ == nullptr) return;
    // Leave nothing connected for the next test, whatever happened.
    if (auto st = akon::LoadState(StateFile());
        st.has_value() || st.error().kind != ErrorKind::kNotFound) {
      Akon({"vpn", "off"});
    }
    EXPECT_TRUE(env_->WaitForNoClientTun(MonoNow() + seconds(10)).has_value());
  }

  std::string StateFile() const { return dir_.File("state.json"); }

  std::vector<std::string> Env() const {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      if (!kv.starts_with("AKON_")) env.emplace_back(kv);
    }
    env.push_back("AKON_CONFIG_DIR=" + dir_.File("config"));
    env.push_back("AKON_STATE_FILE=" + StateFile());
    env.push_back("AKON_RUNTIME_DIR=" + dir_.File("run"));
    env.push_back("AKON_LOG=info");
    env.insert(env.end(), extra_env_.begin(), extra_env_.end());
    return env;
  }

  CommandResult Akon(std::vector<std::string> args, std::string input = {}, bool in_netns = true,
                     std::chrono::milliseconds timeout = std::chrono::seconds(90)) {
    args.insert(args.begin(), BinPath("akon"));
    if (in_netns) args = env_->ClientCommand(args);
    auto r = RunCommand(args, Env(), std::move(input), timeout);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : CommandResult{};
  }

  // Waits until the server's last accepted step is in the past, so `vpn on` needs no wait.
  void FreshStep() { ASSERT_TRUE(env_->WaitForUnusedStep().has_value()); }

  std::optional<akon::VpnState> State() const {
    auto s = akon::LoadState(StateFile());
    return s ? std::optional(*s) : std::nullopt;
  }

  static bool Exited(const CommandResult& r, int code) {
    return r.status && !r.status->signaled && r.status->code == code;
  }

  void ExpectConnected() {
    auto tun = env_->ClientTun();
    ASSERT_TRUE(tun.has_value() && tun->has_value()) << "no tun device in the client namespace";
    ASSERT_FALSE((*tun)->ipv4.empty());
    EXPECT_TRUE((*tun)->ipv4[0].starts_with(OcservEnv::kClientNetworkPrefix));
    auto resolv = env_->ReadResolvConf();
    ASSERT_TRUE(resolv.has_value());
    EXPECT_NE(resolv->find(OcservEnv::kPushedDns), std::string::npos) << *resolv;
    auto routes = env_->ClientRoutes();
    ASSERT_TRUE(routes.has_value());
    EXPECT_NE(routes->find("10.98.0.0/16"), std::string::npos) << *routes;
  }

  void ExpectRestored() {
    ASSERT_TRUE(env_->WaitForNoClientTun(MonoNow() + seconds(5)).has_value());
    auto resolv = env_->ReadResolvConf();
    ASSERT_TRUE(resolv.has_value());
    EXPECT_EQ(*resolv, OcservEnv::kOriginalResolvConf);
    auto routes = env_->ClientRoutes();
    ASSERT_TRUE(routes.has_value());
    EXPECT_EQ(routes->find("10.98.0.0/16"), std::string::npos) << *routes;
    EXPECT_FALSE(State().has_value()) << "state file left behind";
  }

  static inline OcservEnv* env_ = nullptr;
  static inline std::string* skip_reason_ = nullptr;
  TempDir dir_;
  std::string pin_ = "1234";
  std::vector<std::string> extra_env_;  // added to every akon command's environment
};

TEST_F(AkonVpnTest, OnStatusOff) {
  FreshStep();
  auto on = Akon({"vpn", "on"});
  ASSERT_TRUE(Exited(on, 0)) << on.Describe() << env_->LogTail();
  EXPECT_NE(on.out.find("✓ VPN connected: 10.99.0."), std::string::npos) << on.out;
  ExpectConnected();
  auto state = State();
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->ip.starts_with(OcservEnv::kClientNetworkPrefix));
  EXPECT_TRUE(state->pid.has_value());
  EXPECT_TRUE(state->pid_start_time.has_value());
  EXPECT_TRUE(state->supervisor_pid.has_value());

  auto status = Akon({"vpn", "status", "--json"});
  ASSERT_TRUE(Exited(status, 0)) << status.Describe();
  auto json = boost::json::parse(status.out).as_object();
  EXPECT_EQ(json.at("state").as_string(), "Connected");
  EXPECT_EQ(json.at("ip").as_string(), state->ip);
  EXPECT_EQ(json.at("device").as_string(), state->device);

  auto off = Akon({"vpn", "off"});
  ASSERT_TRUE(Exited(off, 0)) << off.Describe();
  EXPECT_TRUE(HasLine(off.out, "✓ VPN disconnected gracefully")) << off.out;
  EXPECT_EQ(off.out.find("Force-killing"), std::string::npos);
  ExpectRestored();

  auto status_after = Akon({"vpn", "status"});
  EXPECT_TRUE(Exited(status_after, 1)) << status_after.Describe();
}

TEST_F(AkonVpnTest, OnWhileConnectedAndOffTwice) {
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  auto again = Akon({"vpn", "on"});
  EXPECT_TRUE(Exited(again, 0)) << again.Describe();
  EXPECT_TRUE(HasLine(again.out, "✓ VPN is already connected")) << again.out;
  ASSERT_TRUE(Exited(Akon({"vpn", "off"}), 0));
  auto second = Akon({"vpn", "off"});
  EXPECT_TRUE(Exited(second, 1)) << second.Describe();
  EXPECT_TRUE(HasLine(second.out, "ℹ No active VPN connection found")) << second.out;
  ExpectRestored();
}

TEST_F(AkonVpnTest, WrongPinIsReportedAsLoginFailure) {
  // Re-run setup with a wrong PIN.
  auto setup =
      Akon({"setup", "--non-interactive", "--server", env_->Url(), "--username", env_->Username(),
            "--protocol", "anyconnect", "--servercert", env_->ServerCertPin(), "--backend", "file"},
           "9999\n" + env_->TotpSecretBase32() + "\n", false);
  ASSERT_TRUE(Exited(setup, 0)) << setup.Describe();
  FreshStep();
  auto on = Akon({"vpn", "on"});
  EXPECT_TRUE(Exited(on, 1)) << on.Describe();
  EXPECT_NE(on.err.find("❌ Login failed"), std::string::npos) << on.Describe();
  EXPECT_FALSE(State().has_value());
  auto tun = env_->ClientTun();
  ASSERT_TRUE(tun.has_value());
  EXPECT_FALSE(tun->has_value());
}

TEST_F(AkonVpnTest, OnAgainRightAfterOffUsesAFreshCode) {
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  ASSERT_TRUE(Exited(Akon({"vpn", "off"}), 0));
  // Same 30-s step: akon must not send the same code again; it waits for the next step.
  auto on = Akon({"vpn", "on"});
  ASSERT_TRUE(Exited(on, 0)) << on.Describe() << env_->LogTail();
  ExpectConnected();
}

TEST_F(AkonVpnTest, ForcedKillRestoresRoutesAndDns) {
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  auto state = State();
  ASSERT_TRUE(state && state->pid);
  // A stopped process keeps SIGTERM pending: only the forced path can end it.
  ASSERT_EQ(::kill(*state->pid, SIGSTOP), 0);
  auto off = Akon({"vpn", "off"});
  ASSERT_TRUE(Exited(off, 0)) << off.Describe();
  EXPECT_TRUE(HasLine(off.out, "  Force-killing VPN process...")) << off.out;
  EXPECT_TRUE(HasLine(off.out, "✓ VPN disconnected (forced)")) << off.out;
  EXPECT_NE(off.err.find("vpn_force_killed"), std::string::npos) << off.err;
  ExpectRestored();
}

TEST_F(AkonVpnTest, OpenconnectKilledFromOutsideIsReportedByStatus) {
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  auto state = State();
  ASSERT_TRUE(state && state->pid && state->supervisor_pid);
  auto supervisor = Process::Adopt(*state->supervisor_pid);
  ASSERT_TRUE(supervisor.has_value());
  ASSERT_EQ(::kill(*state->pid, SIGKILL), 0);
  // The supervisor notices, restores routes and DNS, records why, and exits.
  auto gone = supervisor->WaitExit(seconds(10));
  ASSERT_TRUE(gone.has_value() && *gone);
  auto status = Akon({"vpn", "status"});
  EXPECT_TRUE(Exited(status, 2)) << status.Describe();
  EXPECT_NE(status.err.find("exited unexpectedly"), std::string::npos) << status.Describe();
  auto resolv = env_->ReadResolvConf();
  ASSERT_TRUE(resolv.has_value());
  EXPECT_EQ(*resolv, OcservEnv::kOriginalResolvConf);
  auto reset = Akon({"vpn", "reset"});
  EXPECT_TRUE(Exited(reset, 0)) << reset.Describe();
  EXPECT_FALSE(State().has_value());
}

TEST_F(AkonVpnTest, OnWithoutOpenconnectSaysHowToInstallIt) {
  extra_env_.push_back("AKON_OPENCONNECT=/nonexistent/openconnect");
  auto on = Akon({"vpn", "on"});
  EXPECT_TRUE(Exited(on, 2)) << on.Describe();
  const auto lines = Lines(on.err);
  auto it = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.starts_with("❌ ") && l.find("openconnect is not installed") != std::string::npos;
  });
  ASSERT_NE(it, lines.end()) << on.Describe();
  ASSERT_NE(it + 1, lines.end()) << "no line saying what to do:\n" << on.Describe();
  EXPECT_NE((it + 1)->find("apt install openconnect"), std::string::npos) << on.Describe();
  EXPECT_EQ(on.out.find("Connecting"), std::string::npos) << on.Describe();
  EXPECT_FALSE(State().has_value());
  auto tun = env_->ClientTun();
  ASSERT_TRUE(tun.has_value());
  EXPECT_FALSE(tun->has_value());
}

TEST_F(AkonVpnTest, OnWithoutConfigSaysToRunSetup) {
  ASSERT_EQ(::unlink(dir_.File("config/config.toml").c_str()), 0);
  auto on = Akon({"vpn", "on"});
  EXPECT_TRUE(Exited(on, 2)) << on.Describe();
  const auto lines = Lines(on.err);
  auto it = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.starts_with("❌ "); });
  ASSERT_NE(it, lines.end()) << on.Describe();
  EXPECT_NE(on.err.find("Run 'akon setup'"), std::string::npos) << on.Describe();
  EXPECT_FALSE(State().has_value());
}

// A server that accepts the TCP connection and never answers the TLS handshake: `vpn on` gives up
// after connect_timeout_secs, and leaves no openconnect, no state file and no tun device behind.
TEST_F(AkonVpnTest, ConnectTimeoutTearsDownAndReports) {
  constexpr uint16_t kSilentPort = 4444;
  SpawnOptions options;
  options.argv = env_->ServerCommand({BinPath("va-test-child")});
  auto silent = StartChild(
      {"listen-silent", OcservEnv::kServerAddress, std::to_string(kSilentPort)}, options);
  ASSERT_TRUE(silent.has_value()) << silent.error().message;
  ASSERT_EQ(silent->line, "ready");
  struct KillOnExit {
    Process& process;
    ~KillOnExit() {
      (void)process.Signal(SIGKILL);
      (void)process.WaitExit(seconds(5));
      process.Reap();
    }
  } kill_on_exit{silent->process};

  const std::string config_path = akon::ConfigPath(dir_.File("config"));
  auto config = akon::LoadConfig(config_path);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  config->vpn.server =
      "https://" + std::string(OcservEnv::kServerAddress) + ":" + std::to_string(kSilentPort);
  config->vpn.connect_timeout_secs = 2;
  ASSERT_TRUE(akon::SaveConfig(config_path, *config).has_value());

  // The deadline bounds the 2 s timeout plus openconnect's graceful stop (at most 5 s).
  auto on = Akon({"vpn", "on"}, {}, true, seconds(30));
  EXPECT_FALSE(on.timed_out) << on.Describe();
  EXPECT_TRUE(Exited(on, 1)) << on.Describe();
  EXPECT_NE(on.err.find("❌ Connection timed out"), std::string::npos) << on.Describe();
  // openconnect did reach the silent server (this was a timeout, not a refused connection).
  EXPECT_EQ(ReadLineWithin(silent->out.Get(), std::chrono::milliseconds(5000)),
            std::optional<std::string>("accepted"));

  EXPECT_EQ(ProcessesInNetns(env_->ClientNs(), "openconnect"), std::vector<pid_t>{})
      << "openconnect left running";
  EXPECT_FALSE(State().has_value()) << "state file left behind";
  struct stat st {};
  EXPECT_NE(::lstat(StateFile().c_str(), &st), 0);
  auto tun = env_->ClientTun();
  ASSERT_TRUE(tun.has_value());
  EXPECT_FALSE(tun->has_value());
}

TEST_F(AkonVpnTest, ForegroundStaysAttachedAndCtrlCDisconnects) {
  FreshStep();
  auto args = env_->ClientCommand({BinPath("akon"), "vpn", "on", "--foreground"});
  auto cmd = RunningCommand::Start(args, Env());
  ASSERT_TRUE(cmd.has_value()) << cmd.error().message;
  ASSERT_TRUE(cmd->WaitForLine("ℹ Staying in the foreground; press Ctrl-C to disconnect",
                               std::chrono::seconds(60)))
      << cmd->Out() << cmd->Err() << env_->LogTail();
  ExpectConnected();
  ASSERT_TRUE(State().has_value());
  // `ip netns exec` execs akon in place: the pid we hold is akon's.
  ASSERT_EQ(::kill(cmd->Pid(), SIGINT), 0);
  auto r = cmd->Finish(std::chrono::seconds(30));
  EXPECT_TRUE(Exited(r, 0)) << r.Describe();
  EXPECT_TRUE(HasLine(r.out, "✓ VPN disconnected gracefully")) << r.out;
  ExpectRestored();
}

TEST_F(AkonVpnTest, LazyModeConnectsWithABareAkon) {
  const std::string config_path = akon::ConfigPath(dir_.File("config"));
  auto config = akon::LoadConfig(config_path);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  auto without = Akon({});
  EXPECT_TRUE(Exited(without, 0)) << without.Describe();
  EXPECT_NE(without.out.find("Usage:"), std::string::npos) << "no lazy mode: help";
  config->vpn.lazy_mode = true;
  ASSERT_TRUE(akon::SaveConfig(config_path, *config).has_value());
  FreshStep();
  auto lazy = Akon({});
  ASSERT_TRUE(Exited(lazy, 0)) << lazy.Describe() << env_->LogTail();
  EXPECT_NE(lazy.out.find("✓ VPN connected: 10.99.0."), std::string::npos) << lazy.out;
  ExpectConnected();
}

TEST_F(AkonVpnTest, GetPasswordPrintsPinAndTheCurrentCode) {
  auto before = env_->CodeAt(WallNow());
  auto r = Akon({"get-password"}, {}, /*in_netns=*/false);
  auto after = env_->CodeAt(WallNow());
  ASSERT_TRUE(before.has_value() && after.has_value());
  ASSERT_TRUE(Exited(r, 0)) << r.Describe();
  // The step may turn between the two readings: either code is right.
  EXPECT_TRUE(r.out == pin_ + *before + "\n" || r.out == pin_ + *after + "\n") << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

// Enables [reconnection] in the test's config with the given backoff.
void EnableReconnection(const std::string& config_dir, int backoff_base, int backoff_max,
                        const std::string& health_url = "https://10.99.0.1/health",
                        int check_interval = 60) {
  const std::string path = akon::ConfigPath(config_dir);
  auto config = akon::LoadConfig(path);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  akon::ReconnectionConfig rc;
  rc.health_url = health_url;
  rc.check_interval_secs = check_interval;
  rc.max_attempts = 3;
  rc.backoff_base_secs = backoff_base;
  rc.backoff_max_secs = backoff_max;
  config->reconnection = rc;
  ASSERT_TRUE(akon::SaveConfig(path, *config).has_value());
}

// Waits, woken by inotify on its directory, until the state file satisfies `done`.
bool WaitForState(const std::string& state_file,
                  const std::function<bool(const akon::VpnState&)>& done, MonoTime deadline) {
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  const std::string dir = state_file.substr(0, state_file.rfind('/'));
  if (!in || ::inotify_add_watch(in.Get(), dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    return false;
  }
  for (;;) {
    if (auto s = akon::LoadState(state_file); s && done(*s)) return true;
    int ms = MillisUntil(deadline);
    if (ms == 0) return false;
    pollfd fd{in.Get(), POLLIN, 0};
    ::poll(&fd, 1, ms);
    char drain[4096];
    while (::read(in.Get(), drain, sizeof(drain)) > 0) {
    }
  }
}

TEST_F(AkonVpnTest, ReconnectsWithAFreshCodeAfterTheServerDropsTheSession) {
  EnableReconnection(dir_.File("config"), 1, 2);
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  auto first = State();
  ASSERT_TRUE(first && first->pid && first->supervisor_pid);
  auto dropped = env_->Occtl({"disconnect", "user", env_->Username()});
  ASSERT_TRUE(dropped.has_value()) << dropped.error().message;
  // A new login needs the next TOTP step (pam_oath refuses a replay): up to 30 s plus backoff.
  ASSERT_TRUE(WaitForState(
      StateFile(),
      [&](const akon::VpnState& s) { return s.status == "connected" && s.pid != first->pid; },
      MonoNow() + seconds(60)))
      << env_->LogTail();
  auto status = Akon({"vpn", "status", "--json"});
  ASSERT_TRUE(Exited(status, 0)) << status.Describe();
  EXPECT_EQ(boost::json::parse(status.out).as_object().at("state").as_string(), "Connected");
  ExpectConnected();
  auto supervisor = Process::Adopt(*first->supervisor_pid);
  ASSERT_TRUE(supervisor.has_value());
  auto off = Akon({"vpn", "off"});
  ASSERT_TRUE(Exited(off, 0)) << off.Describe();
  EXPECT_TRUE(HasLine(off.out, "✓ VPN disconnected gracefully")) << off.out;
  auto gone = supervisor->WaitExit(seconds(10));
  EXPECT_TRUE(gone.has_value() && *gone) << "the supervisor must leave after vpn off";
  ExpectRestored();
}

TEST_F(AkonVpnTest, OffWhileReconnectingStopsTheRetries) {
  EnableReconnection(dir_.File("config"), 30, 60);
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  auto first = State();
  ASSERT_TRUE(first && first->supervisor_pid);
  auto supervisor = Process::Adopt(*first->supervisor_pid);
  ASSERT_TRUE(supervisor.has_value());
  ASSERT_TRUE(env_->Occtl({"disconnect", "user", env_->Username()}).has_value());
  ASSERT_TRUE(WaitForState(
      StateFile(), [](const akon::VpnState& s) { return s.status == "reconnecting"; },
      MonoNow() + seconds(20)));
  auto status = Akon({"vpn", "status"});
  EXPECT_TRUE(Exited(status, 1)) << status.Describe();
  EXPECT_NE(status.out.find("ℹ VPN is reconnecting: attempt 1"), std::string::npos) << status.out;
  // A second supervisor must not start while the first one retries.
  auto on = Akon({"vpn", "on"});
  EXPECT_TRUE(Exited(on, 0)) << on.Describe();
  EXPECT_NE(on.out.find("ℹ VPN is reconnecting (attempt 1)"), std::string::npos) << on.out;
  auto off = Akon({"vpn", "off"});
  EXPECT_TRUE(Exited(off, 0)) << off.Describe();
  EXPECT_TRUE(HasLine(off.out, "ℹ VPN already disconnected")) << off.out;
  auto gone = supervisor->WaitExit(seconds(5));
  EXPECT_TRUE(gone.has_value() && *gone) << "the supervisor kept retrying after vpn off";
  ExpectRestored();
}

TEST_F(AkonVpnTest, FailingHealthChecksThroughTheTunnelTriggerAReconnection) {
  // A health endpoint on the VPN server's side of the tunnel (ocserv's vpns device: 10.99.0.1).
  SpawnOptions opt;
  opt.argv = env_->ServerCommand({BinPath("va-test-child")});
  auto health = StartChild({"http-health", "8088"}, opt);
  ASSERT_TRUE(health.has_value()) << health.error().message;
  struct KillOnExit {
    Process& p;
    ~KillOnExit() {
      (void)p.Signal(SIGKILL);
      (void)p.WaitExit(std::chrono::seconds(5));
      p.Reap();
    }
  } kill_on_exit{health->process};
  EnableReconnection(dir_.File("config"), 1, 2, "http://10.99.0.1:8088/health", 1);
  FreshStep();
  ASSERT_TRUE(Exited(Akon({"vpn", "on"}), 0));
  auto first = State();
  ASSERT_TRUE(first && first->pid);
  // Healthy probes arrive through the tunnel...
  auto seen = ReadLineWithin(health->out.Get(), std::chrono::seconds(10));
  ASSERT_EQ(seen, std::optional<std::string>("request 200"));
  // ...then the endpoint fails: after two failures the supervisor logs in again.
  ASSERT_EQ(::kill(health->process.Pid(), SIGUSR1), 0);
  ASSERT_TRUE(WaitForState(
      StateFile(),
      [&](const akon::VpnState& s) { return s.status == "connected" && s.pid != first->pid; },
      MonoNow() + seconds(60)))
      << env_->LogTail();
  ExpectConnected();
}

}  // namespace
}  // namespace va::testing
