//! [`ExpiringMap`]: a bounded map whose entries each have a deadline — the one helper behind
//! every "remember this until …" of the crate (unknown tenants, introspection answers).

use std::hash::Hash;

use crate::time::UnixTime;

/// A bounded map (quick_cache's CLOCK-Pro eviction) of values that expire.
pub(crate) struct ExpiringMap<K, V> {
    entries: quick_cache::sync::Cache<K, (V, UnixTime)>,
}

impl<K: Eq + Hash + Clone, V: Clone> std::fmt::Debug for ExpiringMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiringMap")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl<K, V> ExpiringMap<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// A map of at most about `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        ExpiringMap {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// The value of `key` if it has not expired at `now`; an expired entry is dropped.
    pub(crate) fn get(&self, key: &K, now: UnixTime) -> Option<V> {
        let (value, until) = self.entries.get(key)?;
        if until > now {
            return Some(value);
        }
        self.entries.remove(key);
        None
    }

    /// Whether `key` is present and not expired at `now`.
    pub(crate) fn contains(&self, key: &K, now: UnixTime) -> bool {
        self.get(key, now).is_some()
    }

    /// Remembers `value` for `key` until `until`.
    pub(crate) fn insert(&self, key: K, value: V, until: UnixTime) {
        self.entries.insert(key, (value, until));
    }

    /// Forgets `key`.
    pub(crate) fn remove(&self, key: &K) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn entries_expire_at_their_deadline() {
        let map = ExpiringMap::new(8);
        let t0 = UnixTime::from_secs(1_000);
        map.insert("a", 1, t0.after(Duration::from_secs(10)));
        assert_eq!(map.get(&"a", t0), Some(1));
        assert!(map.contains(&"a", t0.after(Duration::from_secs(9))));
        assert_eq!(map.get(&"a", t0.after(Duration::from_secs(10))), None);
        assert_eq!(map.get(&"a", t0), None, "an expired entry is dropped");
        map.insert("b", 2, t0.after(Duration::from_secs(1)));
        map.remove(&"b");
        assert_eq!(map.get(&"b", t0), None);
    }
}
