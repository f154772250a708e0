//! Bags against the same work done sequentially, text files (plain and gzip) as a source, and
//! the errors and interrupts a user can meet.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use strata::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn bag_results_match_sequential_ones(items in proptest::collection::vec(0u32..20, 0..200), parts in 1usize..12) {
        let bag = Bag::from_sequence(items.clone(), parts);
        prop_assert!(bag.npartitions() <= parts.max(1));
        prop_assert_eq!(bag.compute().unwrap(), items.clone());
        let evens: Vec<u64> = items.iter().filter(|x| *x % 2 == 0).map(|&x| x as u64 * 10).collect();
        prop_assert_eq!(bag.filter(|x| x % 2 == 0).map(|x| x as u64 * 10).compute().unwrap(), evens.clone());
        prop_assert_eq!(bag.count().unwrap(), items.len());
        prop_assert_eq!(bag.map(|x| x as u64).sum().unwrap(), items.iter().map(|&x| x as u64).sum::<u64>());
        prop_assert_eq!(bag.fold(0u64, |a, x| a + x as u64, |a, b| a + b).unwrap(), items.iter().map(|&x| x as u64).sum::<u64>());
        prop_assert_eq!(bag.max().unwrap(), items.iter().copied().max());
        prop_assert_eq!(bag.min().unwrap(), items.iter().copied().min());
        prop_assert_eq!(bag.take(5).unwrap(), items.iter().copied().take(5).collect::<Vec<_>>());

        let mut counts: HashMap<u32, usize> = HashMap::new();
        for &x in &items { *counts.entry(x).or_default() += 1; }
        let freq = bag.frequencies().unwrap();
        prop_assert_eq!(freq.len(), counts.len());
        prop_assert!(freq.windows(2).all(|w| w[0].1 >= w[1].1), "not most frequent first: {:?}", freq);
        for (x, n) in &freq { prop_assert_eq!(counts[x], *n); }
        let mut distinct = bag.distinct().unwrap();
        distinct.sort();
        let mut want: Vec<u32> = counts.keys().copied().collect();
        want.sort();
        prop_assert_eq!(distinct, want);

        let grouped = bag.groupby(|x| x % 3).map(|(k, v)| (k, v.len(), v.iter().all(|x| x % 3 == k))).compute().unwrap();
        prop_assert!(grouped.iter().all(|g| g.2));
        prop_assert_eq!(grouped.iter().map(|g| g.1).sum::<usize>(), items.len());
        let by_parity = bag.foldby(|x| x % 2, 0u64, |a, x| a + x as u64, |a, b| a + b).unwrap();
        for (k, total) in by_parity {
            prop_assert_eq!(total, items.iter().filter(|x| *x % 2 == k).map(|&x| x as u64).sum::<u64>());
        }
    }
}

#[test]
fn take_computes_only_the_partitions_it_needs() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let bag = Bag::from_sequence((0..100).collect::<Vec<i32>>(), 10).map(move |x| {
        counter.fetch_add(1, Ordering::SeqCst);
        x
    });
    assert_eq!(bag.take(3).unwrap(), vec![0, 1, 2]);
    assert_eq!(seen.load(Ordering::SeqCst), 10, "only the first partition should run");
}

/// The dask tutorial's bag of gzipped JSON records: one partition per file, filter, pluck,
/// frequencies.
#[test]
fn gzip_json_lines_read_by_glob_like_the_dask_tutorial() {
    let dir = std::env::temp_dir().join(format!("strata-bag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = ["Alice", "Bob", "Alice", "Carol", "Alice", "Bob"];
    for file in 0..3 {
        let path = dir.join(format!("accounts.{file}.json.gz"));
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
        for (i, name) in names.iter().enumerate() {
            writeln!(gz, r#"{{"id": {}, "name": "{name}", "amount": {}}}"#, file * 10 + i, (i as i64 - 2) * 100).unwrap();
        }
        gz.finish().unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not json\n").unwrap();

    let lines = Bag::read_text(format!("{}/accounts.*.json.gz", dir.display())).unwrap();
    assert_eq!(lines.npartitions(), 3);
    let records = lines.map(|l| serde_json::from_str::<serde_json::Value>(&l).unwrap());
    let rich = records.filter(|r| r["amount"].as_i64().unwrap_or(0) > 0).map(|r| r["name"].as_str().unwrap_or("").to_owned());
    let freq = rich.frequencies().unwrap();
    // Positive amounts: i = 3 (Carol), 4 (Alice), 5 (Bob) in each of the three files.
    let freq: HashMap<String, usize> = freq.into_iter().collect();
    assert_eq!(freq, HashMap::from([("Carol".into(), 3), ("Alice".into(), 3), ("Bob".into(), 3)]));
    // A directory reads every file in it, the plain text too.
    assert_eq!(Bag::read_text(dir.display().to_string()).unwrap().count().unwrap(), 3 * names.len() + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_files_and_unreadable_files_name_the_path() {
    match Bag::read_text("/nonexistent/strata/*.txt") {
        Err(StrataError::Read { path, cause }) => {
            assert!(path.contains("/nonexistent/strata"));
            assert!(cause.contains("no files"));
        }
        other => panic!("expected a Read error, got {other:?}"),
    }
    let dir = std::env::temp_dir().join(format!("strata-bag-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.gz"), b"not gzip at all").unwrap();
    match Bag::read_text(dir.join("broken.gz").display().to_string()).unwrap().count() {
        Err(StrataError::Read { path, .. }) => assert!(path.ends_with("broken.gz")),
        other => panic!("expected a Read error, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupt_stops_a_bag_between_partitions() {
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    // Its own session: interrupting it stops nothing else this test binary runs meanwhile.
    let session = Session::new();
    let interrupt = session.clone();
    let bag = Bag::from_sequence((0..1000).collect::<Vec<u32>>(), 1000).map(move |x| {
        if counter.fetch_add(1, Ordering::SeqCst) == 3 {
            interrupt.interrupt();
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        x
    });
    assert!(matches!(session.enter(|| bag.count()), Err(StrataError::Interrupted { .. })));
    assert!(ran.load(Ordering::SeqCst) < 1000);
    // The next computation runs normally.
    assert_eq!(Bag::from_sequence(vec![1, 2, 3], 2).sum().unwrap(), 6);
}
