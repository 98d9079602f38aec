// In-memory fakes of the application layer's ports; see fakes.h.
#include "vault/app/testing/fakes.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <utility>

#include "base/ids.h"

namespace va::vault::testing {
namespace {

uint64_t Fnv1a(std::string_view data, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

template <typename T>
Page<T> Slice(const std::vector<T>& all, const PageRequest& page) {
  Page<T> out;
  out.total_count = static_cast<int64_t>(all.size());
  int64_t start = static_cast<int64_t>(page.page - 1) * page.page_size;
  for (int64_t i = start; i < out.total_count && i < start + page.page_size; ++i) {
    out.items.push_back(all[static_cast<size_t>(i)]);
  }
  return out;
}

Status Failing() { return Fail(ErrorKind::kSystem, "fake store failure"); }

}  // namespace

std::string FakeHashHex(std::string_view data) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(Fnv1a(data, 0)),
                static_cast<unsigned long long>(Fnv1a(data, 0x9e3779b97f4a7c15ULL)));
  return buf;
}

// --- repositories ------------------------------------------------------------------------------

class FakeUsers final : public UserRepository {
 public:
  explicit FakeUsers(FakeStore& s) : s_(s) {}
  Result<bool> Insert(const User& user) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (const auto& u : s_.data_.users) {
      if (Lower(u.email) == Lower(user.email)) return false;
    }
    s_.data_.users.push_back(user);
    return true;
  }
  Result<std::optional<User>> FindById(std::string_view id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (const auto& u : s_.data_.users) {
      if (u.id == id) return u;
    }
    return std::nullopt;
  }
  Result<std::optional<User>> FindByEmail(std::string_view email) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (const auto& u : s_.data_.users) {
      if (Lower(u.email) == Lower(email)) return u;
    }
    return std::nullopt;
  }
  Result<Page<User>> List(const PageRequest& page) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    return Slice(s_.data_.users, page);
  }
  Result<bool> SetStatus(std::string_view id, UserStatus status, int64_t at,
                         std::string_view reason) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto& u : s_.data_.users) {
      if (u.id != id) continue;
      u.status = status;
      if (status == UserStatus::kDisabled) {
        u.disabled_at = at;
        u.disabled_reason = std::string(reason);
      } else {
        u.disabled_at.reset();
        u.disabled_reason.clear();
      }
      return true;
    }
    return false;
  }

 private:
  FakeStore& s_;
};

class FakeFiles final : public FileRepository {
 public:
  explicit FakeFiles(FakeStore& s) : s_(s) {}
  Status Insert(const FileRecord& file) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    s_.data_.files.push_back(file);
    return {};
  }
  Result<std::optional<FileRecord>> FindById(std::string_view id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (const auto& f : s_.data_.files) {
      if (f.id == id) return f;
    }
    return std::nullopt;
  }
  Result<Page<FileRecord>> ListByOwner(std::string_view owner_id,
                                       const PageRequest& page) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    std::vector<FileRecord> mine;
    for (auto it = s_.data_.files.rbegin(); it != s_.data_.files.rend(); ++it) {
      if (it->owner_id == owner_id && !it->deleted_at) mine.push_back(*it);
    }
    return Slice(mine, page);
  }
  Result<bool> MarkDeleted(std::string_view id, int64_t at) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto& f : s_.data_.files) {
      if (f.id == id && !f.deleted_at) {
        f.deleted_at = at;
        return true;
      }
    }
    return false;
  }

 private:
  FakeStore& s_;
};

class FakePermissions final : public PermissionRepository {
 public:
  explicit FakePermissions(FakeStore& s) : s_(s) {}
  Status Insert(const Permission& permission) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    s_.data_.permissions.push_back(permission);
    return {};
  }
  Result<std::optional<Permission>> FindById(std::string_view id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (const auto& p : s_.data_.permissions) {
      if (p.id == id) return p;
    }
    return std::nullopt;
  }
  Result<std::vector<PermissionView>> ListByOwner(
      std::string_view owner_id, std::optional<std::string_view> file_id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    std::vector<PermissionView> out;
    for (auto it = s_.data_.permissions.rbegin(); it != s_.data_.permissions.rend(); ++it) {
      const FileRecord* file = FileOf(it->file_id);
      if (file == nullptr || file->owner_id != owner_id) continue;
      if (file_id && it->file_id != *file_id) continue;
      out.push_back(PermissionView{*it, EmailOf(it->client_id), file->name});
    }
    return out;
  }
  Result<std::optional<Permission>> FindLatest(std::string_view client_id,
                                               std::string_view file_id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto it = s_.data_.permissions.rbegin(); it != s_.data_.permissions.rend(); ++it) {
      if (it->client_id == client_id && it->file_id == file_id) return *it;
    }
    return std::nullopt;
  }
  Result<std::vector<ViewableFile>> ListViewable(std::string_view client_id, int64_t now) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    std::vector<ViewableFile> out;
    for (auto it = s_.data_.permissions.rbegin(); it != s_.data_.permissions.rend(); ++it) {
      if (it->client_id != client_id || it->revoked_at) continue;
      if (it->expires_at && *it->expires_at <= now) continue;
      const FileRecord* file = FileOf(it->file_id);
      if (file == nullptr || file->deleted_at) continue;
      out.push_back(ViewableFile{*file, *it});
    }
    return out;
  }
  Result<bool> Revoke(std::string_view id, int64_t at) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto& p : s_.data_.permissions) {
      if (p.id == id && !p.revoked_at) {
        p.revoked_at = at;
        return true;
      }
    }
    return false;
  }
  Result<std::vector<std::string>> RevokeAllForFile(std::string_view file_id, int64_t at) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    std::vector<std::string> ids;
    for (auto& p : s_.data_.permissions) {
      if (p.file_id == file_id && !p.revoked_at) {
        p.revoked_at = at;
        ids.push_back(p.id);
      }
    }
    return ids;
  }

 private:
  const FileRecord* FileOf(std::string_view id) const {
    for (const auto& f : s_.data_.files) {
      if (f.id == id) return &f;
    }
    return nullptr;
  }
  std::string EmailOf(std::string_view user_id) const {
    for (const auto& u : s_.data_.users) {
      if (u.id == user_id) return u.email;
    }
    return "";
  }
  FakeStore& s_;
};

class FakeTokens final : public TokenRepository {
 public:
  explicit FakeTokens(FakeStore& s) : s_(s) {}
  Status Insert(const RefreshToken& token) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    s_.data_.tokens.push_back(token);
    return {};
  }
  Result<std::optional<RefreshToken>> Find(std::string_view token_hash) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (const auto& t : s_.data_.tokens) {
      if (t.token_hash == token_hash) return t;
    }
    return std::nullopt;
  }
  Result<bool> MarkUsed(std::string_view token_hash, int64_t at) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto& t : s_.data_.tokens) {
      if (t.token_hash != token_hash) continue;
      if (t.used_at) return false;
      t.used_at = at;
      return true;
    }
    return false;
  }
  Status RevokeFamily(std::string_view family_id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto& t : s_.data_.tokens) {
      if (t.family_id == family_id) t.family_revoked = true;
    }
    return {};
  }
  Status RevokeAllForUser(std::string_view user_id) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    for (auto& t : s_.data_.tokens) {
      if (t.user_id == user_id) t.family_revoked = true;
    }
    return {};
  }

 private:
  FakeStore& s_;
};

class FakeAudit final : public AuditRepository {
 public:
  explicit FakeAudit(FakeStore& s) : s_(s) {}
  Status Append(const AuditEntry& entry) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    s_.data_.audit.push_back(entry);
    return {};
  }
  Result<Page<AuditEntry>> Query(const AuditQuery& q) override {
    std::lock_guard lock(s_.mutex_);
    VA_TRY_STATUS(s_.Check());
    std::vector<AuditEntry> matching;
    for (const auto& e : s_.data_.audit) {
      if (q.action && e.action != *q.action) continue;
      if (q.actor_id && e.actor_id != *q.actor_id) continue;
      if (q.resource_id && e.resource_id != *q.resource_id) continue;
      if (q.since && e.timestamp < *q.since) continue;
      if (q.until && e.timestamp > *q.until) continue;
      if (q.owner_id && e.owner_id != *q.owner_id) continue;
      matching.push_back(e);
    }
    // Newest first: by timestamp, then by insertion order.
    std::reverse(matching.begin(), matching.end());
    std::stable_sort(
        matching.begin(), matching.end(),
        [](const AuditEntry& a, const AuditEntry& b) { return a.timestamp > b.timestamp; });
    return Slice(matching, q.page);
  }

 private:
  FakeStore& s_;
};

// --- store -------------------------------------------------------------------------------------

FakeStore::FakeStore()
    : users_(std::make_unique<FakeUsers>(*this)),
      files_(std::make_unique<FakeFiles>(*this)),
      permissions_(std::make_unique<FakePermissions>(*this)),
      tokens_(std::make_unique<FakeTokens>(*this)),
      audit_(std::make_unique<FakeAudit>(*this)) {}
FakeStore::~FakeStore() = default;

UserRepository& FakeStore::Users() { return *users_; }
FileRepository& FakeStore::Files() { return *files_; }
PermissionRepository& FakeStore::Permissions() { return *permissions_; }
TokenRepository& FakeStore::Tokens() { return *tokens_; }
AuditRepository& FakeStore::Audit() { return *audit_; }

Status FakeStore::Check() const {
  if (failing_) return Failing();
  return {};
}

Status FakeStore::InTransaction(const std::function<Status()>& body) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  ++transactions_;
  Data snapshot = data_;
  Status result = body();
  if (!result) data_ = std::move(snapshot);
  return result;
}

Status FakeStore::Ping() { return Check(); }

std::vector<AuditEntry> FakeStore::AuditEntries() const {
  std::lock_guard lock(mutex_);
  return data_.audit;
}
std::vector<RefreshToken> FakeStore::RefreshTokens() const {
  std::lock_guard lock(mutex_);
  return data_.tokens;
}
std::vector<Permission> FakeStore::AllPermissions() const {
  std::lock_guard lock(mutex_);
  return data_.permissions;
}
std::vector<FileRecord> FakeStore::AllFiles() const {
  std::lock_guard lock(mutex_);
  return data_.files;
}

// --- blobs -------------------------------------------------------------------------------------

class FakeBlobWriter final : public BlobWriter {
 public:
  FakeBlobWriter(FakeBlobStore& store, std::string path) : store_(store), path_(std::move(path)) {
    std::lock_guard lock(store_.mutex_);
    ++store_.pending_;
  }
  ~FakeBlobWriter() override { Abort(); }
  FakeBlobWriter(const FakeBlobWriter&) = delete;
  FakeBlobWriter& operator=(const FakeBlobWriter&) = delete;

  Status Write(std::span<const char> bytes) override {
    if (finished_) return Fail(ErrorKind::kInvalid, "write after commit or abort");
    if (store_.failing_) return Fail(ErrorKind::kSystem, "fake blob failure");
    data_.append(bytes.data(), bytes.size());
    return {};
  }
  Result<Committed> Commit() override {
    if (finished_) return Fail(ErrorKind::kInvalid, "commit after commit or abort");
    if (store_.failing_) return Fail(ErrorKind::kSystem, "fake blob failure");
    finished_ = true;
    std::lock_guard lock(store_.mutex_);
    --store_.pending_;
    store_.blobs_[path_] = data_;
    return Committed{static_cast<int64_t>(data_.size()), FakeHashHex(data_) + FakeHashHex(data_)};
  }
  void Abort() override {
    if (finished_) return;
    finished_ = true;
    data_.clear();
    std::lock_guard lock(store_.mutex_);
    --store_.pending_;
  }
  int64_t BytesWritten() const override { return static_cast<int64_t>(data_.size()); }

 private:
  FakeBlobStore& store_;
  std::string path_;
  std::string data_;
  bool finished_ = false;
};

Result<std::unique_ptr<BlobWriter>> FakeBlobStore::Create(std::string_view owner_id,
                                                          std::string_view file_id) {
  if (failing_) return Fail(ErrorKind::kSystem, "fake blob failure");
  return std::unique_ptr<BlobWriter>(
      std::make_unique<FakeBlobWriter>(*this, PathOf(owner_id, file_id)));
}

Status FakeBlobStore::Remove(std::string_view owner_id, std::string_view file_id) {
  if (failing_) return Fail(ErrorKind::kSystem, "fake blob failure");
  std::lock_guard lock(mutex_);
  blobs_.erase(PathOf(owner_id, file_id));
  return {};
}

std::string FakeBlobStore::PathOf(std::string_view owner_id, std::string_view file_id) const {
  return "/fake/users/" + std::string(owner_id) + "/files/" + std::string(file_id);
}

std::map<std::string, std::string> FakeBlobStore::Blobs() const {
  std::lock_guard lock(mutex_);
  return blobs_;
}

int FakeBlobStore::Pending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

// --- hasher, signer, digest, clock --------------------------------------------------------------

Result<std::string> FakePasswordHasher::Hash(std::string_view password) {
  if (failing_) return Fail(ErrorKind::kSystem, "fake hasher failure");
  std::string salt = RandomHex(8);
  return "fake$" + salt + "$" + FakeHashHex(salt + std::string(password));
}

bool FakePasswordHasher::Verify(std::string_view hash, std::string_view password) {
  ++verify_calls_;
  if (hash.substr(0, 5) != "fake$") return false;
  std::string_view rest = hash.substr(5);
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) return false;
  std::string salt(rest.substr(0, dollar));
  return rest.substr(dollar + 1) == FakeHashHex(salt + std::string(password));
}

std::string FakeTokenSigner::Sign(const AccessClaims& c) {
  std::string payload = "fake." + c.subject + "." + std::to_string(c.roles) + "." +
                        std::to_string(c.issued_at) + "." + std::to_string(c.expires_at) + "." +
                        c.token_id;
  return payload + "." + FakeHashHex(key_ + payload);
}

Result<AccessClaims> FakeTokenSigner::Verify(std::string_view token, int64_t now) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 7 || parts[0] != "fake") return Fail(ErrorKind::kInvalid, "malformed");
  std::string_view payload = token.substr(0, token.rfind('.'));
  if (FakeHashHex(key_ + std::string(payload)) != parts[6]) {
    return Fail(ErrorKind::kInvalid, "bad signature");
  }
  auto number = [](std::string_view s, int64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  AccessClaims c;
  int64_t roles = 0;
  if (!number(parts[2], roles) || !number(parts[3], c.issued_at) ||
      !number(parts[4], c.expires_at)) {
    return Fail(ErrorKind::kInvalid, "malformed");
  }
  c.subject = std::string(parts[1]);
  c.roles = static_cast<RoleSet>(roles);
  c.token_id = std::string(parts[5]);
  if (now >= c.expires_at) return Fail(ErrorKind::kTimeout, "expired");
  return c;
}

std::string FakeDigest::Sha256Hex(std::string_view data) {
  return FakeHashHex(data) + FakeHashHex("salt" + std::string(data));
}

FakeClock::FakeClock(int64_t unix_seconds) : seconds_(unix_seconds) {}
WallTime FakeClock::Now() const { return WallTime(std::chrono::seconds(seconds_.load())); }
MonoTime FakeClock::Mono() const { return MonoTime(std::chrono::seconds(seconds_.load())); }
void FakeClock::Set(int64_t unix_seconds) { seconds_ = unix_seconds; }
void FakeClock::Advance(int64_t seconds) { seconds_ += seconds; }

}  // namespace va::vault::testing
