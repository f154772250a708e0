#!/usr/bin/env python3
"""Array benchmark: dask (threaded scheduler) and the Strata runtime side by side, in one run.

W1, the Pangeo workshop's example: x = random((n, n), chunks c); (x + x.T - x.mean(axis=0)).sum()
and, as the physical limit, a single-pass in-memory sum of the same bytes (NumPy and Rust).
Each side runs in its own process so that peak memory (max RSS) is its own.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/array_bench.py [--n 10000] [--chunk 1000] [--repeats 3]

This is a benchmark, not a test: it prints figures and ratios and exits 0 unless it cannot run.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

DASK_W1 = r"""
import json, resource, sys, time
import dask, dask.array as da, numpy as np
n, c, repeats = (int(a) for a in sys.argv[1:4])
dask.config.set(scheduler="threads")
times = []
for _ in range(repeats):
    t = time.perf_counter()
    x = da.random.RandomState(42).random_sample((n, n), chunks=(c, c))
    value = float((x + x.T - x.mean(axis=0)).sum().compute())
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
data = np.full(n * n, 0.5)
t = time.perf_counter(); data.sum(); limit = time.perf_counter() - t
print(json.dumps({"seconds": min(times), "all": times, "value": value, "peak_rss_mib": peak,
                  "inmem_sum_seconds": limit, "inmem_sum_gbps": n * n * 8 / limit / 1e9}))
"""


def run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sizes = [str(args.n), str(args.chunk), str(args.repeats)]

    subprocess.run(["cargo", "build", "--release", "-p", "strata", "--example", "w1"], check=True, cwd=REPO)
    strata = run_json([str(REPO / "target" / "release" / "examples" / "w1"), *sizes])
    try:
        dask_fig = run_json([sys.executable, "-c", DASK_W1, *sizes])
    except subprocess.CalledProcessError as e:
        print(f"dask side failed (pip install -r bench/requirements.txt?):\n{e.stderr}", file=sys.stderr)
        return 1

    print(f"\nW1: (x + x.T - x.mean(axis=0)).sum(), x = random(({args.n}, {args.n}), chunks {args.chunk}); best of {args.repeats}")
    print(f"{'':28}{'dask (threads)':>18}{'Strata':>14}{'dask / Strata':>16}")
    print(f"{'time':28}{dask_fig['seconds']:>16.3f} s{strata['seconds']:>12.3f} s{dask_fig['seconds'] / strata['seconds']:>15.2f}x")
    print(f"{'peak memory (max RSS)':28}{dask_fig['peak_rss_mib']:>14} MiB{strata['peak_rss_mib']:>10} MiB"
          f"{dask_fig['peak_rss_mib'] / max(strata['peak_rss_mib'], 1):>15.2f}x")
    print(f"{'in-memory sum (limit)':28}{dask_fig['inmem_sum_gbps']:>13.2f} GB/s{strata['inmem_sum_gbps']:>9.2f} GB/s")
    print(f"{'result':28}{dask_fig['value']:>18.6g}{strata['value']:>14.6g}   (different random streams)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
