//! Map projections: PlateCarree (equirectangular) and Robinson, each with a selectable
//! central longitude, forward and inverse. Robinson is defined by Robinson's own table of
//! parallel lengths and distances at every 5 degrees (Snyder, *Map Projections: A Working
//! Manual*, table 31); we interpolate it linearly, which keeps forward and inverse exact
//! inverses of each other. In both projections a parallel is a horizontal line, which the
//! map rasteriser relies on (one latitude per pixel row).

/// Robinson's table: latitude every 5 degrees -> (parallel length X, distance from the
/// equator Y, as a fraction of the pole's).
const ROBINSON: [(f64, f64); 19] = [
    (1.0000, 0.0000),
    (0.9986, 0.0620),
    (0.9954, 0.1240),
    (0.9900, 0.1860),
    (0.9822, 0.2480),
    (0.9730, 0.3100),
    (0.9600, 0.3720),
    (0.9427, 0.4340),
    (0.9216, 0.4958),
    (0.8962, 0.5571),
    (0.8679, 0.6176),
    (0.8350, 0.6769),
    (0.7986, 0.7346),
    (0.7597, 0.7903),
    (0.7186, 0.8435),
    (0.6732, 0.8936),
    (0.6213, 0.9394),
    (0.5722, 0.9761),
    (0.5322, 1.0000),
];
const ROBINSON_X: f64 = 0.8487;
const ROBINSON_Y: f64 = 1.3523;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Projection {
    PlateCarree { central_longitude: f64 },
    Robinson { central_longitude: f64 },
}

impl Default for Projection {
    fn default() -> Self {
        Projection::PlateCarree { central_longitude: 0.0 }
    }
}

impl Projection {
    pub fn plate_carree() -> Projection {
        Projection::PlateCarree { central_longitude: 0.0 }
    }

    pub fn robinson(central_longitude: f64) -> Projection {
        Projection::Robinson { central_longitude }
    }

    pub fn central_longitude(&self) -> f64 {
        match *self {
            Projection::PlateCarree { central_longitude } | Projection::Robinson { central_longitude } => central_longitude,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Projection::PlateCarree { .. } => "PlateCarree",
            Projection::Robinson { .. } => "Robinson",
        }
    }

    /// Longitude relative to the central one, in -180..180 (degrees).
    pub fn relative_longitude(&self, lon: f64) -> f64 {
        (lon - self.central_longitude() + 180.0).rem_euclid(360.0) - 180.0
    }

    /// (lon, lat) in degrees -> projected (x, y), in units of the Earth's radius. A longitude
    /// is taken relative to the central one, wrapped into -180..180.
    pub fn forward(&self, lon: f64, lat: f64) -> (f64, f64) {
        self.forward_relative(self.relative_longitude(lon), lat)
    }

    /// As [`forward`](Self::forward), for a longitude already relative to the central one
    /// (kept as given, so a line may end exactly on the +180 edge).
    pub fn forward_relative(&self, rel_lon: f64, lat: f64) -> (f64, f64) {
        let lat = lat.clamp(-90.0, 90.0);
        match self {
            Projection::PlateCarree { .. } => (rel_lon.to_radians(), lat.to_radians()),
            Projection::Robinson { .. } => {
                let (x, y) = robinson_row(lat);
                (ROBINSON_X * x * rel_lon.to_radians(), ROBINSON_Y * y)
            }
        }
    }

    /// The latitude of a projected row `y` (None beyond the poles).
    pub fn latitude_of(&self, y: f64) -> Option<f64> {
        match self {
            Projection::PlateCarree { .. } => {
                let lat = y.to_degrees();
                (lat.abs() <= 90.0 + 1e-9).then_some(lat.clamp(-90.0, 90.0))
            }
            Projection::Robinson { .. } => {
                let f = (y / ROBINSON_Y).abs();
                if f > 1.0 + 1e-12 {
                    return None;
                }
                let f = f.min(1.0);
                let k = ROBINSON.windows(2).position(|w| f <= w[1].1).unwrap_or(ROBINSON.len() - 2);
                let (y0, y1) = (ROBINSON[k].1, ROBINSON[k + 1].1);
                let lat = 5.0 * (k as f64 + (f - y0) / (y1 - y0));
                Some(lat.copysign(y))
            }
        }
    }

    /// Projected (x, y) -> (lon, lat) in degrees, lon relative to the central one; None
    /// outside the map.
    pub fn inverse_relative(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let lat = self.latitude_of(y)?;
        let rel = match self {
            Projection::PlateCarree { .. } => x.to_degrees(),
            Projection::Robinson { .. } => (x / (ROBINSON_X * robinson_row(lat).0)).to_degrees(),
        };
        (rel.abs() <= 180.0 + 1e-9).then_some((rel, lat))
    }

    /// Projected (x, y) -> (lon, lat) in degrees, lon in the central longitude's frame
    /// (central - 180 ..= central + 180); None outside the map.
    pub fn inverse(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        self.inverse_relative(x, y).map(|(rel, lat)| (rel + self.central_longitude(), lat))
    }

    /// The projected x range at a latitude: a parallel runs from -half to +half.
    pub fn half_width(&self, lat: f64) -> f64 {
        self.forward_relative(180.0, lat).0
    }
}

/// Robinson's (X, Y) at `lat` degrees, interpolated linearly in the 5-degree table.
fn robinson_row(lat: f64) -> (f64, f64) {
    let a = lat.abs().min(90.0) / 5.0;
    let k = (a.floor() as usize).min(17);
    let t = a - k as f64;
    let (x0, y0) = ROBINSON[k];
    let (x1, y1) = ROBINSON[k + 1];
    (x0 + t * (x1 - x0), (y0 + t * (y1 - y0)).copysign(lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_inverse_round_trip() {
        for p in [Projection::plate_carree(), Projection::robinson(0.0), Projection::robinson(-160.0), Projection::PlateCarree { central_longitude: 180.0 }] {
            for lat in [-89.5, -60.0, -33.3, 0.0, 12.5, 47.0, 88.0] {
                for lon in [-179.0, -75.25, 0.0, 30.0, 170.0, 200.0, 359.0] {
                    let (x, y) = p.forward(lon, lat);
                    let (lon2, lat2) = p.inverse(x, y).unwrap();
                    assert!((lat2 - lat).abs() < 1e-9, "{p:?} lat {lat} -> {lat2}");
                    let dlon = (lon2 - lon).rem_euclid(360.0);
                    assert!(dlon < 1e-9 || (360.0 - dlon) < 1e-9, "{p:?} lon {lon} -> {lon2}");
                }
            }
        }
    }

    #[test]
    fn robinson_matches_its_published_shape() {
        let p = Projection::robinson(0.0);
        // The equator's half length is 0.8487 * pi, the pole line's 0.5322 of it, and the
        // pole is 1.3523 radii from the equator (Snyder's constants).
        assert!((p.half_width(0.0) - 0.8487 * std::f64::consts::PI).abs() < 1e-12);
        assert!((p.half_width(90.0) / p.half_width(0.0) - 0.5322).abs() < 1e-12);
        assert!((p.forward(0.0, 90.0).1 - 1.3523).abs() < 1e-12);
        assert!(p.inverse(3.0, 0.0).is_none(), "beyond the equator's end");
        assert!(p.inverse(0.0, 1.4).is_none(), "beyond the pole");
        // The central longitude moves the map's middle.
        assert_eq!(Projection::robinson(-160.0).forward(-160.0, 10.0).0, 0.0);
    }
}
