//! Rich representations of the runtime's values: `text/html` (xarray's and dask's shapes)
//! and `text/plain`, for `display(&x)` and for a cell's final value (through the runtime's
//! presenter hook, which [`install`] sets in each cell process).

use std::sync::Arc;

use serde_json::Value;
use strata::array::{BlockElement, ChunkedArray};
use strata::labeled::text::{dataarray_text, dataset_text};
use strata::labeled::{DataArray, Dataset};
use strata::present::{Presentable, Presenter};

use crate::html;
use crate::output::{MimeBundle, Render};

/// The MIME bundle of a presentable value.
pub fn bundle(value: &Presentable<'_>) -> MimeBundle {
    let (html, text) = match value {
        Presentable::DataArray { name, dims, data, coords, attrs } => {
            (html::dataarray_html(*name, dims, data, coords, attrs), dataarray_text(*name, dims, data, coords, attrs))
        }
        Presentable::Dataset(ds) => (html::dataset_html(ds), dataset_text(ds)),
        Presentable::Array(node) => {
            let text = format!(
                "strata.ChunkedArray<shape={:?}, dtype={}, chunksize={:?}, chunks={}>",
                node.shape(),
                node.dtype,
                node.grid.chunk_shape(),
                node.grid.nchunks()
            );
            (html::array_html(node), text)
        }
        Presentable::TaskGraph(graph) => (html::graph_html(graph), html::graph_text(graph)),
    };
    [("text/html".to_string(), Value::String(html)), ("text/plain".to_string(), Value::String(text))].into_iter().collect()
}

impl<T: BlockElement> Render for DataArray<T> {
    fn mime_bundle(&self) -> MimeBundle {
        bundle(&Presentable::DataArray { name: self.name(), dims: self.dims(), data: self.plan(), coords: self.coords(), attrs: self.attrs() })
    }
}

impl Render for Dataset {
    fn mime_bundle(&self) -> MimeBundle {
        bundle(&Presentable::Dataset(self))
    }
}

impl<T: BlockElement> Render for ChunkedArray<T> {
    fn mime_bundle(&self) -> MimeBundle {
        bundle(&Presentable::Array(self.plan()))
    }
}

impl Render for strata::delayed::TaskGraph {
    fn mime_bundle(&self) -> MimeBundle {
        bundle(&Presentable::TaskGraph(self))
    }
}

struct NotebookPresenter;

impl Presenter for NotebookPresenter {
    fn present(&self, value: &Presentable<'_>) {
        crate::marker::write_result(&bundle(value));
    }
}

/// Makes the runtime's values show as rich cell results in this process.
pub fn install() {
    strata::present::set_presenter(Arc::new(NotebookPresenter));
}
