//! The C ABI called as C calls it: through the `extern "C"` functions and raw pointers.
//!
//! Checks the docs/maths.md §7 majority/minority case bit for bit against the Rust API, every bad
//! input kind against its status code, null / misaligned / overlapping pointers, and that nothing
//! panics across the boundary.

use core::ffi::CStr;
use core::ptr::{null, null_mut};

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Population, Storage,
    certificate::certify,
    sampling,
    solver::{SolveOptions, optimistic_hedge},
};
use ualign_capi::*;

const N: usize = 3;
const M: usize = 2;
const WEIGHTS: [f32; M] = [0.6, 0.4];
const SCORES: [f32; M * N] = [3.0, 1.0, 2.0, 1.0, 3.0, 2.0];

/// A population and its buffers, all owned by the test (as a C caller would own them).
struct Fixture {
    scores: Vec<f32>,
    weights: Vec<f32>,
    wbuf: Vec<f32>,
    obuf: Vec<u16>,
    pop: ualign_population,
}

impl Fixture {
    fn new(n: usize, scores: &[f32], weights: &[f32]) -> (Box<Fixture>, i32) {
        let m = weights.len();
        let mut f = Box::new(Fixture {
            scores: scores.to_vec(),
            weights: weights.to_vec(),
            wbuf: vec![0.0; ualign_weights_buf_len(m)],
            obuf: vec![0; ualign_order_buf_len(n, m)],
            pop: ualign_population::EMPTY,
        });
        let st = f.init(n);
        (f, st)
    }

    fn init(&mut self, n: usize) -> i32 {
        let m = self.weights.len();
        // SAFETY: every pointer is valid for the length passed.
        unsafe {
            ualign_population_init(
                &mut self.pop,
                n,
                m,
                self.scores.as_ptr(),
                self.weights.as_ptr(),
                self.wbuf.as_mut_ptr(),
                self.wbuf.len(),
                self.obuf.as_mut_ptr(),
                self.obuf.len(),
            )
        }
    }

    fn solve(&mut self, k: u32, eps: f32, policy: &mut [f32]) -> (i32, u32, ualign_certificate) {
        let (mut it, mut cert) = (0u32, ualign_certificate::default());
        // SAFETY: the population was initialised from buffers that are still alive; the
        // outputs are valid for their lengths.
        let st = unsafe {
            ualign_solve(
                &mut self.pop,
                k,
                eps,
                10_000,
                policy.as_mut_ptr(),
                policy.len(),
                &mut it,
                &mut cert,
            )
        };
        (st, it, cert)
    }

    fn certify(&mut self, policy: &[f32], k: u32) -> (i32, ualign_certificate) {
        let mut cert = ualign_certificate::default();
        // SAFETY: as in `solve`.
        let st =
            unsafe { ualign_certify(&mut self.pop, policy.as_ptr(), policy.len(), k, &mut cert) };
        (st, cert)
    }
}

fn picks(policy: &[f32], k: u32, seed: u64, out: &mut [u16]) -> (i32, usize) {
    let mut distinct = usize::MAX;
    // SAFETY: valid pointers for the lengths passed.
    let st = unsafe {
        ualign_picks(
            policy.as_ptr(),
            policy.len(),
            k,
            seed,
            out.as_mut_ptr(),
            out.len(),
            &mut distinct,
        )
    };
    (st, distinct)
}

fn rust_population<'a>(
    n: usize,
    scores: &[f32],
    weights: &[f32],
    wbuf: &'a mut [f32],
    obuf: &'a mut [u16],
) -> Result<Population<'a, 1024>, ualign::Error> {
    let mut b = Population::<1024>::builder(n, Storage::new(wbuf, obuf))?;
    for (row, &w) in scores.chunks_exact(n).zip(weights) {
        let row: Vec<f64> = row.iter().map(|&s| s as f64).collect();
        b.push_scores(w as f64, &row)?;
    }
    b.finish()
}

fn same_cert(c: &ualign_certificate, r: &ualign::Certificate) {
    assert_eq!(c.k, r.k);
    assert_eq!(
        c.worst_case_win_rate.to_bits(),
        r.worst_case_win_rate.to_bits()
    );
    assert_eq!(c.exploitability.to_bits(), r.exploitability.to_bits());
    assert_eq!(c.worst_opponent as usize, r.worst_opponent);
    assert_eq!(c.bound.to_bits(), r.bound.to_bits());
}

#[test]
fn majority_minority_matches_the_rust_api_bit_for_bit() {
    let (mut f, st) = Fixture::new(N, &SCORES, &WEIGHTS);
    assert_eq!(st, UALIGN_OK);
    assert_eq!((f.pop.n, f.pop.m), (N, M));

    let mut policy = [0.0f32; N];
    let (st, iterations, cert) = f.solve(2, 1e-5, &mut policy);
    assert_eq!(st, UALIGN_OK);
    // docs/maths.md §7: (0.8, 0.2, 0) with worst-case win rate 2/3.
    assert!((policy[0] - 0.8).abs() < 1e-3 && (policy[1] - 0.2).abs() < 1e-3);
    assert!(policy[2] < 1e-3);
    assert!((cert.worst_case_win_rate - 2.0 / 3.0).abs() < 1e-4);
    assert!(cert.exploitability <= 1e-5);
    assert_eq!(cert.k, 2);

    let (mut wbuf, mut obuf) = ([0.0f32; M], [0u16; M * N]);
    let pop = rust_population(N, &SCORES, &WEIGHTS, &mut wbuf, &mut obuf).unwrap();
    let mut rust_policy = [0.0f32; N];
    let sol =
        optimistic_hedge(&pop, &SolveOptions::new(2).epsilon(1e-5), &mut rust_policy).unwrap();
    assert_eq!(policy.map(f32::to_bits), rust_policy.map(f32::to_bits));
    assert_eq!(iterations, sol.iterations);
    same_cert(&cert, &sol.certificate);

    for (pi, k) in [
        ([1.0f32, 0.0, 0.0], 2),
        ([1.0 / 3.0; 3], 2),
        (rust_policy, 5),
        ([0.5, 0.5, 0.0], 1),
    ] {
        let (st, cert) = f.certify(&pi, k);
        assert_eq!(st, UALIGN_OK);
        same_cert(&cert, &certify(&pop, &pi, k).unwrap());
    }
    // The workspace holds exactly what the Rust API builds.
    assert_eq!(
        f.wbuf.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
        wbuf.map(f32::to_bits)
    );
    assert_eq!(f.obuf, obuf);
    // NLHF's point mass on a wins 0.6.
    let (_, cert) = f.certify(&[1.0, 0.0, 0.0], 2);
    assert!((cert.worst_case_win_rate - 0.6).abs() < 1e-6);
    assert_eq!(cert.worst_opponent, 1);

    for seed in [0u64, 1, 42, u64::MAX] {
        for k in [1u32, 2, 8, 1024] {
            let mut out = vec![u16::MAX; k as usize + 3];
            let (st, distinct) = picks(&policy, k, seed, &mut out);
            assert_eq!(st, UALIGN_OK);
            let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
            let want = sampling::picks::<_, 1024>(&rust_policy, k, &mut rng).unwrap();
            assert_eq!(&out[..k as usize], &want[..]);
            assert!(
                out[k as usize..].iter().all(|&x| x == u16::MAX),
                "wrote past k"
            );
            assert_eq!(distinct, sampling::distinct::<1024>(&want).len());
        }
    }
}

#[test]
fn every_bad_population_input_has_its_status() {
    let bad_score = |i: usize, v: f32| {
        let mut s = SCORES;
        s[i] = v;
        Fixture::new(N, &s, &WEIGHTS).1
    };
    assert_eq!(bad_score(4, f32::NAN), UALIGN_ERR_NON_FINITE_SCORE);
    assert_eq!(bad_score(0, f32::INFINITY), UALIGN_ERR_NON_FINITE_SCORE);
    assert_eq!(bad_score(5, f32::NEG_INFINITY), UALIGN_ERR_NON_FINITE_SCORE);
    let bad_weights = |w: [f32; M]| Fixture::new(N, &SCORES, &w).1;
    assert_eq!(bad_weights([0.6, -0.4]), UALIGN_ERR_NEGATIVE_WEIGHT);
    assert_eq!(bad_weights([f32::NAN, 0.4]), UALIGN_ERR_NON_FINITE_WEIGHT);
    assert_eq!(
        bad_weights([0.6, f32::INFINITY]),
        UALIGN_ERR_NON_FINITE_WEIGHT
    );
    assert_eq!(bad_weights([0.0, 0.0]), UALIGN_ERR_ZERO_TOTAL_WEIGHT);
    assert_eq!(bad_weights([0.0, -0.0]), UALIGN_ERR_ZERO_TOTAL_WEIGHT);
    // Normalised by 2^100, 2^-51 is a quarter of the smallest f32: zero.
    assert_eq!(
        bad_weights([pow2(100), pow2(-51)]),
        UALIGN_ERR_NEGLIGIBLE_WEIGHT
    );
    assert_eq!(bad_weights([pow2(100), pow2(-49)]), UALIGN_OK);

    // Sizes: n = 0, n > 1024, m = 0.
    assert_eq!(Fixture::new(0, &[], &WEIGHTS).1, UALIGN_ERR_BAD_SIZE);
    let wide = vec![1.0f32; 1025];
    assert_eq!(Fixture::new(1025, &wide, &[1.0]).1, UALIGN_ERR_BAD_SIZE);
    assert_eq!(Fixture::new(N, &[], &[]).1, UALIGN_ERR_BAD_SIZE);

    // Workspace too small.
    let (mut f, _) = Fixture::new(N, &SCORES, &WEIGHTS);
    f.wbuf.pop();
    assert_eq!(f.init(N), UALIGN_ERR_BUFFER_TOO_SMALL);
    let (mut f, _) = Fixture::new(N, &SCORES, &WEIGHTS);
    f.obuf.pop();
    assert_eq!(f.init(N), UALIGN_ERR_BUFFER_TOO_SMALL);
    // A failed init empties the population: later calls report it.
    let mut policy = [0.0f32; N];
    assert_eq!(f.solve(2, 1e-4, &mut policy).0, UALIGN_ERR_NULL_POINTER);
    assert_eq!(f.certify(&[1.0, 0.0, 0.0], 2).0, UALIGN_ERR_NULL_POINTER);
    // Larger buffers than needed are fine.
    let (mut f, _) = Fixture::new(N, &SCORES, &WEIGHTS);
    f.wbuf.push(0.0);
    f.obuf.extend([7; 5]);
    assert_eq!(f.init(N), UALIGN_OK);
    assert_eq!(&f.obuf[M * N..], &[7; 5]);
}

#[test]
fn every_bad_solve_certify_and_picks_input_has_its_status() {
    let (mut f, _) = Fixture::new(N, &SCORES, &WEIGHTS);
    let mut policy = [0.0f32; N];
    assert_eq!(f.solve(0, 1e-4, &mut policy).0, UALIGN_ERR_INVALID_K);
    assert_eq!(f.solve(1025, 1e-4, &mut policy).0, UALIGN_ERR_INVALID_K);
    assert_eq!(f.solve(2, -1e-4, &mut policy).0, UALIGN_ERR_INVALID_EPSILON);
    assert_eq!(
        f.solve(2, f32::NAN, &mut policy).0,
        UALIGN_ERR_INVALID_EPSILON
    );
    assert_eq!(
        f.solve(2, f32::INFINITY, &mut policy).0,
        UALIGN_ERR_INVALID_EPSILON
    );
    assert_eq!(
        f.solve(2, 1e-4, &mut policy[..2]).0,
        UALIGN_ERR_BUFFER_TOO_SMALL
    );
    let mut long = [9.0f32; N + 2];
    assert_eq!(f.solve(2, 1e-4, &mut long).0, UALIGN_OK);
    assert_eq!(&long[N..], &[9.0, 9.0]);
    assert_eq!(f.solve(1024, 1e-4, &mut policy).0, UALIGN_OK);

    assert_eq!(f.certify(&[1.0, 0.0, 0.0], 0).0, UALIGN_ERR_INVALID_K);
    assert_eq!(f.certify(&[1.0, 0.0, 0.0], 1025).0, UALIGN_ERR_INVALID_K);
    for pi in [
        [0.5f32, 0.0, 0.0],
        [1.5, -0.5, 0.0],
        [f32::NAN, 0.5, 0.5],
        [f32::INFINITY, 0.0, 0.0],
    ] {
        assert_eq!(f.certify(&pi, 2).0, UALIGN_ERR_INVALID_POLICY, "{pi:?}");
    }
    assert_eq!(f.certify(&[0.5, 0.5], 2).0, UALIGN_ERR_BAD_SIZE);
    assert_eq!(f.certify(&[0.5, 0.5, 0.0, 0.0], 2).0, UALIGN_ERR_BAD_SIZE);

    let mut out = [0u16; 8];
    assert_eq!(picks(&[0.5, 0.5], 0, 1, &mut out).0, UALIGN_ERR_INVALID_K);
    assert_eq!(
        picks(&[0.5, 0.5], 1025, 1, &mut out).0,
        UALIGN_ERR_INVALID_K
    );
    assert_eq!(
        picks(&[0.5, 0.5], 9, 1, &mut out).0,
        UALIGN_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(
        picks(&[0.5, 0.2], 4, 1, &mut out).0,
        UALIGN_ERR_INVALID_POLICY
    );
    assert_eq!(
        picks(&[f32::NAN, 1.0], 4, 1, &mut out).0,
        UALIGN_ERR_INVALID_POLICY
    );
    assert_eq!(picks(&[], 4, 1, &mut out).0, UALIGN_ERR_BAD_SIZE);
    assert_eq!(
        picks(&vec![1.0 / 1025.0; 1025], 4, 1, &mut out).0,
        UALIGN_ERR_BAD_SIZE
    );

    // Inputs changed after init are caught on the next call, not trusted.
    f.scores[2] = f32::NAN;
    assert_eq!(f.solve(2, 1e-4, &mut policy).0, UALIGN_ERR_NON_FINITE_SCORE);
    f.scores[2] = 2.0;
    f.weights[0] = -1.0;
    assert_eq!(f.certify(&[1.0, 0.0, 0.0], 2).0, UALIGN_ERR_NEGATIVE_WEIGHT);
}

#[test]
fn null_misaligned_and_overlapping_pointers_are_rejected() {
    let (scores, weights) = (SCORES, WEIGHTS);
    let (mut wbuf, mut obuf) = ([0.0f32; M], [0u16; M * N]);
    let mut pop = ualign_population::EMPTY;
    let init =
        |pop: *mut ualign_population, s: *const f32, w: *const f32, wb: *mut f32, ob: *mut u16| {
            // SAFETY: every non-null pointer is valid for the length passed.
            unsafe { ualign_population_init(pop, N, M, s, w, wb, M, ob, M * N) }
        };
    let (sp, wp, wbp, obp) = (
        scores.as_ptr(),
        weights.as_ptr(),
        wbuf.as_mut_ptr(),
        obuf.as_mut_ptr(),
    );
    assert_eq!(init(null_mut(), sp, wp, wbp, obp), UALIGN_ERR_NULL_POINTER);
    assert_eq!(
        init(&mut pop, null(), wp, wbp, obp),
        UALIGN_ERR_NULL_POINTER
    );
    assert_eq!(
        init(&mut pop, sp, null(), wbp, obp),
        UALIGN_ERR_NULL_POINTER
    );
    assert_eq!(
        init(&mut pop, sp, wp, null_mut(), obp),
        UALIGN_ERR_NULL_POINTER
    );
    assert_eq!(
        init(&mut pop, sp, wp, wbp, null_mut()),
        UALIGN_ERR_NULL_POINTER
    );
    // Misaligned: a float pointer one byte into a buffer.
    let raw = [0u32; 8];
    let odd = (raw.as_ptr() as *const u8).wrapping_add(1) as *const f32;
    assert_eq!(init(&mut pop, odd, wp, wbp, obp), UALIGN_ERR_NULL_POINTER);
    // The workspace overlapping the scores it is built from.
    let mut shared = SCORES;
    let overlap = init(
        &mut pop,
        shared.as_ptr(),
        wp,
        shared.as_mut_ptr().wrapping_add(1),
        obp,
    );
    assert_eq!(overlap, UALIGN_ERR_NULL_POINTER);
    assert_eq!(shared, SCORES, "nothing written on failure");
    // `*pop` placed inside the scores: refused before it is emptied, which would write into
    // them.
    let mut store = [0u64; 8];
    let base = store.as_mut_ptr().cast::<f32>();
    // SAFETY: `store` holds M * N floats (and a population), 8-aligned.
    let held = unsafe { std::slice::from_raw_parts_mut(base, M * N) };
    held.copy_from_slice(&SCORES);
    let before = store;
    assert!(std::mem::size_of::<ualign_population>() <= std::mem::size_of_val(&store));
    let inside = init(base.cast(), base.cast_const(), wp, wbp, obp);
    assert_eq!(inside, UALIGN_ERR_NULL_POINTER);
    assert_eq!(store, before, "the scores written");

    assert_eq!(init(&mut pop, sp, wp, wbp, obp), UALIGN_OK);
    let mut policy = [0.0f32; N];
    let (mut it, mut cert) = (0u32, ualign_certificate::default());
    let pp = policy.as_mut_ptr();
    // SAFETY (all calls below): every non-null pointer is valid for the length passed.
    unsafe {
        let e = UALIGN_ERR_NULL_POINTER;
        assert_eq!(
            ualign_solve(null_mut(), 2, 1e-4, 100, pp, N, &mut it, &mut cert),
            e
        );
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, null_mut(), N, &mut it, &mut cert),
            e
        );
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, pp, N, null_mut(), &mut cert),
            e
        );
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, pp, N, &mut it, null_mut()),
            e
        );
        // The policy written over the workspace.
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, wbp, M, &mut it, &mut cert),
            e
        );
        let cp = policy.as_ptr();
        assert_eq!(ualign_certify(null_mut(), cp, N, 2, &mut cert), e);
        assert_eq!(ualign_certify(&mut pop, null(), N, 2, &mut cert), e);
        assert_eq!(ualign_certify(&mut pop, cp, N, 2, null_mut()), e);
        let mut out = [0u16; 4];
        let mut d = 0usize;
        let half = [0.5f32, 0.5];
        let op = out.as_mut_ptr();
        assert_eq!(ualign_picks(null(), 2, 4, 1, op, 4, &mut d), e);
        assert_eq!(
            ualign_picks(half.as_ptr(), 2, 4, 1, null_mut(), 4, &mut d),
            e
        );
        assert_eq!(ualign_picks(half.as_ptr(), 2, 4, 1, op, 4, null_mut()), e);
        // Picks written over the policy they are drawn from.
        let mut both = [0.5f32, 0.5, 0.0, 0.0];
        let bp = both.as_mut_ptr();
        assert_eq!(ualign_picks(bp, 2, 4, 1, bp as *mut u16, 4, &mut d), e);
        // The population itself is still good.
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, pp, N, &mut it, &mut cert),
            UALIGN_OK
        );
        // Outputs written over the `ualign_population` struct itself: refused, the struct
        // kept (they overwrote its sizes and pointers).
        let before = (pop.n, pop.m, pop.scores, pop.order_buf);
        let over = (&raw mut pop).cast::<ualign_certificate>();
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, pp, N, &mut it, over),
            e
        );
        let n_field = (&raw mut pop.n).cast::<u32>();
        assert_eq!(
            ualign_solve(&mut pop, 2, 1e-4, 100, pp, N, n_field, &mut cert),
            e
        );
        assert_eq!(ualign_certify(&mut pop, cp, N, 2, over), e);
        assert_eq!((pop.n, pop.m, pop.scores, pop.order_buf), before);
    }
}

/// A failed call whose `*pop` or `*out` shares memory with a buffer it could not validate (a
/// null pointer beside it, a bad size) leaves that memory alone: emptying `*pop` would have
/// written into the caller's weights or scores.
#[test]
fn failed_calls_do_not_write_into_buffers_they_could_not_check() {
    #[repr(C, align(8))]
    struct Shared([f32; 16]);
    let ones = [1.0f32; 16];
    let (mut wbuf, mut obuf) = ([0.0f32; 16], [0u16; 64]);
    let mut shared = Shared(ones);
    let base = shared.0.as_mut_ptr();
    assert!(std::mem::size_of::<ualign_population>() <= std::mem::size_of::<Shared>());
    let (wb, ob) = (wbuf.as_mut_ptr(), obuf.as_mut_ptr());
    // SAFETY (every call): each non-null pointer is valid for the length passed; the population
    // and the weights share `shared`, as a C union would.
    unsafe {
        // Null scores; the weights (valid sizes) hold `*pop`.
        let st = ualign_population_init(base.cast(), 3, 16, null(), base, wb, 16, ob, 64);
        assert_eq!(st, UALIGN_ERR_NULL_POINTER);
        assert_eq!(shared.0, ones, "the weights written");
        // Too many candidates: the sizes are wrong, so only the scores' start is known.
        let st = ualign_population_init(base.cast(), 2000, 1, base, ones.as_ptr(), wb, 1, ob, 64);
        assert_eq!(st, UALIGN_ERR_BAD_SIZE);
        assert_eq!(shared.0, ones, "the scores written");
        // A workspace too small.
        let st = ualign_population_init(base.cast(), 2, 4, base, ones.as_ptr(), wb, 4, ob, 7);
        assert_eq!(st, UALIGN_ERR_BUFFER_TOO_SMALL);
        assert_eq!(shared.0, ones, "the scores written");
        // The prepared form: null scores beside the weights; no candidates beside the scores.
        let out = base.cast::<*mut ualign_prepared>();
        assert_eq!(
            ualign_prepared_new(out, 2, 4, null(), base),
            UALIGN_ERR_NULL_POINTER
        );
        assert_eq!(
            ualign_prepared_new(out, 0, 1, base, ones.as_ptr()),
            UALIGN_ERR_BAD_SIZE
        );
        assert_eq!(shared.0, ones, "an input written");
        // Apart from the inputs, a failure empties `*pop` and nulls `*out`, as documented.
        let mut pop = ualign_population {
            n: 7,
            ..ualign_population::EMPTY
        };
        let st = ualign_population_init(&mut pop, 2000, 1, base, ones.as_ptr(), wb, 1, ob, 64);
        assert_eq!(st, UALIGN_ERR_BAD_SIZE);
        assert_eq!(pop.n, ualign_population::EMPTY.n);
        let mut handle = core::ptr::dangling_mut::<ualign_prepared>();
        assert_eq!(
            ualign_prepared_new(&mut handle, 0, 1, base, ones.as_ptr()),
            UALIGN_ERR_BAD_SIZE
        );
        assert!(handle.is_null());
    }
}

#[test]
fn status_strings_and_codes_are_distinct() {
    let codes = [
        UALIGN_OK,
        UALIGN_ERR_NULL_POINTER,
        UALIGN_ERR_BAD_SIZE,
        UALIGN_ERR_NON_FINITE_SCORE,
        UALIGN_ERR_NEGATIVE_WEIGHT,
        UALIGN_ERR_NON_FINITE_WEIGHT,
        UALIGN_ERR_ZERO_TOTAL_WEIGHT,
        UALIGN_ERR_INVALID_K,
        UALIGN_ERR_INVALID_EPSILON,
        UALIGN_ERR_INVALID_POLICY,
        UALIGN_ERR_BUFFER_TOO_SMALL,
        UALIGN_ERR_INTERNAL,
        UALIGN_ERR_OUT_OF_MEMORY,
        UALIGN_ERR_NEGLIGIBLE_WEIGHT,
    ];
    assert_eq!(codes.to_vec(), (-13..=0).rev().collect::<Vec<_>>());
    // SAFETY: ualign_status_str returns static NUL-terminated strings.
    let text = |c| {
        unsafe { CStr::from_ptr(ualign_status_str(c)) }
            .to_str()
            .unwrap()
    };
    let mut seen: Vec<&str> = codes.iter().map(|&c| text(c)).collect();
    assert!(seen.iter().all(|s| !s.is_empty() && *s != "unknown status"));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), codes.len());
    for c in [1, -14, i32::MIN, i32::MAX] {
        assert_eq!(text(c), "unknown status");
    }
    assert_eq!(ualign_weights_buf_len(7), 7);
    assert_eq!(ualign_order_buf_len(3, 7), 21);
    assert_eq!(ualign_order_buf_len(usize::MAX, 2), 0);
}

#[test]
fn full_capacity_solves_without_panicking() {
    // n = 1024 candidates, 8 user types with distinct pseudo-random scores.
    let n = 1024;
    let m = 8;
    let mut state = 0x1234_5678u32;
    let scores: Vec<f32> = (0..n * m)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32
        })
        .collect();
    let weights: Vec<f32> = (1..=m).map(|j| j as f32).collect();
    let (mut f, st) = Fixture::new(n, &scores, &weights);
    assert_eq!(st, UALIGN_OK);
    let mut policy = vec![0.0f32; n];
    let (st, iterations, cert) = f.solve(4, 1e-3, &mut policy);
    assert_eq!(st, UALIGN_OK);
    assert!(iterations >= 1);
    assert!(cert.worst_case_win_rate <= cert.bound + 1e-6);
    let sum: f32 = policy.iter().sum();
    assert!((sum - 1.0).abs() < 1e-3);
    let mut out = vec![0u16; 1024];
    let (st, distinct) = picks(&policy, 1024, 9, &mut out);
    assert_eq!(st, UALIGN_OK);
    assert!(distinct >= 1 && out.iter().all(|&y| (y as usize) < n));
}

/// `2^e` for a normal `f32`, from its bits: exact everywhere (`powi` may be off by an ulp,
/// and miri models that).
fn pow2(e: i32) -> f32 {
    f32::from_bits(((127 + e) as u32) << 23)
}
