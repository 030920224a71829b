//! [`SingleFlight`]: one call in flight per key, shared by every caller that asks meanwhile —
//! the one helper behind key-set refetches and introspection calls.
//!
//! The call runs in a spawned task, so it completes (and its result is stored by the caller's
//! future) even when every waiter went away; no lock is held across its I/O.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tracing::Instrument;

/// A call in flight, which any number of callers can await.
pub(crate) type Flight<T> = Shared<BoxFuture<'static, T>>;

/// The calls in flight, by key.
pub(crate) struct SingleFlight<K, T: Clone> {
    flights: Arc<Mutex<HashMap<K, Flight<T>>>>,
}

impl<K, T: Clone> std::fmt::Debug for SingleFlight<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleFlight").finish_non_exhaustive()
    }
}

impl<K, T: Clone> Default for SingleFlight<K, T> {
    fn default() -> Self {
        SingleFlight {
            flights: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K, T> SingleFlight<K, T>
where
    K: Eq + Hash + Clone + Send + 'static,
    T: Clone + Send + Sync + 'static,
{
    /// Joins the call in flight for `key`; or, when there is none, asks `start` for one (under
    /// the lock, so that two callers never both start) and spawns it. `start` may decline with
    /// `Err` (a cooldown, a budget), which is returned as is. `panicked` is the result waiters
    /// get if the spawned call panics.
    pub(crate) fn join_or_start<F, R>(
        &self,
        key: K,
        start: impl FnOnce() -> Result<F, R>,
        panicked: fn() -> T,
    ) -> Result<Flight<T>, R>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = flights.get(&key) {
            return Ok(flight.clone());
        }
        let call = start()?;
        let registry = Arc::clone(&self.flights);
        let done_key = key.clone();
        // In the span of the caller that started it: a key-set fetch or an introspection call
        // shows up in the trace of the request that waited for it.
        let task = tokio::spawn(
            async move {
                let result = call.await;
                registry
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&done_key);
                result
            }
            .in_current_span(),
        );
        let flight = async move { task.await.unwrap_or_else(|_| panicked()) }
            .boxed()
            .shared();
        flights.insert(key, flight.clone());
        Ok(flight)
    }

    /// Whether a call for `key` is in flight.
    #[cfg(test)]
    pub(crate) fn is_running(&self, key: &K) -> bool {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn callers_share_one_call_and_the_next_starts_anew() {
        let flights: SingleFlight<u8, usize> = SingleFlight::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let counter = Arc::clone(&calls);
        let first = flights
            .join_or_start(
                1,
                || {
                    Ok::<_, ()>(async move {
                        let _ = rx.await;
                        counter.fetch_add(1, Ordering::SeqCst) + 1
                    })
                },
                || 0,
            )
            .unwrap();
        let second = flights
            .join_or_start(1, || Err::<std::future::Ready<usize>, _>("not asked"), || 0)
            .unwrap();
        assert!(flights.is_running(&1));
        tx.send(()).unwrap();
        assert_eq!((first.await, second.await), (1, 1));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::task::yield_now().await;
        let declined =
            flights.join_or_start(1, || Err::<std::future::Ready<usize>, _>("cooling"), || 0);
        assert!(
            matches!(declined, Err("cooling")),
            "a finished call is not joined"
        );
    }
}
