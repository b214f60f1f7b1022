#!/usr/bin/env bash
# Runs every test of the project: Solidity (unit, fuzz, invariant; gas snapshot; formatting; ABI freshness),
# Rust (fmt, clippy, cargo test --workspace, the indexer on SQLite and PostgreSQL), and the README's devnet
# command as a smoke run and as the end-to-end test of the whole network.
# Ends with one line `N passed, N failed` counting forge tests, cargo tests and the two devnet runs.
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
passed=0
failed=0
step_failures=()

say() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
# Runs a check that is not a test (formatting, lint): a failure fails the run without counting tests.
check() {
  local name=$1; shift
  say "$name"
  if ! "$@"; then step_failures+=("$name"); fi
}

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
forge=node_modules/.bin/forge

check "forge build" "$forge" build --quiet
check "ABI files match the contracts" node scripts/export-abi.js --check
check "forge fmt --check" "$forge" fmt --check
# Fresh deterministic Groth16 setup (N = 64 and 1024, ~1.5 min): the committed verifiers and proof fixtures
# must be exactly what the prover generates.
check "usage verifiers and fixtures are up to date" bash scripts/generate-verifiers.sh --check

say "forge test (profile ${FOUNDRY_PROFILE:-default})"
# FORGE_SNAPSHOT_CHECK: the gas figures in contracts/snapshots/ must not change unnoticed.
FORGE_SNAPSHOT_CHECK=true "$forge" test 2>&1 | tee "$log_dir/forge.log"
forge_status=${PIPESTATUS[0]}
forge_line=$(grep -E '[0-9]+ tests passed, [0-9]+ failed' "$log_dir/forge.log" | tail -n1)
if [ -n "$forge_line" ]; then
  passed=$((passed + $(sed -E 's/.* ([0-9]+) tests passed.*/\1/' <<<"$forge_line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$forge_line")))
fi
[ "$forge_status" = 0 ] || { [ -n "$forge_line" ] || failed=$((failed + 1)); step_failures+=("forge test"); }

# Gas snapshot of the deterministic tests (default profile). Fuzz tests are left out: their mean gas depends on
# the fuzz dictionary, which differs between a fresh and an incremental build.
check "gas snapshot (contracts/.gas-snapshot)" env FOUNDRY_PROFILE=default "$forge" snapshot --check \
  --snap contracts/.gas-snapshot --no-match-path 'contracts/test/invariant/*' --no-match-test 'testFuzz_'

check "cargo fmt --check" cargo fmt --all -- --check
check "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
# Feature sets: the shipped miner's default features are empty (nothing of anvil or the source tree), so the
# build above is its --no-default-features build; the prover's library must build without its CLI.
check "neuro-prover --no-default-features" cargo clippy -p neuro-prover --lib --no-default-features --locked -- -D warnings
check "no product links the testkit" bash -c '! cargo tree --workspace --edges normal,build --locked --exclude neuro-testkit \
  --prefix none | grep -q "^neuro-testkit "'

# The indexer's suite runs on SQLite and on PostgreSQL: a loopback server from Debian's packages.
if [ -z "${NEURO_TEST_POSTGRES_URL:-}" ]; then
  say "PostgreSQL for the indexer tests (scripts/postgres.sh)"
  if url=$(bash scripts/postgres.sh); then export NEURO_TEST_POSTGRES_URL="$url"; else step_failures+=("postgres"); fi
fi

say "cargo test --workspace"
cargo test --workspace --locked 2>&1 | tee "$log_dir/cargo.log"
cargo_status=${PIPESTATUS[0]}
while read -r p f; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$log_dir/cargo.log")
if [ "$cargo_status" != 0 ]; then
  grep -q '^test result:' "$log_dir/cargo.log" || failed=$((failed + 1))
  step_failures+=("cargo test")
fi

say "devnet smoke test (scripts/devnet.sh --smoke)"
if NEURO_PROFILE=dev bash scripts/devnet.sh --smoke; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# The whole network, non-interactive: miner, keeper, indexer, governance; the economy asserted to the wei.
say "devnet end-to-end test (scripts/devnet.sh --e2e)"
if NEURO_PROFILE=dev bash scripts/devnet.sh --e2e; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

if [ ${#step_failures[@]} -gt 0 ]; then
  printf '\nfailed steps: %s\n' "${step_failures[*]}"
  [ "$failed" -gt 0 ] || failed=1
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
