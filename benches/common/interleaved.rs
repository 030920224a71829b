//! Rows measured interleaved, for ratios that hold on a shared machine: round after round, a
//! short batch of each row in turn (about 0.2 ms, the starting row rotating), for 20 s; each
//! row's figure is its median batch time per call. On a machine whose speed drifts by tens of
//! percent from one second to the next, rows measured seconds apart (criterion) give ratios
//! that move by ±15 %; interleaved rows see the same conditions. Shared by
//! `benches/validation.rs` and the peer crate (`benches/peer`).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// One call of a row, on the calling thread with its runtime.
pub type Op<'a> = Arc<dyn Fn(&Runtime) + Send + Sync + 'a>;

/// A row: its name, its call, and what to do before each timed batch (given the batch size).
pub struct Row<'a> {
    pub name: String,
    pub op: Op<'a>,
    pub before_batch: Option<Box<dyn Fn(usize) + 'a>>,
}

impl<'a> Row<'a> {
    pub fn new(name: impl Into<String>, op: impl Fn(&Runtime) + Send + Sync + 'a) -> Self {
        Row {
            name: name.into(),
            op: Arc::new(op),
            before_batch: None,
        }
    }
}

/// The medians, in µs per call, by row name.
pub struct Medians(Vec<(String, f64)>);

impl Medians {
    pub fn of(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, m)| *m)
    }

    /// Prints the throughput ratio of two rows (calls/s of `num` over calls/s of `den`).
    pub fn ratio(&self, label: &str, num: &str, den: &str) {
        if let (Some(a), Some(b)) = (self.of(num), self.of(den)) {
            println!("  {label:<44} {:.3}", b / a);
        }
    }
}

/// Keeps the rows named after `marker` on the command line (a row's name, or a group's:
/// `validation_es256` keeps `validation_es256/…`), or all of them when none is named.
pub fn keep_named(rows: &mut Vec<Row<'_>>, marker: &str) {
    let wanted: Vec<String> = std::env::args()
        .skip_while(|a| a != marker)
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    rows.retain(|row| {
        wanted.is_empty()
            || wanted.iter().any(|w| {
                row.name == *w
                    || row
                        .name
                        .strip_prefix(w.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
    });
}

/// Runs the rows interleaved and prints each one's median; `label` names the run.
pub fn run(rt: &Runtime, rows: &[Row<'_>], label: &str) -> Medians {
    const BATCH_TIME: Duration = Duration::from_micros(200);
    const TOTAL_TIME: Duration = Duration::from_secs(20);
    let _entered = rt.enter();
    // Batch sizes from a warm-up: about BATCH_TIME per batch.
    let batches: Vec<usize> = rows
        .iter()
        .map(|row| {
            let start = Instant::now();
            let mut n = 0u32;
            while start.elapsed() < Duration::from_millis(100) {
                (row.op)(rt);
                n += 1;
            }
            let per_call = start.elapsed() / n;
            (BATCH_TIME.as_nanos() / per_call.as_nanos().max(1)).clamp(1, 1 << 20) as usize
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    let start = Instant::now();
    let mut round = 0usize;
    while start.elapsed() < TOTAL_TIME {
        for k in 0..rows.len() {
            let i = (round + k) % rows.len();
            let row = &rows[i];
            if let Some(before) = &row.before_batch {
                before(batches[i]);
            }
            let t = Instant::now();
            for _ in 0..batches[i] {
                (row.op)(rt);
            }
            samples[i].push(t.elapsed().as_secs_f64() * 1e6 / batches[i] as f64);
        }
        round += 1;
    }
    println!(
        "interleaved ({label}): {round} rounds in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let mut medians = Vec::new();
    for ((row, mut v), n) in rows.iter().zip(samples).zip(&batches) {
        v.sort_by(f64::total_cmp);
        let m = v[v.len() / 2];
        println!(
            "  {:<34} {m:>10.3} µs per call (median batch of {n})",
            row.name
        );
        medians.push((row.name.clone(), m));
    }
    Medians(medians)
}
