//! A set of orders stored flat: every order's entries in one `Vec<u16>`, found by hash through an
//! open-addressing table of indices. Inserting an order costs one hash, a probe or two and a copy
//! of its entries: no allocation per order. The PrefLib reader counts identical ballots with it,
//! and [`crate::instance::MergedUsers`] merges identical rankings.
//!
//! The hash is fast and unkeyed, so a file can be crafted whose orders all land on one slot,
//! which would make inserting them take time quadratic in their number. A probe that runs
//! longer than `PROBE_LIMIT` slots (at most half full, honest data essentially never does)
//! switches the set to SipHash under a random key, as the standard library's maps use, and
//! places every order again: a crafted file then costs one rebuild. Which hash is in use never
//! shows: orders are numbered by first insertion either way.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Orders (slices of `u16`), each kept once and numbered in the order of first insertion.
#[derive(Debug)]
pub struct OrderSet {
    /// The entries of every order, one after another.
    flat: Vec<u16>,
    /// Order `i` is `flat[start[i]..start[i + 1]]`; `start[0] == 0`. `u32`: half the table a
    /// probe of a known order reads, as `usize`.
    start: Vec<u32>,
    /// `0` for an empty slot, else one more than the order it holds. A power of two long, never
    /// more than half full.
    slots: Vec<u32>,
    /// The keyed hash, once a probe has run past [`PROBE_LIMIT`]; [`hash`] until then.
    keyed: Option<RandomState>,
}

/// The longest probe the unkeyed hash is trusted with. At most half full, a run of 128 occupied
/// slots has a chance of about `0.83^128`, under `10^-10`, at a given slot.
const PROBE_LIMIT: usize = 128;

impl Default for OrderSet {
    fn default() -> Self {
        OrderSet::with_capacity(0, 0)
    }
}

/// Fx-style mixing of the length and the entries, four to a word (the high bits are the
/// well-mixed ones): one multiplication per four entries, so hashing an order of 16 is a chain
/// of 5 dependent multiplications rather than 17. The last one to three entries make one more
/// word, zero above them (the length tells `[1]` from `[1, 0]`).
fn hash(order: &[u16]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let word = |entries: &[u16]| {
        entries
            .iter()
            .rev()
            .fold(0u64, |w, &x| w << 16 | u64::from(x))
    };
    let mut h = (order.len() as u64).wrapping_mul(K);
    let mut fours = order.chunks_exact(4);
    for four in &mut fours {
        h = (h.rotate_left(26) ^ word(four)).wrapping_mul(K);
    }
    let rest = fours.remainder();
    if !rest.is_empty() {
        h = (h.rotate_left(26) ^ word(rest)).wrapping_mul(K);
    }
    h
}

impl OrderSet {
    /// An empty set with room for `orders` orders of `entries` entries in all.
    pub fn with_capacity(orders: usize, entries: usize) -> Self {
        let slots = orders.saturating_mul(2).max(16).next_power_of_two();
        let mut start = Vec::with_capacity(orders.saturating_add(1));
        start.push(0);
        OrderSet {
            flat: Vec::with_capacity(entries),
            start,
            slots: vec![0; slots],
            keyed: None,
        }
    }

    /// The slot a probe for `order` starts at, in a table of `mask + 1` slots.
    #[inline(always)]
    fn home(&self, order: &[u16], mask: usize) -> usize {
        let h = match &self.keyed {
            None => hash(order),
            Some(key) => key.hash_one(order),
        };
        (h >> 32) as usize & mask
    }

    /// How many orders the set holds.
    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Whether the set holds no order.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Order `i` (empty when there is none).
    pub fn get(&self, i: usize) -> &[u16] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => self.flat.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The number of `order`, and whether this call added it (numbers count up from 0 in the
    /// order orders were first inserted). `None` when the set already holds `u32::MAX - 1`
    /// orders, or when the order's entries would take the set's past `u32::MAX`.
    pub fn insert(&mut self, order: &[u16]) -> Option<(usize, bool)> {
        let mut mask = self.slots.len() - 1;
        let mut at = self.home(order, mask);
        let mut probes = 0;
        loop {
            let held = *self.slots.get(at)?;
            if held == 0 {
                break;
            }
            let i = held as usize - 1;
            if self.get(i) == order {
                return Some((i, false));
            }
            probes += 1;
            if self.switch_if_long(probes) {
                self.place_all(self.slots.len());
                mask = self.slots.len() - 1;
                at = self.home(order, mask);
                probes = 0;
                continue;
            }
            at = (at + 1) & mask;
        }
        let i = self.len();
        let number = u32::try_from(i + 1).ok().filter(|&x| x < u32::MAX)?;
        let end = u32::try_from(self.flat.len() + order.len()).ok()?;
        *self.slots.get_mut(at)? = number;
        self.flat.extend_from_slice(order);
        self.start.push(end);
        if 2 * self.len() > self.slots.len() {
            self.place_all(self.slots.len() * 2);
        }
        Some((i, true))
    }

    /// Whether a probe of `probes` slots switched the set to the keyed hash: one past
    /// [`PROBE_LIMIT`] under the unkeyed hash does, and then every order must be placed again.
    fn switch_if_long(&mut self, probes: usize) -> bool {
        let switch = probes > PROBE_LIMIT && self.keyed.is_none();
        if switch {
            self.switch();
        }
        switch
    }

    /// Switches to the keyed hash.
    #[cold]
    fn switch(&mut self) {
        self.keyed = Some(RandomState::new());
    }

    /// Places every order in a new table of `size` slots (a power of two). A probe past
    /// [`PROBE_LIMIT`] under the unkeyed hash switches to the keyed one and starts again.
    fn place_all(&mut self, size: usize) {
        'again: loop {
            let mut slots = vec![0u32; size];
            let mask = size - 1;
            for i in 0..self.len() {
                let mut at = self.home(self.get(i), mask);
                let mut probes = 0;
                while slots.get(at).is_some_and(|&s| s != 0) {
                    probes += 1;
                    if self.switch_if_long(probes) {
                        continue 'again;
                    }
                    at = (at + 1) & mask;
                }
                if let Some(s) = slots.get_mut(at) {
                    // `i + 1 < u32::MAX`, checked at insertion.
                    *s = (i + 1) as u32;
                }
            }
            self.slots = slots;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// Every order is found again, distinct orders get distinct numbers in insertion order, and
    /// the table grows past its first size (the brute force is a linear search).
    #[test]
    fn holds_each_order_once_in_insertion_order() {
        let mut set = OrderSet::with_capacity(1, 0);
        let mut seen: Vec<Vec<u16>> = Vec::new();
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..5_000 {
            let x = rng.next();
            let len = (x % 5) as usize;
            let order: Vec<u16> = (0..len).map(|k| ((x >> (8 * k + 8)) % 4) as u16).collect();
            let want = seen.iter().position(|o| *o == order);
            let got = set.insert(&order);
            match want {
                Some(i) => assert_eq!(got, Some((i, false))),
                None => {
                    assert_eq!(got, Some((seen.len(), true)));
                    seen.push(order);
                }
            }
        }
        assert_eq!(set.len(), seen.len());
        assert!(set.len() > 300, "{}", set.len());
        for (i, o) in seen.iter().enumerate() {
            assert_eq!(set.get(i), o.as_slice());
        }
        assert_eq!(set.get(seen.len()), &[] as &[u16]);
        assert!(set.keyed.is_none(), "honest orders switched the hash");
    }

    /// Orders crafted so that the unkeyed hash sends all of them to one slot, at every table
    /// size: the set switches to the keyed hash, and still numbers and finds each one.
    #[test]
    fn crafted_collisions_switch_to_the_keyed_hash() {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        // The inverse of `K` modulo 2^64 (Newton's iteration doubles the good bits).
        let mut inv = K;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(K.wrapping_mul(inv)));
        }
        assert_eq!(K.wrapping_mul(inv), 1);
        // A four-entry order hashes to `(rotl(4 K, 26) ^ word) K`: pick the hash, solve for
        // the word.
        let seed = 4u64.wrapping_mul(K).rotate_left(26);
        let orders: Vec<Vec<u16>> = (1..=20_000u64)
            .map(|low| {
                let word = (0x1234_5678u64 << 32 | low).wrapping_mul(inv) ^ seed;
                (0..4).map(|k| (word >> (16 * k)) as u16).collect()
            })
            .collect();
        assert!(orders.iter().all(|o| hash(o) >> 32 == 0x1234_5678));
        let mut set = OrderSet::with_capacity(0, 0);
        for (i, o) in orders.iter().enumerate() {
            assert_eq!(set.insert(o), Some((i, true)));
        }
        assert!(set.keyed.is_some());
        for (i, o) in orders.iter().enumerate() {
            assert_eq!(set.insert(o), Some((i, false)));
            assert_eq!(set.get(i), o.as_slice());
        }
        assert_eq!(set.len(), orders.len());
    }
}
