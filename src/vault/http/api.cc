#include "vault/http/api.h"

#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <type_traits>

#include "base/clock.h"
#include "base/log.h"
#include "vault/http/multipart.h"

namespace va::vault::http {
namespace {

namespace json = boost::json;

constexpr size_t kUploadChunk = size_t{64} * 1024;

HttpResponse JsonResponse(int status, const json::value& value) {
  HttpResponse res;
  res.status = status;
  res.body = json::serialize(value);
  return res;
}

std::string Time(int64_t seconds) { return FormatRfc3339(WallTime(std::chrono::seconds(seconds))); }

json::value OptTime(const std::optional<int64_t>& t) {
  if (!t) return nullptr;
  return json::value(Time(*t));
}

json::array RolesJson(RoleSet roles) {
  json::array out;
  for (const std::string& name : RoleNames(roles)) out.emplace_back(name);
  return out;
}

json::object UserJson(const User& user) {
  return {{"user_id", user.id},
          {"email", user.email},
          {"roles", RolesJson(user.roles)},
          {"status", UserStatusName(user.status)},
          {"created_at", Time(user.created_at)},
          {"disabled_at", OptTime(user.disabled_at)}};
}

json::object FileJson(const FileRecord& file) {
  return {{"file_id", file.id},
          {"file_name", file.name},
          {"file_size_bytes", file.size_bytes},
          {"content_type", file.content_type},
          {"checksum_sha256", file.checksum_sha256},
          {"uploaded_at", Time(file.uploaded_at)}};
}

json::object FlagsJson(const Permission& p) {
  return {{"read", p.read}, {"write", p.write}, {"execute", p.execute}};
}

json::object PermissionJson(const PermissionView& view, int64_t now) {
  const Permission& p = view.permission;
  std::string_view status = p.revoked_at                             ? "revoked"
                            : (p.expires_at && *p.expires_at <= now) ? "expired"
                                                                     : "active";
  return {{"permission_id", p.id},
          {"file_id", p.file_id},
          {"file_name", view.file_name},
          {"client_id", p.client_id},
          {"client_email", view.client_email},
          {"permissions", FlagsJson(p)},
          {"expires_at", OptTime(p.expires_at)},
          {"max_duration_seconds", p.max_duration_seconds},
          {"created_at", Time(p.created_at)},
          {"revoked_at", OptTime(p.revoked_at)},
          {"status", status}};
}

json::object AuditJson(const AuditEntry& e) {
  boost::system::error_code ec;
  json::value metadata = json::parse(e.metadata_json, ec);
  if (ec || !metadata.is_object()) metadata = json::object();
  return {{"id", e.id},
          {"timestamp", Time(e.timestamp)},
          {"actor_id", e.actor_id},
          {"actor_email", e.actor_email},
          {"action", e.action},
          {"resource_type", e.resource_type},
          {"resource_id", e.resource_id},
          {"result", AuditResultName(e.result)},
          {"ip_address", e.ip_address},
          {"user_agent", e.user_agent},
          {"metadata", std::move(metadata)}};
}

json::object LoginJson(const LoginResult& r) {
  return {
      {"access_token", r.access_token},
      {"token_type", "Bearer"},
      {"expires_in", r.expires_in},
      {"refresh_token", r.refresh_token},
      {"user", {{"id", r.user.id}, {"email", r.user.email}, {"roles", RolesJson(r.user.roles)}}}};
}

AppError Invalid(std::string message) { return AppError{Code::kInvalidInput, std::move(message)}; }

AppResult<json::object> ParseObject(const std::string& body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  json::value value = json::parse(body, ec, {}, options);
  if (ec) return tl::unexpected(Invalid("request body is not valid JSON"));
  if (!value.is_object()) return tl::unexpected(Invalid("request body must be a JSON object"));
  return std::move(value.as_object());
}

AppResult<std::string> GetString(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (!v) return tl::unexpected(Invalid("field '" + std::string(key) + "' is required"));
  if (!v->is_string()) {
    return tl::unexpected(Invalid("field '" + std::string(key) + "' must be a string"));
  }
  return std::string(v->as_string());
}

AppResult<std::optional<std::string>> GetOptionalString(const json::object& obj,
                                                        std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) {
    return tl::unexpected(Invalid("field '" + std::string(key) + "' must be a string"));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

AppResult<bool> GetBool(const json::object& obj, std::string_view key, bool fallback) {
  const json::value* v = obj.if_contains(key);
  if (!v) return fallback;
  if (!v->is_bool()) {
    return tl::unexpected(Invalid("field '" + std::string(key) + "' must be true or false"));
  }
  return v->as_bool();
}

AppResult<int64_t> GetInt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (!v) return tl::unexpected(Invalid("field '" + std::string(key) + "' is required"));
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return tl::unexpected(Invalid("field '" + std::string(key) + "' must be an integer"));
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

AppResult<std::optional<int64_t>> QueryInt(const HttpRequest& req, std::string_view key) {
  auto v = req.Query(key);
  if (!v || v->empty()) return std::optional<int64_t>();
  auto n = ParseInt(*v);
  if (!n)
    return tl::unexpected(Invalid("query parameter '" + std::string(key) + "' must be an integer"));
  return std::optional<int64_t>(*n);
}

AppResult<std::optional<int64_t>> QueryTime(const HttpRequest& req, std::string_view key) {
  auto v = req.Query(key);
  if (!v || v->empty()) return std::optional<int64_t>();
  auto t = ParseRfc3339(*v);
  if (!t) {
    return tl::unexpected(
        Invalid("query parameter '" + std::string(key) + "' must be an RFC 3339 time"));
  }
  return std::optional<int64_t>(UnixSeconds(*t));
}

AppResult<std::optional<std::string>> QueryId(const HttpRequest& req, std::string_view key,
                                              std::string_view prefix) {
  auto v = req.Query(key);
  if (!v || v->empty()) return std::optional<std::string>();
  if (!IsValidId(*v, prefix)) {
    return tl::unexpected(Invalid("query parameter '" + std::string(key) + "' is not a valid id"));
  }
  return std::optional<std::string>(std::string(*v));
}

// Any id of a known type (audit resource ids may name users, files, permissions, sessions).
bool IsAnyValidId(std::string_view id) {
  for (std::string_view prefix : {"usr_", "fil_", "prm_", "ses_", "sbx_", "aud_"}) {
    if (IsValidId(id, prefix)) return true;
  }
  return false;
}

RequestMeta Meta(const HttpRequest& req) {
  RequestMeta meta;
  meta.ip_address = req.remote_ip;
  std::string_view agent = req.Header("user-agent").value_or("");
  meta.user_agent = std::string(agent.substr(0, 256));
  return meta;
}

template <typename T>
HttpResponse Render(const AppResult<T>& result, int status,
                    const std::function<json::value(const T&)>& render) {
  if (!result) return AppErrorResponse(result.error());
  return JsonResponse(status, render(*result));
}

template <typename F>
asio::awaitable<std::invoke_result_t<F&>> RunBlocking(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F&>;
  co_return co_await asio::co_spawn(
      pool, [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); },
      asio::use_awaitable);
}

using SyncHandler = std::function<HttpResponse(HttpRequest&, const PathParams&)>;

Handler Sync(SyncHandler fn) {
  return [fn = std::move(fn)](HttpRequest& req, const PathParams& params,
                              BodyReader*) -> asio::awaitable<HttpResponse> {
    co_return fn(req, params);
  };
}

}  // namespace

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kUnauthenticated:
      return 401;
    case Code::kForbidden:
    case Code::kUnauthorized:
    case Code::kPermissionDenied:
    case Code::kPermissionExpired:
    case Code::kPermissionRevoked:
      return 403;
    case Code::kInvalidInput:
      return 400;
    case Code::kSessionNotFound:
    case Code::kFileNotFound:
    case Code::kUserNotFound:
    case Code::kPermissionNotFound:
      return 404;
    case Code::kSessionAlreadyTerminated:
    case Code::kSessionAlreadyActive:
    case Code::kEmailAlreadyExists:
    case Code::kSessionNotActive:
      return 409;
    case Code::kPayloadTooLarge:
      return 413;
    case Code::kRateLimited:
      return 429;
    case Code::kCapacityExceeded:
    case Code::kSandboxUnavailable:
      return 503;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse AppErrorResponse(const AppError& error) {
  HttpResponse res = ErrorResponse(HttpStatusFor(error.code), CodeName(error.code), error.message);
  if (error.code == Code::kRateLimited) {
    res.headers.emplace_back("Retry-After", std::to_string(std::max(1, error.retry_after_seconds)));
  }
  if (error.code == Code::kUnauthenticated) {
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return res;
}

Api::Api(VaultApp& app, Metrics& metrics, asio::thread_pool& blocking,
         std::vector<ReadinessCheck> readiness)
    : app_(app), metrics_(metrics), blocking_(blocking), readiness_(std::move(readiness)) {}

void Api::Register(Router& router) {
  VaultApp& app = app_;
  // Authenticates the request's bearer token.
  auto auth = [&app](const HttpRequest& req) -> AppResult<Actor> {
    auto header = req.Header("authorization");
    if (!header) return AppFail(Code::kUnauthenticated, "missing bearer token");
    std::string_view value = *header;
    if (value.size() < 8 || (value.substr(0, 7) != "Bearer " && value.substr(0, 7) != "bearer ")) {
      return AppFail(Code::kUnauthenticated, "malformed authorization header");
    }
    return app.Authenticate(value.substr(7), Meta(req));
  };
  auto page_of = [&app](const HttpRequest& req) -> AppResult<PageRequest> {
    auto page = QueryInt(req, "page");
    if (!page) return tl::unexpected(page.error());
    auto size = QueryInt(req, "page_size");
    if (!size) return tl::unexpected(size.error());
    return app.CheckPage(*page, *size);
  };
  auto check_id = [](std::string_view id, std::string_view prefix,
                     std::string_view what) -> AppStatus {
    if (!IsValidId(id, prefix))
      return AppFail(Code::kInvalidInput, "invalid " + std::string(what) + " id");
    return {};
  };
  auto clock_now = [] { return UnixSeconds(WallNow()); };

  // --- health ----------------------------------------------------------------------------------
  router.Add("GET", "/healthz", Sync([](HttpRequest&, const PathParams&) {
               return JsonResponse(200, {{"status", "ok"}});
             }));
  router.Add("GET", "/readyz", Sync([this](HttpRequest&, const PathParams&) {
               json::object checks;
               bool ready = true;
               for (const ReadinessCheck& c : readiness_) {
                 Status s = c.check();
                 if (s) {
                   checks[c.name] = "ok";
                 } else {
                   ready = false;
                   checks[c.name] = s.error().message;
                 }
               }
               return JsonResponse(ready ? 200 : 503, {{"status", ready ? "ready" : "not_ready"},
                                                       {"checks", std::move(checks)}});
             }));
  router.Add("GET", "/metrics", Sync([this](HttpRequest&, const PathParams&) {
               HttpResponse res;
               res.content_type = "text/plain; version=0.0.4; charset=utf-8";
               res.body = metrics_.Render();
               return res;
             }));

  // --- auth ------------------------------------------------------------------------------------
  router.Add(
      "POST", "/api/auth/login",
      [this](HttpRequest& req, const PathParams&, BodyReader*) -> asio::awaitable<HttpResponse> {
        auto body = ParseObject(req.body);
        if (!body) co_return AppErrorResponse(body.error());
        auto email = GetString(*body, "email");
        if (!email) co_return AppErrorResponse(email.error());
        auto password = GetString(*body, "password");
        if (!password) co_return AppErrorResponse(password.error());
        RequestMeta meta = Meta(req);
        VaultApp& app = app_;
        auto result = co_await RunBlocking(blocking_, [&app, &email, &password, &meta] {
          return app.Login(*email, *password, meta);
        });
        co_return Render<LoginResult>(
            result, 200, [](const LoginResult& r) -> json::value { return LoginJson(r); });
      });
  router.Add("POST", "/api/auth/refresh", Sync([&app](HttpRequest& req, const PathParams&) {
               auto body = ParseObject(req.body);
               if (!body) return AppErrorResponse(body.error());
               auto token = GetString(*body, "refresh_token");
               if (!token) return AppErrorResponse(token.error());
               return Render<LoginResult>(
                   app.Refresh(*token, Meta(req)), 200,
                   [](const LoginResult& r) -> json::value { return LoginJson(r); });
             }));
  router.Add("POST", "/api/auth/logout", Sync([&app](HttpRequest& req, const PathParams&) {
               auto body = ParseObject(req.body);
               if (!body) return AppErrorResponse(body.error());
               auto token = GetString(*body, "refresh_token");
               if (!token) return AppErrorResponse(token.error());
               auto done = app.Logout(*token, Meta(req));
               if (!done) return AppErrorResponse(done.error());
               HttpResponse res;
               res.status = 204;
               res.content_type.clear();
               return res;
             }));

  // --- admin: users ----------------------------------------------------------------------------
  router.Add(
      "POST", "/api/admin/users",
      [this, auth](HttpRequest& req, const PathParams&,
                   BodyReader*) -> asio::awaitable<HttpResponse> {
        auto actor = auth(req);
        if (!actor) co_return AppErrorResponse(actor.error());
        if (auto ok = app_.RequireRole(*actor, Role::kAdmin, "users"); !ok) {
          co_return AppErrorResponse(ok.error());
        }
        auto body = ParseObject(req.body);
        if (!body) co_return AppErrorResponse(body.error());
        NewUser user;
        auto email = GetString(*body, "email");
        if (!email) co_return AppErrorResponse(email.error());
        user.email = *email;
        auto password = GetString(*body, "password");
        if (!password) co_return AppErrorResponse(password.error());
        user.password = *password;
        const json::value* roles = body->if_contains("roles");
        if (!roles || !roles->is_array()) {
          co_return AppErrorResponse(Invalid("field 'roles' must be an array of role names"));
        }
        for (const json::value& r : roles->as_array()) {
          if (!r.is_string()) {
            co_return AppErrorResponse(Invalid("field 'roles' must be an array of role names"));
          }
          user.roles.emplace_back(r.as_string());
        }
        VaultApp& app = app_;
        const Actor& who = *actor;
        auto created = co_await RunBlocking(
            blocking_, [&app, &who, &user] { return app.CreateUser(&who, user); });
        co_return Render<User>(created, 201,
                               [](const User& u) -> json::value { return UserJson(u); });
      });
  router.Add("GET", "/api/admin/users",
             Sync([&app, auth, page_of](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kAdmin, "users"); !ok) {
                 return AppErrorResponse(ok.error());
               }
               auto page = page_of(req);
               if (!page) return AppErrorResponse(page.error());
               auto users = app.ListUsers(&*actor, *page);
               if (!users) return AppErrorResponse(users.error());
               json::array items;
               for (const User& u : users->items) items.emplace_back(UserJson(u));
               return JsonResponse(200, {{"users", std::move(items)},
                                         {"total_count", users->total_count},
                                         {"page", page->page},
                                         {"page_size", page->page_size}});
             }));
  router.Add("POST", "/api/admin/users/{id}/disable",
             Sync([&app, auth, check_id](HttpRequest& req, const PathParams& p) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kAdmin, p[0]); !ok) {
                 return AppErrorResponse(ok.error());
               }
               if (auto ok = check_id(p[0], "usr_", "user"); !ok)
                 return AppErrorResponse(ok.error());
               std::string reason;
               if (!req.body.empty()) {
                 auto body = ParseObject(req.body);
                 if (!body) return AppErrorResponse(body.error());
                 auto r = GetOptionalString(*body, "reason");
                 if (!r) return AppErrorResponse(r.error());
                 reason = r->value_or("");
               }
               return Render<User>(app.DisableUser(*actor, p[0], reason), 200,
                                   [](const User& u) -> json::value { return UserJson(u); });
             }));
  router.Add("POST", "/api/admin/users/{id}/enable",
             Sync([&app, auth, check_id](HttpRequest& req, const PathParams& p) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kAdmin, p[0]); !ok) {
                 return AppErrorResponse(ok.error());
               }
               if (auto ok = check_id(p[0], "usr_", "user"); !ok)
                 return AppErrorResponse(ok.error());
               return Render<User>(app.EnableUser(*actor, p[0]), 200,
                                   [](const User& u) -> json::value { return UserJson(u); });
             }));

  // --- audit -----------------------------------------------------------------------------------
  auto audit_query = [page_of](const HttpRequest& req) -> AppResult<AuditQuery> {
    AuditQuery q;
    auto page = page_of(req);
    if (!page) return tl::unexpected(page.error());
    q.page = *page;
    if (auto action = req.Query("action"); action && !action->empty()) {
      if (action->size() > 64)
        return tl::unexpected(Invalid("query parameter 'action' is too long"));
      for (char c : *action) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
          return tl::unexpected(Invalid("query parameter 'action' must be a PascalCase name"));
        }
      }
      q.action = std::string(*action);
    }
    auto actor_id = QueryId(req, "actor_id", "usr_");
    if (!actor_id) return tl::unexpected(actor_id.error());
    q.actor_id = *actor_id;
    if (auto rid = req.Query("resource_id"); rid && !rid->empty()) {
      if (!IsAnyValidId(*rid)) {
        return tl::unexpected(Invalid("query parameter 'resource_id' is not a valid id"));
      }
      q.resource_id = std::string(*rid);
    }
    auto since = QueryTime(req, "since");
    if (!since) return tl::unexpected(since.error());
    q.since = *since;
    auto until = QueryTime(req, "until");
    if (!until) return tl::unexpected(until.error());
    q.until = *until;
    return q;
  };
  auto audit_page = [](const AppResult<Page<AuditEntry>>& page, const AuditQuery& q) {
    if (!page) return AppErrorResponse(page.error());
    json::array logs;
    for (const AuditEntry& e : page->items) logs.emplace_back(AuditJson(e));
    return JsonResponse(200, {{"logs", std::move(logs)},
                              {"total_count", page->total_count},
                              {"page", q.page.page},
                              {"page_size", q.page.page_size}});
  };
  router.Add("GET", "/api/admin/audit-logs",
             Sync([&app, auth, audit_query, audit_page](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kAdmin, "audit-logs"); !ok) {
                 return AppErrorResponse(ok.error());
               }
               auto q = audit_query(req);
               if (!q) return AppErrorResponse(q.error());
               return audit_page(app.AdminAudit(*actor, *q), *q);
             }));
  router.Add("GET", "/api/owner/audit-logs",
             Sync([&app, auth, audit_query, audit_page](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kOwner, "audit-logs"); !ok) {
                 return AppErrorResponse(ok.error());
               }
               auto q = audit_query(req);
               if (!q) return AppErrorResponse(q.error());
               return audit_page(app.OwnerAudit(*actor, *q), *q);
             }));

  // --- owner: files ----------------------------------------------------------------------------
  router.Add(
      "POST", "/api/owner/files",
      [&app, auth](HttpRequest& req, const PathParams&,
                   BodyReader* body) -> asio::awaitable<HttpResponse> {
        auto actor = auth(req);
        if (!actor) {
          HttpResponse res = AppErrorResponse(actor.error());
          res.close = true;
          co_return res;
        }
        std::optional<MultipartFileReader> multipart;
        std::string name;
        std::string content_type = "application/octet-stream";
        std::optional<int64_t> declared;
        auto header_type = req.Header("content-type");
        std::optional<std::string> boundary;
        if (header_type) boundary = MultipartBoundary(*header_type);
        if (auto ok = app.RequireRole(*actor, Role::kOwner, "files"); !ok) {
          HttpResponse res = AppErrorResponse(ok.error());
          res.close = true;
          co_return res;
        }
        if (boundary) {
          // The whole body bounds the file part from above.
          if (req.content_length && static_cast<int64_t>(*req.content_length) >
                                        app.Config().max_upload_bytes + (1 << 20)) {
            declared = static_cast<int64_t>(*req.content_length) - (1 << 20);
          }
          multipart.emplace(*body, *boundary);
          auto part = co_await multipart->NextFilePart();
          if (!part) {
            HttpResponse res = AppErrorResponse(Invalid(part.error().message));
            res.close = true;
            co_return res;
          }
          name = part->file_name;
          if (!part->content_type.empty()) content_type = part->content_type;
        } else {
          auto query_name = req.Query("name");
          if (!query_name) {
            HttpResponse res = AppErrorResponse(Invalid(
                "query parameter 'name' is required (or send multipart/form-data with a 'file' "
                "part)"));
            res.close = true;
            co_return res;
          }
          name = std::string(*query_name);
          if (header_type && !header_type->empty()) content_type = std::string(*header_type);
          if (req.content_length) declared = static_cast<int64_t>(*req.content_length);
        }
        auto upload = app.BeginUpload(*actor, name, content_type, declared);
        if (!upload) {
          HttpResponse res = AppErrorResponse(upload.error());
          res.close = true;
          co_return res;
        }
        std::vector<char> chunk(kUploadChunk);
        for (;;) {
          // One co_await per statement: GCC 12 destroys the result of a co_await inside ?:
          // twice when it holds an error.
          Result<size_t> n = size_t{0};
          if (multipart) {
            n = co_await multipart->Read(chunk);
          } else {
            n = co_await body->Read(chunk);
          }
          if (!n) {
            HttpResponse res =
                AppErrorResponse(Invalid("upload interrupted: " + n.error().message));
            res.close = true;
            co_return res;
          }
          if (*n == 0) break;
          auto written = (*upload)->Write(std::span<const char>(chunk.data(), *n));
          if (!written) {
            HttpResponse res = AppErrorResponse(written.error());
            res.close = true;
            co_return res;
          }
        }
        auto file = app.FinishUpload(*actor, std::move(*upload));
        co_return Render<FileRecord>(
            file, 201, [](const FileRecord& f) -> json::value { return FileJson(f); });
      },
      BodyMode::kStreamed);
  router.Add("GET", "/api/owner/files",
             Sync([&app, auth, page_of](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               auto page = page_of(req);
               if (!page) return AppErrorResponse(page.error());
               auto files = app.ListOwnerFiles(*actor, *page);
               if (!files) return AppErrorResponse(files.error());
               json::array items;
               for (const FileRecord& f : files->items) items.emplace_back(FileJson(f));
               return JsonResponse(200, {{"files", std::move(items)},
                                         {"total_count", files->total_count},
                                         {"page", page->page},
                                         {"page_size", page->page_size}});
             }));
  router.Add("GET", "/api/owner/files/{id}",
             Sync([&app, auth, check_id](HttpRequest& req, const PathParams& p) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kOwner, p[0]); !ok) {
                 return AppErrorResponse(ok.error());
               }
               if (auto ok = check_id(p[0], "fil_", "file"); !ok)
                 return AppErrorResponse(ok.error());
               return Render<FileRecord>(
                   app.GetOwnerFile(*actor, p[0]), 200,
                   [](const FileRecord& f) -> json::value { return FileJson(f); });
             }));
  router.Add("DELETE", "/api/owner/files/{id}",
             Sync([&app, auth, check_id, clock_now](HttpRequest& req, const PathParams& p) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kOwner, p[0]); !ok) {
                 return AppErrorResponse(ok.error());
               }
               if (auto ok = check_id(p[0], "fil_", "file"); !ok)
                 return AppErrorResponse(ok.error());
               auto done = app.DeleteFile(*actor, p[0]);
               if (!done) return AppErrorResponse(done.error());
               return JsonResponse(
                   200, {{"success", true}, {"file_id", p[0]}, {"deleted_at", Time(clock_now())}});
             }));

  // --- owner: permissions ----------------------------------------------------------------------
  router.Add("POST", "/api/owner/permissions",
             Sync([&app, auth, clock_now](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kOwner, "permissions"); !ok) {
                 return AppErrorResponse(ok.error());
               }
               auto body = ParseObject(req.body);
               if (!body) return AppErrorResponse(body.error());
               GrantRequest grant;
               auto file_id = GetString(*body, "file_id");
               if (!file_id) return AppErrorResponse(file_id.error());
               if (!IsValidId(*file_id, "fil_"))
                 return AppErrorResponse(Invalid("invalid file id"));
               grant.file_id = *file_id;
               auto email = GetString(*body, "client_email");
               if (!email) return AppErrorResponse(email.error());
               grant.client_email = *email;
               const json::value* flags = body->if_contains("permissions");
               if (!flags) return AppErrorResponse(Invalid("field 'permissions' is required"));
               if (!flags->is_object()) {
                 return AppErrorResponse(Invalid("field 'permissions' must be an object"));
               }
               {
                 const json::object& f = flags->as_object();
                 auto read = GetBool(f, "read", true);
                 if (!read) return AppErrorResponse(read.error());
                 auto write = GetBool(f, "write", false);
                 if (!write) return AppErrorResponse(write.error());
                 auto execute = GetBool(f, "execute", false);
                 if (!execute) return AppErrorResponse(execute.error());
                 grant.read = *read;
                 grant.write = *write;
                 grant.execute = *execute;
               }
               auto expires = GetOptionalString(*body, "expires_at");
               if (!expires) return AppErrorResponse(expires.error());
               if (*expires) {
                 auto t = ParseRfc3339(**expires);
                 if (!t)
                   return AppErrorResponse(Invalid("field 'expires_at' must be an RFC 3339 time"));
                 grant.expires_at = UnixSeconds(*t);
               }
               auto duration = GetInt(*body, "max_duration_seconds");
               if (!duration) return AppErrorResponse(duration.error());
               grant.max_duration_seconds = *duration;
               int64_t now = clock_now();
               return Render<PermissionView>(app.Grant(*actor, grant), 201,
                                             [now](const PermissionView& v) -> json::value {
                                               return PermissionJson(v, now);
                                             });
             }));
  router.Add("GET", "/api/owner/permissions",
             Sync([&app, auth, clock_now](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kOwner, "permissions"); !ok) {
                 return AppErrorResponse(ok.error());
               }
               auto file_id = QueryId(req, "file_id", "fil_");
               if (!file_id) return AppErrorResponse(file_id.error());
               std::optional<std::string_view> filter;
               if (*file_id) filter = **file_id;
               auto list = app.ListPermissions(*actor, filter);
               if (!list) return AppErrorResponse(list.error());
               int64_t now = clock_now();
               json::array items;
               for (const PermissionView& v : *list) items.emplace_back(PermissionJson(v, now));
               return JsonResponse(200, {{"permissions", std::move(items)}});
             }));
  router.Add("DELETE", "/api/owner/permissions/{id}",
             Sync([&app, auth, check_id, clock_now](HttpRequest& req, const PathParams& p) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               if (auto ok = app.RequireRole(*actor, Role::kOwner, p[0]); !ok) {
                 return AppErrorResponse(ok.error());
               }
               if (auto ok = check_id(p[0], "prm_", "permission"); !ok) {
                 return AppErrorResponse(ok.error());
               }
               auto done = app.Revoke(*actor, p[0]);
               if (!done) return AppErrorResponse(done.error());
               return JsonResponse(
                   200,
                   {{"success", true}, {"permission_id", p[0]}, {"revoked_at", Time(clock_now())}});
             }));

  // --- client ----------------------------------------------------------------------------------
  router.Add("GET", "/api/client/files", Sync([&app, auth](HttpRequest& req, const PathParams&) {
               auto actor = auth(req);
               if (!actor) return AppErrorResponse(actor.error());
               auto files = app.ListClientFiles(*actor);
               if (!files) return AppErrorResponse(files.error());
               json::array items;
               for (const ViewableFile& v : *files) {
                 items.emplace_back(
                     json::object{{"file_id", v.file.id},
                                  {"file_name", v.file.name},
                                  {"file_size_bytes", v.file.size_bytes},
                                  {"content_type", v.file.content_type},
                                  {"permission_id", v.permission.id},
                                  {"permissions", FlagsJson(v.permission)},
                                  {"expires_at", OptTime(v.permission.expires_at)},
                                  {"max_duration_seconds", v.permission.max_duration_seconds}});
               }
               return JsonResponse(200, {{"files", std::move(items)}});
             }));
}

}  // namespace va::vault::http
