//! The names nodes serve the validator's model under, read from their `GET /v1/models` and kept for a while.
//!
//! An ordinary client lists a node's models once, not before every request: a validator that did would mark
//! each probe with the listing just before it (finding 8 in docs/verification.md). Each entry lives for a
//! random 20 to 60 minutes, so refreshes have no rhythm either, and is dropped early when a probe is refused
//! (the node may have renamed the model) or the node moved to another endpoint.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use alloy::primitives::Address;
use rand::Rng;

/// Shortest and longest time a listing is reused.
const LIFETIME: std::ops::Range<Duration> = Duration::from_secs(20 * 60)..Duration::from_secs(60 * 60);

#[derive(Debug)]
struct Listing {
    endpoint: String,
    model_name: String,
    until: Instant,
}

/// Model names per node, each with its own expiry.
#[derive(Debug, Default)]
pub struct Listings {
    by_node: HashMap<Address, Listing>,
}

impl Listings {
    /// The model name `node` listed at `endpoint`, if read there recently.
    pub fn get(&self, node: Address, endpoint: &str, now: Instant) -> Option<&str> {
        let listing = self.by_node.get(&node)?;
        (listing.endpoint == endpoint && now < listing.until).then_some(listing.model_name.as_str())
    }

    /// Keeps what `node` listed at `endpoint` for a random lifetime from `now`.
    pub fn put(&mut self, node: Address, endpoint: &str, model_name: String, now: Instant, rng: &mut impl Rng) {
        let until = now + rng.gen_range(LIFETIME);
        self.by_node.insert(node, Listing { endpoint: endpoint.to_string(), model_name, until });
    }

    /// Forgets `node`'s listing (a probe was refused: read it again next time).
    pub fn forget(&mut self, node: Address) {
        self.by_node.remove(&node);
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_listing_is_reused_for_a_random_while_at_its_endpoint_until_forgotten() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (node, other) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let start = Instant::now();
        let mut listings = Listings::default();
        assert_eq!(listings.get(node, "http://a", start), None);
        listings.put(node, "http://a", "tiny".into(), start, &mut rng);
        assert_eq!(listings.get(node, "http://a", start + Duration::from_secs(19 * 60)), Some("tiny"));
        assert_eq!(listings.get(node, "http://a", start + Duration::from_secs(61 * 60)), None, "expired");
        assert_eq!(listings.get(node, "http://b", start), None, "another endpoint");
        assert_eq!(listings.get(other, "http://a", start), None, "another node");
        listings.forget(node);
        assert_eq!(listings.get(node, "http://a", start), None, "forgotten");
        // Lifetimes differ from entry to entry.
        let lifetimes: std::collections::HashSet<_> = (0..20)
            .map(|_| {
                listings.put(node, "http://a", "tiny".into(), start, &mut rng);
                listings.by_node[&node].until - start
            })
            .collect();
        assert!(lifetimes.len() > 10, "{lifetimes:?}");
        assert!(lifetimes.iter().all(|l| LIFETIME.contains(l)));
    }
}
