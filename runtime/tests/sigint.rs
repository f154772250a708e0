//! SIGINT (Ctrl-C, the kernel relaying the notebook's stop button) stops the default session's
//! running computation between tasks and does not end the process. In a test binary of its
//! own: the signal reaches every computation of the default session in the process.

#[cfg(unix)]
#[test]
fn sigint_cancels_a_running_computation_and_the_process_goes_on() {
    use strata::prelude::*;
    let result = map_tasks(10_000, |i| {
        if i == 3 {
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGINT);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    });
    assert!(matches!(result, Err(StrataError::Interrupted { .. })), "{result:?}");
    // The interrupt ended with the computation it stopped.
    assert_eq!(map_tasks(3, |i| i).unwrap(), vec![0, 1, 2]);
}
