//! Reading input from the notebook user (Jupyter's stdin channel).

use std::io::{BufRead, Write};

pub use strata_markers::INPUT_CANCELLED;
use strata_markers::{INPUT_REQUEST, INPUT_REQUEST_PASSWORD};

/// Asks the user for a line of text and waits for it.
///
/// Ends the cell (with an "interrupted" error, keeping the variables of earlier cells) when
/// the user interrupts instead of answering, or when the frontend cannot ask (for example
/// `jupyter nbconvert --execute`, which runs without stdin).
pub fn input(prompt: &str) -> String {
    checked(request(INPUT_REQUEST, prompt))
}

/// As [`input`], with the typed text hidden.
pub fn input_password(prompt: &str) -> String {
    checked(request(INPUT_REQUEST_PASSWORD, prompt))
}

/// Prints the request line evcxr watches for and reads the answer, one line of stdin. A
/// closed or unreadable stdin reads as no answer at all, as the kernel's cancellation does.
fn request(marker: &str, prompt: &str) -> String {
    let mut stdout = std::io::stdout().lock();
    // The prompt must be one line: the request is read line by line.
    let prompt = prompt.replace('\n', " ");
    if writeln!(stdout, "{marker}:{prompt}").and_then(|()| stdout.flush()).is_err() {
        return INPUT_CANCELLED.to_string();
    }
    drop(stdout);
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => INPUT_CANCELLED.to_string(),
        Ok(_) => line.trim_end_matches(['\r', '\n']).to_string(),
    }
}

fn checked(answer: String) -> String {
    if answer == INPUT_CANCELLED {
        // Unwinding is how a cell stops without taking its process (and variables) with it.
        panic!("no input: the cell was interrupted while waiting, or this frontend does not accept input");
    }
    answer
}
