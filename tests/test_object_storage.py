"""Zarr in object storage, against a real S3-compatible server started here on loopback
(moto's `moto_server`): xarray and zarr-python write stores into a bucket through s3fs,
Strata reads them value for value; Strata writes stores into the bucket that xarray reads
back. Faults: bad credentials, missing keys, a server that hangs or dies mid-answer, a
writer killed or interrupted midway.

Strata is driven through the runtime's examples (zarr_tool for arrays, labeled_tool for
datasets), with the standard `AWS_*` variables pointing them at the server, and through a
notebook cell with the options given in code (`Storage`).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr

from conftest import cargo_example
from s3_server import KEY, SECRET, S3Server, start_s3

BUCKET = "strata-test"


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> S3Server:
    server = start_s3(tmp_path_factory.mktemp("moto"))
    server.fs().mkdir(BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def zarr_tool() -> Path:
    return cargo_example("zarr_tool")


@pytest.fixture(scope="module")
def labeled_tool() -> Path:
    return cargo_example("labeled_tool")


def sst_dataset() -> xr.Dataset:
    """A small monthly SST-like dataset: NaN over "land", CF attributes, a time axis."""
    time_ = pd.date_range("2000-01-01", periods=24, freq="MS")
    lat = np.linspace(-85, 85, 18)
    lon = np.arange(0, 360, 10.0)
    t, y, x = np.meshgrid(np.arange(24), lat, lon, indexing="ij")
    sst = (20 + 8 * np.cos(np.radians(y)) + np.sin(2 * np.pi * t / 12) + 0.01 * x).astype("f4")
    sst[:, 3:6, 10:15] = np.nan
    ds = xr.Dataset(
        {"sst": (("time", "lat", "lon"), sst, {"units": "degC", "long_name": "sea surface temperature"})},
        coords={"time": time_, "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
        attrs={"title": "test SST"},
    )
    return ds


STORES = {
    # name: (zarr_format, encoding for sst)
    "v2": (2, {"chunks": (6, 9, 12)}),
    "v3": (3, {"chunks": (6, 9, 12)}),
    "v3-sharded": (3, {"chunks": (6, 9, 12), "shards": (12, 18, 36)}),
}


@pytest.fixture(scope="module")
def stores(s3) -> dict[str, str]:
    """xarray writes the dataset into the bucket in each layout, consolidated."""
    ds = sst_dataset()
    urls = {}
    for name, (fmt, encoding) in STORES.items():
        url = f"s3://{BUCKET}/{name}.zarr"
        ds.to_zarr(url, storage_options=s3.storage_options(), zarr_format=fmt, consolidated=True, mode="w", encoding={"sst": encoding})
        urls[name] = url
    return urls


def run_tool(tool: Path, args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(tool), *args], capture_output=True, text=True, timeout=timeout, env=env)


def dump(zarr_tool: Path, s3: S3Server, url: str, *flags: str) -> np.ndarray:
    done = run_tool(zarr_tool, ["dump", url, *flags], s3.env())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return np.array([np.nan if v is None else v for v in report["values"]], dtype="f8").reshape(report["selected_shape"])


@pytest.mark.parametrize("name", list(STORES))
def test_strata_reads_what_xarray_wrote_into_the_bucket_value_for_value(zarr_tool, labeled_tool, s3, stores, name):
    url = stores[name]
    want = xr.open_zarr(url, storage_options=s3.storage_options())
    got = dump(zarr_tool, s3, f"{url}/sst")
    np.testing.assert_array_equal(got, want.sst.values.astype("f8"))
    # A selection across chunks reads only what it keeps, with the right values.
    part = dump(zarr_tool, s3, f"{url}/sst", "3:17,5,7:30:4")
    np.testing.assert_array_equal(part, want.sst.values[3:17, 5, 7:30:4].astype("f8"))
    # The dataset opens as xarray opens it: dims, coordinates, decoded times, attributes.
    done = run_tool(labeled_tool, ["describe", url], s3.env())
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)
    text = json.dumps(described)
    assert "sst" in text and "sea surface temperature" in text and "2000-01-01" in text and "2001-12-01" in text, text
    # And computes what xarray computes on it.
    done = run_tool(labeled_tool, ["summary", url], s3.env())
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    sst = summary["vars"]["sst"]
    values = want.sst.values.astype("f8")
    assert sst["valid"] == int((~np.isnan(values)).sum())
    assert sst["mean"] == pytest.approx(float(np.nanmean(values)), rel=1e-6)


def requests_during(s3: S3Server, action) -> list[str]:
    before = len(s3.settled_requests())
    action()
    return s3.settled_requests()[before:]


METADATA = re.compile(r"/(zarr\.json|\.zmetadata|\.zgroup|\.zattrs|\.zarray)(\?| )")


@pytest.mark.parametrize("name, most", [("v3", 1), ("v2", 2)])
def test_opening_a_consolidated_store_costs_one_or_two_metadata_requests(labeled_tool, s3, stores, name, most):
    """v3 keeps its consolidated metadata in the root zarr.json (one request); v2 in
    .zmetadata, after zarr.json is found missing (two). No data variable's chunk is read to
    open the dataset; only coordinates are (as xarray loads them)."""
    url = stores[name]
    seen = requests_during(s3, lambda: run_tool(labeled_tool, ["open", url], s3.env()).check_returncode())
    metadata = [r for r in seen if METADATA.search(r)]
    assert 1 <= len(metadata) <= most, seen
    assert not [r for r in seen if f"/{name}.zarr/sst/" in r.split(" ")[1]], seen
    assert len(seen) <= most + 3, seen  # the metadata, then time, lat and lon


@pytest.mark.parametrize("fmt", ["v2", "v3"])
def test_xarray_reads_back_what_strata_writes_into_the_bucket(labeled_tool, s3, stores, fmt):
    src = stores["v3"]
    dst = f"s3://{BUCKET}/written-{fmt}.zarr"
    done = run_tool(labeled_tool, ["copy", src, dst, fmt], s3.env())
    assert done.returncode == 0, done.stderr
    want = xr.open_zarr(src, storage_options=s3.storage_options()).load()
    got = xr.open_zarr(dst, storage_options=s3.storage_options()).load()
    xr.testing.assert_equal(got, want)
    assert got.sst.attrs["long_name"] == "sea surface temperature"
    # Nothing of the write is left beside the store.
    left = [p for p in s3.fs().ls(BUCKET) if ".strata" in p]
    assert not left, left
    # Writing again replaces it whole (the overwrite path: staged, then copied in).
    done = run_tool(labeled_tool, ["copy", stores["v2"], dst, fmt], s3.env())
    assert done.returncode == 0, done.stderr
    xr.testing.assert_equal(xr.open_zarr(dst, storage_options=s3.storage_options()).load(), want)
    left = [p for p in s3.fs().ls(BUCKET) if ".strata" in p]
    assert not left, left


def slow_copy_under_way(zarr_tool: Path, s3: S3Server, src: str, dst: str) -> subprocess.Popen:
    """Starts copying `src` to `dst` one chunk at a time, each held back 200 ms, and returns
    once some chunks are in the bucket (the store's own progress, not a clock)."""
    args = ["copy", src, dst, "v3", "zstd", "1x18x36", "--threads=1", "--chunk-delay-ms=200"]
    proc = subprocess.Popen([str(zarr_tool), *args], env=s3.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fs = s3.fs()
    prefix = dst.removeprefix("s3://")
    deadline = time.monotonic() + 60
    while not [p for p in fs.find(prefix) if "/c/" in p]:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no chunk was written within 60 s"
        time.sleep(0.1)
        fs.invalidate_cache()
    return proc


def test_a_write_killed_midway_leaves_no_store_and_the_next_write_succeeds(zarr_tool, s3, stores):
    """A writer killed mid-write leaves chunks but no metadata: no reader sees a store. The
    next write to the same URL recognises the debris and replaces it."""
    src = f"{stores['v3']}/sst"
    dst = f"s3://{BUCKET}/killed.zarr"
    proc = slow_copy_under_way(zarr_tool, s3, src, dst)
    fs = s3.fs()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    fs.invalidate_cache()
    left = fs.find(f"{BUCKET}/killed.zarr")
    assert left and not [p for p in left if p.endswith("zarr.json")], left
    with pytest.raises(Exception):
        zarr.open_array(dst, mode="r", storage_options=s3.storage_options())
    # The next write (no overwrite asked) takes the debris for what it is.
    done = run_tool(zarr_tool, ["copy", src, dst, "v3", "zstd", "6x9x12"], s3.env())
    assert done.returncode == 0, done.stderr
    want = xr.open_zarr(stores["v3"], storage_options=s3.storage_options()).sst.values
    got = zarr.open_array(dst, mode="r", storage_options=s3.storage_options())[:]
    np.testing.assert_array_equal(got, want)
    fs.invalidate_cache()
    assert not [p for p in fs.find(f"{BUCKET}/killed.zarr") if ".strata" in p]


def test_an_interrupted_write_deletes_what_it_wrote(zarr_tool, s3, stores):
    src = f"{stores['v3']}/sst"
    dst = f"s3://{BUCKET}/interrupted.zarr"
    proc = slow_copy_under_way(zarr_tool, s3, src, dst)
    fs = s3.fs()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "interrupted" in err.decode(), err.decode()
    fs.invalidate_cache()
    assert fs.find(f"{BUCKET}/interrupted.zarr") == []


def test_missing_stores_and_arrays_are_named_in_the_error(zarr_tool, labeled_tool, s3, stores):
    done = run_tool(labeled_tool, ["describe", f"s3://{BUCKET}/nope.zarr"], s3.env())
    assert done.returncode != 0
    assert f"s3://{BUCKET}/nope.zarr" in done.stderr and "no Zarr group metadata" in done.stderr, done.stderr
    done = run_tool(zarr_tool, ["dump", f"{stores['v3']}/nope"], s3.env())
    assert done.returncode != 0 and f"{stores['v3']}/nope" in done.stderr, done.stderr
    done = run_tool(labeled_tool, ["describe", "s3://no-such-bucket-here/x.zarr"], s3.env())
    assert done.returncode != 0 and "s3://no-such-bucket-here/x.zarr" in done.stderr, done.stderr


def test_wrong_credentials_are_a_clear_error(labeled_tool, tmp_path):
    """A server that checks signatures (moto with authentication on) refuses an unknown key:
    the error says access was denied and names the URL."""
    server = start_s3(tmp_path, env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0"))
    try:
        env = server.env(AWS_ACCESS_KEY_ID="AKIANOTAREALKEY00000", AWS_SECRET_ACCESS_KEY="wrong")
        done = run_tool(labeled_tool, ["describe", f"s3://{BUCKET}/sst.zarr"], env, timeout=120)
        assert done.returncode != 0
        assert f"s3://{BUCKET}/sst.zarr" in done.stderr and "access denied" in done.stderr, done.stderr
    finally:
        server.stop()


class FaultyServer:
    """An HTTP server on loopback that misbehaves: `hang` reads a request and never answers;
    `die` answers a range request with headers and part of the body, then closes the
    connection (a server dying mid-read)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.requests = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        try:
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.requests += 1
                if self.mode == "hang":
                    continue
                body = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n" % (len(body) * 10) + body)
                conn.close()
                return
        except OSError:
            return

    def close(self) -> None:
        self.sock.close()
        for c in self.connections:
            try:
                c.close()
            except OSError:
                pass


@pytest.mark.parametrize("mode", ["hang", "die"])
def test_a_server_that_hangs_or_dies_mid_read_is_an_error_within_the_timeout(labeled_tool, zarr_tool, mode):
    server = FaultyServer(mode)
    try:
        url = f"http://127.0.0.1:{server.port}/data/sst.zarr/sst"
        started = time.monotonic()
        done = run_tool(zarr_tool, ["dump", url, "--timeout-ms=1000", "--retries=1"], dict(os.environ), timeout=60)
        took = time.monotonic() - started
        assert done.returncode != 0
        assert url in done.stderr, done.stderr
        assert took < 60
        if mode == "hang":
            # Timed out, retried once, then gave up.
            assert server.requests >= 2 and "retr" in done.stderr, (server.requests, done.stderr)
        else:
            assert "body" in done.stderr or "closed" in done.stderr, done.stderr
    finally:
        server.close()


def test_a_notebook_cell_reads_and_writes_the_bucket_with_options_in_code(kernel, s3, stores):
    """In the kernel, with no environment set: the options as a user writes them."""
    storage = f'Storage::new().endpoint("{s3.endpoint}").credentials("{KEY}", "{SECRET}")'
    url = stores["v3"]
    out = f"s3://{BUCKET}/from-a-cell.zarr"
    run = kernel.run_ok(
        f"let storage = {storage};\n"
        f'let ds = open_zarr_with("{url}", &storage)?;\n'
        f'let mean = ds.var("sst")?.mean(["time"])?;\n'
        f'mean.to_dataset(Some("sst_mean"))?.to_zarr_with("{out}", &ToZarr::default().storage(&storage))?;\n'
        f'println!("{{:.6}}", ds.var("sst")?.mean(["time", "lat", "lon"])?.values()?.iter().next().unwrap());'
    )
    want = xr.open_zarr(url, storage_options=s3.storage_options())
    assert float(run.stream().strip()) == pytest.approx(float(want.sst.mean()), rel=1e-5)
    got = xr.open_zarr(out, storage_options=s3.storage_options())
    np.testing.assert_allclose(got.sst_mean.values, want.sst.mean("time").values, rtol=1e-5)
    # An unreachable store is an error in the cell, naming it; the kernel keeps serving.
    bad = kernel.run(f'open_zarr_with("s3://{BUCKET}/nope.zarr", &storage)?')
    assert bad.status == "error" and f"s3://{BUCKET}/nope.zarr" in bad.error_text, bad.describe()
    assert kernel.run_ok("1 + 1").result["text/plain"] == "2"
