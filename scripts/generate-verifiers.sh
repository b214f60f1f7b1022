#!/usr/bin/env bash
# Regenerates the usage-proof artefacts that are committed, from the deterministic devnet keys:
#   contracts/src/verifiers/UsageVerifier{64,1024}.sol   (Solidity verifiers)
#   contracts/test/fixtures/usage-{64,1024}.json         (proofs for the forge tests)
# Keys go to $NEURO_KEYS_DIR (default: keys/, git-ignored); an existing key is reused only if its verifying
# key file matches a fresh setup's hash, which `--check` always redoes.
#
#   scripts/generate-verifiers.sh           regenerate (keeps existing keys)
#   scripts/generate-verifiers.sh --check   fresh setup, regenerate, fail if any committed file differs
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[ "${1:-}" = "--check" ] && check=true
keys=${NEURO_KEYS_DIR:-keys}
prover=${CARGO_TARGET_DIR:-target}/release/neuro-prover
cargo build --release --locked -q -p neuro-prover

# The forge tests' miner (makeAddr("miner") = vm.addr(keccak256("miner"))) and model (keccak256("model-a")), epoch 0.
miner=0xac7bebd558c734fe105d09167860b230fb0a218d
model=0xcc69dcb66f05e2615c468dd53b332a6a14614d86d26c13244fe91b50d10247ac

for n in 64 1024; do
  if $check || [ ! -f "$keys/usage-$n.pk" ]; then
    "$prover" setup --batch "$n" --out "$keys"
  fi
  "$prover" verifier --batch "$n" --keys "$keys" --out contracts/src/verifiers
  "$prover" fixtures --batch "$n" --keys "$keys" --miner "$miner" --epoch 0 --model "$model" \
    --out "contracts/test/fixtures/usage-$n.json"
done
# The committed verifiers are forge-fmt clean; format the fresh ones the same way before comparing.
node_modules/.bin/forge fmt contracts/src/verifiers

if $check; then
  if ! git diff --exit-code --stat -- contracts/src/verifiers contracts/test/fixtures; then
    echo "generated verifiers or fixtures differ from the committed ones: run scripts/generate-verifiers.sh" >&2
    exit 1
  fi
  echo "verifiers and fixtures match a fresh deterministic setup"
fi
