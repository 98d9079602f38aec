// The vault test harness; see vaultd_env.h.
#include "vault/vaultd_env.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <cstring>
#include <sstream>

#include "base/clock.h"
#include "base/sys.h"
#include "base/unique_fd.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace va::vaulttest {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

// splitmix64: a cheap, well-mixed stream for generated bodies.
uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Produces GeneratedBody bytes in order, hashing them as they go.
class Generator {
 public:
  Generator(uint64_t size, uint64_t seed) : left_(size), state_(seed) {
    ctx_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  }
  ~Generator() { EVP_MD_CTX_free(ctx_); }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  size_t Fill(char* out, size_t max) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(max, left_));
    size_t i = 0;
    // Leftover bytes of the last word first, then whole words, then a partial word.
    for (; i < n && have_ > 0; ++i) TakeByte(out[i]);
    for (; i + 8 <= n; i += 8) {
      uint64_t word = SplitMix(state_);
      std::memcpy(out + i, &word, 8);  // little-endian: the same bytes TakeByte would give
    }
    for (; i < n; ++i) TakeByte(out[i]);
    left_ -= n;
    sent_ += n;
    EVP_DigestUpdate(ctx_, out, n);
    return n;
  }
  std::string Digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md.data(), &len);
    return Hex(md.data(), len);
  }
  uint64_t Sent() const { return sent_; }

 private:
  void TakeByte(char& c) {
    if (have_ == 0) {
      word_ = SplitMix(state_);
      have_ = 8;
    }
    c = static_cast<char>(word_ & 0xff);
    word_ >>= 8;
    --have_;
  }

  uint64_t left_;
  uint64_t state_;
  uint64_t word_ = 0;
  int have_ = 0;
  uint64_t sent_ = 0;
  EVP_MD_CTX* ctx_;
};

size_t ReadGenerated(char* buffer, size_t size, size_t nitems, void* userdata) {
  return static_cast<Generator*>(userdata)->Fill(buffer, size * nitems);
}

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* ptr, size_t size, size_t nitems, void* userdata) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(userdata);
  std::string_view line(ptr, size * nitems);
  if (line.starts_with("HTTP/")) {
    headers->clear();  // a new response (after 100 Continue)
    return size * nitems;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    headers->emplace_back(Lower(line.substr(0, colon)), std::string(value));
  }
  return size * nitems;
}

const json::object* ErrorObject(const std::string& body, json::value& holder) {
  boost::system::error_code ec;
  holder = json::parse(body, ec);
  if (ec || !holder.is_object()) return nullptr;
  const auto* err = holder.as_object().if_contains("error");
  if (err == nullptr || !err->is_object()) return nullptr;
  return &err->as_object();
}

std::string StringField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// HttpResponse

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == want) return v;
  }
  return std::nullopt;
}

std::string HttpResponse::Describe() const {
  std::string s = "HTTP " + std::to_string(status);
  if (!transport_error.empty()) s += " (transport error: " + transport_error + ")";
  s += " body: " + (body.size() > 2000 ? body.substr(0, 2000) + "…" : body);
  return s;
}

std::string HttpResponse::ErrorCode() const {
  json::value holder;
  const json::object* err = ErrorObject(body, holder);
  return err != nullptr ? StringField(*err, "code") : std::string();
}

std::string HttpResponse::ErrorMessage() const {
  json::value holder;
  const json::object* err = ErrorObject(body, holder);
  return err != nullptr ? StringField(*err, "message") : std::string();
}

// ---------------------------------------------------------------------------------------------
// HttpClient

HttpClient::HttpClient(uint16_t port) : port_(port) {
  static CurlGlobal global;
  curl_ = curl_easy_init();
  VA_CHECK(curl_ != nullptr, "curl_easy_init");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  HttpResponse response;
  std::string url = "http://127.0.0.1:" + std::to_string(port_) + request.target;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "vault-http-test/1");

  curl_slist* headers = nullptr;
  // No "Expect: 100-continue" round trip (vaultd may not answer it; curl would wait 1 s).
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  std::string auth;
  if (request.bearer) {
    auth = "Authorization: Bearer " + *request.bearer;
    headers = curl_slist_append(headers, auth.c_str());
  }

  curl_mime* mime = nullptr;
  std::optional<Generator> generator;
  if (!request.parts.empty()) {
    mime = curl_mime_init(curl);
    for (const auto& part : request.parts) {
      curl_mimepart* p = curl_mime_addpart(mime);
      curl_mime_name(p, part.name.c_str());
      curl_mime_data(p, part.data.data(), part.data.size());
      if (part.filename) curl_mime_filename(p, part.filename->c_str());
      if (part.content_type) curl_mime_type(p, part.content_type->c_str());
    }
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  } else if (request.generated) {
    generator.emplace(request.generated->size, request.generated->seed);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadGenerated);
    curl_easy_setopt(curl, CURLOPT_READDATA, &*generator);
    if (request.generated->chunked) {
      headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    } else {
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(request.generated->size));
    }
  } else if (request.body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body->size()));
  }
  // After the body options: CURLOPT_UPLOAD and POSTFIELDS choose PUT/POST, this overrides.
  if (request.method == "GET" && !request.body && request.parts.empty() && !request.generated) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    response.transport_error = curl_easy_strerror(rc);
    // curl still reports a status when the server answered before the upload ended.
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (generator) {
    response.sent_bytes = generator->Sent();
    response.sent_sha256 = generator->Digest();
  }
  curl_slist_free_all(headers);
  if (mime != nullptr) curl_mime_free(mime);
  return response;
}

HttpResponse HttpClient::Get(const std::string& target, const std::optional<std::string>& bearer) {
  return Send({.method = "GET", .target = target, .bearer = bearer});
}

HttpResponse HttpClient::Delete(const std::string& target,
                                const std::optional<std::string>& bearer) {
  return Send({.method = "DELETE", .target = target, .bearer = bearer});
}

HttpResponse HttpClient::PostJson(const std::string& target, const std::string& json,
                                  const std::optional<std::string>& bearer) {
  return Send({.method = "POST",
               .target = target,
               .headers = {"Content-Type: application/json"},
               .bearer = bearer,
               .body = json});
}

HttpResponse HttpClient::DeleteJson(const std::string& target, const std::string& json,
                                    const std::optional<std::string>& bearer) {
  return Send({.method = "DELETE",
               .target = target,
               .headers = {"Content-Type: application/json"},
               .bearer = bearer,
               .body = json});
}

HttpResponse HttpClient::PostRaw(const std::string& target, const std::string& data,
                                 const std::string& content_type,
                                 const std::optional<std::string>& bearer) {
  return Send({.method = "POST",
               .target = target,
               .headers = {"Content-Type: " + content_type},
               .bearer = bearer,
               .body = data});
}

// ---------------------------------------------------------------------------------------------
// Raw exchanges

Result<std::string> RawExchange(uint16_t port, const std::string& bytes, milliseconds timeout,
                                bool half_close) {
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return SysFail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return SysFail("connect");
  }
  const MonoTime deadline = MonoNow() + timeout;
  size_t sent = 0;
  std::string received;
  bool can_send = true;
  for (;;) {
    short events = POLLIN;
    if (can_send && sent < bytes.size()) events |= POLLOUT;
    auto ready = PollOne(fd.Get(), events, milliseconds(MillisUntil(deadline)));
    if (!ready) return tl::unexpected(ready.error());
    if (*ready == 0) break;  // deadline: return what arrived
    if ((*ready & POLLOUT) != 0) {
      ssize_t n = ::send(fd.Get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        can_send = false;  // the server stopped reading; its answer may still be readable
      } else {
        sent += static_cast<size_t>(n);
        if (sent == bytes.size() && half_close) ::shutdown(fd.Get(), SHUT_WR);
      }
    }
    if ((*ready & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[8192];
      ssize_t n = ::recv(fd.Get(), buf, sizeof buf, 0);
      if (n <= 0) break;  // closed (or reset)
      received.append(buf, static_cast<size_t>(n));
    }
  }
  return received;
}

int RawStatus(std::string_view response) {
  if (!response.starts_with("HTTP/1.")) return 0;
  auto sp = response.find(' ');
  if (sp == std::string_view::npos || response.size() < sp + 4) return 0;
  int code = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(response[i]))) return 0;
    code = code * 10 + (response[i] - '0');
  }
  return code;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hashing and JWT

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  return Hex(md.data(), len);
}

std::string GeneratedBytes(uint64_t size, uint64_t seed) {
  Generator g(size, seed);
  std::string out(size, '\0');
  g.Fill(out.data(), out.size());
  return out;
}

std::string Base64UrlEncode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out.push_back(kAlphabet[(buffer >> (bits - 6)) & 63]);
      bits -= 6;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else if (c == '=') {
      break;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string SignHs256(std::string_view header_json, std::string_view payload_json,
                      std::string_view key) {
  std::string signing_input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
       mac.data(), &len);
  return signing_input + "." +
         Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

Result<std::string> ReadJwtKey(const std::string& path) {
  VA_TRY(std::string text, ReadSmallFile(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() != 128) {
    return Fail(ErrorKind::kCorrupt, path + ": " + std::to_string(text.size()) +
                                         " characters, expected 128 hex characters");
  }
  std::string key;
  for (size_t i = 0; i < text.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return Fail(ErrorKind::kCorrupt, path + ": not lowercase hex");
    key.push_back(static_cast<char>(hi * 16 + lo));
  }
  return key;
}

std::optional<uint64_t> ProcStatusKb(pid_t pid, std::string_view field) {
  auto status = ReadSmallFile("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  std::istringstream lines(*status);
  std::string line;
  std::string prefix = std::string(field) + ":";
  while (std::getline(lines, line)) {
    if (line.starts_with(prefix)) return std::stoull(line.substr(prefix.size()));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// OutputDrain

OutputDrain::~OutputDrain() { Stop(); }

void OutputDrain::Start(UniqueFd fd) {
  fd_ = std::move(fd);
  auto pipe = MakePipe();
  VA_CHECK(pipe.has_value(), "pipe");
  stop_read_ = std::move(pipe->read);
  stop_write_ = std::move(pipe->write);
  thread_ = std::thread([this] { Run(); });
}

void OutputDrain::Run() {
  for (;;) {
    pollfd fds[2] = {{fd_.Get(), POLLIN, 0}, {stop_read_.Get(), POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (fds[0].revents != 0) {
      char buf[4096];
      ssize_t n = ::read(fd_.Get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      text_.append(buf, static_cast<size_t>(n));
      cv_.notify_all();
      continue;
    }
    if (fds[1].revents != 0) break;
  }
  std::lock_guard lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

bool OutputDrain::WaitFor(const std::function<bool(const std::string&)>& done,
                          milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return done(text_) || ended_; });
  return done(text_);
}

std::string OutputDrain::Text() const {
  std::lock_guard lock(mu_);
  return text_;
}

void OutputDrain::Stop() {
  if (!thread_.joinable()) return;
  // Give the stream a moment to end by itself (the process exited: EOF is immediate), then stop.
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, milliseconds(500), [&] { return ended_; });
  }
  char c = 'x';
  (void)::write(stop_write_.Get(), &c, 1);
  thread_.join();
}

// ---------------------------------------------------------------------------------------------
// Processes

std::vector<std::string> CleanEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("VAULT_")) continue;
    env.emplace_back(kv);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

Result<CommandResult> RunVaultctl(const std::vector<std::string>& args, std::string stdin_text,
                                  const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv = {BinPath("vaultctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, CleanEnv(extra_env), std::move(stdin_text), std::chrono::seconds(30));
}

Result<CommandResult> RunVaultdToExit(const std::vector<std::string>& args,
                                      const std::vector<std::string>& extra_env,
                                      milliseconds timeout) {
  std::vector<std::string> argv = {BinPath("vaultd")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, CleanEnv(extra_env), {}, timeout);
}

Result<std::unique_ptr<Vaultd>> Vaultd::Start(VaultdOptions options) {
  auto temp = std::make_unique<TempDir>();
  std::string dir = temp->File("data");
  auto started = StartIn(dir, std::move(options));
  if (started) (*started)->temp_ = std::move(temp);
  return started;
}

Result<std::unique_ptr<Vaultd>> Vaultd::StartIn(const std::string& data_dir,
                                                VaultdOptions options) {
  std::unique_ptr<Vaultd> d(new Vaultd());
  d->data_dir_ = data_dir;
  for (const auto& user : options.users) {
    VA_TRY(std::string id, d->CtlAddUser(user));
    (void)id;
  }
  std::vector<std::string> argv = {BinPath("vaultd")};
  if (options.data_dir_flag) argv.insert(argv.end(), {"--data-dir", data_dir});
  if (options.listen_flag) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
  argv.insert(argv.end(), options.args.begin(), options.args.end());

  VA_TRY(Pipe out, MakePipe());
  VA_TRY(Pipe err, MakePipe());
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = CleanEnv(options.env);
  spawn.stdin_fd = SpawnOptions::kDevNull;
  spawn.stdout_fd = out.write.Get();
  spawn.stderr_fd = err.write.Get();
  spawn.parent_death_signal = SIGKILL;  // a crashed test leaves no vaultd behind
  VA_TRY(Process process, Process::Spawn(spawn));
  out.write.Reset();
  err.write.Reset();
  d->process_ = std::move(process);
  d->out_.Start(std::move(out.read));
  d->err_.Start(std::move(err.read));

  static constexpr std::string_view kReady = "vaultd listening on http://";
  std::string line;
  auto has_line = [&](const std::string& text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) return false;  // only complete lines
      std::string_view l(text.data() + pos, nl - pos);
      if (l.starts_with(kReady)) {
        line = std::string(l);
        return true;
      }
      pos = nl + 1;
    }
    return false;
  };
  if (!d->out_.WaitFor(has_line, options.ready_timeout)) {
    (void)d->process_->Signal(SIGKILL);
    (void)d->process_->WaitExit(std::chrono::seconds(5));
    auto status = d->process_->Reap();
    d->out_.Stop();
    d->err_.Stop();
    std::string output = d->Output();
    d->process_.reset();
    return Fail(ErrorKind::kTimeout, "vaultd printed no listening line (" +
                                         (status ? status->ToString() : std::string("not reaped")) +
                                         "):\n" + output);
  }
  std::string_view hostport = std::string_view(line).substr(kReady.size());
  while (!hostport.empty() && (hostport.back() == '/' || hostport.back() == '\r')) {
    hostport.remove_suffix(1);
  }
  auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos) {
    return Fail(ErrorKind::kCorrupt, "bad listening line: " + line);
  }
  d->host_ = std::string(hostport.substr(0, colon));
  int port = 0;
  for (char c : hostport.substr(colon + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Fail(ErrorKind::kCorrupt, "bad port in: " + line);
    }
    port = port * 10 + (c - '0');
  }
  if (port <= 0 || port > 65535) return Fail(ErrorKind::kCorrupt, "bad port in: " + line);
  d->port_ = static_cast<uint16_t>(port);
  d->http_ = std::make_unique<HttpClient>(d->port_);
  return d;
}

Vaultd::~Vaultd() {
  if (process_) Stop();
}

std::optional<ExitStatus> Vaultd::Stop(int sig, milliseconds timeout, bool expect_clean) {
  if (!process_) return std::nullopt;
  http_.reset();  // close our keep-alive connection first
  std::optional<ExitStatus> result;
  (void)process_->Signal(sig);
  auto exited = process_->WaitExit(timeout);
  if (exited && *exited) {
    result = process_->Reap();
  } else {
    (void)process_->Signal(SIGKILL);
    (void)process_->WaitExit(std::chrono::seconds(5));
    process_->Reap();
    ADD_FAILURE() << "vaultd did not exit within " << timeout.count() << " ms of signal " << sig
                  << "; killed. Output:\n"
                  << Output();
  }
  out_.Stop();
  err_.Stop();
  if (expect_clean && result && !(result->signaled == false && result->code == 0)) {
    ADD_FAILURE() << "vaultd exited with " << result->ToString() << " after signal " << sig
                  << ". Output:\n"
                  << Output();
  }
  process_.reset();
  return result;
}

std::string Vaultd::Output() const {
  return "--- vaultd stdout ---\n" + out_.Text() + "--- vaultd stderr ---\n" + err_.Text();
}

Result<std::string> Vaultd::CtlAddUser(const UserSpec& user) {
  std::vector<std::string> args = {"--data-dir", data_dir_, "user", "add", "--email", user.email};
  for (const auto& role : user.roles) args.insert(args.end(), {"--role", role});
  args.emplace_back("--password-stdin");
  VA_TRY(CommandResult r, RunVaultctl(args, user.password + "\n"));
  if (!r.status || r.status->signaled || r.status->code != 0) {
    return Fail(ErrorKind::kInvalid, "vaultctl user add " + user.email + ": " + r.Describe());
  }
  std::string id = r.out;
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  if (!IsId(id, "usr_")) {
    return Fail(ErrorKind::kCorrupt, "vaultctl user add printed no user id: " + r.Describe());
  }
  return id;
}

Result<Login> Vaultd::LogIn(const std::string& email, const std::string& password) {
  json::object body{{"email", email}, {"password", password}};
  HttpResponse r = http_->PostJson("/api/auth/login", json::serialize(body));
  if (r.status != 200) return Fail(ErrorKind::kInvalid, "login " + email + ": " + r.Describe());
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return Fail(ErrorKind::kCorrupt, "login: not JSON: " + r.body);
  const json::object& o = v.as_object();
  Login login;
  login.email = email;
  login.password = password;
  login.access_token = StringField(o, "access_token");
  login.refresh_token = StringField(o, "refresh_token");
  const auto* user = o.if_contains("user");
  if (user != nullptr && user->is_object()) login.user_id = StringField(user->as_object(), "id");
  if (login.access_token.empty() || login.refresh_token.empty() || login.user_id.empty()) {
    return Fail(ErrorKind::kCorrupt, "login: unexpected shape: " + r.body);
  }
  return login;
}

Result<Login> Vaultd::AddAndLogIn(const UserSpec& user) {
  VA_TRY(std::string id, CtlAddUser(user));
  VA_TRY(Login login, LogIn(user.email, user.password));
  if (login.user_id != id) {
    return Fail(ErrorKind::kCorrupt, "login user.id " + login.user_id + " != vaultctl id " + id);
  }
  return login;
}

Result<Login> Vaultd::AddViaApiAndLogIn(const std::string& admin_token, const UserSpec& user) {
  json::array roles;
  for (const auto& r : user.roles) roles.emplace_back(r);
  json::object body{{"email", user.email}, {"roles", roles}, {"password", user.password}};
  HttpResponse r = http_->PostJson("/api/admin/users", json::serialize(body), admin_token);
  if (r.status != 201) {
    return Fail(ErrorKind::kInvalid, "create user " + user.email + ": " + r.Describe());
  }
  return LogIn(user.email, user.password);
}

// ---------------------------------------------------------------------------------------------
// Formats

bool IsId(std::string_view id, std::string_view prefix) {
  if (!id.starts_with(prefix) || id.size() != prefix.size() + 26) return false;
  static constexpr std::string_view kLower = "0123456789abcdefghjkmnpqrstvwxyz";
  static constexpr std::string_view kUpper = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  for (char c : id.substr(prefix.size())) {
    if (kLower.find(c) == std::string_view::npos && kUpper.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string OtherId(const std::string& id) {
  // A middle character: the last one carries padding bits a strict parser may check.
  std::string other = id;
  char& c = other[other.size() - 13];
  c = c == '0' ? '1' : '0';
  return other;
}

bool IsTime(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SSZ
  if (t.size() != 20) return false;
  static constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:ddZ";
  for (size_t i = 0; i < t.size(); ++i) {
    if (kPattern[i] == 'd') {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
    } else if (kPattern[i] != t[i]) {
      return false;
    }
  }
  return ParseRfc3339(t).has_value();
}

}  // namespace va::vaulttest
