// The user-namespace layer, supervisor side: writes the uid/gid maps of a child created with
// CLONE_NEWUSER. A root supervisor maps inside uid/gid 0 to root (so that our init can build the
// root from any host path) and inside 1 to an unprivileged host identity the program switches to;
// an unprivileged supervisor can map only itself (setgroups denied), and inside 0 is then the
// supervisor's own uid without capabilities. Failures: "user namespace: …".
#pragma once

#include <sys/types.h>

#include "base/result.h"

namespace va::sandbox {

struct IdMapping {
  bool privileged = false;  // the supervisor is root (and so maps two ids)
  uid_t host_uid = 65534;   // the program's host uid when privileged
  gid_t host_gid = 65534;
};

Status WriteIdMaps(pid_t child, const IdMapping& mapping);

// True when this kernel lets the caller create user namespaces (tried with a throw-away child).
Result<bool> UserNamespacesAvailable();

}  // namespace va::sandbox
