// Files that hold state or secrets: written atomically, read only when they can be trusted.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/result.h"

namespace va {

// Replaces `path` with `data` so a reader sees the old or the new content, never a mix, even
// across a crash: a temporary file in the same directory (O_EXCL, never through a symlink) is
// written, fsync'ed, given `mode`, renamed over `path`, and the directory is fsync'ed. Fails when
// the directory is missing or unwritable; the temporary file is removed on every failure.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);

struct TrustPolicy {
  // Refuse a file that the group or others may read as well (for secrets), not only write.
  bool private_only = false;
  // Owners accepted besides root; the default -1 means the effective uid of the caller.
  uid_t owner = static_cast<uid_t>(-1);
  size_t max_bytes = 1 << 20;
};

// Reads a file only if it can be trusted: the last path component is not a symlink, it is a
// regular file, owned by policy.owner (default: the caller) or root, and not writable by group or
// others (not accessible at all with private_only). Fails with kNotFound when it does not exist
// and kUntrusted, with the reason in the message, when a check fails.
Result<std::string> ReadTrustedFile(const std::string& path, const TrustPolicy& policy = {});

// Removes a file; a missing file is not an error.
Status RemoveFile(const std::string& path);

}  // namespace va
