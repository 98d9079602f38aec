// Field validation for the VaultApp handlers; see internal.h.
#include <cstdint>
#include <string>
#include <string_view>

#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {
namespace {

constexpr std::string_view kBase32 = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr size_t kIdChars = 26;

bool IsControlAscii(unsigned char c) { return c < 0x20 || c == 0x7f; }

}  // namespace

bool IsValidId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + kIdChars || id.substr(0, prefix.size()) != prefix) return false;
  for (char c : id.substr(prefix.size())) {
    if (kBase32.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past Unicode are not UTF-8.
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

AppStatus CheckEmail(std::string_view field, std::string_view email) {
  std::string prefix(field);
  if (email.empty()) return AppFail(Code::kInvalidInput, prefix + ": must not be empty");
  if (email.size() > kMaxEmailBytes) {
    return AppFail(Code::kInvalidInput, prefix + ": longer than 254 bytes");
  }
  for (char c : email) {
    auto u = static_cast<unsigned char>(c);
    if (IsControlAscii(u) || c == ' ') {
      return AppFail(Code::kInvalidInput, prefix + ": contains spaces or control characters");
    }
  }
  if (!IsValidUtf8(email)) return AppFail(Code::kInvalidInput, prefix + ": not valid UTF-8");
  size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return AppFail(Code::kInvalidInput, prefix + ": must contain exactly one '@'");
  }
  if (at == 0 || at + 1 == email.size()) {
    return AppFail(Code::kInvalidInput, prefix + ": needs a local part and a domain");
  }
  return {};
}

AppStatus CheckPassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return AppFail(Code::kInvalidInput, "password: shorter than 8 bytes");
  }
  if (password.size() > kMaxPasswordBytes) {
    return AppFail(Code::kInvalidInput, "password: longer than 1024 bytes");
  }
  return {};
}

AppStatus CheckFileName(std::string_view name) {
  if (name.empty()) return AppFail(Code::kInvalidInput, "file_name: must not be empty");
  if (name.size() > kMaxFileNameBytes) {
    return AppFail(Code::kInvalidInput, "file_name: longer than 255 bytes");
  }
  if (name == "." || name == "..") {
    return AppFail(Code::kInvalidInput, "file_name: must not be \".\" or \"..\"");
  }
  if (!IsValidUtf8(name)) return AppFail(Code::kInvalidInput, "file_name: not valid UTF-8");
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '/' || c == '\\') {
      return AppFail(Code::kInvalidInput, "file_name: must not contain '/' or '\\'");
    }
    if (IsControlAscii(c)) {
      return AppFail(Code::kInvalidInput, "file_name: must not contain control characters");
    }
    // C1 controls U+0080…U+009F are encoded as C2 80…C2 9F.
    if (c == 0xc2 && i + 1 < name.size()) {
      auto next = static_cast<unsigned char>(name[i + 1]);
      if (next >= 0x80 && next <= 0x9f) {
        return AppFail(Code::kInvalidInput, "file_name: must not contain control characters");
      }
    }
  }
  return {};
}

AppResult<std::string> CheckContentType(std::string_view content_type) {
  if (content_type.empty()) return std::string(kDefaultContentType);
  if (content_type.size() > kMaxContentTypeBytes) {
    return AppFail(Code::kInvalidInput, "content_type: longer than 255 bytes");
  }
  for (char c : content_type) {
    if (c < 0x20 || c > 0x7e) {
      return AppFail(Code::kInvalidInput, "content_type: must be printable ASCII");
    }
  }
  return std::string(content_type);
}

AppStatus CheckReason(std::string_view reason) {
  if (reason.size() > kMaxReasonBytes) {
    return AppFail(Code::kInvalidInput, "reason: longer than 1024 bytes");
  }
  if (!IsValidUtf8(reason)) return AppFail(Code::kInvalidInput, "reason: not valid UTF-8");
  for (char c : reason) {
    if (IsControlAscii(static_cast<unsigned char>(c))) {
      return AppFail(Code::kInvalidInput, "reason: must not contain control characters");
    }
  }
  return {};
}

AppStatus CheckId(std::string_view field, std::string_view id, std::string_view prefix) {
  if (!IsValidId(id, prefix)) {
    return AppFail(Code::kInvalidInput,
                   std::string(field) + ": not a valid " + std::string(prefix) + "… id");
  }
  return {};
}

AppResult<PageRequest> VaultApp::CheckPage(std::optional<int64_t> page,
                                           std::optional<int64_t> page_size) const {
  PageRequest out;
  out.page_size = config_.default_page_size;
  if (page) {
    // Far past any real result set; keeps (page - 1) * page_size inside int64.
    if (*page < 1 || *page > 1'000'000'000) {
      return AppFail(Code::kInvalidInput, "page: must be 1…1000000000");
    }
    out.page = static_cast<int>(*page);
  }
  if (page_size) {
    if (*page_size < 1 || *page_size > config_.max_page_size) {
      return AppFail(Code::kInvalidInput,
                     "page_size: must be 1…" + std::to_string(config_.max_page_size));
    }
    out.page_size = static_cast<int>(*page_size);
  }
  return out;
}

AppStatus VaultApp::CheckPageRequest(const PageRequest& page) const {
  auto checked = CheckPage(page.page, page.page_size);
  if (!checked) return tl::unexpected(checked.error());
  return {};
}

}  // namespace va::vault
