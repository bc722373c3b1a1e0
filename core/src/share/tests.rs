//! Unit tests of the share oracle: the paths and layouts against each other, bit for bit.

use super::{
    BLOCK, LANES, block_sums_into, blocks,
    blocks::Sink,
    jacobian::{
        InOrder, SMALL_SUPPORT, SUPPORT_MAX, add_row, add_user_in_order, jacobian_acc,
        jacobian_unchecked, positions, strict_positions,
    },
    kernel::{SCALAR, poly, shares_rows, shares_unchecked, strict_user, user_positions},
    recurrence::{derivative, derivative_written, derivatives, lanes_by_lane, lanes_by_step},
    shares,
};
use crate::{
    Population, Storage,
    population::{INDEX, TIE_NEXT},
    xorshift32,
};

/// The block rows added in order from zero and divided by `k + 1` are the shares, bit for
/// bit; and the rows of a view starting at a block boundary are the whole's rows of its
/// blocks (how a host splits a population across threads without changing a bit).
#[test]
#[cfg_attr(
    miri,
    ignore = "12 s or more under miri; safe arithmetic, run natively"
)]
fn block_sums_add_up_to_the_shares_bit_for_bit() {
    const N: usize = 16;
    const M: usize = 3 * BLOCK + 45;
    let mut next = xorshift32(0x1234_5677);
    let (ms, ks): (&[usize], &[u32]) = if cfg!(miri) {
        (&[1, BLOCK + 3], &[3])
    } else {
        (&[1, 7, BLOCK - 1, BLOCK, BLOCK + 1, M], &[1, 2, 4, 7])
    };
    for (case, &m) in ms.iter().enumerate() {
        let n = 3 + case * 2;
        let (mut w, mut o) = ([0.0f32; M], [0u16; M * N]);
        let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
        for j in 0..m {
            // Ties in every third user; zero weights now and then.
            let scores: [f64; N] = core::array::from_fn(|_| {
                let r = next();
                if j % 3 == 0 { (r % 3) as f64 } else { r as f64 }
            });
            let weight = if j > 0 && j % 11 == 0 {
                0.0
            } else {
                (next() % 7 + 1) as f64
            };
            b.push_scores(weight, &scores[..n]).unwrap();
        }
        let pop = b.finish().unwrap();
        let raw: [f32; N] = core::array::from_fn(|_| (next() % 100) as f32 + 1.0);
        let total: f32 = raw[..n].iter().sum();
        let pi: [f32; N] = core::array::from_fn(|i| raw[i] / total);
        let pi = &pi[..n];
        let rows = blocks(m);
        assert_eq!(rows, m.div_ceil(BLOCK));
        for &k in ks {
            let mut want = [0.0f32; N];
            shares(&pop, pi, k, &mut want[..n]).unwrap();
            let mut sums = [0.0f32; 4 * N];
            block_sums_into(&pop, pi, k, &mut sums[..rows * n]);
            let mut got = [0.0f32; N];
            for row in sums[..rows * n].chunks_exact(n) {
                for (g, &x) in got.iter_mut().zip(row) {
                    *g += x;
                }
            }
            for g in got[..n].iter_mut() {
                *g /= (k + 1) as f32;
            }
            assert_eq!(
                want.map(f32::to_bits),
                got.map(f32::to_bits),
                "m {m}, k {k}"
            );
            // Each block alone, as a view.
            for blk in 0..rows {
                let view = pop.users(blk * BLOCK..((blk + 1) * BLOCK).min(m)).unwrap();
                let mut one = [0.0f32; N];
                block_sums_into(&view, pi, k, &mut one[..n]);
                let whole = &sums[blk * n..(blk + 1) * n];
                assert!(
                    one[..n]
                        .iter()
                        .map(|x| x.to_bits())
                        .eq(whole.iter().map(|x| x.to_bits())),
                    "m {m}, k {k}, block {blk}"
                );
            }
        }
    }
}

/// A policy whose `f32` entries sum above 1 (accepted: within the tolerance of
/// [`check_policy`]) still gives shares in `[0, 1]`: a candidate of mass 0 above all others
/// wins every draw, share exactly 1, for every `k`.
#[test]
fn a_policy_summing_above_one_keeps_shares_in_the_unit_interval() {
    let pi = [0.43550828f32, 0.44823772, 0.0, 0.030770812, 0.08548321];
    let sum: f32 = pi.iter().sum();
    assert!(sum > 1.0, "the case needs an f32 sum above 1: {sum}");
    let (mut w, mut o) = ([0.0f32; 1], [0u16; 5]);
    let mut b = Population::<8>::builder(5, Storage::new(&mut w, &mut o)).unwrap();
    b.push_scores(1.0, &[0.0, 0.0, 2.0, 0.0, 1.0]).unwrap();
    let pop = b.finish().unwrap();
    for k in [1, 2, 8, 21, 64] {
        let mut g = [0.0f32; 5];
        shares(&pop, &pi, k, &mut g).unwrap();
        assert_eq!(g[2], 1.0, "k = {k}: {g:?}");
        assert!(
            g.iter().all(|&x| (0.0..=1.0).contains(&x)),
            "k = {k}: {g:?}"
        );
    }
}

/// A policy over `n` of `N` candidates: masses drawn from 1 to 1000, one in `zero_one_in` of
/// them 0, normalised in `f32`. All drawn zero gives a point mass instead (0 / 0 would be NaN,
/// whose sign bit is not specified, so two paths need not agree on it; Miri varies it).
fn policy_with_zeros<const N: usize>(
    next: &mut impl FnMut() -> u32,
    n: usize,
    zero_one_in: u32,
) -> [f32; N] {
    let mut pi = [0.0f32; N];
    let mut total = 0.0f32;
    for p in pi.iter_mut().take(n) {
        *p = if next().is_multiple_of(zero_one_in) {
            0.0
        } else {
            (next() % 1000) as f32 + 1.0
        };
        total += *p;
    }
    if total == 0.0 {
        pi[0] = 1.0;
        total = 1.0;
    }
    for p in pi.iter_mut().take(n) {
        *p /= total;
    }
    pi
}

/// The fused strict-order pass (what a Cortex-M runs) gives the same bits as the general
/// per-user path, clamped totals included, and declines orders with ties.
#[test]
fn fused_strict_path_is_bit_identical_to_the_general_path() {
    const N: usize = 16;
    let mut next = xorshift32(0x2545_f491_u32);
    // Miri runs this about a million times slower: fewer cases there.
    for case in 0..if cfg!(miri) { 24 } else { 400 } {
        let n = 1 + (next() % N as u32) as usize;
        let (mut w, mut o) = ([0.0f32; 1], [0u16; N]);
        let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
        let tied = case % 4 == 0;
        let scores: [f64; N] = core::array::from_fn(|_| {
            let r = next();
            if tied { (r % 3) as f64 } else { r as f64 }
        });
        b.push_scores(1.0, &scores[..n]).unwrap();
        let pop = b.finish().unwrap();
        let row = pop.order_rows();
        let mut pi = policy_with_zeros::<N>(&mut next, n, 5);
        if case % 3 == 0 {
            pi[0] += 3e-7; // a total above 1: the clamped branch
        }
        // 1, 2, 3, 4 and 8 run `sum_powers`' written-out steps, 5 and 16 its loop.
        for k in [1u32, 2, 3, 4, 5, 8, 16] {
            let w = 0.37f32;
            let (mut mass, mut upper, mut lower, mut value) =
                ([0.0f32; N], [0.0; N], [0.0; N], [0.0; N]);
            user_positions(row, &pi[..n], &mut mass, &mut upper, &mut lower);
            poly::<SCALAR>(&upper, &lower, n, k, &mut value);
            let mut general = [0.0f32; N];
            for (&e, &v) in row.iter().zip(value.iter()) {
                general[(e & INDEX) as usize] += w * v;
            }
            let has_tie = row.iter().any(|&e| e & TIE_NEXT != 0);
            // Searching the row for ties, and (strict rows) told there are none.
            for known_strict in [false, true] {
                if known_strict && has_tie {
                    continue;
                }
                let mut fused = [0.0f32; N];
                let strict = strict_user(row, &pi, w, k, known_strict, &mut fused);
                assert_eq!(strict, !has_tie, "case {case}");
                if strict {
                    for y in 0..n {
                        assert_eq!(
                            fused[y].to_bits(),
                            general[y].to_bits(),
                            "case {case}, k {k}, y {y}, known {known_strict}"
                        );
                    }
                } else {
                    assert!(fused.iter().all(|&x| x == 0.0));
                }
            }
        }
    }
}

/// The Jacobian's one-pass positions of a strict order (class, `a` and `b` per candidate) are
/// the general path's bits, totals above 1 (the clamp) and zero masses included.
#[test]
fn strict_positions_are_bit_identical_to_the_general_positions() {
    const N: usize = 16;
    let mut next = xorshift32(0x0bad_cafe_u32);
    for case in 0..if cfg!(miri) { 24 } else { 400 } {
        let n = 1 + (next() % N as u32) as usize;
        let (mut w, mut o) = ([0.0f32; 1], [0u16; N]);
        let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
        let scores: [f64; N] = core::array::from_fn(|_| next() as f64);
        b.push_scores(1.0, &scores[..n]).unwrap();
        let pop = b.finish().unwrap();
        let row = pop.order_rows();
        if row.iter().any(|&e| e & TIE_NEXT != 0) {
            continue; // two equal draws
        }
        let mut pi = policy_with_zeros::<N>(&mut next, n, 4);
        if case % 3 == 0 {
            pi[(next() as usize) % n] += 3e-7; // a total above 1: the clamp
        }
        let (mut mass, mut upper, mut lower) = ([0.0f32; N], [0.0; N], [0.0; N]);
        let mut general = ([-1.0f32; N], [-1.0f32; N], [-1.0f32; N]);
        let (c, a, bb) = &mut general;
        positions(row, &pi[..n], (&mut mass, &mut upper, &mut lower), c, a, bb);
        let mut fused = ([-1.0f32; N], [-1.0f32; N], [-1.0f32; N]);
        let (c, a, bb) = &mut fused;
        strict_positions(row, &pi[..n], Some(c), a, bb);
        let mut without = ([-1.0f32; N], [-1.0f32; N]);
        strict_positions(row, &pi[..n], None, &mut without.0, &mut without.1);
        assert_eq!(
            (without.0, without.1),
            (fused.1, fused.2),
            "case {case}: no classes"
        );
        let bits = |x: &[f32; N]| x.map(f32::to_bits);
        assert_eq!(bits(&fused.0), bits(&general.0), "case {case}: classes");
        assert_eq!(bits(&fused.1), bits(&general.1), "case {case}: a");
        assert_eq!(bits(&fused.2), bits(&general.2), "case {case}: b");
    }
}

/// The Jacobian rows added in each user's order (what a Cortex-M runs for orders with ties),
/// and the strict rows of strict users, are the same bits as the rows of `add_row`, over many
/// users with ties and supports of every size. (A Cortex-M's strict users are checked in
/// `scalar_and_simd_jacobians_agree`.)
#[test]
fn in_order_jacobian_rows_are_bit_identical_to_add_row() {
    const N: usize = 12;
    let mut next = xorshift32(0x1234_5678_u32);
    // One set of lists for every case: stale entries from earlier users must not matter.
    let mut lists = InOrder::new();
    for case in 0..if cfg!(miri) { 12 } else { 60 } {
        let n = 1 + (next() % N as u32) as usize;
        let m = 1 + (next() % 20) as usize;
        let (mut w, mut o) = ([0.0f32; 20], [0u16; 20 * N]);
        let mut b =
            Population::<N>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
        for _ in 0..m {
            let spread = if case % 2 == 0 { 3 } else { 1000 };
            let scores: [f64; N] = core::array::from_fn(|_| (next() % spread) as f64);
            b.push_scores(1.0, &scores[..n]).unwrap();
        }
        let pop = b.finish().unwrap();
        // A support: a random subset in a random order.
        let mut support = [0u16; N];
        let mut s = 0;
        for y in 0..n {
            if !next().is_multiple_of(3) {
                support[s] = y as u16;
                s += 1;
            }
        }
        if s == 0 {
            continue;
        }
        for i in (1..s).rev() {
            support.swap(i, (next() as usize) % (i + 1));
        }
        let mut slot_of = [u16::MAX; N];
        for (i, &y) in support[..s].iter().enumerate() {
            slot_of[y as usize] = i as u16;
        }
        let (mut by_row, mut in_order) = ([0.0f32; N * N], [0.0f32; N * N]);
        // The strict rows, for the users whose order is strict (the others as by_row).
        let mut strict_rows = [0.0f32; N * N];
        for row in pop.order_rows().chunks_exact(n) {
            let mut class = [0.0f32; N];
            let mut c = 0.0f32;
            for &e in row {
                class[(e & INDEX) as usize] = c;
                if e & TIE_NEXT == 0 {
                    c += 1.0;
                }
            }
            let cls_s: [f32; N] = core::array::from_fn(|i| class[support[i] as usize]);
            let same: [f32; N] = core::array::from_fn(|_| (next() % 1000) as f32 * 1e-3);
            let below: [f32; N] = core::array::from_fn(|_| (next() % 1000) as f32 * 1e-3);
            let strict = row.iter().all(|&e| e & TIE_NEXT == 0);
            for i in 0..s {
                let cells = i * s..(i + 1) * s;
                let (cy, d) = (cls_s[i], (same[i], below[i]));
                add_row(&mut by_row[cells.clone()], &cls_s[..s], cy, d.0, d.1, None);
                // The strict rows for strict users (the others as by_row).
                let diag = strict.then_some(i);
                add_row(&mut strict_rows[cells], &cls_s[..s], cy, d.0, d.1, diag);
            }
            add_user_in_order(row, &slot_of, &same, &below, s, &mut in_order, &mut lists);
        }
        for ((a, b), c) in by_row.iter().zip(&in_order).zip(&strict_rows) {
            assert_eq!(a.to_bits(), b.to_bits(), "case {case}");
            assert_eq!(a.to_bits(), c.to_bits(), "case {case}, strict rows");
        }
    }
}

/// The scalar `derivative` (Cortex-M) and its written-out form give each lane of `derivatives`
/// (SIMD) bit for bit.
#[test]
fn scalar_derivative_is_bit_identical_to_the_lanes() {
    let mut next = xorshift32(0x9e37_79b9);
    // Miri runs this about a million times slower: fewer draws there.
    let draws = if cfg!(miri) { 5 } else { 200 };
    for k in [1u32, 2, 3, 4, 8, 16, 64] {
        for _ in 0..draws {
            let a: [f32; LANES] = core::array::from_fn(|_| (next() >> 8) as f32 / 16_777_216.0);
            let b: [f32; LANES] =
                core::array::from_fn(|l| a[l] * ((next() >> 8) as f32 / 16_777_216.0));
            let (d_a, d_b) = derivatives(a, b, k);
            for l in 0..LANES {
                let (x, y) = derivative(a[l], b[l], k);
                assert_eq!(
                    (x.to_bits(), y.to_bits()),
                    (d_a[l].to_bits(), d_b[l].to_bits()),
                    "k = {k}"
                );
                let (x, y) = derivative_written(a[l], b[l], k);
                assert_eq!(
                    (x.to_bits(), y.to_bits()),
                    (d_a[l].to_bits(), d_b[l].to_bits()),
                    "k = {k}, written out"
                );
            }
        }
    }
}

/// A large capacity narrowed to 64 or 256 for small `n` gives the bits of the full capacity,
/// the eight-lane path included (narrowing turns it on for populations it was off for).
#[test]
fn narrowed_capacities_give_the_same_bits() {
    const BIG: usize = 1024;
    let mut next = xorshift32(0x5151_2026);
    let cases = [
        (1usize, 3usize),
        (9, 40),
        (16, 16),
        (33, 20),
        (64, 9),
        (65, 30),
        (256, 17),
    ];
    // Miri zeroes arrays of 1024 floats slowly: one case there (all of them take minutes).
    let cases = if cfg!(miri) { &cases[1..2] } else { &cases[..] };
    for &(n, m) in cases {
        let (mut w, mut o) = ([0.0f32; 40], [0u16; 40 * 256]);
        let mut b =
            Population::<BIG>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
        for u in 0..m {
            // Every third user with ties, the others strict.
            let spread = if u % 3 == 0 { 4 } else { 1 << 20 };
            let scores: [f64; 256] = core::array::from_fn(|_| (next() % spread) as f64);
            b.push_scores((1 + next() % 5) as f64, &scores[..n])
                .unwrap();
        }
        let pop = b.finish().unwrap();
        let mut pi: [f32; 256] = core::array::from_fn(|_| (next() % 1000) as f32);
        let total: f32 = pi[..n].iter().sum();
        for p in pi[..n].iter_mut() {
            *p /= total.max(1.0);
        }
        let pi = &pi[..n];
        let ks = [1u32, 2, 4, 9];
        for &k in if cfg!(miri) { &ks[2..3] } else { &ks[..] } {
            let (mut narrowed, mut full) = ([0.0f32; 256], [0.0f32; 256]);
            shares_unchecked(&pop, pi, k, &mut narrowed[..n]);
            let strict = pop.all_strict();
            shares_rows::<BIG, SCALAR>(
                pop.order_rows(),
                pop.weights(),
                strict,
                n,
                pi,
                k,
                &mut full[..n],
                Sink::Shares,
            );
            let bits = |v: &[f32; 256]| v.map(|x| x.to_bits());
            assert_eq!(bits(&narrowed), bits(&full), "n {n}, m {m}, k {k}");
        }
    }
}

/// The small block accumulator of the Jacobian gives the same bits as the large one, for
/// supports up to its size, with ties, over more than one block of users.
#[test]
fn small_jacobian_accumulator_gives_the_same_bits() {
    const N: usize = 64;
    const M: usize = BLOCK + 37;
    let mut next = xorshift32(0x0ac0_2026);
    let n = 40;
    // Miri: one block of users (the flush between blocks is the same code).
    let m = if cfg!(miri) { 24 } else { M };
    let (mut w, mut o) = ([0.0f32; M], [0u16; M * 40]);
    let mut b = Population::<N>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
    for u in 0..m {
        let spread = if u % 4 == 0 { 5 } else { 1 << 20 };
        let scores: [f64; 40] = core::array::from_fn(|_| (next() % spread) as f64);
        b.push_scores((1 + next() % 3) as f64, &scores).unwrap();
    }
    let pop = b.finish().unwrap();
    let mut pi: [f32; 40] = core::array::from_fn(|_| (1 + next() % 1000) as f32);
    let total: f32 = pi.iter().sum();
    for p in pi.iter_mut() {
        *p /= total;
    }
    let support: [u16; SMALL_SUPPORT] = core::array::from_fn(|i| (i as u16 * 7 + 3) % 40);
    let sizes = [1usize, 5, 17, SMALL_SUPPORT];
    for &s in if cfg!(miri) { &sizes[1..2] } else { &sizes[..] } {
        let stride = s + 1;
        let (mut small, mut large) = ([0.0f32; 33 * 33], [0.0f32; 33 * 33]);
        jacobian_unchecked(&pop, &pi, 4, &support[..s], stride, &mut small);
        jacobian_acc::<N, N, { SUPPORT_MAX * SUPPORT_MAX }, SCALAR>(
            &pop,
            &pi,
            4,
            &support[..s],
            stride,
            &mut large,
        );
        assert!(small[..stride * s].iter().any(|&x| x != 0.0));
        assert_eq!(small.map(f32::to_bits), large.map(f32::to_bits), "s {s}");
    }
}

/// The eight-lane path gives the same bits as the one-user-at-a-time path.
#[test]
#[cfg_attr(
    miri,
    ignore = "12 s or more under miri; safe arithmetic, run natively"
)]
fn group_path_is_bit_identical_to_the_per_user_path() {
    const N: usize = 8;
    let (n, m) = (7usize, 40usize);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Mostly strict orders and some with ties, so both paths run in one population (whose
    // groups are then searched for ties); then strict orders only (known strict).
    for with_ties in [true, false] {
        let (mut w, mut o) = ([0.0f32; 40], [0u16; 40 * 7]);
        let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
        for j in 0..m {
            let scores: [f64; 7] = if with_ties && j % 9 == 4 {
                core::array::from_fn(|_| (next() % 3) as f64)
            } else {
                // Distinct scores: a shuffle of 0..7.
                let mut s: [f64; 7] = core::array::from_fn(|i| i as f64);
                for i in (1..7).rev() {
                    s.swap(i, (next() % (i as u64 + 1)) as usize);
                }
                s
            };
            b.push_scores((1 + next() % 5) as f64, &scores).unwrap();
        }
        let pop = b.finish().unwrap();
        assert_eq!(pop.all_strict(), !with_ties);
        group_matches_per_user(&pop, n, m, &mut next);
    }
}

fn group_matches_per_user(
    pop: &Population<'_, 8>,
    n: usize,
    m: usize,
    next: &mut impl FnMut() -> u64,
) {
    const N: usize = 8;
    assert!(pop.m() * n >= 4 * N, "the group path must be on");
    let mut pi = [0.0f32; 7];
    for p in pi.iter_mut() {
        *p = (1 + next() % 100) as f32;
    }
    let total: f32 = pi.iter().sum();
    for p in pi.iter_mut() {
        *p /= total;
    }
    // The same policy with its total pushed above 1: the clamped paths. And one where a
    // candidate has no mass, so that the users ranking it first have a `b` above 1 too.
    let mut above = pi;
    above[3] += 4e-7;
    let mut massless = above;
    massless[3] += massless[6];
    massless[6] = 0.0;
    // 1, 2, 3, 4 and 8 take `lanes_written`, 5 and 16 the loop of `lanes` (under miri one of
    // each).
    let ks: &[u32] = if cfg!(miri) {
        &[4, 5]
    } else {
        &[1, 2, 3, 4, 5, 8, 16]
    };
    for (k, pi) in ks
        .iter()
        .copied()
        .flat_map(|k| [(k, pi), (k, above), (k, massless)])
    {
        let mut fast = [0.0f32; 7];
        shares_unchecked(pop, &pi, k, &mut fast);
        // The per-user path, spelled out.
        let (mut mass, mut upper, mut lower, mut value) =
            ([0.0f32; N], [0.0; N], [0.0; N], [0.0; N]);
        let mut slow = [0.0f32; 7];
        for j in 0..m {
            let row = &pop.order_rows()[j * n..(j + 1) * n];
            let w = pop.weights()[j];
            user_positions(row, &pi, &mut mass, &mut upper, &mut lower);
            poly::<SCALAR>(&upper, &lower, n, k, &mut value);
            for (&e, &v) in row.iter().zip(value.iter()) {
                slow[(e & INDEX) as usize] += w * v;
            }
        }
        for s in slow.iter_mut() {
            *s /= (k + 1) as f32;
        }
        for y in 0..n {
            assert_eq!(fast[y].to_bits(), slow[y].to_bits(), "k={k} y={y}");
        }
    }
}

/// A random population of `m <= 300` users over `n <= 16` candidates into `w`, `o`: every
/// `tie_every`-th user with ties (0: none), weights 1 to 5 with a zero now and then.
fn random_population<'a>(
    n: usize,
    m: usize,
    tie_every: usize,
    next: &mut impl FnMut() -> u32,
    w: &'a mut [f32],
    o: &'a mut [u16],
) -> Population<'a, 16> {
    let mut b = Population::<16>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
    for j in 0..m {
        let tied = tie_every > 0 && j % tie_every == 0;
        let scores: [f64; 16] = core::array::from_fn(|_| {
            let r = next();
            if tied { (r % 3) as f64 } else { r as f64 }
        });
        let weight = if j % 13 == 5 {
            0.0
        } else {
            (1 + next() % 5) as f64
        };
        b.push_scores(weight, &scores[..n]).unwrap();
    }
    b.finish().unwrap()
}

/// A random policy over `n` candidates; with `above`, its `f32` total pushed above 1 (the
/// clamped branches).
fn random_policy(n: usize, above: bool, next: &mut impl FnMut() -> u32) -> [f32; 16] {
    let mut pi: [f32; 16] = core::array::from_fn(|_| (1 + next() % 1000) as f32);
    let total: f32 = pi[..n].iter().sum();
    for p in pi[..n].iter_mut() {
        *p /= total;
    }
    if above {
        pi[0] += 3e-7;
    }
    pi
}

/// The scalar path (`S = true`: fused strict orders, lanes one at a time; what a Cortex-M runs)
/// and the SIMD path (eight-lane groups, lanes a step at a time) give the same shares and block
/// sums, bit for bit, on `pop`.
fn paths_agree(pop: &Population<'_, 16>, pi: &[f32], label: &str) {
    const N: usize = 16;
    let (n, m) = (pop.n(), pop.m());
    let rows = blocks(m);
    assert!(m * n >= 4 * N, "the group path must be on");
    for k in [1u32, 2, 3, 4, 5, 8, 16] {
        for sink in [Sink::Shares, Sink::Blocks] {
            let len = if sink == Sink::Shares { n } else { rows * n };
            let (mut scalar, mut simd) = ([0.0f32; 4 * N], [0.0f32; 4 * N]);
            let args = (pop.order_rows(), pop.weights(), pop.all_strict(), n);
            shares_rows::<N, true>(
                args.0,
                args.1,
                args.2,
                args.3,
                pi,
                k,
                &mut scalar[..len],
                sink,
            );
            shares_rows::<N, false>(
                args.0,
                args.1,
                args.2,
                args.3,
                pi,
                k,
                &mut simd[..len],
                sink,
            );
            assert!(scalar[..len].iter().any(|&x| x != 0.0), "{label}: all zero");
            assert_eq!(
                scalar.map(f32::to_bits),
                simd.map(f32::to_bits),
                "{label}, k {k}, {sink:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "12 s or more under miri; safe arithmetic, run natively"
)]
fn scalar_and_simd_paths_agree_on_strict_orders() {
    let mut next = xorshift32(0x5ca1_a2b0);
    let cases: &[(usize, usize)] = if cfg!(miri) {
        &[(7, 20)]
    } else {
        &[(4, 17), (7, 40), (16, 300)]
    };
    for &(n, m) in cases {
        let (mut w, mut o) = ([0.0f32; 300], [0u16; 300 * 16]);
        let pop = random_population(n, m, 0, &mut next, &mut w, &mut o);
        assert!(pop.all_strict());
        for above in [false, true] {
            let pi = random_policy(n, above, &mut next);
            paths_agree(&pop, &pi[..n], &format_label(n, m, above));
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "12 s or more under miri; safe arithmetic, run natively"
)]
fn scalar_and_simd_paths_agree_on_orders_with_ties() {
    let mut next = xorshift32(0x7135_2026);
    let cases: &[(usize, usize, usize)] = if cfg!(miri) {
        &[(7, 20, 3)]
    } else {
        &[(5, 30, 1), (7, 40, 3), (16, 300, 9)]
    };
    for &(n, m, every) in cases {
        let (mut w, mut o) = ([0.0f32; 300], [0u16; 300 * 16]);
        let pop = random_population(n, m, every, &mut next, &mut w, &mut o);
        for above in [false, true] {
            let pi = random_policy(n, above, &mut next);
            paths_agree(&pop, &pi[..n], &format_label(n, m, above));
        }
    }
}

/// The scalar Jacobian (rows in each user's order, derivatives one at a time) and the SIMD one
/// (rows by member, derivatives in lanes) are the same bits: strict users and users with ties,
/// over more than one block of users, supports accumulated in blocks and (too large for the
/// accumulator) straight into the output.
#[test]
#[cfg_attr(
    miri,
    ignore = "12 s or more under miri; safe arithmetic, run natively"
)]
fn scalar_and_simd_jacobians_agree() {
    const N: usize = 16;
    let mut next = xorshift32(0x0ac0_5ca1);
    let m = if cfg!(miri) { 20 } else { BLOCK + 44 };
    let (mut w, mut o) = ([0.0f32; BLOCK + 44], [0u16; (BLOCK + 44) * 16]);
    let n = 14;
    let pop = random_population(n, m, 4, &mut next, &mut w, &mut o);
    let support: [u16; 14] = core::array::from_fn(|i| ((i * 5 + 3) % 14) as u16);
    let (sizes, ks): (&[usize], &[u32]) = if cfg!(miri) {
        (&[3, 9], &[2, 7])
    } else {
        (&[1, 3, 9, 14], &[1, 2, 4, 7])
    };
    // Masses summing to 1 or less, and above 1 (the clamped suffix sums).
    let policies = [false, true].map(|above| random_policy(n, above, &mut next));
    for (&s, pi) in sizes
        .iter()
        .flat_map(|s| policies.iter().map(move |pi| (s, pi)))
    {
        for &k in ks {
            let stride = s + 2;
            let (mut scalar, mut simd) = ([0.0f32; 16 * 16], [0.0f32; 16 * 16]);
            // An accumulator of 64 entries holds supports up to 8 (blocked), not 9 or 14.
            jacobian_acc::<N, N, 64, true>(&pop, &pi[..n], k, &support[..s], stride, &mut scalar);
            jacobian_acc::<N, N, 64, false>(&pop, &pi[..n], k, &support[..s], stride, &mut simd);
            assert!(scalar.iter().any(|&x| x != 0.0), "s {s}, k {k}: all zero");
            assert_eq!(
                scalar.map(f32::to_bits),
                simd.map(f32::to_bits),
                "s {s}, k {k}"
            );
            // One of 256 entries holds all of them in blocks: on the SIMD path, rows padded to
            // whole lanes (8 or 16 wide).
            let (mut scalar, mut simd) = ([0.0f32; 16 * 16], [0.0f32; 16 * 16]);
            jacobian_acc::<N, N, 256, true>(&pop, &pi[..n], k, &support[..s], stride, &mut scalar);
            jacobian_acc::<N, N, 256, false>(&pop, &pi[..n], k, &support[..s], stride, &mut simd);
            assert_eq!(
                scalar.map(f32::to_bits),
                simd.map(f32::to_bits),
                "s {s}, k {k}, blocked"
            );
        }
    }
}

/// Both Jacobian paths, blocked or not, take inputs outside `Oracle::jacobian_into`'s contract
/// without a panic: supports naming candidates past `n` (up to `u16::MAX`), repeating one or
/// longer than `n`, policies shorter or longer than `n` or not finite, strides below the
/// support's size and outputs too short for it. What they give then is unspecified.
#[test]
fn jacobians_outside_the_contract_do_not_panic() {
    const N: usize = 16;
    let mut next = xorshift32(0x0bad_1dea);
    // Fewer candidates than the scratch holds, and as many (the last position's `b` read past
    // the suffix sums).
    for (case, n) in (0..if cfg!(miri) { 4 } else { 800 }).map(|i| (i, [12, 16][i % 2])) {
        let (mut w, mut o) = ([0.0f32; 40], [0u16; 40 * 16]);
        let pop = random_population(n, 40, 2 + case % 3, &mut next, &mut w, &mut o);
        let s = 1 + (next() % 20) as usize;
        let support: [u16; 20] = core::array::from_fn(|_| match next() % 4 {
            0 => u16::MAX - (next() % 3) as u16,
            1 => (n + (next() % 8) as usize) as u16,
            _ => (next() % n as u32) as u16,
        });
        let len = (next() % 18) as usize;
        let pi: [f32; 18] = core::array::from_fn(|_| match next() % 8 {
            0 => f32::NAN,
            1 => -1.0,
            2 => f32::INFINITY,
            _ => (next() % 1000) as f32 / 500.0,
        });
        let stride = 1 + (next() % 24) as usize;
        let out_len = (next() % 600) as usize;
        let k = 1 + next() % 6;
        let mut out = [0.0f32; 600];
        let (pi, support, out) = (&pi[..len], &support[..s], &mut out[..out_len]);
        jacobian_acc::<N, N, 64, true>(&pop, pi, k, support, stride, out);
        jacobian_acc::<N, N, 64, false>(&pop, pi, k, support, stride, out);
        jacobian_acc::<N, N, 256, true>(&pop, pi, k, support, stride, out);
        jacobian_acc::<N, N, 256, false>(&pop, pi, k, support, stride, out);
    }
}

/// The recurrence one lane at a time (scalar FPU) and a step at a time (SIMD) are the same bits.
#[test]
fn lanes_by_lane_and_by_step_agree() {
    let mut next = xorshift32(0x1a2e_5eed);
    for k in [0u32, 1, 2, 3, 4, 5, 8, 16, 100] {
        for _ in 0..if cfg!(miri) { 3 } else { 100 } {
            let a: [f32; LANES] = core::array::from_fn(|_| (next() >> 8) as f32 / 16_777_216.0);
            let b: [f32; LANES] =
                core::array::from_fn(|l| a[l] * ((next() >> 8) as f32 / 16_777_216.0));
            assert_eq!(
                lanes_by_lane(a, b, k).map(f32::to_bits),
                lanes_by_step(a, b, k).map(f32::to_bits),
                "k = {k}"
            );
        }
    }
}

/// A case's label, without an allocator.
fn format_label(n: usize, m: usize, above: bool) -> heapless::String<48> {
    use core::fmt::Write;
    let mut s = heapless::String::new();
    let _ = write!(s, "n {n}, m {m}, above 1: {above}");
    s
}

/// Shares in `f64` from the definition: per user, walking the tie classes from the bottom, `b`
/// the mass below a class, `a = b + c` with `c` its mass, and `g(y) += w_j sum_i a^i b^(k-i) /
/// (k + 1)`, the weights as the population normalised them.
fn shares_f64(pop: &Population<'_, 16>, pi: &[f64], k: u32) -> [f64; 16] {
    let n = pop.n();
    let mut g = [0.0f64; 16];
    for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
        let mut below = 0.0f64;
        let mut end = n;
        while end > 0 {
            let mut start = end - 1;
            while start > 0 && row[start - 1] & TIE_NEXT != 0 {
                start -= 1;
            }
            let class = &row[start..end];
            let c: f64 = class.iter().map(|&e| pi[(e & INDEX) as usize]).sum();
            let (a, b) = (below + c, below);
            let s: f64 = (0..=k)
                .map(|i| a.powi(i as i32) * b.powi((k - i) as i32))
                .sum();
            for &e in class {
                g[(e & INDEX) as usize] += f64::from(w) * s / f64::from(k + 1);
            }
            below += c;
            end = start;
        }
    }
    g
}

/// The Jacobian against central differences of [`shares_f64`] (a second route, in `f64`), on
/// orders with and without ties; a candidate listed twice gets the same row twice (the entry
/// of each listing with the other is the Jacobian's, not a derivative).
#[test]
#[cfg_attr(
    miri,
    ignore = "12 s or more under miri; safe arithmetic, run natively"
)]
fn jacobian_matches_central_differences_of_the_definition() {
    let mut next = xorshift32(0x00de_f1e5);
    let (mut w, mut o) = ([0.0f32; 40], [0u16; 40 * 16]);
    let n = 11;
    let pop = random_population(n, 40, 3, &mut next, &mut w, &mut o);
    let pi = random_policy(n, false, &mut next);
    // Below a total of 1, so that no mass is clamped and the shares are smooth.
    let pi: [f32; 16] = core::array::from_fn(|i| pi[i] * 0.9);
    let support: [u16; 6] = [4, 0, 9, 10, 2, 7];
    let ks: &[u32] = if cfg!(miri) { &[2] } else { &[1, 2, 4] };
    for &k in ks {
        let g32 = shares_f64(&pop, &pi.map(f64::from), k);
        let mut check = [0.0f32; 16];
        shares_unchecked(&pop, &pi[..n], k, &mut check[..n]);
        for y in 0..n {
            assert!(
                (g32[y] - f64::from(check[y])).abs() < 1e-5,
                "shares_f64 is the share"
            );
        }
        let s = support.len();
        let mut jac = [0.0f32; 6 * 6];
        jacobian_unchecked(&pop, &pi[..n], k, &support, s, &mut jac);
        for (j, &z) in support.iter().enumerate() {
            let h = 1e-6;
            let mut plus = pi.map(f64::from);
            let mut minus = plus;
            plus[z as usize] += h;
            minus[z as usize] -= h;
            let (gp, gm) = (shares_f64(&pop, &plus, k), shares_f64(&pop, &minus, k));
            for (i, &y) in support.iter().enumerate() {
                let want = (gp[y as usize] - gm[y as usize]) / (2.0 * h);
                let got = f64::from(jac[i * s + j]);
                assert!(
                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "k {k}: d g({y}) / d pi({z}) = {want}, Jacobian {got}"
                );
            }
        }
        let twice: [u16; 4] = [4, 0, 9, 4];
        let mut jac = [0.0f32; 16];
        jacobian_unchecked(&pop, &pi[..n], k, &twice, 4, &mut jac);
        // Its rows agree where its two listings play the same part.
        assert_eq!(
            jac[1..3],
            jac[13..15],
            "k {k}: the rows of a member listed twice"
        );
        assert_eq!(
            (jac[0], jac[3]),
            (jac[15], jac[12]),
            "k {k}: diagonal and twin"
        );
    }
}
