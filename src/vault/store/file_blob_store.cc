// Blobs as files below a data directory, never through a symlink; see file_blob_store.h.
#include "vault/store/file_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "base/sys.h"

namespace va::vault {
namespace {

constexpr std::string_view kPartMarker = ".part-";

// Opens directory `name` below `parent`, never following a symlink; with `create`, makes it
// (0700) first when missing and fsyncs `parent` so the new entry survives a crash. `shown` is the
// path used in messages.
Result<UniqueFd> OpenDirBelow(int parent, const std::string& name, bool create,
                              const std::string& shown) {
  if (create) {
    if (::mkdirat(parent, name.c_str(), 0700) == 0) {
      if (::fsync(parent) != 0) return SysFail("fsync directory above " + shown);
    } else if (errno != EEXIST) {
      return SysFail("mkdir " + shown);
    }
  }
  int fd = RetryEintr([&] {
    return ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  });
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP || err == ENOTDIR) {
      return Fail(ErrorKind::kUntrusted, shown + " is a symbolic link or not a directory", err);
    }
    return SysFail("open " + shown, err);
  }
  return UniqueFd(fd);
}

// The names in a directory, without "." and "..".
Result<std::vector<std::string>> ListDir(int dirfd, const std::string& shown) {
  int copy = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return SysFail("open " + shown);
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    int err = errno;
    ::close(copy);
    return SysFail("fdopendir " + shown, err);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return SysFail("readdir " + shown, err);
  return names;
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

class FileBlobWriter final : public BlobWriter {
 public:
  FileBlobWriter(UniqueFd dir, UniqueFd fd, std::string temp_name, std::string final_name,
                 std::string shown, std::unique_ptr<EVP_MD_CTX, MdCtxFree> sha)
      : dir_(std::move(dir)),
        fd_(std::move(fd)),
        temp_name_(std::move(temp_name)),
        final_name_(std::move(final_name)),
        shown_(std::move(shown)),
        sha_(std::move(sha)) {}

  ~FileBlobWriter() override { Abort(); }

  Status Write(std::span<const char> bytes) override {
    if (!fd_) return Fail(ErrorKind::kInvalid, "write " + shown_ + ": the blob is closed");
    VA_TRY_STATUS(
        WriteAll(fd_.Get(), std::string_view(bytes.data(), bytes.size())).map_error([&](Error e) {
          return std::move(e).Context(shown_);
        }));
    if (EVP_DigestUpdate(sha_.get(), bytes.data(), bytes.size()) != 1) {
      return Fail(ErrorKind::kSystem, "write " + shown_ + ": SHA-256 update failed");
    }
    written_ += static_cast<int64_t>(bytes.size());
    return {};
  }

  Result<Committed> Commit() override {
    if (!fd_) return Fail(ErrorKind::kInvalid, "commit " + shown_ + ": the blob is closed");
    auto fail = [&](Error e) -> Result<Committed> {
      Abort();
      return tl::unexpected(std::move(e).Context("commit " + shown_));
    };
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (EVP_DigestFinal_ex(sha_.get(), digest, &digest_size) != 1) {
      return fail(Error{ErrorKind::kSystem, 0, "SHA-256 final failed"});
    }
    if (::fsync(fd_.Get()) != 0) return fail(SysError("fsync", errno));
    if (::close(fd_.Release()) != 0) return fail(SysError("close", errno));
    // Never over an existing blob: ids are fresh, so an existing name is a bug or an attack.
    if (::renameat2(dir_.Get(), temp_name_.c_str(), dir_.Get(), final_name_.c_str(),
                    RENAME_NOREPLACE) != 0) {
      int err = errno;
      if (err != EINVAL) return fail(SysError("rename", err));
      // A file system without RENAME_NOREPLACE: link (which refuses an existing name) + unlink.
      if (::linkat(dir_.Get(), temp_name_.c_str(), dir_.Get(), final_name_.c_str(), 0) != 0) {
        return fail(SysError("link", errno));
      }
      ::unlinkat(dir_.Get(), temp_name_.c_str(), 0);
    }
    temp_name_.clear();  // nothing left to clean up
    if (::fsync(dir_.Get()) != 0) return SysFail("commit " + shown_ + ": fsync directory");
    return Committed{written_, Hex(digest, digest_size)};
  }

  void Abort() override {
    fd_.Reset();
    if (!temp_name_.empty()) {
      ::unlinkat(dir_.Get(), temp_name_.c_str(), 0);
      temp_name_.clear();
    }
  }

  int64_t BytesWritten() const override { return written_; }

 private:
  UniqueFd dir_;
  UniqueFd fd_;            // invalid once committed or aborted
  std::string temp_name_;  // empty once renamed or removed
  std::string final_name_;
  std::string shown_;  // users/<owner>/files/<file> for messages
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> sha_;
  int64_t written_ = 0;
};

}  // namespace

bool FileBlobStore::ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<std::unique_ptr<FileBlobStore>> FileBlobStore::Open(const std::string& root) {
  if (root.empty()) return Fail(ErrorKind::kInvalid, "blob store: empty data directory");
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) return SysFail("mkdir " + root);
  VA_TRY(UniqueFd fd, va::Open(root, O_RDONLY | O_DIRECTORY));
  return std::unique_ptr<FileBlobStore>(new FileBlobStore(root, std::move(fd)));
}

Result<std::unique_ptr<BlobWriter>> FileBlobStore::Create(std::string_view owner_id,
                                                          std::string_view file_id) {
  if (!ValidId(owner_id) || !ValidId(file_id)) {
    return Fail(ErrorKind::kInvalid, "blob store: invalid owner or file id");
  }
  const std::string owner(owner_id);
  const std::string file(file_id);
  VA_TRY(UniqueFd users, OpenDirBelow(root_fd_.Get(), "users", true, "users"));
  VA_TRY(UniqueFd home, OpenDirBelow(users.Get(), owner, true, "users/" + owner));
  const std::string dir_shown = "users/" + owner + "/files";
  VA_TRY(UniqueFd dir, OpenDirBelow(home.Get(), "files", true, dir_shown));

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> sha(EVP_MD_CTX_new());
  if (!sha || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1) {
    return Fail(ErrorKind::kSystem, "blob store: SHA-256 init failed");
  }
  const std::string temp = file + std::string(kPartMarker) + RandomHex(8);
  int fd = RetryEintr([&] {
    return ::openat(dir.Get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  });
  if (fd < 0) return SysFail("create " + dir_shown + "/" + temp);
  return std::unique_ptr<BlobWriter>(new FileBlobWriter(std::move(dir), UniqueFd(fd), temp, file,
                                                        dir_shown + "/" + file, std::move(sha)));
}

Status FileBlobStore::Remove(std::string_view owner_id, std::string_view file_id) {
  if (!ValidId(owner_id) || !ValidId(file_id)) {
    return Fail(ErrorKind::kInvalid, "blob store: invalid owner or file id");
  }
  const std::string owner(owner_id);
  const std::string file(file_id);
  auto open = [](int parent, const std::string& name, const std::string& shown) {
    return OpenDirBelow(parent, name, false, shown);
  };
  auto users = open(root_fd_.Get(), "users", "users");
  if (!users) return users.error().sys_errno == ENOENT ? Status() : tl::unexpected(users.error());
  auto home = open(users->Get(), owner, "users/" + owner);
  if (!home) return home.error().sys_errno == ENOENT ? Status() : tl::unexpected(home.error());
  const std::string dir_shown = "users/" + owner + "/files";
  auto dir = open(home->Get(), "files", dir_shown);
  if (!dir) return dir.error().sys_errno == ENOENT ? Status() : tl::unexpected(dir.error());
  if (::unlinkat(dir->Get(), file.c_str(), 0) != 0 && errno != ENOENT) {
    return SysFail("unlink " + dir_shown + "/" + file);
  }
  return {};
}

std::string FileBlobStore::PathOf(std::string_view owner_id, std::string_view file_id) const {
  if (!ValidId(owner_id) || !ValidId(file_id)) return {};
  std::string path = root_;
  path.append("/users/").append(owner_id).append("/files/").append(file_id);
  return path;
}

Status FileBlobStore::RemoveStalePartials(int* removed) {
  int count = 0;
  if (removed != nullptr) *removed = 0;
  auto users = OpenDirBelow(root_fd_.Get(), "users", false, "users");
  if (!users) return users.error().sys_errno == ENOENT ? Status() : tl::unexpected(users.error());
  VA_TRY(auto owners, ListDir(users->Get(), "users"));
  for (const std::string& owner : owners) {
    // Only the directories this store makes; anything else (a symlink included) is left alone.
    if (!ValidId(owner)) continue;
    auto home = OpenDirBelow(users->Get(), owner, false, "users/" + owner);
    if (!home) {
      if (home.error().kind == ErrorKind::kUntrusted) continue;
      return tl::unexpected(home.error());
    }
    const std::string dir_shown = "users/" + owner + "/files";
    auto dir = OpenDirBelow(home->Get(), "files", false, dir_shown);
    if (!dir) {
      if (dir.error().sys_errno == ENOENT || dir.error().kind == ErrorKind::kUntrusted) continue;
      return tl::unexpected(dir.error());
    }
    VA_TRY(auto names, ListDir(dir->Get(), dir_shown));
    for (const std::string& name : names) {
      if (name.find(kPartMarker) == std::string::npos) continue;
      if (::unlinkat(dir->Get(), name.c_str(), 0) != 0 && errno != ENOENT) {
        return SysFail("unlink " + dir_shown + "/" + name);
      }
      ++count;
    }
  }
  if (removed != nullptr) *removed = count;
  return {};
}

}  // namespace va::vault
