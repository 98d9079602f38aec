// `vaultctl doctor`: can this host run sandboxes? Reports each isolation layer (Landlock ABI,
// user/PID/network/mount/IPC/UTS/cgroup namespaces, seccomp, cgroup kill and limits), then runs
// vault-sandbox-probe inside a real sandbox made with the production policy, which tries to
// escape (read another file, write outside its tmpfs, open TCP/UDP sockets, reach an abstract
// socket, signal or ptrace a process outside, execute a binary it was not given, mount, unshare,
// setns, keyctl, bpf, io_uring, raise rlimits, fork past the pids limit, allocate past the memory
// limit). One line per layer and per attempt, "what was tried: what happened".
#pragma once

#include <string>

namespace va::sandbox {

struct DoctorOptions {
  bool json = false;
  std::string bin_dir;  // where vault-sandbox-probe lives
};

// Prints one line per layer and per escape attempt ("what was tried: what happened") to stdout,
// or one JSON object with --json; returns 0 only if every layer is in force and every attempt was
// denied, else 1.
int RunDoctor(const DoctorOptions& options);

}  // namespace va::sandbox
