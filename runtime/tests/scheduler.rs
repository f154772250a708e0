//! The scheduler's observable contract: progress events, cancellation between tasks, and
//! that a selection only evaluates the chunks it needs (pushdown).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use strata::exec::{Observer, Progress};
use strata::prelude::*;

#[derive(Default)]
struct Recorder(Mutex<Vec<Progress>>);

impl Observer for Recorder {
    fn event(&self, progress: &Progress) {
        self.0.lock().unwrap().push(progress.clone());
    }
}

#[test]
fn progress_reports_every_task_then_finishes() {
    let recorder = Arc::new(Recorder::default());
    let x = RandomState::new(1).random(&[100, 100], &[25, 50]);
    let options = ComputeOptions { budget: None, observer: Some(recorder.clone()), ..Default::default() };
    (&x - x.mean(&[0])).compute_with(&options).unwrap();
    let events = recorder.0.lock().unwrap();
    // 8 chunks for the mean, then 8 output chunks.
    assert!(matches!(events.first(), Some(&Progress::Started { tasks: 16, .. })));
    let tasks: Vec<usize> = events.iter().filter_map(|e| match e { Progress::Task { done, .. } => Some(*done), _ => None }).collect();
    let mut sorted = tasks.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=16).collect::<Vec<_>>());
    assert!(matches!(events.last(), Some(Progress::Finished { tasks: 16, .. })));
    // Each task names its operation and reports its time, so time per operation adds up.
    let mut per_op: std::collections::BTreeMap<&str, (usize, std::time::Duration)> = Default::default();
    for e in events.iter() {
        if let Progress::Task { op, elapsed, .. } = e {
            let entry = per_op.entry(op).or_default();
            entry.0 += 1;
            entry.1 += *elapsed;
        }
    }
    assert_eq!(per_op.keys().copied().collect::<Vec<_>>(), vec!["elementwise", "reduce"]);
    assert!(per_op.values().all(|(n, t)| *n == 8 && *t > std::time::Duration::ZERO), "{per_op:?}");
}

/// Interrupts its session after `.0` tasks.
struct CancelAfter(usize, Session);

impl Observer for CancelAfter {
    fn event(&self, progress: &Progress) {
        if let Progress::Task { done, .. } = progress {
            if *done == self.0 {
                self.1.interrupt();
            }
        }
    }
}

#[test]
fn cancelling_stops_between_tasks_with_an_error() {
    let x = RandomState::new(2).random(&[2_000, 2_000], &[100, 100]);
    // Its own session: interrupting it stops nothing else this test binary runs meanwhile.
    let session = Session::new();
    let options = ComputeOptions::default().in_session(&session).observer(Arc::new(CancelAfter(3, session.clone())));
    match x.sum(..).compute_with(&options) {
        Err(StrataError::Interrupted { completed, total }) => {
            assert_eq!(total, 400 + 1);
            assert!(completed < total, "{completed} of {total}");
        }
        other => panic!("expected Interrupted, got {other:?}"),
    }
    // The next computation runs normally.
    assert_eq!(ones::<f64>(&[10], &[3]).sum(..).scalar().unwrap(), 10.0);
}

#[test]
fn a_selection_evaluates_only_the_chunks_it_needs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let x = ones::<f64>(&[1_000, 1_000], &[100, 100]).map_blocks(move |b| {
        seen.fetch_add(1, Ordering::SeqCst);
        b
    });
    // Rows 150..250, columns 0..50: two row-chunks by one column-chunk.
    let part = x.isel(&[Sel::from(150..250), Sel::from(0..50)]);
    assert_eq!(part.sum(..).scalar().unwrap(), 100.0 * 50.0);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // An unused branch is never evaluated: the plan of `_unused` is not part of `y`.
    calls.store(0, Ordering::SeqCst);
    let _unused = &x * 3.0;
    let y = ones::<f64>(&[10], &[5]) + 1.0;
    assert_eq!(y.sum(..).scalar().unwrap(), 20.0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A second scheduler, as a distributed one would behave: one partial per task (as if each
/// ran on its own worker), tasks run last to first, output chunks handed over out of order.
struct OnePartialPerTask {
    tasks: AtomicUsize,
}

impl strata::exec::Scheduler for OnePartialPerTask {
    fn name(&self) -> &'static str {
        "one-partial-per-task"
    }

    fn partials(&self, stage: &strata::exec::Stage, inputs: &strata::exec::eval::Materialized, run: &strata::exec::Run, _budget: u64) -> Result<Vec<strata::exec::Partial>, StrataError> {
        let mut partials = Vec::new();
        for region in stage.grid.regions().iter().rev() {
            run.check()?;
            let mut partial = stage.empty_partial();
            let bytes = stage.fold(&mut partial, region, inputs)?;
            run.task_done(bytes, stage.op_name(), std::time::Instant::now());
            self.tasks.fetch_add(1, Ordering::SeqCst);
            partials.push(partial);
        }
        Ok(partials)
    }

    fn outputs(
        &self,
        stage: &strata::exec::Stage,
        inputs: &strata::exec::eval::Materialized,
        run: &strata::exec::Run,
        _budget: u64,
        _reserved: u64,
        sink: &strata::exec::BlockSink<'_>,
    ) -> Result<(), StrataError> {
        for (index, region) in stage.grid.regions().iter().enumerate().rev() {
            run.check()?;
            sink(index, region, stage.output(region, inputs)?)?;
            run.task_done(0, stage.op_name(), std::time::Instant::now());
            self.tasks.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[test]
fn another_scheduler_runs_the_same_task_graph_to_the_same_values() {
    let x = RandomState::new(5).normal(10.0, 3.0, &[36, 20, 12], &[7, 8, 5]);
    let months: Vec<usize> = (0..36).map(|t| t % 12).collect();
    let clim = x.group_reduce(strata::plan::ReduceOp::Mean, 0, months.clone(), 12, 0, true);
    let anomaly = &x - &clim.take(0, &months);
    let y = (&anomaly.cumsum(0) + anomaly.std(&[0], 1)).nanmean(&[2]);
    let graph = strata::exec::TaskGraph::lower(y.plan(), &y.plan().grid);
    let other = Arc::new(OnePartialPerTask { tasks: AtomicUsize::new(0) });
    let options = ComputeOptions::default().scheduler_with(other.clone());
    let there = y.compute_with(&options).unwrap();
    let here = y.compute_with(&ComputeOptions { unoptimized: true, ..Default::default() }).unwrap();
    assert_eq!(there.shape(), here.shape());
    for (a, b) in there.iter().zip(here.iter()) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }
    // The optimizer may fuse or move work, so count against the optimised plan's graph.
    let optimized = strata::plan::optimize::optimize(y.plan());
    let expected = strata::exec::TaskGraph::lower(&optimized, &optimized.grid).ntasks();
    assert_eq!(other.tasks.load(Ordering::SeqCst), expected);
    assert!(graph.ntasks() >= expected);
    // Its interrupt still stops it between tasks.
    let token = CancelToken::new();
    token.cancel();
    let stopped = y.compute_with(&options.clone().cancel_with(token));
    assert!(matches!(stopped, Err(StrataError::Interrupted { completed: 0, .. })), "{stopped:?}");
}
