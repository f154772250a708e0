//! What a notebook cell's process and the kernel say to each other besides plain text: the
//! marker lines on the cell's stdout ([`marker`]), the answer that stands for "no input", and
//! the environment variable that sets how results are formatted. The kernel and the cells'
//! display crate both depend on this, and on nothing else of Strata's.

pub mod marker;

/// What the kernel answers in place of the user's text when there is none to give: the cell
/// was interrupted while waiting, or the frontend does not take input. Not something a user
/// could type: it starts with the ASCII record separator.
pub const INPUT_CANCELLED: &str = "\u{1e}strata-input-cancelled";

/// Set in the cell process to `{:#?}` (by the kernel, when the user runs `:fmt {:#?}`) to
/// show values pretty-printed; anything else means `{:?}`.
pub const RESULT_FORMAT_ENV: &str = "STRATA_RESULT_FORMAT";
