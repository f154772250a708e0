//! A session: the settings computations run with (threads, memory budget, progress observer
//! and the delay before a bar appears, the presenter values are shown through) and the
//! interrupt that stops them, held in one value instead of process globals, as DataFusion's
//! SessionContext holds its configuration.
//!
//! Notebooks and programs use the default session, [`Session::global`]: `set_threads`,
//! `set_memory_budget`, `request_cancel` and SIGINT (the notebook's stop button) act on it.
//! Code that must not share those (a library, a test running beside others) makes its own with
//! [`Session::new`] and either names it in [`ComputeOptions::in_session`] or runs code inside
//! [`Session::enter`]. One computation can also be stopped on its own, whatever its session,
//! through a [`CancelToken`] ([`ComputeOptions::cancel_with`]).
//!
//! [`ComputeOptions::in_session`]: crate::exec::ComputeOptions::in_session
//! [`ComputeOptions::cancel_with`]: crate::exec::ComputeOptions::cancel_with

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;


use crate::error::Error;
use crate::exec::Observer;
use crate::present::Presenter;

/// The environment variable that sets, in seconds, how long a computation runs before its
/// progress bar appears (`0` shows a bar for every computation).
pub const PROGRESS_AFTER_ENV: &str = "STRATA_PROGRESS_AFTER";

/// Asks the computations given it to stop between tasks. Cloning shares the flag.
#[derive(Clone, Default, Debug)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token nobody has cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Stops the computations holding this token: running tasks finish, no new ones start,
    /// and each computation returns [`Error::Interrupted`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn same(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What computations run with, and what stops them. Cheap to clone: clones share settings.
#[derive(Clone)]
pub struct Session {
    state: Arc<State>,
}

struct State {
    /// `None`: one thread per core (the executor's default pool).
    threads: RwLock<Option<usize>>,
    /// `None`: half of physical memory.
    budget: RwLock<Option<u64>>,
    /// Where computations naming no observer report; `None`: a text bar on a terminal.
    observer: RwLock<Option<Arc<dyn Observer>>>,
    /// The text bar, made on first use when stderr is a terminal.
    terminal: OnceLock<Option<Arc<dyn Observer>>>,
    /// `None`: `STRATA_PROGRESS_AFTER`, else half a second.
    progress_after: RwLock<Option<Duration>>,
    presenter: RwLock<Option<Arc<dyn Presenter>>>,
    /// Pools by size, built once: a notebook that times 1 against 4 threads in a loop should
    /// not start threads on every run.
    /// The executor's pools (opaque here: the API starts no threads).
    pools: Mutex<HashMap<usize, Arc<dyn Any + Send + Sync>>>,
    /// The tokens of the computations running now, which [`Session::interrupt`] cancels.
    running: Mutex<Vec<CancelToken>>,
    /// The default session: SIGINT interrupts its computations.
    answers_sigint: bool,
}

thread_local! {
    /// Sessions entered on this thread ([`Session::enter`]), innermost last.
    static ENTERED: RefCell<Vec<Session>> = const { RefCell::new(Vec::new()) };
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("threads", &*read(&self.state.threads))
            .field("budget", &*read(&self.state.budget))
            .field("progress_after", &self.progress_after())
            .field("running", &lock(&self.state.running).len())
            .field("answers_sigint", &self.state.answers_sigint)
            .finish()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    /// A session of its own: default settings, its own interrupt, not stopped by SIGINT.
    pub fn new() -> Session {
        Session::with_sigint(false)
    }

    fn with_sigint(answers_sigint: bool) -> Session {
        Session {
            state: Arc::new(State {
                threads: RwLock::new(None),
                budget: RwLock::new(None),
                observer: RwLock::new(None),
                terminal: OnceLock::new(),
                progress_after: RwLock::new(None),
                presenter: RwLock::new(None),
                pools: Mutex::new(HashMap::new()),
                running: Mutex::new(Vec::new()),
                answers_sigint,
            }),
        }
    }

    /// The default session of this process: the notebook's, or a program's. SIGINT (the
    /// notebook's stop button, Ctrl-C) interrupts its computations.
    pub fn global() -> &'static Session {
        static GLOBAL: OnceLock<Session> = OnceLock::new();
        GLOBAL.get_or_init(|| Session::with_sigint(true))
    }

    /// The session computations started here use when their options name none: the
    /// innermost one [`Session::enter`]ed on this thread, else the default one.
    pub fn current() -> Session {
        ENTERED.with(|entered| entered.borrow().last().cloned()).unwrap_or_else(|| Session::global().clone())
    }

    /// Runs `f` with this session as [`Session::current`] on this thread: computations it
    /// starts (arrays, bags, delayed graphs, writes) use this session's settings and
    /// interrupt.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                ENTERED.with(|entered| entered.borrow_mut().pop());
            }
        }
        ENTERED.with(|entered| entered.borrow_mut().push(self.clone()));
        let _leave = Leave;
        f()
    }

    /// Whether `other` is this session (a clone of it), not one with equal settings.
    pub fn same(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }

    /// True for the default session, whose computations SIGINT stops.
    pub fn answers_sigint(&self) -> bool {
        self.state.answers_sigint
    }

    // -- threads --------------------------------------------------------------------------

    /// Runs computations on `threads` threads from now on (`None`: one per core).
    pub fn set_threads(&self, threads: Option<usize>) -> Result<(), Error> {
        if let Some(n) = threads {
            // Started now, so that a pool that cannot start fails here, not in a computation.
            crate::executor::executor().install(self, n, &mut || {})?;
        }
        *write(&self.state.threads) = threads;
        Ok(())
    }

    /// The thread count set with [`Session::set_threads`], if any.
    pub fn threads_setting(&self) -> Option<usize> {
        *read(&self.state.threads)
    }

    /// The executor's pool of `threads` threads for this session, made with `make` on first
    /// use and kept for the session's life (for executors: the API starts no threads).
    #[doc(hidden)]
    pub fn pool<P: Any + Send + Sync>(&self, threads: usize, make: impl FnOnce(usize) -> Result<P, Error>) -> Result<Arc<P>, Error> {
        let threads = threads.max(1);
        let mut pools = lock(&self.state.pools);
        if let Some(pool) = pools.get(&threads).and_then(|p| p.clone().downcast::<P>().ok()) {
            return Ok(pool);
        }
        let pool = Arc::new(make(threads)?);
        pools.insert(threads, pool.clone());
        Ok(pool)
    }

    // -- memory ---------------------------------------------------------------------------

    /// Bytes a computation may hold at once: set with [`Session::set_memory_budget`], else
    /// half of the memory the executor says this process may use (the machine's, or its
    /// container's limit), 4 GiB where that cannot be told.
    pub fn memory_budget(&self) -> u64 {
        read(&self.state.budget).unwrap_or_else(|| crate::executor::executor().memory_limit().map_or(4 << 30, |m| m / 2))
    }

    /// Sets the bytes this session's computations may hold at once.
    pub fn set_memory_budget(&self, bytes: u64) {
        *write(&self.state.budget) = Some(bytes);
    }

    // -- progress -------------------------------------------------------------------------

    /// The observer of computations whose options name none: the one set, else a text bar
    /// when stderr is a terminal.
    pub fn observer(&self) -> Option<Arc<dyn Observer>> {
        read(&self.state.observer).clone().or_else(|| {
            self.state
                .terminal
                .get_or_init(|| crate::exec::terminal::TerminalProgress::for_stderr().map(|t| Arc::new(t) as Arc<dyn Observer>))
                .clone()
        })
    }

    /// Sets the observer of computations whose options name none (a notebook's progress
    /// bar: strata-display installs one in each cell process). `None` removes it.
    pub fn set_observer(&self, observer: Option<Arc<dyn Observer>>) {
        *write(&self.state.observer) = observer;
    }

    /// How long a computation runs before a progress bar (in a notebook or on a terminal)
    /// appears: set with [`Session::set_progress_after`], else `STRATA_PROGRESS_AFTER`
    /// seconds from the environment, else half a second. Short computations thus draw
    /// nothing, and a test or a lesson that must show a bar whatever the machine's speed sets
    /// it to zero.
    pub fn progress_after(&self) -> Duration {
        read(&self.state.progress_after).unwrap_or_else(|| {
            std::env::var(PROGRESS_AFTER_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(Duration::from_millis(500), Duration::from_secs_f64)
        })
    }

    /// Sets how long this session's computations run before a progress bar appears.
    pub fn set_progress_after(&self, delay: Duration) {
        *write(&self.state.progress_after) = Some(delay);
    }

    // -- display --------------------------------------------------------------------------

    /// The presenter values are shown through, if a front end installed one.
    pub fn presenter(&self) -> Option<Arc<dyn Presenter>> {
        read(&self.state.presenter).clone()
    }

    /// Installs the presenter this session's values are shown through; `None` removes it.
    pub fn set_presenter(&self, presenter: Option<Arc<dyn Presenter>>) {
        *write(&self.state.presenter) = presenter;
    }

    // -- interrupting ---------------------------------------------------------------------

    /// Stops every computation of this session running now (what the notebook's stop button
    /// does to the default session). Computations started afterwards run normally.
    pub fn interrupt(&self) {
        for token in lock(&self.state.running).iter() {
            token.cancel();
        }
    }

    /// Registers a computation's token until the returned guard is dropped.
    pub(crate) fn running(&self, token: &CancelToken) -> Running {
        lock(&self.state.running).push(token.clone());
        Running { session: self.clone(), token: token.clone() }
    }
}

/// A computation's place among its session's running ones.
pub(crate) struct Running {
    session: Session,
    token: CancelToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = lock(&self.session.state.running);
        if let Some(at) = running.iter().position(|t| t.same(&self.token)) {
            running.swap_remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_keep_their_own_settings() {
        let a = Session::new();
        let b = Session::new();
        a.set_memory_budget(1 << 20);
        a.set_progress_after(Duration::ZERO);
        assert_eq!(a.memory_budget(), 1 << 20);
        assert_ne!(b.memory_budget(), 1 << 20);
        assert_eq!(a.progress_after(), Duration::ZERO);
        a.set_threads(Some(3)).unwrap();
        assert_eq!(a.threads_setting(), Some(3));
        assert_eq!(b.threads_setting(), None);
        assert!(!a.answers_sigint() && Session::global().answers_sigint());
    }

    #[test]
    fn entering_a_session_makes_it_current_on_this_thread_only() {
        let mine = Session::new();
        assert!(Session::current().same(Session::global()));
        mine.enter(|| {
            assert!(Session::current().same(&mine));
            let elsewhere = std::thread::spawn(|| Session::current().same(Session::global())).join().unwrap();
            assert!(elsewhere, "another thread still uses the default session");
            Session::new().enter(|| assert!(!Session::current().same(&mine)));
            assert!(Session::current().same(&mine));
        });
        assert!(Session::current().same(Session::global()));
    }

    #[test]
    fn an_interrupt_cancels_only_the_computations_running_in_that_session() {
        let (a, b) = (Session::new(), Session::new());
        let (in_a, in_b, later) = (CancelToken::new(), CancelToken::new(), CancelToken::new());
        let running_a = a.running(&in_a);
        let _running_b = b.running(&in_b);
        a.interrupt();
        assert!(in_a.is_cancelled() && !in_b.is_cancelled());
        drop(running_a);
        let _later = a.running(&later);
        assert!(!later.is_cancelled(), "an interrupt does not outlive the computations it stopped");
    }
}
