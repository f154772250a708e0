//! Colors as figures name them: by name ("black", "grey") or "#rrggbb". Colormaps, which map
//! values to colors, are the renderer's (strata-render), which draws the figure.

use super::PlotError;

/// An RGB color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    pub const LAND_GREY: Rgb = Rgb(200, 200, 200);

    /// A color by name ("black", "grey", "white", "tan") or as "#rrggbb".
    pub fn parse(text: &str) -> Result<Rgb, PlotError> {
        let named = match text.to_ascii_lowercase().as_str() {
            "black" | "k" => Some(Rgb::BLACK),
            "white" | "w" => Some(Rgb::WHITE),
            "grey" | "gray" | "lightgrey" | "lightgray" => Some(Rgb::LAND_GREY),
            "darkgrey" | "darkgray" => Some(Rgb(110, 110, 110)),
            "tan" => Some(Rgb(210, 180, 140)),
            "red" | "r" => Some(Rgb(214, 39, 40)),
            "blue" | "b" => Some(Rgb(31, 119, 180)),
            "green" | "g" => Some(Rgb(44, 160, 44)),
            "orange" => Some(Rgb(255, 127, 14)),
            _ => None,
        };
        if let Some(c) = named {
            return Ok(c);
        }
        let hex = text.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
        match hex {
            Some(h) => {
                let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0);
                Ok(Rgb(byte(0), byte(2), byte(4)))
            }
            None => Err(PlotError::UnknownColor(text.to_string())),
        }
    }
}
