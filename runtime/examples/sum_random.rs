//! Sums an n x n lazy random array (`sum_random [n]`, 20000 by default, in about 900 chunks
//! of (n / 30)²) and prints the sum, for seeing (and testing) the text progress bar that a
//! program run from a terminal draws on stderr. The bar appears after half a second, or after
//! `STRATA_PROGRESS_AFTER` seconds (`0`: from the first task, whatever the machine's speed).

use strata::prelude::*;

fn main() -> Result<(), StrataError> {
    let n = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let chunk = (n / 30).max(1);
    let x = RandomState::new(7).random(&[n, n], &[chunk, chunk]);
    println!("{}", (&x * 2.0).sum(..).scalar()?);
    Ok(())
}
