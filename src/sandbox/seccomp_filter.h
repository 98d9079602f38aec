// The sandbox's seccomp layer: an allow-list compiled with libseccomp in the supervisor (which may
// allocate) into a classic BPF program the child installs with one prctl (which may not). The
// filter checks the architecture first (any other, x32 included, kills the process); syscalls not
// on the list fail with EPERM; clone3 fails with ENOSYS so libc falls back to clone, whose flags
// the filter can see and which may not create namespaces. Failures name the layer: "seccomp: …".
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace va::sandbox {

class SeccompProgram {
 public:
  // The production allow-list: what a dynamically linked C/C++ program needs to compute, read its
  // files, use memory, threads, pipes and AF_UNIX sockets, and exec once.
  static Result<SeccompProgram> BuildAllowList();
  // The same program, compiled once per process (thread-safe); the reference stays valid.
  static const Result<SeccompProgram>& AllowList();

  // For the child: the program in the form prctl(PR_SET_SECCOMP) takes. Valid while *this lives.
  const sock_fprog* Program() const { return &prog_; }
  size_t Instructions() const { return filter_.size(); }

  SeccompProgram(SeccompProgram&& other) noexcept;
  SeccompProgram& operator=(SeccompProgram&& other) noexcept;
  SeccompProgram(const SeccompProgram&) = delete;
  SeccompProgram& operator=(const SeccompProgram&) = delete;
  ~SeccompProgram() = default;

 private:
  explicit SeccompProgram(std::vector<sock_filter> filter);
  std::vector<sock_filter> filter_;
  sock_fprog prog_{};
};

// Installs `program` on the calling thread (no_new_privs must be set). 0 or -1 with errno.
// Async-signal-safe.
int InstallSeccomp(const sock_fprog* program);

// True when the kernel offers seccomp filters (PR_GET_SECCOMP works and the filter mode exists).
bool SeccompAvailable();

}  // namespace va::sandbox
