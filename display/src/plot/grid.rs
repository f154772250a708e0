//! A 2-D field on a latitude-longitude grid, ready to draw: rows by ascending latitude,
//! columns by ascending longitude relative to the map's central longitude, and whether the
//! longitudes go all the way round (a cyclic grid, sampled across its wrap, so a global map
//! has no seam: cartopy's "cyclic point" without the extra column).

use ndarray::Array2;
use strata::labeled::{DataArray, Values};

use super::projection::Projection;
use super::PlotError;

/// One axis of the grid: ascending labels, and whether it wraps round 360 degrees.
#[derive(Debug, Clone)]
pub struct Axis {
    pub values: Vec<f64>,
    pub cyclic: bool,
}

/// Where a label falls: between two grid points `i0` and `i1`, at fraction `t` from `i0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bracket {
    pub i0: usize,
    pub i1: usize,
    pub t: f64,
}

impl Bracket {
    pub fn nearest(&self) -> usize {
        if self.t < 0.5 {
            self.i0
        } else {
            self.i1
        }
    }
}

impl Axis {
    fn half_step_first(&self) -> f64 {
        match self.values.as_slice() {
            [a, b, ..] => 0.5 * (b - a),
            _ => 0.5,
        }
    }

    fn half_step_last(&self) -> f64 {
        match self.values.as_slice() {
            [.., a, b] => 0.5 * (b - a),
            _ => 0.5,
        }
    }

    /// The first and last cell edges.
    pub fn edges(&self) -> (f64, f64) {
        let first = self.values.first().copied().unwrap_or(0.0);
        let last = self.values.last().copied().unwrap_or(0.0);
        (first - self.half_step_first(), last + self.half_step_last())
    }

    /// The grid points around `q`; None outside the grid's cells.
    pub fn locate(&self, q: f64) -> Option<Bracket> {
        let v = &self.values;
        let (first, last) = (*v.first()?, *v.last()?);
        let q = if self.cyclic { first + (q - first).rem_euclid(360.0) } else { q };
        if q < first {
            return (first - q <= self.half_step_first()).then_some(Bracket { i0: 0, i1: 0, t: 0.0 });
        }
        if q > last {
            if self.cyclic {
                let span = first + 360.0 - last;
                return Some(Bracket { i0: v.len() - 1, i1: 0, t: if span > 0.0 { (q - last) / span } else { 0.0 } });
            }
            return (q - last <= self.half_step_last()).then_some(Bracket { i0: v.len() - 1, i1: v.len() - 1, t: 0.0 });
        }
        let i1 = v.partition_point(|&x| x <= q).min(v.len() - 1);
        let i0 = i1.saturating_sub(1);
        if i0 == i1 {
            return Some(Bracket { i0, i1, t: 0.0 });
        }
        Some(Bracket { i0, i1, t: (q - v[i0]) / (v[i1] - v[i0]) })
    }

    /// The label at a fractional grid index (for contour lines computed in index space).
    pub fn at_index(&self, x: f64) -> f64 {
        let n = self.values.len();
        if n == 1 {
            return self.values[0];
        }
        let i = (x.floor().max(0.0) as usize).min(n - 1);
        let t = x - i as f64;
        let next = if i + 1 < n {
            self.values[i + 1]
        } else if self.cyclic {
            self.values[0] + 360.0
        } else {
            return self.values[n - 1] + t * 2.0 * self.half_step_last();
        };
        self.values[i] + t * (next - self.values[i])
    }
}

/// The field: `values[[i, j]]` at latitude `lat.values[i]`, longitude `lon.values[j]`.
#[derive(Debug, Clone)]
pub struct Grid {
    pub lat: Axis,
    pub lon: Axis,
    pub values: Array2<f64>,
}

fn is_lat(name: &str, units: Option<&str>) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("lat") || n == "y" || n == "nav_lat" || units.is_some_and(|u| u.starts_with("degree") && u.ends_with('n'))
}

fn is_lon(name: &str, units: Option<&str>) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("lon") || n == "x" || n == "nav_lon" || units.is_some_and(|u| u.starts_with("degree") && u.ends_with('e'))
}

impl Grid {
    /// The field of a 2-D DataArray whose dims are latitude and longitude (found by name:
    /// lat*, lon*, y, x; or by units degrees_north / degrees_east), in either order, laid out
    /// for `projection`; with none, PlateCarree centred on a regional grid (so its cells stay
    /// together) or on the Greenwich meridian for a global one. The layout is decided from
    /// the coordinates alone, so the data is read once.
    pub fn from_dataarray(da: &DataArray<f64>, projection: Option<Projection>) -> Result<(Grid, Projection), PlotError> {
        let what = || format!("'{}' ({})", da.name().unwrap_or("unnamed"), da.dims().join(", "));
        if da.dims().len() != 2 {
            return Err(PlotError::NotPlottable { what: what(), why: "a map needs exactly two dimensions, latitude and longitude; select or reduce the others first".into() });
        }
        let units = |d: &str| da.index(d).and_then(|c| c.attrs.get("units")).and_then(|u| u.as_str()).map(|u| u.to_ascii_lowercase());
        let (d0, d1) = (&da.dims()[0], &da.dims()[1]);
        let lat_first = match (is_lat(d0, units(d0).as_deref()), is_lon(d1, units(d1).as_deref()), is_lon(d0, units(d0).as_deref()), is_lat(d1, units(d1).as_deref())) {
            (true, _, _, _) | (_, true, _, _) => true,
            (_, _, true, _) | (_, _, _, true) => false,
            _ => true,
        };
        let (lat_dim, lon_dim) = if lat_first { (d0, d1) } else { (d1, d0) };
        let labels = |dim: &str| -> Result<Vec<f64>, PlotError> {
            match da.index(dim).map(|c| &c.values) {
                None => Ok((0..da.sizes().iter().find(|(d, _)| d == dim).map_or(0, |(_, n)| *n)).map(|i| i as f64).collect()),
                Some(v @ (Values::F64(_) | Values::I64(_))) => Ok(v.to_f64().iter().copied().collect()),
                Some(other) => Err(PlotError::NotPlottable { what: what(), why: format!("its '{dim}' coordinate holds {} labels, not degrees", other.kind()) }),
            }
        };
        let lats = labels(lat_dim)?;
        let lons = labels(lon_dim)?;
        if lats.iter().chain(&lons).any(|v| !v.is_finite()) {
            return Err(PlotError::NotPlottable { what: what(), why: "its latitude or longitude labels include NaN".into() });
        }
        // Rows ascending in latitude.
        let mut lat_order: Vec<usize> = (0..lats.len()).collect();
        lat_order.sort_by(|&a, &b| lats[a].total_cmp(&lats[b]));
        let (lon_order, lon, projection) = match projection {
            Some(p) => {
                let (order, axis) = lon_layout(&lons, &p);
                (order, axis, p)
            }
            None => {
                let greenwich = Projection::plate_carree();
                let (order, axis) = lon_layout(&lons, &greenwich);
                if axis.cyclic {
                    (order, axis, greenwich)
                } else {
                    let (lo, hi) = axis.edges();
                    let centred = Projection::PlateCarree { central_longitude: 0.5 * (lo + hi) };
                    let (order, axis) = lon_layout(&lons, &centred);
                    (order, axis, centred)
                }
            }
        };
        let data = da.values()?;
        let data = data.into_dimensionality::<ndarray::Ix2>().map_err(|e| PlotError::NotPlottable { what: what(), why: e.to_string() })?;
        let data = if lat_first { data } else { data.reversed_axes() };
        let values = Array2::from_shape_fn((lats.len(), lons.len()), |(i, j)| data[[lat_order[i], lon_order[j]]]);
        let lat = Axis { values: lat_order.iter().map(|&i| lats[i]).collect(), cyclic: false };
        Ok((Grid { lat, lon, values }, projection))
    }

    /// Finite minimum and maximum (NaN, NaN when there is no finite value).
    pub fn range(&self) -> (f64, f64) {
        self.values.iter().filter(|v| v.is_finite()).fold((f64::NAN, f64::NAN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }

    /// The value of the cell containing (relative lon, lat), as pcolormesh colors it.
    pub fn nearest(&self, lat: Bracket, lon: Bracket) -> f64 {
        self.values[[lat.nearest(), lon.nearest()]]
    }

    /// The bilinear value at (relative lon, lat); where a neighbour is missing, the nearest
    /// value (which may be missing too).
    pub fn bilinear(&self, lat: Bracket, lon: Bracket) -> f64 {
        let v = &self.values;
        let (a, b, c, d) = (v[[lat.i0, lon.i0]], v[[lat.i0, lon.i1]], v[[lat.i1, lon.i0]], v[[lat.i1, lon.i1]]);
        if a.is_finite() && b.is_finite() && c.is_finite() && d.is_finite() {
            let top = a + lon.t * (b - a);
            let bottom = c + lon.t * (d - c);
            top + lat.t * (bottom - top)
        } else {
            self.nearest(lat, lon)
        }
    }
}

/// Column order and axis for longitudes on `projection`: ascending relative to its central
/// longitude, cyclic when no gap is wider than the grid's step, and a regional grid that the
/// map's edge would cut kept whole by starting after its largest gap.
fn lon_layout(lons: &[f64], projection: &Projection) -> (Vec<usize>, Axis) {
    let n = lons.len();
    let rel: Vec<f64> = lons.iter().map(|&l| projection.relative_longitude(l)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| rel[a].total_cmp(&rel[b]));
    let sorted: Vec<f64> = order.iter().map(|&j| rel[j]).collect();
    let step = median_step(&sorted);
    // The largest gap between neighbours, the one across the map's edge included.
    let wrap_gap = sorted.first().copied().unwrap_or(0.0) + 360.0 - sorted.last().copied().unwrap_or(0.0);
    let (k, gap) = sorted.windows(2).enumerate().map(|(k, w)| (k, w[1] - w[0])).fold((usize::MAX, wrap_gap), |best, (k, g)| if g > best.1 { (k, g) } else { best });
    let cyclic = n > 2 && gap <= 1.5 * step;
    if cyclic || k == usize::MAX {
        return (order, Axis { values: sorted, cyclic });
    }
    order.rotate_left(k + 1);
    let mut values: Vec<f64> = order.iter().map(|&j| rel[j]).collect();
    for w in 1..values.len() {
        if values[w] < values[w - 1] {
            values[w] += 360.0;
        }
    }
    (order, Axis { values, cyclic })
}

fn median_step(sorted: &[f64]) -> f64 {
    let mut steps: Vec<f64> = sorted.windows(2).map(|w| w[1] - w[0]).filter(|s| *s > 0.0).collect();
    if steps.is_empty() {
        return 1.0;
    }
    steps.sort_by(f64::total_cmp);
    steps[steps.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::prelude::*;

    fn global(lon0: f64) -> DataArray<f64> {
        let (nlat, nlon) = (18, 36);
        let values = ndarray::Array2::from_shape_fn((nlat, nlon), |(i, j)| i as f64 * 100.0 + j as f64).into_dyn();
        DataArray::new(from_array(values, ChunkSpec::Uniform(64)), &["lat", "lon"])
            .unwrap()
            .with_index("lat", (0..nlat).map(|i| 85.0 - 10.0 * i as f64).collect())
            .unwrap()
            .with_index("lon", (0..nlon).map(|j| lon0 + 10.0 * j as f64).collect())
            .unwrap()
    }

    #[test]
    fn a_global_grid_is_cyclic_and_sorted_around_the_central_longitude() {
        let (g, _) = Grid::from_dataarray(&global(5.0), Some(Projection::robinson(-160.0))).unwrap();
        assert!(g.lon.cyclic);
        assert!(g.lat.values.windows(2).all(|w| w[0] < w[1]), "latitudes ascending");
        assert!(g.lon.values.windows(2).all(|w| w[0] < w[1]) && g.lon.values[0] >= -180.0 && g.lon.values[35] < 180.0);
        // Latitude -85 (the last input row) is now the first row; its lon 5 is column 0 of the input.
        let j = g.lon.values.iter().position(|&l| (l - Projection::robinson(-160.0).relative_longitude(5.0)).abs() < 1e-9).unwrap();
        assert_eq!(g.values[[0, j]], 1700.0);
        // Across the wrap the value is interpolated between the last and first columns.
        let far = g.lon.values[35] + 5.0;
        let b = g.lon.locate(far).unwrap();
        assert_eq!((b.i0, b.i1), (35, 0));
        assert!((b.t - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_regional_grid_is_not_cyclic_and_ends_at_its_cells() {
        let values = ndarray::Array2::<f64>::zeros((5, 6)).into_dyn();
        let da = DataArray::new(from_array(values, ChunkSpec::Uniform(8)), &["latitude", "longitude"])
            .unwrap()
            .with_index("latitude", vec![30.0, 31.0, 32.0, 33.0, 34.0])
            .unwrap()
            .with_index("longitude", vec![177.0, 178.0, 179.0, 180.0, 181.0, 182.0])
            .unwrap();
        let (g, _) = Grid::from_dataarray(&da, Some(Projection::plate_carree())).unwrap();
        assert!(!g.lon.cyclic);
        assert_eq!(g.lon.values, vec![177.0, 178.0, 179.0, 180.0, 181.0, 182.0], "kept whole across the map's edge");
        assert!(g.lon.locate(182.4).is_some() && g.lon.locate(182.6).is_none());
        assert!(g.lat.locate(29.6).is_some() && g.lat.locate(29.4).is_none());
        let err = Grid::from_dataarray(&global(0.0).isel([("lat", Sel::from(0))]).unwrap(), None).unwrap_err();
        assert!(err.to_string().contains("two dimensions"), "{err}");
    }
}
