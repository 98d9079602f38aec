// Reading openconnect's log: the last lines for error messages, and whether a failed run was a
// rejected login (wrong PIN or TOTP code) rather than a network or server problem.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace va::akon {

// The last `lines` non-empty lines of `text`.
std::vector<std::string> TailLines(std::string_view text, size_t lines);
// The last `lines` non-empty lines of the file at `path`; empty when it cannot be read.
std::vector<std::string> LogTail(const std::string& path, size_t lines);

// When one of `lines` says the server refused the credentials, returns that line (the server's
// words, as openconnect printed them); otherwise an empty string.
std::string AuthFailureLine(const std::vector<std::string>& lines);

}  // namespace va::akon
