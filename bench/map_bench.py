"""The map benchmark: one 0.5-degree global map (720 x 360) with filled contours on
non-uniform levels, a diverging norm centred on 60, coastlines, a colorbar and the Robinson
projection, drawn to PNG by cartopy + matplotlib and by Strata, side by side in one run.

Both draw the same field from the same formula, and the same Natural Earth 110 m land the
project vendors (cartopy would otherwise download its own, and this machine has no
internet). Needs bench/requirements.txt (cartopy, matplotlib).

    .venv/bin/python bench/map_bench.py [--repeat 3] [--out DIR]
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LEVELS = [0, 20, 40, 60, 80, 120, 160, 200, 250, 300, 350]


def field(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat)[:, None], np.radians(lon)[None, :]
    return 180.0 + 150.0 * np.sin(2 * phi) * np.cos(lam) + 20.0 * np.cos(3 * lam)


def land_polygons():
    """The vendored TopoJSON land, decoded into shapely polygons."""
    from shapely import make_valid
    from shapely.affinity import translate
    from shapely.geometry import Polygon, box

    topo = json.loads((ROOT / "api/data/natural_earth/land-110m.json").read_text())
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        pts = np.cumsum(np.array(arc, dtype=float), axis=0)
        arcs.append(np.column_stack([pts[:, 0] * sx + tx, pts[:, 1] * sy + ty]))

    def ring(indices):
        out = []
        for i in indices:
            a = arcs[~i][::-1] if i < 0 else arcs[i]
            out.extend(a[1:] if out else a)
        return out

    def unwrapped(points):
        """The ring without its +-180 jumps (Russia, Fiji), unless it circles the pole."""
        out, shift = [], 0.0
        for k, (x, y) in enumerate(points):
            if k and x - points[k - 1][0] > 180:
                shift -= 360
            elif k and x - points[k - 1][0] < -180:
                shift += 360
            out.append((x + shift, y))
        return out if shift == 0 else points

    polys = []
    for g in topo["objects"]["land"]["geometries"]:
        parts = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
        for p in parts:
            rings = [unwrapped(ring(r)) for r in p]
            if len(rings[0]) < 4:
                continue
            poly = make_valid(Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
            # A shape reaching past 180 is cut there, its far part moved back by 360 degrees.
            for lo, dx in ((-540, 360), (-180, 0), (180, -360)):
                part = poly.intersection(box(lo, -90, lo + 360, 90))
                if not part.is_empty:
                    part = translate(part, xoff=dx)
                    polys.extend(g for g in getattr(part, "geoms", [part]) if g.geom_type == "Polygon")
    return polys


def cartopy_map(lat, lon, values, polys) -> bytes:
    import cartopy.crs as ccrs
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    fig = plt.figure(figsize=(8.6, 4.6), dpi=100)
    ax = plt.axes(projection=ccrs.Robinson(central_longitude=-160))
    ax.set_global()
    cf = ax.contourf(lon, lat, values, levels=LEVELS, transform=ccrs.PlateCarree(), cmap="RdBu", norm=TwoSlopeNorm(60, 0, 350))
    ax.add_geometries(polys, ccrs.PlateCarree(), facecolor="none", edgecolor="black", linewidth=0.6)
    fig.colorbar(cf, ax=ax, label="mmol m-3", shrink=0.8)
    ax.set_title("Dissolved oxygen [mmol m-3]")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="keep both images in this directory")
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "strata-display", "--example", "map_bench"], cwd=ROOT, check=True)
    strata_cmd = [str(ROOT / "target/release/examples/map_bench"), "--repeat", str(args.repeat)]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        strata_cmd += ["--out", str(args.out / "strata.png")]
    strata = json.loads(subprocess.run(strata_cmd, check=True, capture_output=True, text=True).stdout)

    lat = -89.75 + 0.5 * np.arange(360)
    lon = 0.25 + 0.5 * np.arange(720)
    values = field(lat, lon)
    polys = land_polygons()
    best = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        png = cartopy_map(lat, lon, values, polys)
        best = min(best, time.perf_counter() - started)
    if args.out:
        (args.out / "cartopy.png").write_bytes(png)

    print(f"{'map (720x360, contourf, coastlines, Robinson)':48s} {'cartopy':>10s} {'Strata':>10s} {'ratio':>8s}")
    print(f"{'render to PNG, best of ' + str(args.repeat):48s} {best:9.3f}s {strata['seconds']:9.3f}s {best / strata['seconds']:7.1f}x")


if __name__ == "__main__":
    main()
