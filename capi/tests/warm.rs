//! Warm starts through the C ABI (`ualign_solve_warm`, `ualign_solve_prepared_warm`), called as
//! C calls them: the bits of the Rust API's `optimistic_hedge_warm`, one-shot and prepared
//! alike, over a stream of related requests; a certificate that is `ualign_certify`'s of the
//! policy written; and every bad start its status code.

use core::ptr::{null, null_mut};

use ualign::{
    Population, Storage,
    solver::{SolveOptions, optimistic_hedge_warm},
};
use ualign_capi::*;

/// `m` user types over `n` candidates, scores `quality + taste` re-scored by `step` per request
/// (request `r`), from a small xorshift so the test needs no other generator.
fn scores(n: usize, m: usize, r: u32) -> Vec<f32> {
    let mut state = 0x9e37_79b9u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 8) as f32 / 16_777_216.0
    };
    let quality: Vec<f32> = (0..n).map(|_| next()).collect();
    (0..m * n)
        .map(|i| {
            let (taste, wobble) = (next(), next());
            quality[i % n] + taste + 0.01 * r as f32 * (wobble - 0.5)
        })
        .collect()
}

/// One solve's outputs.
type Out = (i32, Vec<f32>, u32, ualign_certificate);

/// `ualign_solve_warm` on a caller-owned population built from `scores` and `weights`.
fn one_shot(n: usize, scores: &[f32], weights: &[f32], k: u32, start: &[f32]) -> Out {
    let m = weights.len();
    let (mut wbuf, mut obuf) = (vec![0.0f32; m], vec![0u16; m * n]);
    let mut pop = ualign_population::EMPTY;
    let mut policy = vec![0.0f32; n];
    let (mut it, mut cert) = (0u32, ualign_certificate::default());
    // SAFETY: every pointer is valid for the length passed, and the buffers outlive the calls.
    let st = unsafe {
        let st = ualign_population_init(
            &mut pop,
            n,
            m,
            scores.as_ptr(),
            weights.as_ptr(),
            wbuf.as_mut_ptr(),
            m,
            obuf.as_mut_ptr(),
            m * n,
        );
        assert_eq!(st, UALIGN_OK);
        ualign_solve_warm(
            &mut pop,
            k,
            1e-4,
            10_000,
            start.as_ptr(),
            start.len(),
            policy.as_mut_ptr(),
            n,
            &mut it,
            &mut cert,
        )
    };
    (st, policy, it, cert)
}

/// `ualign_solve_prepared_warm` on a handle.
fn prepared(h: *const ualign_prepared, n: usize, k: u32, start: &[f32]) -> Out {
    let mut policy = vec![0.0f32; n];
    let (mut it, mut cert) = (0u32, ualign_certificate::default());
    // SAFETY: a live handle; valid pointers for the lengths passed.
    let st = unsafe {
        ualign_solve_prepared_warm(
            h,
            k,
            1e-4,
            10_000,
            start.as_ptr(),
            start.len(),
            policy.as_mut_ptr(),
            n,
            &mut it,
            &mut cert,
        )
    };
    (st, policy, it, cert)
}

/// A stream of 12 related requests, each solved warm from the one before, three ways: the
/// one-shot and prepared C calls and the Rust API. Same bits, certificates that are
/// `ualign_certify`'s, and fewer share evaluations in all than cold solves.
#[test]
fn a_warm_stream_matches_the_rust_api_bit_for_bit() {
    let (n, m, k) = (12usize, 9usize, 3u32);
    let weights: Vec<f32> = (0..m).map(|j| 1.0 + j as f32 * 0.25).collect();
    let mut start = vec![1.0 / n as f32; n];
    let (mut warm_total, mut cold_total) = (0u32, 0u32);
    for r in 0..12 {
        let s = scores(n, m, r);
        let mut h = null_mut();
        // SAFETY: valid pointers for the lengths passed.
        let st = unsafe { ualign_prepared_new(&mut h, n, m, s.as_ptr(), weights.as_ptr()) };
        assert_eq!(st, UALIGN_OK);

        let a = one_shot(n, &s, &weights, k, &start);
        let b = prepared(h, n, k, &start);
        assert_eq!(a.0, UALIGN_OK, "request {r}");
        assert_eq!(a, b, "request {r}: one-shot and prepared differ");

        let (mut wbuf, mut obuf) = (vec![0.0f32; m], vec![0u16; m * n]);
        let mut builder =
            Population::<1024>::builder(n, Storage::new(&mut wbuf, &mut obuf)).unwrap();
        for (row, &w) in s.chunks_exact(n).zip(&weights) {
            let row: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
            builder.push_scores(f64::from(w), &row).unwrap();
        }
        let pop = builder.finish().unwrap();
        let mut pi = vec![0.0f32; n];
        let opts = SolveOptions::new(k).epsilon(1e-4).max_iter(10_000);
        let sol = optimistic_hedge_warm(&pop, &opts, &start, &mut pi).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.1), bits(&pi), "request {r}");
        assert_eq!((a.2, a.3), (sol.iterations, sol.certificate.into()));

        let mut cert = ualign_certificate::default();
        // SAFETY: as above.
        let st = unsafe { ualign_certify_prepared(h, a.1.as_ptr(), n, k, &mut cert) };
        assert_eq!((st, cert), (UALIGN_OK, a.3), "request {r}");

        let mut cold = vec![0.0f32; n];
        let (mut it, mut c) = (0u32, ualign_certificate::default());
        // SAFETY: as above.
        let st = unsafe {
            ualign_solve_prepared(h, k, 1e-4, 10_000, cold.as_mut_ptr(), n, &mut it, &mut c)
        };
        assert_eq!(st, UALIGN_OK);
        if r > 0 {
            warm_total += a.2;
            cold_total += it;
        }
        // SAFETY: a live handle, used by nothing else.
        unsafe { ualign_prepared_free(h) };
        start = a.1;
    }
    assert!(
        warm_total < cold_total,
        "warm {warm_total} vs cold {cold_total} share evaluations"
    );
}

/// A null, misaligned or overlapping start is `UALIGN_ERR_NULL_POINTER`, one of the wrong
/// length `UALIGN_ERR_BAD_SIZE`, a negative, non-finite or all-zero one
/// `UALIGN_ERR_INVALID_POLICY`; nothing is written on failure.
#[test]
fn every_bad_start_has_its_status() {
    let (n, m) = (4usize, 3usize);
    let s = scores(n, m, 0);
    let weights = [1.0f32, 2.0, 1.5];
    let mut h = null_mut();
    // SAFETY: valid pointers for the lengths passed.
    let st = unsafe { ualign_prepared_new(&mut h, n, m, s.as_ptr(), weights.as_ptr()) };
    assert_eq!(st, UALIGN_OK);
    let good = [0.25f32; 4];
    for (start, want) in [
        (&[0.5f32, 0.5][..], UALIGN_ERR_BAD_SIZE),
        (&[0.25, 0.25, 0.25, 0.25, 0.0][..], UALIGN_ERR_BAD_SIZE),
        (&[0.5, -0.5, 0.5, 0.5][..], UALIGN_ERR_INVALID_POLICY),
        (&[0.5, f32::NAN, 0.5, 0.0][..], UALIGN_ERR_INVALID_POLICY),
        (
            &[f32::INFINITY, 0.0, 0.0, 0.0][..],
            UALIGN_ERR_INVALID_POLICY,
        ),
        (&[0.0; 4][..], UALIGN_ERR_INVALID_POLICY),
        (&[3.0, 1.0, 0.0, 0.0][..], UALIGN_OK),
    ] {
        assert_eq!(one_shot(n, &s, &weights, 2, start).0, want, "{start:?}");
        assert_eq!(prepared(h, n, 2, start).0, want, "{start:?}");
    }
    let mut policy = [7.0f32; 4];
    let (mut it, mut cert) = (99u32, ualign_certificate::default());
    let pp = policy.as_mut_ptr();
    // SAFETY: valid pointers (or null, or misaligned, which the call rejects before any use).
    unsafe {
        let st = ualign_solve_prepared_warm(h, 2, 1e-4, 100, null(), n, pp, n, &mut it, &mut cert);
        assert_eq!(st, UALIGN_ERR_NULL_POINTER, "null start");
        let bytes = good.as_ptr().cast::<u8>().wrapping_add(1).cast::<f32>();
        let st = ualign_solve_prepared_warm(h, 2, 1e-4, 100, bytes, n, pp, n, &mut it, &mut cert);
        assert_eq!(st, UALIGN_ERR_NULL_POINTER, "misaligned start");
        // The start overlapping the policy written.
        let st = ualign_solve_prepared_warm(h, 2, 1e-4, 100, pp, n, pp, n, &mut it, &mut cert);
        assert_eq!(st, UALIGN_ERR_NULL_POINTER, "start == policy");
        let st = ualign_solve_prepared_warm(
            h,
            0,
            1e-4,
            100,
            good.as_ptr(),
            n,
            pp,
            n,
            &mut it,
            &mut cert,
        );
        assert_eq!(st, UALIGN_ERR_INVALID_K);
        let st = ualign_solve_prepared_warm(
            h,
            2,
            -1.0,
            100,
            good.as_ptr(),
            n,
            pp,
            n,
            &mut it,
            &mut cert,
        );
        assert_eq!(st, UALIGN_ERR_INVALID_EPSILON);
        let st = ualign_solve_prepared_warm(
            h,
            2,
            1e-4,
            100,
            good.as_ptr(),
            n,
            pp,
            n - 1,
            &mut it,
            &mut cert,
        );
        assert_eq!(st, UALIGN_ERR_BUFFER_TOO_SMALL);
        let st = ualign_solve_warm(
            null_mut(),
            2,
            1e-4,
            100,
            good.as_ptr(),
            n,
            pp,
            n,
            &mut it,
            &mut cert,
        );
        assert_eq!(st, UALIGN_ERR_NULL_POINTER, "null population");
        let st = ualign_solve_prepared_warm(
            null(),
            2,
            1e-4,
            100,
            good.as_ptr(),
            n,
            pp,
            n,
            &mut it,
            &mut cert,
        );
        assert_eq!(st, UALIGN_ERR_NULL_POINTER, "null handle");
    }
    assert_eq!((policy, it), ([7.0; 4], 99), "written on failure");
    // SAFETY: a live handle, used by nothing else.
    unsafe { ualign_prepared_free(h) };
}
