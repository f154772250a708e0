//! Lazy tasks over arbitrary Rust closures, with dependencies: dask.delayed's job.
//!
//! ```
//! use strata::delayed::{delayed, Delayed};
//! let a = delayed(|| 1 + 1);
//! let b = delayed(|| 2 + 2);
//! let total = a.zip(&b).map(|(x, y)| x + y);   // nothing has run yet
//! assert_eq!(total.compute().unwrap(), 6);      // a and b run in parallel, then the sum
//! ```
//!
//! Each task runs at most once per graph, however many tasks depend on it; independent
//! tasks run in parallel on the rayon pool; an interrupt stops the graph between tasks.
//! A graph is data (its tasks and edges can be listed and drawn); the closures are the only
//! part that is not.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::Error;
use crate::exec::Computation;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A value that will be computed when asked for.
pub struct Delayed<T> {
    task: Arc<Task<T>>,
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed { task: self.task.clone() }
    }
}

struct Task<T> {
    id: u64,
    name: String,
    deps: Vec<Arc<dyn Node>>,
    run: Box<dyn Fn() -> T + Send + Sync>,
    result: OnceLock<T>,
}

/// The type-erased view of a task that graphs are walked through.
trait Node: Send + Sync {
    fn id(&self) -> u64;
    fn name(&self) -> &str;
    fn deps(&self) -> &[Arc<dyn Node>];
    /// Runs the task (its dependencies must have run) unless it already has.
    fn ensure(&self);
    fn is_done(&self) -> bool;
}

impl<T: Send + Sync> Node for Task<T> {
    fn id(&self) -> u64 {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn deps(&self) -> &[Arc<dyn Node>] {
        &self.deps
    }
    fn ensure(&self) {
        self.result.get_or_init(|| (self.run)());
    }
    fn is_done(&self) -> bool {
        self.result.get().is_some()
    }
}

/// A task with no dependencies, running `f`.
pub fn delayed<T, F>(f: F) -> Delayed<T>
where
    T: Send + Sync + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    Delayed::with_deps("delayed", Vec::new(), f)
}

/// A task that waits for all of `items` and collects their values in order.
pub fn join_all<T: Clone + Send + Sync + 'static>(items: &[Delayed<T>]) -> Delayed<Vec<T>> {
    let inputs: Vec<Delayed<T>> = items.to_vec();
    let deps = inputs.iter().map(|d| d.node()).collect();
    Delayed::with_deps("join_all", deps, move || inputs.iter().map(|d| d.value()).collect())
}

impl<T: Send + Sync + 'static> Delayed<T> {
    fn with_deps<F>(name: &str, deps: Vec<Arc<dyn Node>>, f: F) -> Delayed<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Delayed { task: Arc::new(Task { id, name: name.to_owned(), deps, run: Box::new(f), result: OnceLock::new() }) }
    }

    fn node(&self) -> Arc<dyn Node> {
        self.task.clone()
    }

    /// Names the task (as dask's `delayed(f, name=...)`), for progress and drawings.
    pub fn named(self, name: &str) -> Delayed<T> {
        match Arc::try_unwrap(self.task) {
            Ok(mut task) => {
                task.name = name.to_owned();
                Delayed { task: Arc::new(task) }
            }
            // Already shared with other tasks: keep the graph as it is.
            Err(task) => Delayed { task },
        }
    }

    /// A task computing `f` of this one's value.
    pub fn map<U, F>(&self, f: F) -> Delayed<U>
    where
        T: Clone,
        U: Send + Sync + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let input = self.clone();
        Delayed::with_deps("map", vec![self.node()], move || f(input.value()))
    }

    /// A task whose value is both values, once both are computed.
    pub fn zip<U>(&self, other: &Delayed<U>) -> Delayed<(T, U)>
    where
        T: Clone,
        U: Clone + Send + Sync + 'static,
    {
        let (a, b) = (self.clone(), other.clone());
        Delayed::with_deps("zip", vec![self.node(), other.node()], move || (a.value(), b.value()))
    }

    /// The value; only valid once the task has run (inside a dependent task).
    fn value(&self) -> T
    where
        T: Clone,
    {
        self.task.ensure();
        self.task.result.get().cloned().expect("ensured above")
    }

    /// Runs the graph: independent tasks in parallel, each once.
    pub fn compute(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        let order = topological(&self.node());
        let computation = Computation::start();
        let total = order.len();
        // Run level by level: every task of a level has all its dependencies in earlier ones.
        let levels = levels(&order);
        let mut completed = 0;
        for level in levels {
            if computation.is_cancelled() {
                return Err(Error::Interrupted { completed, total });
            }
            rayon::scope(|s| {
                for node in &level {
                    let node = node.clone();
                    s.spawn(move |_| node.ensure());
                }
            });
            completed += level.len();
        }
        Ok(self.value())
    }

    /// The graph in Graphviz's dot language (what `visualize` draws in dask).
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph delayed {\n  rankdir=BT;\n");
        for node in topological(&self.node()) {
            let _ = writeln!(out, "  t{} [label=\"{}\"];", node.id(), node.name().replace('"', "'"));
            for dep in node.deps() {
                let _ = writeln!(out, "  t{} -> t{};", dep.id(), node.id());
            }
        }
        out.push('}');
        out
    }

    /// How many tasks the graph has (each counted once).
    pub fn task_count(&self) -> usize {
        topological(&self.node()).len()
    }
}

/// Every task once, dependencies first.
fn topological(root: &Arc<dyn Node>) -> Vec<Arc<dyn Node>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<(Arc<dyn Node>, bool)> = vec![(root.clone(), false)];
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            out.push(node);
            continue;
        }
        if !seen.insert(node.id()) {
            continue;
        }
        stack.push((node.clone(), true));
        for dep in node.deps() {
            if !seen.contains(&dep.id()) {
                stack.push((dep.clone(), false));
            }
        }
    }
    out
}

/// Groups tasks (in topological order) by depth, skipping those already computed.
fn levels(order: &[Arc<dyn Node>]) -> Vec<Vec<Arc<dyn Node>>> {
    let mut depth = std::collections::HashMap::new();
    let mut levels: Vec<Vec<Arc<dyn Node>>> = Vec::new();
    for node in order {
        let d = node.deps().iter().map(|dep| depth.get(&dep.id()).map_or(0, |&x: &usize| x + 1)).max().unwrap_or(0);
        depth.insert(node.id(), d);
        if node.is_done() {
            continue;
        }
        if levels.len() <= d {
            levels.resize_with(d + 1, Vec::new);
        }
        levels[d].push(node.clone());
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn shared_tasks_run_once_and_independent_ones_in_parallel() {
        let _serial = crate::exec::cancel::TEST_SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let slow = delayed(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(200));
            10
        });
        let left = slow.map(|v| v + 1);
        let right = slow.map(|v| v * 2);
        let both = left.zip(&right).map(|(a, b)| a + b);
        assert_eq!(both.task_count(), 5);
        assert_eq!(both.compute().unwrap(), 31);
        assert_eq!(runs.load(Ordering::SeqCst), 1, "a task shared by two others ran twice");

        // Independent tasks overlap: at some moment two of them are running at once.
        if rayon::current_num_threads() > 1 {
            let active = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let parts: Vec<Delayed<u64>> = (0..4)
                .map(|i| {
                    let (active, most) = (active.clone(), most.clone());
                    delayed(move || {
                        let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        active.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();
            assert_eq!(join_all(&parts).map(|v| v.iter().sum::<u64>()).compute().unwrap(), 6);
            assert!(most.load(Ordering::SeqCst) >= 2, "independent tasks never ran at the same time");
        }
    }

    #[test]
    fn the_graph_is_drawable() {
        let a = delayed(|| 1).named("load");
        let dot = a.map(|v| v + 1).to_dot();
        assert!(dot.contains("label=\"load\"") && dot.contains("->"), "{dot}");
    }
}
