//! HTML representations of the runtime's values, in the shape of xarray's and dask's: a
//! header, sections that open and close with CSS alone (no JavaScript, which untrusted
//! notebooks do not run), and the plain-text repr as a fallback shown when styles are stripped.

mod chunks;
mod graph;
mod labeled;

pub use chunks::{array_html, svg as chunk_svg};
pub use graph::{graph_html, graph_text};
pub use labeled::{dataarray_html, dataset_html};

use std::sync::atomic::{AtomicU64, Ordering};

const STYLE: &str = include_str!("style.css");

/// Text made safe to put in HTML, inside elements and single- or double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id no other repr on the page has (checkboxes and their labels pair up by id).
fn unique_id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("st-{prefix}-{:x}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The style, the text fallback (hidden by the style), and the rich part (shown by it).
fn wrap(text: &str, body: &str) -> String {
    format!(
        "<div><style>{STYLE}</style><pre class='st-text-fallback'>{}</pre><div class='st-wrap' style='display:none'>{body}</div></div>",
        escape(text)
    )
}
