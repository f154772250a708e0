#!/usr/bin/env python3
"""Array benchmark: dask (threaded scheduler) and the Strata runtime side by side, in one run.

W1, the Pangeo workshop's example: x = random((n, n), chunks c); (x + x.T - x.mean(axis=0)).sum()
W3, the global mean of a 0.5-degree, 40-year monthly float32 SST store written by xarray
    (Zarr v2, blosc-lz4, chunks of 12 months by the full grid, NaN over land), read by
    xarray + dask on one side and the runtime on the other;
W2, the workshop's Nino 3.4 pipeline on that same store: a climatology by month, anomalies, the
    mean over the Nino 3.4 box (5S-5N, 190-240E) and a 3-month rolling mean;
W4, the mean of a NetCDF-4 ocean-colour L3 grid as NASA's OBPG lays it out (2160 x 4320
    float32, deflate + shuffle in 64 x 64 chunks, a fill value over land), opened by xarray
    with its netCDF4 and h5netcdf engines and by Strata's open_dataset, each timed in its
    process and as a whole process (start-up included, as a user running a script sees it);
and, as the physical limit, a single-pass in-memory sum of the same bytes (NumPy and Rust).
Each side runs in its own process so that peak memory (max RSS) is its own.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/array_bench.py [--workload w1|w2|w3|w4|all] [--n 10000] [--chunk 1000] [--repeats 3]

The W3 store (about 500 MB) is written once to build/bench/ and reused.

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


DASK_W3 = r"""
import json, resource, sys, time
import dask, numpy as np, xarray as xr
store, repeats = sys.argv[1], int(sys.argv[2])
dask.config.set(scheduler="threads")
times = []
for _ in range(repeats):
    t = time.perf_counter()
    ds = xr.open_zarr(store, consolidated=True)
    value = float(ds.sst.mean().compute())
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
n = int(np.prod(ds.sst.shape))
data = np.full(n, 0.5, dtype="f4")
t = time.perf_counter(); data.sum(); limit = time.perf_counter() - t
print(json.dumps({"seconds": min(times), "all": times, "value": value, "peak_rss_mib": peak,
                  "inmem_sum_seconds": limit, "inmem_sum_gbps": n * 4 / limit / 1e9}))
"""

DASK_W2 = r"""
import json, resource, sys, time
import dask, numpy as np, xarray as xr
store, repeats = sys.argv[1], int(sys.argv[2])
dask.config.set(scheduler="threads")
times = []
for _ in range(repeats):
    t = time.perf_counter()
    sst = xr.open_zarr(store, consolidated=True).sst
    gb = sst.groupby("time.month")
    anom = gb - gb.mean("time")
    index = anom.sel(lat=slice(-5, 5), lon=slice(190, 240)).mean(["lat", "lon"]).rolling(time=3).mean()
    values = index.compute().values
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"seconds": min(times), "all": times, "peak_rss_mib": peak,
                  "values": [None if np.isnan(v) else float(v) for v in values]}))
"""

MAKE_W3_STORE = r"""
import sys
import numpy as np, pandas as pd, xarray as xr
from numcodecs import Blosc
store = sys.argv[1]
years, step = 40, 0.5
lat = np.arange(-90 + step / 2, 90, step, dtype="f8")
lon = np.arange(step / 2, 360, step, dtype="f8")
time = pd.date_range("1980-01-01", periods=12 * years, freq="MS")
la, lo = np.meshgrid(np.deg2rad(lat), np.deg2rad(lon), indexing="ij")
# Land: a smooth pattern covering about 30% of the grid, and the poles.
land = (np.sin(2 * lo) * np.cos(3 * la) + 0.4 * np.sin(5 * lo + 1) > 0.55) | (np.abs(lat)[:, None] > 78)
base = (28 * np.cos(la) ** 2 - 1.5).astype("f4")
rng = np.random.default_rng(0)
sst = xr.DataArray(np.empty((time.size, lat.size, lon.size), dtype="f4"), dims=("time", "lat", "lon"),
                   coords={"time": time, "lat": lat, "lon": lon}, name="sst",
                   attrs={"units": "degC", "long_name": "sea surface temperature"})
for m in range(time.size):
    season = 2.5 * np.sin(2 * np.pi * (m % 12) / 12) * np.sin(la)
    field = base + season.astype("f4") + rng.normal(0, 0.3, base.shape).astype("f4")
    field[land] = np.nan
    sst.values[m] = np.round(field, 2)
ds = sst.to_dataset().chunk({"time": 12, "lat": -1, "lon": -1})
encoding = {"sst": {"compressors": (Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),)}}
ds.to_zarr(store, mode="w", zarr_format=2, consolidated=True, encoding=encoding)
"""


XARRAY_W4 = r"""
import json, resource, sys, time
t = time.perf_counter()
import xarray as xr
path, engine = sys.argv[1], sys.argv[2]
ds = xr.open_dataset(path, engine=engine)
value = float(ds.chlor_a.mean())
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"seconds": seconds, "value": value, "peak_rss_mib": peak}))
"""

MAKE_W4_FILE = r"""
import sys
import numpy as np, netCDF4
path = sys.argv[1]
ny, nx = 2160, 4320
lat = (90 - (np.arange(ny) + 0.5) * 180 / ny).astype("f4")
lon = (-180 + (np.arange(nx) + 0.5) * 360 / nx).astype("f4")
la, lo = np.meshgrid(np.deg2rad(lat), np.deg2rad(lon), indexing="ij")
land = (np.sin(2 * lo) * np.cos(3 * la) + 0.4 * np.sin(5 * lo + 1) > 0.55) | (np.abs(lat)[:, None] > 80)
rng = np.random.default_rng(0)
chl = np.round(np.exp(rng.normal(-1.5, 1.0, (ny, nx)) + np.cos(la)).astype("f4"), 4)
chl[land] = -32767.0
with netCDF4.Dataset(path, "w", format="NETCDF4") as f:
    f.createDimension("lat", ny)
    f.createDimension("lon", nx)
    f.title = "Ocean-colour L3 mapped chlorophyll (synthetic, in NASA OBPG's layout)"
    f.createVariable("lat", "f4", ("lat",))[:] = lat
    f.createVariable("lon", "f4", ("lon",))[:] = lon
    v = f.createVariable("chlor_a", "f4", ("lat", "lon"), zlib=True, complevel=4, shuffle=True,
                         chunksizes=(64, 64), fill_value=np.float32(-32767.0))
    v.units, v.long_name = "mg m^-3", "Chlorophyll Concentration, OCI Algorithm"
    v.set_auto_maskandscale(False)
    v[:] = chl
"""


def run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=["w1", "w2", "w3", "w4", "all"], default="all")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.workload in ("w1", "all") and w1(args) != 0:
        return 1
    if args.workload in ("w2", "all") and w2(args) != 0:
        return 1
    if args.workload in ("w3", "all") and w3(args) != 0:
        return 1
    if args.workload in ("w4", "all") and w4(args) != 0:
        return 1
    return 0


def sst_store() -> Path:
    store = REPO / "build" / "bench" / "sst_w3.zarr"
    if not (store / ".zmetadata").exists():
        print(f"writing the SST store with xarray: {store}", file=sys.stderr)
        store.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", MAKE_W3_STORE, str(store)], check=True, cwd=REPO)
    return store


def w2(args: argparse.Namespace) -> int:
    import numpy as np

    store = sst_store()
    subprocess.run(["cargo", "build", "--release", "-p", "strata", "--example", "w2"], check=True, cwd=REPO)
    tool = str(REPO / "target" / "release" / "examples" / "w2")
    strata = run_json([tool, str(store), str(args.repeats)])
    plain = run_json([tool, str(store), str(args.repeats), "--unoptimized"])
    try:
        ref = run_json([sys.executable, "-c", DASK_W2, str(store), str(args.repeats)])
    except subprocess.CalledProcessError as e:
        print(f"xarray + dask side failed (pip install -r bench/requirements.txt?):\n{e.stderr}", file=sys.stderr)
        return 1
    a = np.array([np.nan if v is None else v for v in strata["values"]])
    b = np.array([np.nan if v is None else v for v in ref["values"]])
    agree = np.nanmax(np.abs(a - b)) if a.shape == b.shape else float("inf")
    print(f"\nW2: Nino 3.4 index (groupby-month anomalies, box mean, 3-month rolling mean) of the SST store; best of {args.repeats}")
    print(f"{'':28}{'xarray + dask':>18}{'Strata':>14}{'dask / Strata':>16}")
    print(f"{'time':28}{ref['seconds']:>16.3f} s{strata['seconds']:>12.3f} s{ref['seconds'] / strata['seconds']:>15.2f}x")
    print(f"{'peak memory (max RSS)':28}{ref['peak_rss_mib']:>14} MiB{strata['peak_rss_mib']:>10} MiB"
          f"{ref['peak_rss_mib'] / max(strata['peak_rss_mib'], 1):>15.2f}x")
    print(f"{'Strata without optimizer':28}{'':>18}{plain['seconds']:>12.3f} s{ref['seconds'] / plain['seconds']:>15.2f}x  (peak {plain['peak_rss_mib']} MiB)")
    print(f"{'largest difference':28}{agree:>18.2e}   ({a.size} months)")
    return 0


def w1(args: argparse.Namespace) -> int:
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


def w3(args: argparse.Namespace) -> int:
    store = sst_store()
    subprocess.run(["cargo", "build", "--release", "-p", "strata", "--example", "w3"], check=True, cwd=REPO)
    tool = str(REPO / "target" / "release" / "examples" / "w3")
    strata = run_json([tool, str(store / "sst"), str(args.repeats)])
    labeled = run_json([tool, str(store / "sst"), str(args.repeats), "--labeled"])
    try:
        ref = run_json([sys.executable, "-c", DASK_W3, str(store), str(args.repeats)])
    except subprocess.CalledProcessError as e:
        print(f"xarray + dask side failed (pip install -r bench/requirements.txt?):\n{e.stderr}", file=sys.stderr)
        return 1
    shape = "x".join(str(n) for n in strata["shape"])
    print(f"\nW3: global mean of SST {shape} float32, Zarr v2 blosc-lz4, NaN over land; best of {args.repeats}")
    print(f"{'':28}{'xarray + dask':>18}{'Strata':>14}{'dask / Strata':>16}")
    print(f"{'time':28}{ref['seconds']:>16.3f} s{strata['seconds']:>12.3f} s{ref['seconds'] / strata['seconds']:>15.2f}x")
    print(f"{'peak memory (max RSS)':28}{ref['peak_rss_mib']:>14} MiB{strata['peak_rss_mib']:>10} MiB"
          f"{ref['peak_rss_mib'] / max(strata['peak_rss_mib'], 1):>15.2f}x")
    print(f"{'Strata, labeled API':28}{'':>18}{labeled['seconds']:>12.3f} s{ref['seconds'] / labeled['seconds']:>15.2f}x  (peak {labeled['peak_rss_mib']} MiB)")
    print(f"{'in-memory sum (limit)':28}{ref['inmem_sum_gbps']:>13.2f} GB/s{strata['inmem_sum_gbps']:>9.2f} GB/s")
    print(f"{'result':28}{ref['value']:>18.6f}{strata['value']:>14.6f}   (the same store: must agree)")
    print(f"{'result, labeled API':28}{'':>18}{labeled['value']:>14.6f}")
    return 0


def timed_json(cmd: list[str], repeats: int) -> dict:
    """The best of `repeats` fresh processes: its own figures, and its wall time as a whole."""
    import time

    best = None
    for _ in range(repeats):
        t = time.perf_counter()
        fig = run_json(cmd)
        fig["process_seconds"] = time.perf_counter() - t
        if best is None or fig["process_seconds"] < best["process_seconds"]:
            best = fig
    return best


def w4(args: argparse.Namespace) -> int:
    path = REPO / "build" / "bench" / "l3_chlor_a.nc"
    if not path.exists():
        print(f"writing the L3 file with netCDF4: {path}", file=sys.stderr)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", MAKE_W4_FILE, str(path)], check=True, cwd=REPO)
    subprocess.run(["cargo", "build", "--release", "-p", "strata", "--example", "w4"], check=True, cwd=REPO)
    strata = timed_json([str(REPO / "target" / "release" / "examples" / "w4"), str(path), "chlor_a", "1"], args.repeats)
    refs = {}
    for engine in ("netcdf4", "h5netcdf"):
        try:
            refs[engine] = timed_json([sys.executable, "-c", XARRAY_W4, str(path), engine], args.repeats)
        except subprocess.CalledProcessError as e:
            print(f"xarray ({engine}) side failed (pip install -r bench/requirements.txt?):\n{e.stderr}", file=sys.stderr)
            return 1
    print(f"\nW4: mean of a 2160x4320 float32 NetCDF-4 L3 grid, deflate + shuffle, 64x64 chunks; best of {args.repeats} processes")
    print(f"{'':28}{'xarray netCDF4':>16}{'xarray h5netcdf':>17}{'Strata':>10}{'best xarray / Strata':>22}")
    for key, label in (("process_seconds", "whole process"), ("seconds", "open + mean, in process")):
        best_ref = min(r[key] for r in refs.values())
        print(f"{label:28}{refs['netcdf4'][key]:>14.3f} s{refs['h5netcdf'][key]:>15.3f} s{strata[key]:>8.3f} s{best_ref / strata[key]:>21.2f}x")
    print(f"{'peak memory (max RSS)':28}{refs['netcdf4']['peak_rss_mib']:>12} MiB{refs['h5netcdf']['peak_rss_mib']:>13} MiB{strata['peak_rss_mib']:>6} MiB")
    print(f"{'result':28}{refs['netcdf4']['value']:>16.6f}{refs['h5netcdf']['value']:>17.6f}{strata['value']:>10.6f}   (the same file: must agree)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
