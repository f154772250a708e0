//! Labeled data, xarray's model over the runtime's lazy arrays: [`Variable`] (dimensions,
//! data, attributes) → [`DataArray`] (plus coordinates and a name) → [`Dataset`] (variables
//! sharing coordinates). Everything is by dimension name and label; data stays lazy.
//!
//! ```
//! use strata_api::prelude::*;
//! let t = DataArray::new(arange(0.0, 24.0, 1.0, 6), &["time"]).unwrap()
//!     .with_coord("time", Coordinate::new(&["time"], Values::from_times(
//!         (0..24).map(|m| DateTime::new(2000 + m / 12, (m % 12 + 1) as u32, 1).to_instant(Calendar::Standard)).collect(),
//!         Calendar::Standard))).unwrap();
//! let clim = t.groupby("time.month").unwrap().mean("time").unwrap();
//! assert_eq!(clim.sel([("month", 1)]).unwrap().item().unwrap(), 6.0);
//! ```

pub mod coord;
pub mod dataarray;
pub mod dataset;
pub mod groupby;
pub mod select;
pub mod text;
pub mod time;

pub use coord::{Coordinate, Values, NAT};
pub use dataarray::{align, concat, DataArray, Dims, Weighted};
pub use dataset::{Dataset, Variable};
pub use groupby::{Boundary, Coarsen, GroupBy, Rolling};
pub use select::{nearest, nearest_within, Key, Selector};
pub use time::{Calendar, DateTime, TimeUnits};

/// Attributes of variables and datasets: JSON values, as Zarr stores them.
pub type Attrs = serde_json::Map<String, serde_json::Value>;
