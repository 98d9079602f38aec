// vpn on, get-password, setup and lazy mode; see vpn_on.h.
#include "akon/vpn_on.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "akon/config.h"
#include "akon/password.h"
#include "akon/runtime.h"
#include "akon/secrets.h"
#include "akon/state.h"
#include "akon/supervisor.h"
#include "akon/totp.h"
#include "akon/vpn_off.h"
#include "base/file.h"
#include "base/ids.h"
#include "base/lock_file.h"
#include "base/log.h"
#include "base/sys.h"
#include "proc/process.h"

namespace va::akon {
namespace {

// Runs `akon __secrets` as the invoking user (setpriv), with that user's session bus, and reads
// the PIN and TOTP secret it prints as JSON on a pipe (never argv or the environment).
Result<Secrets> LoadSecretsAsUser(const InvokingUser& user, const std::string& config_dir) {
  const std::string runtime = "/run/user/" + std::to_string(user.uid);
  std::vector<std::string> env = {"HOME=" + user.home,
                                  "USER=" + user.name,
                                  "LOGNAME=" + user.name,
                                  "PATH=/usr/local/bin:/usr/bin:/bin",
                                  "AKON_CONFIG_DIR=" + config_dir,
                                  "XDG_RUNTIME_DIR=" + runtime};
  const char* bus = std::getenv("DBUS_SESSION_BUS_ADDRESS");
  env.push_back(std::string("DBUS_SESSION_BUS_ADDRESS=") +
                (bus && *bus ? bus : ("unix:path=" + runtime + "/bus").c_str()));
  for (const char* keep : {"AKON_LOG", "DISPLAY", "WAYLAND_DISPLAY"}) {
    if (const char* v = std::getenv(keep)) env.push_back(std::string(keep) + "=" + v);
  }
  VA_TRY(Pipe out, MakePipe());
  SpawnOptions opt;
  opt.argv = {"setpriv",
              "--reuid=" + std::to_string(user.uid),
              "--regid=" + std::to_string(user.gid),
              "--init-groups",
              "--",
              SelfExe(),
              "__secrets"};
  opt.env = std::move(env);
  opt.stdin_fd = SpawnOptions::kDevNull;
  opt.stdout_fd = out.write.Get();
  VA_TRY(Process child, Process::Spawn(opt));
  out.write.Reset();
  auto text = ReadAll(out.read.Get(), size_t{64} << 10);
  (void)child.WaitExit(std::chrono::seconds(30));
  auto status = child.Reap();
  if (!status || status->signaled || status->code != 0) {
    return Fail(ErrorKind::kUnsupported, "the keyring could not be read as " + user.name);
  }
  if (!text) return tl::unexpected(text.error());
  boost::system::error_code ec;
  auto v = boost::json::parse(*text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("pin") ||
      !v.as_object().contains("otp_secret") || !v.as_object().at("pin").is_string() ||
      !v.as_object().at("otp_secret").is_string()) {
    return Fail(ErrorKind::kCorrupt, "unexpected answer from the secrets reader");
  }
  return Secrets{std::string(v.as_object().at("pin").as_string()),
                 std::string(v.as_object().at("otp_secret").as_string())};
}

struct Loaded {
  Config config;
  std::string config_dir;
  Secrets secrets;
};

// Config and secrets, or the exit code after telling the user what is wrong.
std::optional<Loaded> LoadAll(Ui& ui, int& exit_code) {
  exit_code = kExitConfigError;
  auto dir = ConfigDir();
  if (!dir) {
    ui.Error("Cannot find the configuration directory: " + dir.error().message,
             "Set AKON_CONFIG_DIR.");
    return std::nullopt;
  }
  auto config = LoadConfig(ConfigPath(*dir));
  if (!config) {
    if (config.error().kind == ErrorKind::kNotFound) {
      ui.Error("No configuration found at " + ConfigPath(*dir) + ".", "Run 'akon setup' first.");
    } else {
      ui.Error("Invalid configuration: " + config.error().message,
               "Fix it or run 'akon setup' again.");
    }
    return std::nullopt;
  }
  if (auto user = SudoInvokingUser(); user && config->secrets.backend == SecretBackend::kKeyring &&
                                      !std::getenv("AKON_SECRET_BACKEND")) {
    // Root cannot reach the user's keyring: read it as the user, in the user's session bus.
    auto secrets = LoadSecretsAsUser(*user, *dir);
    if (!secrets) {
      ui.Error("Cannot read secrets from " + user->name + "'s keyring: " + secrets.error().message,
               "Unlock your keyring (log in to your desktop), or set backend = \"file\".");
      return std::nullopt;
    }
    exit_code = kExitOk;
    return Loaded{std::move(*config), std::move(*dir), std::move(*secrets)};
  }
  auto store = MakeSecretStore(*config, *dir);
  if (!store) {
    ui.Error("Secret store unavailable: " + store.error().message,
             "Unlock your keyring, or set backend = \"file\" in [secrets].");
    return std::nullopt;
  }
  auto secrets = (*store)->Load(config->vpn.username);
  if (!secrets) {
    if (secrets.error().kind == ErrorKind::kNotFound) {
      ui.Error("No PIN or TOTP secret stored for " + config->vpn.username + ".",
               "Run 'akon setup' first.");
    } else {
      ui.Error("Cannot read secrets: " + secrets.error().message, "Run 'akon setup' again.");
    }
    return std::nullopt;
  }
  exit_code = kExitOk;
  return Loaded{std::move(*config), std::move(*dir), std::move(*secrets)};
}

// Removes connection record directories of earlier runs (none is live when this runs).
void RemoveOldRecords(const std::string& runtime_dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(runtime_dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec) &&
        e.path().filename().string().starts_with("conn-")) {
      std::filesystem::remove_all(e.path(), ec);
    }
  }
}

int ReportConnect(Ui& ui, const std::string& line, const SupervisorParams& p) {
  if (line.starts_with("connected ")) {
    auto rest = line.substr(10);
    auto sp = rest.find(' ');
    std::string ip = rest.substr(0, sp);
    std::string dev = sp == std::string::npos ? "" : rest.substr(sp + 1);
    ui.Success("VPN connected: " + ip + " on " + dev);
    return kExitOk;
  }
  std::string kind, msg;
  if (line.starts_with("error ")) {
    auto rest = line.substr(6);
    auto sp = rest.find(' ');
    kind = rest.substr(0, sp);
    msg = sp == std::string::npos ? "" : rest.substr(sp + 1);
  } else {
    kind = "exited";
    msg = line.empty() ? "the supervisor ended without a report" : line;
  }
  if (kind == "auth") {
    ui.Error("Login failed: wrong PIN or TOTP code (server said: " + msg + ")",
             "Check your PIN and TOTP secret with 'akon setup'; see " + p.runtime_dir +
                 "/openconnect.log.");
  } else if (kind == "timeout") {
    ui.Error("Connection timed out: " + msg,
             "Check the server address and your network, or raise connect_timeout_secs.");
  } else {
    ui.Error("VPN connection failed: " + msg, "See " + p.runtime_dir + "/openconnect.log.");
  }
  return kExitVpnError;
}

// Reads the supervisor's one report line, with a deadline, watching that it is still alive.
std::string ReadReport(int fd, const Process* supervisor, MonoTime deadline) {
  std::string line;
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {supervisor ? supervisor->PidFd() : -1, POLLIN, 0}};
    int r = ::poll(fds, supervisor ? 2 : 1, MillisUntil(deadline));
    if (r == 0) return "error timeout the supervisor did not report in time";
    if (fds[0].revents) {
      char buf[1024];
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) return line;
      line.append(buf, static_cast<size_t>(n));
      if (auto nl = line.find('\n'); nl != std::string::npos) return line.substr(0, nl);
    } else if (supervisor && fds[1].revents) {
      // The supervisor ended; whatever it wrote is still in the pipe.
      supervisor = nullptr;
    }
  }
}

}  // namespace

int VpnOn(Ui& ui, const OnOptions& options) {
  int code = 0;
  auto loaded = LoadAll(ui, code);
  if (!loaded) return code;
  const VpnConfig& vpn = loaded->config.vpn;
  auto openconnect = FindOpenconnect();
  if (!openconnect) {
    ui.Error("openconnect is not installed.", "Install it: sudo apt install openconnect");
    return kExitConfigError;
  }
  if (::geteuid() != 0) {
    ui.Error("akon vpn on needs root to create the tunnel and set routes and DNS.",
             "Run with sudo.");
    return kExitVpnError;
  }
  auto reconnecting = [](const VpnState& s) {
    return s.status == "reconnecting" && SupervisorAlive(s);
  };
  if (options.force) {
    if (auto state = LoadState(StatePath());
        state && (CheckOpenconnect(*state).kind == LiveCheck::kLive || reconnecting(*state))) {
      ui.Info("Disconnecting the existing connection first (--force)");
      if (VpnOff(ui) != kExitOk) return kExitVpnError;
    }
  }
  const std::string state_path = StatePath();
  auto lock = FileLock::Acquire(StateLockPath(state_path));
  if (!lock) {
    ui.Error("Cannot lock VPN state: " + lock.error().message,
             "Check " + StateLockPath(state_path) + ".");
    return kExitVpnError;
  }
  if (auto state = LoadState(state_path)) {
    LiveCheck live = CheckOpenconnect(*state);
    if (live.kind == LiveCheck::kLive) {
      ui.Success("VPN is already connected");
      return kExitOk;
    }
    if (reconnecting(*state)) {  // its supervisor brings it back; a second one must not start
      ui.Info("VPN is reconnecting (attempt " + std::to_string(state->attempt) +
              "); use 'akon vpn on --force' to start over");
      return kExitOk;
    }
    LogInfo("vpn_stale_state_cleared", {{"path", state_path}, {"detail", live.detail}});
    (void)RemoveFile(state_path);
  } else if (state.error().kind == ErrorKind::kCorrupt) {
    ui.Warn("Removing a corrupted state file: " + state.error().message);
    (void)RemoveFile(state_path);
  } else if (state.error().kind != ErrorKind::kNotFound) {
    ui.Error("VPN state not usable: " + state.error().message,
             "Check 'ip addr', then remove " + state_path + ".");
    return kExitVpnError;
  }

  auto runtime = RuntimeDir();
  if (!runtime) {
    ui.Error("Runtime directory unusable: " + runtime.error().message,
             "Set AKON_RUNTIME_DIR to a private directory.");
    return kExitVpnError;
  }
  RemoveOldRecords(*runtime);
  SupervisorParams p;
  p.openconnect = *openconnect;
  p.server = vpn.server;
  p.username = vpn.username;
  p.protocol = vpn.protocol;
  p.servercert = vpn.servercert.value_or("");
  p.cafile = vpn.cafile.value_or("");
  p.no_dtls = vpn.no_dtls;
  p.connect_timeout_secs = vpn.connect_timeout_secs;
  p.runtime_dir = *runtime;
  p.record_dir = *runtime + "/conn-" + RandomHex(6);
  p.state_path = state_path;
  if (::mkdir(p.record_dir.c_str(), 0700) != 0) {
    ui.Error("Cannot create " + p.record_dir + ": " + std::strerror(errno));
    return kExitVpnError;
  }
  auto password = FreshPassword(loaded->secrets, *runtime, [&](std::chrono::seconds wait) {
    ui.Info("Waiting " + std::to_string(wait.count()) +
            " s for a fresh TOTP code (the current one was just used)");
  });
  if (!password) {
    ui.Error("Cannot generate the TOTP code: " + password.error().message,
             "Run 'akon setup' again.");
    return kExitConfigError;
  }
  p.password = std::move(*password);
  if (const auto& rc = loaded->config.reconnection) {
    p.reconnect = true;
    p.max_attempts = rc->max_attempts;
    p.backoff_base_secs = rc->backoff_base_secs;
    p.backoff_max_secs = rc->backoff_max_secs;
    p.pin = loaded->secrets.pin;
    p.otp_secret = loaded->secrets.otp_secret;
    p.health_url = rc->health_url;
    p.check_interval_secs = rc->check_interval_secs;
    p.failure_threshold = rc->failure_threshold;
  }
  ui.Plain("Connecting to " + vpn.server + " as " + vpn.username + "...");
  const MonoTime deadline = MonoNow() + std::chrono::seconds(vpn.connect_timeout_secs + 15);

  auto report = MakePipe();
  if (!report) {
    ui.Error("pipe: " + report.error().message);
    return kExitVpnError;
  }
  if (options.foreground) {
    // The report is read on a thread that owns the lock, so that Ctrl-C's disconnect (which
    // takes the lock) can run once the connection is up.
    int exit_code = kExitVpnError;
    // The supervisor takes these signals through a signalfd; block them before the reader thread
    // exists so that it inherits the mask and Ctrl-C cannot kill the process through it.
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGUSR1, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
    ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    std::thread reader([&, fd = std::move(report->read), held = std::move(*lock)]() mutable {
      exit_code = ReportConnect(ui, ReadReport(fd.Get(), nullptr, deadline), p);
      if (exit_code == kExitOk) ui.Info("Staying in the foreground; press Ctrl-C to disconnect");
    });
    int sup = RunSupervisor(p, report->write.Release(), true);
    reader.join();
    return exit_code != kExitOk ? exit_code : sup;
  }

  auto params = MakePipe();
  if (!params) {
    ui.Error("pipe: " + params.error().message);
    return kExitVpnError;
  }
  auto sup_log =
      Open(*runtime + "/supervisor.log", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
  SpawnOptions opt;
  opt.argv = {SelfExe(), "vpn", "__supervise"};
  opt.new_session = true;
  opt.cwd = "/";  // a long-lived daemon must not keep the caller's directory (or its mount) busy
  opt.stdin_fd = params->read.Get();
  opt.stdout_fd = report->write.Get();
  opt.stderr_fd = sup_log ? sup_log->Get() : SpawnOptions::kDevNull;
  auto supervisor = Process::Spawn(opt);
  params->read.Reset();
  report->write.Reset();
  if (!supervisor) {
    ui.Error("Cannot start the supervisor: " + supervisor.error().message);
    return kExitVpnError;
  }
  (void)WriteAll(params->write.Get(), RenderParams(p));
  params->write.Reset();
  std::string line = ReadReport(report->read.Get(), &*supervisor, deadline);
  return ReportConnect(ui, line, p);
}

int PrintSecretsMain() {
  Ui quiet(std::cerr, std::cerr);  // stdout carries only the JSON answer
  int code = 0;
  auto loaded = LoadAll(quiet, code);
  if (!loaded) return code;
  boost::json::object o;
  o["pin"] = loaded->secrets.pin;
  o["otp_secret"] = loaded->secrets.otp_secret;
  std::cout << boost::json::serialize(o) << std::flush;
  return kExitOk;
}

int GetPassword(Ui& ui) {
  int code = 0;
  auto loaded = LoadAll(ui, code);
  if (!loaded) return code;
  auto totp = TotpCode(loaded->secrets.otp_secret, WallNow());
  if (!totp) {
    ui.Error("Cannot generate the TOTP code: " + totp.error().message, "Run 'akon setup' again.");
    return kExitConfigError;
  }
  ui.Out() << loaded->secrets.pin << *totp << '\n' << std::flush;
  return kExitOk;
}

std::optional<int> LazyMode(Ui& ui) {
  auto dir = ConfigDir();
  if (!dir) return std::nullopt;
  auto config = LoadConfig(ConfigPath(*dir));
  if (!config || !config->vpn.lazy_mode) return std::nullopt;
  return VpnOn(ui, {});
}

}  // namespace va::akon
