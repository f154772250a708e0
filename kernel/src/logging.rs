//! The kernel's log, filtered by `STRATA_LOG` (default `warn`), on standard error.
//!
//! The filter can be read again from the environment: a spare engine starts logging before
//! it knows which kernel session it will serve, and then follows that session's
//! `STRATA_LOG` (see [`crate::pool`]). The `log` crate allows one logger per process, so the
//! one installed here delegates to a filter that can be replaced.

use std::sync::RwLock;

struct Reloadable {
    current: RwLock<env_logger::Logger>,
}

static LOGGER: std::sync::OnceLock<Reloadable> = std::sync::OnceLock::new();

fn from_env() -> env_logger::Logger {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("STRATA_LOG", "warn")).build()
}

impl log::Log for Reloadable {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.current.read().map(|l| l.enabled(metadata)).unwrap_or(false)
    }

    fn log(&self, record: &log::Record) {
        if let Ok(logger) = self.current.read() {
            logger.log(record);
        }
    }

    fn flush(&self) {
        if let Ok(logger) = self.current.read() {
            logger.flush();
        }
    }
}

/// Installs the logger, configured from `STRATA_LOG`.
pub fn init() {
    let logger = LOGGER.get_or_init(|| Reloadable { current: RwLock::new(from_env()) });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(logger.current.read().map(|l| l.filter()).unwrap_or(log::LevelFilter::Warn));
    }
}

/// Reads `STRATA_LOG` again.
pub fn reload_from_env() {
    let Some(logger) = LOGGER.get() else { return };
    let fresh = from_env();
    log::set_max_level(fresh.filter());
    if let Ok(mut current) = logger.current.write() {
        *current = fresh;
    }
}
