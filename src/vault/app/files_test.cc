// VaultApp owner files over the fakes: upload (record, blob, audit, content type), name and
// content-type validation including path tricks, the size limit leaving nothing behind, listing,
// another owner's file (Unauthorized with a Denied entry the real owner sees), and deletion
// revoking permissions in one transaction and calling the hook.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using testing::AppTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

class FilesTest : public AppTest {
 protected:
  FilesTest()
      : owner_(MakeUser("owner@example.com", {"owner"})),
        other_(MakeUser("other@example.com", {"owner"})),
        client_(MakeUser("client@example.com", {"client"})) {}
  User owner_;
  User other_;
  User client_;
};

TEST_F(FilesTest, UploadRecordsTheFile) {
  clock_.Advance(7);
  FileRecord file = Upload(ActorOf(owner_), "report.pdf", "hello world", "application/pdf");
  EXPECT_TRUE(IsValidId(file.id, "fil_"));
  EXPECT_EQ(file.owner_id, owner_.id);
  EXPECT_EQ(file.name, "report.pdf");
  EXPECT_EQ(file.content_type, "application/pdf");
  EXPECT_EQ(file.size_bytes, 11);
  EXPECT_EQ(file.checksum_sha256.size(), 64u);
  EXPECT_EQ(file.uploaded_at, clock_.Seconds());
  EXPECT_EQ(blobs_.Blobs().at(blobs_.PathOf(owner_.id, file.id)), "hello world");
  EXPECT_EQ(blobs_.Pending(), 0);

  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "FileUploaded");
  EXPECT_EQ(entry.resource_type, "file");
  EXPECT_EQ(entry.resource_id, file.id);
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_EQ(entry.actor_id, owner_.id);
  EXPECT_THAT(entry.metadata_json, HasSubstr("\"file_name\":\"report.pdf\""));
  EXPECT_THAT(entry.metadata_json, HasSubstr("\"size\":11"));

  auto got = app_->GetOwnerFile(ActorOf(owner_), file.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->checksum_sha256, file.checksum_sha256);
}

TEST_F(FilesTest, EmptyUploadAndDefaultContentType) {
  FileRecord file = Upload(ActorOf(owner_), "empty", "", "");
  EXPECT_EQ(file.size_bytes, 0);
  EXPECT_EQ(file.content_type, "application/octet-stream");
}

TEST_F(FilesTest, FileNameValidation) {
  const std::vector<std::string> bad = {
      "",
      ".",
      "..",
      "../x",
      "a/b",
      "/etc/passwd",
      "a\\b",
      "\x01",
      "a\177b",
      std::string("a\0b", 3),
      "tab\there",
      "new\nline",
      "\xff",
      "\xc0\xaf",
      "\xed\xa0\x80",
      "c1\302\205ctl",
      std::string(256, 'n'),
  };
  for (const auto& name : bad) {
    auto r = app_->BeginUpload(ActorOf(owner_), name, "", std::nullopt);
    ASSERT_FALSE(r.has_value()) << name;
    EXPECT_EQ(r.error().code, Code::kInvalidInput) << name;
    EXPECT_THAT(r.error().message, HasSubstr("file_name")) << name;
  }
  for (const std::string& good :
       {std::string(255, 'n'), std::string("résumé 2026.pdf"), std::string("..."),
        std::string(".hidden"), std::string("日本語.txt")}) {
    auto r = app_->BeginUpload(ActorOf(owner_), good, "", std::nullopt);
    EXPECT_TRUE(r.has_value()) << good;
  }
  EXPECT_EQ(blobs_.Pending(), 0);  // every abandoned upload was aborted
}

TEST_F(FilesTest, ContentTypeAndDeclaredSizeValidation) {
  for (const std::string& bad :
       {std::string(256, 't'), std::string("text/plain\r\nX: y"), std::string("text/\xc3\xa9")}) {
    auto r = app_->BeginUpload(ActorOf(owner_), "f", bad, std::nullopt);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Code::kInvalidInput);
  }
  auto negative = app_->BeginUpload(ActorOf(owner_), "f", "", -1);
  ASSERT_FALSE(negative.has_value());
  EXPECT_EQ(negative.error().code, Code::kInvalidInput);
  auto huge = app_->BeginUpload(ActorOf(owner_), "f", "", (int64_t{1} << 30) + 1);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code, Code::kPayloadTooLarge);
  EXPECT_TRUE(app_->BeginUpload(ActorOf(owner_), "f", "", int64_t{1} << 30));
}

TEST_F(FilesTest, UploadOverTheLimitLeavesNothing) {
  AppConfig config;
  config.max_upload_bytes = 10;
  Rebuild(config);
  auto upload = app_->BeginUpload(ActorOf(owner_), "big.bin", "", std::nullopt);
  ASSERT_TRUE(upload.has_value());
  ASSERT_TRUE((*upload)->Write(Bytes("123456")));
  EXPECT_EQ((*upload)->BytesWritten(), 6);
  auto over = (*upload)->Write(Bytes("78901"));
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, Code::kPayloadTooLarge);
  EXPECT_EQ(blobs_.Pending(), 0);
  auto more = (*upload)->Write(Bytes("x"));
  ASSERT_FALSE(more.has_value());
  EXPECT_EQ(more.error().code, Code::kPayloadTooLarge);
  auto finished = app_->FinishUpload(ActorOf(owner_), std::move(*upload));
  ASSERT_FALSE(finished.has_value());
  EXPECT_EQ(finished.error().code, Code::kPayloadTooLarge);
  EXPECT_TRUE(blobs_.Blobs().empty());
  EXPECT_TRUE(store_.AllFiles().empty());
  EXPECT_TRUE(Audited("FileUploaded").empty());

  // Exactly the limit is fine.
  FileRecord file = Upload(ActorOf(owner_), "ten.bin", "0123456789");
  EXPECT_EQ(file.size_bytes, 10);
}

TEST_F(FilesTest, AbandonedUploadLeavesNothing) {
  {
    auto upload = app_->BeginUpload(ActorOf(owner_), "gone.bin", "", std::nullopt);
    ASSERT_TRUE(upload.has_value());
    ASSERT_TRUE((*upload)->Write(Bytes("partial")));
    EXPECT_EQ(blobs_.Pending(), 1);
  }
  EXPECT_EQ(blobs_.Pending(), 0);
  EXPECT_TRUE(blobs_.Blobs().empty());
  EXPECT_TRUE(store_.AllFiles().empty());
}

TEST_F(FilesTest, BlobAndStoreFailuresAreInternal) {
  blobs_.SetFailing(true);
  auto begin = app_->BeginUpload(ActorOf(owner_), "f", "", std::nullopt);
  ASSERT_FALSE(begin.has_value());
  EXPECT_EQ(begin.error().code, Code::kInternal);
  blobs_.SetFailing(false);

  auto upload = app_->BeginUpload(ActorOf(owner_), "f", "", std::nullopt);
  ASSERT_TRUE(upload.has_value());
  ASSERT_TRUE((*upload)->Write(Bytes("abc")));
  store_.SetFailing(true);
  auto finished = app_->FinishUpload(ActorOf(owner_), std::move(*upload));
  store_.SetFailing(false);
  ASSERT_FALSE(finished.has_value());
  EXPECT_EQ(finished.error().code, Code::kInternal);
  EXPECT_TRUE(blobs_.Blobs().empty());  // the committed bytes were removed again
}

TEST_F(FilesTest, OnlyOwnersUpload) {
  auto r = app_->BeginUpload(ActorOf(client_), "f", "", std::nullopt);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kForbidden);
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);
  EXPECT_EQ(LastAudit().resource_type, "file");
  auto list = app_->ListOwnerFiles(ActorOf(client_), PageRequest{});
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code, Code::kForbidden);
}

TEST_F(FilesTest, FinishUploadOfAnotherOwner) {
  auto upload = app_->BeginUpload(ActorOf(owner_), "mine", "", std::nullopt);
  ASSERT_TRUE(upload.has_value());
  auto r = app_->FinishUpload(ActorOf(other_), std::move(*upload));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kUnauthorized);
  EXPECT_EQ(blobs_.Pending(), 0);
}

TEST_F(FilesTest, ListOwnerFilesNewestFirstAndPaged) {
  FileRecord a = Upload(ActorOf(owner_), "a", "1");
  clock_.Advance(1);
  FileRecord b = Upload(ActorOf(owner_), "b", "2");
  clock_.Advance(1);
  FileRecord c = Upload(ActorOf(owner_), "c", "3");
  Upload(ActorOf(other_), "theirs", "4");
  auto page = app_->ListOwnerFiles(ActorOf(owner_), PageRequest{1, 2});
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->total_count, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, c.id);
  EXPECT_EQ(page->items[1].id, b.id);
  auto second = app_->ListOwnerFiles(ActorOf(owner_), PageRequest{2, 2});
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, a.id);
  auto bad = app_->ListOwnerFiles(ActorOf(owner_), PageRequest{1, 101});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Code::kInvalidInput);
}

TEST_F(FilesTest, AnotherOwnersFileIsUnauthorizedAndAudited) {
  FileRecord file = Upload(ActorOf(owner_), "secret.pdf", "data");
  auto got = app_->GetOwnerFile(ActorOf(other_, "198.51.100.7"), file.id);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Code::kUnauthorized);
  auto entry = LastAudit();
  EXPECT_EQ(entry.result, AuditResult::kDenied);
  EXPECT_EQ(entry.actor_id, other_.id);
  EXPECT_EQ(entry.resource_type, "file");
  EXPECT_EQ(entry.resource_id, file.id);
  EXPECT_EQ(entry.owner_id, owner_.id);  // the real owner sees the attempt
  EXPECT_EQ(entry.ip_address, "198.51.100.7");
  EXPECT_THAT(entry.metadata_json, HasSubstr("GetFile"));

  auto del = app_->DeleteFile(ActorOf(other_), file.id);
  ASSERT_FALSE(del.has_value());
  EXPECT_EQ(del.error().code, Code::kUnauthorized);
  EXPECT_EQ(LastAudit().owner_id, owner_.id);
  EXPECT_FALSE(store_.AllFiles()[0].deleted_at.has_value());
  EXPECT_TRUE(hooks_.deleted_files.empty());

  // The owner's audit query shows both attempts.
  auto audit = app_->OwnerAudit(ActorOf(owner_), AuditQuery{});
  ASSERT_TRUE(audit.has_value());
  int denied = 0;
  for (const auto& e : audit->items) denied += e.result == AuditResult::kDenied ? 1 : 0;
  EXPECT_EQ(denied, 2);
}

TEST_F(FilesTest, GetOwnerFileErrors) {
  for (const char* bad : {"", "../x", "fil_", "fil_0000000000000000000000000", "%2e%2e",
                          "usr_0000000000000000000000000a", "fil_000000000000000000000000I0",
                          "FIL_0000000000000000000000000a"}) {
    auto r = app_->GetOwnerFile(ActorOf(owner_), bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Code::kInvalidInput) << bad;
  }
  auto missing = app_->GetOwnerFile(ActorOf(owner_), "fil_0000000000000000000000000a");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Code::kFileNotFound);
  auto forbidden = app_->GetOwnerFile(ActorOf(client_), "fil_0000000000000000000000000a");
  ASSERT_FALSE(forbidden.has_value());
  EXPECT_EQ(forbidden.error().code, Code::kForbidden);
}

TEST_F(FilesTest, DeleteRevokesPermissionsAndCallsTheHook) {
  FileRecord file = Upload(ActorOf(owner_), "doc.txt", "text");
  FileRecord kept = Upload(ActorOf(owner_), "kept.txt", "text");
  auto p1 = app_->Grant(ActorOf(owner_), GrantFor(file, "client@example.com"));
  auto p2 = app_->Grant(ActorOf(owner_), GrantFor(kept, "client@example.com"));
  ASSERT_TRUE(p1.has_value());
  ASSERT_TRUE(p2.has_value());
  int transactions = store_.Transactions();
  clock_.Advance(3);

  ASSERT_TRUE(app_->DeleteFile(ActorOf(owner_), file.id));
  EXPECT_EQ(store_.Transactions(), transactions + 1);
  EXPECT_THAT(hooks_.deleted_files, ElementsAre(file.id));
  EXPECT_FALSE(blobs_.Blobs().contains(blobs_.PathOf(owner_.id, file.id)));
  EXPECT_TRUE(blobs_.Blobs().contains(blobs_.PathOf(owner_.id, kept.id)));
  for (const auto& p : store_.AllPermissions()) {
    if (p.id == p1->permission.id) {
      EXPECT_EQ(p.revoked_at, clock_.Seconds());
    }
    if (p.id == p2->permission.id) {
      EXPECT_FALSE(p.revoked_at.has_value());
    }
  }
  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "FileDeleted");
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_EQ(entry.resource_id, file.id);
  EXPECT_THAT(entry.metadata_json, HasSubstr(p1->permission.id));

  auto again = app_->DeleteFile(ActorOf(owner_), file.id);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Code::kFileNotFound);
  auto get = app_->GetOwnerFile(ActorOf(owner_), file.id);
  ASSERT_FALSE(get.has_value());
  EXPECT_EQ(get.error().code, Code::kFileNotFound);
  auto viewable = app_->ListClientFiles(ActorOf(client_));
  ASSERT_TRUE(viewable.has_value());
  ASSERT_EQ(viewable->size(), 1u);
  EXPECT_EQ((*viewable)[0].file.id, kept.id);
  auto list = app_->ListOwnerFiles(ActorOf(owner_), PageRequest{});
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->total_count, 1);
}

TEST_F(FilesTest, DeleteBackendFailureChangesNothing) {
  FileRecord file = Upload(ActorOf(owner_), "doc.txt", "text");
  store_.SetFailing(true);
  auto r = app_->DeleteFile(ActorOf(owner_), file.id);
  store_.SetFailing(false);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInternal);
  EXPECT_TRUE(hooks_.deleted_files.empty());
  EXPECT_EQ(blobs_.Blobs().size(), 1u);
}

}  // namespace
}  // namespace va::vault
