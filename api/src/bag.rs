//! Bags: parallel map / filter / fold / groupby / frequencies over sequences and text files
//! (dask.bag's job).
//!
//! ```
//! use strata_api::bag::Bag;
//! let words = Bag::from_sequence(vec!["a b", "b c", "c c"], 2).flat_map(|s| s.split(' ').map(str::to_owned).collect());
//! let counts = words.frequencies().unwrap();        // runs here, partitions in parallel
//! assert_eq!(counts[0], ("c".to_string(), 3));
//! ```
//!
//! A bag is a number of partitions and a recipe for each. Building one (`map`, `filter`, ...)
//! composes the recipe and runs nothing; chained steps run together, one pass per partition.
//! Terminal calls (`compute`, `count`, `fold`, `frequencies`, `foldby`, ...) run every
//! partition in parallel on the executor's pool, and an interrupt stops them between partitions.
//! Text files are read one partition per file, gzip-compressed files (`.gz`) transparently.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Error;
use crate::exec::map_tasks;
use crate::executor::executor;

type Recipe<T> = Arc<dyn Fn(usize) -> Result<Vec<T>, Error> + Send + Sync>;

/// A lazy, partitioned collection of `T`.
pub struct Bag<T> {
    npartitions: usize,
    recipe: Recipe<T>,
}

impl<T> Clone for Bag<T> {
    fn clone(&self) -> Self {
        Bag { npartitions: self.npartitions, recipe: self.recipe.clone() }
    }
}

impl<T> std::fmt::Debug for Bag<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bag<{}>(npartitions={})", std::any::type_name::<T>(), self.npartitions)
    }
}

impl<T: Send + Sync + 'static> Bag<T> {
    /// A bag over `items`, cut into about `npartitions` partitions of consecutive items.
    pub fn from_sequence(items: Vec<T>, npartitions: usize) -> Bag<T>
    where
        T: Clone,
    {
        let n = items.len();
        let parts = npartitions.clamp(1, n.max(1));
        let size = n.div_ceil(parts).max(1);
        let items = Arc::new(items);
        Bag {
            npartitions: n.div_ceil(size).max(1),
            recipe: Arc::new(move |i| Ok(items[(i * size).min(n)..((i + 1) * size).min(n)].to_vec())),
        }
    }

    /// The number of partitions: the tasks a terminal call runs.
    pub fn npartitions(&self) -> usize {
        self.npartitions
    }

    fn derive<U>(&self, step: impl Fn(Vec<T>) -> Result<Vec<U>, Error> + Send + Sync + 'static) -> Bag<U> {
        let recipe = self.recipe.clone();
        Bag { npartitions: self.npartitions, recipe: Arc::new(move |i| step(recipe(i)?)) }
    }

    /// A bag of `f` of each item (dask's `map`).
    pub fn map<U, F>(&self, f: F) -> Bag<U>
    where
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.derive(move |part| Ok(part.into_iter().map(&f).collect()))
    }

    /// A bag of the items for which `keep` is true (dask's `filter`).
    pub fn filter<F>(&self, keep: F) -> Bag<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        self.derive(move |part| Ok(part.into_iter().filter(|x| keep(x)).collect()))
    }

    /// Maps each item to several (dask's `map(...).flatten()`).
    pub fn flat_map<U, F>(&self, f: F) -> Bag<U>
    where
        F: Fn(T) -> Vec<U> + Send + Sync + 'static,
    {
        self.derive(move |part| Ok(part.into_iter().flat_map(&f).collect()))
    }

    /// Applies `f` to whole partitions.
    pub fn map_partitions<U, F>(&self, f: F) -> Bag<U>
    where
        F: Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static,
    {
        self.derive(move |part| Ok(f(part)))
    }

    /// Runs every partition and returns `f` of each, in partition order.
    fn run<R: Send>(&self, f: impl Fn(Vec<T>) -> R + Send + Sync) -> Result<Vec<R>, Error> {
        map_tasks(self.npartitions, |i| (self.recipe)(i).map(&f))?.into_iter().collect()
    }

    /// All items, in order.
    pub fn compute(&self) -> Result<Vec<T>, Error> {
        Ok(self.run(|part| part)?.into_iter().flatten().collect())
    }

    /// How many items there are.
    pub fn count(&self) -> Result<usize, Error> {
        Ok(self.run(|part| part.len())?.into_iter().sum())
    }

    /// The first `n` items, computing only the partitions needed for them.
    pub fn take(&self, n: usize) -> Result<Vec<T>, Error> {
        let mut out = Vec::with_capacity(n);
        for i in 0..self.npartitions {
            if out.len() >= n {
                break;
            }
            out.extend((self.recipe)(i)?.into_iter().take(n - out.len()));
        }
        Ok(out)
    }

    /// Folds each partition from `init` with `step`, then combines the partition results
    /// with `combine` (which must be associative), as dask's `fold`.
    pub fn fold<A, S, C>(&self, init: A, step: S, combine: C) -> Result<A, Error>
    where
        A: Clone + Send + Sync,
        S: Fn(A, T) -> A + Send + Sync,
        C: Fn(A, A) -> A,
    {
        let partials = self.run(|part| part.into_iter().fold(init.clone(), &step))?;
        Ok(partials.into_iter().fold(init.clone(), combine))
    }

    /// How often each distinct item occurs, most frequent first (ties in item order when the
    /// items can be ordered... and otherwise in first-seen order).
    pub fn frequencies(&self) -> Result<Vec<(T, usize)>, Error>
    where
        T: Hash + Eq + Clone,
    {
        let mut counts = self.foldby(|x: &T| x.clone(), 0usize, |n, _| n + 1, |a, b| a + b)?;
        counts.sort_by(|a, b| b.1.cmp(&a.1));
        Ok(counts)
    }

    /// The distinct items, in first-seen order.
    pub fn distinct(&self) -> Result<Vec<T>, Error>
    where
        T: Hash + Eq + Clone,
    {
        Ok(self.foldby(|x: &T| x.clone(), (), |_, _| (), |_, _| ())?.into_iter().map(|(k, _)| k).collect())
    }

    /// Groups and folds in one pass (dask's `foldby`): items are folded per key inside each
    /// partition, then the per-partition results merged with `combine`. Keys come back in
    /// first-seen order.
    pub fn foldby<K, A, KF, S, C>(&self, key: KF, init: A, step: S, combine: C) -> Result<Vec<(K, A)>, Error>
    where
        K: Hash + Eq + Clone + Send,
        A: Clone + Send + Sync,
        KF: Fn(&T) -> K + Send + Sync,
        S: Fn(A, T) -> A + Send + Sync,
        C: Fn(A, A) -> A,
    {
        let partials = self.run(|part| {
            let mut order: Vec<K> = Vec::new();
            let mut acc: HashMap<K, A> = HashMap::new();
            for item in part {
                let k = key(&item);
                let a = match acc.remove(&k) {
                    Some(a) => a,
                    None => {
                        order.push(k.clone());
                        init.clone()
                    }
                };
                acc.insert(k, step(a, item));
            }
            order.into_iter().filter_map(|k| acc.remove(&k).map(|a| (k, a))).collect::<Vec<_>>()
        })?;
        let mut order: Vec<K> = Vec::new();
        let mut merged: HashMap<K, A> = HashMap::new();
        for (k, a) in partials.into_iter().flatten() {
            match merged.remove(&k) {
                Some(prev) => {
                    merged.insert(k, combine(prev, a));
                }
                None => {
                    order.push(k.clone());
                    merged.insert(k, a);
                }
            }
        }
        Ok(order.into_iter().filter_map(|k| merged.remove(&k).map(|a| (k, a))).collect())
    }

    /// Groups items by key into a new bag of `(key, items)` (dask's `groupby`), partitioned
    /// by key. The grouping runs once, when the new bag is first computed.
    pub fn groupby<K, KF>(&self, key: KF) -> Bag<(K, Vec<T>)>
    where
        T: Clone,
        K: Hash + Eq + Clone + Send + Sync + 'static,
        KF: Fn(&T) -> K + Send + Sync + 'static,
    {
        let source = self.clone();
        let npartitions = self.npartitions;
        // Only a finished grouping is kept: one that failed or was interrupted runs again on
        // the next compute instead of giving the same error for good.
        let grouped: Arc<Mutex<Option<Arc<Partitions<K, T>>>>> = Arc::default();
        Bag {
            npartitions,
            recipe: Arc::new(move |i| {
                let mut slot = grouped.lock().unwrap_or_else(PoisonError::into_inner);
                let parts = match slot.as_ref() {
                    Some(parts) => parts.clone(),
                    None => {
                        let groups = source.foldby(
                            |x: &T| key(x),
                            Vec::new(),
                            |mut v, x| {
                                v.push(x);
                                v
                            },
                            |mut a, mut b| {
                                a.append(&mut b);
                                a
                            },
                        )?;
                        let mut parts: Partitions<K, T> = (0..npartitions).map(|_| Vec::new()).collect();
                        for (n, group) in groups.into_iter().enumerate() {
                            parts[n % npartitions].push(group);
                        }
                        slot.insert(Arc::new(parts)).clone()
                    }
                };
                drop(slot);
                Ok(parts[i].clone())
            }),
        }
    }
}

/// A grouped bag's partitions: each a list of `(key, items)`.
type Partitions<K, T> = Vec<Vec<(K, Vec<T>)>>;

impl<T: Send + Sync + Copy + std::iter::Sum + 'static> Bag<T> {
    /// The sum of all items (partition sums, then their sum).
    pub fn sum(&self) -> Result<T, Error> {
        Ok(self.run(|part| part.into_iter().sum::<T>())?.into_iter().sum())
    }
}

impl<T: Send + Sync + Copy + PartialOrd + 'static> Bag<T> {
    /// The largest item (`None` for an empty bag; NaN-like items that do not compare are skipped).
    pub fn max(&self) -> Result<Option<T>, Error> {
        let better = |a: Option<T>, b: T| match a {
            Some(a) if !(b > a) => Some(a),
            _ if b.partial_cmp(&b).is_some() => Some(b),
            a => a,
        };
        let partials = self.run(|part| part.into_iter().fold(None, better))?;
        Ok(partials.into_iter().flatten().fold(None, better))
    }

    /// The smallest item (`None` for an empty bag).
    pub fn min(&self) -> Result<Option<T>, Error> {
        let better = |a: Option<T>, b: T| match a {
            Some(a) if !(b < a) => Some(a),
            _ if b.partial_cmp(&b).is_some() => Some(b),
            a => a,
        };
        let partials = self.run(|part| part.into_iter().fold(None, better))?;
        Ok(partials.into_iter().flatten().fold(None, better))
    }
}

impl Bag<String> {
    /// The lines of text files, one partition per file, in path order. `pattern` is a file, a
    /// directory (all its files), or a glob such as `data/accounts.*.json.gz`. Files ending
    /// in `.gz` are decompressed. Line endings are removed.
    pub fn read_text(pattern: impl AsRef<str>) -> Result<Bag<String>, Error> {
        let files = Arc::new(executor().list_files(pattern.as_ref())?);
        let recipe_files = files.clone();
        Ok(Bag { npartitions: files.len(), recipe: Arc::new(move |i| executor().read_lines(&recipe_files[i])) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_grouping_that_failed_runs_again_on_the_next_compute() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        // A source whose first read fails, as an interrupted or unreadable one does.
        let source = Bag {
            npartitions: 2,
            recipe: Arc::new(move |i| {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(Error::Mismatch { what: "the test's source".into(), reason: "fails once".into() });
                }
                Ok(vec![i as u32, i as u32 + 2, i as u32 + 4])
            }),
        };
        let grouped = source.groupby(|x| x % 2);
        assert!(matches!(grouped.compute(), Err(Error::Mismatch { .. })));
        let mut groups = grouped.compute().unwrap();
        groups.sort();
        assert_eq!(groups, vec![(0, vec![0, 2, 4]), (1, vec![1, 3, 5])]);
        // Once done, the grouping is kept: computing again reads the source no more.
        let reads = calls.load(Ordering::SeqCst);
        grouped.compute().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), reads);
    }
}
