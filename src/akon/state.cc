// State file I/O; see state.h.
#include "akon/state.h"

#include <arpa/inet.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "base/file.h"

namespace va::akon {
namespace json = boost::json;

std::string StatePath() {
  const char* env = std::getenv("AKON_STATE_FILE");
  return env && *env ? env : "/tmp/akon_vpn_state.json";
}

std::string StateLockPath(const std::string& state_path) { return state_path + ".lock"; }

std::string RenderState(const VpnState& s) {
  json::object o;
  o["version"] = s.version;
  o["ip"] = s.ip;
  o["device"] = s.device;
  o["connected_at"] = FormatRfc3339(s.connected_at);
  if (s.pid) o["pid"] = *s.pid;
  if (s.pid_start_time) o["pid_start_time"] = *s.pid_start_time;
  if (s.supervisor_pid) o["supervisor_pid"] = *s.supervisor_pid;
  if (s.supervisor_start_time) o["supervisor_start_time"] = *s.supervisor_start_time;
  if (!s.server.empty()) o["server"] = s.server;
  if (!s.record_dir.empty()) o["record_dir"] = s.record_dir;
  if (!s.ended.empty()) o["ended"] = s.ended;
  if (!s.status.empty()) o["status"] = s.status;
  if (s.attempt > 0) o["attempt"] = s.attempt;
  if (s.next_retry) o["next_retry"] = FormatRfc3339(*s.next_retry);
  return json::serialize(o) + "\n";
}

namespace {

Result<std::string> GetString(const json::object& o, std::string_view key, bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) return Fail(ErrorKind::kCorrupt, "missing \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!it->value().is_string()) {
    return Fail(ErrorKind::kCorrupt, "\"" + std::string(key) + "\" is not a string");
  }
  return std::string(it->value().get_string());
}

template <typename T>
Result<std::optional<T>> GetInt(const json::object& o, std::string_view key, int64_t min,
                                int64_t max) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<T>();
  const json::value& v = it->value();
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(v.get_uint64());
  } else {
    return Fail(ErrorKind::kCorrupt, "\"" + std::string(key) + "\" is not an integer");
  }
  if (n < min || n > max)
    return Fail(ErrorKind::kCorrupt, "\"" + std::string(key) + "\" is out of range");
  return std::optional<T>(static_cast<T>(n));
}

bool ValidIp(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

bool ValidDevice(const std::string& dev) {
  if (dev.empty() || dev.size() > 15) return false;
  for (char c : dev) {
    if (c == '/' || c == ' ' || static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<VpnState> ParseState(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Fail(ErrorKind::kCorrupt, "not JSON: " + ec.message());
  if (!v.is_object()) return Fail(ErrorKind::kCorrupt, "not a JSON object");
  const json::object& o = v.get_object();
  VpnState s;
  VA_TRY(auto version, GetInt<int>(o, "version", 0, 1000));
  s.version = version.value_or(kStateVersion);
  VA_TRY(s.ip, GetString(o, "ip", true));
  if (!ValidIp(s.ip)) return Fail(ErrorKind::kCorrupt, "\"ip\" is not an IP address");
  VA_TRY(s.device, GetString(o, "device", true));
  if (!ValidDevice(s.device)) return Fail(ErrorKind::kCorrupt, "\"device\" is not a device name");
  VA_TRY(std::string at, GetString(o, "connected_at", true));
  auto when = ParseRfc3339(at);
  if (!when) return Fail(ErrorKind::kCorrupt, "\"connected_at\" is not an RFC 3339 time");
  s.connected_at = *when;
  constexpr int64_t kPidMax = 4194304;  // PID_MAX_LIMIT
  VA_TRY(s.pid, GetInt<pid_t>(o, "pid", 1, kPidMax));
  VA_TRY(s.pid_start_time, GetInt<uint64_t>(o, "pid_start_time", 0, INT64_MAX));
  VA_TRY(s.supervisor_pid, GetInt<pid_t>(o, "supervisor_pid", 1, kPidMax));
  VA_TRY(s.supervisor_start_time, GetInt<uint64_t>(o, "supervisor_start_time", 0, INT64_MAX));
  VA_TRY(s.server, GetString(o, "server", false));
  VA_TRY(s.record_dir, GetString(o, "record_dir", false));
  VA_TRY(s.ended, GetString(o, "ended", false));
  VA_TRY(s.status, GetString(o, "status", false));
  if (!s.status.empty() && s.status != "connected" && s.status != "reconnecting" &&
      s.status != "error") {
    return Fail(ErrorKind::kCorrupt, "\"status\" is not connected, reconnecting or error");
  }
  VA_TRY(auto attempt, GetInt<int>(o, "attempt", 0, 100000));
  s.attempt = attempt.value_or(0);
  VA_TRY(std::string retry, GetString(o, "next_retry", false));
  if (!retry.empty()) {
    s.next_retry = ParseRfc3339(retry);
    if (!s.next_retry) return Fail(ErrorKind::kCorrupt, "\"next_retry\" is not an RFC 3339 time");
  }
  return s;
}

Result<VpnState> LoadState(const std::string& path) {
  TrustPolicy policy;
  policy.max_bytes = size_t{64} << 10;
  VA_TRY(std::string text, ReadTrustedFile(path, policy));
  auto state = ParseState(text);
  if (!state) return tl::unexpected(std::move(state.error()).Context(path));
  return state;
}

Status SaveState(const std::string& path, const VpnState& state) {
  return WriteFileAtomic(path, RenderState(state), 0600);
}

}  // namespace va::akon
