//! DataArray and Dataset reprs, as xarray's: dimensions, coordinates, data variables,
//! indexes and attributes, each section with its count and folded open or shut by a
//! checkbox; each variable with its dims, dtype and a preview, its attributes and its data
//! (the chunk diagram for lazy data) behind toggles.

use std::fmt::Write;

use indexmap::IndexMap;
use strata::labeled::text::{coord_preview, data_summary, dataarray_text, dataset_text, in_memory_values};
use strata::labeled::{Attrs, Coordinate, Dataset};
use strata::plan::NodeRef;

use super::{array_html, escape, unique_id, wrap};

fn attrs_html(attrs: &Attrs) -> String {
    let mut out = String::from("<dl class='st-attrs'>");
    for (k, v) in attrs {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(out, "<dt><span>{} :</span></dt><dd>{}</dd>", escape(k), escape(&text));
    }
    out.push_str("</dl>");
    out
}

/// One row: name, dims, dtype, preview, and the attribute and data toggles.
fn var_row(name: &str, dims: &[String], dtype: &str, preview: &str, attrs: &Attrs, data: &str, is_index: bool) -> String {
    let (attrs_id, data_id) = (unique_id("attrs"), unique_id("data"));
    let class = if is_index { " class='st-has-index'" } else { "" };
    let disabled = if attrs.is_empty() { " disabled" } else { "" };
    format!(
        "<li class='st-var-item'><div class='st-var-name'><span{class}>{}</span></div><div class='st-var-dims'>({})</div><div class='st-var-dtype'>{}</div><div class='st-var-preview'>{}</div>\
<input id='{attrs_id}' class='st-var-attrs-in' type='checkbox'{disabled}><label for='{attrs_id}' class='st-icon st-icon-attrs' title='Show/Hide attributes'>≡</label>\
<input id='{data_id}' class='st-var-data-in' type='checkbox'><label for='{data_id}' class='st-icon st-icon-data' title='Show/Hide data repr'>▤</label>\
<div class='st-var-attrs'>{}</div><div class='st-var-data'>{data}</div></li>",
        escape(name),
        escape(&dims.join(", ")),
        escape(dtype),
        escape(preview),
        attrs_html(attrs),
    )
}

/// A foldable section with a count; open when `open`, disabled when empty.
fn section(title: &str, count: Option<usize>, inline: &str, details: &str, open: bool) -> String {
    let id = unique_id("section");
    let empty = count == Some(0);
    let checked = if open && !empty { " checked" } else { "" };
    let disabled = if empty || details.is_empty() { " disabled" } else { "" };
    let counted = count.map(|n| format!(" <span>({n})</span>")).unwrap_or_default();
    format!(
        "<li class='st-section-item'><input id='{id}' class='st-section-summary-in' type='checkbox'{checked}{disabled}><label for='{id}' class='st-section-summary' title='Expand/collapse section'>{title}:{counted}</label><div class='st-section-inline'>{inline}</div><div class='st-section-details'>{details}</div></li>"
    )
}

fn dims_inline(sizes: &[(String, usize)], coords: &IndexMap<String, Coordinate>) -> String {
    let items: Vec<String> = sizes
        .iter()
        .map(|(d, n)| {
            let class = if coords.get(d).is_some_and(|c| c.dims == [d.clone()]) { " class='st-has-index'" } else { "" };
            format!("<li><span{class}>{}</span>: {n}</li>", escape(d))
        })
        .collect();
    format!("<ul class='st-dim-list'>{}</ul>", items.join(""))
}

fn coords_rows(coords: &IndexMap<String, Coordinate>) -> String {
    let rows: Vec<String> = coords.iter().map(|(name, c)| label_row(name, c)).collect();
    format!("<ul class='st-var-list'>{}</ul>", rows.join(""))
}

/// A row for values held in memory (a coordinate, or a data variable of times or text).
fn label_row(name: &str, c: &Coordinate) -> String {
    let values: Vec<String> = (0..c.values.len().min(200)).map(|i| c.values.format(i)).collect();
    let more = if c.values.len() > 200 { " ..." } else { "" };
    let data = format!("<pre>{}{more}</pre>", escape(&values.join(" ")));
    var_row(name, &c.dims, c.values.kind(), &coord_preview(&c.values, 80), &c.attrs, &data, c.dims.len() == 1 && c.dims[0] == name)
}

/// What a data variable's data toggle shows: values when in memory, else the chunk repr.
fn data_details(node: &NodeRef) -> String {
    match in_memory_values(node, 200) {
        Some(values) => {
            let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            let n: usize = node.shape().iter().product();
            format!("<pre>{}{}</pre>", escape(&shown.join(" ")), if n > shown.len() { " ..." } else { "" })
        }
        None => array_html(node),
    }
}

fn indexes_rows(coords: &IndexMap<String, Coordinate>) -> (usize, String) {
    let indexes: Vec<String> = coords
        .iter()
        .filter(|(n, c)| c.dims.len() == 1 && &c.dims[0] == *n)
        .map(|(n, c)| format!("<li class='st-var-item'><div class='st-var-name'><span class='st-has-index'>{}</span></div><div class='st-var-preview' style='grid-column: 2 / -1'>{} labels: {}</div></li>", escape(n), c.values.len(), escape(&coord_preview(&c.values, 90))))
        .collect();
    (indexes.len(), format!("<ul class='st-var-list'>{}</ul>", indexes.join("")))
}

fn sizes_of(dims: &[String], shape: &[usize]) -> Vec<(String, usize)> {
    dims.iter().cloned().zip(shape.iter().copied()).collect()
}

/// A DataArray: header with name and dims, its data (chunk repr when lazy), coordinates,
/// indexes and attributes.
pub fn dataarray_html(name: Option<&str>, dims: &[String], data: &NodeRef, coords: &IndexMap<String, Coordinate>, attrs: &Attrs) -> String {
    let text = dataarray_text(name, dims, data, coords, attrs);
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class='st-header'><span class='st-type'>strata.DataArray</span><span class='st-name'>{}</span>{}</div><ul class='st-sections'>",
        escape(name.unwrap_or("")),
        dims_inline(&sizes_of(dims, &data.shape()), coords)
    );
    let summary = format!("{} {}", data.dtype, data_summary(data, 90));
    body.push_str(&section("Data", None, &escape(&summary), &format!("<div style='grid-column: 1 / -1'>{}</div>", data_details(data)), false));
    body.push_str(&section("Coordinates", Some(coords.len()), "", &coords_rows(coords), true));
    let (n, rows) = indexes_rows(coords);
    body.push_str(&section("Indexes", Some(n), "", &rows, false));
    body.push_str(&section("Attributes", Some(attrs.len()), "", &format!("<div style='grid-column: 1 / -1'>{}</div>", attrs_html(attrs)), false));
    body.push_str("</ul>");
    wrap(&text, &body)
}

/// A Dataset: dimensions, coordinates, data variables (lazy ones with their chunk repr),
/// indexes and attributes.
pub fn dataset_html(ds: &Dataset) -> String {
    let text = dataset_text(ds);
    let mut body = String::from("<div class='st-header'><span class='st-type'>strata.Dataset</span></div><ul class='st-sections'>");
    body.push_str(&section("Dimensions", None, &dims_inline(&ds.sizes(), ds.coords()), "", false));
    body.push_str(&section("Coordinates", Some(ds.coords().len()), "", &coords_rows(ds.coords()), true));
    let rows: Vec<String> = ds
        .variables()
        .iter()
        .map(|(name, v)| var_row(name, &v.dims, &v.dtype().to_string(), &data_summary(&v.data, 80), &v.attrs, &data_details(&v.data), false))
        .chain(ds.label_vars().iter().map(|(name, l)| label_row(name, l)))
        .collect();
    body.push_str(&section("Data variables", Some(rows.len()), "", &format!("<ul class='st-var-list'>{}</ul>", rows.join("")), true));
    let (n, rows) = indexes_rows(ds.coords());
    body.push_str(&section("Indexes", Some(n), "", &rows, false));
    body.push_str(&section("Attributes", Some(ds.attrs().len()), "", &format!("<div style='grid-column: 1 / -1'>{}</div>", attrs_html(ds.attrs())), false));
    body.push_str("</ul>");
    wrap(&text, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::prelude::*;

    fn sample() -> Dataset {
        let t = DataArray::new(RandomState::new(3).random(&[24, 5, 8], &[12, 5, 8]), &["time", "lat", "lon"])
            .unwrap()
            .with_coord("time", Coordinate::new(&["time"], Values::from_times((0..24).map(|m| DateTime::new(2000 + m / 12, (m % 12) as u32 + 1, 1).to_instant(Calendar::Standard)).collect(), Calendar::Standard)))
            .unwrap()
            .with_index("lat", vec![-2.0, -1.0, 0.0, 1.0, 2.0])
            .unwrap()
            .with_attr("units", "degC")
            .with_attr("long_name", "<script>alert('x')</script> & \"quotes\"");
        t.to_dataset(Some("sst <b>"))
            .unwrap()
            .with_attrs([("title".to_string(), serde_json::json!("a & b"))].into_iter().collect())
    }

    #[test]
    fn dataset_html_has_its_sections_escaped_names_and_a_text_fallback() {
        let html = dataset_html(&sample());
        for title in ["Dimensions:", "Coordinates:", "Data variables:", "Indexes:", "Attributes:"] {
            assert!(html.contains(title), "missing {title}");
        }
        assert!(html.contains("Coordinates: <span>(2)</span>") && html.contains("Data variables: <span>(1)</span>") && html.contains("Attributes: <span>(1)</span>"));
        // Names and attributes are escaped: no markup of the user's gets through.
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        assert!(html.contains("sst &lt;b&gt;") && !html.contains("sst <b>"));
        // CSS-only folding: checkboxes paired with labels, no script anywhere.
        assert!(html.contains("type='checkbox'") && !html.contains("<script") && !html.contains("onclick"));
        let ids: Vec<&str> = html.match_indices("id='").map(|(i, _)| &html[i + 4..i + 4 + html[i + 4..].find('\'').unwrap()]).collect();
        for id in &ids {
            assert!(html.contains(&format!("for='{id}'")), "checkbox {id} has no label");
        }
        // The text fallback is there (hidden by the style) and matches the text repr.
        assert!(html.contains("<pre class='st-text-fallback'>&lt;strata.Dataset&gt;"));
        assert!(html.contains("class='st-wrap' style='display:none'"));
        // The lazy variable shows its chunk repr, not values.
        assert!(html.contains("st-chunks-svg") && html.contains("(12, 5, 8)"));
        assert!(html.contains("2000-01-01"), "time labels as dates");
    }

    #[test]
    fn showing_lazy_data_computes_nothing() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let x = RandomState::new(1).random(&[100, 100], &[10, 10]).map_blocks(|b| {
            CALLS.fetch_add(1, Ordering::SeqCst);
            b
        });
        let da = DataArray::new(x, &["y", "x"]).unwrap();
        let html = dataarray_html(da.name(), da.dims(), da.plan(), da.coords(), da.attrs());
        assert!(html.contains("100 chunks"));
        assert_eq!(CALLS.load(Ordering::SeqCst), 0);
        let _ = Arc::new(());
        // Once computed, the values are previewed.
        let small = DataArray::new(from_array(ndarray::arr1(&[1.25, 2.5]).into_dyn(), ChunkSpec::Uniform(2)), &["x"]).unwrap();
        let html = dataarray_html(None, small.dims(), small.plan(), small.coords(), small.attrs());
        assert!(html.contains("1.25 2.5"), "{html}");
    }
}
