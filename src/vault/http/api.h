// Api: the vault's HTTP endpoints (spec §4, §5; shapes in docs/vault-api.md) registered on a
// Router. Each route parses and validates its input, authenticates through VaultApp, calls one
// handler and renders the result or the error of spec §3. Slow work (argon2id) runs on the
// blocking pool so the I/O threads keep serving. /healthz, /readyz and /metrics live here too.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/asio.h"
#include "base/result.h"
#include "vault/app/vault_app.h"
#include "vault/domain/errors.h"
#include "vault/http/metrics.h"
#include "vault/http/server.h"

namespace boost::asio {
class thread_pool;
}

namespace va::vault::http {

// One named readiness check for /readyz ("database", "sandbox").
struct ReadinessCheck {
  std::string name;
  std::function<Status()> check;
};

// The HTTP status of an error code (spec §3).
int HttpStatusFor(Code code);
HttpResponse AppErrorResponse(const AppError& error);

class Api {
 public:
  Api(VaultApp& app, Metrics& metrics, asio::thread_pool& blocking,
      std::vector<ReadinessCheck> readiness);
  void Register(Router& router);

 private:
  VaultApp& app_;
  Metrics& metrics_;
  asio::thread_pool& blocking_;
  std::vector<ReadinessCheck> readiness_;
};

}  // namespace va::vault::http
