//! Running a benchmark row on one or several OS threads, shared by `benches/validation.rs` and
//! the peer crate (`benches/peer`), so their thread rows are measured the same way.
#![allow(dead_code)]

use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// The runtime every bench drives okta-oidc and the mock Okta with: one worker thread.
pub fn bench_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Polls `fut` once with a no-op waker (validation of a warm token completes without waiting),
/// falling back to `block_on` if it does wait: keeps executor overhead out of the rows.
pub fn run_now<F: Future>(rt: &Runtime, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => rt.block_on(fut),
    }
}

/// Runs `op` `iters` times on each of `threads` threads started together (each with its own
/// current-thread runtime); returns the longest thread's time.
pub fn on_threads(threads: usize, iters: u64, op: &(dyn Fn(&Runtime) + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .expect("runtime");
                    let _entered = rt.enter();
                    op(&rt); // warm this thread
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op(&rt);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .max()
            .unwrap_or_default()
    })
}
