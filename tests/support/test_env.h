// Shared test support: temporary directories that clean up, paths of helper binaries, and skip
// helpers for tests that need root or a kernel feature.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace va::testing {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& Path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Absolute path of a binary built by this project (VA_BIN_DIR, set by CTest; falls back to the
// directory of the running test binary).
std::string BinPath(const std::string& name);

inline bool IsRoot() { return ::geteuid() == 0; }

// Sets (or unsets, with nullopt) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace va::testing

// Skips the current test with a reason when not running as root.
#define VA_REQUIRE_ROOT()                                                                   \
  do {                                                                                      \
    if (!::va::testing::IsRoot()) GTEST_SKIP() << "needs root (run as root to include it)"; \
  } while (0)
