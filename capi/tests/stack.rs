//! The stack budget the header promises (`UALIGN_STACK_BUDGET`, [`STACK_BUDGET`]) is enough.
//!
//! Runs the largest-capacity calls (n = 1024 candidates, strict orders and ties, whole and
//! fractional weights, k from 1 to 1024; solve, cold and warm, and certify of the solved, the
//! uniform and a point-mass policy), one-shot and prepared, on a thread whose stack is exactly the
//! budget. An overflow hits the guard page and kills the test process, so completing is the
//! assertion.
//!
//! The scratch arrays are sized by the smallest size class that holds `n` (the capacity itself
//! for `n` above 256), not by `m` or the number of iterations, so these calls use the most stack
//! any call can. Measured by bisecting the thread stack size: about 167 KiB with optimised code,
//! both in a release build (the library C callers link) and in the workspace's test profile
//! (`opt-level = 3`), so the thread gets exactly the 256 KiB the header promises under `cargo test`
//! as well as under `cargo test --release` (which `.ci/capi.sh` runs). A fully unoptimised build of
//! the library needs more (about 440 KiB for the one-shot calls); the header says so.

use core::ptr::null_mut;

use ualign_capi::*;

const N: usize = 1024;
const M: usize = 8;

/// Scores for `M` user types over `N` candidates: distinct (strict orders) or from 7 values
/// (ties); whole (count) or fractional weights.
fn instance(ties: bool, counts: bool) -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x2545_f491u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let scores = (0..N * M)
        .map(|_| {
            let r = next();
            if ties {
                (r % 7) as f32
            } else {
                (r >> 8) as f32
            }
        })
        .collect();
    let weights = (0..M)
        .map(|j| {
            if counts {
                (j + 1) as f32
            } else {
                0.1 + (next() % 1000) as f32 / 997.0
            }
        })
        .collect();
    (scores, weights)
}

/// Every largest-capacity call, one-shot and prepared, checking each status.
fn largest_calls() {
    for (ties, counts) in [(false, true), (true, true), (false, false), (true, false)] {
        let (scores, weights) = instance(ties, counts);
        let mut wbuf = vec![0.0f32; M];
        let mut obuf = vec![0u16; M * N];
        let mut pop = ualign_population::EMPTY;
        let mut h = null_mut();
        // SAFETY: valid pointers for the lengths passed; the buffers outlive every use.
        unsafe {
            let st = ualign_population_init(
                &mut pop,
                N,
                M,
                scores.as_ptr(),
                weights.as_ptr(),
                wbuf.as_mut_ptr(),
                M,
                obuf.as_mut_ptr(),
                M * N,
            );
            assert_eq!(st, UALIGN_OK);
            let st = ualign_prepared_new(&mut h, N, M, scores.as_ptr(), weights.as_ptr());
            assert_eq!(st, UALIGN_OK);
        }
        let uniform = vec![1.0 / N as f32; N];
        let mut point = vec![0.0f32; N];
        point[N / 2] = 1.0;
        for k in [1u32, 2, 4, MAX_K] {
            let mut policy = vec![0.0f32; N];
            let (mut it, mut cert) = (0u32, ualign_certificate::default());
            let pp = policy.as_mut_ptr();
            // SAFETY: as above; outputs valid for their lengths.
            unsafe {
                let st = ualign_solve(&mut pop, k, 0.0, 2, pp, N, &mut it, &mut cert);
                assert_eq!(st, UALIGN_OK, "solve, k {k}");
                let st = ualign_solve_prepared(h, k, 0.0, 2, pp, N, &mut it, &mut cert);
                assert_eq!(st, UALIGN_OK, "solve_prepared, k {k}");
                // A warm start tries the polish before its first step, so these also run a
                // Newton step at the largest support.
                let mut warm = vec![0.0f32; N];
                let wp = warm.as_mut_ptr();
                let st = ualign_solve_warm(&mut pop, k, 0.0, 2, pp, N, wp, N, &mut it, &mut cert);
                assert_eq!(st, UALIGN_OK, "solve_warm, k {k}");
                let st = ualign_solve_prepared_warm(h, k, 0.0, 2, pp, N, wp, N, &mut it, &mut cert);
                assert_eq!(st, UALIGN_OK, "solve_prepared_warm, k {k}");
            }
            for pi in [&policy, &uniform, &point] {
                // SAFETY: as above.
                unsafe {
                    let st = ualign_certify(&mut pop, pi.as_ptr(), N, k, &mut cert);
                    assert_eq!(st, UALIGN_OK, "certify, k {k}");
                    let st = ualign_certify_prepared(h, pi.as_ptr(), N, k, &mut cert);
                    assert_eq!(st, UALIGN_OK, "certify_prepared, k {k}");
                }
            }
        }
        // SAFETY: a live handle, used by nothing else.
        unsafe { ualign_prepared_free(h) };
    }
}

#[test]
fn the_largest_calls_fit_in_the_stack_budget() {
    assert_eq!(STACK_BUDGET, 256 * 1024, "the header's UALIGN_STACK_BUDGET");
    std::thread::Builder::new()
        .name("budget".into())
        .stack_size(STACK_BUDGET)
        .spawn(largest_calls)
        .expect("spawn the test thread")
        .join()
        .expect("the calls completed");
}
