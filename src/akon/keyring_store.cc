// KeyringSecretStore: secrets in the Secret Service (GNOME Keyring) through libsecret; see
// secrets.h. Built into the loadable module akon-keyring.so, so that only the commands that use
// the keyring load libsecret and GLib.
#include <libsecret/secret.h>
#include <string.h>

#include <cstdlib>
#include <vector>

#include "akon/secrets.h"

namespace va::akon {
namespace {

// ---- libsecret plumbing -----------------------------------------------------------------------

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GErrorFree {
  void operator()(GError* e) const {
    if (e != nullptr) g_error_free(e);
  }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct HashTableUnref {
  void operator()(GHashTable* t) const {
    if (t != nullptr) g_hash_table_unref(t);
  }
};
using HashTablePtr = std::unique_ptr<GHashTable, HashTableUnref>;

struct SecretValueUnref {
  void operator()(SecretValue* v) const {
    if (v != nullptr) secret_value_unref(v);
  }
};
using SecretValuePtr = std::unique_ptr<SecretValue, SecretValueUnref>;

// The items a search returned, owned.
class ItemList {
 public:
  explicit ItemList(GList* list) : list_(list) {}
  ~ItemList() { g_list_free_full(list_, g_object_unref); }
  ItemList(const ItemList&) = delete;
  ItemList& operator=(const ItemList&) = delete;
  std::vector<SecretItem*> Items() const {
    std::vector<SecretItem*> items;
    for (GList* l = list_; l != nullptr; l = l->next) items.push_back(SECRET_ITEM(l->data));
    return items;
  }

 private:
  GList* list_;
};

// Items are matched on service and username only and under any schema name
// (SECRET_SCHEMA_DONT_MATCH_NAME), as the Rust keyring crate searches; `target` is written so the
// crate recognises the items as its own default-target entries.
const SecretSchema kSchema = {
    "io.github.akon.Secret",
    SECRET_SCHEMA_DONT_MATCH_NAME,
    {
        {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {"username", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {"target", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {nullptr, SECRET_SCHEMA_ATTRIBUTE_STRING},
    },
};

HashTablePtr Attributes(std::string_view service, const std::string& username, bool with_target) {
  HashTablePtr table(g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free));
  g_hash_table_insert(table.get(), g_strdup("service"), g_strndup(service.data(), service.size()));
  g_hash_table_insert(table.get(), g_strdup("username"), g_strdup(username.c_str()));
  if (with_target) g_hash_table_insert(table.get(), g_strdup("target"), g_strdup("default"));
  return table;
}

std::string GMessage(const GError* error) {
  return error != nullptr && error->message != nullptr ? error->message : "unknown error";
}

tl::unexpected<Error> Unavailable(std::string_view why) {
  return Fail(ErrorKind::kUnsupported,
              "the keyring (Secret Service) is unavailable: " + std::string(why) +
                  ". Run akon inside your desktop session (with a D-Bus session bus and "
                  "gnome-keyring running), " +
                  std::string(kUseFileBackendHint));
}

tl::unexpected<Error> Locked() {
  return Fail(ErrorKind::kPermission,
              "the keyring holding akon's secrets is locked: unlock it (log in to your desktop "
              "session, or open Passwords and Keys / Seahorse), " +
                  std::string(kUseFileBackendHint));
}

// Maps an error from a libsecret call made on behalf of `what`.
tl::unexpected<Error> FromGError(const GError* error, std::string_view what) {
  if (error != nullptr) {
    if (error->domain == SECRET_ERROR && error->code == SECRET_ERROR_IS_LOCKED) return Locked();
    if (error->domain == G_DBUS_ERROR &&
        (error->code == G_DBUS_ERROR_SERVICE_UNKNOWN ||
         error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER || error->code == G_DBUS_ERROR_NO_SERVER ||
         error->code == G_DBUS_ERROR_SPAWN_EXEC_FAILED ||
         error->code == G_DBUS_ERROR_SPAWN_CHILD_EXITED ||
         error->code == G_DBUS_ERROR_SPAWN_FAILED ||
         error->code == G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND ||
         error->code == G_DBUS_ERROR_SPAWN_SERVICE_INVALID)) {
      return Unavailable(GMessage(error));
    }
  }
  return Fail(ErrorKind::kSystem, "keyring: " + std::string(what) + ": " + GMessage(error));
}

// A prompt to unlock can only be shown inside a graphical session; elsewhere it would fail or
// wait for nobody, so akon reports the locked keyring instead.
bool CanPrompt() {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (display != nullptr && display[0] != '\0') || (wayland != nullptr && wayland[0] != '\0');
}

// A private SecretService proxy per operation (not libsecret's shared instance): its cached
// properties (such as an item's Locked) are fetched fresh, and nothing is left subscribed to
// D-Bus signals on a GLib main context that akon never runs.
Result<GPtr<SecretService>> Connect() {
  GError* raw = nullptr;
  SecretService* service = secret_service_open_sync(SECRET_TYPE_SERVICE, nullptr,
                                                    SECRET_SERVICE_OPEN_SESSION, nullptr, &raw);
  GErrorPtr error(raw);
  if (service == nullptr) {
    if (error && error->domain == SECRET_ERROR && error->code == SECRET_ERROR_IS_LOCKED) {
      return Locked();
    }
    return Unavailable(GMessage(error.get()));
  }
  return GPtr<SecretService>(service);
}

// Unlocks `items` through a prompt when one can be shown; fails with kPermission otherwise or
// when the user declines.
Status UnlockItems(SecretService* service, const std::vector<SecretItem*>& items) {
  if (items.empty()) return {};
  if (!CanPrompt()) return Locked();
  GList* objects = nullptr;
  for (SecretItem* item : items) objects = g_list_append(objects, item);
  GError* raw = nullptr;
  const gint unlocked = secret_service_unlock_sync(service, objects, nullptr, nullptr, &raw);
  g_list_free(objects);
  GErrorPtr error(raw);
  if (error) return FromGError(error.get(), "unlock");
  if (unlocked < static_cast<gint>(items.size())) return Locked();
  return {};
}

// The items of `service_name` for `username` that the Rust keyring crate would also use: all
// collections, any schema, `target` absent or "default".
Result<std::unique_ptr<ItemList>> Search(SecretService* service, std::string_view service_name,
                                         const std::string& username, bool load_secrets) {
  HashTablePtr attributes = Attributes(service_name, username, /*with_target=*/false);
  GError* raw = nullptr;
  int flags = SECRET_SEARCH_ALL;
  if (load_secrets) flags |= SECRET_SEARCH_LOAD_SECRETS;
  GList* found = secret_service_search_sync(service, &kSchema, attributes.get(),
                                            static_cast<SecretSearchFlags>(flags), nullptr, &raw);
  GErrorPtr error(raw);
  if (error) return FromGError(error.get(), "search " + std::string(service_name));
  return std::make_unique<ItemList>(found);
}

bool HasDefaultTarget(SecretItem* item) {
  HashTablePtr attributes(secret_item_get_attributes(item));
  if (!attributes) return true;
  const auto* target = static_cast<const char*>(g_hash_table_lookup(attributes.get(), "target"));
  return target == nullptr || std::string_view(target) == "default";
}

std::vector<SecretItem*> Matching(const ItemList& list) {
  std::vector<SecretItem*> items;
  for (SecretItem* item : list.Items()) {
    if (HasDefaultTarget(item)) items.push_back(item);
  }
  return items;
}

std::string_view WhatIs(std::string_view service_name) {
  return service_name == kPinService ? "PIN" : "TOTP secret";
}

Result<std::string> LoadOne(SecretService* service, std::string_view service_name,
                            const std::string& username) {
  VA_TRY(auto list, Search(service, service_name, username, /*load_secrets=*/true));
  std::vector<SecretItem*> items = Matching(*list);
  if (items.empty()) {
    return Fail(ErrorKind::kNotFound, "no " + std::string(WhatIs(service_name)) + " for VPN user " +
                                          username + " in the keyring (service " +
                                          std::string(service_name) +
                                          "): run `akon setup` to store it");
  }
  std::vector<SecretItem*> unlocked;
  for (SecretItem* item : items) {
    if (!secret_item_get_locked(item)) unlocked.push_back(item);
  }
  if (unlocked.empty()) {
    VA_TRY_STATUS(UnlockItems(service, items));
    unlocked = items;
  }
  // Several matches happen only when other tools wrote duplicates; the newest wins.
  SecretItem* best = unlocked.front();
  for (SecretItem* item : unlocked) {
    if (secret_item_get_modified(item) > secret_item_get_modified(best)) best = item;
  }
  SecretValuePtr value(secret_item_get_secret(best));
  if (!value) {
    GError* raw = nullptr;
    if (!secret_item_load_secret_sync(best, nullptr, &raw)) {
      GErrorPtr error(raw);
      return FromGError(error.get(), "read " + std::string(service_name));
    }
    value.reset(secret_item_get_secret(best));
    if (!value) {
      return Fail(ErrorKind::kSystem,
                  "keyring: the " + std::string(WhatIs(service_name)) + " item has no secret");
    }
  }
  gsize length = 0;
  const gchar* data = secret_value_get(value.get(), &length);
  return std::string(data != nullptr ? data : "", data != nullptr ? length : 0);
}

// Makes sure new items can be created in the default collection without a prompt that nobody
// can answer.
Status CheckDefaultCollection(SecretService* service) {
  GError* raw = nullptr;
  GPtr<SecretCollection> collection(secret_collection_for_alias_sync(
      service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, nullptr, &raw));
  GErrorPtr error(raw);
  if (error) return FromGError(error.get(), "find the default collection");
  if (!collection) {
    return Unavailable("it has no default collection (no login keyring has been created)");
  }
  if (secret_collection_get_locked(collection.get())) {
    if (!CanPrompt()) return Locked();
    GList* objects = g_list_append(nullptr, collection.get());
    raw = nullptr;
    const gint unlocked = secret_service_unlock_sync(service, objects, nullptr, nullptr, &raw);
    g_list_free(objects);
    GErrorPtr unlock_error(raw);
    if (unlock_error) return FromGError(unlock_error.get(), "unlock the default collection");
    if (unlocked < 1) return Locked();
  }
  return {};
}

Status SaveOne(SecretService* service, std::string_view service_name, const std::string& username,
               const std::string& secret) {
  SecretValuePtr value(
      secret_value_new(secret.data(), static_cast<gssize>(secret.size()), "text/plain"));
  VA_TRY(auto list, Search(service, service_name, username, /*load_secrets=*/false));
  std::vector<SecretItem*> items = Matching(*list);
  if (!items.empty()) {
    // Update in place (as the keyring crate does) so no duplicate appears.
    std::vector<SecretItem*> locked;
    for (SecretItem* item : items) {
      if (secret_item_get_locked(item)) locked.push_back(item);
    }
    VA_TRY_STATUS(UnlockItems(service, locked));
    for (SecretItem* item : items) {
      GError* raw = nullptr;
      if (!secret_item_set_secret_sync(item, value.get(), nullptr, &raw)) {
        GErrorPtr error(raw);
        return FromGError(error.get(), "update " + std::string(service_name));
      }
    }
    return {};
  }
  VA_TRY_STATUS(CheckDefaultCollection(service));
  HashTablePtr attributes = Attributes(service_name, username, /*with_target=*/true);
  const std::string label = "akon VPN " + std::string(WhatIs(service_name)) + " for " + username;
  GError* raw = nullptr;
  if (!secret_service_store_sync(service, &kSchema, attributes.get(), SECRET_COLLECTION_DEFAULT,
                                 label.c_str(), value.get(), nullptr, &raw)) {
    GErrorPtr error(raw);
    return FromGError(error.get(), "store " + std::string(service_name));
  }
  return {};
}

}  // namespace

// ---- KeyringSecretStore -------------------------------------------------------------------------

Result<Secrets> KeyringSecretStore::Load(const std::string& username) {
  VA_TRY(auto service, Connect());
  Secrets secrets;
  VA_TRY(secrets.pin, LoadOne(service.get(), kPinService, username));
  VA_TRY(secrets.otp_secret, LoadOne(service.get(), kOtpService, username));
  if (secrets.otp_secret.empty()) {
    return Fail(ErrorKind::kNotFound, "the TOTP secret for VPN user " + username +
                                          " in the keyring is empty: run `akon setup`");
  }
  return secrets;
}

Status KeyringSecretStore::Save(const std::string& username, const Secrets& secrets) {
  VA_TRY_STATUS(ValidateSecrets(secrets));
  if (username.empty()) return Fail(ErrorKind::kInvalid, "keyring: the VPN username is empty");
  VA_TRY(auto service, Connect());
  VA_TRY_STATUS(SaveOne(service.get(), kPinService, username, secrets.pin));
  VA_TRY_STATUS(SaveOne(service.get(), kOtpService, username, secrets.otp_secret));
  return {};
}

}  // namespace va::akon

// The module's entry point, found by LoadKeyringStore with dlsym.
extern "C" __attribute__((visibility("default"))) va::akon::SecretStore*
va_akon_new_keyring_store() {
  return new va::akon::KeyringSecretStore();
}
