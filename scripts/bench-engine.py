#!/usr/bin/env python3
"""Engine speed side by side: llama.cpp (llama-cpp-python, built locally from PyPI) and a Neuro node on the same
GGUF files, greedy, 128 and 512 completion tokens, median of 5 runs: prefill and decode tokens per second and time
to the first token. Prints a Markdown table (and writes it to --out when given).

    bash scripts/setup-llama-bench.sh          # once: builds llama-cpp-python into ~/.cache/neuro-llama (~8 min)
    ~/.cache/neuro-llama/bin/python scripts/bench-engine.py --out /tmp/engine-bench.md

The GGUF files: SmolLM2-135M-Instruct Q4_1 (scripts/fetch-demo-model.sh) and the Q8_0 and Q4_K_M files llama.cpp
makes from it (`llama_model_quantize` with requantization allowed: the weights are worse than a quantization of
the original, the speed is what a model of that type runs at). Our side runs `neuro-bench miner`, which measures
the engine in process and the node through HTTP (payment check and receipt included).
"""

import argparse
import ctypes
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import llama_cpp

ROOT = Path(__file__).resolve().parent.parent
PROMPT = ("Summarise the history of decentralised computing networks, from volunteer grids to blockchains, "
          "in a few careful paragraphs for a technical audience.")


def physical_cores() -> int:
    cores = set()
    try:
        with open("/proc/cpuinfo") as f:
            phys = core = None
            for line in f:
                if line.startswith("physical id"):
                    phys = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    core = line.split(":")[1].strip()
                    cores.add((phys, core))
    except OSError:
        pass
    return len(cores) or os.cpu_count() or 1


def quantize(source: Path, kind: str, ftype: int) -> Path:
    target = source.with_name(source.name.replace("Q4_1", kind))
    if not target.exists():
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = physical_cores()
        rc = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
        if rc != 0:
            raise RuntimeError(f"llama_model_quantize {kind} failed: {rc}")
    return target


def llama_runs(model: Path, tokens: int, runs: int) -> list[dict]:
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=2048, n_threads=physical_cores(), verbose=False)
    messages = [{"role": "user", "content": PROMPT}]
    llm.create_chat_completion(messages, max_tokens=8, temperature=0.0)  # warm-up
    out = []
    for _ in range(runs):
        llm.reset()
        started = time.perf_counter()
        first = None
        for chunk in llm.create_chat_completion(messages, max_tokens=tokens, temperature=0.0, stream=True):
            delta = chunk["choices"][0].get("delta", {})
            if first is None and delta.get("content"):
                first = time.perf_counter()
        perf = llama_cpp.llama_perf_context(llm.ctx)
        out.append({
            "prefill": perf.n_p_eval / (perf.t_p_eval_ms / 1e3) if perf.t_p_eval_ms else float("nan"),
            "decode": perf.n_eval / (perf.t_eval_ms / 1e3) if perf.t_eval_ms else float("nan"),
            "ttft_ms": ((first or time.perf_counter()) - started) * 1e3,
            "tokens": perf.n_eval + 1,
        })
        llama_cpp.llama_perf_context_reset(llm.ctx)
    return out


ROW = re.compile(r"^\| (?P<path>[^|]+) \| (?P<prefill>[\d.]+) \| (?P<decode>[\d.]+) \| (?P<ttft>[\d.]+) ms \| (?P<tokens>\d+) \|$")


def neuro_runs(model: Path, tokens: int, runs: int, bench: Path) -> dict[str, dict]:
    env = dict(os.environ)
    output = subprocess.run(
        [str(bench), "miner", "--model", str(model), "--tokens", str(tokens), "--runs", str(runs), "--batch", "0"],
        check=True, capture_output=True, text=True, env=env, cwd=ROOT,
    ).stdout
    rows = {}
    for line in output.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows[match["path"].strip()] = {
                "prefill": float(match["prefill"]), "decode": float(match["decode"]),
                "ttft_ms": float(match["ttft"]), "tokens": int(match["tokens"]),
            }
    if len(rows) < 2:
        raise RuntimeError(f"neuro-bench printed no table:\n{output}")
    return rows


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--bench", type=Path, default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
                        / "debug" / "neuro-bench", help="the neuro-bench binary (build it first)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    base = Path(subprocess.run(["bash", str(ROOT / "scripts/fetch-demo-model.sh")], check=True, capture_output=True,
                               text=True).stdout.strip())
    models = [("Q4_1", base),
              ("Q8_0", quantize(base, "Q8_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0)),
              ("Q4_K_M", quantize(base, "Q4_K_M", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M))]
    lines = [f"SmolLM2-135M-Instruct, greedy, {physical_cores()} threads, median of {args.runs} "
             f"(llama-cpp-python {llama_cpp.__version__}; ours: {args.bench.name} in the "
             f"{args.bench.parent.name} profile)", "",
             "| file | tokens | llama.cpp prefill | ours prefill | llama.cpp decode | ours decode (engine) "
             "| ours decode (node, HTTP) | decode node / llama.cpp | TTFT llama.cpp | TTFT node |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for kind, path in models:
        for tokens in args.tokens:
            ll = llama_runs(path, tokens, args.runs)
            ours = neuro_runs(path, tokens, args.runs, args.bench)
            engine = next(v for k, v in ours.items() if k.startswith("mistral.rs"))
            node = next(v for k, v in ours.items() if k.startswith("neuro-miner"))
            ll_decode = median(ll, "decode")
            line = (f"| {kind} | {tokens} | {median(ll, 'prefill'):.0f} | {node['prefill']:.0f} | {ll_decode:.1f} "
                    f"| {engine['decode']:.1f} | {node['decode']:.1f} | {node['decode'] / ll_decode:.2f}x "
                    f"| {median(ll, 'ttft_ms'):.0f} ms | {node['ttft_ms']:.0f} ms |")
            print(line, flush=True)
            lines.append(line)
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
