//! What a notebook cell's process and the kernel say to each other besides plain text: the
//! marker lines on the cell's stdout ([`marker`]), the answer that stands for "no input", and
//! the environment variable that sets how results are formatted. The kernel and the cells'
//! display crate both depend on this, and on nothing else of Strata's.

pub mod marker;

/// The line a cell prints to ask for input, `EVCXR_INPUT_REQUEST:<prompt>`: evcxr reads it on
/// the cell's stdout, the kernel sends Jupyter's `input_request`, and the answer comes back
/// as one line on the cell's stdin. This is evcxr's own input protocol (its `evcxr_input`
/// crate, which the kernel's tests check these against); spelled here so that cells need not
/// link a crate for two strings.
pub const INPUT_REQUEST: &str = "EVCXR_INPUT_REQUEST";

/// As [`INPUT_REQUEST`], for input typed hidden (a password).
pub const INPUT_REQUEST_PASSWORD: &str = "EVCXR_INPUT_REQUEST_PASSWORD";

/// What the kernel answers in place of the user's text when there is none to give: the cell
/// was interrupted while waiting, or the frontend does not take input. Not something a user
/// could type: it starts with the ASCII record separator.
pub const INPUT_CANCELLED: &str = "\u{1e}strata-input-cancelled";

/// Set in the cell process to `{:#?}` (by the kernel, when the user runs `:fmt {:#?}`) to
/// show values pretty-printed; anything else means `{:?}`.
pub const RESULT_FORMAT_ENV: &str = "STRATA_RESULT_FORMAT";
