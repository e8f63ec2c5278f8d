#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 and prints its URL on the last line.
# Installs PostgreSQL from Debian's packages when it is missing. Usage:
#   export CALLPRO_TEST_POSTGRES_URL=$(.ci/postgres.sh | tail -n 1)
# Stop it with: pg_ctl -D "$CALLPRO_PG_DIR" stop   (the data directory is printed too)
set -euo pipefail

port="${CALLPRO_PG_PORT:-55432}"
url="postgres://callpro:callpro@127.0.0.1:${port}/postgres"

if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
    echo "$url"
    exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "postgres: installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql libpq-dev >&2
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

dir=$(mktemp -d /tmp/callpro-pg.XXXXXX)
run() {
    # PostgreSQL refuses to run as root.
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
fi
pwfile="$dir/pw"
echo callpro > "$pwfile"
[ "$(id -u)" = 0 ] && chown postgres "$pwfile"
run "$bindir/initdb" -D "$dir/data" -U callpro --pwfile="$pwfile" -A scram-sha-256 \
    --no-sync -E UTF8 --locale=C.UTF-8 >&2
run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
    "-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=$dir -c fsync=off -c max_connections=300" \
    start >&2
echo "postgres: data directory $dir/data" >&2
echo "$url"
