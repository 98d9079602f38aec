#include "vault/http/multipart.h"

#include <algorithm>
#include <cctype>

namespace va::vault::http {
namespace {

constexpr size_t kMaxHead = size_t{8} * 1024;
constexpr size_t kReadChunk = size_t{64} * 1024;

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of `param` in a header value such as `form-data; name="file"; filename="a.pdf"`.
std::optional<std::string> HeaderParam(std::string_view value, std::string_view param) {
  size_t pos = 0;
  while (pos < value.size()) {
    size_t semi = value.find(';', pos);
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
    std::string_view rest = Trim(value.substr(pos));
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    if (LowerCopy(Trim(rest.substr(0, eq))) != param) continue;
    std::string_view v = rest.substr(eq + 1);
    if (!v.empty() && v.front() == '"') {
      std::string out;
      for (size_t i = 1; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          out.push_back(v[++i]);
        } else if (v[i] == '"') {
          return out;
        } else {
          out.push_back(v[i]);
        }
      }
      return std::nullopt;  // unterminated quote
    }
    size_t end = v.find(';');
    return std::string(Trim(v.substr(0, end)));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (LowerCopy(Trim(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
  auto boundary = HeaderParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  return boundary;
}

MultipartFileReader::MultipartFileReader(BodyReader& body, std::string_view boundary)
    : body_(body), delimiter_("\r\n--" + std::string(boundary)), buffer_("\r\n") {}

asio::awaitable<Result<bool>> MultipartFileReader::Fill() {
  if (body_done_) co_return false;
  size_t old = buffer_.size();
  buffer_.resize(old + kReadChunk);
  auto n = co_await body_.Read(std::span<char>(buffer_.data() + old, kReadChunk));
  if (!n) {
    buffer_.resize(old);
    co_return tl::unexpected<Error>(std::move(n.error()));
  }
  buffer_.resize(old + *n);
  if (*n == 0) body_done_ = true;
  co_return *n > 0;
}

asio::awaitable<Result<FilePart>> MultipartFileReader::NextFilePart() {
  for (;;) {
    // Find the next delimiter, dropping what precedes it (a preamble or a skipped part).
    size_t at;
    while ((at = buffer_.find(delimiter_)) == std::string::npos) {
      if (buffer_.size() > delimiter_.size()) buffer_.erase(0, buffer_.size() - delimiter_.size());
      auto more = co_await Fill();
      if (!more) co_return tl::unexpected<Error>(std::move(more.error()));
      if (!*more) co_return Fail(ErrorKind::kInvalid, "multipart body has no part named 'file'");
    }
    buffer_.erase(0, at + delimiter_.size());
    while (buffer_.size() < 2) {
      auto more = co_await Fill();
      if (!more) co_return tl::unexpected<Error>(std::move(more.error()));
      if (!*more) co_return Fail(ErrorKind::kInvalid, "multipart body ends inside a delimiter");
    }
    if (buffer_.compare(0, 2, "--") == 0) {
      co_return Fail(ErrorKind::kInvalid, "multipart body has no part named 'file'");
    }
    // Transport padding after the boundary is allowed before CRLF.
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHead)
        co_return Fail(ErrorKind::kInvalid, "multipart part head too large");
      auto more = co_await Fill();
      if (!more) co_return tl::unexpected<Error>(std::move(more.error()));
      if (!*more) co_return Fail(ErrorKind::kInvalid, "multipart body ends inside a part head");
    }
    if (head_end > kMaxHead) co_return Fail(ErrorKind::kInvalid, "multipart part head too large");
    std::string_view head(buffer_.data(), head_end);
    std::optional<std::string> name;
    FilePart part;
    size_t line_start = head.find("\r\n");
    while (line_start != std::string_view::npos && line_start < head.size()) {
      line_start += 2;
      size_t line_end = head.find("\r\n", line_start);
      std::string_view line =
          head.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                     : line_end - line_start);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string key = LowerCopy(Trim(line.substr(0, colon)));
        std::string_view value = Trim(line.substr(colon + 1));
        if (key == "content-disposition") {
          name = HeaderParam(value, "name");
          part.file_name = HeaderParam(value, "filename").value_or("");
        } else if (key == "content-type") {
          part.content_type = std::string(value);
        }
      }
      line_start = line_end;
    }
    buffer_.erase(0, head_end + 4);
    // Keep a CRLF-less start: the body begins right after the blank line. The delimiter search
    // needs the "\r\n" that precedes the next boundary, which is part of the delimiter itself.
    if (name && *name == "file") {
      part_done_ = false;
      co_return part;
    }
  }
}

asio::awaitable<Result<size_t>> MultipartFileReader::Read(std::span<char> out) {
  if (part_done_ || out.empty()) co_return size_t{0};
  for (;;) {
    size_t at = buffer_.find(delimiter_);
    size_t safe = at != std::string::npos               ? at
                  : buffer_.size() >= delimiter_.size() ? buffer_.size() - delimiter_.size() + 1
                                                        : 0;
    if (safe > 0) {
      size_t n = std::min(safe, out.size());
      std::copy_n(buffer_.data(), n, out.data());
      buffer_.erase(0, n);
      co_return n;
    }
    if (at == 0) {
      part_done_ = true;
      co_return size_t{0};
    }
    auto more = co_await Fill();
    if (!more) co_return tl::unexpected<Error>(std::move(more.error()));
    if (!*more) co_return Fail(ErrorKind::kInvalid, "multipart body ends inside the file part");
  }
}

}  // namespace va::vault::http
