// Test support; see test_env.h.
#include "support/test_env.h"

#include <limits.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

namespace va::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/va-test-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string BinPath(const std::string& name) {
  if (const char* dir = std::getenv("VA_BIN_DIR"); dir && *dir)
    return std::string(dir) + "/" + name;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return name;
  self[n] = '\0';
  return std::filesystem::path(self).parent_path() / name;
}

}  // namespace va::testing
