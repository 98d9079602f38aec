// Tests for OcservEnv with a real ocserv and a real openconnect: the environment starts and is
// torn down completely (also after a failed start, and with a process left in a namespace),
// openconnect logs in with PIN+TOTP, gets a tun device, the pushed route and DNS, and restores
// both when stopped with SIGTERM or disconnected by the server; a wrong PIN and a replayed TOTP
// code are rejected, and FreshPassword() yields a code the server accepts.
#include "vpn/ocserv_env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/sys.h"
#include "proc/process.h"
#include "proc/stop.h"
#include "support/child.h"

namespace va::testing {
namespace {

using std::chrono::seconds;

constexpr seconds kConnectTimeout(30);

bool NetnsExists(const std::string& name) { return std::filesystem::exists("/run/netns/" + name); }

// Skips when the host cannot run the environment; otherwise starts it (failing the test when
// that fails).
#define START_ENV_OR_SKIP(env, ...)                                          \
  if (auto reason = OcservEnv::UnavailableReason()) GTEST_SKIP() << *reason; \
  auto env##_started = OcservEnv::Start(__VA_ARGS__);                        \
  ASSERT_TRUE(env##_started) << env##_started.error().message;               \
  std::unique_ptr<OcservEnv> env = std::move(*env##_started)

// A real openconnect in the client namespace, its output on a pipe; stopped (SIGTERM, then
// SIGKILL) on destruction when the test did not stop it.
class Openconnect {
 public:
  // Starts `openconnect <extra> URL` with `password` on its stdin.
  static Result<std::unique_ptr<Openconnect>> Start(const OcservEnv& env,
                                                    const std::string& password,
                                                    std::vector<std::string> extra = {}) {
    VA_TRY(Pipe in, MakePipe());
    VA_TRY_STATUS(WriteAll(in.write.Get(), password + "\n"));
    in.write.Reset();
    VA_TRY(Pipe out, MakePipe());
    if (::fcntl(out.read.Get(), F_SETFL, O_NONBLOCK) != 0) return SysFail("fcntl");
    std::vector<std::string> args = {
        *FindProgram("openconnect"), "--protocol=anyconnect", "--user=" + env.Username(),
        "--passwd-on-stdin",         "--non-inter",           "--servercert",
        env.ServerCertPin()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(env.Url());
    SpawnOptions options;
    options.argv = env.ClientCommand(args);
    options.stdin_fd = in.read.Get();
    options.stdout_fd = out.write.Get();
    options.stderr_fd = out.write.Get();
    options.parent_death_signal = SIGTERM;
    VA_TRY(Process process, Process::Spawn(options));
    return std::unique_ptr<Openconnect>(new Openconnect(std::move(process), std::move(out.read)));
  }

  ~Openconnect() {
    if (!process_.Status()) Stop();
  }

  Process& process() { return process_; }

  // Reads output until it contains `text`; false at end of output (openconnect exited) or at
  // `deadline`.
  bool WaitForOutput(std::string_view text, MonoTime deadline) {
    for (;;) {
      if (output_.find(text) != std::string::npos) return true;
      if (eof_) return false;
      auto ready = PollOne(out_.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline)));
      if (!ready || *ready == 0) return false;
      Drain();
    }
  }

  // Waits for openconnect to exit by itself; its status, nullopt at `deadline`.
  std::optional<ExitStatus> WaitExit(MonoTime deadline) {
    auto exited = process_.WaitExitUntil(deadline);
    if (!exited || !*exited) return std::nullopt;
    WaitForOutput("\x01never\x01", deadline);  // read to end of output
    return process_.Reap();
  }

  StopResult Stop() {
    StopPolicy policy;
    policy.grace = seconds(10);
    StopResult result = StopProcess(process_, policy);
    WaitForOutput("\x01never\x01", MonoNow() + seconds(2));
    return result;
  }

  const std::string& Output() {
    Drain();
    return output_;
  }

 private:
  Openconnect(Process process, UniqueFd out) : process_(std::move(process)), out_(std::move(out)) {}

  void Drain() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(out_.Get(), buf, sizeof(buf));
      if (n > 0) {
        output_.append(buf, static_cast<size_t>(n));
      } else {
        if (n == 0) eof_ = true;
        return;
      }
    }
  }

  Process process_;
  UniqueFd out_;
  std::string output_;
  bool eof_ = false;
};

TEST(OcservEnvTest, StartsAndTearsDownCompletely) {
  std::string server_ns, client_ns, dir, etc;
  {
    START_ENV_OR_SKIP(env);
    std::cout << "ocserv env started in " << FormatDuration(env->StartDuration()) << "\n";
    server_ns = env->ServerNs();
    client_ns = env->ClientNs();
    dir = env->Dir();
    etc = "/etc/netns/" + client_ns;
    EXPECT_TRUE(NetnsExists(server_ns));
    EXPECT_TRUE(NetnsExists(client_ns));
    EXPECT_TRUE(env->ServerRunning());
    EXPECT_EQ(env->Url(), "https://192.0.2.1:4443");
    EXPECT_TRUE(std::regex_match(env->ServerCertPin(), std::regex("pin-sha256:[A-Za-z0-9+/]{43}=")))
        << env->ServerCertPin();
    EXPECT_TRUE(std::filesystem::exists(env->CaFile()));

    auto resolv = env->ReadResolvConf();
    ASSERT_TRUE(resolv) << resolv.error().message;
    EXPECT_EQ(*resolv, OcservEnv::kOriginalResolvConf);
    // What a process in the client namespace sees as /etc/resolv.conf.
    auto seen = RunCommand(env->ClientCommand({"cat", "/etc/resolv.conf"}));
    ASSERT_TRUE(seen) << seen.error().message;
    EXPECT_EQ(seen->out, OcservEnv::kOriginalResolvConf) << seen->Describe();
    // ...and its hosts lookup: no systemd-resolved for the vpnc-script to hand DNS to.
    auto hosts = RunCommand(env->ClientCommand({"grep", "^hosts:", "/etc/nsswitch.conf"}));
    ASSERT_TRUE(hosts) << hosts.error().message;
    EXPECT_EQ(hosts->out, "hosts: files dns\n") << hosts->Describe();

    // The client namespace: lo and the veth end, no tun yet; the default route via the server.
    auto nics = env->ClientInterfaces();
    ASSERT_TRUE(nics) << nics.error().message;
    ASSERT_EQ(nics->size(), 2u);
    EXPECT_EQ((*nics)[0].name, "lo");
    EXPECT_EQ((*nics)[1].ipv4, std::vector<std::string>{"192.0.2.2"});
    auto tun = env->ClientTun();
    ASSERT_TRUE(tun);
    EXPECT_FALSE(tun->has_value());
    auto routes = env->ClientRoutes();
    ASSERT_TRUE(routes) << routes.error().message;
    EXPECT_NE(routes->find("default via 192.0.2.1"), std::string::npos) << *routes;

    // The secret in both spellings gives the same codes.
    auto verbose = RunCommand({"oathtool", "--totp", "-v", env->TotpSecretHex()});
    ASSERT_TRUE(verbose) << verbose.error().message;
    EXPECT_NE(verbose->out.find("Base32 secret: " + env->TotpSecretBase32()), std::string::npos)
        << verbose->Describe();
    EXPECT_EQ(env->TotpSecretBase32().size(), 32u);

    // occtl reaches the server.
    auto status = env->Occtl({"show", "status"});
    ASSERT_TRUE(status) << status.error().message;
    EXPECT_EQ(status->status, (ExitStatus{false, 0})) << status->Describe();
  }
  EXPECT_FALSE(NetnsExists(server_ns));
  EXPECT_FALSE(NetnsExists(client_ns));
  EXPECT_FALSE(std::filesystem::exists(etc));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(OcservEnvTest, FailedStartReportsLogAndLeavesNothing) {
  if (auto reason = OcservEnv::UnavailableReason()) GTEST_SKIP() << *reason;
  OcservOptions options;
  options.config = {{"server-cert", "/nonexistent/cert.pem"}};
  auto env = OcservEnv::Start(options);
  ASSERT_FALSE(env);
  const std::string& message = env.error().message;
  EXPECT_NE(message.find("ocserv exited during start-up"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot open file /nonexistent/cert.pem"), std::string::npos) << message;
  std::smatch names;
  ASSERT_TRUE(std::regex_search(message, names, std::regex("netns (vaoc-s-\\w+), (vaoc-c-\\w+)")))
      << message;
  EXPECT_FALSE(NetnsExists(names[1]));
  EXPECT_FALSE(NetnsExists(names[2]));
  EXPECT_FALSE(std::filesystem::exists("/etc/netns/" + names[2].str()));
}

TEST(OcservEnvTest, OpenconnectConnectsAndRestoresRoutesAndDnsOnSigterm) {
  START_ENV_OR_SKIP(env);
  auto password = env->FreshPassword();
  ASSERT_TRUE(password) << password.error().message;
  ASSERT_EQ(password->size(), env->Pin().size() + 6);

  auto started = Openconnect::Start(*env, *password);
  ASSERT_TRUE(started) << started.error().message;
  Openconnect& oc = **started;
  const MonoTime deadline = MonoNow() + kConnectTimeout;

  // The tun device comes up with its address (netlink event)...
  auto tun = env->WaitForClientTun(deadline, oc.process().PidFd());
  ASSERT_TRUE(tun) << tun.error().message << "\nopenconnect:\n"
                   << oc.Output() << "\nocserv:\n"
                   << env->LogTail();
  ASSERT_EQ(tun->ipv4.size(), 1u);
  EXPECT_TRUE(tun->ipv4[0].starts_with(OcservEnv::kClientNetworkPrefix)) << tun->ipv4[0];
  // ...then the vpnc-script adds the routes and, last, the pushed DNS server (inotify event).
  // (openconnect prints "Configured as" before the script has finished: not the event to wait for.)
  const std::string pushed_dns = std::string("nameserver ") + OcservEnv::kPushedDns;
  auto resolv = env->WaitForResolvConf(
      [&](const std::string& text) { return text.find(pushed_dns) != std::string::npos; }, deadline,
      oc.process().PidFd());
  ASSERT_TRUE(resolv) << resolv.error().message << "\nopenconnect:\n" << oc.Output();
  EXPECT_TRUE(oc.WaitForOutput("Configured as " + tun->ipv4[0], deadline)) << oc.Output();
  auto routes = env->ClientRoutes();
  ASSERT_TRUE(routes) << routes.error().message;
  EXPECT_NE(routes->find(std::string(OcservEnv::kPushedRoute) + " dev " + tun->name),
            std::string::npos)
      << *routes;
  auto logged_in = env->WaitForLog("main[" + env->Username() + "]", deadline);
  EXPECT_TRUE(logged_in) << logged_in.error().message;

  StopResult stop = oc.Stop();
  EXPECT_EQ(stop.outcome, StopOutcome::kExitedGracefully) << stop.detail << "\n" << oc.Output();

  auto no_tun = env->WaitForNoClientTun(MonoNow() + seconds(10));
  EXPECT_TRUE(no_tun) << no_tun.error().message;
  resolv = env->ReadResolvConf();
  ASSERT_TRUE(resolv) << resolv.error().message;
  EXPECT_EQ(*resolv, OcservEnv::kOriginalResolvConf);
  routes = env->ClientRoutes();
  ASSERT_TRUE(routes) << routes.error().message;
  EXPECT_EQ(routes->find(OcservEnv::kPushedRoute), std::string::npos) << *routes;
  EXPECT_NE(routes->find("default via 192.0.2.1"), std::string::npos) << *routes;
}

TEST(OcservEnvTest, WrongPinIsRejected) {
  START_ENV_OR_SKIP(env, OcservOptions{.pin = "4321"});
  auto code = env->CodeAt(WallNow());
  ASSERT_TRUE(code) << code.error().message;

  auto started = Openconnect::Start(*env, "9999" + *code);
  ASSERT_TRUE(started) << started.error().message;
  Openconnect& oc = **started;
  auto status = oc.WaitExit(MonoNow() + kConnectTimeout);
  ASSERT_TRUE(status) << "openconnect still running:\n" << oc.Output();
  EXPECT_NE(*status, (ExitStatus{false, 0})) << oc.Output();
  EXPECT_NE(oc.Output().find("Failed to complete authentication"), std::string::npos)
      << oc.Output();
  auto logged = env->WaitForLog("failed authentication for '" + env->Username() + "'",
                                MonoNow() + kConnectTimeout);
  EXPECT_TRUE(logged) << logged.error().message;
  auto tun = env->ClientTun();
  ASSERT_TRUE(tun);
  EXPECT_FALSE(tun->has_value());
}

// pam_oath accepts each time step once: the same code is refused the second time, and
// FreshPassword() waits for the next step instead of handing it out again. Takes up to 30 s.
TEST(OcservEnvTest, ReplayedCodeIsRejectedAndFreshPasswordWaitsForTheNextStep) {
  START_ENV_OR_SKIP(env);
  // --authenticate: log in, print the session cookie, exit (no tunnel).
  auto authenticate = [&](const std::string& password) -> std::pair<bool, std::string> {
    auto started = Openconnect::Start(*env, password, {"--authenticate"});
    if (!started) return {false, started.error().message};
    auto status = (*started)->WaitExit(MonoNow() + kConnectTimeout);
    return {status && *status == ExitStatus{false, 0}, (*started)->Output()};
  };

  auto first = env->FreshPassword();
  ASSERT_TRUE(first) << first.error().message;
  auto [ok, output] = authenticate(*first);
  ASSERT_TRUE(ok) << output;
  EXPECT_NE(output.find("COOKIE="), std::string::npos) << output;

  // A code of a step that is not later than the last accepted one is a replay. (When the step
  // turned over since the first login, the same code is older still.)
  std::tie(ok, output) = authenticate(*first);
  EXPECT_FALSE(ok) << output;

  auto second = env->FreshPassword();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(*second, *first);
  std::tie(ok, output) = authenticate(*second);
  EXPECT_TRUE(ok) << output << "\nocserv:\n" << env->LogTail();
}

// A session ended by the server (occtl) ends openconnect with an error, and its vpnc-script
// still restores DNS: what akon's supervisor sees as an unexpected exit.
TEST(OcservEnvTest, ServerSideDisconnectEndsOpenconnect) {
  START_ENV_OR_SKIP(env);
  auto password = env->FreshPassword();
  ASSERT_TRUE(password) << password.error().message;
  auto started = Openconnect::Start(*env, *password);
  ASSERT_TRUE(started) << started.error().message;
  Openconnect& oc = **started;
  const MonoTime deadline = MonoNow() + kConnectTimeout;
  auto tun = env->WaitForClientTun(deadline, oc.process().PidFd());
  ASSERT_TRUE(tun) << tun.error().message << "\n" << oc.Output();

  auto users = env->Occtl({"show", "users"});
  ASSERT_TRUE(users) << users.error().message;
  EXPECT_NE(users->out.find(env->Username()), std::string::npos) << users->Describe();
  auto disconnected = env->Occtl({"disconnect", "user", env->Username()});
  ASSERT_TRUE(disconnected) << disconnected.error().message;
  EXPECT_EQ(disconnected->status, (ExitStatus{false, 0})) << disconnected->Describe();

  auto status = oc.WaitExit(deadline);
  ASSERT_TRUE(status) << "openconnect still running:\n" << oc.Output();
  EXPECT_NE(*status, (ExitStatus{false, 0})) << oc.Output();
  EXPECT_NE(oc.Output().find("Session terminated by server"), std::string::npos) << oc.Output();
  auto no_tun = env->WaitForNoClientTun(MonoNow() + seconds(10));
  EXPECT_TRUE(no_tun) << no_tun.error().message;
  auto resolv = env->ReadResolvConf();
  ASSERT_TRUE(resolv) << resolv.error().message;
  EXPECT_EQ(*resolv, OcservEnv::kOriginalResolvConf);
}

// A process a test left running in the client namespace is stopped by the teardown, so the
// namespace really goes away.
TEST(OcservEnvTest, TeardownStopsProcessesLeftInTheNamespaces) {
  std::optional<Process> stray;
  {
    START_ENV_OR_SKIP(env);
    // It says "ready" once inside the namespace (ip netns exec has joined it).
    auto out = MakePipe();
    ASSERT_TRUE(out) << out.error().message;
    SpawnOptions options;
    options.argv = env->ClientCommand({"sh", "-c", "echo ready && exec sleep 600"});
    options.stdin_fd = SpawnOptions::kDevNull;
    options.stdout_fd = out->write.Get();
    auto spawned = Process::Spawn(options);
    ASSERT_TRUE(spawned) << spawned.error().message;
    stray.emplace(std::move(*spawned));
    out->write.Reset();
    auto ready = PollOne(out->read.Get(), POLLIN, std::chrono::milliseconds(10000));
    ASSERT_TRUE(ready && *ready != 0) << "no readiness line";
    EXPECT_FALSE(stray->Exited());
  }
  auto exited = stray->WaitExit(seconds(10));
  ASSERT_TRUE(exited) << exited.error().message;
  EXPECT_TRUE(*exited);
  // The teardown held it by its own pidfd and may have reaped it already.
  if (auto status = stray->Reap()) {
    EXPECT_EQ(*status, (ExitStatus{true, SIGTERM}));
  }
}

}  // namespace
}  // namespace va::testing

namespace va::testing {
namespace {

TEST(OcservEnvSweepTest, AnEnvironmentWhoseOwnerDiedIsRemovedByTheNextStart) {
  if (auto reason = OcservEnv::UnavailableReason()) GTEST_SKIP() << *reason;
  // A child starts an environment and dies without running any destructor, as a test killed by
  // a CTest timeout would; it reports the names first.
  auto report = MakePipe();
  ASSERT_TRUE(report.has_value());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto env = OcservEnv::Start();
    std::string line = env ? (*env)->ServerNs() + " " + (*env)->ClientNs() + " " + (*env)->Dir()
                           : std::string("failed");
    line += "\n";
    (void)WriteAll(report->write.Get(), line);
    std::_Exit(0);  // no destructors: everything is left behind
  }
  report->write.Reset();
  auto line = ReadLineWithin(report->read.Get(), std::chrono::seconds(30));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(line.has_value() && *line != "failed");
  std::istringstream names(*line);
  std::string server_ns, client_ns, dir;
  names >> server_ns >> client_ns >> dir;
  ASSERT_TRUE(NetnsExists(server_ns) && NetnsExists(client_ns)) << *line;

  {
    auto env = OcservEnv::Start();  // sweeps first
    ASSERT_TRUE(env) << env.error().message;
    EXPECT_FALSE(NetnsExists(server_ns));
    EXPECT_FALSE(NetnsExists(client_ns));
    EXPECT_FALSE(std::filesystem::exists("/etc/netns/" + client_ns));
    EXPECT_FALSE(std::filesystem::exists(dir));
  }
}

}  // namespace
}  // namespace va::testing
