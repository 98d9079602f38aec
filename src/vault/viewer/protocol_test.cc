// The viewer protocol's JSON: exact encodings, round trips, and the malformed messages a viewer
// must ignore (plus a random-input loop that only has to not crash).
#include "vault/viewer/protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace va::vault::viewer {
namespace {

TEST(ViewerProtocolTest, EncodesViewerMessagesExactly) {
  EXPECT_EQ(Encode(ViewerMessage{ReadyMessage{3, DocumentKind::kPdf}}),
            R"({"type":"ready","pages":3,"kind":"pdf"})");
  EXPECT_EQ(Encode(ViewerMessage{FrameMessage{1, 1280, 720, 7, 2}}),
            R"({"type":"frame","slot":1,"width":1280,"height":720,"seq":7,"page":2})");
  EXPECT_EQ(Encode(ViewerMessage{ErrorMessage{"bad \"file\""}}),
            R"({"type":"error","message":"bad \"file\""})");
}

TEST(ViewerProtocolTest, LongErrorStaysWithinOneDatagramAndValidUtf8) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "\xC3\xA9\x01";  // é and a control char (escaped x6)
  const std::string encoded = Encode(ViewerMessage{ErrorMessage{text}});
  EXPECT_LE(encoded.size(), kMaxMessageBytes);
  auto parsed = ParseViewerMessage(encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(std::holds_alternative<ErrorMessage>(*parsed));
}

TEST(ViewerProtocolTest, ServerMessagesRoundTrip) {
  const std::vector<ServerMessage> messages = {
      ReleaseMessage{1},  ResizeMessage{800, 600}, NextPageMessage{}, PrevPageMessage{},
      GotoPageMessage{4}, ScrollMessage{-120.5},   ZoomMessage{1.25}, PointerMessage{10, 20.5, 3},
  };
  for (const auto& m : messages) {
    auto parsed = ParseServerMessage(Encode(m));
    ASSERT_TRUE(parsed) << Encode(m) << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, m) << Encode(m);
  }
}

TEST(ViewerProtocolTest, ParsesTheDocumentedShapes) {
  auto m = ParseServerMessage(R"({"type":"goto_page","page":2.0,"extra":[1,2]})");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(std::get<GotoPageMessage>(*m).page, 2);
  auto ready = ParseViewerMessage(R"({"type":"ready","pages":1,"kind":"image"})");
  ASSERT_TRUE(ready);
  EXPECT_EQ(std::get<ReadyMessage>(*ready), (ReadyMessage{1, DocumentKind::kImage}));
}

TEST(ViewerProtocolTest, RejectsMalformedMessages) {
  for (const char* bad : {
           "",
           "not json",
           "[]",
           "42",
           R"({"page":1})",
           R"({"type":7})",
           R"({"type":"jump"})",
           R"({"type":"goto_page"})",
           R"({"type":"goto_page","page":"2"})",
           R"({"type":"goto_page","page":1.5})",
           R"({"type":"goto_page","page":1e300})",
           R"({"type":"release","slot":null})",
           R"({"type":"resize","width":100})",
           R"({"type":"resize","width":100,"height":-5e10})",
           R"({"type":"scroll","dy":"down"})",
           R"({"type":"zoom"})",
           R"({"type":"pointer","x":1,"y":2})",
           R"({"type":"pointer","x":1,"y":2,"buttons":-1})",
           R"({"type":"pointer","x":1,"y":2,"buttons":4294967296})",
           R"({"type":"next_page")",
       }) {
    EXPECT_FALSE(ParseServerMessage(bad)) << bad;
  }
  EXPECT_FALSE(ParseServerMessage(std::string(kMaxMessageBytes + 1, ' ')));
}

TEST(ViewerProtocolTest, RandomBytesNeverCrashTheParser) {
  std::mt19937 rng(1234);
  const std::string seeds[] = {R"({"type":"scroll","dy":-40})", R"({"type":"zoom","factor":2})",
                               R"({"type":"pointer","x":1,"y":2,"buttons":1})"};
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[i % 3];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[at] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(at, 1 + rng() % 3);
          break;
        default:
          s.insert(at, 1, static_cast<char>(rng()));
      }
      if (s.empty()) s = "{";
    }
    (void)ParseServerMessage(s);
    (void)ParseViewerMessage(s);
  }
}

}  // namespace
}  // namespace va::vault::viewer
