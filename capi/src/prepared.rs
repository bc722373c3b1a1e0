//! The prepared population: an opaque handle (`ualign_prepared *` in C) that owns a population
//! built once and reused by any number of solve and certify calls.
//!
//! [`ualign_prepared_new`] validates the caller's scores and weights and builds the population
//! (`PopulationBuilder::push_scores` / `finish`, through the same [`build_from`] as the one-shot
//! calls) into two heap buffers the handle owns: `m` normalised weights and `m * n` order entries.
//! The caller's scores and weights are not read again, so they may be freed or changed right after.
//! [`ualign_solve_prepared`], [`ualign_solve_prepared_warm`] and [`ualign_certify_prepared`]
//! only read the handle: they skip the `O(m n log n)` rebuild of
//! [`ualign_solve`](crate::ualign_solve), [`ualign_solve_warm`](crate::ualign_solve_warm) and
//! [`ualign_certify`](crate::ualign_certify), produce the same bits (the population is the same,
//! and the solve and certificate run through the same [`solve_into`] and [`certify_into`]), and
//! may run on several threads at once with one handle. [`ualign_prepared_free`] releases it.
//!
//! Allocation is fallible: the buffers are reserved with `Vec::try_reserve_exact` and the handle
//! with `std::alloc::alloc`, so an allocation failure is [`UALIGN_ERR_OUT_OF_MEMORY`], not an
//! abort.
//!
//! The handle borrows from itself (the population refers to the handle's buffers), so it keeps
//! the buffers as raw parts ([`OwnedBuf`]) rather than as `Box`es (whose moves assert unique
//! access), and hands out the population only for the duration of a borrow of the handle
//! ([`ualign_prepared::population`]).

use core::ffi::c_int;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use std::alloc::Layout;

use ualign::Population;

use crate::boundary::{Region, disjoint, given, guard, write_out};
use crate::{
    MAX_CANDIDATES, SolveOut, Start, UALIGN_ERR_BAD_SIZE, UALIGN_ERR_NULL_POINTER,
    UALIGN_ERR_OUT_OF_MEMORY, build_from, certify_into, check_sizes, solve_into,
    ualign_certificate,
};

/// A heap buffer of `len` elements kept as the raw parts of the `Vec` that allocated it, freed
/// on drop.
struct OwnedBuf<T> {
    ptr: NonNull<T>,
    len: usize,
    cap: usize,
}

impl<T: Copy> OwnedBuf<T> {
    /// `len` copies of `value`, or [`UALIGN_ERR_OUT_OF_MEMORY`] when the allocation fails.
    fn filled(len: usize, value: T) -> Result<Self, c_int> {
        let mut v: Vec<T> = Vec::new();
        v.try_reserve_exact(len)
            .map_err(|_| UALIGN_ERR_OUT_OF_MEMORY)?;
        // Within the reserved capacity: no further allocation.
        v.resize(len, value);
        let mut v = ManuallyDrop::new(v);
        let cap = v.capacity();
        // A Vec's pointer is never null (dangling when nothing was allocated).
        let ptr = NonNull::new(v.as_mut_ptr()).ok_or(UALIGN_ERR_OUT_OF_MEMORY)?;
        Ok(OwnedBuf { ptr, len, cap })
    }

    /// The buffer as a [`Region`] of the call.
    fn region(&self, written: bool) -> Result<Region, c_int> {
        Region::of(self.ptr.as_ptr().cast_const(), self.len, written)
    }

    /// The buffer as a slice for the lifetime `'a`.
    ///
    /// # Safety
    ///
    /// No other reference to the buffer is alive while the slice is, and the buffer outlives
    /// `'a`.
    unsafe fn slice_mut<'a>(&self) -> &'a mut [T] {
        // SAFETY: `ptr` is valid for `len` initialised elements (filled); exclusivity and
        // lifetime are the caller's contract.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for OwnedBuf<T> {
    fn drop(&mut self) {
        // SAFETY: the raw parts of a Vec<T> whose ownership `filled` gave to this struct, used
        // once.
        drop(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
    }
}

/// A prepared population (`ualign_prepared` in C, always behind a pointer): made by
/// [`ualign_prepared_new`], used by [`ualign_solve_prepared`] and [`ualign_certify_prepared`],
/// released by [`ualign_prepared_free`]. Opaque to C.
pub struct ualign_prepared {
    /// Refers to `weights` and `order`. The `'static` is internal: the population is only handed
    /// out for a borrow of the handle ([`ualign_prepared::population`]), and it is declared
    /// first so it is gone before the buffers are freed (it has no drop glue either way).
    population: Population<'static, MAX_CANDIDATES>,
    weights: OwnedBuf<f32>,
    order: OwnedBuf<u16>,
}

// SAFETY: the handle owns its buffers outright (no other pointer to them exists outside it), and
// after construction nothing writes them: every use is a read through `population` or a
// `Region` address. Moving it to, or sharing it with, another thread is therefore as safe as for
// the `Vec<f32>` and `Vec<u16>` it stands for.
unsafe impl Send for ualign_prepared {}
// SAFETY: as for Send; the `&self` methods only read.
unsafe impl Sync for ualign_prepared {}

impl ualign_prepared {
    /// Builds the population of `n` candidates from `scores` (`m x n` row-major, `m =
    /// weights.len()`) and `weights` into buffers the handle owns.
    fn build(n: usize, scores: &[f32], weights: &[f32]) -> Result<ualign_prepared, c_int> {
        let m = weights.len();
        let nm = check_sizes(n, m)?;
        if scores.len() != nm {
            return Err(UALIGN_ERR_BAD_SIZE);
        }
        let wbuf = OwnedBuf::filled(m, 0.0f32)?;
        let obuf = OwnedBuf::filled(nm, 0u16)?;
        // SAFETY: `wbuf` and `obuf` are fresh allocations nothing else refers to; they move into
        // the handle together with the population that borrows them, stay unwritten while it
        // lives, and are freed only when the handle is dropped. On an error below, the slices
        // die inside `build_from` before the buffers are freed.
        let (w, o) = unsafe { (wbuf.slice_mut(), obuf.slice_mut()) };
        let population = build_from(n, scores, weights, w, o)?;
        Ok(ualign_prepared {
            population,
            weights: wbuf,
            order: obuf,
        })
    }

    /// The population, for as long as the handle is borrowed.
    pub fn population(&self) -> Population<'_, MAX_CANDIDATES> {
        self.population
    }

    /// Moves the handle to the heap, or [`UALIGN_ERR_OUT_OF_MEMORY`] (the handle, with its
    /// buffers, is then dropped).
    fn into_raw(self) -> Result<NonNull<ualign_prepared>, c_int> {
        let layout = Layout::new::<ualign_prepared>();
        // SAFETY: the layout has a non-zero size (the struct holds a population and two buffers).
        let raw = unsafe { std::alloc::alloc(layout) }.cast::<ualign_prepared>();
        let raw = NonNull::new(raw).ok_or(UALIGN_ERR_OUT_OF_MEMORY)?;
        // SAFETY: freshly allocated with the layout of ualign_prepared: valid and aligned for a
        // write of one.
        unsafe { raw.as_ptr().write(self) };
        Ok(raw)
    }

    /// The population of the handle behind a caller's pointer, checked for null and alignment,
    /// and the handle's regions (the struct and both buffers, all read-only for the call).
    ///
    /// # Safety
    ///
    /// `pop` is null or a pointer returned by [`ualign_prepared_new`] and not yet freed, and
    /// stays so for `'a`.
    unsafe fn from_ptr<'a>(
        pop: *const ualign_prepared,
    ) -> Result<(Population<'a, MAX_CANDIDATES>, [Region; 3]), c_int> {
        let rh = Region::of(pop, 1, false)?;
        // SAFETY: non-null and aligned (Region::of); a live handle (caller contract).
        let h = unsafe { &*pop };
        Ok((
            h.population(),
            [rh, h.weights.region(false)?, h.order.region(false)?],
        ))
    }
}

/// Builds a prepared population and returns it through `*out`.
///
/// Reads the `m x n` row-major `scores` (higher is better, equal scores tie) and the `m`
/// `weights` (`>= 0`, not all zero), with the same checks and the same result as
/// [`ualign_population_init`](crate::ualign_population_init), into memory the handle owns
/// (`m * (4 + 2 n)` bytes and the handle). `scores` and `weights` are not used after the call
/// returns. On failure `*out` is set to null (when `out` itself is usable).
///
/// # Safety
///
/// `out` is null or valid for writes of one pointer; `scores` (`m * n` floats) and `weights`
/// (`m` floats) are null or valid for reads of those lengths.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ualign_prepared_new(
    out: *mut *mut ualign_prepared,
    n: usize,
    m: usize,
    scores: *const f32,
    weights: *const f32,
) -> c_int {
    guard(|| {
        let ro = Region::of(out, 1, true)?;
        // Pointers before sizes, as ualign_population_init checks them.
        let inputs = if scores.is_null() || weights.is_null() {
            Err(UALIGN_ERR_NULL_POINTER)
        } else {
            check_sizes(n, m).and_then(|nm| {
                Ok((
                    nm,
                    Region::of(scores, nm, false)?,
                    Region::of(weights, m, false)?,
                ))
            })
        };
        // `*out` overlapping an input is refused before it is written: setting it to NULL
        // would write into that input.
        match inputs {
            Ok((_, rs, rw)) => disjoint(&[ro, rs, rw])?,
            Err(e) => {
                // Inputs that failed their checks, at the lengths given (when a buffer can have
                // them): an overlapping `*out` is left as it was.
                let given = [given(scores, n.saturating_mul(m)), given(weights, m)];
                if ro.overlaps_given(&given, check_sizes(n, m).is_ok()) {
                    return Err(e);
                }
            }
        }
        // SAFETY: `out` passed Region::of and is valid for writes (caller contract), and it
        // overlaps no input whose region is known.
        unsafe { write_out(out, core::ptr::null_mut()) };
        let (nm, _, _) = inputs?;
        let handle = {
            // SAFETY: non-null, aligned, at most isize::MAX bytes (Region::of), valid for reads
            // (caller contract), and not written by this call while the slices live (the only
            // written region, `out`, is disjoint from them and written after they are gone).
            let (scores, weights) = unsafe {
                (
                    core::slice::from_raw_parts(scores, nm),
                    core::slice::from_raw_parts(weights, m),
                )
            };
            ualign_prepared::build(n, scores, weights)?.into_raw()?
        };
        // SAFETY: as the first write.
        unsafe { write_out(out, handle.as_ptr()) };
        Ok(())
    })
}

/// [`ualign_solve`](crate::ualign_solve) on a prepared population: the same checks (other than
/// the population's, done once by [`ualign_prepared_new`]), the same policy, iterations and
/// certificate, bit for bit.
///
/// # Safety
///
/// `pop` is null or a live handle from [`ualign_prepared_new`]; `policy` is null or valid for
/// writes of `policy_len` floats; `iterations` and `cert` are null or valid for writes of one
/// value.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ualign_solve_prepared(
    pop: *const ualign_prepared,
    k: u32,
    epsilon: f32,
    max_iter: u32,
    policy: *mut f32,
    policy_len: usize,
    iterations: *mut u32,
    cert: *mut ualign_certificate,
) -> c_int {
    // SAFETY: the caller's contract, as this function's.
    unsafe {
        solve_prepared(
            pop,
            (k, epsilon, max_iter),
            None,
            (policy, policy_len, iterations, cert),
        )
    }
}

/// [`ualign_solve_warm`](crate::ualign_solve_warm) on a prepared population: optimistic Hedge
/// from the warm start `start` (`start_len == n`), bit for bit the one-shot result.
///
/// # Safety
///
/// As [`ualign_solve_prepared`], and `start` is null or valid for reads of `start_len` floats.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ualign_solve_prepared_warm(
    pop: *const ualign_prepared,
    k: u32,
    epsilon: f32,
    max_iter: u32,
    start: *const f32,
    start_len: usize,
    policy: *mut f32,
    policy_len: usize,
    iterations: *mut u32,
    cert: *mut ualign_certificate,
) -> c_int {
    // SAFETY: the caller's contract, as this function's.
    unsafe {
        solve_prepared(
            pop,
            (k, epsilon, max_iter),
            Some((start, start_len)),
            (policy, policy_len, iterations, cert),
        )
    }
}

/// [`ualign_solve_prepared`] (`start` `None`) and [`ualign_solve_prepared_warm`]: the handle's
/// population and regions, then [`solve_into`].
///
/// # Safety
///
/// As [`ualign_solve_prepared_warm`] (`pop`, a start, the outputs).
unsafe fn solve_prepared(
    pop: *const ualign_prepared,
    params: (u32, f32, u32),
    start: Start,
    out: SolveOut,
) -> c_int {
    guard(|| {
        // SAFETY: caller contract on `pop`.
        let (population, inputs) = unsafe { ualign_prepared::from_ptr(pop) }?;
        let n = population.n();
        // SAFETY: caller contract on the start and the outputs; the population lies in the
        // handle's regions.
        unsafe { solve_into(&inputs, n, || Ok(population), params, start, out) }
    })
}

/// [`ualign_certify`](crate::ualign_certify) on a prepared population: the exact certificate of
/// showing `k` draws from `policy` (`policy_len == n`), bit for bit the one-shot result.
///
/// # Safety
///
/// `pop` is null or a live handle from [`ualign_prepared_new`]; `policy` is null or valid for
/// reads of `policy_len` floats; `cert` is null or valid for writes of one `ualign_certificate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ualign_certify_prepared(
    pop: *const ualign_prepared,
    policy: *const f32,
    policy_len: usize,
    k: u32,
    cert: *mut ualign_certificate,
) -> c_int {
    guard(|| {
        // SAFETY: caller contract on `pop`.
        let (population, inputs) = unsafe { ualign_prepared::from_ptr(pop) }?;
        let n = population.n();
        // SAFETY: caller contract on `policy` and `cert`; the population lies in the handle's
        // regions.
        unsafe { certify_into(&inputs, n, || Ok(population), policy, policy_len, k, cert) }
    })
}

/// Releases a prepared population and everything it owns. Null is a no-op, as is a misaligned
/// pointer (which cannot be a handle).
///
/// # Safety
///
/// `pop` is null or a handle from [`ualign_prepared_new`] that was not freed yet and that no
/// running call uses; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ualign_prepared_free(pop: *mut ualign_prepared) {
    let _ = guard(|| {
        if !pop.is_null() && pop.is_aligned() {
            // SAFETY: allocated by `into_raw` with the Global allocator and the layout of
            // ualign_prepared, which is what Box uses (caller contract: not freed yet).
            drop(unsafe { Box::from_raw(pop) });
        }
        Ok(())
    });
}
