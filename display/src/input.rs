//! Reading input from the notebook user (Jupyter's stdin channel).

pub use strata_markers::INPUT_CANCELLED;

/// Asks the user for a line of text and waits for it.
///
/// Ends the cell (with an "interrupted" error, keeping the variables of earlier cells) when
/// the user interrupts instead of answering, or when the frontend cannot ask (for example
/// `jupyter nbconvert --execute`, which runs without stdin).
pub fn input(prompt: &str) -> String {
    checked(evcxr_input::get_string(prompt))
}

/// As [`input`], with the typed text hidden.
pub fn input_password(prompt: &str) -> String {
    checked(evcxr_input::get_password(prompt))
}

fn checked(answer: String) -> String {
    if answer == INPUT_CANCELLED {
        // Unwinding is how a cell stops without taking its process (and variables) with it.
        panic!("no input: the cell was interrupted while waiting, or this frontend does not accept input");
    }
    answer
}
