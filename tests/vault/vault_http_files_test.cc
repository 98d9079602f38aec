// Owner files against a real vaultd (docs/vault-api.md "Files", spec §5): raw and multipart
// upload (201 object, SHA-256 and size as computed here, the stored file at
// <data-dir>/users/<owner>/files/<id> with mode 0600 and the same bytes), list/get/delete with
// soft delete, another owner's file, path tricks in names and ids, and the upload limit (413 and
// nothing left on disk).
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "base/sys.h"
#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

json::value Parse(const HttpResponse& r) { return json::parse(r.body); }

// Every entry under `dir` (recursively), as paths relative to it; empty when it does not exist.
std::set<std::string> Tree(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    out.emplace(fs::relative(it->path(), dir).string());
  }
  return out;
}

// Files anywhere under `dir` whose name contains ".part".
std::vector<std::string> PartFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& p : Tree(dir)) {
    if (p.find(".part") != std::string::npos) out.push_back(p);
  }
  return out;
}

// The owner's total_count of files.
int64_t TotalFiles(HttpClient& http, const Login& who) {
  HttpResponse r = http.Get("/api/owner/files?page_size=100", who.access_token);
  EXPECT_EQ(r.status, 200) << r.Describe();
  return r.status == 200 ? Parse(r).at("total_count").to_number<int64_t>() : -1;
}

void ExpectFileObject(const json::object& f) {
  EXPECT_TRUE(IsId(f.at("file_id").as_string(), "fil_")) << json::serialize(f);
  EXPECT_TRUE(f.at("file_name").is_string());
  EXPECT_TRUE(f.at("file_size_bytes").is_number());
  EXPECT_TRUE(f.at("content_type").is_string());
  EXPECT_EQ(f.at("checksum_sha256").as_string().size(), 64u);
  EXPECT_TRUE(IsTime(f.at("uploaded_at").as_string())) << json::serialize(f);
}

class FilesTest : public VaultSuite {
 protected:
  HttpResponse Upload(const Login& who, const std::string& name, const std::string& data,
                      const std::string& type = "text/plain") {
    return Http().PostRaw("/api/owner/files?name=" + UrlEncode(name), data, type, who.access_token);
  }
  // Uploads and returns the file object (fails the test unless 201).
  json::object UploadOk(const Login& who, const std::string& name, const std::string& data) {
    HttpResponse r = Upload(who, name, data);
    EXPECT_EQ(r.status, 201) << name << ": " << r.Describe();
    if (r.status != 201) return {};
    return Parse(r).as_object();
  }
  std::string FilesDir(const Login& who) {
    return vaultd_->DataDir() + "/users/" + who.user_id + "/files";
  }
};

TEST_F(FilesTest, RawUploadAnswers201AndStoresTheBytesWithMode0600) {
  std::string data = GeneratedBytes(300000, 7);
  HttpResponse r = Upload(owner_, "report.txt", data, "text/plain");
  ASSERT_EQ(r.status, 201) << r.Describe();
  json::object f = Parse(r).as_object();
  ExpectFileObject(f);
  EXPECT_EQ(f.at("file_name"), "report.txt");
  EXPECT_EQ(f.at("file_size_bytes"), 300000);
  EXPECT_EQ(f.at("content_type"), "text/plain");
  EXPECT_EQ(f.at("checksum_sha256"), Sha256Hex(data).c_str());

  std::string path = FilesDir(owner_) + "/" + std::string(f.at("file_id").as_string());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << "not stored at " << path;
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto stored = ReadSmallFile(path, 1 << 20);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_TRUE(*stored == data) << "stored bytes differ";
  EXPECT_TRUE(PartFiles(vaultd_->DataDir()).empty());
}

TEST_F(FilesTest, RawUploadWithoutContentTypeRecordsOctetStream) {
  HttpResponse r = Http().Send({.method = "POST",
                                .target = "/api/owner/files?name=blob.bin",
                                .headers = {"Content-Type:"},  // curl sends none
                                .bearer = owner_.access_token,
                                .body = std::string("\x00\x01\x02\xff", 4)});
  ASSERT_EQ(r.status, 201) << r.Describe();
  EXPECT_EQ(Parse(r).at("content_type"), "application/octet-stream");
  EXPECT_EQ(Parse(r).at("file_size_bytes"), 4);
}

TEST_F(FilesTest, MultipartUploadTakesNameAndTypeFromThePart) {
  std::string data = GeneratedBytes(70000, 11);
  HttpResponse r = Http().Send({.method = "POST",
                                .target = "/api/owner/files",
                                .bearer = owner_.access_token,
                                .parts = {{.name = "file",
                                           .data = data,
                                           .filename = "scan.pdf",
                                           .content_type = "application/pdf"}}});
  ASSERT_EQ(r.status, 201) << r.Describe();
  json::object f = Parse(r).as_object();
  ExpectFileObject(f);
  EXPECT_EQ(f.at("file_name"), "scan.pdf");
  EXPECT_EQ(f.at("content_type"), "application/pdf");
  EXPECT_EQ(f.at("file_size_bytes"), 70000);
  EXPECT_EQ(f.at("checksum_sha256"), Sha256Hex(data).c_str());
  auto stored =
      ReadSmallFile(FilesDir(owner_) + "/" + std::string(f.at("file_id").as_string()), 1 << 20);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_TRUE(*stored == data) << "stored bytes differ";
}

TEST_F(FilesTest, MultipartWithoutAFilePartOrWithABadFilenameIs400) {
  std::set<std::string> before = Tree(FilesDir(owner_));
  HttpResponse none = Http().Send({.method = "POST",
                                   .target = "/api/owner/files",
                                   .bearer = owner_.access_token,
                                   .parts = {{.name = "other", .data = "x", .filename = "a.txt"}}});
  EXPECT_EQ(none.status, 400) << none.Describe();
  EXPECT_EQ(none.ErrorCode(), "InvalidInput");
  for (const char* name : {"../x", "a/b", "..", "."}) {
    HttpResponse r = Http().Send({.method = "POST",
                                  .target = "/api/owner/files",
                                  .bearer = owner_.access_token,
                                  .parts = {{.name = "file", .data = "x", .filename = name}}});
    EXPECT_EQ(r.status, 400) << "multipart filename " << name << ": " << r.Describe();
  }
  EXPECT_EQ(Tree(FilesDir(owner_)), before);
}

TEST_F(FilesTest, ListGetAndSoftDelete) {
  Login owner = NewUser("lister", {"owner"});
  json::object a = UploadOk(owner, "a.txt", "alpha");
  json::object b = UploadOk(owner, "b.txt", "bravo");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  std::string a_id(a.at("file_id").as_string()), b_id(b.at("file_id").as_string());

  HttpResponse list = Http().Get("/api/owner/files", owner.access_token);
  ASSERT_EQ(list.status, 200) << list.Describe();
  json::object l = Parse(list).as_object();
  EXPECT_EQ(l.at("total_count"), 2);
  EXPECT_EQ(l.at("page"), 1);
  EXPECT_EQ(l.at("page_size"), 20);
  std::set<std::string> ids;
  for (const auto& f : l.at("files").as_array()) {
    ExpectFileObject(f.as_object());
    ids.emplace(f.at("file_id").as_string());
  }
  EXPECT_EQ(ids, (std::set<std::string>{a_id, b_id}));

  HttpResponse one = Http().Get("/api/owner/files?page=2&page_size=1", owner.access_token);
  ASSERT_EQ(one.status, 200) << one.Describe();
  EXPECT_EQ(Parse(one).at("files").as_array().size(), 1u);
  EXPECT_EQ(Parse(one).at("total_count"), 2);

  HttpResponse get = Http().Get("/api/owner/files/" + a_id, owner.access_token);
  ASSERT_EQ(get.status, 200) << get.Describe();
  EXPECT_EQ(Parse(get).as_object(), a);

  HttpResponse del = Http().Delete("/api/owner/files/" + a_id, owner.access_token);
  ASSERT_EQ(del.status, 200) << del.Describe();
  json::object d = Parse(del).as_object();
  EXPECT_EQ(d.at("success"), true);
  EXPECT_EQ(d.at("file_id"), a_id.c_str());
  EXPECT_TRUE(IsTime(d.at("deleted_at").as_string()));

  HttpResponse gone = Http().Get("/api/owner/files/" + a_id, owner.access_token);
  EXPECT_EQ(gone.status, 404) << gone.Describe();
  EXPECT_EQ(gone.ErrorCode(), "FileNotFound");
  HttpResponse again = Http().Delete("/api/owner/files/" + a_id, owner.access_token);
  EXPECT_EQ(again.status, 404) << again.Describe();
  EXPECT_EQ(again.ErrorCode(), "FileNotFound");
  HttpResponse after = Http().Get("/api/owner/files", owner.access_token);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(Parse(after).at("total_count"), 1);
  ASSERT_EQ(Parse(after).at("files").as_array().size(), 1u);
  EXPECT_EQ(Parse(after).at("files").as_array()[0].at("file_id"), b_id.c_str());

  HttpResponse bad_page = Http().Get("/api/owner/files?page_size=101", owner.access_token);
  EXPECT_EQ(bad_page.status, 400) << bad_page.Describe();
  HttpResponse zero = Http().Get("/api/owner/files?page_size=0", owner.access_token);
  EXPECT_EQ(zero.status, 400) << zero.Describe();
}

TEST_F(FilesTest, AnotherOwnersFileIsUnauthorized) {
  json::object f = UploadOk(owner_, "mine.txt", "secret bytes");
  ASSERT_FALSE(f.empty());
  std::string id(f.at("file_id").as_string());
  HttpResponse get = Http().Get("/api/owner/files/" + id, owner2_.access_token);
  EXPECT_EQ(get.status, 403) << get.Describe();
  EXPECT_EQ(get.ErrorCode(), "Unauthorized");
  HttpResponse del = Http().Delete("/api/owner/files/" + id, owner2_.access_token);
  EXPECT_EQ(del.status, 403) << del.Describe();
  EXPECT_EQ(del.ErrorCode(), "Unauthorized");
  // Still there, and not in the other owner's list.
  EXPECT_EQ(Http().Get("/api/owner/files/" + id, owner_.access_token).status, 200);
  HttpResponse list = Http().Get("/api/owner/files?page_size=100", owner2_.access_token);
  ASSERT_EQ(list.status, 200);
  json::value listed = Parse(list);
  for (const auto& x : listed.at("files").as_array()) EXPECT_NE(x.at("file_id"), id.c_str());
}

TEST_F(FilesTest, PathTricksInNamesAre400AndStoreNothing) {
  Login owner = NewUser("tricks", {"owner"});
  std::set<std::string> before = Tree(vaultd_->DataDir() + "/users");
  const std::string names[] = {
      "../x",
      "a/b",
      "..",
      ".",
      "/etc/passwd",
      "x/../../y",
      std::string("a\x01") + "b",
      "a\nb",
      "a\rb",
      "tab\there",
      std::string("nul\0x", 5),
      "del\x7f",
      std::string(256, 'n'),
  };
  for (const auto& name : names) {
    HttpResponse r = Upload(owner, name, "payload");
    EXPECT_EQ(r.status, 400) << "name '" << UrlEncode(name) << "': " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "InvalidInput") << UrlEncode(name);
  }
  // Empty and missing names.
  HttpResponse empty =
      Http().PostRaw("/api/owner/files?name=", "payload", "text/plain", owner.access_token);
  EXPECT_EQ(empty.status, 400) << empty.Describe();
  HttpResponse missing =
      Http().PostRaw("/api/owner/files", "payload", "text/plain", owner.access_token);
  EXPECT_EQ(missing.status, 400) << missing.Describe();

  EXPECT_EQ(TotalFiles(Http(), owner), 0);
  EXPECT_EQ(Tree(vaultd_->DataDir() + "/users"), before) << "something was stored";
  EXPECT_FALSE(fs::exists(vaultd_->DataDir() + "/x"));
  EXPECT_FALSE(fs::exists(vaultd_->DataDir() + "/users/x"));

  // Ordinary names, up to 255 bytes, are fine.
  EXPECT_EQ(Upload(owner, std::string(255, 'n'), "payload").status, 201);
  EXPECT_EQ(Upload(owner, "résumé final (v2).pdf", "payload").status, 201);
  EXPECT_EQ(Upload(owner, "..hidden", "payload").status, 201);
}

TEST_F(FilesTest, BadIdsAndDotSegmentsInPaths) {
  json::object f = UploadOk(owner_, "ids.txt", "ids");
  ASSERT_FALSE(f.empty());
  std::string id(f.at("file_id").as_string());
  const std::string bad[] = {"nope",
                             "fil_",
                             id + "0",
                             id.substr(0, id.size() - 1),
                             "usr_" + id.substr(4),
                             "fil_!!!!!!!!!!!!!!!!!!!!!!!!!!",
                             "%2e%2e",
                             "%2E%2E",
                             "..%2f..%2fetc%2fpasswd",
                             "%2e%2e%2f" + id};
  for (const auto& b : bad) {
    for (const char* method : {"GET", "DELETE"}) {
      HttpResponse r = Http().Send(
          {.method = method, .target = "/api/owner/files/" + b, .bearer = owner_.access_token});
      if (b.find('%') != std::string::npos) {
        // Encoded dot segments: the brief allows 404 (no such endpoint) as well; never storage.
        EXPECT_TRUE(r.status == 400 || r.status == 404)
            << method << " " << b << ": " << r.Describe();
        continue;
      }
      EXPECT_EQ(r.status, 400) << method << " " << b << ": " << r.Describe();
      EXPECT_EQ(r.ErrorCode(), "InvalidInput") << method << " " << b;
    }
  }
  // Literal dot segments (curl sends them as they are).
  for (const std::string& target :
       std::vector<std::string>{"/api/owner/files/..", "/api/owner/files/../files/" + id,
                                "/api/owner/files/./" + id, "/api/owner/../admin/users"}) {
    HttpResponse r = Http().Get(target, owner_.access_token);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << target << ": " << r.Describe();
  }
  HttpResponse unknown = Http().Get("/api/owner/files/" + OtherId(id), owner_.access_token);
  EXPECT_EQ(unknown.status, 404) << unknown.Describe();
  EXPECT_EQ(unknown.ErrorCode(), "FileNotFound");
  EXPECT_EQ(Http().Get("/api/owner/files/" + id, owner_.access_token).status, 200);
}

// A client that goes away mid-upload: its own vaultd, so a crash here does not fail the others.
class AbortedUploadTest : public VaultSuite {};

TEST_F(AbortedUploadTest, AnUploadCutShortLeavesNothingBehindAndTheServerRunsOn) {
  Login owner = NewUser("cut", {"owner"});
  std::set<std::string> before = Tree(vaultd_->DataDir() + "/users");
  // Content-Length promises 1 MiB; 64 KiB arrive, then the client goes away.
  std::string head =
      "POST /api/owner/files?name=cut.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      owner.access_token +
      "\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: 1048576\r\n\r\n";
  auto answer = RawExchange(vaultd_->Port(), head + GeneratedBytes(64 << 10, 9),
                            std::chrono::seconds(20), /*half_close=*/true);
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  // The server has closed the connection (or answered): it has seen the stream end.
  EXPECT_NE(RawStatus(*answer), 201) << *answer;
  HttpResponse health = Http().Get("/healthz");
  ASSERT_EQ(health.status, 200) << "vaultd died after a client abandoned an upload: "
                                << health.Describe() << "\n"
                                << vaultd_->Output();
  EXPECT_EQ(TotalFiles(Http(), owner), 0);
  EXPECT_TRUE(PartFiles(vaultd_->DataDir()).empty());
  for (const auto& p : Tree(vaultd_->DataDir() + "/users")) {
    if (!before.contains(p)) {
      EXPECT_TRUE(fs::is_directory(vaultd_->DataDir() + "/users/" + p)) << "left behind: " << p;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The upload limit: a vaultd with --upload-limit 1 MiB.

constexpr uint64_t kLimit = 1 << 20;

class UploadLimitTest : public VaultSuite {
 protected:
  static void SetUpTestSuite() {
    StartServer({.args = {"--upload-limit", std::to_string(kLimit)}});
  }
  void ExpectTooLarge(const HttpResponse& r, const std::string& what) {
    EXPECT_EQ(r.status, 413) << what << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "PayloadTooLarge") << what << ": " << r.Describe();
  }
};

TEST_F(UploadLimitTest, ExactlyTheLimitIsAccepted) {
  HttpResponse r = Http().Send({.method = "POST",
                                .target = "/api/owner/files?name=exact.bin",
                                .headers = {"Content-Type: application/octet-stream"},
                                .bearer = owner_.access_token,
                                .generated = GeneratedBody{.size = kLimit, .seed = 3}});
  ASSERT_EQ(r.status, 201) << r.Describe();
  EXPECT_EQ(Parse(r).at("file_size_bytes"), kLimit);
  EXPECT_EQ(Parse(r).at("checksum_sha256"), r.sent_sha256.c_str());
}

TEST_F(UploadLimitTest, OverTheLimitIs413AndLeavesNothingOnDisk) {
  Login owner = NewUser("limit", {"owner"});
  std::string users_dir = vaultd_->DataDir() + "/users";
  std::set<std::string> before = Tree(users_dir);

  ExpectTooLarge(Http().Send({.method = "POST",
                              .target = "/api/owner/files?name=over.bin",
                              .headers = {"Content-Type: application/octet-stream"},
                              .bearer = owner.access_token,
                              .generated = GeneratedBody{.size = kLimit + 1, .seed = 4}}),
                 "limit + 1 with Content-Length");
  ExpectTooLarge(
      Http().Send({.method = "POST",
                   .target = "/api/owner/files?name=over-chunked.bin",
                   .headers = {"Content-Type: application/octet-stream"},
                   .bearer = owner.access_token,
                   .generated = GeneratedBody{.size = 3 * kLimit, .seed = 5, .chunked = true}}),
      "3 x limit, chunked (no Content-Length)");
  ExpectTooLarge(Http().Send({.method = "POST",
                              .target = "/api/owner/files",
                              .bearer = owner.access_token,
                              .parts = {{.name = "file",
                                         .data = GeneratedBytes(kLimit + 1000, 6),
                                         .filename = "over.pdf",
                                         .content_type = "application/pdf"}}}),
                 "multipart over the limit");

  EXPECT_EQ(TotalFiles(Http(), owner), 0);
  std::set<std::string> after = Tree(users_dir);
  std::set<std::string> added;
  for (const auto& p : after) {
    if (!before.contains(p)) added.insert(p);
  }
  // At most the owner's (empty) directories may have appeared.
  for (const auto& p : added) {
    EXPECT_TRUE(fs::is_directory(users_dir + "/" + p)) << "left on disk: " << p;
  }
  EXPECT_TRUE(PartFiles(vaultd_->DataDir()).empty());
  // The server is still fine and the connection usable.
  EXPECT_EQ(Http().Get("/api/owner/files", owner.access_token).status, 200);
}

TEST_F(UploadLimitTest, ChunkedUploadUnderTheLimitWorks) {
  HttpResponse r =
      Http().Send({.method = "POST",
                   .target = "/api/owner/files?name=chunked.bin",
                   .headers = {"Content-Type: application/octet-stream"},
                   .bearer = owner_.access_token,
                   .generated = GeneratedBody{.size = 500000, .seed = 8, .chunked = true}});
  ASSERT_EQ(r.status, 201) << r.Describe();
  EXPECT_EQ(Parse(r).at("file_size_bytes"), 500000);
  EXPECT_EQ(Parse(r).at("checksum_sha256"), r.sent_sha256.c_str());
}

}  // namespace
}  // namespace va::vaulttest
