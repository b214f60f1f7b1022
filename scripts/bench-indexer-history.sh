#!/usr/bin/env bash
# Indexer benchmarks at scale (docs/benchmarks.md): API latency of /v1/miners/{a} and /v1/epochs/{n} for a miner
# with 10,000 epochs of history, at 1,000 requests/s, on SQLite and PostgreSQL; then backfill throughput with and
# without that API load on the same machine and database server.
#
#   scripts/bench-indexer-history.sh [epochs] [events]      (defaults 10000 and 50000)
#
# The history is written by `neuro-bench indexer history` through the indexer's own decoder and store (a chain
# with 10,000 proven epochs would take days of anvil time) and served by `neuro-indexer serve` (no ingestion).
# The indexer is built in release; neuro-bench (load generator, history writer) in the dev profile, whose
# dependencies (tokio, hyper) are optimised: its release build would add mistral.rs's (~20 min).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-10000}
events=${2:-50000}
bin=node_modules/.bin
[ -x "$bin/anvil" ] || bash scripts/setup.sh
release=${NEURO_RELEASE_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}
CARGO_TARGET_DIR=$release cargo build --release --locked -p neuro-indexer -q
cargo build --locked -p neuro-testkit --bin neuro-bench -q
indexer=$release/release/neuro-indexer
bench=${CARGO_TARGET_DIR:-target}/debug/neuro-bench

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
chain_id=$((0x4eeeee0000 + RANDOM))
rpc=http://127.0.0.1:$port
pids=()
pg=$(bash scripts/postgres.sh)
dbs=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${dbs[@]}"; do psql -q "$pg" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null || true; done
  rm -rf "$work" "deployments/$chain_id.json"
}
trap cleanup EXIT
new_pg() { local db=neuro_bench_$1_$$; psql -q "$pg" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"; dbs+=("$db"); echo "${pg%/*}/$db"; }

"$bin/anvil" --host 127.0.0.1 --port "$port" --chain-id "$chain_id" --hardfork prague --gas-limit 300000000 \
  --cache-path "$work/anvil-cache" >"$work/anvil.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do "$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break; sleep 0.1; done
# anvil's first development key: public knowledge, for local chains only.
export DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
export NEURO_EPOCH_LENGTH=3600 NEURO_SUBMISSION_WINDOW=600
"$bin/forge" script contracts/script/Deploy.s.sol:Deploy --rpc-url "$rpc" --broadcast --slow >"$work/deploy.log" 2>&1
manifest=$PWD/deployments/$chain_id.json
miner=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
api_port=$((port + 1))
load() { "$bench" indexer api --url "http://127.0.0.1:$api_port" --path "$1" --rate 1000 --seconds "${2:-10}"; }
serve() {
  RUST_LOG=error "$indexer" --manifest "$manifest" --database-url "$1" serve --listen "127.0.0.1:$api_port" &
  server=$!
  pids+=("$server")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$api_port/ready" >/dev/null && break; sleep 0.2; done
}

echo "== API latency with $epochs epochs of one miner's history (1,000 requests/s, 10 s per path)"
echo "| backend | paths | target rate | achieved | requests | errors | p50 | p90 | p99 | p99.9 | max |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
sqlite_history=sqlite://$work/history.db
pg_history=$(new_pg history)
for database in "$sqlite_history" "$pg_history"; do
  "$bench" indexer history --manifest "$manifest" --database-url "$database" --miner "$miner" --epochs "$epochs" >/dev/null
  serve "$database"
  for path in "/v1/miners/$miner" "/v1/epochs/$((epochs / 2))" "/v1/miners/$miner?cursor=$((epochs / 2))&limit=100"; do
    echo "| ${database%%:*} $(load "$path" | tail -n 1)"
    sleep 3 # the previous path's backlog, if any, drains before the next is measured
  done
  kill "$server"; wait "$server" 2>/dev/null || true
done

echo
echo "== backfill of >= $events events, alone and under 1,000 requests/s of /v1/miners/{a} on the same database server"
NEURO_BENCH_PRIVATE_KEY=$DEPLOYER_PRIVATE_KEY "$bench" indexer populate --rpc-url "$rpc" --manifest "$manifest" --events "$events" >/dev/null
for backend in sqlite postgres; do
  for loaded in no yes; do
    if [ "$backend" = sqlite ]; then target=sqlite://$work/backfill-$loaded.db; history=$sqlite_history; else target=$(new_pg "backfill_$loaded"); history=$pg_history; fi
    if [ "$loaded" = yes ]; then
      serve "$history"
      load "/v1/miners/$miner" 600 >"$work/load.txt" 2>&1 &
      loader=$!
      sleep 1
    fi
    printf '%s, API load %s: ' "$backend" "$loaded"
    "$bench" indexer backfill --rpc-url "$rpc" --manifest "$manifest" --database-url "$target" --concurrency 4 | tail -n 1
    if [ "$loaded" = yes ]; then
      kill "$loader" 2>/dev/null || true; wait "$loader" 2>/dev/null || true
      kill "$server"; wait "$server" 2>/dev/null || true
    fi
  done
done
