// Capabilities, identity and rlimits of the program child (no allocation); see child_plan.h.
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/child_plan.h"

namespace va::sandbox {

int DropPrivileges(const ChildPlan& plan, ChildStep* failed_step, int* failed_index) {
  *failed_index = 0;
  // The bounding set first, while CAP_SETPCAP is still ours: no later exec can regain anything.
  *failed_step = ChildStep::kBoundingSet;
  for (int cap = 0; cap <= plan.cap_last; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return -1;
  }
  // uid 0 inside gains nothing at exec, and none of this can be undone.
  *failed_step = ChildStep::kSecureBits;
  constexpr unsigned long kBits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, kBits, 0, 0, 0) != 0) return -1;
  if (plan.switch_uid) {
    *failed_step = ChildStep::kSetGroups;
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) return -1;
    *failed_step = ChildStep::kSetGid;
    if (::syscall(SYS_setresgid, 1, 1, 1) != 0) return -1;
    *failed_step = ChildStep::kSetUid;
    if (::syscall(SYS_setresuid, 1, 1, 1) != 0) return -1;
  }
  *failed_step = ChildStep::kCapset;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &header, data) != 0) return -1;

  *failed_step = ChildStep::kRlimit;
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    *failed_index = static_cast<int>(i);
    rlimit lim{plan.rlimits[i].value, plan.rlimits[i].value};
    if (::setrlimit(static_cast<__rlimit_resource>(plan.rlimits[i].resource), &lim) != 0) {
      return -1;
    }
  }
  *failed_index = 0;
  return 0;
}

}  // namespace va::sandbox
