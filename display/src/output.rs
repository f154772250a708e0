//! Showing values from a cell: `display`, display handles, `clear_output`, and the
//! displayable wrapper types.

use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::marker::{self, Marker};

/// mime type -> content (a string for text formats and base64 images, JSON otherwise).
pub type MimeBundle = Map<String, Value>;

/// Anything that can be shown in a notebook. `text/plain` should always be present: it is
/// what consoles, and notebooks with rich output stripped, show.
///
/// For a value of the type to show richly as a cell's result, the type also needs an
/// inherent `evcxr_display` method calling [`show_result`] (see [`crate::result`] for why
/// inherent): `impl MyType { pub fn evcxr_display(&self) { show_result(self) } }`.
pub trait Render {
    fn mime_bundle(&self) -> MimeBundle;
}

/// Shows `value` as the cell's result (`execute_result`).
pub fn show_result<T: Render + ?Sized>(value: &T) {
    marker::write_result(&value.mime_bundle());
}

/// Gives rich types the inherent `evcxr_display` method that cell results are shown through.
macro_rules! show_as_result {
    ($($name:ident),*) => {$(
        impl<S: AsRef<str>> $name<S> {
            /// Called by evcxr on a cell's final value.
            pub fn evcxr_display(&self) {
                show_result(self)
            }
        }
    )*};
}

show_as_result!(Html, Markdown, Text);

impl<T: Render + ?Sized> Render for &T {
    fn mime_bundle(&self) -> MimeBundle {
        (**self).mime_bundle()
    }
}

fn bundle(pairs: &[(&str, String)]) -> MimeBundle {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect()
}

/// HTML, shown rendered; its text with tags removed is the plain-text form.
#[derive(Debug, Clone, PartialEq)]
pub struct Html<S: AsRef<str> = String>(pub S);

impl<S: AsRef<str>> Render for Html<S> {
    fn mime_bundle(&self) -> MimeBundle {
        let html = self.0.as_ref();
        bundle(&[("text/html", html.to_owned()), ("text/plain", strip_tags(html))])
    }
}

/// Markdown, rendered by the frontend.
#[derive(Debug, Clone, PartialEq)]
pub struct Markdown<S: AsRef<str> = String>(pub S);

impl<S: AsRef<str>> Render for Markdown<S> {
    fn mime_bundle(&self) -> MimeBundle {
        let md = self.0.as_ref();
        bundle(&[("text/markdown", md.to_owned()), ("text/plain", md.to_owned())])
    }
}

/// Plain text, shown as is (no Debug quoting).
#[derive(Debug, Clone, PartialEq)]
pub struct Text<S: AsRef<str> = String>(pub S);

impl<S: AsRef<str>> Render for Text<S> {
    fn mime_bundle(&self) -> MimeBundle {
        bundle(&[("text/plain", self.0.as_ref().to_owned())])
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// A shown output that can be replaced later, in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayHandle {
    id: String,
}

impl DisplayHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Replaces what this handle shows with `value`.
    pub fn update<T: Render>(&self, value: T) {
        Marker::Update {
            data: value.mime_bundle(),
            metadata: Map::new(),
            display_id: self.id.clone(),
        }
        .emit();
    }
}

fn new_display_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}-{}", std::process::id(), nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Shows `value` now, in the middle of a cell, and returns a handle to update it. Takes the
/// value or a reference to it (`display(&ds)` keeps `ds` usable).
pub fn display<T: Render>(value: T) -> DisplayHandle {
    let handle = DisplayHandle { id: new_display_id() };
    Marker::Display {
        data: value.mime_bundle(),
        metadata: Map::new(),
        display_id: Some(handle.id.clone()),
    }
    .emit();
    handle
}

/// Clears the cell's output; with `wait`, when the next output arrives (no flicker).
pub fn clear_output(wait: bool) {
    Marker::Clear { wait }.emit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_always_carry_plain_text() {
        let b = Html("<b>bold</b> &amp; more").mime_bundle();
        assert_eq!(b["text/html"], "<b>bold</b> &amp; more");
        assert_eq!(b["text/plain"], "bold &amp; more");
        assert_eq!(Markdown(String::from("# T")).mime_bundle()["text/markdown"], "# T");
        assert_eq!(Text("x").mime_bundle().len(), 1);
    }

    #[test]
    fn display_ids_are_unique() {
        assert_ne!(new_display_id(), new_display_id());
    }
}
