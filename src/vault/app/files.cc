// Owner files (spec §5): streamed uploads with a size limit, listing, reading one file's record,
// and soft deletion that revokes the file's permissions in the same transaction, removes the
// bytes and ends the sessions on it. Another owner's file answers Unauthorized, audited Denied
// with that owner's id so they see the attempt.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "base/log.h"
#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {

class VaultApp::UploadImpl final : public Upload {
 public:
  UploadImpl(std::unique_ptr<BlobWriter> writer, int64_t limit, std::string owner_id,
             std::string file_id, std::string name, std::string content_type)
      : writer_(std::move(writer)),
        limit_(limit),
        owner_id_(std::move(owner_id)),
        file_id_(std::move(file_id)),
        name_(std::move(name)),
        content_type_(std::move(content_type)) {}
  ~UploadImpl() override {
    if (!done_) writer_->Abort();
  }
  UploadImpl(const UploadImpl&) = delete;
  UploadImpl& operator=(const UploadImpl&) = delete;

  // PayloadTooLarge past the limit, Internal when the blob store fails; either way everything
  // written so far is removed and later writes fail the same way.
  AppStatus Write(std::span<const char> bytes) override {
    if (failed_) return tl::unexpected(*failed_);
    if (done_) return AppFail(Code::kInternal, "internal error");
    if (static_cast<int64_t>(bytes.size()) > limit_ - writer_->BytesWritten()) {
      return FailWith(AppError{Code::kPayloadTooLarge,
                               "upload larger than " + std::to_string(limit_) + " bytes", 0});
    }
    if (auto written = writer_->Write(bytes); !written) {
      LogError("vault_store_failed", {{"op", "write_blob"}, {"error", written.error().message}});
      return FailWith(AppError{Code::kInternal, "internal error", 0});
    }
    return {};
  }
  int64_t BytesWritten() const override { return writer_->BytesWritten(); }

  AppStatus Failed() const {
    if (failed_) return tl::unexpected(*failed_);
    return {};
  }
  // Commits the bytes; Internal when the blob store fails (the bytes are then gone).
  Result<BlobWriter::Committed> Commit() {
    done_ = true;
    auto committed = writer_->Commit();
    if (!committed) writer_->Abort();
    return committed;
  }

  const std::string& OwnerId() const { return owner_id_; }
  const std::string& FileId() const { return file_id_; }
  const std::string& Name() const { return name_; }
  const std::string& ContentType() const { return content_type_; }

 private:
  tl::unexpected<AppError> FailWith(AppError error) {
    writer_->Abort();
    failed_ = error;
    return tl::unexpected(std::move(error));
  }

  std::unique_ptr<BlobWriter> writer_;
  int64_t limit_;
  std::string owner_id_;
  std::string file_id_;
  std::string name_;
  std::string content_type_;
  std::optional<AppError> failed_;
  bool done_ = false;
};

AppResult<FileRecord> VaultApp::LoadOwnedFile(const Actor& actor, std::string_view file_id,
                                              std::string_view operation) {
  auto found = store_.Files().FindById(file_id);
  if (!found) return tl::unexpected(Backend("find_file", found.error()));
  if (!found->has_value() || (*found)->deleted_at.has_value()) {
    return AppFail(Code::kFileNotFound, "no such file");
  }
  if ((*found)->owner_id != actor.user.id) {
    RecordDenied(actor, operation, "file", file_id, (*found)->owner_id, "not_owner");
    return AppFail(Code::kUnauthorized, "the file belongs to another owner");
  }
  return std::move(**found);
}

AppResult<std::unique_ptr<Upload>> VaultApp::BeginUpload(const Actor& actor,
                                                         std::string_view file_name,
                                                         std::string_view content_type,
                                                         std::optional<int64_t> declared_size) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "file", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckFileName(file_name); !ok) return tl::unexpected(ok.error());
  auto type = CheckContentType(content_type);
  if (!type) return tl::unexpected(type.error());
  if (declared_size) {
    if (*declared_size < 0) return AppFail(Code::kInvalidInput, "size: must not be negative");
    if (*declared_size > config_.max_upload_bytes) {
      return AppFail(Code::kPayloadTooLarge,
                     "upload larger than " + std::to_string(config_.max_upload_bytes) + " bytes");
    }
  }
  std::string file_id = RandomId("fil_");
  auto writer = blobs_.Create(actor.user.id, file_id);
  if (!writer) return tl::unexpected(Backend("create_blob", writer.error()));
  return std::unique_ptr<Upload>(
      std::make_unique<UploadImpl>(std::move(*writer), config_.max_upload_bytes, actor.user.id,
                                   std::move(file_id), std::string(file_name), std::move(*type)));
}

AppResult<FileRecord> VaultApp::FinishUpload(const Actor& actor, std::unique_ptr<Upload> upload) {
  auto* impl = dynamic_cast<UploadImpl*>(upload.get());
  VA_CHECK(impl != nullptr, "FinishUpload takes an Upload made by BeginUpload");
  if (impl->OwnerId() != actor.user.id) {
    RecordDenied(actor, "UploadFile", "file", impl->FileId(), impl->OwnerId(), "not_owner");
    return AppFail(Code::kUnauthorized, "the upload belongs to another owner");
  }
  if (auto ok = impl->Failed(); !ok) return tl::unexpected(ok.error());
  auto committed = impl->Commit();
  if (!committed) return tl::unexpected(Backend("commit_blob", committed.error()));

  FileRecord file;
  file.id = impl->FileId();
  file.owner_id = actor.user.id;
  file.name = impl->Name();
  file.content_type = impl->ContentType();
  file.size_bytes = committed->size_bytes;
  file.checksum_sha256 = committed->sha256_hex;
  file.uploaded_at = Now();
  if (auto inserted = store_.Files().Insert(file); !inserted) {
    (void)blobs_.Remove(file.owner_id, file.id);
    return tl::unexpected(Backend("insert_file", inserted.error()));
  }

  AuditEntry entry;
  entry.actor_id = actor.user.id;
  entry.actor_email = actor.user.email;
  entry.action = "FileUploaded";
  entry.resource_type = "file";
  entry.resource_id = file.id;
  entry.ip_address = actor.meta.ip_address;
  entry.user_agent = actor.meta.user_agent;
  entry.owner_id = file.owner_id;
  entry.metadata_json = Meta()
                            .Str("file_name", file.name)
                            .Int("size", file.size_bytes)
                            .Str("content_type", file.content_type)
                            .Str("checksum_sha256", file.checksum_sha256)
                            .Json();
  Record(std::move(entry));
  return file;
}

AppResult<Page<FileRecord>> VaultApp::ListOwnerFiles(const Actor& actor, const PageRequest& page) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "file", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckPageRequest(page); !ok) return tl::unexpected(ok.error());
  auto files = store_.Files().ListByOwner(actor.user.id, page);
  if (!files) return tl::unexpected(Backend("list_files", files.error()));
  return std::move(*files);
}

AppResult<FileRecord> VaultApp::GetOwnerFile(const Actor& actor, std::string_view file_id) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "file", file_id); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("file_id", file_id, "fil_"); !ok) return tl::unexpected(ok.error());
  return LoadOwnedFile(actor, file_id, "GetFile");
}

AppStatus VaultApp::DeleteFile(const Actor& actor, std::string_view file_id) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "file", file_id); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("file_id", file_id, "fil_"); !ok) return tl::unexpected(ok.error());
  auto file = LoadOwnedFile(actor, file_id, "DeleteFile");
  if (!file) return tl::unexpected(file.error());

  const int64_t now = Now();
  bool deleted = false;
  std::vector<std::string> revoked;
  auto done = store_.InTransaction([&]() -> Status {
    VA_TRY(deleted, store_.Files().MarkDeleted(file_id, now));
    if (!deleted) return {};  // deleted concurrently: nothing to change
    VA_TRY(revoked, store_.Permissions().RevokeAllForFile(file_id, now));
    return {};
  });
  if (!done) return tl::unexpected(Backend("delete_file", done.error()));
  if (!deleted) return AppFail(Code::kFileNotFound, "no such file");

  if (auto removed = blobs_.Remove(file->owner_id, file->id); !removed) {
    // The record is gone and nothing serves the bytes; an operator may remove them later.
    LogError("vault_blob_remove_failed",
             {{"file_id", file->id}, {"error", removed.error().message}});
  }
  hooks_->OnFileDeleted(file->id);

  AuditEntry entry;
  entry.actor_id = actor.user.id;
  entry.actor_email = actor.user.email;
  entry.action = "FileDeleted";
  entry.resource_type = "file";
  entry.resource_id = file->id;
  entry.ip_address = actor.meta.ip_address;
  entry.user_agent = actor.meta.user_agent;
  entry.owner_id = file->owner_id;
  entry.metadata_json =
      Meta().Str("file_name", file->name).Strs("revoked_permissions", revoked).Json();
  Record(std::move(entry));
  return {};
}

}  // namespace va::vault
