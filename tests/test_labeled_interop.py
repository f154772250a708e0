"""Labeled data against xarray: xarray (and the netCDF4 package) write datasets, the Strata
runtime opens them and runs the workshop's operations, and every answer is compared with
xarray's own on the same files; then the runtime writes datasets that xarray opens with the
same values, coordinates, attributes and times.

The runtime is driven through runtime/examples/labeled_tool.rs, which prints results as JSON.
"""
from __future__ import annotations

import json
import warnings
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from conftest import cargo_example

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tool() -> Path:
    return cargo_example("labeled_tool")


def run(tool: Path, *args: str) -> dict:
    done = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fails(tool: Path, *args: str) -> str:
    done = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout
    return done.stderr


def array(report: dict) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in report["data"]], dtype="f8").reshape(report["shape"])


def assert_same(report: dict, expected: xr.DataArray, rtol: float = 1e-5) -> None:
    """Same dims, same values (NaN where xarray has NaN) and same index labels."""
    assert report["dims"] == list(expected.dims)
    np.testing.assert_allclose(array(report), expected.values.astype("f8"), rtol=rtol, atol=1e-6, equal_nan=True)
    for name, labels in report["coords"].items():
        if name not in expected.indexes:
            continue
        index = expected.indexes[name]
        if isinstance(index, pd.DatetimeIndex):
            assert labels == [t.strftime("%Y-%m-%d") for t in index], name
        elif index.dtype.kind in "OU":
            assert labels == [str(v) for v in index], name
        else:
            np.testing.assert_allclose(np.array(labels, dtype="f8"), index.values.astype("f8"), err_msg=name)


def sst_dataset(years: int = 8) -> xr.Dataset:
    """A small monthly SST cube like the workshop's: seasonal cycle, an ENSO-like signal in
    the Nino3.4 box, noise, land (NaN) and a descending latitude axis."""
    rng = np.random.default_rng(7)
    time = pd.date_range("1982-01-01", periods=12 * years, freq="MS")
    lat = np.arange(20.0, -20.1, -2.0)
    lon = np.arange(150.0, 260.1, 2.5)
    month = time.month.values[:, None, None]
    seasonal = 2.0 * np.cos(2 * np.pi * (month - 3) / 12) * (lat[None, :, None] / 20.0)
    enso = 1.5 * np.sin(2 * np.pi * np.arange(time.size) / 43.0)[:, None, None] * np.exp(-((lat[None, :, None]) / 8.0) ** 2)
    sst = 26.0 + seasonal + enso + 0.3 * rng.standard_normal((time.size, lat.size, lon.size))
    sst[:, 2:5, 3:9] = np.nan  # an island
    da = xr.DataArray(sst.astype("f4"), dims=("time", "lat", "lon"), coords={"time": time, "lat": lat, "lon": lon}, name="sst")
    da.attrs = {"units": "degC", "long_name": "sea surface temperature"}
    ds = da.to_dataset()
    ds.lat.attrs = {"units": "degrees_north"}
    ds.attrs = {"title": "interop test SST"}
    return ds


@pytest.fixture(scope="module")
def sst_stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("labeled")
    ds = sst_dataset()
    stores = {}
    encoding = {"sst": {"chunks": (12, 21, 45)}}
    stores["v2"] = root / "sst_v2.zarr"
    ds.to_zarr(stores["v2"], zarr_format=2, encoding=encoding, consolidated=True)
    stores["v3"] = root / "sst_v3.zarr"
    ds.to_zarr(stores["v3"], zarr_format=3, encoding=encoding, consolidated=False)
    stores["nc4"] = root / "sst.nc"
    ds.to_netcdf(stores["nc4"], format="NETCDF4", engine="netcdf4")
    return stores


@pytest.fixture(scope="module", params=["v2", "v3", "nc4"])
def workshop(request, tool, sst_stores):
    store = sst_stores[request.param]
    return run(tool, "workshop", store, "sst"), xr.open_dataset(store, engine="netcdf4" if request.param == "nc4" else "zarr").sst.astype("f8")


def test_climatology_and_anomalies_match_xarray(workshop):
    got, sst = workshop
    gb = sst.groupby("time.month")
    clim = gb.mean("time")
    assert_same(got["clim"], clim)
    assert_same(got["anom_first_year"], (gb - clim).isel(time=slice(0, 12)))


def test_the_nino34_index_matches_xarray(workshop):
    got, sst = workshop
    gb = sst.groupby("time.month")
    anom = gb - gb.mean("time")
    nino = anom.sel(lat=slice(5, -5), lon=slice(190, 240)).mean(["lat", "lon"])
    assert_same(got["nino34"], nino)
    assert_same(got["nino34_rolling"], nino.rolling(time=3).mean())


def test_season_and_year_groups_match_xarray(workshop):
    got, sst = workshop
    assert_same(got["season"], sst.groupby("time.season").mean("time"))
    assert_same(got["yearly_max"], sst.groupby("time.year").max(["time", "lat", "lon"]))


def test_resample_matches_xarray(workshop):
    got, sst = workshop
    assert_same(got["resample_qs_dec"], sst.resample(time="QS-DEC").mean("time"))
    assert_same(got["resample_ys"], sst.mean(["lat", "lon"]).resample(time="YS").mean("time"))


def test_rolling_matches_xarray(workshop):
    got, sst = workshop
    assert_same(got["rolling_center"], sst.mean(["lat", "lon"]).rolling(time=5, center=True, min_periods=2).std())
    assert_same(got["rolling_max"], sst.isel(lat=3).rolling(time=4).max())


def test_coarsen_matches_xarray(workshop):
    got, sst = workshop
    six = sst.isel(time=slice(0, 6))
    assert_same(got["coarsen_trim"], six.coarsen(lat=2, lon=3, boundary="trim").mean())
    assert_same(got["coarsen_pad"], six.coarsen(lat=4, boundary="pad").max())


def test_weighted_mean_and_interp_match_xarray(workshop):
    got, sst = workshop
    weights = np.cos(np.deg2rad(sst.lat))
    assert_same(got["weighted"], sst.weighted(weights).mean(["lat", "lon"]))
    assert_same(got["interp"], sst.isel(time=5).interp(lat=[-7.5, 0.25, 3.0, 19.0]))


def test_selections_match_xarray(workshop):
    got, sst = workshop
    assert_same(got["sel_month"], sst.sel(time="1983-07"))
    assert_same(got["sel_nearest"], sst.sel(lat=2.9, method="nearest").sel(lon=201.0, method="nearest", tolerance=3.0))
    first = sst.isel(time=0)
    assert_same(got["where_warm"], first.where(first > 27.0))
    assert array(got["isnull_count"]).item() == int(first.isnull().sum())


def test_weighted_sum_and_rolling_sum_and_min_match_xarray(workshop):
    got, sst = workshop
    weights = np.cos(np.deg2rad(sst.lat))
    assert_same(got["weighted_sum"], sst.weighted(weights).sum(["lat", "lon"]))
    row = sst.isel(lat=3)  # crosses the island: whole columns of NaN
    assert_same(got["rolling_sum"], row.rolling(time=4).sum())
    assert_same(got["rolling_min"], row.rolling(time=3, center=True, min_periods=1).min())


def test_a_year_string_selects_the_whole_year_as_xarray(workshop):
    got, sst = workshop
    assert_same(got["sel_year"], sst.sel(time="1983"))
    assert len(got["sel_year"]["coords"]["time"]) == 12


def test_groupby_map_matches_xarray(workshop):
    got, sst = workshop
    series = sst.mean(["lat", "lon"])
    gb = series.groupby("time.month")
    assert_same(got["map_standardized"], gb.map(lambda g: (g - g.mean("time")) / g.std("time")))
    assert_same(got["map_reduced"], gb.map(lambda g: g.max("time")))


def test_arithmetic_on_partly_overlapping_labels_is_xarrays_inner_join(workshop):
    got, sst = workshop
    first, second = sst.isel(time=0), sst.isel(time=1)
    expected = first.isel(lon=slice(0, 30)) - second.isel(lon=slice(10, 45, 2), lat=slice(3, 21))
    assert expected.sizes == {"lat": 18, "lon": 10}  # a real intersection on both dims
    assert_same(got["align_inner"], expected)


def test_concat_along_time_and_rename_match_xarray(workshop):
    got, sst = workshop
    series = sst.mean(["lat", "lon"])
    assert_same(got["concat_time"], xr.concat([series.sel(time="1985"), series.sel(time="1983")], "time"))
    assert_same(got["rename"], sst.isel(time=0).rename(lat="latitude"))
    assert "latitude" in got["rename"]["coords"] and "lat" not in got["rename"]["coords"]


def daily_dataset() -> xr.Dataset:
    """Daily observations at five sites over three years (1996 is a leap year), with two
    non-index coordinates along the sites: a basin number shared by several, and a code."""
    rng = np.random.default_rng(11)
    time = pd.date_range("1996-01-01", "1998-12-31", freq="D")
    doy = time.day_of_year.values[:, None]
    obs = 10 + 5 * np.sin(2 * np.pi * doy / 365.25) + rng.normal(0, 1, (time.size, 5))
    obs[40:43, 1] = np.nan
    da = xr.DataArray(
        obs,
        dims=("time", "site"),
        coords={"time": time, "site": [10.0, 20.0, 30.0, 40.0, 50.0], "basin": ("site", np.array([2, 1, 2, 3, 1])), "code": ("site", [105.0, 101.0, 103.0, 102.0, 104.0])},
        name="obs",
    )
    return da.to_dataset()


@pytest.fixture(scope="module", params=["v2", "nc4"])
def daily(request, tool, tmp_path_factory):
    root = tmp_path_factory.mktemp("daily")
    ds = daily_dataset()
    if request.param == "v2":
        store = root / "daily.zarr"
        ds.to_zarr(store, zarr_format=2)
        back = xr.open_zarr(store)
    else:
        store = root / "daily.nc"
        ds.to_netcdf(store, engine="netcdf4")
        back = xr.open_dataset(store, engine="netcdf4")
    return run(tool, "daily", store, "obs"), back.obs.load()


def test_resample_by_days_and_month_starts_matches_xarray(daily):
    got, obs = daily
    assert_same(got["resample_5d"], obs.resample(time="5D").mean("time"))
    assert_same(got["resample_ms"], obs.resample(time="MS").max("time"))


def test_groupby_dayofyear_and_a_plain_coordinate_match_xarray(daily):
    got, obs = daily
    assert_same(got["dayofyear"], obs.groupby("time.dayofyear").mean("time"))
    assert len(got["dayofyear"]["coords"]["dayofyear"]) == 366
    assert_same(got["by_basin"], obs.groupby("basin").mean("site"))
    assert_same(got["by_site"], obs.groupby("site").sum(["time", "site"]))


def test_daily_selection_swap_dims_rename_and_concat_match_xarray(daily):
    got, obs = daily
    assert_same(got["sel_year"], obs.sel(time="1997").mean("site"))
    head = obs.isel(time=slice(0, 3))
    assert_same(got["swap_dims"], head.swap_dims(site="code"))
    assert got["swap_dims"]["coords"]["code"] == [105.0, 101.0, 103.0, 102.0, 104.0]
    assert_same(got["rename"], head.rename(site="station"))
    assert set(got["rename"]["coords"]) == {"time", "station"}
    assert_same(got["concat_time"], xr.concat([obs.sel(time="1998-02"), obs.sel(time="1996-02")], "time"))


def test_missing_value_from_netcdf4_is_decoded_as_xarray(tool, tmp_path):
    import netCDF4

    path = tmp_path / "missing_value.nc"
    raw = np.array([[1, -99, 3], [4, 5, -99]], dtype="i2")
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("y", 2)
        nc.createDimension("x", 3)
        v = nc.createVariable("count", "i2", ("y", "x"))
        v.set_auto_maskandscale(False)
        v.missing_value = np.int16(-99)
        v.units = "1"
        v[:] = raw
        w = nc.createVariable("temp", "f4", ("y", "x"))
        w.set_auto_maskandscale(False)
        w.missing_value = np.float32(1e20)
        w[:] = np.where(raw == -99, 1e20, raw * 1.5).astype("f4")
    expected = xr.open_dataset(path)
    assert int(expected["count"].isnull().sum()) == 2  # the oracle masks them
    got = run(tool, "describe", path)
    for name in ("count", "temp"):
        np.testing.assert_allclose(array(got["vars"][name]["values"]), expected[name].values, rtol=1e-6, equal_nan=True)
        assert "missing_value" not in got["vars"][name]["attrs"]
    assert got["vars"]["count"]["attrs"] == {"units": "1"}


def test_huge_unmasked_times_are_an_error_naming_the_variable(tool, tmp_path):
    store = tmp_path / "huge_time.zarr"
    xr.Dataset(coords={"obs_time": ("obs_time", [0.0, 1e300], {"units": "days since 2000-01-01"})}).to_zarr(store, zarr_format=2)
    with pytest.raises(ValueError, match="unable to decode time"):
        xr.open_zarr(store)  # the oracle refuses it too
    message = fails(tool, "describe", store)
    assert "obs_time" in message and "out of the range" in message and "panicked" not in message


@pytest.mark.parametrize("unit", ["milliseconds", "microseconds"])
def test_sub_second_time_units_decode_as_xarray(tool, tmp_path, unit):
    time = pd.date_range("2000-01-01", periods=5, freq="90min")
    ds = xr.Dataset({"v": ("time", np.arange(5.0))}, coords={"time": time})
    store = tmp_path / f"{unit}.zarr"
    ds.to_zarr(store, zarr_format=2, encoding={"time": {"units": f"{unit} since 1999-12-31", "dtype": "i8"}})
    assert xr.open_zarr(store, decode_times=False).time.attrs["units"].startswith(unit)
    described = run(tool, "describe", store)
    expected = xr.open_zarr(store).time.values
    assert described["coords"]["time"]["values"] == [pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%S").replace("T00:00:00", "") for t in expected]
    # Written back by Strata, xarray decodes the same instants.
    copy = tmp_path / f"{unit}_copy.zarr"
    run(tool, "copy", store, copy, "v2")
    np.testing.assert_array_equal(xr.open_zarr(copy).time.values, expected)


@pytest.mark.parametrize("fmt", [2, 3])
def test_text_in_zarr_stores_opens_as_xarray_opens_it(tool, tmp_path, fmt):
    """Strings xarray writes to Zarr (fixed-width unicode, and object strings through
    vlen-utf8), as data variables and as a coordinate: read as labels, not fatal to the
    store, with their values as xarray reads them."""
    ds = xr.Dataset(
        {"v": ("x", np.arange(3.0)), "name": ("x", np.array(["ab", "c", "déf"])), "obj": ("x", np.array(["p", "qq", "r"], dtype=object))},
        coords={"x": [1, 2, 3], "code": ("x", np.array(["A", "B", "C"]))},
    )
    store = tmp_path / "text.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(store, zarr_format=fmt)
    expected = xr.open_zarr(store)
    got = run(tool, "describe", store)
    for name in ("name", "obj"):
        assert got["vars"][name]["labels"] == [str(x) for x in expected[name].values]
    assert got["coords"]["code"]["values"] == [str(x) for x in expected.code.values]
    np.testing.assert_array_equal(array(got["vars"]["v"]["values"]), expected.v.values)


def test_valid_range_is_kept_as_xarray_keeps_it_or_applied_as_netcdf4_python_does(tool, tmp_path):
    """`valid_range`, `valid_min` and `valid_max`: open_dataset keeps the values outside them,
    as xarray does; Dataset::mask_valid_range masks them as netCDF4-python does, the bounds
    being stored (packed) numbers."""
    import netCDF4

    path = tmp_path / "ranges.nc"
    raw = np.array([-5, 0, 100, 250, 300, 32767], dtype="i2")
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("x", raw.size)
        packed = nc.createVariable("packed", "i2", ("x",), fill_value=np.int16(32767))
        packed.scale_factor, packed.add_offset = np.float32(-0.5), np.float32(10.0)
        packed.valid_range = np.array([0, 250], dtype="i2")
        packed.set_auto_maskandscale(False)
        packed[:] = raw
        low = nc.createVariable("low", "f4", ("x",))
        low.valid_min = np.float32(1.0)
        low[:] = raw.astype("f4")
    kept = run(tool, "describe", path)
    expected_kept = xr.open_dataset(path)
    for name in ("packed", "low"):
        np.testing.assert_allclose(array(kept["vars"][name]["values"]), expected_kept[name].values, rtol=1e-6)
    masked = run(tool, "describe", path, "--mask-valid-range")
    with netCDF4.Dataset(path) as nc:
        for name in ("packed", "low"):
            expected = np.ma.filled(nc[name][:].astype("f8"), np.nan)
            np.testing.assert_allclose(array(masked["vars"][name]["values"]), expected, rtol=1e-6)
    assert np.isnan(array(masked["vars"]["packed"]["values"])).sum() == 3


@pytest.mark.parametrize("fmt", ["nc", "v2"])
def test_missing_times_read_and_write_back_as_nat(tool, tmp_path, fmt):
    """xarray writes a missing time in integer units as int64's minimum (NaT's bit pattern)
    with no fill value: Strata reads it as NaT, in a coordinate and in a data variable, and
    writes it back so that xarray reads NaT again."""
    when = pd.to_datetime(["2000-01-01", "NaT", "2000-01-03"])
    ds = xr.Dataset({"v": ("x", np.arange(3.0)), "when": ("x", when)}, coords={"x": [1, 2, 3], "obs": ("x", when[::-1])})
    path = tmp_path / ("nat.nc" if fmt == "nc" else "nat.zarr")
    ds.to_netcdf(path) if fmt == "nc" else ds.to_zarr(path, zarr_format=2)
    described = run(tool, "describe", path)
    assert described["vars"]["when"]["labels"] == ["2000-01-01", "NaT", "2000-01-03"]
    assert described["coords"]["obs"]["values"] == ["2000-01-03", "NaT", "2000-01-01"]
    back = tmp_path / ("back.nc" if fmt == "nc" else "back.zarr")
    run(tool, "copy", path, back, fmt)
    again = xr.open_dataset(back) if fmt == "nc" else xr.open_zarr(back)
    np.testing.assert_array_equal(again.when.values, ds.when.values)
    np.testing.assert_array_equal(again.obs.values, ds.obs.values)


@pytest.mark.parametrize("fmt", ["nc", "v2"])
def test_fractions_of_a_second_are_kept_as_xarray_keeps_them(tool, tmp_path, fmt):
    """Times a quarter of a second apart after a reference date with a fraction of its own (a
    radar's or a sonde's): Strata reads the same instants as xarray, to the microsecond,
    and writes them back so that xarray reads them again unchanged."""
    import netCDF4

    path = tmp_path / "radar.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", 6)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "seconds since 2013-04-19T13:49:18.5Z"
        t[:] = [0.0, 0.25, 0.5, 0.75, 1.375433, 3600.000001]
        nc.createVariable("dbz", "f4", ("time",))[:] = np.arange(6.0)
    if fmt == "v2":
        store = tmp_path / "radar.zarr"
        xr.open_dataset(path).to_zarr(store, zarr_format=2)
        path = store
    expected = (xr.open_zarr(path) if fmt == "v2" else xr.open_dataset(path)).time.values
    described = run(tool, "describe", path)
    assert described["coords"]["time"]["values"] == [str(t.astype("datetime64[us]")).removesuffix(".000000") for t in expected]
    back = tmp_path / ("back.nc" if fmt == "nc" else "back.zarr")
    run(tool, "copy", path, back, fmt)
    again = (xr.open_dataset(back) if fmt == "nc" else xr.open_zarr(back)).time.values
    np.testing.assert_array_equal(again.astype("datetime64[us]"), expected.astype("datetime64[us]"))


@pytest.mark.parametrize("fmt", ["v2", "v3"])
def test_integers_with_fill_value_round_trip_with_their_dtype(tool, tmp_path, fmt):
    """xarray writes int16 with a _FillValue (no scale_factor); Strata reads it (NaN where
    the fill is) and writes it back; xarray then finds the same int16 numbers and fill."""
    raw = np.array([[1, 2, -999], [4, -999, 6]], dtype="i2")
    ds = xr.Dataset({"q": (("y", "x"), raw, {"units": "1"})}, coords={"x": [0.0, 1.0, 2.0]})
    store = tmp_path / f"int16_{fmt}.zarr"
    ds.to_zarr(store, zarr_format=int(fmt[1]), encoding={"q": {"_FillValue": -999, "dtype": "i2"}})
    original = xr.open_zarr(store).load()
    assert int(original.q.isnull().sum()) == 2
    got = run(tool, "describe", store)
    np.testing.assert_array_equal(array(got["vars"]["q"]["values"]), original.q.values)
    copy = tmp_path / f"int16_{fmt}_copy.zarr"
    run(tool, "copy", store, copy, fmt)
    back = xr.open_zarr(copy, zarr_format=int(fmt[1])).load()
    xr.testing.assert_identical(back, original)
    assert back.q.encoding["dtype"] == np.dtype("i2")
    assert back.q.encoding["_FillValue"] == -999
    undecoded = xr.open_zarr(copy, zarr_format=int(fmt[1]), mask_and_scale=False).q
    assert undecoded.dtype == np.int16
    np.testing.assert_array_equal(undecoded.values, raw)


@pytest.mark.parametrize("fmt", ["v2", "v3"])
def test_strata_writes_stores_xarray_opens_identically(tool, sst_stores, tmp_path, fmt):
    copy = tmp_path / f"copy_{fmt}.zarr"
    run(tool, "copy", sst_stores["v2"], copy, fmt)
    original = xr.open_zarr(sst_stores["v2"]).load()
    back = xr.open_zarr(copy, zarr_format=int(fmt[1])).load()
    xr.testing.assert_identical(back, original)
    assert back.sst.dtype == np.float32
    assert back.time.dtype.kind == "M"


@pytest.mark.parametrize("calendar", ["noleap", "360_day", "standard", "proleptic_gregorian", "julian"])
def test_cf_time_in_model_calendars_round_trips(tool, tmp_path, calendar):
    units = "hours since 1990-01-01 06:00:00"
    hours = np.arange(0, 24 * 800, 24 * 35, dtype="f8")
    raw = xr.Dataset(
        {"t2m": (("time",), np.linspace(270, 290, hours.size))},
        coords={"time": ("time", hours, {"units": units, "calendar": calendar})},
    )
    store = tmp_path / "cal.zarr"
    raw.to_zarr(store, zarr_format=2)
    decoded = xr.open_zarr(store, use_cftime=True)
    expected = [t.strftime("%Y-%m-%d") + ("" if (t.hour, t.minute) == (0, 0) else t.strftime("T%H:%M:%S")) for t in decoded.time.values]
    described = run(tool, "describe", store)
    assert described["coords"]["time"]["values"] == expected
    assert described["coords"]["time"]["kind"] == "datetime"
    # Written back by Strata, xarray decodes the same instants in the same calendar.
    copy = tmp_path / "cal_copy.zarr"
    run(tool, "copy", store, copy, "v2")
    again = xr.open_zarr(copy, use_cftime=True)
    assert [str(t) for t in again.time.values] == [str(t) for t in decoded.time.values]
    assert again.time.encoding["calendar"] == decoded.time.encoding["calendar"]


@pytest.mark.parametrize(
    "units, calendar, values",
    [
        # Model output counted from year 1 in the mixed calendar: the Julian days before 1582
        # put modern dates two days away from a proleptic count.
        ("hours since 1-1-1 00:00:0.0", "standard", [17514360.0, 17532984.0, 17533008.0]),
        ("days since 1-1-1", "gregorian", [577735.0, 577736.0, 577737.0, 730119.0]),
        ("days since 1582-10-15", "standard", [-2.0, -1.0, 0.0]),
        ("days since 1-1-1", "julian", [0.0, 730119.0]),
        # Reference dates in other time zones, as producers write them.
        ("hours since 1990-1-1 0:0:0 -6:00", "standard", [0.0, 1.0, 30.0]),
        ("hours since 2000-01-01T00:00:00+05:30", "standard", [0.0, 24.0]),
        ("hours since 2000-01-01 00:00:00 UTC", "standard", [0.0, 24.0]),
    ],
)
def test_reference_dates_and_early_calendars_decode_as_xarray(tool, tmp_path, units, calendar, values):
    raw = xr.Dataset(
        {"v": (("time",), np.arange(len(values), dtype="f8"))},
        coords={"time": ("time", np.array(values, dtype="f8"), {"units": units, "calendar": calendar})},
    )
    store = tmp_path / "times.zarr"
    raw.to_zarr(store, zarr_format=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xarray warns when it falls back to cftime
        decoded = xr.open_zarr(store).time.values  # xarray's defaults: datetime64 or cftime
    stamps = [pd.Timestamp(t) if isinstance(t, np.datetime64) else t for t in decoded]
    expected = [t.strftime("%Y-%m-%d") + ("" if (t.hour, t.minute) == (0, 0) else t.strftime("T%H:%M:%S")) for t in stamps]
    described = run(tool, "describe", store)
    assert described["coords"]["time"]["values"] == expected


@pytest.mark.parametrize("fmt", ["NETCDF4", "NETCDF4_CLASSIC", "NETCDF3_64BIT"])
def test_packed_netcdf_from_netcdf4_reads_back_identically(tool, tmp_path, fmt):
    import netCDF4

    path = tmp_path / f"packed_{fmt}.nc"
    rng = np.random.default_rng(3)
    sla = rng.normal(0, 0.1, (5, 6, 7))
    sla[0, 0, :3] = np.nan
    with netCDF4.Dataset(path, "w", format=fmt) as nc:
        nc.title = "packed sea level"
        for name, n in (("time", 5), ("latitude", 6), ("longitude", 7)):
            nc.createDimension(name, n)
        t = nc.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 1950-01-01", "standard"
        t[:] = 25567 + np.arange(5)
        lat = nc.createVariable("latitude", "f4", ("latitude",))
        lat.units = "degrees_north"
        lat[:] = np.linspace(30, 35, 6)
        lon = nc.createVariable("longitude", "f4", ("longitude",))
        lon[:] = np.linspace(-20, -14, 7)
        v = nc.createVariable("sla", "i4", ("time", "latitude", "longitude"), fill_value=-2147483647)
        v.scale_factor, v.add_offset = 0.0001, 0.0
        v.units, v.long_name = "m", "Sea level anomaly"
        v[:] = np.ma.masked_invalid(sla)
    got = run(tool, "describe", path)
    expected = xr.open_dataset(path)
    var = got["vars"]["sla"]
    np.testing.assert_allclose(array(var["values"]), expected.sla.values, rtol=1e-6, equal_nan=True)
    assert var["attrs"] == {"units": "m", "long_name": "Sea level anomaly"}
    assert got["coords"]["time"]["values"] == [t.strftime("%Y-%m-%d") for t in pd.DatetimeIndex(expected.time.values)]
    assert got["attrs"]["title"] == "packed sea level"
    np.testing.assert_allclose(got["coords"]["latitude"]["values"], expected.latitude.values)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF4"])
def test_unsigned_bytes_stored_signed_read_and_write_as_xarray(tool, tmp_path, fmt):
    """netCDF-3 has no unsigned types: producers store unsigned bytes as signed with
    _Unsigned = "true" (and a fill of -1, which is 255). xarray reads them unsigned."""
    import netCDF4

    path = tmp_path / f"unsigned_{fmt}.nc"
    with netCDF4.Dataset(path, "w", format=fmt) as nc:
        nc.createDimension("x", 6)
        v = nc.createVariable("flags", "i1", ("x",), fill_value=-1)
        v.set_auto_maskandscale(False)
        v._Unsigned = "true"
        v.scale_factor = 0.5
        v[:] = np.array([0, 127, -128, -56, -1, 3], dtype="i1")
    expected = xr.open_dataset(path).flags.values
    assert expected[2] == 64.0 and np.isnan(expected[4])  # the oracle reads them unsigned
    got = run(tool, "describe", path)
    np.testing.assert_array_equal(array(got["vars"]["flags"]["values"]), expected)
    # Written back by Strata, xarray finds the same values, stored the same way.
    copy = tmp_path / f"unsigned_{fmt}_copy.nc"
    run(tool, "copy", path, copy, "nc")
    np.testing.assert_array_equal(xr.open_dataset(copy).flags.values, expected)
    raw = xr.open_dataset(copy, mask_and_scale=False).flags
    assert raw.dtype == np.int8 and raw.attrs["_Unsigned"] == "true"
    np.testing.assert_array_equal(raw.values, [0, 127, -128, -56, -1, 3])


def test_string_attributes_and_text_variables_open_as_xarray(tool, tmp_path):
    """NC_STRING attributes (netCDF-4) are strings, as xarray shows them, and CF finds time
    units in them; char and NC_STRING variables are read as xarray reads them (the char axis
    joined into strings), time bounds decode with their coordinate's units, and all of it is
    written back to NetCDF and read back by xarray the same."""
    import netCDF4

    path = tmp_path / "strings.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("station", 3)
        nc.createDimension("nchar", 5)
        nc.createDimension("time", 2)
        nc.setncattr_string("title", "stations")
        nc.setncattr_string("history", ["one", "two"])
        name = nc.createVariable("name", "S1", ("station", "nchar"))
        name[:] = netCDF4.stringtochar(np.array(["abc", "de", "fghij"], dtype="S5"))
        t = nc.createVariable("time", "f8", ("time",))
        t.setncattr_string("units", "days since 2000-01-01")
        t[:] = [0.0, 31.0]
        t.bounds = "time_bnds"
        nc.createDimension("nv", 2)
        bounds = nc.createVariable("time_bnds", "f8", ("time", "nv"))
        bounds[:] = [[-0.5, 15.5], [15.5, 45.5]]
        mode = nc.createVariable("mode", str, ("station",))
        mode[:] = np.array(["ppi", "rhi", "sur veillance"], dtype=object)
        v = nc.createVariable("temp", "f4", ("time", "station"))
        v.setncattr_string("units", "K")
        v[:] = np.arange(6.0).reshape(2, 3)
    expected = xr.open_dataset(path)
    got = run(tool, "describe", path)
    assert got["vars"]["name"]["dims"] == ["station"]
    assert got["vars"]["name"]["labels"] == [b.decode() for b in expected.name.values] == ["abc", "de", "fghij"]
    assert got["vars"]["mode"]["labels"] == list(expected["mode"].values)
    assert got["vars"]["time_bnds"]["dims"] == ["time", "nv"]
    assert got["vars"]["time_bnds"]["labels"] == [str(pd.Timestamp(x)).replace(" ", "T").removesuffix("T00:00:00") for x in expected.time_bnds.values.ravel()]
    back = tmp_path / "back.nc"
    run(tool, "copy", path, back, "nc")
    reread = xr.open_dataset(back)
    assert list(reread.name.values) == ["abc", "de", "fghij"] and list(reread["mode"].values) == list(expected["mode"].values)
    np.testing.assert_array_equal(reread.time_bnds.values, expected.time_bnds.values)
    assert "drop_vars" in fails(tool, "copy", path, tmp_path / "text.zarr", "v3")
    assert got["attrs"]["title"] == expected.attrs["title"] == "stations"
    assert got["attrs"]["history"] == list(expected.attrs["history"]) == ["one", "two"]
    assert got["vars"]["temp"]["attrs"]["units"] == expected.temp.attrs["units"] == "K"
    assert got["coords"]["time"]["values"] == [str(pd.Timestamp(t).date()) for t in expected.time.values]
    np.testing.assert_array_equal(array(got["vars"]["temp"]["values"]), expected.temp.values)


@pytest.mark.parametrize("fmt", ["nc", "v2", "v3"])
def test_integers_without_a_fill_value_stay_integers(tool, tmp_path, fmt):
    """xarray keeps an integer variable with nothing to mask or scale as integers; Strata
    reads the same numbers and writes them back as the same integers."""
    ds = xr.Dataset({"count": (("x",), np.array([3, -7, 12, 0], dtype="i4"))}, coords={"x": [0.0, 1.0, 2.0, 3.0]})
    if fmt == "nc":
        source = tmp_path / "counts.nc"
        ds.to_netcdf(source)
        reopen = xr.open_dataset
    else:
        source = tmp_path / f"counts_{fmt}.zarr"
        ds.to_zarr(source, zarr_format=int(fmt[1]))
        reopen = lambda p: xr.open_zarr(p, zarr_format=int(fmt[1]))  # noqa: E731
    original = reopen(source).load()
    got = run(tool, "describe", source)
    np.testing.assert_array_equal(array(got["vars"]["count"]["values"]), original["count"].values)
    copy = tmp_path / (f"copy.{fmt}" if fmt == "nc" else f"copy_{fmt}.zarr")
    run(tool, "copy", source, copy, fmt)
    back = reopen(copy).load()
    assert back["count"].dtype == original["count"].dtype, (back["count"].dtype, original["count"].dtype)
    np.testing.assert_array_equal(back["count"].values, original["count"].values)


def test_many_daily_files_open_as_one_dataset(tool, tmp_path):
    days = pd.date_range("2020-01-01", periods=9, freq="D")
    rng = np.random.default_rng(5)
    parts = []
    for day in days:
        ds = xr.Dataset(
            {"sla": (("time", "lat", "lon"), rng.normal(0, 0.1, (1, 4, 5)))},
            coords={"time": [day], "lat": np.linspace(30, 33, 4), "lon": np.linspace(0, 4, 5)},
        )
        ds.to_netcdf(tmp_path / f"dt_global_allsat_phy_l4_{day:%Y%m%d}.nc")
        parts.append(ds)
    got = run(tool, "mfdataset", str(tmp_path / "dt_global_allsat_phy_l4_*.nc"), "sla")
    assert_same(got, xr.concat(parts, "time").sla.mean(["lat", "lon"]))


def test_bad_inputs_name_their_cause(tool, sst_stores, tmp_path):
    assert "no variable named \"nope\"" in fails(tool, "workshop", sst_stores["v2"], "nope")
    (tmp_path / "plain").mkdir()
    assert "not a readable Zarr" in fails(tool, "describe", tmp_path / "plain")
    assert "Zarr array, not a group" in fails(tool, "describe", sst_stores["v2"] / "sst")
    (tmp_path / "fake.nc").write_bytes(b"this is not netcdf")
    assert "not a NetCDF file" in fails(tool, "describe", tmp_path / "fake.nc")
    bad_units = tmp_path / "bad_units.zarr"
    xr.Dataset(coords={"time": ("time", [0.0, 1.0], {"units": "fortnights since 2000-01-01"})}).to_zarr(bad_units, zarr_format=2)
    assert "fortnights" in fails(tool, "describe", bad_units)


def test_a_notebook_cell_runs_the_workshop_pipeline_without_a_dep_line(kernel, sst_stores, tmp_path):
    """In the kernel, as the workshop's cells are written: open the store xarray wrote, the
    Nino 3.4 pipeline, and a dataset written back that xarray reads."""
    store = json.dumps(str(sst_stores["v2"]))
    out = tmp_path / "nino.zarr"
    run = kernel.run_ok(
        f"let ds = open_zarr({store})?;\n"
        'let sst = ds.var("sst")?;\n'
        'let gb = sst.groupby("time.month")?;\n'
        'let anom = gb.sub(&gb.mean("time")?)?;\n'
        'let nino34 = anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?.rolling("time", 3).mean()?;\n'
        f'nino34.to_dataset(Some("nino34"))?.to_zarr({json.dumps(str(out))})?;\n'
        'println!("{:?}", nino34.sizes());'
    )
    assert run.stream().strip() == '[("time", 96)]'
    sst = xr.open_zarr(sst_stores["v2"]).sst.astype("f8")
    gb = sst.groupby("time.month")
    expected = (gb - gb.mean("time")).sel(lat=slice(5, -5), lon=slice(190, 240)).mean(["lat", "lon"]).rolling(time=3).mean()
    got = xr.open_zarr(out).nino34
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-6, equal_nan=True)
    assert (got.time.values == expected.time.values).all()
    # Mistakes are errors in the cell that name the cause; the kernel keeps serving.
    bad = kernel.run('ds.var("salinity")?')
    assert bad.status == "error" and "salinity" in bad.error_text
    bad = kernel.run('sst.sel([("time", "2150-01")])?')
    assert bad.status == "error" and "2150-01" in bad.error_text
    assert kernel.run_ok("1 + 1").result["text/plain"] == "2"


def test_the_tutorial_datasets_open_in_a_cell_and_in_xarray(fresh_kernel, tmp_path):
    """The tutorial datasets the notebooks use: generated by `strata tutorial` (as the README's
    main command does), opened by name in a cell, and readable by xarray."""
    env = dict(os.environ, STRATA_DATA=str(tmp_path / "data"))
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    done = subprocess.run([str(target / "release" / "strata"), "tutorial"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    paths = dict(line.split("\t") for line in done.stdout.strip().splitlines())
    assert set(paths) == {"sst", "sla", "oxygen"}
    ds = xr.open_zarr(paths["sst"])
    gb = ds.sst.groupby("time.month")
    nino = (gb - gb.mean("time")).sel(lat=slice(-5, 5), lon=slice(190, 240)).mean(["lat", "lon"])
    assert float(xr.corr(nino, ds.nino34_signal)) > 0.9
    o2 = xr.open_dataset(paths["oxygen"]).o2
    assert o2.attrs["units"] == "mmol m-3" and float(o2.sel(depth=400).min()) < 60
    kernel = fresh_kernel(env=env)
    run = kernel.run_ok(
        'let sla = strata::io::tutorial::open_dataset("sla")?;\n'
        'println!("{:?}", sla.sizes());'
    )
    assert run.stream().strip() == '[("time", 365), ("lat", 80), ("lon", 160)]'
