//! [`LoadedTenants`]: the ids of the tenants the loader returned, least recently loaded first,
//! for the `max_loaded_tenants` bound — every step O(log n), never a scan, since a load happens
//! on a request's path.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Loaded tenant ids in the order they were (last) loaded.
#[derive(Debug, Default)]
pub(crate) struct LoadedTenants {
    next: u64,
    by_id: HashMap<Arc<str>, u64>,
    by_order: BTreeMap<u64, Arc<str>>,
}

impl LoadedTenants {
    /// Records `id` as loaded now; returns the ids past `max`, least recently loaded first,
    /// which the caller evicts.
    pub(crate) fn push(&mut self, id: Arc<str>, max: usize) -> Vec<Arc<str>> {
        self.remove(&id);
        self.next += 1;
        self.by_order.insert(self.next, Arc::clone(&id));
        self.by_id.insert(id, self.next);
        let mut evicted = Vec::new();
        while self.by_id.len() > max {
            let Some((_, oldest)) = self.by_order.pop_first() else {
                break;
            };
            self.by_id.remove(&oldest);
            evicted.push(oldest);
        }
        evicted
    }

    /// Forgets `id` (registered by the application, or removed).
    pub(crate) fn remove(&mut self, id: &str) {
        if let Some(order) = self.by_id.remove(id) {
            self.by_order.remove(&order);
        }
    }

    /// Whether `id` is a loaded tenant.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// How many tenants are loaded.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    #[cfg(test)]
    fn ids(&self) -> Vec<&str> {
        self.by_order.values().map(|id| &**id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_loaded_go_first() {
        let mut loaded = LoadedTenants::default();
        assert!(loaded.push("a".into(), 2).is_empty());
        assert!(loaded.push("b".into(), 2).is_empty());
        assert!(
            loaded.push("a".into(), 2).is_empty(),
            "loaded again: newest"
        );
        assert_eq!(loaded.push("c".into(), 2), vec![Arc::<str>::from("b")]);
        assert_eq!(loaded.ids(), ["a", "c"]);
        loaded.remove("a");
        assert_eq!(loaded.ids(), ["c"]);
        assert!(loaded.push("d".into(), 2).is_empty());
    }
}
