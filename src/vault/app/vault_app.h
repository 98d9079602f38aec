// VaultApp: one handler per command and query of the vault server (spec §4, §5, §11), over the
// ports of ports.h. It knows nothing of HTTP: the HTTP layer authenticates with Authenticate(),
// then calls the handler with the Actor. Every handler checks the actor's role itself (Forbidden,
// audited as Denied), validates every field (InvalidInput naming the field), and writes the audit
// entries of spec §11 — including a Denied entry for each refused authorization, naming the
// resource it was about. Handlers never throw; a backend failure becomes Code::kInternal with a
// generic message (the cause is logged once, here). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "vault/app/digest.h"
#include "vault/app/ports.h"
#include "vault/domain/errors.h"
#include "vault/domain/model.h"

namespace va::vault {

struct AppConfig {
  int64_t access_token_ttl_seconds = 900;
  int64_t refresh_token_ttl_seconds = int64_t{30} * 24 * 3600;
  int64_t max_upload_bytes = int64_t{1} << 30;
  int64_t max_session_seconds = 28800;
  // Failed logins allowed per account and per client IP within the window.
  int login_attempts_per_account = 5;
  int login_attempts_per_ip = 20;
  int64_t login_window_seconds = 300;
  int default_page_size = 20;
  int max_page_size = 100;
  // Authenticate keeps each user's record this long (0: always read the database). Changes made
  // through this VaultApp (disable, enable) take effect at once; a change made by another process
  // sharing the database is seen within this time.
  int64_t user_cache_ttl_ms = 1000;
};

struct RequestMeta {
  std::string ip_address;
  std::string user_agent;
};

// The authenticated caller of one request.
struct Actor {
  User user;
  RequestMeta meta;
};

struct LoginResult {
  std::string access_token;
  int64_t expires_in = 0;  // seconds
  std::string refresh_token;
  User user;
};

struct NewUser {
  std::string email;
  std::vector<std::string> roles;  // names; validated
  std::string password;
};

struct GrantRequest {
  std::string file_id;
  std::string client_email;
  bool read = true;
  bool write = false;
  bool execute = false;
  std::optional<int64_t> expires_at;
  int64_t max_duration_seconds = 0;
};

// Sessions (a later layer) are ended through this hook when what they rest on goes away. The
// default does nothing.
class SessionHooks {
 public:
  virtual ~SessionHooks() = default;
  virtual void OnPermissionRevoked(const std::string& /*permission_id*/) {}
  virtual void OnFileDeleted(const std::string& /*file_id*/) {}
  virtual void OnUserDisabled(const std::string& /*user_id*/) {}
};

// One upload in progress: bytes go straight to the blob store; more than the limit fails with
// PayloadTooLarge and removes what was written.
class Upload {
 public:
  virtual ~Upload() = default;
  virtual AppStatus Write(std::span<const char> bytes) = 0;
  virtual int64_t BytesWritten() const = 0;
};

class VaultApp {
 public:
  // `digest` hashes refresh tokens for storage (crypto/sha256.h: OpenSslDigest).
  VaultApp(Store& store, BlobStore& blobs, PasswordHasher& hasher, TokenSigner& signer,
           Digest& digest, const Clock& clock, AppConfig config = {});
  ~VaultApp();
  VaultApp(const VaultApp&) = delete;
  VaultApp& operator=(const VaultApp&) = delete;

  void SetSessionHooks(SessionHooks* hooks);
  const AppConfig& Config() const { return config_; }

  // --- authentication (§4) -------------------------------------------------------------------
  // Wrong email and wrong password give the same Unauthenticated message. RateLimited (with
  // retry_after_seconds) after too many failures for the account or the IP. Disabled users
  // cannot log in. Audits LoginSucceeded / LoginFailed.
  AppResult<LoginResult> Login(std::string_view email, std::string_view password,
                               const RequestMeta& meta);
  // Rotates: the presented token is marked used and a new pair is issued in the same family. A
  // token presented a second time revokes its family (audited) and fails Unauthenticated.
  AppResult<LoginResult> Refresh(std::string_view refresh_token, const RequestMeta& meta);
  // Revokes the token's family. Unauthenticated for an unknown token.
  AppStatus Logout(std::string_view refresh_token, const RequestMeta& meta);
  // Verifies an access token and loads its user: Unauthenticated when malformed, tampered,
  // expired, or the user no longer exists or is disabled.
  AppResult<Actor> Authenticate(std::string_view access_token, const RequestMeta& meta);

  // --- users (admin; CreateUser also serves vaultctl with actor == nullptr) -----------------
  // EmailAlreadyExists, InvalidInput (email shape, unknown or empty roles, password 8…1024).
  AppResult<User> CreateUser(const Actor* actor, const NewUser& request);
  AppResult<Page<User>> ListUsers(const Actor* actor, const PageRequest& page);
  // Disabling revokes the user's refresh tokens and calls OnUserDisabled. UserNotFound.
  AppResult<User> DisableUser(const Actor& actor, std::string_view user_id,
                              std::string_view reason);
  AppResult<User> EnableUser(const Actor& actor, std::string_view user_id);

  // --- audit (§11) ---------------------------------------------------------------------------
  // Admin: everything. The page and filters are validated (InvalidInput).
  AppResult<Page<AuditEntry>> AdminAudit(const Actor& actor, AuditQuery query);
  // Owner: entries about the owner's files and sessions only.
  AppResult<Page<AuditEntry>> OwnerAudit(const Actor& actor, AuditQuery query);
  // Appends one entry (id and timestamp filled in when empty). Failures are logged, not returned:
  // the action it records has already happened.
  void Record(AuditEntry entry);

  // --- owner files (§5) ----------------------------------------------------------------------
  // Validates the name (1…255 bytes of UTF-8, no '/', '\\', NUL or control characters, not "." or
  // ".."), and the declared size when known (PayloadTooLarge). The caller then Write()s the body
  // and calls FinishUpload, or drops the Upload to abandon it (nothing stays).
  AppResult<std::unique_ptr<Upload>> BeginUpload(const Actor& actor, std::string_view file_name,
                                                 std::string_view content_type,
                                                 std::optional<int64_t> declared_size);
  // Commits the bytes, records the file, audits FileUploaded.
  AppResult<FileRecord> FinishUpload(const Actor& actor, std::unique_ptr<Upload> upload);
  AppResult<Page<FileRecord>> ListOwnerFiles(const Actor& actor, const PageRequest& page);
  // FileNotFound when missing or deleted; Unauthorized when another owner's (audited Denied).
  AppResult<FileRecord> GetOwnerFile(const Actor& actor, std::string_view file_id);
  // Soft-deletes, revokes its permissions (one transaction), removes the bytes, calls
  // OnFileDeleted, audits FileDeleted.
  AppStatus DeleteFile(const Actor& actor, std::string_view file_id);

  // --- permissions (§5) ----------------------------------------------------------------------
  // InvalidInput: max_duration_seconds outside 1…max_session_seconds, write/execute true,
  // read false, expires_at in the past. FileNotFound / Unauthorized for the file; UserNotFound
  // when the email is not a client. Audits PermissionGranted.
  AppResult<PermissionView> Grant(const Actor& actor, const GrantRequest& request);
  AppResult<std::vector<PermissionView>> ListPermissions(const Actor& actor,
                                                         std::optional<std::string_view> file_id);
  // PermissionNotFound when missing or already revoked (a second revoke is 404); Unauthorized
  // when on another owner's file. Calls OnPermissionRevoked; audits PermissionRevoked.
  AppStatus Revoke(const Actor& actor, std::string_view permission_id);

  // --- client (§5) ---------------------------------------------------------------------------
  AppResult<std::vector<ViewableFile>> ListClientFiles(const Actor& actor);

  // Forbidden unless the actor holds `role`; audits a Denied entry naming `resource`.
  AppStatus RequireRole(const Actor& actor, Role role, std::string_view resource);
  // Validates a page request against the configured limits (InvalidInput).
  AppResult<PageRequest> CheckPage(std::optional<int64_t> page,
                                   std::optional<int64_t> page_size) const;

 private:
  struct Throttle;
  class UploadImpl;
  int64_t Now() const;
  // Logs a backend failure once and returns the generic Internal error.
  AppError Backend(std::string_view op, const Error& error) const;
  // RequireRole with the id of the resource the request was about.
  AppStatus RequireRoleFor(const Actor& actor, Role role, std::string_view resource_type,
                           std::string_view resource_id);
  // Audits a Denied entry for `actor` about a resource of `owner_id` (may be empty).
  void RecordDenied(const Actor& actor, std::string_view operation, std::string_view resource_type,
                    std::string_view resource_id, std::string_view owner_id,
                    std::string_view reason);
  // A file of the actor that is not deleted: FileNotFound, or Unauthorized (audited Denied) when
  // another owner's.
  AppResult<FileRecord> LoadOwnedFile(const Actor& actor, std::string_view file_id,
                                      std::string_view operation);
  AppStatus CheckPageRequest(const PageRequest& page) const;
  // Issues an access token and a refresh token of `family_id` for `user`.
  AppResult<LoginResult> IssueTokens(const User& user, const std::string& family_id, int64_t now);
  const std::string& DummyHash();
  // The user cache of Authenticate (see AppConfig::user_cache_ttl_ms).
  struct UserCache;
  std::optional<User> CachedUser(std::string_view id);
  void RememberUser(const User& user);
  void ForgetUser(std::string_view id);

  Store& store_;
  BlobStore& blobs_;
  PasswordHasher& hasher_;
  TokenSigner& signer_;
  Digest& digest_;
  const Clock& clock_;
  AppConfig config_;
  SessionHooks default_hooks_;
  SessionHooks* hooks_ = &default_hooks_;
  std::unique_ptr<Throttle> throttle_;
  std::unique_ptr<UserCache> user_cache_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

// Checks an id's shape: the prefix followed by 26 base32 characters (as RandomId makes them).
bool IsValidId(std::string_view id, std::string_view prefix);

}  // namespace va::vault
