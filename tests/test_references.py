"""Virtual datasets: kerchunk turns daily NetCDF-4 files into one reference set (JSON: the
store's metadata inline, each chunk a byte range of a file), which xarray opens through
fsspec's reference file system and Strata opens as `reference://refs.json`. Strata must read
the same dataset, value for value, with the files on disk and with files and reference set in
an S3 bucket (moto's server on loopback); a reference to a missing file or a malformed set is
an error naming it.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from kerchunk.combine import MultiZarrToZarr
from kerchunk.hdf import SingleHdf5ToZarr

from conftest import cargo_example
from s3_server import start_s3

DAYS = 5


@pytest.fixture(scope="module")
def labeled_tool() -> Path:
    return cargo_example("labeled_tool")


@pytest.fixture(scope="module")
def zarr_tool() -> Path:
    return cargo_example("zarr_tool")


@pytest.fixture(scope="module")
def daily(tmp_path_factory) -> tuple[Path, list[Path]]:
    """Daily sea-level-anomaly files as producers write them (deflate + shuffle, a fill
    value over land, scale and offset on an int16 variable, a time axis in days since an
    epoch), and kerchunk's reference set over all of them, joined along time."""
    root = tmp_path_factory.mktemp("daily")
    lat = np.linspace(-60, 60, 30)
    lon = np.arange(0, 360, 4.0)
    files = []
    for day in range(DAYS):
        rng = np.random.default_rng(day)
        sla = rng.normal(0, 0.1, (1, lat.size, lon.size)).astype("f4")
        sla[0, :3, :5] = np.nan
        adt = (rng.normal(0.5, 0.2, (1, lat.size, lon.size))).astype("f8")
        time_ = pd.date_range("2020-01-01", periods=1) + pd.Timedelta(days=day)
        ds = xr.Dataset(
            {"sla": (("time", "lat", "lon"), sla, {"units": "m", "long_name": "sea level anomaly"}),
             "adt": (("time", "lat", "lon"), adt, {"units": "m"})},
            coords={"time": time_, "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
        )
        path = root / f"dt_{day:03d}.nc"
        ds.to_netcdf(path, encoding={
            "sla": {"zlib": True, "shuffle": True, "chunksizes": (1, 15, 45), "_FillValue": -9999.0},
            "adt": {"zlib": True, "dtype": "int16", "scale_factor": 0.001, "add_offset": 0.5, "_FillValue": -32768, "chunksizes": (1, 30, 90)},
            "time": {"units": "days since 1950-01-01"},
        })
        files.append(path)
    singles = [SingleHdf5ToZarr(str(p), inline_threshold=100).translate() for p in files]
    combined = MultiZarrToZarr(singles, concat_dims=["time"], identical_dims=["lat", "lon"], coo_map={"time": "cf:time"}).translate()
    refs = root / "refs.json"
    refs.write_text(json.dumps(combined))
    return refs, files


def xarray_open(refs: str, **kwargs) -> xr.Dataset:
    return xr.open_dataset("reference://", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": {"fo": refs, **kwargs}})


def strata_summary(tool: Path, url: str, env: dict | None = None) -> dict:
    done = subprocess.run([str(tool), "summary", url], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_same_dataset(summary: dict, want: xr.Dataset) -> None:
    for name, var in want.data_vars.items():
        got = summary["vars"][name]
        values = var.values.astype("f8")
        assert got["dims"] == list(var.dims) and got["shape"] == list(var.shape), (name, got)
        assert got["valid"] == int((~np.isnan(values)).sum()), name
        assert got["mean"] == pytest.approx(float(np.nanmean(values)), rel=1e-6), name
    times = summary["coords"]["time"]
    assert times["ends"] == [str(want.time.values[0])[:10], str(want.time.values[-1])[:10]], times


def test_strata_opens_kerchunks_reference_set_as_xarray_does(labeled_tool, zarr_tool, daily):
    refs, _ = daily
    want = xarray_open(str(refs))
    assert want.sizes["time"] == DAYS
    assert_same_dataset(strata_summary(labeled_tool, f"reference://{refs}"), want)
    # The stored values, chunk by chunk, as the files hold them (before CF decoding).
    done = subprocess.run([str(zarr_tool), "dump", f"reference://{refs}#adt"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    stored = xr.open_dataset("reference://", engine="zarr", mask_and_scale=False,
                             backend_kwargs={"consolidated": False, "storage_options": {"fo": str(refs)}}).adt.values
    np.testing.assert_array_equal(np.array(report["values"], dtype="f8").reshape(report["selected_shape"]), stored.astype("f8"))


def test_a_reference_set_and_its_files_in_a_bucket(labeled_tool, daily, tmp_path):
    """Files and reference set uploaded to S3, the references pointing at the objects:
    `reference://s3://bucket/refs.json` reads the chunks from the bucket, by range."""
    refs, files = daily
    server = start_s3(tmp_path)
    try:
        fs = server.fs()
        fs.mkdir("virtual")
        for f in files:
            fs.put(str(f), f"virtual/nc/{f.name}")
        doc = json.loads(refs.read_text())
        text = json.dumps(doc).replace(str(files[0].parent) + "/", "s3://virtual/nc/")
        assert "s3://virtual/nc/dt_000.nc" in text
        fs.pipe("virtual/refs.json", text.encode())
        # The same files as on disk: xarray reads those.
        want = xarray_open(str(refs))
        before = len(server.settled_requests())
        summary = strata_summary(labeled_tool, "reference://s3://virtual/refs.json", env=server.env())
        assert_same_dataset(summary, want)
        # The chunks came from the bucket's files, each read once: a masked variable's plan
        # names its source twice (where(x == fill, NaN, x)), and a task reads it once.
        seen = server.settled_requests()[before:]
        for f in files:
            refs_into = sum(1 for v in doc["refs"].values() if isinstance(v, list) and v[0].endswith(f.name))
            assert seen.count(f"GET /virtual/nc/{f.name} HTTP/1.1") == refs_into, (f.name, refs_into, seen)
    finally:
        server.stop()


def test_missing_targets_and_malformed_sets_are_named(labeled_tool, daily, tmp_path):
    refs, files = daily
    doc = json.loads(refs.read_text())
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc).replace(files[2].name, "gone.nc"))
    done = subprocess.run([str(labeled_tool), "summary", f"reference://{broken}"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "gone.nc" in done.stderr, done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 7, "refs": {}}))
    done = subprocess.run([str(labeled_tool), "summary", f"reference://{bad}"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "version 7" in done.stderr and "bad.json" in done.stderr, done.stderr
    # A reference set is read-only: writing into one says so, and touches nothing.
    done = subprocess.run([str(labeled_tool), "copy", f"reference://{refs}", f"reference://{tmp_path / 'out.json'}", "v3"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "read-only" in done.stderr, done.stderr
    assert not (tmp_path / "out.json").exists()


def test_a_notebook_cell_opens_a_reference_set(kernel, daily):
    refs, _ = daily
    want = xarray_open(str(refs))
    run = kernel.run_ok(
        f'let ds = open_dataset("reference://{refs}")?;\n'
        f'println!("{{:.9}}", ds.var("sla")?.mean(["time", "lat", "lon"])?.item()?);'
    )
    assert float(run.stream().strip()) == pytest.approx(float(want.sla.mean()), rel=1e-6)
