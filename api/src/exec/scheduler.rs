//! Running a plan: it is optimised, lowered to a [`TaskGraph`], and its stages handed to a
//! [`Scheduler`] one after another: each partial stage's partials merged into the stage's
//! result, which later stages read; the last stage's blocks go to the caller's sink (collected
//! into the result, or written to a store as they come). The scheduler decides where tasks
//! run and how many at once; [`LocalScheduler`] runs them on this process's threads within
//! the memory budget.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::eval::{Materialized, Region};
use super::graph::{Partial, Stage, TaskGraph};
use super::local::LocalScheduler;
pub use super::run::Run;
use crate::array::{Block, ChunkGrid};
use crate::error::Error;
use crate::plan::NodeRef;
use crate::session::{CancelToken, Session};

/// What a computation reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A computation of `tasks` tasks began; a progress bar for it should appear once it has
    /// run for `show_bar_after` (its session's [`Session::progress_after`]).
    Started {
        /// How many tasks the computation has.
        tasks: usize,
        /// How long to wait before showing a bar.
        show_bar_after: Duration,
    },
    /// After each task: how many are done, the bytes it produced, the operation it ran
    /// (`reduce`, `cumsum`, or the output's), and how long it took, so that an observer can
    /// total time per operation.
    Task {
        /// Tasks done so far, this one included.
        done: usize,
        /// Tasks in the computation.
        total: usize,
        /// Bytes of the chunk the task evaluated (0 for tasks that are not chunks).
        bytes: u64,
        /// The operation the task ran.
        op: &'static str,
        /// How long the task took.
        elapsed: Duration,
    },
    /// The computation finished successfully.
    Finished {
        /// How many tasks it ran.
        tasks: usize,
        /// How long it took.
        elapsed: Duration,
    },
    /// The computation stopped with an error (an interrupt included).
    Failed {
        /// Tasks done before it stopped.
        done: usize,
        /// Tasks in the computation.
        total: usize,
        /// Why it stopped.
        error: Error,
    },
}

/// Receives progress events; called from worker threads.
pub trait Observer: Send + Sync {
    /// Handles one event; called from any thread, so it should be quick.
    fn event(&self, progress: &Progress);
}

/// How one computation runs. Every field left unset comes from the session
/// ([`Session::current`]: the one entered on this thread, else the default one).
#[derive(Clone, Default)]
pub struct ComputeOptions {
    /// Bytes the computation may hold at once; `None`: the session's budget.
    pub budget: Option<u64>,
    /// Where progress goes; `None`: the session's observer (a notebook's bar).
    pub observer: Option<Arc<dyn Observer>>,
    /// Run the plan as built, without the optimizer's passes (for comparing the two).
    pub unoptimized: bool,
    /// Threads to run on; `None`: the session's setting ([`Session::set_threads`]).
    pub threads: Option<usize>,
    /// The session to run in; `None`: [`Session::current`].
    pub session: Option<Session>,
    /// A token that stops this computation alone ([`CancelToken::cancel`]), besides its
    /// session's interrupt.
    pub cancel: Option<CancelToken>,
    /// Where tasks run; `None`: this process's threads ([`LocalScheduler`]).
    pub scheduler: Option<Arc<dyn Scheduler>>,
}

impl ComputeOptions {
    /// Runs on `threads` threads (1: serially, for timing against the parallel run).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Holds at most `bytes` at once.
    pub fn budget(mut self, bytes: u64) -> Self {
        self.budget = Some(bytes);
        self
    }

    /// Reports progress to `observer` instead of the session's.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Runs in `session`: its settings, and its interrupt stops the computation.
    pub fn in_session(mut self, session: &Session) -> Self {
        self.session = Some(session.clone());
        self
    }

    /// Stops when `token` is cancelled, from any thread.
    pub fn cancel_with(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Runs tasks with `scheduler`.
    pub fn scheduler_with(mut self, scheduler: Arc<dyn Scheduler>) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// The scheduler tasks run on.
    pub fn scheduler(&self) -> Arc<dyn Scheduler> {
        self.scheduler.clone().unwrap_or_else(|| Arc::new(LocalScheduler))
    }

    /// The session the computation runs in.
    pub fn session(&self) -> Session {
        self.session.clone().unwrap_or_else(Session::current)
    }

    /// These options with the session fixed to [`ComputeOptions::session`]: entry points
    /// resolve it on the caller's thread, before work moves to pool threads (where no session
    /// is entered).
    pub fn resolved(&self) -> ComputeOptions {
        ComputeOptions { session: Some(self.session()), ..self.clone() }
    }

    /// The memory budget: the options', else the session's.
    pub fn memory_budget(&self) -> u64 {
        self.budget.unwrap_or_else(|| self.session().memory_budget())
    }
}

impl std::fmt::Debug for ComputeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeOptions")
            .field("budget", &self.budget)
            .field("observer", &self.observer.as_ref().map(|_| "..."))
            .field("unoptimized", &self.unoptimized)
            .field("threads", &self.threads)
            .field("session", &self.session)
            .field("cancel", &self.cancel)
            .field("scheduler", &self.scheduler.as_ref().map(|s| s.name()))
            .finish()
    }
}

/// The default session's observer: the observer of computations whose options and session
/// name none (strata-display installs a notebook's progress bar in each cell process).
/// `None` removes it.
pub fn set_default_observer(observer: Option<Arc<dyn Observer>>) {
    Session::global().set_observer(observer);
}

/// The default session's memory budget: set with [`set_memory_budget`], else half of
/// physical memory (4 GiB where that cannot be read).
pub fn memory_budget() -> u64 {
    Session::global().memory_budget()
}

/// Sets the default session's memory budget.
pub fn set_memory_budget(bytes: u64) {
    Session::global().set_memory_budget(bytes);
}

/// How long a computation of the default session runs before its progress bar appears
/// ([`Session::progress_after`]).
pub fn progress_after() -> Duration {
    Session::global().progress_after()
}

/// Sets how long a computation of the default session runs before its progress bar appears.
pub fn set_progress_after(delay: Duration) {
    Session::global().set_progress_after(delay);
}

/// Computes the whole array.
pub fn compute(node: &NodeRef, options: &ComputeOptions) -> Result<Block, Error> {
    let options = &options.resolved();
    let budget = options.memory_budget();
    let needed = node.nbytes();
    if needed > budget {
        return Err(Error::over_budget(format!("the result ({:?} {})", node.shape(), node.dtype), needed, budget));
    }
    let chunks = run(node, options, budget)?;
    let regions = node.grid.regions();
    if regions.len() == 1 {
        if let Some(only) = chunks.into_iter().next() {
            return Ok(only);
        }
        return Ok(Block::full(node.dtype, &node.shape(), 0.0));
    }
    let mut out = Block::full(node.dtype, &node.shape(), 0.0);
    for (region, block) in regions.iter().zip(&chunks) {
        out.paste(region, block)?;
    }
    Ok(out)
}

/// Computes every chunk, in row-major order of the grid (for `persist`).
pub fn compute_chunks(node: &NodeRef, options: &ComputeOptions) -> Result<Vec<Block>, Error> {
    let options = &options.resolved();
    let budget = options.memory_budget();
    let needed = node.nbytes();
    if needed > budget {
        return Err(Error::over_budget("persisting the array", needed, budget));
    }
    run(node, options, budget)
}

/// Computes `node` over the regions of `grid` (any grid over its shape: a writer's chunks
/// need not be the plan's) and hands each block to `sink` with its row-major number, from
/// worker threads. At most one wave of blocks is alive at a time, so a write streams.
pub fn for_each_region(
    node: &NodeRef,
    grid: &ChunkGrid,
    options: &ComputeOptions,
    sink: impl Fn(usize, &Region, Block) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    let options = &options.resolved();
    let budget = options.memory_budget();
    super::pool::install(options, || run_over(node, grid, options, budget, 0, &sink))?
}

fn run(node: &NodeRef, options: &ComputeOptions, budget: u64) -> Result<Vec<Block>, Error> {
    let slots: Vec<Mutex<Option<Block>>> = (0..node.grid.nchunks()).map(|_| Mutex::new(None)).collect();
    let sink = |index: usize, _: &Region, block: Block| {
        let slot = slots.get(index).ok_or_else(|| Error::InvalidChunks { reason: format!("chunk {index} of {}", slots.len()) })?;
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(block);
        Ok(())
    };
    // The whole result is held until the end.
    super::pool::install(options, || run_over(node, &node.grid, options, budget, node.nbytes(), &sink))??;
    slots
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()).ok_or_else(|| Error::InvalidChunks { reason: "a chunk of the result was not computed".into() }))
        .collect()
}

/// Where a scheduler hands the output's blocks, from any thread: the chunk's number in the
/// output grid, its region, its values.
pub type BlockSink<'a> = dyn Fn(usize, &Region, Block) -> Result<(), Error> + Sync + 'a;

/// Runs the stages of task graphs. Implementations decide where tasks run (this process's
/// threads, or workers elsewhere: tasks are a stage, which names plan nodes, and a chunk) and
/// how many at once; the driver merges what they return and orders the stages.
pub trait Scheduler: Send + Sync {
    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;

    /// Runs every task of a reduction or scan `stage` ([`Stage::fold`]) and returns partials
    /// whose merge, in the order given, is the stage's result. `inputs` holds the results of
    /// earlier stages; tasks report to `run` and stop when it is cancelled.
    fn partials(&self, stage: &Stage, inputs: &Materialized, run: &Run, budget: u64) -> Result<Vec<Partial>, Error>;

    /// Computes every chunk of the output `stage` ([`Stage::output`]) and hands each to
    /// `sink`, holding at most `budget` bytes at once besides the `reserved` the caller holds.
    fn outputs(&self, stage: &Stage, inputs: &Materialized, run: &Run, budget: u64, reserved: u64, sink: &BlockSink<'_>) -> Result<(), Error>;
}

/// The driver: the plan's stages in order on `options`' scheduler, the output over `grid`.
fn run_over(node: &NodeRef, grid: &ChunkGrid, options: &ComputeOptions, budget: u64, reserved: u64, sink: &BlockSink<'_>) -> Result<(), Error> {
    if let Some(error) = node.first_error() {
        return Err(error);
    }
    let optimized;
    let node = if options.unoptimized {
        node
    } else {
        optimized = crate::plan::optimize::optimize(node);
        &optimized
    };
    let graph = TaskGraph::lower(node, grid);
    let scheduler = options.scheduler();
    let run = Run::start(options, graph.ntasks());
    let result = (|| {
        let mut done = Materialized::new();
        let Some((output, partial_stages)) = graph.stages.split_last() else { return Ok(()) };
        for stage in partial_stages {
            let mut partials = scheduler.partials(stage, &done, &run, budget)?.into_iter();
            let mut merged = partials.next().unwrap_or_else(|| stage.empty_partial());
            for partial in partials {
                stage.merge(&mut merged, partial)?;
            }
            done.insert(stage.node.id, Arc::new(stage.finish(merged)?));
        }
        scheduler.outputs(output, &done, &run, budget, reserved, sink)
    })();
    run.finish(result)
}
