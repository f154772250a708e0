//! Colormaps by the names matplotlib users know ("viridis", "RdBu", "RdBu_r", ...), backed by
//! the `colorous` crate's gradients (the d3 / ColorBrewer / matplotlib perceptual maps), so
//! no color table is hand-copied here.

use strata_display::plot::{PlotError, Rgb};

/// A named gradient, possibly reversed.
#[derive(Clone, Copy)]
pub struct Colormap {
    name: &'static str,
    gradient: colorous::Gradient,
    reversed: bool,
}

impl std::fmt::Debug for Colormap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Colormap({}{})", self.name, if self.reversed { "_r" } else { "" })
    }
}

/// matplotlib's names for the gradients colorous has (sequential, diverging, perceptual).
const NAMED: &[(&str, colorous::Gradient)] = &[
    ("viridis", colorous::VIRIDIS),
    ("plasma", colorous::PLASMA),
    ("inferno", colorous::INFERNO),
    ("magma", colorous::MAGMA),
    ("cividis", colorous::CIVIDIS),
    ("turbo", colorous::TURBO),
    ("RdBu", colorous::RED_BLUE),
    ("RdYlBu", colorous::RED_YELLOW_BLUE),
    ("RdYlGn", colorous::RED_YELLOW_GREEN),
    ("RdGy", colorous::RED_GREY),
    ("BrBG", colorous::BROWN_GREEN),
    ("PiYG", colorous::PINK_GREEN),
    ("PRGn", colorous::PURPLE_GREEN),
    ("PuOr", colorous::PURPLE_ORANGE),
    ("Spectral", colorous::SPECTRAL),
    ("Blues", colorous::BLUES),
    ("Greens", colorous::GREENS),
    ("Greys", colorous::GREYS),
    ("Oranges", colorous::ORANGES),
    ("Purples", colorous::PURPLES),
    ("Reds", colorous::REDS),
    ("YlGnBu", colorous::YELLOW_GREEN_BLUE),
    ("YlOrRd", colorous::YELLOW_ORANGE_RED),
    ("YlOrBr", colorous::YELLOW_ORANGE_BROWN),
    ("PuBu", colorous::PURPLE_BLUE),
    ("BuPu", colorous::BLUE_PURPLE),
    ("GnBu", colorous::GREEN_BLUE),
    ("cubehelix", colorous::CUBEHELIX),
    ("rainbow", colorous::RAINBOW),
    ("sinebow", colorous::SINEBOW),
    ("warm", colorous::WARM),
    ("cool", colorous::COOL),
];

impl Colormap {
    /// A colormap by matplotlib's name; `_r` at the end reverses it ("RdBu_r").
    pub fn named(name: &str) -> Result<Colormap, PlotError> {
        let (base, reversed) = match name.strip_suffix("_r") {
            Some(base) => (base, true),
            None => (name, false),
        };
        NAMED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(base))
            .map(|&(name, gradient)| Colormap { name, gradient, reversed })
            .ok_or_else(|| PlotError::UnknownColormap { name: name.to_string(), known: NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ") })
    }

    /// The names known, for help texts.
    pub fn names() -> Vec<&'static str> {
        NAMED.iter().map(|(n, _)| *n).collect()
    }

    pub fn viridis() -> Colormap {
        Colormap { name: "viridis", gradient: colorous::VIRIDIS, reversed: false }
    }

    /// The same map, run the other way.
    pub fn reversed(self) -> Colormap {
        Colormap { reversed: !self.reversed, ..self }
    }

    /// The color at `t` in 0..=1 (clamped).
    pub fn at(&self, t: f64) -> Rgb {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let t = if self.reversed { 1.0 - t } else { t };
        let c = self.gradient.eval_continuous(t);
        Rgb(c.r, c.g, c.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_reverse_and_ends() {
        let rdbu = Colormap::named("RdBu").unwrap();
        let low = rdbu.at(0.0);
        assert!(low.0 > 100 && low.2 < 60, "RdBu starts red: {low:?}");
        let high = rdbu.at(1.0);
        assert!(high.2 > 60 && high.0 < 20, "and ends blue: {high:?}");
        assert_eq!(Colormap::named("RdBu_r").unwrap().at(0.0), high);
        assert_eq!(Colormap::named("viridis").unwrap().at(0.0), Rgb(68, 1, 84));
        let err = Colormap::named("nope").unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("viridis"), "{err}");
        assert_eq!(Rgb::parse("#ff8000").unwrap(), Rgb(255, 128, 0));
        assert!(Rgb::parse("#ff80").is_err());
    }
}
