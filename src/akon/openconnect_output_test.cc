// Tests for openconnect_output.h: the tail of a log (CRLF, blank lines, fewer lines than asked, a
// missing file) and the recognition of a rejected login. The logs below are what openconnect
// 9.01 (Debian 12) really printed: a wrong PIN against ocserv (captured from akon_vpn_test's
// WrongPin test) must count as a login failure; a refused connection, a DNS failure, a server
// certificate that does not match the pin or is not trusted, and a server that never answers the
// TLS handshake must not.
#include "akon/openconnect_output.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace va::akon {
namespace {

using ::va::testing::TempDir;
using Lines = std::vector<std::string>;

// openconnect --protocol=anyconnect against ocserv with PAM (pam_oath) and a wrong PIN.
constexpr char kOcservWrongPin[] =
    "POST https://192.0.2.1:4443/\n"
    "Connected to 192.0.2.1:4443\n"
    "SSL negotiation with 192.0.2.1\n"
    "Server certificate verify failed: signer not found\n"
    "Connected to HTTPS on 192.0.2.1 with ciphersuite "
    "(TLS1.3)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)\n"
    "XML POST enabled\n"
    "Please enter your username.\n"
    "POST https://192.0.2.1:4443/auth\n"
    "One-time password (OATH) for `alice': \n"
    "POST https://192.0.2.1:4443/auth\n"
    "Got HTTP response: HTTP/1.1 401 Authentication failed\n"
    "Server '192.0.2.1' requested Basic authentication which is disabled by default\n"
    "Failed to complete authentication\n";

constexpr char kConnectionRefused[] =
    "POST https://127.0.0.1:1/\n"
    "Failed to connect to 127.0.0.1:1: Connection refused\n"
    "Failed to connect to host 127.0.0.1\n"
    "Failed to open HTTPS connection to 127.0.0.1\n"
    "Failed to complete authentication\n";

constexpr char kDnsFailure[] =
    "POST https://vpn.nonexistent.invalid/\n"
    "getaddrinfo failed for host 'vpn.nonexistent.invalid': Temporary failure in name "
    "resolution\n"
    "Failed to open HTTPS connection to vpn.nonexistent.invalid\n"
    "Failed to complete authentication\n";

// --servercert with a pin that is not the server's.
constexpr char kPinMismatch[] =
    "POST https://127.0.0.1:4443/\n"
    "Connected to 127.0.0.1:4443\n"
    "SSL negotiation with 127.0.0.1\n"
    "Server certificate verify failed: signer not found\n"
    "None of the 1 fingerprint(s) specified via --servercert match server's certificate: "
    "pin-sha256:+DSLVtIB0LcF0DHjiFnXVvAbl6M2lxpgKBgZ8tV1k6Q=\n"
    "SSL connection failure: Error in the certificate.\n"
    "Failed to open HTTPS connection to 127.0.0.1\n"
    "Failed to complete authentication\n";

// No pin and a certificate no trusted CA signed.
constexpr char kUntrustedCertificate[] =
    "POST https://127.0.0.1:4443/\n"
    "Connected to 127.0.0.1:4443\n"
    "SSL negotiation with 127.0.0.1\n"
    "Server certificate verify failed: signer not found\n"
    "\n"
    "Certificate from VPN server \"127.0.0.1\" failed verification.\n"
    "Reason: signer not found\n"
    "To trust this server in future, perhaps add this to your command line:\n"
    "    --servercert pin-sha256:+DSLVtIB0LcF0DHjiFnXVvAbl6M2lxpgKBgZ8tV1k6Q=\n"
    "SSL connection failure: Error in the certificate.\n"
    "Failed to open HTTPS connection to 127.0.0.1\n"
    "Failed to complete authentication\n";

// A server that accepts the connection and never answers (the connect-timeout case), after the
// server side went away.
constexpr char kSilentServer[] =
    "POST https://127.0.0.1:4444/\n"
    "Connected to 127.0.0.1:4444\n"
    "SSL negotiation with 127.0.0.1\n"
    "SSL connection failure: Error in the pull function.\n"
    "Failed to open HTTPS connection to 127.0.0.1\n"
    "Failed to complete authentication\n";

// What the supervisor does with a failed run: the last 20 lines, then the auth check.
std::string AuthFailureIn(std::string_view log) { return AuthFailureLine(TailLines(log, 20)); }

TEST(TailLinesTest, KeepsTheLastNonEmptyLines) {
  EXPECT_EQ(TailLines("a\nb\nc\nd\n", 2), (Lines{"c", "d"}));
  EXPECT_EQ(TailLines("a\nb\nc\nd", 3), (Lines{"b", "c", "d"}));  // last line without newline
  EXPECT_EQ(TailLines("only\n", 1), (Lines{"only"}));
}

TEST(TailLinesTest, HandlesCrlf) {
  EXPECT_EQ(TailLines("a\r\nb\r\nc\r\n", 2), (Lines{"b", "c"}));
  EXPECT_EQ(TailLines("a\r\n\r\nb", 5), (Lines{"a", "b"}));
  // A carriage return inside a line is content, only the one before the newline goes.
  EXPECT_EQ(TailLines("a\rb\r\n", 5), (Lines{"a\rb"}));
}

TEST(TailLinesTest, SkipsBlankLines) {
  EXPECT_EQ(TailLines("\n\na\n\n\nb\n\n\n", 2), (Lines{"a", "b"}));
  EXPECT_EQ(TailLines("a\n\n\n\n", 1), (Lines{"a"}));
  EXPECT_EQ(TailLines("\n\r\n\n", 3), Lines{});
  EXPECT_EQ(TailLines(" \n", 3), (Lines{" "}));  // whitespace is not blank
}

TEST(TailLinesTest, FewerLinesThanAsked) {
  EXPECT_EQ(TailLines("a\nb\n", 10), (Lines{"a", "b"}));
  EXPECT_EQ(TailLines("", 10), Lines{});
  EXPECT_EQ(TailLines("a\nb\n", 0), Lines{});
}

TEST(TailLinesTest, RealLogTail) {
  auto tail = TailLines(kOcservWrongPin, 3);
  EXPECT_EQ(tail, (Lines{"Got HTTP response: HTTP/1.1 401 Authentication failed",
                         "Server '192.0.2.1' requested Basic authentication which is disabled by "
                         "default",
                         "Failed to complete authentication"}));
}

TEST(LogTailTest, MissingFileIsEmpty) {
  TempDir dir;
  EXPECT_EQ(LogTail(dir.File("openconnect.log"), 20), Lines{});
  EXPECT_EQ(LogTail(dir.Path(), 20), Lines{});  // a directory cannot be read as a log
}

TEST(LogTailTest, ReadsTheFile) {
  TempDir dir;
  const std::string path = dir.File("openconnect.log");
  {
    std::ofstream out(path);
    out << kConnectionRefused;
  }
  EXPECT_EQ(LogTail(path, 2), (Lines{"Failed to open HTTPS connection to 127.0.0.1",
                                     "Failed to complete authentication"}));
  EXPECT_EQ(LogTail(path, 100).size(), 5u);
}

TEST(AuthFailureLineTest, OcservRejectingThePasswordIsAnAuthFailure) {
  EXPECT_EQ(AuthFailureIn(kOcservWrongPin),
            "Got HTTP response: HTTP/1.1 401 Authentication failed");
  // Also when only the last few lines were kept.
  EXPECT_EQ(AuthFailureLine(TailLines(kOcservWrongPin, 3)),
            "Got HTTP response: HTTP/1.1 401 Authentication failed");
}

TEST(AuthFailureLineTest, NetworkAndCertificateFailuresAreNotAuthFailures) {
  for (const char* log :
       {kConnectionRefused, kDnsFailure, kPinMismatch, kUntrustedCertificate, kSilentServer}) {
    EXPECT_EQ(AuthFailureIn(log), "") << log;
  }
}

TEST(AuthFailureLineTest, TheGenericLastLineIsNotAnAuthFailure) {
  // openconnect ends every failed run before the tunnel with this line, whatever the cause.
  EXPECT_EQ(AuthFailureLine({"Failed to complete authentication"}), "");
  EXPECT_EQ(AuthFailureLine({}), "");
  EXPECT_EQ(AuthFailureLine({"", "POST https://vpn.example.com/"}), "");
}

// Lines other servers send (Cisco ASA's form message, a bare 401); not captured here.
TEST(AuthFailureLineTest, ReturnsTheServersWords) {
  EXPECT_EQ(AuthFailureLine({"POST https://vpn.example.com/", "Login failed.",
                             "Failed to complete authentication"}),
            "Login failed.");
  EXPECT_EQ(AuthFailureLine({"Got HTTP response: HTTP/1.1 401 Unauthorized"}),
            "Got HTTP response: HTTP/1.1 401 Unauthorized");
}

}  // namespace
}  // namespace va::akon
