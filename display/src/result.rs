//! How a cell's final value is shown when it has no richer form: its `Debug` text.
//!
//! evcxr shows a final value by first compiling a call to `.evcxr_display()` and, when that
//! does not compile (most values), compiling the cell again with `{:?}`: two compiles for the
//! most common cell. [`DebugResult`] gives every `Debug` value an `evcxr_display` method, so
//! the first compile succeeds. Rich types (`Html`, datasets, plots) have an *inherent*
//! `evcxr_display`, and Rust picks an inherent method over a trait's, so they still show
//! richly; a trait method of the same name on them would be ambiguous.

use std::fmt::Debug;

use crate::marker;

pub use strata_markers::RESULT_FORMAT_ENV;

pub trait DebugResult {
    fn evcxr_display(&self);
}

impl<T: Debug + ?Sized> DebugResult for T {
    fn evcxr_display(&self) {
        let pretty = std::env::var(RESULT_FORMAT_ENV).is_ok_and(|f| f == "{:#?}");
        let text = if pretty { format!("{self:#?}") } else { format!("{self:?}") };
        let mut bundle = marker::Bundle::new();
        bundle.insert("text/plain".into(), text.into());
        marker::write_result(&bundle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Html;

    // Which method a call resolves to is decided at compile time; these calls compile only
    // if resolution picks one method without ambiguity (the output goes to the test's stdout).
    #[test]
    fn debug_values_and_rich_values_both_resolve() {
        (1_i32 + 1).evcxr_display();
        "text".evcxr_display();
        vec![1, 2].evcxr_display();
        Html("<b>x</b>").evcxr_display();
        let html = Html("<i>y</i>");
        (&html).evcxr_display();
        html.evcxr_display();
    }
}
