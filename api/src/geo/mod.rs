//! The Earth's land, from Natural Earth's 1:110m polygons (public domain, vendored in
//! `api/data/natural_earth`): polygons for drawing coastlines, and land masks on any
//! latitude-longitude grid for the tutorial datasets.

use std::sync::OnceLock;

use ndarray::Array2;
use serde_json::Value;

/// A closed ring of (longitude, latitude) points in degrees, longitudes in -180..=180.
pub type Ring = Vec<(f64, f64)>;

static LAND_110M: &str = include_str!("../../data/natural_earth/land-110m.json");

/// Land polygons: each a list of rings (the outer boundary, then holes).
pub fn land() -> &'static [Vec<Ring>] {
    static LAND: OnceLock<Vec<Vec<Ring>>> = OnceLock::new();
    LAND.get_or_init(|| decode_topojson(LAND_110M, "land").unwrap_or_default())
}

/// Decodes one object of a TopoJSON topology into polygons: arcs are delta-encoded and
/// quantised, and each ring is a list of arc indices (`!i` for arc `i` reversed).
fn decode_topojson(text: &str, object: &str) -> Option<Vec<Vec<Ring>>> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let t = doc.get("transform")?;
    let scale = (t["scale"][0].as_f64()?, t["scale"][1].as_f64()?);
    let translate = (t["translate"][0].as_f64()?, t["translate"][1].as_f64()?);
    let arcs: Vec<Vec<(f64, f64)>> = doc["arcs"]
        .as_array()?
        .iter()
        .map(|arc| {
            let (mut x, mut y) = (0i64, 0i64);
            arc.as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    x += p[0].as_i64().unwrap_or(0);
                    y += p[1].as_i64().unwrap_or(0);
                    (x as f64 * scale.0 + translate.0, y as f64 * scale.1 + translate.1)
                })
                .collect()
        })
        .collect();
    let ring = |indices: &Value| -> Ring {
        let mut points: Ring = Vec::new();
        for index in indices.as_array().into_iter().flatten().filter_map(|i| i.as_i64()) {
            let (i, reversed) = if index < 0 { ((!index) as usize, true) } else { (index as usize, false) };
            let Some(arc) = arcs.get(i) else { continue };
            let mut part: Vec<(f64, f64)> = arc.clone();
            if reversed {
                part.reverse();
            }
            let skip = usize::from(!points.is_empty());
            points.extend(part.into_iter().skip(skip));
        }
        points
    };
    let mut polygons = Vec::new();
    for geometry in doc["objects"][object]["geometries"].as_array()? {
        match geometry["type"].as_str()? {
            "Polygon" => polygons.push(geometry["arcs"].as_array()?.iter().map(ring).collect()),
            "MultiPolygon" => {
                for polygon in geometry["arcs"].as_array()? {
                    polygons.push(polygon.as_array()?.iter().map(ring).collect());
                }
            }
            _ => {}
        }
    }
    Some(polygons)
}

/// The land's edges, built once: every call of [`land_mask`] (a map draws one per pixel
/// row) scans them.
fn land_edges() -> &'static [((f64, f64), (f64, f64))] {
    static EDGES: OnceLock<Vec<((f64, f64), (f64, f64))>> = OnceLock::new();
    EDGES.get_or_init(|| {
        // Rings that cross the antimeridian (Russia's, Fiji's) jump from +179 to -180 in the
        // data. Unwrapped, such a ring is one closed shape reaching past +180; a point is then
        // inside when it is, at its own longitude or 360 degrees east or west of it. Antarctica,
        // which circles the pole, does not close when unwrapped and is kept as it is given.
        let mut edges: Vec<((f64, f64), (f64, f64))> = Vec::new();
        for ring in land().iter().flatten() {
            let mut shift = 0.0;
            let mut unwrapped: Vec<(f64, f64)> = Vec::with_capacity(ring.len());
            for (k, &(x, y)) in ring.iter().enumerate() {
                if k > 0 {
                    let prev = ring[k - 1].0;
                    if x - prev > 180.0 {
                        shift -= 360.0;
                    } else if x - prev < -180.0 {
                        shift += 360.0;
                    }
                }
                unwrapped.push((x + shift, y));
            }
            let points = if shift == 0.0 { &unwrapped } else { ring };
            edges.extend(points.windows(2).map(|w| (w[0], w[1])));
        }
        edges
    })
}

/// Which cells of a grid are land: `mask[[i, j]]` for latitude `lats[i]` and longitude
/// `lons[j]` (degrees; longitudes in any convention, 0..360 included). A scanline fill with
/// the even-odd rule, so cost grows with rows × edges, not cells × edges.
pub fn land_mask(lats: &[f64], lons: &[f64]) -> Array2<bool> {
    let mut mask = Array2::from_elem((lats.len(), lons.len()), false);
    let wrapped: Vec<f64> = lons.iter().map(|&l| (l + 180.0).rem_euclid(360.0) - 180.0).collect();
    let edges = land_edges();
    for (i, &lat) in lats.iter().enumerate() {
        let mut crossings: Vec<f64> = edges
            .iter()
            .filter(|((_, y0), (_, y1))| (*y0 > lat) != (*y1 > lat))
            .map(|((x0, y0), (x1, y1))| x0 + (lat - y0) * (x1 - x0) / (y1 - y0))
            .collect();
        crossings.sort_by(f64::total_cmp);
        let odd_before = |x: f64| crossings.partition_point(|&c| c < x) % 2 == 1;
        for (j, &lon) in wrapped.iter().enumerate() {
            mask[[i, j]] = odd_before(lon) || odd_before(lon + 360.0) || odd_before(lon - 360.0);
        }
    }
    // Natural Earth stops at 85.6°S; everything south of it is Antarctica.
    for (i, &lat) in lats.iter().enumerate() {
        if lat < -85.0 {
            mask.row_mut(i).fill(true);
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continents_are_land_and_oceans_are_not() {
        assert!(land().len() > 100);
        let at = |lat: f64, lon: f64| land_mask(&[lat], &[lon])[[0, 0]];
        assert!(at(20.0, 10.0), "Sahara");
        assert!(at(45.0, 100.0), "Mongolia");
        assert!(at(-25.0, 135.0), "Australia");
        assert!(at(40.0, 360.0 - 100.0), "Kansas, in 0..360 longitudes");
        assert!(at(-80.0, 0.0), "Antarctica");
        assert!(!at(0.0, -30.0), "equatorial Atlantic");
        assert!(!at(0.0, 200.0), "Nino3.4 box");
        assert!(!at(-40.0, 80.0), "Indian Ocean");
        assert!(!at(35.0, 18.0), "Ionian Sea");
        // Polygons across the antimeridian (Fiji, Chukotka) are land on both sides of it, and
        // their rows are not land elsewhere.
        assert!(at(-16.2, 179.9) && at(-16.2, -179.9), "Vanua Levu, both sides of 180");
        assert!(at(67.5, 179.5) && at(67.5, -179.5), "Chukotka, both sides of 180");
        for lat in [-16.7, -16.2, 65.0, 69.0, 71.0, 71.5] {
            let row = land_mask(&[lat], &(0..360).map(|j| j as f64 + 0.5).collect::<Vec<_>>());
            let fraction = row.iter().filter(|&&m| m).count() as f64 / 360.0;
            assert!(fraction < 0.8, "latitude {lat}: {fraction} of the row is land");
        }
        assert!(!at(-16.6, 0.0) && !at(71.0, 0.0), "open sea on those rows");
        // About 29% of the Earth's surface is land; by cell count on a regular grid, with
        // polar rows over-weighted, a bit more.
        let lats: Vec<f64> = (0..90).map(|i| -89.0 + 2.0 * i as f64).collect();
        let lons: Vec<f64> = (0..180).map(|j| 1.0 + 2.0 * j as f64).collect();
        let mask = land_mask(&lats, &lons);
        let weighted: f64 = mask.indexed_iter().filter(|(_, &m)| m).map(|((i, _), _)| lats[i].to_radians().cos()).sum();
        let total: f64 = mask.indexed_iter().map(|((i, _), _)| lats[i].to_radians().cos()).sum();
        let fraction = weighted / total;
        assert!((0.26..0.33).contains(&fraction), "land fraction {fraction}");
    }
}
