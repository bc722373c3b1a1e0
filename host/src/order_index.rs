//! Finding a user type by its order in constant expected time: one Fx hash per order, and a
//! chain through the user types whose orders share a hash. The PrefLib reader counts identical
//! ballots with it, and [`crate::Instance::merge_duplicate_rankings`] merges identical rankings.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::instance::{Prefs, UserType};

/// An index of a growing list of user types by their [`Prefs::Order`].
///
/// The caller owns the list and keeps one rule: after [`OrderIndex::find_or_expect`] returns
/// `None`, or after [`OrderIndex::skip`], it pushes exactly one user type.
#[derive(Debug, Default)]
pub struct OrderIndex {
    /// The first user type with a hash.
    first: FxHashMap<u64, usize>,
    /// `next[i]` is the next user type after `i` with the same hash (`usize::MAX` ends).
    next: Vec<usize>,
}

impl OrderIndex {
    /// An empty index with room for `capacity` user types.
    pub fn with_capacity(capacity: usize) -> Self {
        OrderIndex {
            first: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
            next: Vec::with_capacity(capacity),
        }
    }

    /// The user type of `users` whose order is `order`, if there is one. If there is none, the
    /// index now holds `order` as user type `users.len()`, which the caller pushes next.
    pub fn find_or_expect(&mut self, users: &[UserType], order: &[u16]) -> Option<usize> {
        let mut h = FxHasher::default();
        order.hash(&mut h);
        let h = h.finish();
        let mut i = self.first.get(&h).copied().unwrap_or(usize::MAX);
        while let Some(user) = users.get(i) {
            if matches!(&user.prefs, Prefs::Order(o) if o.as_slice() == order) {
                return Some(i);
            }
            i = self.next.get(i).copied().unwrap_or(usize::MAX);
        }
        self.next
            .push(self.first.insert(h, users.len()).unwrap_or(usize::MAX));
        None
    }

    /// Makes room for a user type that is not indexed (a row of scores), which the caller
    /// pushes next.
    pub fn skip(&mut self) {
        self.next.push(usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(order: &[u16]) -> UserType {
        UserType {
            weight: 1.0,
            prefs: Prefs::Order(order.to_vec()),
            line: 1,
        }
    }

    #[test]
    fn finds_each_order_once_past_scores_and_collisions() {
        let orders: [&[u16]; 5] = [&[0, 1, 2], &[2, 1, 0], &[0, 1, 2], &[1, 0, 2], &[2, 1, 0]];
        let mut users = Vec::new();
        let mut index = OrderIndex::with_capacity(2);
        index.skip();
        users.push(UserType {
            weight: 1.0,
            prefs: Prefs::Scores(vec![1.0, 2.0, 3.0]),
            line: 1,
        });
        let mut found = Vec::new();
        for o in orders {
            match index.find_or_expect(&users, o) {
                Some(i) => found.push(i),
                None => users.push(user(o)),
            }
        }
        assert_eq!(found, vec![1, 2]);
        assert_eq!(users.len(), 4);
        // Orders of one hash chain: many distinct orders are all told apart (the brute force
        // is a linear search).
        let mut users = Vec::new();
        let mut index = OrderIndex::default();
        for a in 0..40u16 {
            for b in 0..40u16 {
                let o = [a, b];
                let brute = users
                    .iter()
                    .position(|u: &UserType| matches!(&u.prefs, Prefs::Order(x) if x[..] == o));
                let got = index.find_or_expect(&users, &o);
                assert_eq!(got, brute);
                if got.is_none() {
                    users.push(user(&o));
                }
                assert_eq!(index.find_or_expect(&users, &o), users.len().checked_sub(1));
            }
        }
    }
}
