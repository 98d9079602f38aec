// The VaultApp validation helpers: id shapes (prefix plus 26 Crockford base32 characters, as
// RandomId makes them), page requests, UTF-8 and the audit metadata builder.
#include <gtest/gtest.h>

#include <string>

#include "base/ids.h"
#include "vault/app/internal.h"
#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using testing::AppTest;

TEST(IsValidIdTest, AcceptsRandomIdsOnly) {
  for (const char* prefix : {"usr_", "fil_", "prm_", "ses_", "sbx_", "aud_"}) {
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(IsValidId(RandomId(prefix), prefix));
  }
  EXPECT_TRUE(IsValidId("fil_0123456789abcdefghjkmnpqrs", "fil_"));
  EXPECT_FALSE(IsValidId(RandomId("usr_"), "fil_"));
  EXPECT_FALSE(IsValidId("fil_", "fil_"));
  EXPECT_FALSE(IsValidId("fil_0123456789abcdefghjkmnpqr", "fil_"));    // 25
  EXPECT_FALSE(IsValidId("fil_0123456789abcdefghjkmnpqrst", "fil_"));  // 27
  for (char c : std::string("ilouILOU/._-%\0 ", 15)) {
    std::string id = "fil_0123456789abcdefghjkmnpqr";
    id.push_back(c);
    EXPECT_FALSE(IsValidId(id, "fil_")) << int(c);
  }
  EXPECT_FALSE(IsValidId("../../../../../../../etc/pass", "fil_"));
  EXPECT_FALSE(IsValidId("", "fil_"));
}

TEST(Utf8Test, Validates) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(MetaTest, BuildsEscapedJson) {
  EXPECT_EQ(Meta().Json(), "{}");
  EXPECT_EQ(Meta()
                .Str("name", "a\"b\\c\n")
                .Int("size", -3)
                .Bool("ok", true)
                .OptInt("exp", std::nullopt)
                .OptInt("n", 5)
                .Strs("ids", {"x", "y"})
                .Json(),
            R"({"name":"a\"b\\c\n","size":-3,"ok":true,"exp":null,"n":5,"ids":["x","y"]})");
}

class PageTest : public AppTest {};

TEST_F(PageTest, CheckPage) {
  auto def = app_->CheckPage(std::nullopt, std::nullopt);
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->page, 1);
  EXPECT_EQ(def->page_size, 20);
  auto ok = app_->CheckPage(3, 100);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->page, 3);
  EXPECT_EQ(ok->page_size, 100);
  for (auto [page, size] : {std::pair<int64_t, int64_t>{0, 20},
                            {-1, 20},
                            {1, 0},
                            {1, 101},
                            {1, -5},
                            {int64_t{1} << 40, 20}}) {
    auto r = app_->CheckPage(page, size);
    ASSERT_FALSE(r.has_value()) << page << " " << size;
    EXPECT_EQ(r.error().code, Code::kInvalidInput);
  }
}

}  // namespace
}  // namespace va::vault
