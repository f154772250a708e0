//! What a user reads when a cell fails: compile errors at their own line and column, panics,
//! `?` errors, and crashes of the cell process described in words.

use super::cell_output::CellSignals;
use super::CellError;
use strata_markers::marker::FailureCause;

/// A compile error pointing at the user's own line and column, or a runtime error.
pub(super) fn describe_error(error: &evcxr::Error, code: &str) -> CellError {
    match error {
        evcxr::Error::CompilationErrors(errors) => {
            let mut traceback = Vec::new();
            for error in errors {
                let head = match error.code() {
                    Some(code) => format!("error[{code}]: {}", error.message()),
                    None => format!("error: {}", error.message()),
                };
                traceback.push(head);
                for spanned in error.spanned_messages() {
                    match &spanned.span {
                        Some(span) => {
                            traceback.push(format!(" --> cell:{}:{}", span.start_line, span.start_column));
                            if let Some(line) = code.lines().nth(span.start_line.saturating_sub(1)) {
                                let gutter = span.start_line.to_string();
                                let pad = " ".repeat(gutter.len());
                                let width = if span.end_line == span.start_line {
                                    span.end_column.saturating_sub(span.start_column).max(1)
                                } else {
                                    1
                                };
                                traceback.push(format!("{pad} |"));
                                traceback.push(format!("{gutter} | {line}"));
                                traceback.push(format!(
                                    "{pad} | {}{} {}",
                                    " ".repeat(span.start_column.saturating_sub(1)),
                                    "^".repeat(width),
                                    spanned.label
                                ));
                            }
                        }
                        None if !spanned.label.is_empty() => traceback.push(format!("  = {}", spanned.label)),
                        None => {}
                    }
                }
                for help in error.help() {
                    traceback.push(format!("  = help: {help}"));
                }
                traceback.push(String::new());
            }
            let evalue = errors.first().map(|e| e.message()).unwrap_or_else(|| "compilation failed".into());
            CellError { ename: "CompileError".into(), evalue, traceback }
        }
        evcxr::Error::TypeRedefinedVariablesLost(vars) => CellError {
            ename: "VariablesLost".into(),
            evalue: format!("redefining a type lost these variables: {}", vars.join(", ")),
            traceback: vec![format!("redefining a type lost these variables: {}", vars.join(", "))],
        },
        other => {
            let message = other.to_string();
            let first = message.lines().next().unwrap_or("error").to_owned();
            let ename = if first.contains("panic") || first.contains("Panic") { "Panic" } else { "Error" };
            CellError { ename: ename.into(), evalue: first, traceback: message.lines().map(str::to_owned).collect() }
        }
    }
}

/// The error for a cell that evcxr ran to its end but that panicked or hit a `?` error.
pub(super) fn failure_error(signals: &CellSignals, interrupted: bool) -> CellError {
    match signals.failed {
        Some(FailureCause::Panic) => {
            let (message, location) = signals
                .panic
                .clone()
                .unwrap_or_else(|| ("the cell panicked".to_owned(), None));
            let mut traceback = Vec::new();
            // Locations inside the cell are evcxr's generated file: only library ones help.
            match location.filter(|l| !l.starts_with("src/lib.rs")) {
                Some(at) => traceback.push(format!("panicked at {at}:")),
                None => traceback.push("panicked:".to_owned()),
            }
            traceback.extend(message.lines().map(str::to_owned));
            let first = message.lines().next().unwrap_or_default().to_owned();
            let ename = if interrupted { "Interrupted" } else { "Panic" };
            CellError { ename: ename.into(), evalue: first, traceback }
        }
        _ => {
            let message = signals
                .recent_stderr
                .last()
                .cloned()
                .unwrap_or_else(|| "the cell returned an error".to_owned());
            let ename = if interrupted { "Interrupted" } else { "Error" };
            CellError { ename: ename.into(), evalue: message.clone(), traceback: vec![message] }
        }
    }
}

/// What a process death means, in words: evcxr reports only the wait status.
pub(super) fn describe_crash(status: &str, stderr: &[String]) -> String {
    let said = |needle: &str| stderr.iter().any(|l| l.contains(needle));
    let cause = if said("Segmentation fault") {
        "a segmentation fault (invalid memory access)".to_owned()
    } else if said("stack overflow") || said("has overflowed its stack") {
        "a stack overflow".to_owned()
    } else if status.contains("SIGSEGV") {
        "a segmentation fault (invalid memory access) or a stack overflow (SIGSEGV)".to_owned()
    } else if status.contains("SIGABRT") {
        "an abort (SIGABRT: std::process::abort, or a crash reported on stderr above)".to_owned()
    } else if status.contains("SIGKILL") {
        "SIGKILL (killed, possibly by the system for using too much memory)".to_owned()
    } else if let Some(code) = status.split("exit status: ").nth(1) {
        format!("the process exiting with status {} (std::process::exit)", code.trim())
    } else {
        status.trim().to_owned()
    };
    format!("{cause}; {}", status.trim())
}

pub(super) fn restart_error(reason: &str, interrupted: bool, lost: &[String]) -> CellError {
    let cause = if interrupted {
        "The cell was interrupted by stopping the process that ran it.".to_owned()
    } else {
        format!("The process running your code stopped: {}.", reason.trim())
    };
    let lost_line = if lost.is_empty() {
        "No variables were lost.".to_owned()
    } else {
        format!("Variables lost: {}. Functions, types and `use` items are kept.", lost.join(", "))
    };
    CellError {
        ename: if interrupted { "Interrupted".into() } else { "ProcessCrashed".into() },
        evalue: format!("{cause} {lost_line}"),
        traceback: vec![cause, lost_line, "A new process was started; the kernel is ready.".into()],
    }
}
