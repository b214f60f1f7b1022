#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the web app's browser tests, installing Debian's `chromium`
# package when missing (as scripts/postgres.sh does PostgreSQL). CHROMIUM overrides the path.
set -euo pipefail
if [[ -n "${CHROMIUM:-}" ]]; then echo "$CHROMIUM"; exit 0; fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Chromium from Debian's packages" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium >&2
fi
command -v chromium
