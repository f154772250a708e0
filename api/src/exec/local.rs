//! The scheduler that runs tasks on this process's thread pool (the executor's), in waves small enough that the
//! bytes in flight stay under the memory budget, checking for cancellation before each task.

use std::sync::Mutex;

use super::eval::{Materialized, Region};
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
        let width = waves(task_bytes(&stage.expr, &stage.grid) + partial, held(inputs) + stage.result_bytes(), budget, what)?;
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
        in_waves(&stage.grid.regions(), width, task)?;
        Ok(slots.into_iter().filter_map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner())).collect())
    }

    fn outputs(&self, stage: &Stage, inputs: &Materialized, run: &Run, budget: u64, reserved: u64, sink: &BlockSink<'_>) -> Result<(), Error> {
        let width = waves(task_bytes(&stage.expr, &stage.grid), held(inputs) + reserved, budget, "the computation")?;
        let task = |index: usize, region: &Region| {
            run.task(stage.op_name(), || {
                let block = stage.output(region, inputs)?;
                let bytes = block.nbytes() as u64;
                sink(index, region, block)?;
                Ok(((), bytes))
            })
        };
        in_waves(&stage.grid.regions(), width, task)
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

/// Runs `task` on every region, `width` at a time (each task checks for cancellation
/// through [`Run::task`]).
fn in_waves(regions: &[Region], width: usize, task: impl Fn(usize, &Region) -> Result<(), Error> + Sync) -> Result<(), Error> {
    for (w, wave) in regions.chunks(width).enumerate() {
        executor().try_for_each(wave.len(), &|i| task(w * width + i, &wave[i]))?;
    }
    Ok(())
}
