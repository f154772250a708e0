//! How values map onto a colormap's 0..=1: linearly between two limits, or in two linear
//! halves around a centre (matplotlib's TwoSlopeNorm), which is what a diverging map needs
//! when the interesting value (a threshold, zero) is not midway between the extremes.

use super::PlotError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Norm {
    /// `vmin` -> 0, `vmax` -> 1.
    Linear { vmin: f64, vmax: f64 },
    /// `vmin` -> 0, `center` -> 0.5, `vmax` -> 1.
    Centered { vmin: f64, center: f64, vmax: f64 },
}

impl Norm {
    pub fn linear(vmin: f64, vmax: f64) -> Norm {
        Norm::Linear { vmin, vmax }
    }

    /// A diverging norm centred on `center`; its limits are taken from the data or levels
    /// unless set with [`Norm::centered_within`].
    pub fn centered(center: f64) -> Norm {
        Norm::Centered { vmin: f64::NAN, center, vmax: f64::NAN }
    }

    pub fn centered_within(vmin: f64, center: f64, vmax: f64) -> Norm {
        Norm::Centered { vmin, center, vmax }
    }

    /// This norm with limits it leaves open (NaN) filled from the data's range.
    pub fn resolved(self, data_min: f64, data_max: f64) -> Result<Norm, PlotError> {
        let pick = |set: f64, data: f64| if set.is_nan() { data } else { set };
        let norm = match self {
            Norm::Linear { vmin, vmax } => Norm::Linear { vmin: pick(vmin, data_min), vmax: pick(vmax, data_max) },
            Norm::Centered { vmin, center, vmax } => Norm::Centered { vmin: pick(vmin, data_min), center, vmax: pick(vmax, data_max) },
        };
        match norm {
            Norm::Linear { vmin, vmax } if !(vmin.is_finite() && vmax.is_finite()) => Err(PlotError::BadNorm(format!("limits {vmin} and {vmax} are not finite (is the data all NaN?)"))),
            Norm::Centered { vmin, center, vmax } if !(vmin < center && center < vmax) => {
                Err(PlotError::BadNorm(format!("the centre {center} must lie strictly between vmin {vmin} and vmax {vmax}")))
            }
            norm => Ok(norm),
        }
    }

    /// `value` as a position on the colormap (outside 0..=1 when outside the limits).
    pub fn apply(&self, value: f64) -> f64 {
        match *self {
            Norm::Linear { vmin, vmax } => {
                if vmax == vmin {
                    0.5
                } else {
                    (value - vmin) / (vmax - vmin)
                }
            }
            Norm::Centered { vmin, center, vmax } => {
                if value < center {
                    0.5 * (value - vmin) / (center - vmin)
                } else {
                    0.5 + 0.5 * (value - center) / (vmax - center)
                }
            }
        }
    }

    pub fn limits(&self) -> (f64, f64) {
        match *self {
            Norm::Linear { vmin, vmax } | Norm::Centered { vmin, vmax, .. } => (vmin, vmax),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centered_norms_put_the_centre_in_the_middle() {
        let n = Norm::centered(60.0).resolved(0.0, 360.0).unwrap();
        assert_eq!(n.apply(60.0), 0.5);
        assert_eq!(n.apply(0.0), 0.0);
        assert_eq!(n.apply(360.0), 1.0);
        assert!((n.apply(30.0) - 0.25).abs() < 1e-12);
        assert!((n.apply(210.0) - 0.75).abs() < 1e-12);
        assert!(Norm::centered(500.0).resolved(0.0, 360.0).is_err());
        let l = Norm::linear(f64::NAN, 10.0).resolved(-10.0, 99.0).unwrap();
        assert_eq!(l.apply(0.0), 0.5);
    }
}
