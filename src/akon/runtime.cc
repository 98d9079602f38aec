// Run-time paths; see runtime.h.
#include "akon/runtime.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace va::akon {

Result<std::string> RuntimeDir() {
  std::string dir;
  if (const char* env = std::getenv("AKON_RUNTIME_DIR"); env && *env) {
    dir = env;
  } else if (::geteuid() == 0) {
    dir = "/run/akon";
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) {
    dir = std::string(xdg) + "/akon";
  } else {
    dir = "/tmp/akon-" + std::to_string(::geteuid());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return SysFail("mkdir " + dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return SysFail("stat " + dir);
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return Fail(ErrorKind::kUntrusted, dir + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Fail(ErrorKind::kUntrusted, dir + " is owned by uid " + std::to_string(st.st_uid));
  }
  if (st.st_mode & 077)
    return Fail(ErrorKind::kUntrusted, dir + " is accessible by group or others");
  return dir;
}

std::string SystemVpncScript() {
  if (const char* env = std::getenv("AKON_VPNC_SCRIPT"); env && *env) return env;
  for (const char* p : {"/usr/share/vpnc-scripts/vpnc-script", "/etc/vpnc/vpnc-script"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "/usr/share/vpnc-scripts/vpnc-script";
}

Result<std::string> FindOpenconnect() {
  if (const char* env = std::getenv("AKON_OPENCONNECT"); env && *env) {
    if (::access(env, X_OK) != 0) return SysFail(std::string("openconnect at ") + env);
    return std::string(env);
  }
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/openconnect";
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return Fail(ErrorKind::kNotFound, "openconnect is not installed", ENOENT);
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "akon";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace va::akon
