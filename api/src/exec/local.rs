//! The scheduler that runs tasks on this process's thread pool (the executor's), in waves small enough that the
//! bytes in flight stay under the memory budget, checking for cancellation before each task.

use std::sync::Mutex;

use super::eval::{stored_reads, Materialized, Region};
use super::graph::{Partial, Stage, StageKind};
use super::run::Run;
use super::scheduler::{BlockSink, Scheduler};
use crate::array::ChunkGrid;
use crate::error::Error;
use crate::executor::executor;
use crate::plan::{Node, Op};

/// Runs tasks on the pool the computation was installed in (`exec::pool`), through the
/// executor.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalScheduler;

impl Scheduler for LocalScheduler {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn partials(&self, stage: &Stage, inputs: &Materialized, run: &Run, budget: u64) -> Result<Vec<Partial>, Error> {
        let partial = stage.partial_bytes();
        let what = match stage.kind {
            StageKind::ScanTotals { .. } => "the cumulative sum",
            StageKind::Reduce { .. } | StageKind::Output => "the reduction",
        };
        // Each task holds its chunk and its slot's partial; the stage's result is held once.
        let task = task_bytes(&stage.expr, &stage.grid) + partial;
        let reserved = held(inputs) + stage.result_bytes();
        let width = waves(task, reserved, budget, what)?;
        let ahead = lookahead(&stage.grid, task, reserved, budget, width);
        // One partial per task slot of a wave, so that tasks never share one and large
        // partials (group-bys) are not allocated and merged once per chunk; chunk `i` always
        // goes to slot `i % width`, so the order of additions, and the result, do not vary by
        // run.
        let slots: Vec<Mutex<Option<Partial>>> = (0..width).map(|_| Mutex::new(None)).collect();
        let task = |index: usize, region: &Region| {
            run.task(stage.op_name(), || {
                let mut slot = slots[index % width].lock().unwrap_or_else(|p| p.into_inner());
                let partial = slot.get_or_insert_with(|| stage.empty_partial());
                Ok(((), stage.fold(partial, region, inputs)?))
            })
        };
        in_waves(&stage.expr, &stage.grid.regions(), width, ahead, task)?;
        Ok(slots.into_iter().filter_map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner())).collect())
    }

    fn outputs(&self, stage: &Stage, inputs: &Materialized, run: &Run, budget: u64, reserved: u64, sink: &BlockSink<'_>) -> Result<(), Error> {
        let task_size = task_bytes(&stage.expr, &stage.grid);
        let width = waves(task_size, held(inputs) + reserved, budget, "the computation")?;
        let ahead = lookahead(&stage.grid, task_size, held(inputs) + reserved, budget, width);
        let task = |index: usize, region: &Region| {
            run.task(stage.op_name(), || {
                let block = stage.output(region, inputs)?;
                let bytes = block.nbytes() as u64;
                sink(index, region, block)?;
                Ok(((), bytes))
            })
        };
        in_waves(&stage.expr, &stage.grid.regions(), width, ahead, task)
    }
}

fn held(inputs: &Materialized) -> u64 {
    inputs.values().map(|b| b.nbytes() as u64).sum()
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
    own + node.op.inputs().iter().filter(|i| !matches!(i.op, Op::Reduce { .. })).map(|i| node_count(i)).sum::<usize>()
}

/// How many tasks may run at once within `budget`, after `reserved` bytes.
fn waves(task: u64, reserved: u64, budget: u64, what: &str) -> Result<usize, Error> {
    let available = budget.saturating_sub(reserved);
    if task > available {
        return Err(Error::over_budget(format!("one chunk of {what}"), task + reserved, budget));
    }
    Ok(((available / task.max(1)) as usize).clamp(1, executor().current_threads().max(1)))
}

/// Tasks whose stored chunks may be fetched ahead of the running wave, at most.
const PREFETCH_TASKS: usize = 64;

/// Stored chunks handed to the executor to fetch at a time, at most: dozens of requests keep
/// an object store busy; more only queue.
const PREFETCH_READS: usize = 64;

/// How many tasks past the running wave may have their stored chunks fetched ahead: what the
/// budget leaves after the wave, counting a fetched chunk at its decoded size.
fn lookahead(grid: &ChunkGrid, task: u64, reserved: u64, budget: u64, width: usize) -> usize {
    let chunk: u64 = grid.chunk_shape().iter().map(|&n| n as u64).product::<u64>() * 8;
    let left = budget.saturating_sub(reserved).saturating_sub(task * width as u64);
    ((left / 2 / chunk.max(1)) as usize).min(PREFETCH_TASKS)
}

/// Runs `task` on every region of `expr`, `width` at a time (each task checks for
/// cancellation through [`Run::task`]). Before each wave, the stored chunks of its tasks and
/// of up to `ahead` tasks after it are handed to the executor to fetch
/// ([`crate::executor::Executor::prefetch`]).
fn in_waves(expr: &Node, regions: &[Region], width: usize, ahead: usize, task: impl Fn(usize, &Region) -> Result<(), Error> + Sync) -> Result<(), Error> {
    let mut fetched = 0;
    for (w, wave) in regions.chunks(width).enumerate() {
        let start = w * width;
        fetched = prefetch(expr, regions, fetched.max(start), (start + wave.len() + ahead).min(regions.len()));
        executor().try_for_each(wave.len(), &|i| task(start + i, &wave[i]))?;
    }
    Ok(())
}

/// Hands the executor the stored reads of the tasks `from..to`, up to [`PREFETCH_READS`] of
/// them; returns the first task whose reads were not handed over.
fn prefetch(expr: &Node, regions: &[Region], from: usize, to: usize) -> usize {
    let mut reads = Vec::new();
    let mut next = from;
    while next < to && reads.len() < PREFETCH_READS {
        stored_reads(expr, &regions[next], &mut reads);
        next += 1;
    }
    if !reads.is_empty() {
        executor().prefetch(&reads);
    }
    next
}
