#include "vault/server/daemon.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "sandbox/landlock.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/userns.h"
#include "vault/app/vault_app.h"
#include "vault/crypto/argon2_hasher.h"
#include "vault/crypto/jwt_signer.h"
#include "vault/crypto/sha256.h"
#include "vault/crypto/signing_key.h"
#include "vault/http/api.h"
#include "vault/http/metrics.h"
#include "vault/http/server.h"
#include "vault/http/ws_hub.h"
#include "vault/store/file_blob_store.h"
#include "vault/store/sqlite_store.h"

namespace va::vault {

Status PrepareDataDir(const std::string& dir) {
  // mkdir -p, each new component 0700.
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return SysFail("create data dir " + partial);
    }
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return SysFail("stat data dir " + dir);
  if (!S_ISDIR(st.st_mode))
    return Fail(ErrorKind::kInvalid, "data dir " + dir + " is not a directory");
  if (st.st_uid != geteuid()) {
    return Fail(ErrorKind::kUntrusted, "data dir " + dir + " belongs to uid " +
                                           std::to_string(st.st_uid) + ", not to this user");
  }
  if ((st.st_mode & 0022) != 0) {
    return Fail(ErrorKind::kUntrusted,
                "data dir " + dir + " is writable by group or others (chmod 700 it)");
  }
  return {};
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& database_url) {
  VA_TRY(std::string path, SqlitePathOf(database_url));
  VA_TRY(auto store, SqliteStore::Open(path));
  return std::unique_ptr<Store>(std::move(store));
}

int RunDaemon(const ServerConfig& config) {
  auto fail = [](std::string_view what, const Error& e) {
    LogError("vaultd_start_failed", {{"step", what}, {"error", e.message}});
    std::fprintf(stderr, "vaultd: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
                 e.message.c_str());
    return 1;
  };
  if (auto ok = PrepareDataDir(config.data_dir); !ok) return fail("data dir", ok.error());
  auto key = LoadOrCreateSigningKey(config.jwt_key_file);
  if (!key) return fail("signing key", key.error());
  auto store = OpenStore(config.database);
  if (!store) return fail("database", store.error());
  auto blobs = FileBlobStore::Open(config.data_dir);
  if (!blobs) return fail("file store", blobs.error());
  int stale = 0;
  if (auto ok = (*blobs)->RemoveStalePartials(&stale); !ok) return fail("file store", ok.error());
  if (stale > 0) LogInfo("vaultd_removed_partial_uploads", {{"count", stale}});

  Argon2Hasher hasher;
  JwtSigner signer(std::move(*key));
  OpenSslDigest digest;
  SystemClock clock;
  AppConfig app_config;
  app_config.access_token_ttl_seconds = config.access_token_ttl;
  app_config.max_upload_bytes = config.upload_limit;
  VaultApp app(**store, **blobs, hasher, signer, digest, clock, app_config);

  unsigned threads = config.threads > 0 ? static_cast<unsigned>(config.threads)
                                        : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context io(static_cast<int>(threads));
  asio::thread_pool blocking(2);
  http::Metrics metrics;
  Store& db = **store;
  std::vector<http::ReadinessCheck> readiness;
  readiness.push_back({"database", [&db] { return db.Ping(); }});
  // The kernel features every sandbox needs (spec §8); vaultctl doctor checks them in depth.
  readiness.push_back({"sandbox", []() -> Status {
                         VA_TRY(int abi, sandbox::ProbeLandlockAbi());
                         if (abi < 6) {
                           return Fail(ErrorKind::kUnsupported,
                                       "landlock ABI " + std::to_string(abi) + " is below 6");
                         }
                         if (!sandbox::SeccompAvailable()) {
                           return Fail(ErrorKind::kUnsupported, "seccomp filters unavailable");
                         }
                         VA_TRY(bool userns, sandbox::UserNamespacesAvailable());
                         if (!userns) {
                           return Fail(ErrorKind::kUnsupported, "user namespaces unavailable");
                         }
                         return {};
                       }});
  http::Api api(app, metrics, blocking, std::move(readiness));
  http::Router router;
  api.Register(router);
  http::WsHub hub([&app](std::string_view token,
                         const RequestMeta& meta) { return app.Authenticate(token, meta); },
                  metrics);
  hub.Register(router);
  metrics.AddGauge("vault_ws_connections", "Open notification WebSockets.",
                   [&hub] { return static_cast<double>(hub.Connections()); });
  http::ServerOptions options;
  http::HttpServer server(io, router, options);
  server.SetAccessHook(
      [&metrics](const http::HttpRequest& req, int status, std::chrono::nanoseconds elapsed) {
        metrics.RecordRequest(status, elapsed);
        if (CurrentLogLevel() > LogLevel::kDebug) return;
        LogDebug("http_request", {{"method", req.method},
                                  {"path", req.path},
                                  {"status", status},
                                  {"elapsed", elapsed},
                                  {"ip", req.remote_ip}});
      });
  auto listen = ParseListen(config.listen);
  if (!listen) return fail("listen", listen.error());
  if (auto ok = server.Listen(listen->first, listen->second); !ok) {
    return fail("listen", ok.error());
  }
  auto [addr, port] = server.LocalEndpoint();
  std::string shown = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;

  // SIGTERM/SIGINT: stop accepting and close every connection; io.run() returns once nothing
  // is left to do. A watchdog ends the loop regardless after 10 s.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopped = false;
  std::thread watchdog;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    LogInfo("vaultd_stopping", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server.Stop();
    hub.CloseAll();
    watchdog = std::thread([&] {
      std::unique_lock lock(stop_mu);
      if (!stop_cv.wait_for(lock, std::chrono::seconds(9), [&] { return stopped; })) {
        LogWarn("vaultd_stop_forced", {{"after", std::chrono::seconds(9)}});
        io.stop();
      }
    });
  });
  server.Start();
  LogInfo("vaultd_started", {{"listen", shown + ":" + std::to_string(port)},
                             {"data_dir", config.data_dir},
                             {"node_id", config.node_id},
                             {"threads", threads}});
  std::printf("vaultd listening on http://%s:%u\n", shown.c_str(), static_cast<unsigned>(port));
  std::fflush(stdout);

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : workers) t.join();
  {
    std::lock_guard lock(stop_mu);
    stopped = true;
  }
  stop_cv.notify_all();
  if (watchdog.joinable()) watchdog.join();
  blocking.join();
  LogInfo("vaultd_stopped");
  return 0;
}

}  // namespace va::vault
