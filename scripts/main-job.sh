#!/usr/bin/env bash
# The main job, run by `./dev run` after a release build: vaultd on its embedded default (SQLite
# and files under ./vault-data, http://127.0.0.1:8080) with a demo admin, owner, client and file.
# The demo users' passwords are generated on the first run and kept in
# ./vault-data/demo-credentials (0600). Ctrl-C stops vaultd.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
BIN=${VA_BIN:-build/release/bin}
DATA=${VAULT_DATA_DIR:-./vault-data}
LISTEN=${VAULT_LISTEN:-127.0.0.1:8080}
CREDS=$DATA/demo-credentials

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

mkdir -p "$DATA" && chmod 700 "$DATA"
if [[ ! -s $CREDS ]]; then
  step "creating the demo users (first run)"
  umask 077
  {
    for role in admin owner client; do
      pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)
      printf '%s\n' "$pw" | "$BIN/vaultctl" --data-dir "$DATA" user add \
        --email "$role@example.com" --role "$role" --password-stdin >/dev/null
      printf '%s %s@example.com %s\n' "$role" "$role" "$pw"
    done
  } >"$CREDS.tmp"
  mv "$CREDS.tmp" "$CREDS"
fi
pw_of() { awk -v r="$1" '$1 == r { print $3 }' "$CREDS"; }

step "starting vaultd (data: $DATA, listening on $LISTEN)"
out=$(mktemp)
"$BIN/vaultd" --data-dir "$DATA" --listen "$LISTEN" >"$out" &
VAULTD=$!
trap 'kill -TERM $VAULTD 2>/dev/null || true; wait $VAULTD 2>/dev/null || true; rm -f "$out"' EXIT
trap 'exit 0' INT TERM
for _ in $(seq 100); do
  grep -q '^vaultd listening on ' "$out" && break
  kill -0 $VAULTD 2>/dev/null || { echo "vaultd did not start" >&2; exit 1; }
  sleep 0.1
done
URL=$(sed -n 's/^vaultd listening on //p' "$out")
[[ -n $URL ]] || { echo "vaultd did not print its address" >&2; exit 1; }

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
login() {
  curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1@example.com\",\"password\":\"$(pw_of "$1")\"}" "$URL/api/auth/login" |
    json_field access_token
}
OWNER_TOKEN=$(login owner)
if ! curl -fsS -H "Authorization: Bearer $OWNER_TOKEN" "$URL/api/owner/files" | grep -q welcome.txt; then
  step "uploading the demo file and letting the client view it"
  file_id=$(printf 'Welcome to vault.\nThis file can be viewed, never downloaded.\n' |
    curl -fsS -H "Authorization: Bearer $OWNER_TOKEN" -H 'Content-Type: text/plain' \
      --data-binary @- "$URL/api/owner/files?name=welcome.txt" | json_field file_id)
  curl -fsS -H "Authorization: Bearer $OWNER_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"file_id\":\"$file_id\",\"client_email\":\"client@example.com\",\"permissions\":{\"read\":true,\"write\":false,\"execute\":false},\"max_duration_seconds\":3600}" \
    "$URL/api/owner/permissions" >/dev/null
fi

cat <<EOT

  vault is running at $URL

  Log in (POST $URL/api/auth/login) as:
$(awk '{ printf "    %-7s %-20s password %s\n", $1, $2, $3 }' "$CREDS")

  For example, the client's viewable files:
    TOKEN=\$(curl -s -H 'Content-Type: application/json' \\
      -d '{"email":"client@example.com","password":"$(pw_of client)"}' $URL/api/auth/login |
      sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    curl -s -H "Authorization: Bearer \$TOKEN" $URL/api/client/files

  Health: $URL/healthz  Metrics: $URL/metrics  API: docs/vault-api.md
  Credentials are kept in $CREDS. Press Ctrl-C to stop.

EOT
wait $VAULTD
