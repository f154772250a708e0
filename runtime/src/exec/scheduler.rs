//! Runs a plan on the rayon pool: reductions first (each a tree reduction over its input's
//! chunks), then the output chunks, in waves small enough that the bytes in flight stay
//! under the memory budget. Between tasks it checks for cancellation and reports progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::run::Run;
use super::eval::{eval, Materialized, Region};
use super::reduce::{Accumulator, ReduceSpec};
use crate::array::{Block, ChunkGrid, DType};
use crate::error::Error;
use crate::plan::{Node, NodeRef, Op};
use crate::session::{CancelToken, Session};

/// What a computation reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A computation of `tasks` tasks began; a progress bar for it should appear once it has
    /// run for `show_bar_after` (its session's [`Session::progress_after`]).
    Started { tasks: usize, show_bar_after: Duration },
    /// After each task: how many are done, the bytes it produced, the operation it ran
    /// (`reduce`, `cumsum`, or the output's), and how long it took, so that an observer can
    /// total time per operation.
    Task { done: usize, total: usize, bytes: u64, op: &'static str, elapsed: Duration },
    Finished { tasks: usize, elapsed: Duration },
    Failed { done: usize, total: usize, error: Error },
}

/// Receives progress events; called from worker threads.
pub trait Observer: Send + Sync {
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
        paste(&mut out, region, block);
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
    super::pool::install(options, || run_over(node, grid, options, budget, 0, |index, region, block| sink(index, region, block), |_| ()))?
}

fn run(node: &NodeRef, options: &ComputeOptions, budget: u64) -> Result<Vec<Block>, Error> {
    let mut out = Vec::with_capacity(node.grid.nchunks());
    // The whole result is held until the end.
    super::pool::install(options, || run_over(node, &node.grid, options, budget, node.nbytes(), |_, _, block| Ok(block), |blocks| out.extend(blocks)))??;
    Ok(out)
}

/// The scheduler proper: reductions first, then `task` on each region of `grid`, wave by
/// wave, with `merge` receiving each wave's results in region order.
fn run_over<R: Send>(
    node: &NodeRef,
    grid: &ChunkGrid,
    options: &ComputeOptions,
    budget: u64,
    reserved: u64,
    task: impl Fn(usize, &Region, Block) -> Result<R, Error> + Sync,
    merge: impl FnMut(Vec<R>),
) -> Result<(), Error> {
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
    let order = node.post_order();
    // Reductions and the first pass of scans are materialised before the output's tasks.
    let reductions: Vec<&NodeRef> = order.iter().filter(|n| matches!(n.op, Op::Reduce { .. } | Op::CumSum { .. })).collect();
    let total = reductions.iter().map(|r| r.op.inputs()[0].grid.nchunks()).sum::<usize>() + grid.nchunks();
    let run = Run::start(options, total);
    let result = (|| {
        let mut done = Materialized::new();
        for reduction in reductions {
            let block = match reduction.op {
                Op::CumSum { .. } => scan_offsets(reduction, &done, &run, budget)?,
                _ => reduce(reduction, &done, &run, budget)?,
            };
            done.insert(reduction.id, Arc::new(block));
        }
        map_chunks(node, grid, &done, &run, budget, reserved, &task, merge)
    })();
    run.finish(result)
}

/// Bytes one task over `grid`'s chunks may hold: its chunk in each dtype the plan passes
/// through, a few copies per operation (inputs, broadcast, output).
fn task_bytes(node: &Node, grid: &ChunkGrid) -> u64 {
    let elements: u64 = grid.chunk_shape().iter().map(|&n| n as u64).product();
    let ops = node_count(node).clamp(1, 16) as u64;
    elements * 8 * (ops + 2)
}

fn node_count(node: &Node) -> usize {
    // A stored chunk passes through three buffers: the bytes read, the decoded chunk, and
    // the array it becomes.
    let own = if node.op.reads_storage() { 3 } else { 1 };
    own + node
        .op
        .inputs()
        .iter()
        .filter(|i| !matches!(i.op, Op::Reduce { .. }))
        .map(|i| node_count(i))
        .sum::<usize>()
}

/// How many tasks may run at once within `budget`, after `reserved` bytes.
fn waves(task: u64, reserved: u64, budget: u64, what: &str) -> Result<usize, Error> {
    let available = budget.saturating_sub(reserved);
    if task > available {
        return Err(Error::over_budget(format!("one chunk of {what}"), task + reserved, budget));
    }
    Ok(((available / task.max(1)) as usize).clamp(1, rayon::current_num_threads().max(1)))
}

/// Runs `task` on every region, `width` at a time, checking for cancellation before each;
/// `merge` receives each wave's results in region order.
fn in_waves<R: Send>(
    regions: &[Region],
    width: usize,
    run: &Run,
    task: impl Fn(usize, &Region) -> Result<R, Error> + Sync,
    mut merge: impl FnMut(Vec<R>),
) -> Result<(), Error> {
    for (w, wave) in regions.chunks(width).enumerate() {
        let results: Vec<R> = wave
            .par_iter()
            .enumerate()
            .with_max_len(1)
            .map(|(i, region)| {
                run.check()?;
                task(w * width + i, region)
            })
            .collect::<Result<_, Error>>()?;
        merge(results);
    }
    Ok(())
}

fn map_chunks<R: Send>(
    node: &Node,
    grid: &ChunkGrid,
    done: &Materialized,
    run: &Run,
    budget: u64,
    reserved: u64,
    task: &(impl Fn(usize, &Region, Block) -> Result<R, Error> + Sync),
    merge: impl FnMut(Vec<R>),
) -> Result<(), Error> {
    let regions: Vec<Region> = grid.regions();
    let held: u64 = done.values().map(|b| b.nbytes() as u64).sum::<u64>() + reserved;
    let width = waves(task_bytes(node, grid), held, budget, "the computation")?;
    let chunk_task = |index: usize, region: &Region| {
        let started = Instant::now();
        let block = eval(node, region, done)?;
        let bytes = block.nbytes() as u64;
        let result = task(index, region, block)?;
        run.task_done(bytes, node.op.name(), started);
        Ok(result)
    };
    in_waves(&regions, width, run, chunk_task, merge)
}

fn reduce(node: &Node, done: &Materialized, run: &Run, budget: u64) -> Result<Block, Error> {
    let Op::Reduce { input, op, axes, ddof, skipna, groups } = &node.op else {
        return Err(Error::InvalidChunks { reason: "not a reduction".into() });
    };
    let mut in_shape = input.shape();
    if let Some(groups) = groups {
        // The group axis sits right after the reduced one, so a reduction over time of a
        // (time, lat, lon) cube stays a reduction over leading axes (see `add_grouped`).
        in_shape.insert(axes[0] + 1, groups.ngroups);
    }
    let wide = input.dtype == DType::F32 && node.dtype == DType::F64;
    let spec = ReduceSpec { op: *op, axes: axes.clone(), ddof: *ddof, skipna: *skipna, in_shape, wide };
    let out_elements: u64 = spec.out_shape().iter().map(|&n| n as u64).product();
    // Three f64 partials per output element, per task in flight.
    let partial = out_elements * 24;
    let held: u64 = done.values().map(|b| b.nbytes() as u64).sum();
    let width = waves(task_bytes(input, &input.grid) + partial, held + partial, budget, "the reduction")?;
    let regions = input.grid.regions();
    // One accumulator per task slot of a wave, so that tasks never share one and large
    // outputs (group-bys) are not allocated and merged once per chunk; chunk `i` always goes
    // to slot `i % width`, so the order of additions, and the result, do not vary by run.
    let slots: Vec<std::sync::Mutex<Option<Accumulator>>> = (0..width).map(|_| std::sync::Mutex::new(None)).collect();
    let task = |index: usize, region: &Region| {
        let started = Instant::now();
        let block = eval(input, region, done)?;
        let mut slot = slots[index % width].lock().unwrap_or_else(|p| p.into_inner());
        let acc = slot.get_or_insert_with(|| Accumulator::new(&spec));
        match groups {
            Some(groups) => acc.add_grouped(&spec, groups, &block, region),
            None => acc.add_chunk(&spec, &block, region),
        }
        run.task_done(block.nbytes() as u64, "reduce", started);
        Ok(())
    };
    in_waves(&regions, width, run, task, |_| {})?;
    let mut filled = slots.into_iter().filter_map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()));
    let mut total = filled.next().unwrap_or_else(|| Accumulator::new(&spec));
    for acc in filled {
        total.merge(&spec, &acc);
    }
    Ok(total.finish(&spec, node.dtype))
}

/// The first pass of a cumulative sum: each input chunk's total along the axis, turned into
/// the offset each chunk starts from (see `scan`).
fn scan_offsets(node: &Node, done: &Materialized, run: &Run, budget: u64) -> Result<Block, Error> {
    let Op::CumSum { input, axis, skipna } = &node.op else {
        return Err(Error::InvalidChunks { reason: "not a cumulative sum".into() });
    };
    let axis = *axis;
    let mut shape = input.shape();
    shape[axis] = input.grid.chunks()[axis].len();
    let mut totals = Block::F64(ndarray::ArrayD::zeros(ndarray::IxDyn(&shape)));
    let held: u64 = done.values().map(|b| b.nbytes() as u64).sum::<u64>() + totals.nbytes() as u64;
    let width = waves(task_bytes(input, &input.grid), held, budget, "the cumulative sum")?;
    let regions = input.grid.regions();
    let task = |_: usize, region: &Region| {
        let started = Instant::now();
        let block = eval(input, region, done)?;
        let total = super::scan::chunk_total(&block, axis, *skipna);
        run.task_done(block.nbytes() as u64, "cumsum", started);
        Ok((region.clone(), total))
    };
    in_waves(&regions, width, run, task, |parts| {
        for (region, total) in parts {
            let k = input.grid.overlapping(axis, &region[axis]).first().map_or(0, |(k, _)| *k);
            let mut at = region.clone();
            at[axis] = k..k + 1;
            paste(&mut totals, &at, &Block::F64(total));
        }
    })?;
    Ok(Block::F64(super::scan::exclusive_prefix(totals.into_typed::<f64>(), axis)))
}

/// Copies `block` into `out` at `region`.
fn paste(out: &mut Block, region: &[std::ops::Range<usize>], block: &Block) {
    let info: Vec<ndarray::SliceInfoElem> = region
        .iter()
        .map(|r| ndarray::SliceInfoElem::Slice { start: r.start as isize, end: Some(r.end as isize), step: 1 })
        .collect();
    let dtype = out.dtype();
    crate::with_block!(out, o, T => {
        let source = block.cast(dtype).into_typed::<T>();
        o.slice_mut(info.as_slice()).assign(&source);
    });
}
