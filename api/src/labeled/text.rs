//! The plain-text representations of DataArrays and Datasets, as xarray prints them: what
//! `{:?}` shows, and the `text/plain` beside a notebook's HTML. Nothing lazy is computed:
//! data is previewed only when it is already in memory.

use std::fmt::Write;

use indexmap::IndexMap;

use super::coord::{Coordinate, Values};
use super::{Attrs, DataArray, Dataset};
use crate::array::BlockElement;
use crate::error::human_bytes;
use crate::plan::{NodeRef, Op};

/// The first and last few values of a coordinate, as one line.
pub fn coord_preview(values: &Values, width: usize) -> String {
    let n = values.len();
    let all: Vec<String> = (0..n.min(64)).map(|i| values.format(i)).collect();
    let joined = all.join(" ");
    if n <= 64 && joined.len() <= width {
        return joined;
    }
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    let mut used = 4;
    for k in 0..n / 2 {
        let (h, t) = (values.format(k), values.format(n - 1 - k));
        if used + h.len() + t.len() + 2 > width {
            break;
        }
        used += h.len() + t.len() + 2;
        head.push(h);
        tail.push(t);
    }
    tail.reverse();
    format!("{} ... {}", head.join(" "), tail.join(" "))
}

/// The first `limit` values (row-major) of data already in memory (a computed array), for
/// previews; `None` for lazy data. Only the leading corner holding them is read, so a
/// preview of a large in-memory array copies a few values, not the array.
pub fn in_memory_values(node: &NodeRef, limit: usize) -> Option<Vec<f64>> {
    if !matches!(node.op, Op::Literal { .. } | Op::Persisted { .. }) {
        return None;
    }
    // Trailing axes whole, then as much of the next one as `limit` needs, leading axes at 0:
    // in row-major order this corner is exactly the array's first values.
    let shape = node.shape();
    if shape.contains(&0) {
        return Some(Vec::new());
    }
    let mut region: Vec<std::ops::Range<usize>> = vec![0..1; shape.len()];
    let mut tail = 1usize;
    for (axis, &n) in shape.iter().enumerate().rev() {
        let rows = limit.div_ceil(tail).min(n);
        region[axis] = 0..rows;
        if rows < n {
            break;
        }
        tail = tail.saturating_mul(n);
    }
    let block = crate::exec::eval::eval(node, &region, &crate::exec::eval::Materialized::new()).ok()?;
    Some(block.as_f64().iter().take(limit).copied().collect())
}

/// "lazy float32, chunks (12, 90, 180), 40 chunks" or the first values.
pub fn data_summary(node: &NodeRef, width: usize) -> String {
    match in_memory_values(node, 64) {
        Some(values) => {
            let n: usize = node.shape().iter().product();
            let shown: Vec<String> = values.iter().map(|v| format!("{v:.4}").trim_end_matches('0').trim_end_matches('.').to_string()).collect();
            let mut line = String::new();
            for s in &shown {
                if line.len() + s.len() + 5 > width {
                    line.push_str(" ...");
                    return line;
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(s);
            }
            if n > shown.len() {
                line.push_str(" ...");
            }
            line
        }
        None => format!("lazy, chunks {:?}, {} chunks", node.grid.chunk_shape(), node.grid.nchunks()),
    }
}

fn dims_line(dims: &[String], shape: &[usize]) -> String {
    dims.iter().zip(shape).map(|(d, n)| format!("{d}: {n}")).collect::<Vec<_>>().join(", ")
}

fn coords_block(out: &mut String, coords: &IndexMap<String, Coordinate>) {
    if coords.is_empty() {
        return;
    }
    let width = coords.keys().map(|k| k.len()).max().unwrap_or(0).max(6);
    out.push_str("\nCoordinates:");
    for (name, c) in coords {
        let marker = if c.dims.len() == 1 && &c.dims[0] == name { '*' } else { ' ' };
        let _ = write!(out, "\n  {marker} {name:<width$} ({}) {} {}", c.dims.join(", "), c.values.kind(), coord_preview(&c.values, 60));
    }
}

fn attrs_block(out: &mut String, attrs: &Attrs) {
    if attrs.is_empty() {
        return;
    }
    out.push_str("\nAttributes:");
    let width = attrs.keys().map(|k| k.len()).max().unwrap_or(0);
    for (k, v) in attrs {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let short: String = if text.chars().count() > 70 { text.chars().take(67).collect::<String>() + "..." } else { text };
        let _ = write!(out, "\n    {:<width$} {short}", format!("{k}:"), width = width + 1);
    }
}

/// xarray's text repr of a DataArray.
pub fn dataarray_text(name: Option<&str>, dims: &[String], data: &NodeRef, coords: &IndexMap<String, Coordinate>, attrs: &Attrs) -> String {
    let mut out = String::new();
    let name = name.map(|n| format!(" '{n}'")).unwrap_or_default();
    let _ = write!(out, "<strata.DataArray{name} ({})> Size: {}", dims_line(dims, &data.shape()), human_bytes(data.nbytes()));
    let _ = write!(out, "\n{} {}", data.dtype, data_summary(data, 72));
    coords_block(&mut out, coords);
    attrs_block(&mut out, attrs);
    out
}

/// xarray's text repr of a Dataset.
pub fn dataset_text(ds: &Dataset) -> String {
    let mut out = String::new();
    let total: u64 = ds.variables().values().map(|v| v.data.nbytes()).sum();
    let sizes = ds.sizes();
    let _ = write!(out, "<strata.Dataset> Size: {}\nDimensions:  ({})", human_bytes(total), sizes.iter().map(|(d, n)| format!("{d}: {n}")).collect::<Vec<_>>().join(", "));
    coords_block(&mut out, ds.coords());
    if !ds.data_vars().is_empty() {
        out.push_str("\nData variables:");
        let width = ds.data_vars().iter().map(|k| k.len()).max().unwrap_or(0).max(6);
        for (name, v) in ds.variables() {
            let _ = write!(out, "\n    {name:<width$} ({}) {} {}", v.dims.join(", "), v.dtype(), data_summary(&v.data, 50));
        }
        // Times and text, held in memory: their first values, as coordinates show them.
        for (name, l) in ds.label_vars() {
            let _ = write!(out, "\n    {name:<width$} ({}) {} {}", l.dims.join(", "), l.values.kind(), coord_preview(&l.values, 50));
        }
    }
    attrs_block(&mut out, ds.attrs());
    out
}

impl<T: BlockElement> std::fmt::Debug for DataArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&dataarray_text(self.name(), self.dims(), self.plan(), self.coords(), self.attrs()))
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&dataset_text(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{from_array, ChunkSpec};

    #[test]
    fn text_reprs_show_dims_coords_attrs_and_never_compute_lazy_data() {
        let lazy = crate::array::RandomState::new(1).random(&[4, 300], &[2, 100]);
        let da = DataArray::new(lazy, &["y", "x"]).unwrap().with_index("x", (0..300).map(|i| i as f64 * 0.5).collect()).unwrap().with_name("t").with_attr("units", "K");
        let text = format!("{da:?}");
        assert!(text.starts_with("<strata.DataArray 't' (y: 4, x: 300)> Size: 9.38 KiB"), "{text}");
        assert!(text.contains("float64 lazy, chunks [2, 100], 6 chunks"), "{text}");
        assert!(text.contains("  * x      (x) float64 0 0.5 1"), "{text}");
        assert!(text.contains(" ... "), "{text}");
        assert!(text.contains("units: K"), "{text}");
        let small = DataArray::new(from_array(ndarray::arr1(&[1.5, 2.0]).into_dyn(), ChunkSpec::Uniform(2)), &["x"]).unwrap().compute().unwrap();
        assert!(format!("{small:?}").contains("float64 1.5 2"), "{small:?}");
        let ds = da.to_dataset(None).unwrap();
        let text = format!("{ds:?}");
        assert!(text.contains("Dimensions:  (y: 4, x: 300)") && text.contains("Data variables:\n    t      (y, x) float64 lazy"), "{text}");
    }
}
