// In-memory fakes of every port the application layer drives, for unit tests: a Store with the
// five repositories and snapshot/rollback transactions, a BlobStore in memory, a fast but real
// salted PasswordHasher, a keyed TokenSigner, a Digest and a settable Clock. None of them is
// cryptographically strong; all are thread-safe. Each fake can be told to fail (SetFailing) so
// tests reach the Internal paths.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "vault/app/digest.h"
#include "vault/app/ports.h"
#include "vault/domain/model.h"

namespace va::vault::testing {

// A non-cryptographic 128-bit hash as 32 hex characters (two FNV-1a passes).
std::string FakeHashHex(std::string_view data);

class FakeStore final : public Store {
 public:
  FakeStore();
  ~FakeStore() override;

  UserRepository& Users() override;
  FileRepository& Files() override;
  PermissionRepository& Permissions() override;
  TokenRepository& Tokens() override;
  AuditRepository& Audit() override;
  Status InTransaction(const std::function<Status()>& body) override;
  Status Ping() override;

  // Every repository call fails with kSystem while set.
  void SetFailing(bool failing) { failing_ = failing; }
  // Snapshots for assertions.
  std::vector<AuditEntry> AuditEntries() const;
  std::vector<RefreshToken> RefreshTokens() const;
  std::vector<Permission> AllPermissions() const;
  std::vector<FileRecord> AllFiles() const;
  int Transactions() const { return transactions_; }

  struct Data {
    std::vector<User> users;  // insertion order
    std::vector<FileRecord> files;
    std::vector<Permission> permissions;
    std::vector<RefreshToken> tokens;
    std::vector<AuditEntry> audit;  // append order
  };

 private:
  friend class FakeUsers;
  friend class FakeFiles;
  friend class FakePermissions;
  friend class FakeTokens;
  friend class FakeAudit;
  Status Check() const;

  mutable std::recursive_mutex mutex_;
  Data data_;
  std::atomic<bool> failing_{false};
  std::atomic<int> transactions_{0};
  std::unique_ptr<UserRepository> users_;
  std::unique_ptr<FileRepository> files_;
  std::unique_ptr<PermissionRepository> permissions_;
  std::unique_ptr<TokenRepository> tokens_;
  std::unique_ptr<AuditRepository> audit_;
};

class FakeBlobStore final : public BlobStore {
 public:
  Result<std::unique_ptr<BlobWriter>> Create(std::string_view owner_id,
                                             std::string_view file_id) override;
  Status Remove(std::string_view owner_id, std::string_view file_id) override;
  std::string PathOf(std::string_view owner_id, std::string_view file_id) const override;

  // Committed blobs by path, and blobs being written (not yet committed or aborted).
  std::map<std::string, std::string> Blobs() const;
  int Pending() const;
  void SetFailing(bool failing) { failing_ = failing; }

 private:
  friend class FakeBlobWriter;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> blobs_;
  int pending_ = 0;
  std::atomic<bool> failing_{false};
};

// "fake$<salt>$<hash>"; counts calls so tests can see that a check ran.
class FakePasswordHasher final : public PasswordHasher {
 public:
  Result<std::string> Hash(std::string_view password) override;
  bool Verify(std::string_view hash, std::string_view password) override;
  int VerifyCalls() const { return verify_calls_; }
  void SetFailing(bool failing) { failing_ = failing; }

 private:
  std::atomic<int> verify_calls_{0};
  std::atomic<bool> failing_{false};
};

// "fake.<sub>.<roles>.<iat>.<exp>.<jti>.<mac>" with a keyed FakeHashHex as the mac.
class FakeTokenSigner final : public TokenSigner {
 public:
  explicit FakeTokenSigner(std::string key = "fake-key") : key_(std::move(key)) {}
  std::string Sign(const AccessClaims& claims) override;
  Result<AccessClaims> Verify(std::string_view token, int64_t now) override;

 private:
  std::string key_;
};

// Not SHA-256: FakeHashHex twice over, 64 hex characters, so shapes match.
class FakeDigest final : public Digest {
 public:
  std::string Sha256Hex(std::string_view data) override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_seconds = 1'800'000'000);
  WallTime Now() const override;
  MonoTime Mono() const override;
  void Set(int64_t unix_seconds);
  void Advance(int64_t seconds);
  int64_t Seconds() const { return seconds_; }

 private:
  std::atomic<int64_t> seconds_;
};

}  // namespace va::vault::testing
