// OcservEnv: a real ocserv VPN server in a fresh network namespace, reached from a second, client
// namespace over a veth pair (server 192.0.2.1/24, client 192.0.2.2/24; nothing is linked to the
// host's network), for end-to-end tests of akon and openconnect.
//
// Contract:
// - OcservEnv::Start creates both namespaces (random names vaoc-s-XXXXXXXX / vaoc-c-XXXXXXXX), a
//   test PKI (certtool), /etc/netns/<client-ns>/resolv.conf holding kOriginalResolvConf, and
//   starts ocserv with PAM authentication (pam_oath: the password is PIN followed by a 6-digit
//   TOTP code, HOTP/T30) in a private mount namespace whose /etc/pam.d is a bind mount of a test
//   directory holding only the "ocserv" service file (so the host's PAM files are never touched
//   or needed). It returns once ocserv has logged that it is initialised and a TCP connection
//   from the client namespace to the server port succeeds, or fails with the reason (ocserv's exit
//   status and the tail of its log when it died, kTimeout when the deadline passed); the message
//   names the two namespaces.
// - Clients run in the client namespace: ClientCommand() prefixes `ip netns exec <client-ns>`,
//   which bind-mounts the files of /etc/netns/<client-ns> over /etc: resolv.conf, so a
//   vpnc-script's DNS change lands in ResolvConfPath() and never in the host's file, and an
//   nsswitch.conf without "resolve", so the vpnc-script never hands DNS to the host's
//   systemd-resolved. (Its /var/run/vpnc/*.PID backup files are the host's, keyed by pid.)
// - The destructor releases everything, also after a start that failed halfway: ocserv is stopped
//   (SIGTERM, then SIGKILL), any process still inside either namespace (an openconnect a failed
//   test left behind) is stopped after its namespace membership is verified through its pidfd,
//   both namespaces are deleted, /etc/netns/<client-ns> and the temporary directory removed.
// - pam_oath refuses a TOTP code of a time step not later than the last one accepted, so two
//   logins within one 30 s step need care: FreshPassword() / WaitForUnusedStep() wait (the one
//   legitimate time-based wait) until a step that no login has used yet.
//
// Needs root, iproute2, util-linux, ocserv, gnutls-bin, oathtool, libpam-oath, openconnect and
// vpnc-scripts, and no resolvconf-like DNS manager; see UnavailableReason() for tests that skip.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "proc/process.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va::testing {

// Absolute path of a program found in PATH or in /usr/sbin, /sbin, /usr/bin, /bin; nullopt when
// absent.
std::optional<std::string> FindProgram(const std::string& name);

// A network interface as seen inside one namespace.
struct NetInterface {
  std::string name;
  unsigned flags = 0;             // IFF_UP, IFF_POINTOPOINT, ...
  bool tun = false;               // a layer-3 tun device (ARPHRD_NONE)
  std::vector<std::string> ipv4;  // dotted addresses, e.g. "10.99.0.50"
};

struct OcservOptions {
  std::string username = "alice";
  std::string pin = "1234";
  uint16_t port = 4443;
  bool udp = true;  // also listen on UDP (DTLS); false: TLS only
  // For benchmarks that log in many times: PAM accepts any password (pam_exec running /bin/true;
  // ocserv needs PAM to ask for one), so no login has to wait for a fresh TOTP step. Tests of
  // authentication leave this false.
  bool accept_any_password = false;
  // ocserv.conf settings replacing the defaults (every line of that key) or added to them, e.g.
  // {"dpd", "10"}; the same key may appear more than once ("route").
  std::vector<std::pair<std::string, std::string>> config;
  std::chrono::milliseconds start_timeout = std::chrono::seconds(20);
};

class OcservEnv {
 public:
  static constexpr char kServerAddress[] = "192.0.2.1";
  static constexpr char kClientAddress[] = "192.0.2.2";
  static constexpr char kServerHostname[] = "vpn.test";  // in the certificate's SAN as well
  static constexpr char kClientNetwork[] = "10.99.0.0/24";
  static constexpr char kClientNetworkPrefix[] = "10.99.0.";
  static constexpr char kPushedDns[] = "10.99.0.53";
  static constexpr char kPushedRoute[] = "10.98.0.0/16";
  static constexpr char kOriginalResolvConf[] = "nameserver 192.0.2.53\n";
  static constexpr char kVpncScript[] = "/usr/share/vpnc-scripts/vpnc-script";

  // Why the environment and a VPN client in it cannot run on this host ("needs root", "ocserv is
  // not installed", a DNS manager the vpnc-script would use to change the host's DNS, ...), or
  // nullopt when they can. Tests GTEST_SKIP with this reason.
  static std::optional<std::string> UnavailableReason();

  // Builds the namespaces, PKI and configuration and starts ocserv (see the file comment); takes
  // about 0.15-0.5 s. On failure everything made so far is released before returning. ocserv
  // gets SIGTERM when the calling thread exits (so a crashed test leaves no server behind): call
  // it from a thread that outlives the environment, e.g. the test's or SetUpTestSuite's.
  static Result<std::unique_ptr<OcservEnv>> Start(const OcservOptions& options = {});

  ~OcservEnv();
  OcservEnv(const OcservEnv&) = delete;
  OcservEnv& operator=(const OcservEnv&) = delete;

  // Where to connect: "https://192.0.2.1:4443".
  std::string Url() const;
  uint16_t Port() const { return options_.port; }
  const std::string& Username() const { return options_.username; }
  const std::string& Pin() const { return options_.pin; }
  const std::string& TotpSecretHex() const { return secret_hex_; }
  // The same secret as RFC 4648 Base32 without padding (what akon's setup asks for).
  const std::string& TotpSecretBase32() const { return secret_base32_; }
  // The server certificate's public-key pin in openconnect's form "pin-sha256:BASE64".
  const std::string& ServerCertPin() const { return cert_pin_; }
  // The test CA that signed the server certificate (SAN: 192.0.2.1 and vpn.test).
  std::string CaFile() const { return dir_.File("ca-cert.pem"); }

  const std::string& ServerNs() const { return server_ns_; }
  const std::string& ClientNs() const { return client_ns_; }
  // {"/usr/bin/ip", "netns", "exec", <client-ns>, argv...}.
  std::vector<std::string> ClientCommand(std::vector<std::string> argv) const;
  // {"/usr/bin/ip", "netns", "exec", <server-ns>, argv...}.
  std::vector<std::string> ServerCommand(std::vector<std::string> argv) const;
  // /etc/netns/<client-ns>/resolv.conf: the client's /etc/resolv.conf under `ip netns exec`.
  std::string ResolvConfPath() const;
  // Current content of ResolvConfPath().
  Result<std::string> ReadResolvConf() const;
  // Waits until the content of ResolvConfPath() satisfies `done`, re-reading it on every inotify
  // event on the file (no polling); returns that content. Fails with kTimeout at `deadline`, and
  // with kNotFound as soon as `abort_fd` (e.g. the client's pidfd; -1 for none) becomes readable.
  // The vpnc-script changes DNS last on connect, after the address and the routes.
  Result<std::string> WaitForResolvConf(const std::function<bool(const std::string&)>& done,
                                        MonoTime deadline, int abort_fd = -1) const;

  // ocserv's combined stdout/stderr.
  std::string LogPath() const { return dir_.File("ocserv.log"); }
  Result<std::string> ReadLog() const;
  // Waits until the log contains `text` (inotify, no polling); returns the whole log. kTimeout
  // at `deadline`, the message ending with the log's last lines.
  Result<std::string> WaitForLog(std::string_view text, MonoTime deadline) const;
  // The last `lines` lines of the log (for error messages).
  std::string LogTail(size_t lines = 30) const;
  // The directory holding configuration, PKI, users file, sockets and log.
  const std::string& Dir() const { return dir_.Path(); }
  std::string UsersFile() const { return dir_.File("users.oath"); }
  // True while the ocserv main process runs.
  bool ServerRunning() const;
  // Time Start() took from the first namespace to a successful TCP connect.
  std::chrono::nanoseconds StartDuration() const { return start_duration_; }

  // Runs `occtl <args>` against this server's control socket (e.g. {"show", "users"},
  // {"disconnect", "user", "alice"}: ends the session from the server side). Fails only when occtl
  // cannot be started; look at the CommandResult for its outcome.
  Result<CommandResult> Occtl(const std::vector<std::string>& args) const;

  // The TOTP code (6 digits) for `when`, computed by oathtool from the secret.
  Result<std::string> CodeAt(WallTime when) const;
  // Waits until the current 30 s step is later than every step already used: by a login the
  // server accepted (read from pam_oath's users file) and by a password this object handed out.
  // Returns at once when the current step is fresh; otherwise waits at most one step.
  Status WaitForUnusedStep();
  // PIN + a TOTP code of a step no login has used (WaitForUnusedStep first); the step counts as
  // used from then on.
  Result<std::string> FreshPassword();

  // Interfaces of the client namespace, read through a netlink socket inside it.
  Result<std::vector<NetInterface>> ClientInterfaces() const;
  // The first tun device in the client namespace, if any.
  Result<std::optional<NetInterface>> ClientTun() const;
  // Waits for a tun device with an IPv4 address in the client namespace, woken by netlink
  // events (no polling). Fails with kTimeout at `deadline`, and with kNotFound as soon as
  // `abort_fd` (e.g. the client's pidfd; -1 for none) becomes readable.
  Result<NetInterface> WaitForClientTun(MonoTime deadline, int abort_fd = -1) const;
  // Waits until no tun device is left in the client namespace; kTimeout at `deadline`.
  Status WaitForNoClientTun(MonoTime deadline) const;
  // `ip -4 route show` in the client namespace.
  Result<std::string> ClientRoutes() const;

 private:
  explicit OcservEnv(OcservOptions options);

  Status Build();
  Status MakeNamespaces();
  Status MakePki();
  Status WriteConfig();
  Status StartServer();
  Status WaitReady(MonoTime deadline);
  Result<std::optional<int64_t>> LastUsedStep() const;
  void Teardown();

  OcservOptions options_;
  TempDir dir_;  // destroyed after the members below, once Teardown() has run
  std::string server_ns_;
  std::string client_ns_;
  std::string ip_;  // absolute path of ip(8)
  bool server_ns_made_ = false;
  bool client_ns_made_ = false;
  bool netns_etc_made_ = false;
  std::string secret_hex_;
  std::string secret_base32_;
  std::string cert_pin_;
  std::optional<Process> server_;
  std::optional<int64_t> handed_out_step_;
  std::chrono::nanoseconds start_duration_{};
};

}  // namespace va::testing
