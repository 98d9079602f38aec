// The interfaces the application layer drives: repositories (implemented by store/ over SQLite,
// later PostgreSQL, and by in-memory fakes in unit tests), the file blob store, the password
// hasher and the access-token signer. Every method is safe to call from several threads.
//
// Failures: a Result error means the backend failed (I/O, corruption); "not found" and
// "already exists" are ordinary answers (nullopt, false), never errors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "vault/domain/model.h"

namespace va::vault {

struct PageRequest {
  int page = 1;        // 1-based
  int page_size = 20;  // 1 … 100
};

template <typename T>
struct Page {
  std::vector<T> items;
  int64_t total_count = 0;
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // false when the email (case-insensitive) is taken.
  virtual Result<bool> Insert(const User& user) = 0;
  virtual Result<std::optional<User>> FindById(std::string_view id) = 0;
  // `email` is compared lower-cased.
  virtual Result<std::optional<User>> FindByEmail(std::string_view email) = 0;
  // Oldest first.
  virtual Result<Page<User>> List(const PageRequest& page) = 0;
  // Sets status (and disabled_at/reason when disabling; clears them when enabling). false when
  // no such user.
  virtual Result<bool> SetStatus(std::string_view id, UserStatus status, int64_t at,
                                 std::string_view reason) = 0;
};

class FileRepository {
 public:
  virtual ~FileRepository() = default;
  virtual Status Insert(const FileRecord& file) = 0;
  // Also returns soft-deleted files (deleted_at set); callers decide.
  virtual Result<std::optional<FileRecord>> FindById(std::string_view id) = 0;
  // The owner's files that are not deleted, newest first.
  virtual Result<Page<FileRecord>> ListByOwner(std::string_view owner_id,
                                               const PageRequest& page) = 0;
  // false when no such file or already deleted.
  virtual Result<bool> MarkDeleted(std::string_view id, int64_t at) = 0;
};

// A permission joined with what the owner's and client's lists show.
struct PermissionView {
  Permission permission;
  std::string client_email;
  std::string file_name;
};

// A file a client may view now, with the permission that allows it.
struct ViewableFile {
  FileRecord file;
  Permission permission;
};

class PermissionRepository {
 public:
  virtual ~PermissionRepository() = default;
  virtual Status Insert(const Permission& permission) = 0;
  virtual Result<std::optional<Permission>> FindById(std::string_view id) = 0;
  // Permissions on files of `owner_id` (all of them, or those of one file), newest first,
  // revoked ones included.
  virtual Result<std::vector<PermissionView>> ListByOwner(
      std::string_view owner_id, std::optional<std::string_view> file_id) = 0;
  // The newest permission of (client, file), whatever its state; nullopt when none was granted.
  virtual Result<std::optional<Permission>> FindLatest(std::string_view client_id,
                                                       std::string_view file_id) = 0;
  // Permissions of the client on files not deleted, not revoked and not expired at `now`.
  virtual Result<std::vector<ViewableFile>> ListViewable(std::string_view client_id,
                                                         int64_t now) = 0;
  // false when no such permission or already revoked.
  virtual Result<bool> Revoke(std::string_view id, int64_t at) = 0;
  // Revokes every unrevoked permission on the file; returns their ids.
  virtual Result<std::vector<std::string>> RevokeAllForFile(std::string_view file_id,
                                                            int64_t at) = 0;
};

class TokenRepository {
 public:
  virtual ~TokenRepository() = default;
  virtual Status Insert(const RefreshToken& token) = 0;
  virtual Result<std::optional<RefreshToken>> Find(std::string_view token_hash) = 0;
  // Atomically marks an unused token used; false when it was already used (a replay).
  virtual Result<bool> MarkUsed(std::string_view token_hash, int64_t at) = 0;
  virtual Status RevokeFamily(std::string_view family_id) = 0;
  // Revokes every family of the user (user disabled).
  virtual Status RevokeAllForUser(std::string_view user_id) = 0;
};

struct AuditQuery {
  std::optional<std::string> action;
  std::optional<std::string> actor_id;
  std::optional<std::string> resource_id;
  std::optional<int64_t> since;  // inclusive
  std::optional<int64_t> until;  // inclusive
  // When set, only entries concerning this owner's files and sessions (AuditEntry::owner_id).
  std::optional<std::string> owner_id;
  PageRequest page;
};

class AuditRepository {
 public:
  virtual ~AuditRepository() = default;
  // Append-only: there is no update or delete.
  virtual Status Append(const AuditEntry& entry) = 0;
  // Newest first (timestamp, then insertion order).
  virtual Result<Page<AuditEntry>> Query(const AuditQuery& query) = 0;
};

// The repositories of one database plus transactions and a liveness check.
class Store {
 public:
  virtual ~Store() = default;
  virtual UserRepository& Users() = 0;
  virtual FileRepository& Files() = 0;
  virtual PermissionRepository& Permissions() = 0;
  virtual TokenRepository& Tokens() = 0;
  virtual AuditRepository& Audit() = 0;
  // Runs `body` in one transaction: committed when it returns success, rolled back otherwise
  // (its error is returned). Repository calls made by `body` on this thread join the
  // transaction. Not reentrant.
  virtual Status InTransaction(const std::function<Status()>& body) = 0;
  // The database answers a trivial query.
  virtual Status Ping() = 0;
};

// Streams one upload to its final place. Write() as the bytes arrive; Commit() makes the file
// durable at its final path (mode 0600) and returns its size and SHA-256; Abort() (or the
// destructor without Commit) removes everything written.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual Status Write(std::span<const char> bytes) = 0;
  struct Committed {
    int64_t size_bytes = 0;
    std::string sha256_hex;
  };
  virtual Result<Committed> Commit() = 0;
  virtual void Abort() = 0;
  virtual int64_t BytesWritten() const = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Starts a blob at <root>/users/<owner_id>/files/<file_id>.
  virtual Result<std::unique_ptr<BlobWriter>> Create(std::string_view owner_id,
                                                     std::string_view file_id) = 0;
  // Removes the bytes of a blob; success when it does not exist.
  virtual Status Remove(std::string_view owner_id, std::string_view file_id) = 0;
  virtual std::string PathOf(std::string_view owner_id, std::string_view file_id) const = 0;
};

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  // An argon2id string that embeds its salt and parameters. Slow by design (tens of ms).
  virtual Result<std::string> Hash(std::string_view password) = 0;
  // Constant-time as far as the algorithm allows; false for a malformed hash.
  virtual bool Verify(std::string_view hash, std::string_view password) = 0;
};

struct AccessClaims {
  std::string subject;  // user id
  RoleSet roles = 0;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::string token_id;  // jti
};

class TokenSigner {
 public:
  virtual ~TokenSigner() = default;
  virtual std::string Sign(const AccessClaims& claims) = 0;
  // Fails with kInvalid (malformed or bad signature) or kTimeout (expired at `now`).
  virtual Result<AccessClaims> Verify(std::string_view token, int64_t now) = 0;
};

}  // namespace va::vault
