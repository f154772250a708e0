#!/usr/bin/env python3
"""Object-storage benchmark: xarray + zarr-python (through s3fs, and through obstore) and
Strata side by side, in one run, on the same Zarr store in the same local S3 server.

The server is moto's (`moto_server`, from PyPI) on loopback. Between it and every client sits
a small proxy of this script's, which counts requests and bytes and can hold each request
back for a while (`--latency-ms`, 0 and 20 by default: the round trip to a cloud region from
a VM in it is a few ms, from elsewhere tens of ms). This machine's kernel has no netem qdisc,
so the proxy stands in for `tc netem`.

The store: monthly SST on a 1-degree grid for 40 years (480 x 180 x 360 float32, NaN over
"land"), chunks of 12 months by the full grid, Zarr v3, consolidated, written by xarray.

Workloads (each in its own process, so that peak memory is its own):
  open      open the dataset (metadata and coordinates)
  mean      the global mean (W3: every chunk once)
  point     the time series at one grid point (a sliver of every chunk)
  nino34    climatology by month, anomalies, the Nino 3.4 box mean (W2 without the rolling mean)
  kerchunk  the global mean of a year of daily NetCDF-4 files (1 degree, deflate + shuffle) in the
            bucket, through kerchunk's reference set (xarray: fsspec's reference file system)

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/cloud_bench.py [--latency-ms 0,20] [--repeats 3] [--workloads mean,point,nino34]

A benchmark, not a test: it prints figures and ratios and exits 0 unless it cannot run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUCKET = "bench"
KEY = SECRET = "testing"

PYTHON_SIDE = r"""
import json, resource, sys, time
import dask, numpy as np, xarray as xr
url, workload, client, endpoint, repeats, variable = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
dask.config.set(scheduler="threads")

def open_():
    if url.startswith("reference://"):
        # fsspec's reference file system over s3fs, as the kerchunk tutorials open one.
        so = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
        options = {"fo": url.removeprefix("reference://"), "target_protocol": "s3", "target_options": so,
                   "remote_protocol": "s3", "remote_options": {**so, "asynchronous": True}, "asynchronous": True}
        return xr.open_dataset("reference://", engine="zarr", chunks={}, backend_kwargs={"consolidated": False, "storage_options": options})
    return xr.open_zarr(store(), consolidated=True)

def store():
    if client == "s3fs":
        import s3fs, zarr
        fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing", skip_instance_cache=True, asynchronous=True)
        return zarr.storage.FsspecStore(fs, path=url.removeprefix("s3://"), read_only=True)
    import obstore.store, zarr.storage
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    s3 = obstore.store.S3Store(bucket, prefix=prefix, endpoint=endpoint, access_key_id="testing", secret_access_key="testing",
                               region="us-east-1", client_options={"allow_http": True})
    return zarr.storage.ObjectStore(s3, read_only=True)

def run():
    sst = open_()[variable]
    if workload == "mean":
        return np.atleast_1d(sst.mean().values)
    if workload == "point":
        return sst.isel(lat=sst.sizes["lat"] // 2, lon=sst.sizes["lon"] // 2).values
    gb = sst.groupby("time.month")
    anom = gb - gb.mean("time")
    return anom.sel(lat=slice(-5, 5), lon=slice(190, 240)).mean(["lat", "lon"]).values

t = time.perf_counter(); open_(); opened = time.perf_counter() - t
times = []
for _ in range(repeats):
    t = time.perf_counter(); values = run(); times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
values = np.asarray(values, dtype="f8")
print(json.dumps({"open_seconds": opened, "seconds": min(times), "all": times, "n": int(values.size),
                  "checksum": float(np.nansum(values)), "peak_rss_mib": peak}))
"""

MAKE_STORE = r"""
import sys
import numpy as np, pandas as pd, xarray as xr
url, endpoint = sys.argv[1], sys.argv[2]
time_ = pd.date_range("1980-01-01", periods=480, freq="MS")
lat = np.arange(-89.5, 90, 1.0); lon = np.arange(0.5, 360, 1.0)
month = np.arange(480) % 12
y, x = np.meshgrid(lat, lon, indexing="ij")
base = (28 - 30 * (np.abs(y) / 90) ** 2 + 0.5 * np.sin(np.radians(x))).astype("f4")
land = (np.sin(np.radians(3 * x)) * np.cos(np.radians(2 * y)) > 0.6)
rng = np.random.default_rng(0)
sst = np.empty((480, 180, 360), "f4")
for t in range(480):
    sst[t] = base + 2 * np.cos(2 * np.pi * month[t] / 12) * np.sign(y) + rng.normal(0, 0.3, base.shape).astype("f4")
    sst[t][land] = np.nan
ds = xr.Dataset({"sst": (("time", "lat", "lon"), sst, {"units": "degC"})}, coords={"time": time_, "lat": lat, "lon": lon})
ds.to_zarr(url, storage_options={"endpoint_url": endpoint, "key": "testing", "secret": "testing"}, zarr_format=3,
           consolidated=True, mode="w", encoding={"sst": {"chunks": (12, 180, 360)}})
"""


MAKE_DAILY = r"""
import json, sys
from pathlib import Path
import numpy as np, pandas as pd, xarray as xr, s3fs
from kerchunk.hdf import SingleHdf5ToZarr
from kerchunk.combine import MultiZarrToZarr
local, bucket_url, endpoint, days = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
local.mkdir(parents=True, exist_ok=True)
lat = np.arange(-89.5, 90, 1.0); lon = np.arange(0.5, 360, 1.0)
y, x = np.meshgrid(lat, lon, indexing="ij")
land = np.sin(np.radians(3 * x)) * np.cos(np.radians(2 * y)) > 0.6
files = []
for day in range(days):
    path = local / f"dt_{day:03d}.nc"
    files.append(path)
    if path.exists():
        continue
    rng = np.random.default_rng(day)
    sla = (0.1 * np.sin(np.radians(x + day)) + rng.normal(0, 0.05, x.shape)).astype("f4")[None]
    sla[0][land] = np.nan
    ds = xr.Dataset({"sla": (("time", "lat", "lon"), sla, {"units": "m"})},
                    coords={"time": pd.date_range("2020-01-01", periods=1) + pd.Timedelta(days=day), "lat": lat, "lon": lon})
    ds.to_netcdf(path, encoding={"sla": {"zlib": True, "shuffle": True, "chunksizes": (1, 180, 360), "_FillValue": -9999.0},
                                 "time": {"units": "days since 1950-01-01"}})
fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing")
singles = [SingleHdf5ToZarr(str(p), inline_threshold=300).translate() for p in files]
refs = MultiZarrToZarr(singles, concat_dims=["time"], identical_dims=["lat", "lon"], coo_map={"time": "cf:time"}).translate()
text = json.dumps(refs).replace(str(local) + "/", bucket_url + "/nc/")
fs.put([str(p) for p in files], [bucket_url.removeprefix("s3://") + "/nc/" + p.name for p in files])
fs.pipe(bucket_url.removeprefix("s3://") + "/refs.json", text.encode())
"""


class Proxy:
    """A TCP proxy counting the requests (HTTP request lines) and bytes that cross it, and
    holding each request back `latency` seconds before passing it on."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.latency = 0.0
        self.requests = 0
        self.bytes_down = 0
        self.bytes_up = 0
        self.loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        started.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def upstream() -> None:
            while data := await reader.read(1 << 16):
                self.requests += sum(data.count(m) for m in (b"GET /", b"PUT /", b"HEAD /", b"POST /", b"DELETE /"))
                self.bytes_up += len(data)
                if self.latency:
                    await asyncio.sleep(self.latency)
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(1 << 16):
                self.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)

    def counts(self) -> tuple[int, int]:
        return self.requests, self.bytes_down

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measured(proxy: Proxy, cmd: list[str], env: dict[str, str]) -> dict:
    before = proxy.counts()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{done.stderr[-3000:]}")
    after = proxy.counts()
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["requests"], out["mib"] = after[0] - before[0], (after[1] - before[1]) / 2**20
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency-ms", default="0,20")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workloads", default="mean,point,nino34,kerchunk")
    ap.add_argument("--days", type=int, default=365, help="daily NetCDF files behind the kerchunk workload")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--workspace", "--examples"], check=True, cwd=REPO)
    strata = str(REPO / "target" / "release" / "examples" / "cloud_bench")

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        proxy = Proxy(port)
        import s3fs

        s3fs.S3FileSystem(endpoint_url=proxy.endpoint, key=KEY, secret=SECRET).mkdir(BUCKET)
        url = f"s3://{BUCKET}/sst.zarr"
        print("writing the store (xarray, through s3fs) ...", flush=True)
        subprocess.run([sys.executable, "-c", MAKE_STORE, url, proxy.endpoint], check=True)
        if "kerchunk" in args.workloads:
            print(f"writing {args.days} daily NetCDF-4 files, uploading them and kerchunk's references ...", flush=True)
            subprocess.run([sys.executable, "-c", MAKE_DAILY, str(REPO / "build" / "bench" / "daily_nc"), f"s3://{BUCKET}/daily", proxy.endpoint, str(args.days)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1", AWS_ENDPOINT_URL=proxy.endpoint)

        print(f"\nSST store 480 x 180 x 360 float32, Zarr v3, chunks 12 x 180 x 360 (40 chunks), in moto on loopback; best of {args.repeats}")
        for latency in [float(x) for x in args.latency_ms.split(",")]:
            proxy.latency = latency / 1000
            print(f"\n-- {latency:g} ms added to each request --")
            print(f"{'workload':8} {'side':22} {'open s':>8} {'run s':>8} {'requests':>9} {'MiB':>7} {'peak MiB':>9}  ratio")
            for workload in args.workloads.split(","):
                rows = {}
                if workload == "kerchunk":
                    # The global mean of a year of daily files through kerchunk's reference set.
                    refs = f"reference://s3://{BUCKET}/daily/refs.json"
                    rows["xarray+kerchunk (s3fs)"] = measured(proxy, [sys.executable, "-c", PYTHON_SIDE, refs, "mean", "s3fs", proxy.endpoint, str(args.repeats), "sla"], env)
                    rows["strata"] = measured(proxy, [strata, refs, "mean", str(args.repeats), "sla"], env)
                else:
                    for client in ("s3fs", "obstore"):
                        rows[f"xarray+zarr ({client})"] = measured(proxy, [sys.executable, "-c", PYTHON_SIDE, url, workload, client, proxy.endpoint, str(args.repeats), "sst"], env)
                    rows["strata"] = measured(proxy, [strata, url, workload, str(args.repeats)], env)
                best_python = min(v["seconds"] for k, v in rows.items() if k != "strata")
                checks = {k: round(v["checksum"], 3) for k, v in rows.items()}
                for side, r in rows.items():
                    ratio = f"{best_python / r['seconds']:.2f}x" if side == "strata" else ""
                    per_run = r["requests"] / (args.repeats + 1)
                    print(f"{workload:8} {side:22} {r['open_seconds']:8.3f} {r['seconds']:8.3f} {per_run:9.0f} {r['mib'] / (args.repeats + 1):7.1f} {r['peak_rss_mib']:9d}  {ratio}")
                if len({round(c, 1) for c in checks.values()}) != 1:
                    print(f"   checksums differ: {checks}")
        print("\nrequests and MiB: per open + run (the process's total over its repeats + 1); ratio: best Python run / Strata run")
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
