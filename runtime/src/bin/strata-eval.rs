//! Evaluates a serialised plan (`strata::plan::serial`) in this process and writes the result
//! as JSON (element type, shape, little-endian bytes in base64): a plan built in a notebook,
//! computed elsewhere.
//!
//! ```text
//! strata-eval [--threads N] [PLAN.json]    (the plan on stdin when no file is given)
//! ```

use std::io::{Read, Write};
use std::process::ExitCode;

use strata::exec::{compute, ComputeOptions};
use strata::plan::{serial, Embedded};

fn run() -> Result<(), String> {
    let mut options = ComputeOptions::default();
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                let n = args.next().and_then(|n| n.parse().ok()).ok_or("--threads needs a number")?;
                options = options.threads(n);
            }
            "-h" | "--help" => {
                println!("usage: strata-eval [--threads N] [PLAN.json]");
                return Ok(());
            }
            path => file = Some(path.to_owned()),
        }
    }
    let text = match file {
        Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| format!("stdin: {e}"))?;
            text
        }
    };
    let plan = serial::from_json(&text).map_err(|e| e.to_string())?;
    let result = compute(&plan, &options).map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&Embedded::one(result)).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}").map_err(|e| format!("stdout: {e}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("strata-eval: {message}");
            ExitCode::FAILURE
        }
    }
}
