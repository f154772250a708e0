//! f64 parameters in serialised plans. JSON has no NaN or infinity (serde_json would write
//! `null` and fail to read it back), and `full(NaN)` is a common plan: non-finite values are
//! written as the strings Zarr metadata uses, "NaN", "Infinity" and "-Infinity".

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if *value > 0.0 {
        serializer.serialize_str("Infinity")
    } else {
        serializer.serialize_str("-Infinity")
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Finite(f64),
        Named(String),
    }
    match Number::deserialize(deserializer)? {
        Number::Finite(v) => Ok(v),
        Number::Named(name) => match name.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(serde::de::Error::custom(format!("{other:?} is not a number"))),
        },
    }
}
