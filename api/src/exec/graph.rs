//! A plan lowered to tasks (dask's graph): stages that run one after another, each a task per
//! chunk of what it reads. A reduction (or a cumulative sum's first pass) is a stage of its
//! own whose tasks fold their chunk into a partial result; partials merge associatively, in
//! any grouping, into the stage's result, which later stages read. The last stage computes
//! the output's chunks. Element-wise work, selections and the like are fused into the task
//! that needs them (see `eval`), as dask's graph optimisation fuses linear chains.
//!
//! The graph is data (stages name plan nodes; tasks are a stage and a chunk number), so a
//! [`Scheduler`](super::scheduler::Scheduler) may run tasks anywhere that can evaluate the
//! plan, and send back partials or blocks.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::ArrayD;

use super::eval::{eval_task, Materialized, Region};
use super::reduce::{Accumulator, ReduceSpec};
use crate::array::{Block, ChunkGrid, DType};
use crate::error::Error;
use crate::plan::{Groups, NodeId, NodeRef, Op};

/// What a stage's tasks do with the chunk they evaluate.
#[derive(Debug, Clone)]
pub enum StageKind {
    /// Fold it into a reduction's partial result.
    Reduce {
        /// The reduction.
        spec: ReduceSpec,
        /// For a group-by reduction, the group of each position along the reduced axis.
        groups: Option<Arc<Groups>>,
    },
    /// Total it along `axis`: the first pass of a cumulative sum.
    ScanTotals {
        /// The axis summed along.
        axis: usize,
        /// Whether NaN counts as 0.
        skipna: bool,
    },
    /// Hand it on: a chunk of the result.
    Output,
}

/// One stage: a task per chunk of `grid`, each evaluating `expr` over its chunk.
#[derive(Debug, Clone)]
pub struct Stage {
    /// What its tasks do with their chunks.
    pub kind: StageKind,
    /// The node the stage computes (a reduction, a cumulative sum, or the output).
    pub node: NodeRef,
    /// What each task evaluates: the reduction's input, or the output itself.
    pub expr: NodeRef,
    /// The tasks' regions.
    pub grid: ChunkGrid,
    /// The stages whose results `expr` reads (their nodes are materialised before it runs).
    pub after: Vec<usize>,
}

/// A task's name, as dask would key it: the stage's operation and node, and the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskKey {
    /// The stage's operation name ([`Stage::op_name`]).
    pub op: &'static str,
    /// The id of the node the stage computes.
    pub node: NodeId,
    /// The chunk's row-major number in the stage's grid.
    pub index: usize,
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.op, self.node.short(), self.index)
    }
}

/// What tasks of a stage produce before the stage's result exists. Merging is associative,
/// so partials may be combined in any grouping (per thread here, per worker elsewhere); in a
/// fixed order, the result does not vary from run to run.
#[derive(Debug, Clone)]
pub enum Partial {
    /// A reduction's accumulated state over the chunks folded so far.
    Reduce(Accumulator),
    /// Each chunk's totals along the scanned axis, with the chunk's region.
    Totals(Vec<(Region, ArrayD<f64>)>),
}

impl Stage {
    /// The task names, in chunk order.
    pub fn keys(&self) -> impl Iterator<Item = TaskKey> + '_ {
        let (op, node) = (self.op_name(), self.node.id);
        (0..self.grid.nchunks()).map(move |index| TaskKey { op, node, index })
    }

    /// The operation progress reports count the stage's tasks under.
    pub fn op_name(&self) -> &'static str {
        match self.kind {
            StageKind::Reduce { .. } => "reduce",
            StageKind::ScanTotals { .. } => "cumsum",
            StageKind::Output => self.node.op.name(),
        }
    }

    /// A partial with nothing folded in yet (the output stage has none: it is empty too).
    pub fn empty_partial(&self) -> Partial {
        match &self.kind {
            StageKind::Reduce { spec, .. } => Partial::Reduce(Accumulator::new(spec)),
            StageKind::ScanTotals { .. } | StageKind::Output => Partial::Totals(Vec::new()),
        }
    }

    /// One task of a partial stage: evaluates `region` and folds it into `partial`. Returns the
    /// bytes of the chunk it evaluated.
    pub fn fold(&self, partial: &mut Partial, region: &Region, inputs: &Materialized) -> Result<u64, Error> {
        let block = eval_task(&self.expr, region, inputs)?;
        match (&self.kind, partial) {
            (StageKind::Reduce { spec, groups: Some(groups) }, Partial::Reduce(acc)) => acc.add_grouped(spec, groups, &block, region),
            (StageKind::Reduce { spec, groups: None }, Partial::Reduce(acc)) => acc.add_chunk(spec, &block, region),
            (StageKind::ScanTotals { axis, skipna }, Partial::Totals(totals)) => totals.push((region.clone(), super::scan::chunk_total(&block, *axis, *skipna))),
            _ => return Err(Error::Plan { reason: format!("a {} partial of the wrong kind", self.op_name()) }),
        }
        Ok(block.nbytes() as u64)
    }

    /// One task of the output stage: the chunk at `region`.
    pub fn output(&self, region: &Region, inputs: &Materialized) -> Result<Block, Error> {
        eval_task(&self.expr, region, inputs)
    }

    /// Merges `other` into `into` (associative). Partials of another kind (from a scheduler
    /// that mixed stages up) are an error, never silently dropped.
    pub fn merge(&self, into: &mut Partial, other: Partial) -> Result<(), Error> {
        match (&self.kind, into, other) {
            (StageKind::Reduce { spec, .. }, Partial::Reduce(a), Partial::Reduce(b)) => a.merge(spec, &b),
            (StageKind::ScanTotals { .. }, Partial::Totals(a), Partial::Totals(b)) => a.extend(b),
            _ => return Err(Error::Plan { reason: format!("a partial of another kind given to {}", self.op_name()) }),
        }
        Ok(())
    }

    /// The stage's result from all its tasks' partials, merged.
    pub fn finish(&self, partial: Partial) -> Result<Block, Error> {
        match (&self.kind, partial) {
            (StageKind::Reduce { spec, .. }, Partial::Reduce(acc)) => Ok(acc.finish(spec, self.node.dtype)),
            (StageKind::ScanTotals { axis, .. }, Partial::Totals(parts)) => {
                let mut totals = Block::F64(ArrayD::zeros(ndarray::IxDyn(&self.totals_shape(*axis))));
                for (region, total) in parts {
                    // The chunk's number along the axis is where its total goes.
                    let k = self.grid.overlapping(*axis, &region[*axis]).first().map_or(0, |(k, _)| *k);
                    let mut at = region;
                    at[*axis] = k..k + 1;
                    totals.paste(&at, &Block::F64(total))?;
                }
                Ok(Block::F64(super::scan::exclusive_prefix(totals.into_typed::<f64>(), *axis)))
            }
            _ => Err(Error::Plan { reason: format!("{} has no partial result", self.op_name()) }),
        }
    }

    /// The shape of a scan's totals: the input's, with one position per chunk along `axis`.
    fn totals_shape(&self, axis: usize) -> Vec<usize> {
        let mut shape = self.grid.shape();
        shape[axis] = self.grid.chunks()[axis].len();
        shape
    }

    /// Bytes each partial in flight holds (a scheduler keeps one per task slot): a
    /// reduction's accumulator; a scan's totals are small and counted in `result_bytes`.
    pub fn partial_bytes(&self) -> u64 {
        match &self.kind {
            StageKind::Reduce { spec, .. } => Accumulator::bytes(spec),
            StageKind::ScanTotals { .. } | StageKind::Output => 0,
        }
    }

    /// Bytes the stage's result holds while it is built and while later stages run.
    pub fn result_bytes(&self) -> u64 {
        match &self.kind {
            StageKind::Reduce { spec, .. } => Accumulator::bytes(spec),
            StageKind::ScanTotals { axis, .. } => self.totals_shape(*axis).iter().map(|&n| n as u64).product::<u64>() * 8,
            StageKind::Output => 0,
        }
    }
}

/// A plan as tasks: the stages in the order they run, the output's last.
#[derive(Debug, Clone)]
pub struct TaskGraph {
    /// The stages in the order they run; the output stage is last.
    pub stages: Vec<Stage>,
}

impl TaskGraph {
    /// Lowers `plan` (already optimised) to stages computing its chunks over `grid` (the
    /// plan's own chunks, or a writer's).
    pub fn lower(plan: &NodeRef, grid: &ChunkGrid) -> TaskGraph {
        let mut stages = Vec::new();
        let mut stage_of: HashMap<NodeId, usize> = HashMap::new();
        for node in plan.post_order() {
            let kind = match &node.op {
                Op::Reduce { input, op, axes, ddof, skipna, groups } => {
                    let mut in_shape = input.shape();
                    if let Some(groups) = groups {
                        // The group axis sits right after the reduced one, so a reduction over
                        // time of a (time, lat, lon) cube stays one over leading axes.
                        in_shape.insert(axes[0] + 1, groups.ngroups);
                    }
                    let wide = input.dtype == DType::F32 && node.dtype == DType::F64;
                    let spec = ReduceSpec { op: *op, axes: axes.clone(), ddof: *ddof, skipna: *skipna, in_shape, wide };
                    StageKind::Reduce { spec, groups: groups.clone() }
                }
                Op::CumSum { axis, skipna, .. } => StageKind::ScanTotals { axis: *axis, skipna: *skipna },
                _ => continue,
            };
            let expr = node.op.inputs()[0].clone();
            let after = reads(&expr, &stage_of);
            stage_of.insert(node.id, stages.len());
            stages.push(Stage { kind, grid: expr.grid.clone(), expr, node: node.clone(), after });
        }
        let after = reads(plan, &stage_of);
        stages.push(Stage { kind: StageKind::Output, node: plan.clone(), expr: plan.clone(), grid: grid.clone(), after });
        TaskGraph { stages }
    }

    /// The number of tasks over all stages (one per chunk of each stage's grid).
    pub fn ntasks(&self) -> usize {
        self.stages.iter().map(|s| s.grid.nchunks()).sum()
    }

    /// Every task with the tasks it waits for (all tasks of the stages its stage reads), as a
    /// dask graph's dependencies.
    pub fn dependencies(&self) -> Vec<(TaskKey, Vec<TaskKey>)> {
        self.stages
            .iter()
            .flat_map(|stage| {
                let deps: Vec<TaskKey> = stage.after.iter().flat_map(|&s| self.stages[s].keys()).collect();
                stage.keys().map(move |key| (key, deps.clone()))
            })
            .collect()
    }
}

/// The stages whose results evaluating `expr` reads: the reductions and scans in it (not
/// looking inside a reduction, which is materialised whole).
fn reads(expr: &NodeRef, stage_of: &HashMap<NodeId, usize>) -> Vec<usize> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![expr.clone()];
    while let Some(node) = stack.pop() {
        if !seen.insert(node.id) {
            continue;
        }
        if let Some(&s) = stage_of.get(&node.id) {
            found.push(s);
            // A reduction's result is all its readers need; a cumulative sum's chunks also
            // read its input.
            if matches!(node.op, Op::Reduce { .. }) {
                continue;
            }
        }
        stack.extend(node.op.inputs().into_iter().cloned());
    }
    found.sort_unstable();
    found
}

impl std::fmt::Display for TaskGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, stage) in self.stages.iter().enumerate() {
            let after = if stage.after.is_empty() { String::new() } else { format!(", after stage {:?}", stage.after) };
            writeln!(f, "stage {i}: {}-{} x {} tasks over {} {:?}{after}", stage.op_name(), stage.node.id.short(), stage.grid.nchunks(), stage.expr.dtype, stage.expr.shape())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{arange, ones};

    #[test]
    fn reductions_become_stages_that_the_output_waits_for() {
        let x = ones::<f64>(&[6, 8], &[3, 4]);
        let anomaly = &x - &x.mean(&[0]);
        let y = anomaly.cumsum(1).sum(..);
        let graph = TaskGraph::lower(y.plan(), &y.plan().grid);
        let text = graph.to_string();
        let names: Vec<&str> = text.lines().map(|l| l.split(':').nth(1).and_then(|s| s.trim().split('-').next()).unwrap_or("")).collect();
        assert_eq!(names, ["reduce", "cumsum", "reduce", "reduce"], "{text}");
        // mean(x): 4 tasks; the scan's totals over the anomaly: 4; the sum of the scan: 4;
        // the output (a 0-d sum, read from its reduction): 1.
        assert_eq!(graph.stages.iter().map(|s| s.grid.nchunks()).collect::<Vec<_>>(), [4, 4, 4, 1]);
        assert_eq!(graph.ntasks(), 13);
        assert_eq!(graph.stages.iter().map(|s| s.after.clone()).collect::<Vec<_>>(), [vec![], vec![0], vec![0, 1], vec![2]]);
        let deps = graph.dependencies();
        assert_eq!(deps.len(), 13);
        let (key, waits) = &deps[4];
        assert_eq!(key.to_string(), format!("cumsum-{}-0", graph.stages[1].node.id.short()));
        assert_eq!(waits.len(), 4, "the scan waits for the mean's four tasks");
    }

    #[test]
    fn partials_merge_in_any_grouping_to_the_same_result() {
        let x = arange(0.0, 60.0, 1.0, 7).reshape(&[6, 10]).rechunk([2, 5]);
        let y = x.var(&[0], 1);
        let graph = TaskGraph::lower(y.plan(), &y.plan().grid);
        let stage = &graph.stages[0];
        let inputs = Materialized::new();
        let regions = stage.grid.regions();
        // One partial per task, merged left to right ...
        let mut one_by_one = stage.empty_partial();
        for region in &regions {
            let mut p = stage.empty_partial();
            stage.fold(&mut p, region, &inputs).unwrap();
            stage.merge(&mut one_by_one, p).unwrap();
        }
        // ... and two partials of three tasks each, merged.
        let (mut left, mut right) = (stage.empty_partial(), stage.empty_partial());
        for (i, region) in regions.iter().enumerate() {
            stage.fold(if i < 3 { &mut left } else { &mut right }, region, &inputs).unwrap();
        }
        stage.merge(&mut left, right).unwrap();
        // A partial of another kind (a confused scheduler) is an error, not dropped.
        assert!(stage.merge(&mut stage.empty_partial(), Partial::Totals(vec![])).is_err());
        let a = stage.finish(one_by_one).unwrap().to_f64();
        let b = stage.finish(left).unwrap().to_f64();
        let direct = x.compute().unwrap().var_axis(ndarray::Axis(0), 1.0);
        for ((p, q), r) in a.iter().zip(b.iter()).zip(direct.iter()) {
            assert!((p - q).abs() < 1e-9 && (p - r).abs() < 1e-9, "{p} {q} {r}");
        }
    }
}
