//! Delayed graphs on the executor's pools: shared tasks run once, independent ones at the
//! same time, on the threads a computation asks for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata::exec::{Observer, Progress};
use strata::prelude::*;

#[test]
fn shared_tasks_run_once_and_independent_ones_in_parallel() {
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

    // Independent tasks overlap: at some moment two of them are running at once (on a
    // pool of two threads, whatever the machine's core count).
    {
        let active = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let parts: Vec<Delayed<u64>> = (0..4)
            .map(|i| {
                let (active, most) = (active.clone(), most.clone());
                delayed(move || {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Stay until another task has started (or 10 s have passed, when
                    // they run one at a time and the assertion below fails).
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    while most.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    active.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let two = ComputeOptions::default().threads(2);
        assert_eq!(join_all(&parts).map(|v| v.iter().sum::<u64>()).compute_with(&two).unwrap(), 6);
        assert!(most.load(Ordering::SeqCst) >= 2, "independent tasks never ran at the same time");
    }
}

#[test]
fn progress_is_reported_per_task_and_threads_are_honoured() {
    #[derive(Default)]
    struct Events(Mutex<Vec<Progress>>);
    impl Observer for Events {
        fn event(&self, p: &Progress) {
            self.0.lock().unwrap().push(p.clone());
        }
    }
    let parts: Vec<Delayed<usize>> = (0..6).map(|_| delayed(rayon::current_num_threads)).collect();
    let events = Arc::new(Events::default());
    let options = ComputeOptions::default().threads(3).observer(events.clone());
    let counts = join_all(&parts).compute_with(&options).unwrap();
    assert!(counts.iter().all(|&n| n == 3), "tasks ran on pools of {counts:?} threads");
    let events = events.0.lock().unwrap();
    assert!(matches!(events.first(), Some(&Progress::Started { tasks: 7, .. })));
    assert_eq!(events.iter().filter(|e| matches!(e, Progress::Task { .. })).count(), 7);
    assert!(matches!(events.last(), Some(Progress::Finished { tasks: 7, .. })));
}
