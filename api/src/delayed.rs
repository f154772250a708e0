//! Lazy tasks over arbitrary Rust closures, with dependencies: dask.delayed's job.
//!
//! ```
//! use strata_api::delayed::{delayed, Delayed};
//! let a = delayed(|| 1 + 1);
//! let b = delayed(|| 2 + 2);
//! let total = a.zip(&b).map(|(x, y)| x + y);   // nothing has run yet
//! assert_eq!(total.compute().unwrap(), 6);      // a and b run in parallel, then the sum
//! ```
//!
//! Each task runs at most once per graph, however many tasks depend on it; independent
//! tasks run in parallel on the executor's pool; an interrupt stops the graph between tasks; a
//! task that panics fails the computation with its name and message, and the kernel keeps
//! serving. A computation reports progress as array computations do (a notebook bar).
//! A graph is data (its tasks and edges can be listed and drawn); the closures are the only
//! part that is not.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::Error;
use crate::exec::run::Run;
use crate::exec::ComputeOptions;
use crate::executor::executor;

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
        Delayed::with_deps(&label::<F>("map"), vec![self.node()], move || f(input.value()))
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

    /// A task computing `f` of both values (dask's `delayed(f)(x, y)`), named after `f`
    /// when it is a function rather than a closure.
    pub fn zip_with<U, V, F>(&self, other: &Delayed<U>, f: F) -> Delayed<V>
    where
        T: Clone,
        U: Clone + Send + Sync + 'static,
        V: Send + Sync + 'static,
        F: Fn(T, U) -> V + Send + Sync + 'static,
    {
        let (a, b) = (self.clone(), other.clone());
        Delayed::with_deps(&label::<F>("zip_with"), vec![self.node(), other.node()], move || f(a.value(), b.value()))
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
        self.compute_with(&ComputeOptions::default())
    }

    /// Runs the graph with `options`' thread count and progress observer (the memory budget
    /// does not apply: what a closure allocates is its own business).
    pub fn compute_with(&self, options: &ComputeOptions) -> Result<T, Error>
    where
        T: Clone,
    {
        let options = &options.resolved();
        crate::exec::pool::install(options, || self.run_graph(options))?
    }

    fn run_graph(&self, options: &ComputeOptions) -> Result<T, Error>
    where
        T: Clone,
    {
        // Run level by level: every task of a level has all its dependencies in earlier ones.
        let levels = levels(&topological(&self.node()));
        let run = Run::start(options, levels.iter().map(Vec::len).sum());
        let panicked: Mutex<Option<Error>> = Mutex::new(None);
        for level in levels {
            let ran_level = executor().try_for_each(level.len(), &|i| {
                if panicked.lock().map_or(true, |p| p.is_some()) {
                    return Ok(());
                }
                let node = &level[i];
                let ran = run.task("delayed", || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| node.ensure()))
                        .map(|()| ((), 0))
                        .map_err(|payload| Error::TaskPanicked { task: node.name().to_owned(), message: panic_message(payload.as_ref()) })
                });
                if let Err(error @ Error::TaskPanicked { .. }) = ran {
                    panicked.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
                }
                Ok(())
            });
            if let Err(error) = ran_level {
                return run.finish(Err(error));
            }
            if let Some(error) = panicked.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return run.finish(Err(error));
            }
            if let Err(error) = run.check() {
                return run.finish(Err(error));
            }
        }
        run.finish(Ok(self.value()))
    }

    /// The graph as plain data: what `visualize` draws in dask (a notebook shows it as a
    /// drawing; `to_dot` gives it to Graphviz).
    pub fn visualize(&self) -> TaskGraph {
        let order = topological(&self.node());
        TaskGraph {
            tasks: order
                .iter()
                .map(|n| TaskInfo { id: n.id(), name: n.name().to_owned(), deps: n.deps().iter().map(|d| d.id()).collect(), done: n.is_done() })
                .collect(),
        }
    }

    /// The graph in Graphviz's dot language.
    pub fn to_dot(&self) -> String {
        self.visualize().to_dot()
    }

    /// How many tasks the graph has (each counted once).
    pub fn task_count(&self) -> usize {
        topological(&self.node()).len()
    }
}

impl<T> std::fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Delayed('{}-{}')", self.task.name, self.task.id)
    }
}

/// A task's default name: the function's own (`inc` for `x.map(inc)`), else `fallback`.
fn label<F>(fallback: &str) -> String {
    let full = std::any::type_name::<F>();
    if full.contains("{{closure}}") || full.contains('<') || full.contains(' ') {
        return fallback.to_owned();
    }
    full.rsplit("::").next().unwrap_or(fallback).to_owned()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// A task graph as data: each task once, dependencies before the tasks that use them.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskGraph {
    /// The tasks, dependencies first.
    pub tasks: Vec<TaskInfo>,
}

/// One task of a [`TaskGraph`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// The task's id, unique in the process.
    pub id: u64,
    /// Its name (`delayed`, `map`, a function's name, or one given with `named`).
    pub name: String,
    /// The ids of the tasks it waits for.
    pub deps: Vec<u64>,
    /// Already computed (a later `compute` will not run it again).
    pub done: bool,
}

impl TaskGraph {
    /// The graph in Graphviz's dot language, dependencies pointing up to their users.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph delayed {\n  rankdir=BT;\n");
        for task in &self.tasks {
            let _ = writeln!(out, "  t{} [label=\"{}\"];", task.id, task.name.replace('"', "'"));
            for dep in &task.deps {
                let _ = writeln!(out, "  t{} -> t{};", dep, task.id);
            }
        }
        out.push('}');
        out
    }

    /// Each task's depth: 0 for tasks without dependencies, else one more than the deepest
    /// dependency (the rows a drawing puts them in).
    pub fn depths(&self) -> Vec<usize> {
        let mut depth: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
        self.tasks
            .iter()
            .map(|t| {
                let d = t.deps.iter().filter_map(|dep| depth.get(dep)).map(|d| d + 1).max().unwrap_or(0);
                depth.insert(t.id, d);
                d
            })
            .collect()
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

    #[test]
    fn a_panicking_task_fails_the_computation_by_name_and_the_next_one_runs() {
        let bad = delayed(|| -> i32 { panic!("no such station") }).named("load_station");
        let result = bad.map(|v| v + 1).compute();
        match result {
            Err(Error::TaskPanicked { task, message }) => {
                assert_eq!(task, "load_station");
                assert!(message.contains("no such station"), "{message}");
            }
            other => panic!("expected TaskPanicked, got {other:?}"),
        }
        assert_eq!(delayed(|| 2).map(|v| v * 21).compute().unwrap(), 42);
    }

    #[test]
    fn the_graph_as_data_has_its_rows() {
        let a = delayed(|| 1).named("a");
        let b = delayed(|| 2).named("b");
        let total = a.zip(&b).map(|(x, y)| x + y).named("total");
        let graph = total.visualize();
        assert_eq!(graph.tasks.len(), 4);
        let depth_of = |name: &str| graph.depths()[graph.tasks.iter().position(|t| t.name == name).unwrap()];
        assert_eq!((depth_of("a"), depth_of("b"), depth_of("zip"), depth_of("total")), (0, 0, 1, 2));
        assert!(graph.tasks.iter().all(|t| !t.done));
        total.compute().unwrap();
        assert!(total.visualize().tasks.iter().all(|t| t.done));
        assert!(format!("{total:?}").starts_with("Delayed('total-"));

        fn add(a: i32, b: i32) -> i32 {
            a + b
        }
        let sum = delayed(|| 1).zip_with(&delayed(|| 2), add);
        assert_eq!(sum.visualize().tasks.last().map(|t| t.name.as_str()), Some("add"));
        assert_eq!(sum.compute().unwrap(), 3);
        assert_eq!(sum.map(|v| v * 2).visualize().tasks.last().map(|t| t.name.as_str()), Some("map"));
    }

    #[test]
    fn the_graph_is_drawable() {
        let a = delayed(|| 1).named("load");
        let dot = a.map(|v| v + 1).to_dot();
        assert!(dot.contains("label=\"load\"") && dot.contains("->"), "{dot}");
    }
}
