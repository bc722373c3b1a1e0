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

    /// The `bytes` from `p`, for a pointer of a call that failed its checks (perhaps
    /// misaligned): never a slice, only to check that a written region stays off it
    /// ([`Region::overlaps_given`]). `None` for a null pointer and for a length no buffer can
    /// have (more than `isize::MAX` bytes, or wrapping the address space).
    fn span(p: *const u8, bytes: usize) -> Option<Region> {
        let start = p as usize;
        (!p.is_null() && bytes <= isize::MAX as usize && start.checked_add(bytes).is_some())
            .then_some(Region {
                start,
                bytes,
                written: false,
            })
    }

    /// Whether this region overlaps any of the buffers a failed call was given, `given` (each
    /// pointer with its length): at those lengths when the call's sizes were valid (`sized`)
    /// and every one is a length a buffer can have ([`Region::span`]), else at their first
    /// elements only (a size is wrong, so only the pointers are known).
    pub(crate) fn overlaps_given(&self, given: &[(*const u8, usize, usize)], sized: bool) -> bool {
        let at =
            |&(p, len, size): &(*const u8, usize, usize)| Region::span(p, len.saturating_mul(size));
        let spans: Option<Vec<Region>> = sized.then(|| given.iter().map(at).collect()).flatten();
        let spans = spans.unwrap_or_else(|| {
            given
                .iter()
                .filter_map(|&(p, _, size)| Region::span(p, size))
                .collect()
        });
        spans.iter().any(|o| self.overlaps(o))
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

/// A buffer a call was given, for [`Region::overlaps_given`]: its start, its length and its
/// element size.
pub(crate) fn given<T>(p: *const T, len: usize) -> (*const u8, usize, usize) {
    (p.cast(), len, size_of::<T>())
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
