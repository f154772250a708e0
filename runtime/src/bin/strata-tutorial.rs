//! Generates the tutorial datasets the notebooks open (cached; see `strata::io::tutorial`) and
//! prints each one's name and path, tab-separated. The kernel's `strata tutorial` runs this.
//!
//! ```text
//! strata-tutorial [NAME...]     (default: every dataset)
//! ```

use std::process::ExitCode;

use strata::io::tutorial;

fn main() -> ExitCode {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let all: Vec<String> = tutorial::DATASETS.iter().map(|s| s.to_string()).collect();
    for name in if names.is_empty() { &all } else { &names } {
        match tutorial::path(name) {
            Ok(path) => println!("{name}\t{}", path.display()),
            Err(e) => {
                eprintln!("strata-tutorial: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
