// The supervisor; see supervisor.h.
#include "akon/supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstring>
#include <functional>

#include "akon/health.h"
#include "akon/openconnect_output.h"
#include "akon/password.h"
#include "akon/runtime.h"
#include "akon/state.h"
#include "akon/vpnc.h"
#include "base/file.h"
#include "base/ids.h"
#include "base/lock_file.h"
#include "base/log.h"
#include "base/sys.h"
#include "proc/process.h"
#include "proc/stop.h"

namespace va::akon {
namespace json = boost::json;

std::string RenderParams(const SupervisorParams& p) {
  json::object o;
  o["openconnect"] = p.openconnect;
  o["server"] = p.server;
  o["username"] = p.username;
  o["protocol"] = p.protocol;
  o["servercert"] = p.servercert;
  o["cafile"] = p.cafile;
  o["no_dtls"] = p.no_dtls;
  o["connect_timeout_secs"] = p.connect_timeout_secs;
  o["runtime_dir"] = p.runtime_dir;
  o["record_dir"] = p.record_dir;
  o["state_path"] = p.state_path;
  o["password"] = p.password;
  o["reconnect"] = p.reconnect;
  o["max_attempts"] = p.max_attempts;
  o["backoff_base_secs"] = p.backoff_base_secs;
  o["backoff_max_secs"] = p.backoff_max_secs;
  o["pin"] = p.pin;
  o["otp_secret"] = p.otp_secret;
  o["health_url"] = p.health_url;
  o["check_interval_secs"] = p.check_interval_secs;
  o["failure_threshold"] = p.failure_threshold;
  return json::serialize(o);
}

Result<SupervisorParams> ParseParams(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return Fail(ErrorKind::kInvalid, "supervisor parameters are not a JSON object");
  const auto& o = v.get_object();
  SupervisorParams p;
  auto str = [&](const char* key, std::string& out) -> Status {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) {
      return Fail(ErrorKind::kInvalid, std::string("supervisor parameter ") + key + " missing");
    }
    out = std::string(it->value().get_string());
    return {};
  };
  VA_TRY_STATUS(str("openconnect", p.openconnect));
  VA_TRY_STATUS(str("server", p.server));
  VA_TRY_STATUS(str("username", p.username));
  VA_TRY_STATUS(str("protocol", p.protocol));
  VA_TRY_STATUS(str("servercert", p.servercert));
  VA_TRY_STATUS(str("cafile", p.cafile));
  VA_TRY_STATUS(str("runtime_dir", p.runtime_dir));
  VA_TRY_STATUS(str("record_dir", p.record_dir));
  VA_TRY_STATUS(str("state_path", p.state_path));
  VA_TRY_STATUS(str("password", p.password));
  if (auto it = o.find("reconnect"); it != o.end() && it->value().is_bool()) {
    p.reconnect = it->value().get_bool();
  }
  for (auto [key, out] : {std::pair<const char*, int*>{"max_attempts", &p.max_attempts},
                          {"backoff_base_secs", &p.backoff_base_secs},
                          {"backoff_max_secs", &p.backoff_max_secs},
                          {"check_interval_secs", &p.check_interval_secs},
                          {"failure_threshold", &p.failure_threshold}}) {
    if (auto it = o.find(key); it != o.end() && it->value().is_int64()) {
      *out = static_cast<int>(it->value().get_int64());
    }
  }
  if (p.reconnect) {
    VA_TRY_STATUS(str("pin", p.pin));
    VA_TRY_STATUS(str("otp_secret", p.otp_secret));
    VA_TRY_STATUS(str("health_url", p.health_url));
  }
  if (auto it = o.find("no_dtls"); it != o.end() && it->value().is_bool())
    p.no_dtls = it->value().get_bool();
  if (auto it = o.find("connect_timeout_secs"); it != o.end() && it->value().is_int64()) {
    p.connect_timeout_secs = static_cast<int>(it->value().get_int64());
  }
  return p;
}

namespace {

struct Connected {
  std::string ip;
  std::string device;
};

// True when DEVICE is up and carries IP.
bool DeviceHasAddress(const std::string& device, const std::string& ip) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || device != a->ifa_name || !(a->ifa_flags & IFF_UP)) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof(buf));
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, buf,
                sizeof(buf));
    }
    if (ip == buf) found = true;
  }
  ::freeifaddrs(list);
  return found;
}

class Supervisor {
 public:
  Supervisor(const SupervisorParams& p, int report_fd, bool foreground)
      : p_(p),
        report_fd_(report_fd),
        foreground_(foreground),
        log_path_(p.runtime_dir + "/openconnect.log") {}

  int Run() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGUSR1, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    sigfd_.Reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd_)
      return Report(ConnectError::kSystem, "signalfd: " + std::string(std::strerror(errno)));

    auto started = StartOpenconnect();
    if (!started) return Report(ConnectError::kSystem, started.error().message);
    auto connected = WaitConnected();
    if (!connected) return 1;  // already reported
    return Supervise();
  }

 private:
  Status StartOpenconnect() {
    VA_TRY(UniqueFd log, Open(log_path_, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600));
    VA_TRY(Pipe pw, MakePipe());
    SpawnOptions opt;
    opt.argv = {p_.openconnect,
                "--non-inter",
                "--passwd-on-stdin",
                "--protocol=" + p_.protocol,
                "--user=" + p_.username,
                "--script=" + HookCommand(SelfExe(), p_.record_dir, SystemVpncScript())};
    if (!p_.servercert.empty()) opt.argv.push_back("--servercert=" + p_.servercert);
    if (!p_.cafile.empty()) opt.argv.push_back("--cafile=" + p_.cafile);
    if (p_.no_dtls) opt.argv.push_back("--no-dtls");
    opt.argv.push_back(p_.server);
    opt.stdin_fd = pw.read.Get();
    opt.stdout_fd = log.Get();
    opt.stderr_fd = log.Get();
    VA_TRY(Process oc, Process::Spawn(opt));
    pw.read.Reset();
    // openconnect reads one line; a closed pipe afterwards means no second prompt can hang.
    auto wrote = WriteAll(pw.write.Get(), p_.password + "\n");
    pw.write.Reset();
    LogInfo("vpn_openconnect_started", {{"pid", oc.Pid()},
                                        {"server", p_.server},
                                        {"user", p_.username},
                                        {"protocol", p_.protocol}});
    oc_.emplace(std::move(oc));
    if (!wrote) LogWarn("vpn_password_pipe_failed", {{"error", wrote.error().message}});
    return {};
  }

  // Waits for the wrapper to record a successful connect, openconnect to exit, or the timeout.
  Result<Connected> WaitConnected() {
    UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!in ||
        ::inotify_add_watch(in.Get(), p_.record_dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
      const int err = errno;
      StopOpenconnect();
      Report(ConnectError::kSystem, "inotify on " + p_.record_dir + ": " + std::strerror(err));
      return Fail(ErrorKind::kSystem, "inotify");
    }
    const MonoTime deadline = MonoNow() + std::chrono::seconds(p_.connect_timeout_secs);
    for (;;) {
      if (DrainSignals() || down_requested_) {
        // `vpn off` (or Ctrl-C) while connecting: nothing may come up after it.
        StopOpenconnect();
        Report(ConnectError::kExited, "stopped while connecting");
        return Fail(ErrorKind::kSystem, "stopped");
      }
      if (auto code = ReadStepStatus(p_.record_dir, "connect")) {
        if (*code != 0) {
          StopOpenconnect();
          Report(ConnectError::kScript,
                 "vpnc-script failed to configure the tunnel (exit " + std::to_string(*code) + ")");
          return Fail(ErrorKind::kSystem, "script");
        }
        auto env = ReadRecord(p_.record_dir, "connect");
        if (env && env->count("TUNDEV") && env->count("INTERNAL_IP4_ADDRESS")) {
          Connected c{env->at("INTERNAL_IP4_ADDRESS"), env->at("TUNDEV")};
          if (DeviceHasAddress(c.device, c.ip)) return Finish(c);
        }
      }
      if (oc_->Exited()) {
        auto status = oc_->Reap();
        auto tail = LogTail(log_path_, 20);
        if (std::string said = AuthFailureLine(tail); !said.empty()) {
          Report(ConnectError::kAuth, said);
        } else {
          Report(ConnectError::kExited,
                 "openconnect exited (" + (status ? status->ToString() : std::string("?")) +
                     "): " + (tail.empty() ? std::string("no output") : tail.back()));
        }
        return Fail(ErrorKind::kSystem, "exited");
      }
      int ms = MillisUntil(deadline);
      if (ms == 0) {
        // Torn down before the report: once `vpn on` has said it failed, nothing of the attempt
        // may still run.
        StopOpenconnect();
        Report(ConnectError::kTimeout,
               "no connection after " + std::to_string(p_.connect_timeout_secs) + " s");
        return Fail(ErrorKind::kTimeout, "timeout");
      }
      // The tun device may come up a moment after the record: re-check at least every 50 ms.
      pollfd fds[3] = {{in.Get(), POLLIN, 0}, {oc_->PidFd(), POLLIN, 0}, {sigfd_.Get(), POLLIN, 0}};
      ::poll(fds, 3, std::min(ms, 50));
      char drain[4096];
      while (::read(in.Get(), drain, sizeof(drain)) > 0) {
      }
    }
  }

  Result<Connected> Finish(const Connected& c) {
    // On a reconnection nobody holds the state lock for us: take it, and look once more for a
    // `vpn off` (it holds the lock from before it signals us until it is done).
    std::optional<FileLock> lock;
    if (report_fd_ < 0) {
      if (auto l = FileLock::Acquire(StateLockPath(p_.state_path))) lock.emplace(std::move(*l));
      if (DrainSignals() || down_requested_) {
        StopOpenconnect();
        return Fail(ErrorKind::kSystem, "stopped while reconnecting");
      }
    }
    VpnState s;
    s.status = "connected";
    s.ip = c.ip;
    s.device = c.device;
    s.connected_at = WallNow();
    s.pid = oc_->Pid();
    s.pid_start_time = oc_->Identity().start_time;
    s.supervisor_pid = ::getpid();
    if (auto self = ReadProcessStat(::getpid())) s.supervisor_start_time = self->start_time;
    s.server = p_.server;
    s.record_dir = p_.record_dir;
    if (auto st = SaveState(p_.state_path, s); !st) {
      StopOpenconnect();
      Report(ConnectError::kSystem, "cannot write state: " + st.error().message);
      return Fail(ErrorKind::kSystem, "state");
    }
    LogInfo("vpn_connected",
            {{"pid", oc_->Pid()}, {"ip", c.ip}, {"device", c.device}, {"server", p_.server}});
    ReportLine("connected " + c.ip + " " + c.device);
    return c;
  }

  // After connect: wait for openconnect to end or to be told to end it, probing health_url
  // through the tunnel when reconnection is configured.
  int Supervise() {
    const bool probing = p_.reconnect && !p_.health_url.empty();
    const auto interval = std::chrono::seconds(std::max(1, p_.check_interval_secs));
    UniqueFd netlink = probing ? OpenNetlink() : UniqueFd();
    MonoTime next_check = MonoNow() + interval;
    auto suspended = SuspendedTime();
    int failures = 0;
    for (;;) {
      pollfd fds[3] = {
          {sigfd_.Get(), POLLIN, 0}, {oc_->PidFd(), POLLIN, 0}, {netlink.Get(), POLLIN, 0}};
      int r = ::poll(fds, netlink ? 3 : 2, probing ? MillisUntil(next_check) : -1);
      if (r < 0 && errno != EINTR) return 1;
      // Signals first: `vpn off` sends SIGUSR1 before it signals openconnect, so a down request
      // is always seen before the exit it causes.
      if (DrainSignals()) return Disconnect();
      if (oc_->Exited()) return OnOpenconnectExit();
      if (!probing) continue;
      bool probe = MonoNow() >= next_check;
      if (netlink && (fds[2].revents & POLLIN)) {
        char drain[8192];
        while (::recv(netlink.Get(), drain, sizeof(drain), MSG_DONTWAIT) > 0) {
        }
        LogDebug("vpn_network_changed");
        probe = true;
      }
      if (auto now = SuspendedTime(); now - suspended > std::chrono::seconds(2)) {
        LogInfo("vpn_resumed_from_suspend",
                {{"suspended", std::chrono::duration_cast<std::chrono::seconds>(now - suspended)}});
        suspended = now;
        probe = true;
      }
      if (!probe) continue;
      auto health =
          ProbeHealth(p_.health_url, p_.cafile,
                      std::min<std::chrono::milliseconds>(interval, std::chrono::seconds(10)));
      next_check = MonoNow() + interval;
      if (Healthy(health)) {
        failures = 0;
        continue;
      }
      ++failures;
      LogWarn("vpn_health_check_failed",
              {{"url", p_.health_url},
               {"failures", failures},
               {"threshold", p_.failure_threshold},
               {"error", health ? "HTTP " + std::to_string(*health) : health.error().message}});
      if (failures < p_.failure_threshold) continue;
      // The tunnel is up but does not carry traffic: take it down properly, then log in again.
      const pid_t old = oc_->Pid();
      StopResult stopped = StopOpenconnect();
      if (stopped.outcome == StopOutcome::kKilled) {
        (void)ReplayDisconnect(p_.record_dir, SystemVpncScript());
      }
      UpdateState([&](VpnState& st) {
        st.ended = "health check failed " + std::to_string(failures) + " times (openconnect pid " +
                   std::to_string(old) + " stopped)";
      });
      return Reconnect();
    }
  }

  // Route changes (links, addresses, routes) wake the supervisor for an early health probe.
  static UniqueFd OpenNetlink() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
    if (!fd) return fd;
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR;
    if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) fd.Reset();
    return fd;
  }

  // Time spent suspended since boot: CLOCK_BOOTTIME counts suspend, CLOCK_MONOTONIC does not.
  static std::chrono::nanoseconds SuspendedTime() {
    timespec boot{}, mono{};
    ::clock_gettime(CLOCK_BOOTTIME, &boot);
    ::clock_gettime(CLOCK_MONOTONIC, &mono);
    return std::chrono::seconds(boot.tv_sec - mono.tv_sec) +
           std::chrono::nanoseconds(boot.tv_nsec - mono.tv_nsec);
  }

  // Reads pending signals: SIGUSR1 (`vpn off` is under way) sets down_requested_; true when a
  // signal asks the supervisor itself to disconnect (SIGTERM, SIGINT).
  bool DrainSignals() {
    bool stop = false;
    signalfd_siginfo si{};
    while (::read(sigfd_.Get(), &si, sizeof(si)) == sizeof(si)) {
      if (si.ssi_signo == SIGUSR1) {
        down_requested_ = true;
        LogInfo("vpn_supervisor_down_requested", {{"from_pid", si.ssi_pid}});
      } else if (si.ssi_signo != SIGHUP) {
        stop = true;
      }
    }
    return stop;
  }

  // Changes the state file only while it is still this supervisor's (`vpn off` may have removed
  // it), under the state lock.
  void UpdateState(const std::function<void(VpnState&)>& change) {
    auto lock = FileLock::Acquire(StateLockPath(p_.state_path));
    auto state = LoadState(p_.state_path);
    if (!lock || !state || state->supervisor_pid != ::getpid()) return;
    change(*state);
    if (auto st = SaveState(p_.state_path, *state); !st) {
      LogError("vpn_state_write_failed", {{"error", st.error().message}});
    }
  }

  // Spec §6: log in again with a fresh code after an exponential backoff, at most max_attempts
  // times; `vpn off` (SIGUSR1) or SIGTERM ends the attempts at once.
  int Reconnect() {
    for (int attempt = 1; attempt <= p_.max_attempts; ++attempt) {
      int64_t delay = p_.backoff_base_secs;
      for (int i = 1; i < attempt && delay < p_.backoff_max_secs; ++i) delay *= 2;
      delay = std::min<int64_t>(delay, p_.backoff_max_secs);
      const WallTime next = WallNow() + std::chrono::seconds(delay);
      UpdateState([&](VpnState& s) {
        s.status = "reconnecting";
        s.attempt = attempt;
        s.next_retry = next;
      });
      LogWarn("vpn_reconnect_scheduled",
              {{"attempt", attempt}, {"max_attempts", p_.max_attempts}, {"delay_secs", delay}});
      pollfd fd{sigfd_.Get(), POLLIN, 0};
      const MonoTime until = MonoNow() + std::chrono::seconds(delay);
      while (MonoNow() < until && ::poll(&fd, 1, MillisUntil(until)) >= 0) {
        if (DrainSignals() || down_requested_) {
          LogInfo("vpn_reconnect_cancelled", {{"attempt", attempt}});
          return 0;
        }
      }
      p_.record_dir = p_.runtime_dir + "/conn-" + RandomHex(6);
      if (::mkdir(p_.record_dir.c_str(), 0700) != 0) continue;
      auto password = FreshPassword(Secrets{p_.pin, p_.otp_secret}, p_.runtime_dir,
                                    [&](std::chrono::seconds wait) {
                                      LogInfo("vpn_reconnect_waiting_for_fresh_code",
                                              {{"seconds", static_cast<int64_t>(wait.count())}});
                                    });
      if (!password) continue;
      p_.password = std::move(*password);
      if (auto started = StartOpenconnect(); !started) continue;
      if (WaitConnected()) {
        LogInfo("vpn_reconnected", {{"attempt", attempt}, {"pid", oc_->Pid()}});
        return Supervise();
      }
      if (down_requested_) return 0;
    }
    UpdateState([&](VpnState& s) {
      s.status = "error";
      s.next_retry.reset();
      s.ended = "reconnection failed after " + std::to_string(p_.max_attempts) + " attempts";
    });
    LogError("vpn_reconnect_failed", {{"attempts", p_.max_attempts}});
    return 1;
  }

  int OnOpenconnectExit() {
    auto status = oc_->Reap();
    std::string how = status ? status->ToString() : "unknown status";
    if (down_requested_) {
      LogInfo("vpn_supervisor_exit", {{"reason", "vpn off"}, {"status", how}});
      return 0;
    }
    LogWarn("vpn_process_exited_unexpectedly", {{"pid", oc_->Pid()}, {"status", how}});
    if (auto st = ReplayDisconnect(p_.record_dir, SystemVpncScript()); !st) {
      LogWarn("vpn_disconnect_replay_failed", {{"error", st.error().message}});
    }
    if (p_.reconnect) {
      const pid_t old = oc_->Pid();
      UpdateState([&](VpnState& s) {
        s.ended = "openconnect (pid " + std::to_string(old) + ") exited unexpectedly (" + how + ")";
      });
      return Reconnect();
    }
    auto lock = FileLock::Acquire(StateLockPath(p_.state_path));
    auto state = LoadState(p_.state_path);
    if (lock && state && state->pid == oc_->Pid()) {
      state->ended = "openconnect (pid " + std::to_string(oc_->Pid()) + ") exited unexpectedly (" +
                     how + ") at " + FormatRfc3339(WallNow());
      (void)SaveState(p_.state_path, *state);
    }
    return 1;
  }

  // SIGTERM/SIGINT to the supervisor itself (Ctrl-C with --foreground): disconnect as `vpn off`.
  int Disconnect() {
    down_requested_ = true;
    if (foreground_) std::printf("Disconnecting VPN...\n");
    auto lock = FileLock::Acquire(StateLockPath(p_.state_path));
    StopResult r = StopOpenconnect();
    if (r.outcome == StopOutcome::kKilled)
      (void)ReplayDisconnect(p_.record_dir, SystemVpncScript());
    auto state = LoadState(p_.state_path);
    if (state && state->pid == oc_->Pid()) (void)RemoveFile(p_.state_path);
    if (foreground_) {
      std::printf(r.outcome == StopOutcome::kKilled ? "✓ VPN disconnected (forced)\n"
                                                    : "✓ VPN disconnected gracefully\n");
      std::fflush(stdout);
    }
    return r.Gone() ? 0 : 1;
  }

  // SIGTERM, 5 s, SIGKILL. Before the vpnc-script has started a connect step nothing on the host
  // was changed, and openconnect ignores SIGTERM during its TLS handshake: a short grace then.
  StopResult StopOpenconnect() {
    StopPolicy policy;
    if (!ReadRecord(p_.record_dir, "connect")) policy.grace = std::chrono::milliseconds(300);
    return StopProcess(*oc_, policy);
  }

  int Report(ConnectError kind, const std::string& message) {
    static constexpr const char* kNames[] = {"none",   "auth",   "timeout",
                                             "exited", "script", "system"};
    LogError("vpn_connect_failed", {{"kind", kNames[static_cast<int>(kind)]}, {"error", message}});
    ReportLine(std::string("error ") + kNames[static_cast<int>(kind)] + " " + message);
    return 1;
  }

  void ReportLine(const std::string& line) {
    if (report_fd_ < 0) return;
    (void)WriteAll(report_fd_, line + "\n");
    ::close(report_fd_);
    report_fd_ = -1;
  }

  SupervisorParams p_;  // a copy: record_dir changes with each reconnection
  int report_fd_;
  bool foreground_;
  std::string log_path_;
  UniqueFd sigfd_;
  std::optional<Process> oc_;
  bool down_requested_ = false;
};

}  // namespace

int RunSupervisor(const SupervisorParams& params, int report_fd, bool foreground) {
  return Supervisor(params, report_fd, foreground).Run();
}

int SuperviseMain() {
  auto text = ReadAll(STDIN_FILENO, size_t{64} << 10);
  if (!text) return 2;
  auto params = ParseParams(*text);
  if (!params) {
    (void)WriteAll(STDOUT_FILENO, "error system " + params.error().message + "\n");
    return 2;
  }
  // stdout is the report pipe; nothing else may write to it.
  int report = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(devnull, STDIN_FILENO);
  ::dup2(devnull, STDOUT_FILENO);
  ::close(devnull);
  return RunSupervisor(*params, report, false);
}

}  // namespace va::akon
