// The module akon-health.so: one HTTP(S) GET with libcurl, for the supervisor's health probe (see
// health.h). Plain C interface so that nothing C++ crosses the dlopen boundary.
#include <curl/curl.h>

#include <cstdio>
#include <cstring>

namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

extern "C" __attribute__((visibility("default"))) int va_akon_http_probe(const char* url,
                                                                         const char* cafile,
                                                                         long timeout_ms, char* err,
                                                                         size_t err_len) {
  static const bool inited = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!inited) {
    std::snprintf(err, err_len, "curl_global_init failed");
    return -1;
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    std::snprintf(err, err_len, "curl_easy_init failed");
    return -1;
  }
  char curl_err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "akon-health/1");
  if (cafile != nullptr && cafile[0] != '\0') {
    // CAINFO alone would replace the system bundle; spec §6 wants the system store *plus* cafile.
    curl_easy_setopt(curl, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    std::snprintf(err, err_len, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    return -2;
  }
  if (rc != CURLE_OK) {
    std::snprintf(err, err_len, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    return -1;
  }
  return static_cast<int>(status);
}
