// The client's view (spec §5): the files the client may view now, each with the permission that
// allows it (not revoked, not expired, file not deleted).
#include <utility>
#include <vector>

#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {

AppResult<std::vector<ViewableFile>> VaultApp::ListClientFiles(const Actor& actor) {
  if (auto ok = RequireRoleFor(actor, Role::kClient, "file", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  auto files = store_.Permissions().ListViewable(actor.user.id, Now());
  if (!files) return tl::unexpected(Backend("list_viewable_files", files.error()));
  return std::move(*files);
}

}  // namespace va::vault
