// A GoogleTest fixture base for the vault HTTP tests: one vaultd per test suite with an admin,
// two owners and two clients made by vaultctl before it starts, each logged in once (argon2id
// makes a login cost ~0.1 s). Tests in a suite share the server, so each makes the files and
// extra users it asserts on and never depends on totals others can change.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "vault/vaultd_env.h"

namespace va::vaulttest {

inline const std::string kPassword = "correct horse battery staple 7";

class VaultSuite : public ::testing::Test {
 protected:
  // Starts the suite's vaultd; a failure leaves vaultd_ empty and every test fails in SetUp.
  static void StartServer(VaultdOptions options = {}) {
    options.users = {
        {"admin@example.com", {"admin"}, kPassword},
        {"owner@example.com", {"owner"}, kPassword},
        {"owner2@example.com", {"owner"}, kPassword},
        {"client@example.com", {"client"}, kPassword},
        {"client2@example.com", {"client"}, kPassword},
    };
    auto started = Vaultd::Start(std::move(options));
    if (!started) {
      start_error_ = started.error().message;
      return;
    }
    vaultd_ = std::move(*started);
    Login* logins[] = {&admin_, &owner_, &owner2_, &client_, &client2_};
    const char* emails[] = {"admin@example.com", "owner@example.com", "owner2@example.com",
                            "client@example.com", "client2@example.com"};
    for (size_t i = 0; i < 5; ++i) {
      auto login = vaultd_->LogIn(emails[i], kPassword);
      if (!login) {
        start_error_ = login.error().message + "\n" + vaultd_->Output();
        vaultd_->Stop(15, std::chrono::seconds(10), /*expect_clean=*/false);
        vaultd_.reset();
        return;
      }
      *logins[i] = *login;
    }
  }
  static void StopServer() { vaultd_.reset(); }

  static void SetUpTestSuite() { StartServer(); }
  static void TearDownTestSuite() { StopServer(); }

  void SetUp() override { ASSERT_NE(vaultd_, nullptr) << "vaultd did not start: " << start_error_; }

  HttpClient& Http() { return vaultd_->Http(); }

  // A fresh user made through the admin API and logged in; `tag` keeps emails unique.
  Login NewUser(const std::string& tag, const std::vector<std::string>& roles) {
    static int counter = 0;
    UserSpec spec{tag + "-" + std::to_string(++counter) + "@example.com", roles, kPassword};
    auto login = vaultd_->AddViaApiAndLogIn(admin_.access_token, spec);
    EXPECT_TRUE(login.has_value()) << login.error().message;
    return login ? *login : Login{};
  }

  static inline std::unique_ptr<Vaultd> vaultd_;
  static inline std::string start_error_;
  static inline Login admin_, owner_, owner2_, client_, client2_;
};

}  // namespace va::vaulttest
