// openconnect log handling; see openconnect_output.h.
#include "akon/openconnect_output.h"

#include "base/sys.h"

namespace va::akon {

std::vector<std::string> TailLines(std::string_view text, size_t lines) {
  std::vector<std::string> all;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) all.emplace_back(line);
    start = end + 1;
  }
  if (all.size() > lines) all.erase(all.begin(), all.end() - static_cast<long>(lines));
  return all;
}

std::vector<std::string> LogTail(const std::string& path, size_t lines) {
  auto text = ReadSmallFile(path, 4 << 20);
  if (!text) return {};
  return TailLines(*text, lines);
}

std::string AuthFailureLine(const std::vector<std::string>& lines) {
  // What openconnect prints when the server rejects the credentials, across its protocols.
  static constexpr std::string_view kMarkers[] = {"Login failed",
                                                  "login failed",
                                                  "Authentication failed",
                                                  "authentication failed",
                                                  "Invalid username or password",
                                                  "Failed to obtain WebVPN cookie",
                                                  "Password expired",
                                                  "Access denied",
                                                  "401 Unauthorized",
                                                  "Invalid credentials"};
  for (const auto& line : lines) {
    for (auto m : kMarkers) {
      if (line.find(m) != std::string::npos) return line;
    }
  }
  return {};
}

}  // namespace va::akon
