// MultipartFileReader: streams the part named "file" out of a multipart/form-data body without
// holding the body in memory (RFC 7578). Other parts are skipped. Memory stays below a fixed
// bound whatever the input: a part head over 8 KiB or a body that ends before the closing
// delimiter is an error (kInvalid).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vault/http/server.h"

namespace va::vault::http {

// The boundary parameter of a multipart/form-data Content-Type; nullopt when the type is not
// multipart/form-data or the boundary is missing or longer than 70 characters.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

struct FilePart {
  std::string file_name;     // from filename="…" (may be empty)
  std::string content_type;  // the part's Content-Type, or empty
};

class MultipartFileReader {
 public:
  MultipartFileReader(BodyReader& body, std::string_view boundary);

  // Moves to the start of the part named "file". kInvalid when there is none or the framing is
  // broken.
  asio::awaitable<Result<FilePart>> NextFilePart();
  // The part's next bytes; 0 at its end.
  asio::awaitable<Result<size_t>> Read(std::span<char> out);

 private:
  // Reads more of the body into buffer_; false at the body's end.
  asio::awaitable<Result<bool>> Fill();
  BodyReader& body_;
  std::string delimiter_;  // "\r\n--" + boundary
  std::string buffer_;
  bool body_done_ = false;
  bool part_done_ = false;
};

}  // namespace va::vault::http
