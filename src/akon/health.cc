// Loading the health-probe module; see health.h.
#include "akon/health.h"

#include <dlfcn.h>
#include <unistd.h>

#include "akon/runtime.h"

namespace va::akon {
namespace {

// va_akon_http_probe(url, cafile or "", timeout_ms, error buffer, its size): the HTTP status, -1
// with a message on failure, -2 on a timeout.
using ProbeFn = int (*)(const char*, const char*, long, char*, size_t);

ProbeFn LoadProbe(std::string& why) {
  static ProbeFn fn = nullptr;
  static std::string error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    std::string self = SelfExe();
    std::string module = self.substr(0, self.rfind('/') + 1) + "akon-health.so";
    void* handle = ::dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = ::dlerror();
      error = e ? e : module;
    } else {
      fn = reinterpret_cast<ProbeFn>(::dlsym(handle, "va_akon_http_probe"));
      if (fn == nullptr) error = module + " is not akon's health module";
    }
  }
  why = error;
  return fn;
}

}  // namespace

Result<int> ProbeHealth(const std::string& url, const std::string& cafile,
                        std::chrono::milliseconds timeout) {
  std::string why;
  ProbeFn probe = LoadProbe(why);
  if (probe == nullptr) return Fail(ErrorKind::kUnsupported, "health probe unavailable: " + why);
  char err[512] = {};
  int code =
      probe(url.c_str(), cafile.c_str(), static_cast<long>(timeout.count()), err, sizeof(err));
  if (code == -2) return Fail(ErrorKind::kTimeout, std::string("health probe timed out: ") + err);
  if (code < 0) return Fail(ErrorKind::kSystem, std::string("health probe failed: ") + err);
  return code;
}

}  // namespace va::akon
