#!/usr/bin/env bash
# Installs the pinned toolchain into this repository: Foundry (forge, anvil, cast) and solc-js, OpenZeppelin v5
# and forge-std from npm (package-lock.json), then fetches the Rust crates (Cargo.lock).
# Idempotent: a second run checks and returns in about a second. Writes nothing outside the repo but caches
# (~/.npm, ~/.cargo). Needs only the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- Node.js and npm (Debian's packages if missing; the image usually has them).
if ! command -v npm >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "npm is missing: install Node.js >= 18 and npm"
  say "installing Node.js and npm from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js >= 18 required, found $(node --version)"

# --- npm packages, reinstalled only when package-lock.json changed.
stamp=node_modules/.neuro-setup-stamp
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "installing npm packages (Foundry 1.7.1, solc-js 0.8.30, OpenZeppelin 5.7.0, forge-std)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi
for tool in forge anvil cast; do
  [ -x "node_modules/.bin/$tool" ] || die "node_modules/.bin/$tool missing after npm ci"
done
[ -x tools/solc ] || chmod +x tools/solc
tools/solc --version | grep -q "Version: 0.8.30" || die "tools/solc does not report solc 0.8.30"

# --- The front end (web/): its npm packages (web/package-lock.json) and its build (web/dist, served by the
# indexer), redone only when its sources, lockfile or the contracts' ABIs changed.
web_stamp=web/node_modules/.neuro-setup-stamp
web_lock_sum=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ ! -f "$web_stamp" ] || [ "$(cat "$web_stamp")" != "$web_lock_sum" ]; then
  say "installing the web app's npm packages (Vite, TypeScript, viem, playwright-core)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$web_lock_sum" > "$web_stamp"
fi
web_sources_sum=$(cat web/index.html web/vite.config.ts web/tsconfig.json web/package-lock.json protocol/abi/*.json \
  $(find web/src -type f | sort) | sha256sum | cut -d' ' -f1)
if [ ! -f web/dist/index.html ] || [ "$(cat web/dist/.neuro-sources 2>/dev/null)" != "$web_sources_sum" ]; then
  say "building the web app (web/dist)"
  (cd web && npm run --silent build >/dev/null) || die "the web app did not build: cd web && npm run build"
  echo "$web_sources_sum" > web/dist/.neuro-sources
fi

# --- Rust: the toolchain comes with the machine (rustup); check the version and fetch the locked crates.
command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust >= 1.94.1 with rustup"
rust_version=$(rustc --version | cut -d' ' -f2)
if ! printf '1.94.1\n%s\n' "$rust_version" | sort -V -C; then
  die "Rust >= 1.94.1 required (alloy 2.5), found $rust_version"
fi
cargo fetch --locked --quiet

say "ready: $(node_modules/.bin/forge --version | head -n1), solc $(tools/solc --version | sed -n 's/^Version: //p'), $(rustc --version)"
