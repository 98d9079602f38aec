// Tests for totp.h: the RFC 6238 SHA-1 test vectors and Base32 secret normalisation.
#include "akon/totp.h"

#include <gtest/gtest.h>

#include <chrono>

namespace va::akon {
namespace {

// RFC 6238 appendix B: the ASCII secret "12345678901234567890" in Base32.
constexpr std::string_view kRfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

WallTime At(int64_t unix_seconds) { return WallTime(std::chrono::seconds(unix_seconds)); }

struct Vector {
  int64_t time;
  const char* code8;
};

constexpr Vector kRfcVectors[] = {
    {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
};

// WallTime counts nanoseconds in 64 bits and so ends in 2262: t = 20000000000 (year 2603) is
// checked through TotpCodeForUnixTime only.
bool FitsWallTime(int64_t t) { return t < 9'000'000'000; }

TEST(TotpTest, Rfc6238Sha1EightDigits) {
  for (const auto& v : kRfcVectors) {
    auto code = TotpCodeForUnixTime(kRfcSecret, v.time, 8);
    ASSERT_TRUE(code) << code.error().message;
    EXPECT_EQ(*code, v.code8) << "t=" << v.time;
    if (FitsWallTime(v.time)) {
      auto wall = TotpCode(kRfcSecret, At(v.time), 8);
      ASSERT_TRUE(wall) << wall.error().message;
      EXPECT_EQ(*wall, v.code8) << "t=" << v.time;
    }
  }
}

TEST(TotpTest, Rfc6238Sha1SixDigitsAreTheLastSix) {
  for (const auto& v : kRfcVectors) {
    auto code = TotpCodeForUnixTime(kRfcSecret, v.time);
    ASSERT_TRUE(code) << code.error().message;
    EXPECT_EQ(*code, std::string(v.code8).substr(2)) << "t=" << v.time;
  }
  // Spelled out, the 6-digit forms keep their leading zeros.
  EXPECT_EQ(*TotpCode(kRfcSecret, At(59)), "287082");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(1111111109)), "081804");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(1111111111)), "050471");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(1234567890)), "005924");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(2000000000)), "279037");
  EXPECT_EQ(*TotpCodeForUnixTime(kRfcSecret, 20000000000), "353130");
}

TEST(TotpTest, SecretFormsGiveTheSameCode) {
  const WallTime t = At(1234567890);
  const std::string expected = *TotpCode(kRfcSecret, t);
  for (std::string_view form :
       {"gezdgnbvgy3tqojqgezdgnbvgy3tqojq", "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
        " gezd gnbv\tgy3t qojq gezd gnbv gy3t qojq\n"}) {
    auto code = TotpCode(form, t);
    ASSERT_TRUE(code) << form << ": " << code.error().message;
    EXPECT_EQ(*code, expected) << form;
  }
}

TEST(TotpTest, CodeIsStableWithinAStepAndChangesAcrossIt) {
  EXPECT_EQ(*TotpCode(kRfcSecret, At(60)), *TotpCode(kRfcSecret, At(89)));
  EXPECT_NE(*TotpCode(kRfcSecret, At(89)), *TotpCode(kRfcSecret, At(90)));
  // Sub-second parts do not move a code into another step.
  EXPECT_EQ(*TotpCode(kRfcSecret, At(89) + std::chrono::milliseconds(999)),
            *TotpCode(kRfcSecret, At(89)));
}

TEST(TotpTest, RejectsBadArguments) {
  EXPECT_EQ(TotpCode(kRfcSecret, At(59), 5).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(TotpCode(kRfcSecret, At(59), 9).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(TotpCode(kRfcSecret, At(59), 6, 0).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(TotpCode(kRfcSecret, At(-1)).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(TotpCodeForUnixTime(kRfcSecret, -30).error().kind, ErrorKind::kInvalid);
  auto bad = TotpCode("GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ", At(59));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalid);
  EXPECT_NE(bad.error().message.find("position 16"), std::string::npos) << bad.error().message;
}

TEST(TotpTest, StepAndSecondsUntilNextStep) {
  EXPECT_EQ(TotpStep(At(0)), 0);
  EXPECT_EQ(TotpStep(At(59)), 1);
  EXPECT_EQ(TotpStep(At(1111111109)), 0x23523EC);
  EXPECT_EQ(TotpStep(At(2000000000)), 0x3F940AA);
  EXPECT_EQ(TotpStepForUnixTime(20000000000), 0x27BC86AA);
  EXPECT_EQ(TotpStep(At(-1)), -1);
  EXPECT_EQ(TotpStep(At(100), 60), 1);
  EXPECT_EQ(SecondsUntilNextStep(At(60)), std::chrono::seconds(30));
  EXPECT_EQ(SecondsUntilNextStep(At(61)), std::chrono::seconds(29));
  EXPECT_EQ(SecondsUntilNextStep(At(89)), std::chrono::seconds(1));
  EXPECT_EQ(SecondsUntilNextStep(At(89) + std::chrono::milliseconds(500)), std::chrono::seconds(1));
  EXPECT_EQ(SecondsUntilNextStep(At(100), 60), std::chrono::seconds(20));
}

TEST(Base32Test, NormalizesCaseSpacesAndPadding) {
  EXPECT_EQ(*NormalizeBase32Secret("gezdgnbvgy3tqojq"), "GEZDGNBVGY3TQOJQ");
  EXPECT_EQ(*NormalizeBase32Secret("GEZD gnbv GY3T qojq"), "GEZDGNBVGY3TQOJQ");
  EXPECT_EQ(*NormalizeBase32Secret(" \tGEZDGNBVGY3TQOJQ\n"), "GEZDGNBVGY3TQOJQ");
  // 26 characters (16 bytes) with and without its 6 padding characters.
  EXPECT_EQ(*NormalizeBase32Secret("JBSWY3DPEHPK3PXPJBSWY3DPEH======"),
            "JBSWY3DPEHPK3PXPJBSWY3DPEH");
  EXPECT_EQ(*NormalizeBase32Secret("JBSWY3DPEHPK3PXPJBSWY3DPEH"), "JBSWY3DPEHPK3PXPJBSWY3DPEH");
  EXPECT_EQ(*NormalizeBase32Secret("jbsw y3dp ehpk 3pxp jbsw y3dp eh== ===="),
            "JBSWY3DPEHPK3PXPJBSWY3DPEH");
  // Padded and unpadded secrets produce the same code.
  EXPECT_EQ(*TotpCode("JBSWY3DPEHPK3PXPJBSWY3DPEH======", At(1000)),
            *TotpCode("JBSWY3DPEHPK3PXPJBSWY3DPEH", At(1000)));
}

void ExpectInvalid(std::string_view secret, std::string_view fragment) {
  auto r = NormalizeBase32Secret(secret);
  ASSERT_FALSE(r) << "accepted: " << secret;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalid);
  EXPECT_NE(r.error().message.find(fragment), std::string::npos)
      << "message: " << r.error().message;
}

TEST(Base32Test, RejectsBadSecretsWithClearMessages) {
  ExpectInvalid("", "empty");
  ExpectInvalid("   \t ", "empty");
  ExpectInvalid("====", "empty");
  ExpectInvalid("GEZDGNBVGY3TQOJ0", "position 16");  // '0' is not Base32
  ExpectInvalid("GEZDGNBVGY3TQOJ1", "position 16");
  ExpectInvalid("GEZDGNBVGY8TQOJQ", "position 11");
  ExpectInvalid("GEZD-GNBV-GY3T-QOJQ", "position 5");
  ExpectInvalid("GEZDGNBVGY3TQOJQ=A", "invalid character");  // data after padding
  ExpectInvalid("GEZDGNBVGY3TQOJQ\xc3\xa9", "invalid character");
  ExpectInvalid("GEZDGNBVGY3TQOJQG", "not a possible length");  // 17 = 16 + 1
  ExpectInvalid("GEZDGNBV", "too short");
  ExpectInvalid("JBSWY3DPEHPK3PX", "too short");
}

TEST(Base32Test, MessagesDoNotRepeatTheSecret) {
  auto r = NormalizeBase32Secret("SECRETSECRETSEC1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("SECRET"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace va::akon
