#!/usr/bin/env bash
# API fuzz pass: runs a callpro server on a fresh SQLite file and points schemathesis at its
# OpenAPI document. Fails on any 5xx or any response that violates the documented schema.
#   .ci/schemathesis.sh [path-to-callpro-binary] [max-examples-per-operation]
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-target/debug/callpro}"
examples="${2:-25}"
venv="${CALLPRO_VENV:-/tmp/callpro-ci-venv}"
port="${CALLPRO_ST_PORT:-18080}"
password="schemathesis-admin-pw"

if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis>=4,<5"
fi

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
(
    cd "$work"
    CALLPRO_HTTP_BIND="127.0.0.1:${port}" \
    CALLPRO_BOOTSTRAP_ADMIN_EMAIL="admin@callpro.test" \
    CALLPRO_BOOTSTRAP_ADMIN_PASSWORD="$password" \
    CALLPRO_LOG="warn" \
    exec "$OLDPWD/$bin" serve >"$work/server.log" 2>&1
) &
server=$!

for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:${port}/health" >/dev/null && break
    sleep 0.2
done
token=$(curl -sf -X POST "http://127.0.0.1:${port}/api/auth/login" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"admin@callpro.test\",\"password\":\"${password}\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

status=0
"$venv/bin/schemathesis" run "http://127.0.0.1:${port}/api/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" \
    --seed 20261123 \
    --workers 2 \
    --no-color \
    --header "Authorization: Bearer ${token}" || status=$?
if grep -q "internal error" "$work/server.log"; then
    echo "schemathesis: the server logged internal errors:" >&2
    grep "internal error" "$work/server.log" | head -20 >&2
    status=1
fi
exit "$status"
