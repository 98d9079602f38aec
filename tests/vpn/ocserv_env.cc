// OcservEnv: a real ocserv in network namespaces for VPN tests; see ocserv_env.h.
#include "vpn/ocserv_env.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "base/ids.h"
#include "base/sys.h"
#include "proc/stop.h"

namespace va::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kTotpStep = 30;
// Both must be in the log: main and sec-mod write them in either order.
constexpr const char* kReadyLines[] = {"main: initialized ocserv", "sec-mod initialized"};
constexpr char kServerVeth[] = "veth-s";
constexpr char kClientVeth[] = "veth-c";
constexpr milliseconds kCommandTimeout(15000);

std::string Join(const std::vector<std::string>& parts, std::string_view sep = " ") {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return std::string(s);
}

std::string TailLines(std::string_view text, size_t lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t n = 0; n < lines && pos > 0; ++n) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string_view::npos) {
      pos = 0;
      break;
    }
    pos = nl;
  }
  if (pos > 0) ++pos;
  return std::string(text.substr(pos));
}

// RFC 4648 Base32 (upper case), padded with '=' to a multiple of 8 characters.
std::string Base32(const std::vector<unsigned char>& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  while (out.size() % 8 != 0) out += '=';
  return out;
}

std::string Hex(const std::vector<unsigned char>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// Runs a command that must exit 0 within kCommandTimeout; its stdout. Fails with the reason and
// the command's output otherwise.
Result<std::string> MustRun(std::string_view what, const std::vector<std::string>& argv,
                            std::string_view input = {}) {
  auto r = RunCommand(argv, std::nullopt, std::string(input), kCommandTimeout);
  if (!r) return tl::unexpected(std::move(r.error()).Context(what));
  if (r->timed_out) {
    return Fail(ErrorKind::kTimeout, std::string(what) + " timed out: " + r->Describe());
  }
  if (!r->status || *r->status != ExitStatus{false, 0}) {
    return Fail(ErrorKind::kSystem, std::string(what) + " failed: " + r->Describe());
  }
  return std::move(r->out);
}

// Runs `fn` on a fresh thread that has joined the named network namespace (/run/netns/NAME):
// sockets it creates belong to that namespace for their whole life; the calling thread is
// untouched. Fails when the namespace cannot be opened or entered.
template <typename F>
auto InNetns(const std::string& ns, F&& fn) -> decltype(fn()) {
  using R = decltype(fn());
  std::optional<R> result;
  std::thread thread([&] {
    auto fd = Open("/run/netns/" + ns, O_RDONLY);
    if (!fd) {
      result.emplace(tl::unexpected(std::move(fd.error()).Context("enter netns " + ns)));
      return;
    }
    if (::setns(fd->Get(), CLONE_NEWNET) != 0) {
      result.emplace(SysFail("setns " + ns));
      return;
    }
    result.emplace(fn());
  });
  thread.join();
  return std::move(*result);
}

Result<std::vector<NetInterface>> InterfacesIn(const std::string& ns) {
  return InNetns(ns, []() -> Result<std::vector<NetInterface>> {
    struct ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return SysFail("getifaddrs");
    std::map<std::string, NetInterface> by_name;
    std::vector<std::string> order;
    for (auto* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
      if (ifa->ifa_name == nullptr) continue;
      auto [it, inserted] = by_name.try_emplace(ifa->ifa_name);
      if (inserted) order.push_back(ifa->ifa_name);
      NetInterface& nic = it->second;
      nic.name = ifa->ifa_name;
      nic.flags = ifa->ifa_flags;
      if (ifa->ifa_addr != nullptr && ifa->ifa_addr->sa_family == AF_INET) {
        char text[INET_ADDRSTRLEN] = {};
        const auto* in = reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        nic.ipv4.push_back(text);
      }
    }
    ::freeifaddrs(list);
    // A tun device has no link-layer address, so getifaddrs() reports no AF_PACKET address for
    // it; its hardware type says what it is.
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return SysFail("socket");
    std::vector<NetInterface> out;
    for (const auto& name : order) {
      NetInterface& nic = by_name[name];
      ifreq req{};
      name.copy(req.ifr_name, IFNAMSIZ - 1);
      if (::ioctl(sock.Get(), SIOCGIFHWADDR, &req) == 0) {
        nic.tun = req.ifr_hwaddr.sa_family == ARPHRD_NONE;
      }
      out.push_back(std::move(nic));
    }
    return out;
  });
}

std::string Describe(const std::vector<NetInterface>& nics) {
  std::string out;
  for (const auto& n : nics) {
    if (!out.empty()) out += ", ";
    out += n.name + (n.tun ? "(tun)" : "") + "[" + Join(n.ipv4, " ") + "]";
  }
  return out.empty() ? "none" : out;
}

// A netlink socket inside `ns` subscribed to link and IPv4 address changes.
Result<UniqueFd> NetlinkWatch(const std::string& ns) {
  return InNetns(ns, []() -> Result<UniqueFd> {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
    if (!fd) return SysFail("socket(AF_NETLINK)");
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
    if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return SysFail("bind netlink");
    }
    return fd;
  });
}

// Waits until `done` holds for the interfaces of `ns`, re-checking on every netlink event.
// kTimeout at `deadline` (message: the last interfaces seen); kNotFound when abort_fd is readable.
template <typename Pred>
Result<std::vector<NetInterface>> WaitInterfaces(const std::string& ns, MonoTime deadline,
                                                 int abort_fd, std::string_view waiting_for,
                                                 Pred done) {
  VA_TRY(UniqueFd watch, NetlinkWatch(ns));
  for (;;) {
    // Subscribed before this read, so no change between the read and the poll goes unnoticed.
    VA_TRY(auto nics, InterfacesIn(ns));
    if (done(nics)) return nics;
    pollfd fds[2] = {{watch.Get(), POLLIN, 0}, {abort_fd, POLLIN, 0}};
    int n = RetryEintr([&] { return ::poll(fds, abort_fd >= 0 ? 2 : 1, MillisUntil(deadline)); });
    if (n < 0) return SysFail("poll");
    if (n == 0) {
      return Fail(ErrorKind::kTimeout, "timed out waiting for " + std::string(waiting_for) +
                                           " in netns " + ns + "; interfaces: " + Describe(nics));
    }
    if (abort_fd >= 0 && fds[1].revents != 0) {
      return Fail(ErrorKind::kNotFound, "gave up waiting for " + std::string(waiting_for) +
                                            " in netns " + ns + ": the watched process ended" +
                                            "; interfaces: " + Describe(nics));
    }
    // Drain the events; an overflow (ENOBUFS) only means "something changed", which the next
    // read of the interfaces covers as well.
    char buf[8192];
    for (;;) {
      ssize_t got = ::recv(watch.Get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (got > 0 || (got < 0 && (errno == EINTR || errno == ENOBUFS))) continue;
      break;
    }
  }
}

// Waits until the content of `path` satisfies `done`, re-reading the file on every inotify event
// on it. kTimeout at `deadline`, kNotFound as soon as `abort_fd` (-1: none) is readable; both
// messages name `what` and end with the file's last lines.
Result<std::string> WaitForFile(const std::string& path,
                                const std::function<bool(const std::string&)>& done,
                                MonoTime deadline, int abort_fd, std::string_view what) {
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify) return SysFail("inotify_init1");
  if (::inotify_add_watch(inotify.Get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
    return SysFail("inotify_add_watch " + path);
  }
  for (;;) {
    // Watched before this read, so no change between the read and the poll goes unnoticed.
    VA_TRY(std::string text, ReadSmallFile(path, 64 << 20));
    if (done(text)) return text;
    pollfd fds[2] = {{inotify.Get(), POLLIN, 0}, {abort_fd, POLLIN, 0}};
    int n = RetryEintr([&] { return ::poll(fds, abort_fd >= 0 ? 2 : 1, MillisUntil(deadline)); });
    if (n < 0) return SysFail("poll");
    if (n == 0) {
      return Fail(ErrorKind::kTimeout, "timed out waiting for " + std::string(what) + " in " +
                                           path + "; it ends with:\n" + TailLines(text, 30));
    }
    if (abort_fd >= 0 && fds[1].revents != 0) {
      return Fail(ErrorKind::kNotFound, "gave up waiting for " + std::string(what) + " in " + path +
                                            ": the watched process ended; it ends with:\n" +
                                            TailLines(text, 30));
    }
    char buf[4096];
    while (::read(inotify.Get(), buf, sizeof(buf)) > 0) {
    }
  }
}

struct StatId {
  dev_t dev;
  ino_t ino;
};

std::optional<StatId> NetnsId(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return StatId{st.st_dev, st.st_ino};
}

bool InNetnsId(pid_t pid, const StatId& id) {
  auto got = NetnsId("/proc/" + std::to_string(pid) + "/ns/net");
  return got && got->dev == id.dev && got->ino == id.ino;
}

// Stops every process whose network namespace is `ns` (a client a failed test left running, an
// ocserv worker that outlived its parent). Each is held by its pidfd and checked to still be in
// the namespace before any signal.
void StopProcessesIn(const std::string& ns) {
  auto id = NetnsId("/run/netns/" + ns);
  if (!id) return;
  std::vector<pid_t> pids;
  if (DIR* dir = ::opendir("/proc")) {
    while (dirent* e = ::readdir(dir)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (end == e->d_name || *end != '\0' || pid <= 0) continue;
      if (InNetnsId(static_cast<pid_t>(pid), *id)) pids.push_back(static_cast<pid_t>(pid));
    }
    ::closedir(dir);
  }
  StopPolicy policy;
  policy.grace = seconds(3);
  for (pid_t pid : pids) {
    auto process = Process::Adopt(pid);
    if (!process || !InNetnsId(pid, *id)) continue;  // gone, or the pid now names another process
    StopProcess(*process, policy);
  }
}

std::string Seconds(WallTime t) { return std::to_string(UnixSeconds(t)); }

}  // namespace

std::optional<std::string> FindProgram(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.push_back(d);
  for (const auto& dir : dirs) {
    std::string candidate = dir;
    candidate += "/";
    candidate += name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<std::string> OcservEnv::UnavailableReason() {
  if (::geteuid() != 0) return "needs root (network namespaces, mounts, ocserv)";
  for (const char* program :
       {"ip", "unshare", "mount", "sh", "ocserv", "occtl", "certtool", "oathtool", "openconnect"}) {
    if (!FindProgram(program)) return std::string(program) + " is not installed";
  }
  if (::access(kVpncScript, X_OK) != 0) return std::string(kVpncScript) + " is missing";
  // DNS managers the vpnc-script would use instead of the client's /etc/resolv.conf, changing
  // the host's DNS state (systemd-resolved is taken care of: see MakeNamespaces).
  std::error_code ec;
  auto resolvconf = std::filesystem::read_symlink("/sbin/resolvconf", ec);
  if (::access("/sbin/resolvconf", X_OK) == 0 && resolvconf.filename() != "resolvectl") {
    return "/sbin/resolvconf is installed: the vpnc-script would change the host's DNS through it";
  }
  for (const char* manager : {"/sbin/netconfig", "/sbin/modify_resolvconf",
                              "/usr/sbin/unbound-control", "/usr/sbin/rcctl"}) {
    if (::access(manager, X_OK) == 0) {
      return std::string(manager) + " is installed: the vpnc-script would change DNS through it";
    }
  }
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not available";
  bool have_pam_oath = false;
  for (const char* root : {"/lib", "/usr/lib", "/lib64", "/usr/lib64"}) {
    if (std::filesystem::exists(std::string(root) + "/security/pam_oath.so", ec)) {
      have_pam_oath = true;
    }
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
      if (std::filesystem::exists(entry.path() / "security/pam_oath.so", ec)) have_pam_oath = true;
    }
  }
  if (!have_pam_oath) return "pam_oath.so is not installed (libpam-oath)";
  return std::nullopt;
}

OcservEnv::OcservEnv(OcservOptions options) : options_(std::move(options)) {}

OcservEnv::~OcservEnv() { Teardown(); }

namespace {

// An environment whose test process died without running its destructor (SIGKILL, a CTest
// timeout) leaves namespaces, /etc/netns/<client-ns> and its temporary directory behind. Each
// environment records its owner there (pid, start time, directory); the next Start removes the
// ones whose owner is gone, stopping what still runs inside them first.
void SweepAbandoned(const std::string& ip) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/etc/netns", ec)) {
    const std::string client = entry.path().filename().string();
    if (!client.starts_with("vaoc-c-")) continue;
    auto owner = ReadSmallFile(entry.path().string() + "/owner");
    if (!owner) continue;  // being created, or not ours
    std::istringstream in(*owner);
    pid_t pid = 0;
    uint64_t start_time = 0;
    std::string dir;
    if (!(in >> pid >> start_time >> dir)) continue;
    ExpectedIdentity expected;
    expected.start_time = start_time;
    if (auto alive = Process::Adopt(pid, expected); alive && !alive->Exited()) continue;
    const std::string server = "vaoc-s-" + client.substr(7);
    for (const std::string& ns : {client, server}) {
      StopProcessesIn(ns);
      (void)RunCommand({ip, "netns", "del", ns}, std::nullopt, {}, seconds(10));
    }
    if (dir.find("/va-test-") != std::string::npos) std::filesystem::remove_all(dir, ec);
    std::filesystem::remove_all(entry.path(), ec);
  }
}

}  // namespace

Result<std::unique_ptr<OcservEnv>> OcservEnv::Start(const OcservOptions& options) {
  if (auto reason = UnavailableReason()) return Fail(ErrorKind::kUnsupported, *reason);
  SweepAbandoned(*FindProgram("ip"));
  std::unique_ptr<OcservEnv> env(new OcservEnv(options));
  const MonoTime started = MonoNow();
  auto built = env->Build();
  if (!built) {
    const std::string where =
        "start ocserv env (netns " + env->server_ns_ + ", " + env->client_ns_ + ")";
    return tl::unexpected(std::move(built.error()).Context(where));
  }
  env->start_duration_ = MonoNow() - started;
  return env;
}

Status OcservEnv::Build() {
  ip_ = *FindProgram("ip");
  // Traversable by ocserv's workers (nobody), which connect to sec-mod's socket in here; the
  // keys and the users file are mode 0600.
  if (::chmod(dir_.Path().c_str(), 0711) != 0) return SysFail("chmod " + dir_.Path());
  std::vector<unsigned char> secret(20);
  RandomBytes(secret);
  secret_hex_ = Hex(secret);
  secret_base32_ = Base32(secret);  // 20 bytes: 32 characters, no padding
  VA_TRY_STATUS(MakeNamespaces());
  VA_TRY_STATUS(MakePki());
  VA_TRY_STATUS(WriteConfig());
  VA_TRY_STATUS(StartServer());
  return WaitReady(MonoNow() + options_.start_timeout);
}

Status OcservEnv::MakeNamespaces() {
  const std::string suffix = RandomHex(4);
  const std::string server = "vaoc-s-" + suffix;
  const std::string client = "vaoc-c-" + suffix;
  VA_TRY_STATUS(MustRun("ip netns add " + server, {ip_, "netns", "add", server}));
  server_ns_ = server;
  server_ns_made_ = true;
  VA_TRY_STATUS(MustRun("ip netns add " + client, {ip_, "netns", "add", client}));
  client_ns_ = client;
  client_ns_made_ = true;

  // Both ends of the veth pair are created inside the namespaces; the host never sees them.
  const std::string server_cmds = std::string("link set lo up\n") + "link add " + kServerVeth +
                                  " type veth peer name " + kClientVeth + " netns " + client +
                                  "\n" + "addr add " + kServerAddress + "/24 dev " + kServerVeth +
                                  "\n" + "link set " + kServerVeth + " up\n";
  VA_TRY_STATUS(
      MustRun("configure netns " + server, {ip_, "-n", server, "-batch", "-"}, server_cmds));
  const std::string client_cmds = std::string("link set lo up\n") + "addr add " + kClientAddress +
                                  "/24 dev " + kClientVeth + "\n" + "link set " + kClientVeth +
                                  " up\n" + "route add default via " + kServerAddress + "\n";
  VA_TRY_STATUS(
      MustRun("configure netns " + client, {ip_, "-n", client, "-batch", "-"}, client_cmds));

  // `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/*.
  std::error_code ec;
  std::filesystem::create_directories("/etc/netns", ec);
  const std::string etc = "/etc/netns/" + client;
  if (::mkdir(etc.c_str(), 0755) != 0) return SysFail("mkdir " + etc);
  netns_etc_made_ = true;
  VA_TRY(ProcessIdentity self, ReadProcessStat(::getpid()));
  VA_TRY_STATUS(WriteFileAtomic(
      etc + "/owner",
      std::to_string(::getpid()) + " " + std::to_string(self.start_time) + " " + dir_.Path() + "\n",
      0644));
  VA_TRY_STATUS(WriteFileAtomic(ResolvConfPath(), kOriginalResolvConf, 0644));
  // The vpnc-script hands DNS to systemd-resolved when nsswitch.conf's hosts line names
  // "resolve"; the client's copy does not, so it always edits the namespace's resolv.conf.
  std::string nsswitch;
  if (auto host = ReadSmallFile("/etc/nsswitch.conf")) {
    std::istringstream lines(*host);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("hosts:")) nsswitch += line + "\n";
    }
  }
  nsswitch += "hosts: files dns\n";
  return WriteFileAtomic(etc + "/nsswitch.conf", nsswitch, 0644);
}

Status OcservEnv::MakePki() {
  const std::string certtool = *FindProgram("certtool");
  VA_TRY_STATUS(WriteFileAtomic(dir_.File("ca.tmpl"),
                                "cn = \"va test CA\"\n"
                                "organization = \"va tests\"\n"
                                "serial = 1\n"
                                "expiration_days = 30\n"
                                "ca\n"
                                "cert_signing_key\n"
                                "crl_signing_key\n",
                                0644));
  VA_TRY_STATUS(WriteFileAtomic(dir_.File("server.tmpl"),
                                std::string("cn = \"") + kServerHostname +
                                    "\"\n"
                                    "organization = \"va tests\"\n"
                                    "serial = 2\n"
                                    "expiration_days = 30\n"
                                    "dns_name = \"" +
                                    kServerHostname +
                                    "\"\n"
                                    "ip_address = \"" +
                                    kServerAddress +
                                    "\"\n"
                                    "signing_key\n"
                                    "tls_www_server\n",
                                0644));
  const std::string ca_key = dir_.File("ca-key.pem");
  const std::string server_key = dir_.File("server-key.pem");
  const std::string server_cert = dir_.File("server-cert.pem");
  VA_TRY_STATUS(MustRun("certtool CA key",
                        {certtool, "--generate-privkey", "--key-type=ecdsa", "--outfile", ca_key}));
  VA_TRY_STATUS(MustRun("certtool CA certificate",
                        {certtool, "--generate-self-signed", "--load-privkey", ca_key, "--template",
                         dir_.File("ca.tmpl"), "--outfile", CaFile()}));
  VA_TRY_STATUS(MustRun("certtool server key", {certtool, "--generate-privkey", "--key-type=ecdsa",
                                                "--outfile", server_key}));
  VA_TRY_STATUS(MustRun("certtool server certificate",
                        {certtool, "--generate-certificate", "--load-privkey", server_key,
                         "--load-ca-certificate", CaFile(), "--load-ca-privkey", ca_key,
                         "--template", dir_.File("server.tmpl"), "--outfile", server_cert}));
  // certtool prints the SubjectPublicKeyInfo pin exactly as openconnect's --servercert wants it.
  VA_TRY(std::string info, MustRun("certtool --pubkey-info",
                                   {certtool, "--pubkey-info", "--load-certificate", server_cert}));
  size_t at = info.find("pin-sha256:");
  if (at == std::string::npos) {
    return Fail(ErrorKind::kCorrupt, "certtool --pubkey-info printed no pin-sha256: " + info);
  }
  size_t end = info.find_first_of(" \t\r\n", at);
  cert_pin_ = info.substr(at, end == std::string::npos ? std::string::npos : end - at);
  return {};
}

Status OcservEnv::WriteConfig() {
  const std::string port = std::to_string(options_.port);
  std::vector<std::pair<std::string, std::string>> conf = {
      {"auth", "\"pam\""},
      {"listen-host", kServerAddress},
      {"tcp-port", port},
      {"run-as-user", "nobody"},
      {"run-as-group", "nogroup"},
      {"socket-file", dir_.File("ocserv.sock")},
      {"pid-file", dir_.File("ocserv.pid")},
      {"use-occtl", "true"},
      {"occtl-socket-file", dir_.File("occtl.sock")},
      {"server-cert", dir_.File("server-cert.pem")},
      {"server-key", dir_.File("server-key.pem")},
      {"isolate-workers", "false"},
      {"max-clients", "16"},
      {"max-same-clients", "0"},
      {"rate-limit-ms", "0"},
      {"max-ban-score", "0"},
      {"min-reauth-time", "0"},
      {"auth-timeout", "240"},
      {"cookie-timeout", "300"},
      {"keepalive", "32400"},
      {"dpd", "90"},
      {"mobile-dpd", "1800"},
      {"switch-to-tcp-timeout", "25"},
      {"try-mtu-discovery", "false"},
      {"tls-priorities", "\"NORMAL:%SERVER_PRECEDENCE\""},
      {"deny-roaming", "false"},
      {"rekey-time", "172800"},
      {"rekey-method", "ssl"},
      {"log-level", "2"},
      {"device", "vpns"},
      {"predictable-ips", "true"},
      {"ipv4-network", "10.99.0.0"},
      {"ipv4-netmask", "255.255.255.0"},
      {"dns", kPushedDns},
      {"route", kPushedRoute},
      {"ping-leases", "false"},
      {"cisco-client-compat", "true"},
      {"dtls-legacy", "true"},
  };
  if (options_.udp) conf.insert(conf.begin() + 3, {"udp-port", port});
  std::vector<std::string> replaced;
  for (const auto& setting : options_.config) {
    const std::string& key = setting.first;
    if (std::find(replaced.begin(), replaced.end(), key) == replaced.end()) {
      std::erase_if(conf, [&](const auto& kv) { return kv.first == key; });
      replaced.push_back(key);
    }
    conf.push_back(setting);
  }
  std::string text = "# Written by va::testing::OcservEnv.\n";
  for (const auto& [key, value] : conf) {
    text += key;
    text += " = ";
    text += value;
    text += "\n";
  }
  VA_TRY_STATUS(WriteFileAtomic(dir_.File("ocserv.conf"), text, 0644));

  // pam_oath compares the password with the users file's PIN followed by the TOTP code and, on
  // success, rewrites the file (last code, time) next to itself: sec-mod runs PAM as root. sec-mod
  // also calls pam_acct_mgmt, which fails on an empty "account" stack, hence pam_permit; it opens
  // no PAM session, so no "session" line is needed.
  const std::string pam_dir = dir_.File("pam.d");
  if (::mkdir(pam_dir.c_str(), 0755) != 0) return SysFail("mkdir " + pam_dir);
  const std::string auth =
      options_.accept_any_password
          ? std::string("auth required pam_exec.so expose_authtok quiet /bin/true\n")
          : "auth requisite pam_oath.so usersfile=" + UsersFile() + " window=20 digits=6\n";
  VA_TRY_STATUS(
      WriteFileAtomic(pam_dir + "/ocserv", auth + "account required pam_permit.so\n", 0644));
  return WriteFileAtomic(
      UsersFile(), "HOTP/T30 " + options_.username + " " + options_.pin + " " + secret_hex_ + "\n",
      0600);
}

Status OcservEnv::StartServer() {
  VA_TRY(UniqueFd log, Open(LogPath(), O_WRONLY | O_CREAT | O_APPEND, 0644));
  // unshare(1) without --fork execs in place: the process we hold by its pidfd becomes sh, then
  // ip, then ocserv's main process. Its private mount namespace sees the test's pam.d directory
  // over /etc/pam.d (so PAM service "ocserv" is ours); nothing outside it changes.
  const std::string script =
      "\"$1\" --bind \"$2\" /etc/pam.d && exec \"$3\" netns exec \"$4\" \"$5\" --foreground "
      "-c \"$6\"";
  SpawnOptions spawn;
  spawn.argv = {*FindProgram("unshare"),
                "--mount",
                "--propagation",
                "private",
                "--",
                *FindProgram("sh"),
                "-c",
                script,
                "ocserv-start",
                *FindProgram("mount"),
                dir_.File("pam.d"),
                ip_,
                server_ns_,
                *FindProgram("ocserv"),
                dir_.File("ocserv.conf")};
  spawn.stdin_fd = SpawnOptions::kDevNull;
  spawn.stdout_fd = log.Get();
  spawn.stderr_fd = log.Get();
  spawn.new_process_group = true;
  spawn.parent_death_signal = SIGTERM;  // a crashed test does not leave ocserv behind
  auto process = Process::Spawn(spawn);
  if (!process) return tl::unexpected(std::move(process.error()).Context("spawn ocserv"));
  server_.emplace(std::move(*process));
  return {};
}

Status OcservEnv::WaitReady(MonoTime deadline) {
  auto ready = WaitForFile(
      LogPath(),
      [](const std::string& log) {
        return std::all_of(std::begin(kReadyLines), std::end(kReadyLines),
                           [&](const char* line) { return log.find(line) != std::string::npos; });
      },
      deadline, server_->PidFd(), "ocserv's readiness lines");
  if (!ready) {
    if (!server_->Exited()) return tl::unexpected(std::move(ready.error()));
    auto status = server_->Reap();
    return Fail(ErrorKind::kSystem, "ocserv exited during start-up (" +
                                        (status ? status->ToString() : "not reaped") + "); log:\n" +
                                        LogTail());
  }

  // Listening, as seen from the client namespace: one TCP connect across the veth pair.
  VA_TRY(UniqueFd sock, InNetns(client_ns_, []() -> Result<UniqueFd> {
           UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
           if (!fd) return SysFail("socket");
           return fd;
         }));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options_.port);
  ::inet_pton(AF_INET, kServerAddress, &addr.sin_addr);
  const std::string target = std::string(kServerAddress) + ":" + std::to_string(options_.port);
  if (::connect(sock.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) return SysFail("connect " + target + " from " + client_ns_);
    VA_TRY(short revents, PollOne(sock.Get(), POLLOUT, milliseconds(MillisUntil(deadline))));
    if (revents == 0) {
      return Fail(ErrorKind::kTimeout,
                  "connect " + target + " from " + client_ns_ + ": no answer; log:\n" + LogTail());
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(sock.Get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      return SysFail("getsockopt SO_ERROR");
    }
    if (err != 0) {
      Error e = SysError("connect " + target + " from " + client_ns_, err);
      e.message += "; log:\n" + LogTail();
      return tl::unexpected(std::move(e));
    }
  }
  return {};
}

void OcservEnv::Teardown() {
  if (server_) {
    StopPolicy policy;
    policy.grace = seconds(5);
    StopProcess(*server_, policy);
    server_.reset();
  }
  // Left-overs: a client a failed test did not stop, ocserv's sec-mod or workers.
  if (client_ns_made_) StopProcessesIn(client_ns_);
  if (server_ns_made_) StopProcessesIn(server_ns_);
  if (client_ns_made_) (void)MustRun("ip netns del", {ip_, "netns", "del", client_ns_});
  if (server_ns_made_) (void)MustRun("ip netns del", {ip_, "netns", "del", server_ns_});
  client_ns_made_ = server_ns_made_ = false;
  if (netns_etc_made_) {
    std::error_code ec;
    std::filesystem::remove_all("/etc/netns/" + client_ns_, ec);
    netns_etc_made_ = false;
  }
  // dir_ (TempDir) removes the temporary directory when the members are destroyed.
}

std::string OcservEnv::Url() const {
  return std::string("https://") + kServerAddress + ":" + std::to_string(options_.port);
}

std::vector<std::string> OcservEnv::ClientCommand(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {ip_, "netns", "exec", client_ns_});
  return argv;
}

std::vector<std::string> OcservEnv::ServerCommand(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {ip_, "netns", "exec", server_ns_});
  return argv;
}

std::string OcservEnv::ResolvConfPath() const {
  return "/etc/netns/" + client_ns_ + "/resolv.conf";
}

Result<std::string> OcservEnv::ReadResolvConf() const { return ReadSmallFile(ResolvConfPath()); }

Result<std::string> OcservEnv::WaitForResolvConf(
    const std::function<bool(const std::string&)>& done, MonoTime deadline, int abort_fd) const {
  return WaitForFile(ResolvConfPath(), done, deadline, abort_fd, "the expected resolv.conf");
}

Result<std::string> OcservEnv::WaitForLog(std::string_view text, MonoTime deadline) const {
  return WaitForFile(
      LogPath(), [&](const std::string& log) { return log.find(text) != std::string::npos; },
      deadline, -1, "\"" + std::string(text) + "\"");
}

Result<std::string> OcservEnv::ReadLog() const { return ReadSmallFile(LogPath(), 64 << 20); }

std::string OcservEnv::LogTail(size_t lines) const {
  auto log = ReadLog();
  if (!log) return "(log unreadable: " + log.error().message + ")";
  return TailLines(*log, lines);
}

bool OcservEnv::ServerRunning() const { return server_ && !server_->Exited(); }

Result<CommandResult> OcservEnv::Occtl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {*FindProgram("occtl"), "-s", dir_.File("occtl.sock")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, std::nullopt, {}, kCommandTimeout);
}

Result<std::string> OcservEnv::CodeAt(WallTime when) const {
  VA_TRY(std::string out, MustRun("oathtool", {*FindProgram("oathtool"), "--totp", "-b",
                                               secret_base32_, "-N", "@" + Seconds(when)}));
  std::string code = Trim(out);
  if (code.size() != 6 ||
      !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Fail(ErrorKind::kCorrupt, "oathtool printed no 6-digit code: " + out);
  }
  return code;
}

Result<std::optional<int64_t>> OcservEnv::LastUsedStep() const {
  // pam_oath's line after a success: HOTP/T30 USER PIN SECRET COUNTER LASTOTP 2026-11-25T01:00:50L
  // (the time of that login, local time).
  VA_TRY(std::string text, ReadSmallFile(UsersFile()));
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.size() < 2 || f[1] != options_.username) continue;
    if (f.size() < 7) return std::optional<int64_t>();
    struct tm tm {};
    const char* rest = ::strptime(f[6].c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == nullptr) {
      return Fail(ErrorKind::kCorrupt, "users file: unreadable time \"" + f[6] + "\"");
    }
    tm.tm_isdst = -1;
    time_t t = (*rest == 'Z') ? ::timegm(&tm) : ::mktime(&tm);
    return std::optional<int64_t>(static_cast<int64_t>(t) / kTotpStep);
  }
  return Fail(ErrorKind::kNotFound, "users file has no line for " + options_.username);
}

Status OcservEnv::WaitForUnusedStep() {
  for (;;) {
    VA_TRY(std::optional<int64_t> last, LastUsedStep());
    if (handed_out_step_ && (!last || *handed_out_step_ > *last)) last = handed_out_step_;
    const int64_t now_step = UnixSeconds(WallNow()) / kTotpStep;
    if (!last || now_step > *last) return {};
    // The one time-based wait: TOTP steps are defined by the wall clock.
    timespec until{};
    until.tv_sec = static_cast<time_t>((*last + 1) * kTotpStep);
    int rc;
    while ((rc = ::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, nullptr)) == EINTR) {
    }
    if (rc != 0) return SysFail("clock_nanosleep", rc);
  }
}

Result<std::string> OcservEnv::FreshPassword() {
  VA_TRY_STATUS(WaitForUnusedStep());
  const WallTime now = WallNow();
  VA_TRY(std::string code, CodeAt(now));
  handed_out_step_ = UnixSeconds(now) / kTotpStep;
  return options_.pin + code;
}

Result<std::vector<NetInterface>> OcservEnv::ClientInterfaces() const {
  return InterfacesIn(client_ns_);
}

Result<std::optional<NetInterface>> OcservEnv::ClientTun() const {
  VA_TRY(auto nics, ClientInterfaces());
  for (auto& nic : nics) {
    if (nic.tun) return std::optional<NetInterface>(std::move(nic));
  }
  return std::optional<NetInterface>();
}

Result<NetInterface> OcservEnv::WaitForClientTun(MonoTime deadline, int abort_fd) const {
  auto has_tun = [](const NetInterface& n) { return n.tun && !n.ipv4.empty(); };
  VA_TRY(auto nics,
         WaitInterfaces(client_ns_, deadline, abort_fd, "a tun device with an IPv4 address",
                        [&](const std::vector<NetInterface>& list) {
                          return std::any_of(list.begin(), list.end(), has_tun);
                        }));
  return *std::find_if(nics.begin(), nics.end(), has_tun);
}

Status OcservEnv::WaitForNoClientTun(MonoTime deadline) const {
  VA_TRY_STATUS(WaitInterfaces(
      client_ns_, deadline, -1, "no tun device", [](const std::vector<NetInterface>& list) {
        return std::none_of(list.begin(), list.end(), [](const auto& n) { return n.tun; });
      }));
  return {};
}

Result<std::string> OcservEnv::ClientRoutes() const {
  return MustRun("ip route", {ip_, "-n", client_ns_, "-4", "route", "show"});
}

}  // namespace va::testing
