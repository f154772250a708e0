//! Reading input from the notebook user (Jupyter's stdin channel).

/// What the kernel answers in place of the user's text when there is none to give: the cell
/// was interrupted while waiting, or the frontend does not take input. Not something a user
/// could type: it starts with the ASCII record separator.
pub const INPUT_CANCELLED: &str = "\u{1e}strata-input-cancelled";

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
