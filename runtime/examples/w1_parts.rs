//! The parts of workload W1 timed one by one (generation, transposed generation, the mean,
//! the sum), for profiling the runtime with `perf record`; `w1` is the benchmark itself.

use std::time::Instant;
use strata::prelude::*;
fn main() {
    let x = RandomState::new(42).random(&[10_000, 10_000], &[1_000, 1_000]);
    for _ in 0..2 {
        let t = Instant::now(); let s = x.sum(..).scalar().unwrap(); println!("gen+sum      {:?} {s}", t.elapsed());
        let t = Instant::now(); let s = x.t().sum(..).scalar().unwrap(); println!("genT+sum     {:?} {s}", t.elapsed());
        let t = Instant::now(); let m = x.mean(&[0]).compute().unwrap(); println!("mean0        {:?} {}", t.elapsed(), m.len());
        let t = Instant::now(); let s = (&x + &x.t()).sum(..).scalar().unwrap(); println!("x+xT sum     {:?} {s}", t.elapsed());
        let t = Instant::now(); let s = (&x + &x.t() - x.mean(&[0])).sum(..).scalar().unwrap(); println!("W1           {:?} {s}", t.elapsed());
        let o = ones::<f64>(&[10_000, 10_000], &[1_000, 1_000]);
        let t = Instant::now(); let s = o.sum(..).scalar().unwrap(); println!("ones sum     {:?} {s}", t.elapsed());
    }
}
