// Unit tests of the HTTP layer's parsers: routing, percent-decoding and the streaming multipart
// reader (fed in every chunking, and fuzzed: random bodies never crash it or make it return more
// bytes than it was given).
#include <gtest/gtest.h>

#include <random>

#include "vault/http/multipart.h"
#include "vault/http/server.h"

namespace va::vault::http {
namespace {

// A body served in chunks of at most `chunk` bytes.
class StringBody final : public BodyReader {
 public:
  StringBody(std::string data, size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
  asio::awaitable<Result<size_t>> Read(std::span<char> out) override {
    size_t n = std::min({chunk_, out.size(), data_.size() - pos_});
    std::copy_n(data_.data() + pos_, n, out.data());
    pos_ += n;
    co_return n;
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

struct Extracted {
  bool ok = false;
  std::string error;
  FilePart part;
  std::string bytes;
};

Extracted Extract(const std::string& body, std::string_view boundary, size_t chunk,
                  size_t read_size = 7) {
  asio::io_context io;
  Extracted out;
  StringBody source(body, chunk);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        MultipartFileReader reader(source, boundary);
        auto part = co_await reader.NextFilePart();
        if (!part) {
          out.error = part.error().message;
          co_return;
        }
        out.part = *part;
        std::string buf(read_size, '\0');
        for (;;) {
          auto n = co_await reader.Read(std::span<char>(buf.data(), buf.size()));
          if (!n) {
            out.error = n.error().message;
            co_return;
          }
          if (*n == 0) break;
          out.bytes.append(buf.data(), *n);
        }
        out.ok = true;
      },
      asio::detached);
  io.run();
  return out;
}

std::string Form(std::string_view boundary, std::string_view file_bytes) {
  std::string b(boundary);
  return "preamble\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nskip me\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.pdf\"\r\n"
         "Content-Type: application/pdf\r\n\r\n" +
         std::string(file_bytes) + "\r\n--" + b + "--\r\nepilogue";
}

TEST(MultipartTest, ExtractsTheFilePartInEveryChunking) {
  std::string payload = "%PDF-1.4\r\n--not-the-boundary\r\n\r\nbinary\0bytes\r\n--XY";
  payload.push_back('\0');
  std::string body = Form("XYZ123", payload);
  for (size_t chunk = 1; chunk <= body.size(); ++chunk) {
    for (size_t read_size : {size_t{1}, size_t{5}, size_t{64}}) {
      Extracted e = Extract(body, "XYZ123", chunk, read_size);
      ASSERT_TRUE(e.ok) << "chunk " << chunk << ": " << e.error;
      EXPECT_EQ(e.part.file_name, "report.pdf");
      EXPECT_EQ(e.part.content_type, "application/pdf");
      EXPECT_EQ(e.bytes, payload) << "chunk " << chunk;
    }
  }
}

TEST(MultipartTest, EmptyFilePart) {
  Extracted e = Extract(Form("b", ""), "b", 3);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.bytes, "");
}

TEST(MultipartTest, RefusesBodiesWithoutAFilePart) {
  std::string no_file = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b--\r\n";
  EXPECT_FALSE(Extract(no_file, "b", 4).ok);
  EXPECT_FALSE(Extract("", "b", 4).ok);
  EXPECT_FALSE(Extract("no delimiter at all", "b", 4).ok);
}

TEST(MultipartTest, RefusesATruncatedFilePart) {
  std::string truncated =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc";
  Extracted e = Extract(truncated, "b", 2);
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.error.find("ends inside"), std::string::npos) << e.error;
}

TEST(MultipartTest, RefusesAnOversizePartHead) {
  std::string huge =
      "--b\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Pad: " + std::string(20000, 'a') +
      "\r\n\r\nabc\r\n--b--";
  Extracted e = Extract(huge, "b", 1000);
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.error.find("too large"), std::string::npos) << e.error;
}

TEST(MultipartTest, FuzzedBodiesNeverInventBytes) {
  std::mt19937 rng(42);
  std::string base = Form("bnd", "payload-bytes");
  const std::string alphabet = "-\r\n\"bnd=;:abc\0 ";
  for (int round = 0; round < 3000; ++round) {
    std::string body = base;
    int edits = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < edits; ++i) {
      size_t pos = rng() % (body.size() + 1);
      switch (rng() % 3) {
        case 0:
          body.insert(body.begin() + static_cast<std::ptrdiff_t>(pos),
                      alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          if (pos < body.size()) body.erase(pos, 1 + rng() % 8);
          break;
        default:
          if (pos < body.size()) body[pos] = alphabet[rng() % alphabet.size()];
      }
    }
    Extracted e = Extract(body, "bnd", 1 + rng() % 40);
    if (e.ok) {
      EXPECT_LE(e.bytes.size(), body.size());
    }
  }
}

TEST(MultipartTest, BoundaryFromContentType) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(MultipartBoundary("Multipart/Form-Data; charset=x; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("application/octet-stream"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

TEST(PercentDecodeTest, DecodesAndRefuses) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_FALSE(PercentDecode("%"));
  EXPECT_FALSE(PercentDecode("%2"));
  EXPECT_FALSE(PercentDecode("%zz"));
  EXPECT_FALSE(PercentDecode("a%00b"));
}

TEST(RouterTest, MatchesMethodsPatternsAndRefusesTricks) {
  Router router;
  Handler h = [](HttpRequest&, const PathParams&, BodyReader*) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse{};
  };
  router.Add("GET", "/api/owner/files/{id}", h);
  router.Add("DELETE", "/api/owner/files/{id}", h);
  router.Add("POST", "/api/owner/files", h, BodyMode::kStreamed);

  auto m = router.Find("GET", "/api/owner/files/fil_1");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(m.params, PathParams{"fil_1"});
  EXPECT_EQ(router.Find("POST", "/api/owner/files").mode, BodyMode::kStreamed);

  auto wrong_method = router.Find("PUT", "/api/owner/files/fil_1");
  EXPECT_FALSE(wrong_method.handler);
  EXPECT_EQ(wrong_method.allowed, "GET, DELETE");

  EXPECT_FALSE(router.Find("GET", "/api/owner/files/").handler);
  EXPECT_FALSE(router.Find("GET", "/api/owner/files/a%2Fb").handler);
  EXPECT_FALSE(router.Find("GET", "/api/owner/files/..").handler);
  EXPECT_FALSE(router.Find("GET", "/api/owner/files/%2e%2e").handler);
  EXPECT_FALSE(router.Find("GET", "/api/owner/files/%zz").handler);
  EXPECT_FALSE(router.Find("GET", "/api/owner/files/a/b").handler);
  EXPECT_FALSE(router.Find("GET", "api/owner/files/x").handler);
  EXPECT_EQ(router.Find("GET", "/api/owner/files/f%69l_2").params, PathParams{"fil_2"});
}

}  // namespace
}  // namespace va::vault::http
