#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL cluster on loopback from Debian's packages, installing them if missing,
# and prints its URL. Used by scripts/test.sh for the indexer's PostgreSQL tests and benchmarks.
#
#   scripts/postgres.sh          start, print postgres://neuro@127.0.0.1:<port>/postgres
#   scripts/postgres.sh --stop   stop it
set -euo pipefail

PORT="${NEURO_PG_PORT:-55432}"
DIR="${NEURO_PG_DIR:-/tmp/neuro-postgres-$PORT}"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [[ -z "$(bin_dir)" ]]; then
  echo "installing PostgreSQL from Debian's packages" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq postgresql >&2
fi
BIN="$(bin_dir)"

# initdb and postgres refuse to run as root: run them as the packages' postgres user then.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ "${1:-}" == "--stop" ]]; then
  [[ -f "$DIR/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DIR" -m fast stop >&2 || true
  exit 0
fi

if [[ ! -f "$DIR/PG_VERSION" ]]; then
  mkdir -p "$DIR"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$DIR"
  as_owner "$BIN/initdb" -D "$DIR" -U neuro --auth=trust --no-sync >/dev/null
fi
if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
fi
echo "postgres://neuro@127.0.0.1:$PORT/postgres"
