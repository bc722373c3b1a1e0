//! The prepared population (`ualign_prepared`) called as C calls it.
//!
//! Checks that the prepared calls give the one-shot calls' bits over many seeded random
//! instances (ties, fractional and whole weights, zero weights, k 1..=8), that one handle serves
//! many calls (also from several threads at once) and no longer needs the caller's inputs, that
//! every null or invalid argument gives the one-shot call's status, and that every allocation
//! failure of `ualign_prepared_new` is `UALIGN_ERR_OUT_OF_MEMORY` (through a test allocator
//! that fails on request).

use core::cell::Cell;
use core::ptr::{null, null_mut};
use std::alloc::{GlobalAlloc, Layout, System};

use rand_xoshiro::{
    Xoshiro128PlusPlus,
    rand_core::{Rng, SeedableRng},
};
use ualign_capi::*;

// ---- An allocator that fails the i-th allocation of this thread on request. -----------------

struct Failing;

thread_local! {
    /// Allocations on this thread still allowed before one fails; `usize::MAX`: never fail.
    static ALLOWED: Cell<usize> = const { Cell::new(usize::MAX) };
}

// SAFETY: forwards to System, or returns null (an allowed answer of `alloc`).
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let fail = ALLOWED
            .try_with(|a| match a.get() {
                0 => true,
                usize::MAX => false,
                left => {
                    a.set(left - 1);
                    false
                }
            })
            .unwrap_or(false);
        if fail {
            null_mut()
        } else {
            // SAFETY: the caller's contract, forwarded.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded (every block came from System).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Failing = Failing;

// ---- Instances. ------------------------------------------------------------------------------

struct Instance {
    n: usize,
    scores: Vec<f32>,
    weights: Vec<f32>,
}

impl Instance {
    fn m(&self) -> usize {
        self.weights.len()
    }

    /// A seeded random instance: `n` in 1..=24, `m` in 1..=10; scores from a handful of values
    /// (many ties) or continuous; whole, fractional or partly zero weights.
    fn random(seed: u64) -> Instance {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
        let mut below = |b: u32| rng.next_u32() % b;
        let n = 1 + below(24) as usize;
        let m = 1 + below(10) as usize;
        let ties = below(2) == 0;
        let levels = 2 + below(4);
        let scores = (0..n * m)
            .map(|_| {
                if ties {
                    below(levels) as f32
                } else {
                    below(1 << 20) as f32 / 1024.0 - 300.0
                }
            })
            .collect();
        let kind = below(3);
        let mut weights: Vec<f32> = (0..m)
            .map(|_| match kind {
                0 => (1 + below(50)) as f32,
                1 => below(1000) as f32 / 999.0 + 1e-3,
                _ => below(3) as f32,
            })
            .collect();
        if weights.iter().all(|&w| w == 0.0) {
            weights[0] = 1.0;
        }
        Instance { n, scores, weights }
    }

    fn prepared(&self) -> Handle {
        let mut h = null_mut();
        // SAFETY: valid pointers for the lengths passed.
        let st = unsafe {
            ualign_prepared_new(
                &mut h,
                self.n,
                self.m(),
                self.scores.as_ptr(),
                self.weights.as_ptr(),
            )
        };
        assert_eq!(st, UALIGN_OK);
        assert!(!h.is_null());
        Handle(h)
    }

    fn one_shot(&self) -> Box<OneShot> {
        let mut o = Box::new(OneShot {
            scores: self.scores.clone(),
            weights: self.weights.clone(),
            wbuf: vec![0.0; self.m()],
            obuf: vec![0; self.n * self.m()],
            pop: ualign_population::EMPTY,
        });
        // SAFETY: valid pointers for the lengths passed; the buffers live in `o`.
        let st = unsafe {
            ualign_population_init(
                &mut o.pop,
                self.n,
                self.m(),
                o.scores.as_ptr(),
                o.weights.as_ptr(),
                o.wbuf.as_mut_ptr(),
                o.wbuf.len(),
                o.obuf.as_mut_ptr(),
                o.obuf.len(),
            )
        };
        assert_eq!(st, UALIGN_OK);
        o
    }
}

/// What a solve call returns, in bits.
#[derive(Debug, PartialEq)]
struct Solved {
    status: i32,
    policy: Vec<u32>,
    iterations: u32,
    cert: [u32; 5],
}

fn cert_bits(c: &ualign_certificate) -> [u32; 5] {
    [
        c.k,
        c.worst_case_win_rate.to_bits(),
        c.exploitability.to_bits(),
        c.worst_opponent,
        c.bound.to_bits(),
    ]
}

/// A prepared population, freed on drop.
struct Handle(*mut ualign_prepared);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a live handle from ualign_prepared_new, used by nobody else now.
        unsafe { ualign_prepared_free(self.0) }
    }
}

impl Handle {
    fn solve(&self, k: u32, eps: f32, max_iter: u32, n: usize) -> Solved {
        let mut policy = vec![f32::NAN; n];
        let (mut it, mut cert) = (u32::MAX, ualign_certificate::default());
        // SAFETY: a live handle; outputs valid for their lengths.
        let status = unsafe {
            ualign_solve_prepared(
                self.0,
                k,
                eps,
                max_iter,
                policy.as_mut_ptr(),
                n,
                &mut it,
                &mut cert,
            )
        };
        Solved {
            status,
            policy: policy.iter().map(|p| p.to_bits()).collect(),
            iterations: it,
            cert: cert_bits(&cert),
        }
    }

    fn certify(&self, policy: &[f32], k: u32) -> (i32, [u32; 5]) {
        let mut cert = ualign_certificate::default();
        // SAFETY: a live handle; valid pointers for the lengths passed.
        let st =
            unsafe { ualign_certify_prepared(self.0, policy.as_ptr(), policy.len(), k, &mut cert) };
        (st, cert_bits(&cert))
    }
}

/// A caller-owned population and its buffers.
struct OneShot {
    scores: Vec<f32>,
    weights: Vec<f32>,
    wbuf: Vec<f32>,
    obuf: Vec<u16>,
    pop: ualign_population,
}

impl OneShot {
    fn solve(&mut self, k: u32, eps: f32, max_iter: u32, n: usize) -> Solved {
        let mut policy = vec![f32::NAN; n];
        let (mut it, mut cert) = (u32::MAX, ualign_certificate::default());
        // SAFETY: the population's buffers are alive in `self`; outputs valid for their lengths.
        let status = unsafe {
            ualign_solve(
                &mut self.pop,
                k,
                eps,
                max_iter,
                policy.as_mut_ptr(),
                n,
                &mut it,
                &mut cert,
            )
        };
        Solved {
            status,
            policy: policy.iter().map(|p| p.to_bits()).collect(),
            iterations: it,
            cert: cert_bits(&cert),
        }
    }

    fn certify(&mut self, policy: &[f32], k: u32) -> (i32, [u32; 5]) {
        let mut cert = ualign_certificate::default();
        // SAFETY: as in `solve`.
        let st =
            unsafe { ualign_certify(&mut self.pop, policy.as_ptr(), policy.len(), k, &mut cert) };
        (st, cert_bits(&cert))
    }
}

/// Policies to certify over `n` candidates: uniform, a point mass, and a seeded random one.
fn policies(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed ^ 0x9e37_79b9);
    let raw: Vec<f32> = (0..n)
        .map(|_| (rng.next_u32() % 100) as f32 + 1.0)
        .collect();
    let total: f32 = raw.iter().sum();
    let mut point = vec![0.0; n];
    point[(seed as usize) % n] = 1.0;
    vec![
        vec![1.0 / n as f32; n],
        point,
        raw.iter().map(|r| r / total).collect(),
    ]
}

// ---- Tests. ----------------------------------------------------------------------------------

#[test]
fn prepared_calls_give_the_one_shot_bits_on_random_instances() {
    let mut solved = 0;
    for seed in 0..400u64 {
        let inst = Instance::random(seed);
        let h = inst.prepared();
        let mut o = inst.one_shot();
        let n = inst.n;
        for k in 1..=8u32 {
            // Alternate a tight and a loose tolerance so both stopping rules are exercised.
            let eps = if (seed + k as u64).is_multiple_of(2) {
                1e-4
            } else {
                1e-2
            };
            let p = h.solve(k, eps, 300, n);
            let q = o.solve(k, eps, 300, n);
            assert_eq!(p, q, "seed {seed}, k {k}");
            assert_eq!(p.status, UALIGN_OK);
            solved += 1;
            let solved_policy: Vec<f32> = p.policy.iter().map(|&b| f32::from_bits(b)).collect();
            for pi in policies(n, seed).iter().chain([&solved_policy]) {
                let a = h.certify(pi, k);
                assert_eq!(a, o.certify(pi, k), "seed {seed}, k {k}, {pi:?}");
                assert_eq!(a.0, UALIGN_OK);
            }
        }
    }
    assert_eq!(solved, 400 * 8);
}

#[test]
fn one_handle_serves_many_calls_and_outlives_its_inputs() {
    let inst = Instance::random(7);
    let n = inst.n;
    let mut o = inst.one_shot();
    // The handle is built from copies that are then overwritten and freed: it keeps what it needs.
    let h = {
        let mut copy = Instance {
            n,
            scores: inst.scores.clone(),
            weights: inst.weights.clone(),
        };
        let h = copy.prepared();
        copy.scores.fill(f32::NAN);
        copy.weights.fill(-1.0);
        h
    };
    let first: Vec<Solved> = (1..=8).map(|k| h.solve(k, 1e-4, 500, n)).collect();
    for round in 0..5 {
        for k in 1..=8u32 {
            let p = h.solve(k, 1e-4, 500, n);
            assert_eq!(p, first[k as usize - 1], "round {round}, k {k}");
            assert_eq!(p, o.solve(k, 1e-4, 500, n));
            for pi in policies(n, round) {
                assert_eq!(h.certify(&pi, k), o.certify(&pi, k));
            }
        }
    }

    // Several threads at once on one handle (the calls only read it).
    let shared: &ualign_prepared = {
        // SAFETY: a live handle, not freed before the scope below ends.
        unsafe { &*h.0 }
    };
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    let ptr: *const ualign_prepared = shared;
                    (1..=8u32)
                        .map(|k| {
                            let k = 1 + (k + t) % 8;
                            let mut policy = vec![0.0f32; n];
                            let (mut it, mut cert) = (0u32, ualign_certificate::default());
                            // SAFETY: a live handle; outputs valid for their lengths.
                            let st = unsafe {
                                ualign_solve_prepared(
                                    ptr,
                                    k,
                                    1e-4,
                                    500,
                                    policy.as_mut_ptr(),
                                    n,
                                    &mut it,
                                    &mut cert,
                                )
                            };
                            let policy = policy.iter().map(|p| p.to_bits()).collect();
                            (
                                k,
                                Solved {
                                    status: st,
                                    policy,
                                    iterations: it,
                                    cert: cert_bits(&cert),
                                },
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for r in runs {
            for (k, got) in r.join().unwrap() {
                assert_eq!(got, first[k as usize - 1], "k {k} on a thread");
            }
        }
    });
}

#[test]
fn population_new_rejects_what_population_init_rejects() {
    const N: usize = 3;
    const SCORES: [f32; 6] = [3.0, 1.0, 2.0, 1.0, 3.0, 2.0];
    const WEIGHTS: [f32; 2] = [0.6, 0.4];
    // Returns the status, and checks that *out is null after a failure.
    let new = |n: usize, m: usize, s: *const f32, w: *const f32| {
        let mut h = core::ptr::dangling_mut::<ualign_prepared>();
        // SAFETY: every non-null pointer is valid for the lengths the caller means.
        let st = unsafe { ualign_prepared_new(&mut h, n, m, s, w) };
        if st == UALIGN_OK {
            // SAFETY: a live handle.
            unsafe { ualign_prepared_free(h) };
        } else {
            assert!(h.is_null(), "*out is null after a failure ({st})");
        }
        st
    };
    let (sp, wp) = (SCORES.as_ptr(), WEIGHTS.as_ptr());
    assert_eq!(new(N, 2, sp, wp), UALIGN_OK);
    assert_eq!(new(N, 2, null(), wp), UALIGN_ERR_NULL_POINTER);
    assert_eq!(new(N, 2, sp, null()), UALIGN_ERR_NULL_POINTER);
    let raw = [0u32; 8];
    let odd = (raw.as_ptr() as *const u8).wrapping_add(1) as *const f32;
    assert_eq!(new(N, 2, odd, wp), UALIGN_ERR_NULL_POINTER);
    assert_eq!(new(N, 2, sp, odd), UALIGN_ERR_NULL_POINTER);
    assert_eq!(new(0, 2, sp, wp), UALIGN_ERR_BAD_SIZE);
    assert_eq!(new(1025, 2, sp, wp), UALIGN_ERR_BAD_SIZE);
    assert_eq!(new(N, 0, sp, wp), UALIGN_ERR_BAD_SIZE);
    // m * n overflows size_t, or the scores would exceed isize::MAX bytes: rejected before any
    // read.
    assert_eq!(new(1024, usize::MAX / 512, sp, wp), UALIGN_ERR_BAD_SIZE);
    assert_eq!(new(1024, usize::MAX / 4096, sp, wp), UALIGN_ERR_BAD_SIZE);
    // SAFETY: null `out` is checked before anything is read.
    let st = unsafe { ualign_prepared_new(null_mut(), N, 2, sp, wp) };
    assert_eq!(st, UALIGN_ERR_NULL_POINTER);

    let bad_scores = |i: usize, v: f32| {
        let mut s = SCORES;
        s[i] = v;
        new(N, 2, s.as_ptr(), wp)
    };
    assert_eq!(bad_scores(4, f32::NAN), UALIGN_ERR_NON_FINITE_SCORE);
    assert_eq!(
        bad_scores(0, f32::NEG_INFINITY),
        UALIGN_ERR_NON_FINITE_SCORE
    );
    let bad_weights = |w: [f32; 2]| new(N, 2, sp, w.as_ptr());
    assert_eq!(bad_weights([0.6, -0.4]), UALIGN_ERR_NEGATIVE_WEIGHT);
    assert_eq!(bad_weights([f32::NAN, 0.4]), UALIGN_ERR_NON_FINITE_WEIGHT);
    assert_eq!(
        bad_weights([0.6, f32::INFINITY]),
        UALIGN_ERR_NON_FINITE_WEIGHT
    );
    assert_eq!(bad_weights([0.0, -0.0]), UALIGN_ERR_ZERO_TOTAL_WEIGHT);
    assert_eq!(
        bad_weights([pow2(100), pow2(-51)]),
        UALIGN_ERR_NEGLIGIBLE_WEIGHT
    );

    // The out-pointer placed inside the scores it is built from: refused, and the scores are
    // not written (setting `*out` to NULL first would have zeroed two of them).
    let ones = u64::from(1.0f32.to_bits()) * 0x1_0000_0001;
    let mut shared = [ones; 4];
    let base = shared.as_mut_ptr();
    // SAFETY: `base` is valid for 32 bytes: 8 floats read, one pointer written.
    let st = unsafe { ualign_prepared_new(base.cast(), 4, 2, base.cast::<f32>().cast_const(), wp) };
    assert_eq!(st, UALIGN_ERR_NULL_POINTER);
    assert_eq!(shared, [ones; 4], "the scores written");
}

#[test]
fn bad_solve_and_certify_arguments_give_the_one_shot_status() {
    let inst = Instance {
        n: 3,
        scores: vec![3.0, 1.0, 2.0, 1.0, 3.0, 2.0],
        weights: vec![0.6, 0.4],
    };
    let h = inst.prepared();
    let mut o = inst.one_shot();
    let untouched = |s: &Solved| {
        assert!(
            s.policy.iter().all(|&b| f32::from_bits(b).is_nan()),
            "policy written"
        );
        assert_eq!(s.iterations, u32::MAX, "iterations written");
        assert_eq!(
            s.cert,
            cert_bits(&ualign_certificate::default()),
            "cert written"
        );
    };
    for (k, eps, len, want) in [
        (0, 1e-4, 3, UALIGN_ERR_INVALID_K),
        (1025, 1e-4, 3, UALIGN_ERR_INVALID_K),
        (2, -1e-4, 3, UALIGN_ERR_INVALID_EPSILON),
        (2, f32::NAN, 3, UALIGN_ERR_INVALID_EPSILON),
        (2, f32::INFINITY, 3, UALIGN_ERR_INVALID_EPSILON),
        (2, 1e-4, 2, UALIGN_ERR_BUFFER_TOO_SMALL),
        (2, 1e-4, 0, UALIGN_ERR_BUFFER_TOO_SMALL),
    ] {
        let p = h.solve(k, eps, 100, len);
        assert_eq!(p.status, want, "k {k}, eps {eps}, len {len}");
        assert_eq!(o.solve(k, eps, 100, len).status, want);
        untouched(&p);
    }
    // A longer policy buffer is fine and written only up to n.
    let p = h.solve(2, 1e-4, 100, 5);
    assert_eq!(p.status, UALIGN_OK);
    assert!(f32::from_bits(p.policy[3]).is_nan() && f32::from_bits(p.policy[4]).is_nan());
    assert_eq!(h.solve(1024, 1e-4, 100, 3).status, UALIGN_OK);

    for (pi, k, want) in [
        (vec![1.0, 0.0, 0.0], 0, UALIGN_ERR_INVALID_K),
        (vec![1.0, 0.0, 0.0], 1025, UALIGN_ERR_INVALID_K),
        (vec![0.5, 0.0, 0.0], 2, UALIGN_ERR_INVALID_POLICY),
        (vec![1.5, -0.5, 0.0], 2, UALIGN_ERR_INVALID_POLICY),
        (vec![f32::NAN, 0.5, 0.5], 2, UALIGN_ERR_INVALID_POLICY),
        (vec![0.5, 0.5], 2, UALIGN_ERR_BAD_SIZE),
        (vec![0.5, 0.5, 0.0, 0.0], 2, UALIGN_ERR_BAD_SIZE),
    ] {
        let (st, cert) = h.certify(&pi, k);
        assert_eq!(st, want, "{pi:?}, k {k}");
        assert_eq!(o.certify(&pi, k).0, want);
        assert_eq!(
            cert,
            cert_bits(&ualign_certificate::default()),
            "cert written"
        );
    }

    // Null, misaligned and overlapping pointers.
    let e = UALIGN_ERR_NULL_POINTER;
    let mut policy = [0.0f32; 3];
    let pp = policy.as_mut_ptr();
    let (mut it, mut cert) = (0u32, ualign_certificate::default());
    let odd = {
        let raw = Box::leak(Box::new([0u64; 16]));
        (raw.as_mut_ptr() as *mut u8).wrapping_add(1) as *mut ualign_prepared
    };
    // SAFETY (all calls below): every non-null, aligned pointer is valid for the length passed;
    // the misaligned one is rejected before it is read.
    unsafe {
        assert_eq!(
            ualign_solve_prepared(null(), 2, 1e-4, 100, pp, 3, &mut it, &mut cert),
            e
        );
        assert_eq!(
            ualign_solve_prepared(odd, 2, 1e-4, 100, pp, 3, &mut it, &mut cert),
            e
        );
        assert_eq!(
            ualign_solve_prepared(h.0, 2, 1e-4, 100, null_mut(), 3, &mut it, &mut cert),
            e
        );
        assert_eq!(
            ualign_solve_prepared(h.0, 2, 1e-4, 100, pp, 3, null_mut(), &mut cert),
            e
        );
        assert_eq!(
            ualign_solve_prepared(h.0, 2, 1e-4, 100, pp, 3, &mut it, null_mut()),
            e
        );
        // The iteration count written over the policy.
        assert_eq!(
            ualign_solve_prepared(h.0, 2, 1e-4, 100, pp, 3, pp.cast(), &mut cert),
            e
        );
        let cp = policy.as_ptr();
        assert_eq!(ualign_certify_prepared(null(), cp, 3, 2, &mut cert), e);
        assert_eq!(ualign_certify_prepared(odd, cp, 3, 2, &mut cert), e);
        assert_eq!(ualign_certify_prepared(h.0, null(), 3, 2, &mut cert), e);
        assert_eq!(ualign_certify_prepared(h.0, cp, 3, 2, null_mut()), e);
        // The certificate written over the policy it certifies.
        assert_eq!(ualign_certify_prepared(h.0, cp, 3, 2, pp.cast()), e);
        // Free ignores what cannot be a handle.
        ualign_prepared_free(null_mut());
        ualign_prepared_free(odd);
        // The handle is still good.
        assert_eq!(
            ualign_solve_prepared(h.0, 2, 1e-4, 100, pp, 3, &mut it, &mut cert),
            UALIGN_OK
        );
    }
}

#[test]
fn every_allocation_failure_is_out_of_memory() {
    let inst = Instance::random(3);
    let mut failures = 0;
    for allowed in 0.. {
        let mut h = core::ptr::dangling_mut::<ualign_prepared>();
        ALLOWED.with(|a| a.set(allowed));
        // SAFETY: valid pointers for the lengths passed.
        let st = unsafe {
            ualign_prepared_new(
                &mut h,
                inst.n,
                inst.m(),
                inst.scores.as_ptr(),
                inst.weights.as_ptr(),
            )
        };
        ALLOWED.with(|a| a.set(usize::MAX));
        if st == UALIGN_OK {
            let h = Handle(h);
            assert_eq!(
                h.solve(2, 1e-3, 100, inst.n),
                inst.one_shot().solve(2, 1e-3, 100, inst.n)
            );
            break;
        }
        assert_eq!(st, UALIGN_ERR_OUT_OF_MEMORY, "allocation {allowed} failed");
        assert!(h.is_null());
        failures += 1;
    }
    // The weights, the orders and the handle.
    assert_eq!(failures, 3);
}

#[test]
fn the_out_of_memory_code_is_described() {
    // SAFETY: static NUL-terminated strings.
    let text = unsafe { core::ffi::CStr::from_ptr(ualign_status_str(UALIGN_ERR_OUT_OF_MEMORY)) };
    assert_eq!(
        text.to_str().unwrap(),
        "out of memory (allocating a prepared population)"
    );
    assert_eq!(UALIGN_ERR_OUT_OF_MEMORY, -12);
}

/// `2^e` for a normal `f32`, from its bits: exact everywhere (`powi` may be off by an ulp,
/// and miri models that).
fn pow2(e: i32) -> f32 {
    f32::from_bits(((127 + e) as u32) << 23)
}
