#!/usr/bin/env bash
# Builds llama.cpp's Python binding (llama-cpp-python, from PyPI, compiled here for this CPU) into a venv for
# scripts/bench-engine.py. Not part of setup.sh: only the engine benchmark needs it (~8 min on 2 cores).
# Built for the instructions our build uses (x86-64-v3: AVX2, FMA, F16C), not -march=native: the same vector
# units on both sides, and a native build here enabled AMX, which this sandbox's kernel does not, and crashed.
set -euo pipefail
venv=${NEURO_LLAMA_VENV:-$HOME/.cache/neuro-llama}
if ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  python3 -m venv "$venv"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_BLAS=OFF" \
    "$venv/bin/pip" install --no-cache-dir 'llama-cpp-python==0.3.36'
fi
echo "$venv/bin/python"
