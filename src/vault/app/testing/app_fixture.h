// A GoogleTest fixture for VaultApp unit tests: a VaultApp over the in-memory fakes of fakes.h,
// session hooks that record their calls, and helpers to make users, actors and files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "vault/app/testing/fakes.h"
#include "vault/app/vault_app.h"

namespace va::vault::testing {

class RecordingHooks final : public SessionHooks {
 public:
  void OnPermissionRevoked(const std::string& id) override { revoked_permissions.push_back(id); }
  void OnFileDeleted(const std::string& id) override { deleted_files.push_back(id); }
  void OnUserDisabled(const std::string& id) override { disabled_users.push_back(id); }
  std::vector<std::string> revoked_permissions;
  std::vector<std::string> deleted_files;
  std::vector<std::string> disabled_users;
};

inline constexpr char kPassword[] = "correct horse battery";

class AppTest : public ::testing::Test {
 protected:
  AppTest() { Rebuild(AppConfig{}); }

  // A fresh VaultApp with `config` over the same fakes.
  void Rebuild(const AppConfig& config) {
    app_ = std::make_unique<VaultApp>(store_, blobs_, hasher_, signer_, digest_, clock_, config);
    app_->SetSessionHooks(&hooks_);
  }

  User MakeUser(const std::string& email, std::vector<std::string> roles,
                const std::string& password = kPassword) {
    auto user = app_->CreateUser(nullptr, NewUser{email, std::move(roles), password});
    EXPECT_TRUE(user.has_value()) << (user ? "" : user.error().message);
    return user.value_or(User{});
  }

  static Actor ActorOf(const User& user, const std::string& ip = "192.0.2.10") {
    return Actor{user, RequestMeta{ip, "test-agent/1.0"}};
  }

  FileRecord Upload(const Actor& owner, const std::string& name, const std::string& content,
                    const std::string& type = "text/plain") {
    auto upload = app_->BeginUpload(owner, name, type, std::nullopt);
    EXPECT_TRUE(upload.has_value()) << (upload ? "" : upload.error().message);
    if (!upload) return {};
    EXPECT_TRUE((*upload)->Write(std::span<const char>(content.data(), content.size())));
    auto file = app_->FinishUpload(owner, std::move(*upload));
    EXPECT_TRUE(file.has_value()) << (file ? "" : file.error().message);
    return file.value_or(FileRecord{});
  }

  GrantRequest GrantFor(const FileRecord& file, const std::string& client_email) const {
    GrantRequest request;
    request.file_id = file.id;
    request.client_email = client_email;
    request.max_duration_seconds = 3600;
    return request;
  }

  // Audit entries with `action`, oldest first.
  std::vector<AuditEntry> Audited(const std::string& action) const {
    std::vector<AuditEntry> out;
    for (auto& e : store_.AuditEntries()) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }
  AuditEntry LastAudit() const {
    auto all = store_.AuditEntries();
    EXPECT_FALSE(all.empty());
    return all.empty() ? AuditEntry{} : all.back();
  }
  size_t AuditCount() const { return store_.AuditEntries().size(); }

  FakeStore store_;
  FakeBlobStore blobs_;
  FakePasswordHasher hasher_;
  FakeTokenSigner signer_;
  FakeDigest digest_;
  FakeClock clock_;
  RecordingHooks hooks_;
  std::unique_ptr<VaultApp> app_;
};

}  // namespace va::vault::testing
