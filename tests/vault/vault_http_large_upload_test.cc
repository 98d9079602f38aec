// A 1 GiB upload (the default limit) streamed from curl's read callback into a real vaultd:
// the answer's checksum and size are the ones computed while sending, the stored file has that
// size, and the server's peak resident memory (VmHWM of /proc/<pid>/status) grows by far less
// than the upload: the body is streamed to disk, never held whole. VA_LARGE_UPLOAD_MIB overrides
// the size (e.g. 256 on a slow machine).
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;

uint64_t UploadBytes() {
  if (const char* mib = std::getenv("VA_LARGE_UPLOAD_MIB")) return std::stoull(mib) << 20;
  return uint64_t{1} << 30;
}

class LargeUploadTest : public VaultSuite {};

TEST_F(LargeUploadTest, OneGibUploadKeepsServerMemoryFlat) {
  const uint64_t size = UploadBytes();
  // Warm the server up with a small upload so allocator pools and buffers exist before the
  // baseline is read.
  HttpResponse warm = Http().Send({.method = "POST",
                                   .target = "/api/owner/files?name=warm.bin",
                                   .headers = {"Content-Type: application/octet-stream"},
                                   .bearer = owner_.access_token,
                                   .generated = GeneratedBody{.size = 4 << 20, .seed = 1}});
  ASSERT_EQ(warm.status, 201) << warm.Describe();

  auto hwm_before = ProcStatusKb(vaultd_->Pid(), "VmHWM");
  auto rss_before = ProcStatusKb(vaultd_->Pid(), "VmRSS");
  ASSERT_TRUE(hwm_before && rss_before);

  HttpResponse r = Http().Send({.method = "POST",
                                .target = "/api/owner/files?name=large.bin",
                                .headers = {"Content-Type: application/octet-stream"},
                                .bearer = owner_.access_token,
                                .generated = GeneratedBody{.size = size, .seed = 42},
                                .timeout = std::chrono::minutes(12)});
  ASSERT_EQ(r.status, 201) << r.Describe();
  EXPECT_EQ(r.sent_bytes, size);
  json::object f = json::parse(r.body).as_object();
  EXPECT_EQ(f.at("file_size_bytes").to_number<uint64_t>(), size);
  EXPECT_EQ(f.at("checksum_sha256"), r.sent_sha256.c_str());

  auto hwm_after = ProcStatusKb(vaultd_->Pid(), "VmHWM");
  auto rss_after = ProcStatusKb(vaultd_->Pid(), "VmRSS");
  ASSERT_TRUE(hwm_after && rss_after);
  const uint64_t limit_kb = 64 << 10;  // 64 MiB
  EXPECT_LT(*hwm_after - *hwm_before, limit_kb)
      << "peak RSS grew from " << *hwm_before << " KiB to " << *hwm_after << " KiB during a "
      << (size >> 20) << " MiB upload";
  EXPECT_LT(*rss_after > *rss_before ? *rss_after - *rss_before : 0, limit_kb)
      << "RSS " << *rss_before << " → " << *rss_after << " KiB";
  RecordProperty("vmhwm_growth_kib", std::to_string(*hwm_after - *hwm_before));
  std::printf(
      "vaultd VmHWM %llu → %llu KiB, VmRSS %llu → %llu KiB over a %llu MiB upload\n",
      static_cast<unsigned long long>(*hwm_before), static_cast<unsigned long long>(*hwm_after),
      static_cast<unsigned long long>(*rss_before), static_cast<unsigned long long>(*rss_after),
      static_cast<unsigned long long>(size >> 20));

  std::string path = vaultd_->DataDir() + "/users/" + owner_.user_id + "/files/" +
                     std::string(f.at("file_id").as_string());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

}  // namespace
}  // namespace va::vaulttest
