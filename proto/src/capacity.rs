//! The firmware's capacities, defined once: the firmware sizes its static buffers with them, the
//! host refuses larger instances before it starts QEMU, and the tests fill them exactly. A
//! request over a capacity gets [`crate::ErrorCode::Capacity`] with `detail` 0 (candidates),
//! 1 (user types) or 2 (`k`), `a` the value asked for and `b` the capacity.

/// Candidates a request may have (`n`).
pub const N: usize = 32;
/// User types a request may have (`m`).
pub const M: usize = 64;
/// The largest `k`, the number of responses shown.
pub const K: usize = 16;
