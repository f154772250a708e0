"""Zarr interop with the real peers: zarr-python and xarray write stores that the Strata runtime
reads, and read back what the runtime writes, value for value.

The runtime is driven through runtime/examples/zarr_tool.rs (`dump` prints a store's metadata
and values as JSON, `copy` re-writes a store with the runtime's writer), built here if needed.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from numcodecs import GZip, Zstd
from numcodecs import Blosc as BloscV2
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

from conftest import cargo_example

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def zarr_tool() -> Path:
    return cargo_example("zarr_tool")


def dump(tool: Path, path: Path, selection: str | None = None) -> dict:
    args = [str(tool), "dump", str(path)] + ([selection] if selection else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def values_of(report: dict) -> np.ndarray:
    flat = [np.nan if v is None else v for v in report["values"]]
    return np.array(flat, dtype="f8").reshape(report["selected_shape"])


def sample(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Distinct values at every position (a transposed or shifted read cannot pass)."""
    n = int(np.prod(shape))
    if dtype == "bool":
        return (np.arange(n) % 3 == 0).reshape(shape)
    values = (np.arange(n) % 251 - 100).astype(dtype) if np.dtype(dtype).kind in "iu" else np.arange(n, dtype=dtype) * 0.25
    if np.dtype(dtype).kind == "u":
        values = (np.arange(n) % 200).astype(dtype)
    values = values.reshape(shape)
    if np.dtype(dtype).kind == "f":
        values.flat[3::7] = np.nan
    return values


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    want = np.asarray(want, dtype="f8")
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.nan_to_num(got, nan=0.0), np.nan_to_num(want, nan=0.0))


SHAPE = (13, 9, 7)
CHUNKS = (5, 4, 7)

# (name, zarr_format, keyword arguments for zarr.create_array)
PYTHON_WRITES = [
    ("v2-blosc-lz4", 2, {"compressors": BloscV2(cname="lz4", clevel=5, shuffle=BloscV2.SHUFFLE)}),
    ("v2-blosc-zstd-bitshuffle", 2, {"compressors": BloscV2(cname="zstd", clevel=3, shuffle=BloscV2.BITSHUFFLE)}),
    ("v2-zstd", 2, {"compressors": Zstd(level=3)}),
    ("v2-gzip", 2, {"compressors": GZip(level=5)}),
    ("v2-uncompressed", 2, {"compressors": None}),
    ("v2-order-F", 2, {"order": "F"}),
    ("v3-default", 3, {}),
    ("v3-blosc", 3, {"compressors": BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")}),
    ("v3-gzip", 3, {"compressors": GzipCodec(level=6)}),
    ("v3-zstd", 3, {"compressors": ZstdCodec(level=1)}),
    ("v3-uncompressed", 3, {"compressors": None}),
    ("v3-sharded", 3, {"shards": (10, 8, 7)}),
]


@pytest.mark.parametrize("name,fmt,kwargs", PYTHON_WRITES, ids=[c[0] for c in PYTHON_WRITES])
@pytest.mark.parametrize("dtype", ["f4", "f8", "i2", "u1", "i8", "bool"])
def test_runtime_reads_what_zarr_python_writes(zarr_tool, tmp_path, name, fmt, kwargs, dtype):
    data = sample(SHAPE, dtype)
    path = tmp_path / f"{name}.zarr"
    chunks = (5, 4, 7) if "shards" not in kwargs else (5, 2, 7)
    array = zarr.create_array(path, shape=SHAPE, chunks=chunks, dtype=dtype, zarr_format=fmt, **kwargs)
    array[:] = data
    report = dump(zarr_tool, path)
    assert report["shape"] == list(SHAPE)
    assert report["zarr_format"] == fmt
    assert_same(values_of(report), data)


@pytest.mark.parametrize(
    "selection,index",
    [
        ("2:11:3,4,:", np.s_[2:11:3, 4, :]),
        ("12,:,6", np.s_[12, :, 6]),
        (":,1:8:2,2:5", np.s_[:, 1:8:2, 2:5]),
        ("4:5,8:9,0:7:6", np.s_[4:5, 8:9, 0:7:6]),
    ],
)
@pytest.mark.parametrize("layout", ["v2", "v3-sharded"])
def test_selections_read_only_what_they_keep_with_the_right_values(zarr_tool, tmp_path, selection, index, layout):
    data = sample(SHAPE, "f8")
    path = tmp_path / "a.zarr"
    if layout == "v2":
        array = zarr.create_array(path, shape=SHAPE, chunks=CHUNKS, dtype="f8", zarr_format=2)
    else:
        array = zarr.create_array(path, shape=SHAPE, chunks=(5, 2, 7), shards=(10, 4, 7), dtype="f8")
    array[:] = data
    assert_same(values_of(dump(zarr_tool, path, selection)), data[index])


# (format, compressor, chunks, shards, what zarr-python should see as the compressor)
RUNTIME_WRITES = [
    ("v2", "blosc-lz4", None, None, "blosc"),
    ("v2", "blosc-zstd", "4x4x4", None, "blosc"),
    ("v2", "zstd", None, None, "zstd"),
    ("v2", "gzip", None, None, "gzip"),
    ("v2", "none", None, None, None),
    ("v3", "zstd", None, None, "zstd"),
    ("v3", "blosc-lz4", None, None, "blosc"),
    ("v3", "gzip", "3x3x3", None, "gzip"),
    ("v3", "none", None, None, None),
    ("v3", "zstd", "2x3x7", "6x9x7", "zstd"),
]


@pytest.mark.parametrize("fmt,compressor,chunks,shards,seen", RUNTIME_WRITES)
@pytest.mark.parametrize("dtype", ["f4", "f8", "i4", "u2", "bool"])
def test_zarr_python_reads_what_the_runtime_writes(zarr_tool, tmp_path, fmt, compressor, chunks, shards, seen, dtype):
    data = sample(SHAPE, dtype)
    source = tmp_path / "source.zarr"
    zarr.create_array(source, shape=SHAPE, chunks=CHUNKS, dtype=dtype, zarr_format=3,
                      dimension_names=["time", "lat", "lon"], attributes={"units": "K", "scale": 2})[:] = data
    out = tmp_path / "out.zarr"
    args = [str(zarr_tool), "copy", str(source), str(out), fmt, compressor] + [a for a in (chunks, shards) if a]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    array = zarr.open_array(out, mode="r")
    assert array.metadata.zarr_format == int(fmt[1])
    assert array.dtype == np.dtype(dtype)
    read = array[:]
    if dtype == "bool":
        np.testing.assert_array_equal(read, data)
    else:
        assert_same(read.astype("f8"), data)
    assert array.attrs["units"] == "K" and array.attrs["scale"] == 2
    expected_chunks = tuple(int(n) for n in chunks.split("x")) if chunks else CHUNKS
    assert array.chunks == expected_chunks
    if shards:
        assert array.shards == tuple(int(n) for n in shards.split("x"))
    compressors = array.compressors
    if seen is None:
        assert compressors == ()
    else:
        assert len(compressors) == 1 and seen in type(compressors[0]).__name__.lower()
    if fmt == "v3":
        assert array.metadata.dimension_names == ("time", "lat", "lon")
    else:
        assert array.attrs["_ARRAY_DIMENSIONS"] == ["time", "lat", "lon"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_datasets_are_read_and_runtime_arrays_join_them(zarr_tool, tmp_path, zarr_format):
    """xarray writes a dataset (CF attributes, NaN over land); the runtime reads a variable,
    then writes a new variable into the same store, which xarray opens alongside."""
    sst = sample((24, 6, 8), "f4")
    ds = xr.Dataset(
        {"sst": (("time", "lat", "lon"), sst, {"units": "degC", "long_name": "sea surface temperature"})},
        coords={"lat": np.linspace(-50, 50, 6), "lon": np.linspace(0, 315, 8)},
    )
    store = tmp_path / "ocean.zarr"
    # Chunked through the encoding, not dask: these tests need no dask.
    ds.to_zarr(store, zarr_format=zarr_format, consolidated=False, encoding={"sst": {"chunks": (12, 6, 8)}})

    report = dump(zarr_tool, store / "sst")
    assert report["dimension_names"] == ["time", "lat", "lon"]
    assert report["attributes"]["units"] == "degC"
    assert report["chunks"][0] == [12, 12]
    assert_same(values_of(report), sst)

    fmt = f"v{zarr_format}"
    done = subprocess.run([str(zarr_tool), "copy", str(store / "sst"), str(store / "sst_copy"), fmt, "zstd"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    back = xr.open_zarr(store, zarr_format=zarr_format, consolidated=False, chunks=None)
    assert back["sst_copy"].dims == ("time", "lat", "lon")
    assert back["sst_copy"].attrs["units"] == "degC"
    np.testing.assert_array_equal(back["sst_copy"].values, back["sst"].values)


def test_a_corrupt_chunk_from_zarr_python_is_named_in_the_error(zarr_tool, tmp_path):
    path = tmp_path / "a.zarr"
    zarr.create_array(path, shape=(10, 10), chunks=(5, 5), dtype="f8", zarr_format=2)[:] = np.ones((10, 10))
    (path / "1.0").write_bytes(b"\x02\x01garbage")
    done = subprocess.run([str(zarr_tool), "dump", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "chunk [1, 0]" in done.stderr and str(path) in done.stderr, done.stderr
    # The chunks around it still read.
    assert_same(values_of(dump(zarr_tool, path, "0:5,:")), np.ones((5, 10)))


def test_a_notebook_cell_reads_and_writes_zarr_without_a_dep_line(kernel, tmp_path):
    """In the kernel, as a workshop cell would: open a store zarr-python wrote, reduce it,
    write the result, which zarr-python then reads."""
    data = sample((24, 5, 6), "f4")
    source = tmp_path / "sst.zarr"
    zarr.create_array(source, shape=data.shape, chunks=(12, 5, 6), dtype="f4", zarr_format=2)[:] = data
    out = tmp_path / "clim.zarr"
    run = kernel.run_ok(
        f'let sst: ChunkedArray<f32> = from_zarr({json.dumps(str(source))})?;\n'
        f'let clim = sst.nanmean(&[0]);\n'
        f'clim.to_zarr({json.dumps(str(out))})?;\n'
        f'println!("{{:?}} {{}}", sst.shape(), sst.npartitions());'
    )
    assert run.stream().strip() == "[24, 5, 6] 2"
    np.testing.assert_allclose(zarr.open_array(out, mode="r")[:], np.nanmean(data, axis=0), rtol=1e-6)
    # A bad path is an error in the cell, naming the path; the kernel keeps serving.
    bad = kernel.run(f'from_zarr::<f64>({json.dumps(str(tmp_path / "nope.zarr"))})?')
    assert bad.status == "error" and "nope.zarr" in bad.error_text
    assert kernel.run_ok("1 + 1").result["text/plain"] == "2"


def _staging(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.strata-partial-*"))


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_write_killed_or_interrupted_midway_leaves_the_old_array_whole(zarr_tool, tmp_path, how):
    """The writer dies (SIGKILL) or is interrupted (SIGINT, the notebook's stop button) while
    chunks are being written over an existing array: zarr-python still reads the old array,
    value for value, and the next write to the path cleans up what the dead writer left."""
    import signal
    import time

    source = tmp_path / "big.zarr"
    big = np.arange(3000 * 3000, dtype="f8").reshape(3000, 3000)
    zarr.create_array(source, shape=big.shape, chunks=(250, 250), dtype="f8", zarr_format=3, compressors=None)[:] = big
    out = tmp_path / "out.zarr"
    old = np.full((3000, 3000), 7.0)
    zarr.create_array(out, shape=old.shape, chunks=(1000, 1000), dtype="f8", zarr_format=3)[:] = old

    # 144 chunks that each wait 20 ms, two at a time: at least 1.4 s on any machine, so the
    # signal always lands while chunks are being written.
    writer = subprocess.Popen([str(zarr_tool), "copy", str(source), str(out), "v3", "gzip", "--overwrite",
                               "--threads=2", "--chunk-delay-ms=20"],
                              stderr=subprocess.PIPE, text=True)
    target = out
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.is_dir() and any(p.rglob("c/*/*")) for p in _staging(target)):
        time.sleep(0.01)
    assert writer.poll() is None, "the write finished before it could be interrupted"
    writer.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGINT)
    _, err = writer.communicate(timeout=60)
    assert writer.returncode != 0
    if how == "SIGINT":
        assert "interrupted" in err, err
        assert _staging(target) == [], "an interrupted write left its staging directory"
    else:
        assert _staging(target), "the killed writer's staging directory should remain until the next write"
    np.testing.assert_array_equal(zarr.open_array(out, mode="r")[:], old)
    assert not list(tmp_path.glob(".out.zarr.strata-old-*")), "the old array was moved aside and not restored"

    # The next write to the same path succeeds and removes the dead writer's leftovers.
    done = subprocess.run([str(zarr_tool), "copy", str(source), str(target), "v3", "zstd", "--overwrite"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _staging(target) == []
    np.testing.assert_array_equal(zarr.open_array(target, mode="r")[:], big)
