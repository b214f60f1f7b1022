#!/usr/bin/env bash
# Starts a local Neuro devnet: anvil on loopback, the whole protocol deployed by Deploy.s.sol with short
# devnet parameters, then a live per-epoch summary. Ctrl-C stops everything this script started.
#
#   scripts/devnet.sh            run until Ctrl-C
#   scripts/devnet.sh --smoke    deploy, check the deployment, print the summary once, stop (used by the tests)
#
# Environment: NEURO_DEVNET_PORT (8545), NEURO_EPOCH_LENGTH (60), NEURO_SUBMISSION_WINDOW (15).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

smoke=false
case "${1:-}" in
  --smoke) smoke=true ;;
  "") ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

bin=$root/node_modules/.bin
[ -x "$bin/forge" ] || bash scripts/setup.sh

state=$root/.devnet
mkdir -p "$state"
if $smoke; then
  port=${NEURO_DEVNET_PORT:-$((20000 + RANDOM % 20000))}
  chain_id=$((31337000 + RANDOM))
else
  port=${NEURO_DEVNET_PORT:-8545}
  chain_id=31337
fi
rpc=http://127.0.0.1:$port
# anvil's first well-known development key: public knowledge, for local chains only.
export DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
export NEURO_EPOCH_LENGTH=${NEURO_EPOCH_LENGTH:-60}
export NEURO_SUBMISSION_WINDOW=${NEURO_SUBMISSION_WINDOW:-15}
export NEURO_VOTING_DELAY=${NEURO_VOTING_DELAY:-1}
export NEURO_VOTING_PERIOD=${NEURO_VOTING_PERIOD:-3600}
export NEURO_TIMELOCK_DELAY=${NEURO_TIMELOCK_DELAY:-60}
export NEURO_UNBONDING_PERIOD=${NEURO_UNBONDING_PERIOD:-86400}

pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  $smoke && rm -f "$root/deployments/$chain_id.json"
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
"$bin/anvil" --host 127.0.0.1 --port "$port" --chain-id "$chain_id" --hardfork prague \
  >"$state/anvil-$port.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin/cast" chain-id --rpc-url "$rpc" >/dev/null || { echo "anvil did not start; see $state/anvil-$port.log" >&2; exit 1; }

echo "deploying contracts (epoch ${NEURO_EPOCH_LENGTH}s, submission window ${NEURO_SUBMISSION_WINDOW}s)"
if ! "$bin/forge" script contracts/script/Deploy.s.sol:Deploy --rpc-url "$rpc" --broadcast \
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

summary() {
  local epoch supply mined forgone staked burned
  epoch=$(call "$emissions" "currentEpoch()(uint256)")
  supply=$(call "$token" "totalSupply()(uint256)")
  mined=$(call "$token" "minedSupply()(uint256)")
  forgone=$(call "$emissions" "totalForgone()(uint256)")
  staked=$(call "$staking" "totalSupply()(uint256)")
  burned=$(call "$fee_vault" "totalBurned()(uint256)")
  printf '  epoch %-6s supply %-14s mined %-12s forgone %-12s staked %-10s fees burned %s NEURO\n' \
    "$epoch" "$(neuro "$supply")" "$(neuro "$mined")" "$(neuro "$forgone")" "$(neuro "$staked")" "$(neuro "$burned")"
}
echo
summary
if $smoke; then
  [ "$(call "$token" "totalSupply()(uint256)")" = "600000000000000000000000000" ] || { echo "unexpected genesis supply" >&2; exit 1; }
  echo "smoke test passed"
  exit 0
fi

echo "(Ctrl-C to stop)"
last_epoch=$(call "$emissions" "currentEpoch()(uint256)")
while kill -0 "${pids[0]}" 2>/dev/null; do
  sleep 2
  epoch=$(call "$emissions" "currentEpoch()(uint256)" 2>/dev/null) || continue
  if [ "$epoch" != "$last_epoch" ]; then
    summary
    last_epoch=$epoch
  fi
done
echo "anvil exited; see $state/anvil-$port.log" >&2
exit 1
