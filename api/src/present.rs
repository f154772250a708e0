//! How the runtime's values ask to be shown, without the runtime knowing how. A front end
//! (strata-display, in notebook cells) installs a [`Presenter`]; `DataArray`, `Dataset` and
//! `ChunkedArray` hand it a plain view of themselves ([`Presentable`]) when a notebook shows
//! them as a cell's value (evcxr calls their `evcxr_display` method). Without a presenter
//! they print their `Debug` text.

use std::sync::Arc;

use crate::array::{BlockElement, ChunkedArray};
use crate::labeled::{Attrs, Coordinate, DataArray, Dataset};
use crate::plan::NodeRef;

/// What a presenter is given: the parts of a value a representation shows.
pub enum Presentable<'a> {
    /// A [`DataArray`], by its parts.
    DataArray {
        /// Its name, if any.
        name: Option<&'a str>,
        /// Its dimension names.
        dims: &'a [String],
        /// The plan of its data (not computed).
        data: &'a NodeRef,
        /// Its coordinates.
        coords: &'a indexmap::IndexMap<String, Coordinate>,
        /// Its attributes.
        attrs: &'a Attrs,
    },
    /// A [`Dataset`].
    Dataset(&'a Dataset),
    /// A [`ChunkedArray`], by its plan.
    Array(&'a NodeRef),
    /// A delayed task graph, to be drawn.
    TaskGraph(&'a crate::delayed::TaskGraph),
}

/// Shows values (installed once per process by the front end).
pub trait Presenter: Send + Sync {
    /// Shows `value` (in a notebook: sends its representation as display data).
    fn present(&self, value: &Presentable<'_>);
}

/// Installs the presenter values are shown through from now on, in the default session.
pub fn set_presenter(presenter: Arc<dyn Presenter>) {
    crate::session::Session::global().set_presenter(Some(presenter));
}

/// Shows `value` through the current session's presenter (else the default session's, which
/// a notebook's front end installed); false when none is installed.
pub fn present(value: &Presentable<'_>) -> bool {
    let presenter = crate::session::Session::current().presenter().or_else(|| crate::session::Session::global().presenter());
    match presenter {
        Some(p) => {
            p.present(value);
            true
        }
        None => false,
    }
}

impl<T: BlockElement> DataArray<T> {
    /// Called by evcxr on a cell's final value: the notebook's rich representation.
    pub fn evcxr_display(&self) {
        let view = Presentable::DataArray { name: self.name(), dims: self.dims(), data: self.plan(), coords: self.coords(), attrs: self.attrs() };
        if !present(&view) {
            println!("{self:?}");
        }
    }
}

impl Dataset {
    /// Called by evcxr on a cell's final value: the notebook's rich representation.
    pub fn evcxr_display(&self) {
        if !present(&Presentable::Dataset(self)) {
            println!("{self:?}");
        }
    }
}

impl<T: BlockElement> ChunkedArray<T> {
    /// Called by evcxr on a cell's final value: the notebook's rich representation.
    pub fn evcxr_display(&self) {
        if !present(&Presentable::Array(self.plan())) {
            println!("{self:?}");
        }
    }
}

impl crate::delayed::TaskGraph {
    /// Called by evcxr on a cell's final value: the drawing of the graph.
    pub fn evcxr_display(&self) {
        if !present(&Presentable::TaskGraph(self)) {
            println!("{}", self.to_dot());
        }
    }
}
