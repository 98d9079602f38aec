// FileBlobStore: uploaded bytes as files under a data directory,
//   <root>/users/<owner_id>/files/<file_id>   (directories 0700, files 0600)
// Ids may hold only [a-z0-9_] (1…64 characters), so no id can name another place; every path
// component below the root is opened with O_NOFOLLOW|O_DIRECTORY, relative to the directory
// above it, so a symlink planted anywhere below the root is refused, never followed.
//
// A writer streams into "<file_id>.part-<random>" (O_EXCL, 0600) in the final directory, hashing
// with SHA-256 as it writes and holding nothing but what Write() is given. Commit() fsyncs the
// file, renames it to its final name (never over an existing blob) and fsyncs the directory;
// Abort() or destroying an uncommitted writer unlinks the temporary file. RemoveStalePartials()
// deletes the temporary files a crash left behind; run it at start-up, before accepting uploads.
//
// Failures: kInvalid for an id outside the alphabet, kUntrusted when a path component is a
// symlink or not a directory, kSystem/kPermission from the failing syscall (named in the
// message) otherwise.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "vault/app/ports.h"

namespace va::vault {

class FileBlobStore final : public BlobStore {
 public:
  // Uses `root` (the data directory), creating it (0700) when missing. The root itself may be
  // reached through a symlink (an administrator's choice); nothing below it may.
  static Result<std::unique_ptr<FileBlobStore>> Open(const std::string& root);

  Result<std::unique_ptr<BlobWriter>> Create(std::string_view owner_id,
                                             std::string_view file_id) override;
  // Success when the blob or its directories do not exist.
  Status Remove(std::string_view owner_id, std::string_view file_id) override;
  // The blob's path; empty when an id is not valid.
  std::string PathOf(std::string_view owner_id, std::string_view file_id) const override;

  // Deletes every "*.part-*" file under users/*/files/. `removed` (optional) gets their count.
  // Fails on the first directory or file that cannot be read or removed.
  Status RemoveStalePartials(int* removed = nullptr);

  // true when `id` is 1…64 characters of [a-z0-9_].
  static bool ValidId(std::string_view id);

 private:
  FileBlobStore(std::string root, UniqueFd root_fd)
      : root_(std::move(root)), root_fd_(std::move(root_fd)) {}

  std::string root_;
  UniqueFd root_fd_;
};

}  // namespace va::vault
