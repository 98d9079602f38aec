// vpnc-script wrapper and replay; see vpnc.h.
#include "akon/vpnc.h"

#include <boost/json.hpp>
#include <csignal>
#include <cstdlib>

#include "base/file.h"
#include "base/log.h"
#include "proc/process.h"

extern char** environ;

namespace va::akon {
namespace json = boost::json;
namespace {

bool IsVpnVariable(std::string_view name) {
  static constexpr std::string_view kExact[] = {"reason",    "VPNGATEWAY",   "VPNPID",   "TUNDEV",
                                                "LOG_LEVEL", "IDLE_TIMEOUT", "VPNDOMAIN"};
  for (auto e : kExact) {
    if (name == e) return true;
  }
  return name.starts_with("INTERNAL_IP4_") || name.starts_with("INTERNAL_IP6_") ||
         name.starts_with("CISCO_");
}

bool ValidReason(std::string_view r) {
  return r == "pre-init" || r == "connect" || r == "disconnect" || r == "reconnect" ||
         r == "attempt-reconnect";
}

Result<int> RunScript(const std::string& script, const Environment& env) {
  SpawnOptions opt;
  opt.argv = {script};
  std::vector<std::string> envv;
  // The system script needs a PATH to find ip(8) and friends.
  envv.push_back(std::string("PATH=") +
                 (std::getenv("PATH") ? std::getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin"));
  for (const auto& [k, v] : env) envv.push_back(k + "=" + v);
  opt.env = std::move(envv);
  opt.stdin_fd = SpawnOptions::kDevNull;
  VA_TRY(Process p, Process::Spawn(opt));
  VA_TRY(bool exited, p.WaitExit(std::chrono::seconds(60)));
  if (!exited) {
    (void)p.Signal(SIGKILL);
    (void)p.WaitExit(std::chrono::seconds(5));
    p.Reap();
    return Fail(ErrorKind::kTimeout, script + " did not finish within 60 s");
  }
  auto status = p.Reap();
  if (!status) return Fail(ErrorKind::kSystem, "could not collect " + script + "'s status");
  return status->signaled ? 128 + status->code : status->code;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

Environment VpnEnvironmentFromProcess() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = kv.substr(0, eq);
    if (IsVpnVariable(name)) env.emplace(std::string(name), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Status WriteRecord(const std::string& record_dir, const Environment& env) {
  auto it = env.find("reason");
  if (it == env.end() || !ValidReason(it->second)) {
    return Fail(ErrorKind::kInvalid, "vpnc-script step without a valid $reason");
  }
  json::object o;
  for (const auto& [k, v] : env) o[k] = v;
  o["recorded_at"] = FormatRfc3339(WallNow());
  return WriteFileAtomic(record_dir + "/" + it->second + ".json", json::serialize(o) + "\n", 0600);
}

Result<Environment> ReadRecord(const std::string& record_dir, const std::string& reason) {
  if (!ValidReason(reason)) return Fail(ErrorKind::kInvalid, "bad step " + reason);
  TrustPolicy policy;
  policy.private_only = true;
  VA_TRY(std::string text, ReadTrustedFile(record_dir + "/" + reason + ".json", policy));
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return Fail(ErrorKind::kCorrupt, "record " + reason + " is not a JSON object");
  Environment env;
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_string()) return Fail(ErrorKind::kCorrupt, "record " + reason + ": bad value");
    if (IsVpnVariable(k)) env.emplace(std::string(k), std::string(val.get_string()));
  }
  return env;
}

Result<int> ReadStepStatus(const std::string& record_dir, const std::string& reason) {
  if (!ValidReason(reason)) return Fail(ErrorKind::kInvalid, "bad step " + reason);
  TrustPolicy policy;
  policy.max_bytes = 64;
  VA_TRY(std::string text, ReadTrustedFile(record_dir + "/" + reason + ".status", policy));
  // Exactly what the hook writes: 1-3 decimal digits and a newline (optional). Anything else is
  // corruption, never a status: "0junk" must not read as a successful step.
  std::string_view digits = text;
  if (digits.ends_with('\n')) digits.remove_suffix(1);
  int code = 0;
  bool valid = !digits.empty() && digits.size() <= 3;
  for (char c : digits) {
    if (!valid) break;
    if (c < '0' || c > '9') valid = false;
    code = code * 10 + (c - '0');
  }
  if (!valid || code > 255) return Fail(ErrorKind::kCorrupt, "bad status for step " + reason);
  return code;
}

std::string HookCommand(const std::string& self_exe, const std::string& record_dir,
                        const std::string& system_script) {
  return ShellQuote(self_exe) + " vpnc-hook --record-dir " + ShellQuote(record_dir) + " --script " +
         ShellQuote(system_script);
}

int RunVpncHook(const std::string& record_dir, const std::string& system_script) {
  Environment env = VpnEnvironmentFromProcess();
  std::string reason = env.count("reason") ? env["reason"] : "";
  if (auto st = WriteRecord(record_dir, env); !st) {
    LogError("vpnc_hook_record_failed", {{"reason", reason}, {"error", st.error().message}});
  }
  // The script sees exactly the environment openconnect gave us.
  Environment full;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos)
      full.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  auto code = RunScript(system_script, full);
  int status = code ? *code : 1;
  if (!code)
    LogError("vpnc_hook_script_failed", {{"reason", reason}, {"error", code.error().message}});
  LogInfo("vpnc_hook_step", {{"reason", reason}, {"status", status}, {"device", env["TUNDEV"]}});
  if (ValidReason(reason)) {
    (void)WriteFileAtomic(record_dir + "/" + reason + ".status", std::to_string(status) + "\n",
                          0600);
  }
  return status;
}

Status ReplayDisconnect(const std::string& record_dir, const std::string& system_script) {
  if (record_dir.empty()) return {};
  if (ReadStepStatus(record_dir, "disconnect")) return {};  // openconnect already did it
  auto connect = ReadRecord(record_dir, "connect");
  if (!connect) {
    if (connect.error().kind == ErrorKind::kNotFound) return {};
    return tl::unexpected(connect.error());
  }
  Environment env = *connect;
  env["reason"] = "disconnect";
  VA_TRY(int code, RunScript(system_script, env));
  (void)WriteRecord(record_dir, env);
  (void)WriteFileAtomic(record_dir + "/disconnect.status", std::to_string(code) + "\n", 0600);
  LogInfo("vpn_disconnect_replayed", {{"device", env["TUNDEV"]}, {"status", code}});
  if (code != 0)
    return Fail(ErrorKind::kSystem, "vpnc-script disconnect exited with " + std::to_string(code));
  return {};
}

}  // namespace va::akon
