//! Sums an n x n lazy random array (`sum_random [n]`, 20000 by default) and prints the sum:
//! a computation of a second or two, for seeing (and testing) the text progress bar that a
//! program run from a terminal draws on stderr.

use strata::prelude::*;

fn main() -> Result<(), StrataError> {
    let n = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let x = RandomState::new(7).random(&[n, n], &[1_000, 1_000]);
    println!("{}", (&x * 2.0).sum(..).scalar()?);
    Ok(())
}
