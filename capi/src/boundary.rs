//! The C boundary: every caller pointer is validated as a [`Region`] before a slice is built from
//! it, written regions must not overlap any other region of the call ([`disjoint`]), and every
//! entry point body runs inside [`guard`], so no panic crosses into C.

use core::ffi::c_int;
use core::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{UALIGN_ERR_BAD_SIZE, UALIGN_ERR_INTERNAL, UALIGN_ERR_NULL_POINTER, UALIGN_OK};

/// A caller buffer of a call: its address range and whether the call writes it.
#[derive(Clone, Copy)]
pub(crate) struct Region {
    start: usize,
    bytes: usize,
    written: bool,
}

impl Region {
    /// Checks that `p` can be the start of a slice of `len` elements of `T`: non-null, aligned,
    /// at most `isize::MAX` bytes, and the range does not wrap the address space.
    pub(crate) fn of<T>(p: *const T, len: usize, written: bool) -> Result<Region, c_int> {
        if p.is_null() || !p.is_aligned() {
            return Err(UALIGN_ERR_NULL_POINTER);
        }
        let bytes = len
            .checked_mul(size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(UALIGN_ERR_BAD_SIZE)?;
        let start = p as usize;
        start.checked_add(bytes).ok_or(UALIGN_ERR_BAD_SIZE)?;
        Ok(Region {
            start,
            bytes,
            written,
        })
    }

    fn overlaps(&self, other: &Region) -> bool {
        self.bytes > 0
            && other.bytes > 0
            && self.start < other.start + other.bytes
            && other.start < self.start + self.bytes
    }
}

/// Fails with [`UALIGN_ERR_NULL_POINTER`] when a written region overlaps any other region, so
/// the `&mut` slices built from them never alias.
pub(crate) fn disjoint(regions: &[Region]) -> Result<(), c_int> {
    for (i, a) in regions.iter().enumerate() {
        for b in regions.iter().skip(i + 1) {
            if (a.written || b.written) && a.overlaps(b) {
                return Err(UALIGN_ERR_NULL_POINTER);
            }
        }
    }
    Ok(())
}

/// [`disjoint`] over the regions of `first` and `second` together.
pub(crate) fn disjoint_both(first: &[Region], second: &[Region]) -> Result<(), c_int> {
    disjoint(first)?;
    disjoint(second)?;
    let clash = |a: &Region| {
        second
            .iter()
            .any(|b| (a.written || b.written) && a.overlaps(b))
    };
    if first.iter().any(clash) {
        return Err(UALIGN_ERR_NULL_POINTER);
    }
    Ok(())
}

/// Runs an entry point body: `Ok` is [`UALIGN_OK`], `Err(code)` is `code`, a panic is
/// [`UALIGN_ERR_INTERNAL`]. No panic crosses the C boundary.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), c_int>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => UALIGN_OK,
        Ok(Err(code)) => code,
        Err(_) => UALIGN_ERR_INTERNAL,
    }
}

/// Writes `value` through an out-pointer that was validated as a [`Region`].
///
/// # Safety
///
/// `p` passed [`Region::of`] and is valid for writes of one `T` (caller contract), and no slice
/// overlapping it is alive.
pub(crate) unsafe fn write_out<T>(p: *mut T, value: T) {
    // SAFETY: see the function contract.
    unsafe { p.write(value) }
}
