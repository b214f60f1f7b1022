#!/usr/bin/env bash
# Indexer benchmarks (docs/benchmarks.md): backfill throughput from a local anvil chain holding >= 100,000
# protocol events into SQLite and PostgreSQL, then API latency under 1,000 requests/s from a second process.
#
#   scripts/bench-indexer.sh [events]      (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
bin=node_modules/.bin
[ -x "$bin/anvil" ] || bash scripts/setup.sh
cargo build --release --locked -p neuro-indexer -p neuro-testkit -q
indexer=${CARGO_TARGET_DIR:-target}/release/neuro-indexer
bench=${CARGO_TARGET_DIR:-target}/release/neuro-bench

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
# A local dev chain id (Deploy.s.sol: isLocalDevChain), so roles default to the deployer.
chain_id=$((0x4eeeee0000 + RANDOM))
rpc=http://127.0.0.1:$port
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "deployments/$chain_id.json"
}
trap cleanup EXIT

"$bin/anvil" --host 127.0.0.1 --port "$port" --chain-id "$chain_id" --hardfork prague --gas-limit 300000000 \
  --cache-path "$work/anvil-cache" \
  >"$work/anvil.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do "$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break; sleep 0.1; done
# anvil's first development key: public knowledge, for local chains only.
export DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
export NEURO_EPOCH_LENGTH=60 NEURO_SUBMISSION_WINDOW=30
"$bin/forge" script contracts/script/Deploy.s.sol:Deploy --rpc-url "$rpc" --broadcast --slow >"$work/deploy.log" 2>&1
manifest=$PWD/deployments/$chain_id.json
common=(--rpc-url "$rpc" --manifest "$manifest")

echo "== populating the chain with >= $events protocol events"
NEURO_BENCH_PRIVATE_KEY=$DEPLOYER_PRIVATE_KEY "$bench" indexer populate "${common[@]}" --events "$events"

# A miner with stake, and finalized epochs, for the API benchmark.
miner_key=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
miner=$("$bin/cast" wallet address "$miner_key")
field() { node -e 'const m=require(process.argv[1]);console.log(m.contracts[process.argv[2]])' "$manifest" "$1"; }
send() { "$bin/cast" send -q --rpc-url "$rpc" "$@" >/dev/null; }
send --private-key "$DEPLOYER_PRIVATE_KEY" "$(field NeuroToken)" "transfer(address,uint256)" "$miner" 20000000000000000000000
send --private-key "$miner_key" "$(field NeuroToken)" "approve(address,uint256)" "$(field StakingVault)" 20000000000000000000000
for _ in 1 2 3; do send --private-key "$miner_key" "$(field StakingVault)" "stake(uint256)" 1000000000000000000000; done
"$bin/cast" rpc --rpc-url "$rpc" evm_increaseTime 400 >/dev/null
"$bin/cast" rpc --rpc-url "$rpc" evm_mine >/dev/null
for epoch in 0 1 2 3; do send --private-key "$DEPLOYER_PRIVATE_KEY" "$(field Emissions)" "finalizeEpoch(uint256)" "$epoch"; done

echo "== backfill into SQLite"
"$bench" indexer backfill "${common[@]}" --database-url "sqlite://$work/bench.db" --concurrency 4
echo "== backfill into PostgreSQL"
pg=$(bash scripts/postgres.sh)
db=neuro_bench_$$
psql -q "$pg" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"$bench" indexer backfill "${common[@]}" --database-url "${pg%/*}/$db" --concurrency 4

api_port=$((port + 1))
for database in "sqlite://$work/bench.db" "${pg%/*}/$db"; do
  echo "== API latency (${database%%:*}), load from a second process"
  RUST_LOG=warn "$indexer" "${common[@]}" --database-url "$database" run --listen "127.0.0.1:$api_port" &
  server=$!
  pids+=("$server")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$api_port/ready" >/dev/null && break; sleep 0.2; done
  echo "| paths | target rate | achieved | requests | errors | p50 | p90 | p99 | p99.9 | max |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for path in /v1/epochs/1 "/v1/miners/$miner" /v1/supply "/v1/events?contract=NeuroToken&limit=100"; do
    "$bench" indexer api --url "http://127.0.0.1:$api_port" --path "$path" --rate 1000 --seconds 10 | tail -n 1
  done
  kill "$server"; wait "$server" 2>/dev/null || true
done
psql -q "$pg" -c "DROP DATABASE $db"
