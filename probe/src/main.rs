//! Panic-free proof for `ualign` on `thumbv7em-none-eabihf`.
//!
//! The panic handler calls `ualign_probe_panic_path_reached`, which is declared but defined
//! nowhere, so the image links only if the optimiser removed every path to a panic. The entry
//! point calls every public function of core on inputs the optimiser cannot see (read through
//! `read_volatile` from a static and passed through `black_box`), so no check can be folded away
//! by constant propagation. The image is never run; building it (`cargo build --release` in
//! this folder) is the test.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::read_volatile;

use rand_xoshiro::Xoshiro128PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use ualign::{
    Error, Population, Storage, certificate, float, margins, opponents, sampling, share,
    share::Oracle, share::tally, share::wide, solver, synthetic,
};

/// Candidate capacity of the probe.
const N: usize = 16;
/// User capacity of the probe.
const M: usize = 32;
/// Opponent slots and picks capacity.
const L: usize = 4;
const K: usize = 64;

unsafe extern "C" {
    /// Defined nowhere: referencing it from a live section fails the link.
    fn ualign_probe_panic_path_reached() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: never defined, so this is never called: the link fails first.
    unsafe { ualign_probe_panic_path_reached() }
}

/// Opaque input bytes; a debugger or another image could write them, so the compiler may assume
/// nothing about them.
#[unsafe(no_mangle)]
static PROBE_INPUT: [u8; 1024] = [0; 1024];

/// Opaque output, so that nothing computed is dead.
#[unsafe(no_mangle)]
static mut PROBE_OUTPUT: u32 = 0;

fn byte(i: usize) -> u8 {
    let p = PROBE_INPUT.as_ptr().wrapping_add(i % PROBE_INPUT.len());
    // SAFETY: `p` points into `PROBE_INPUT`.
    black_box(unsafe { read_volatile(p) })
}

fn word(i: usize) -> u32 {
    u32::from_le_bytes([byte(i), byte(i + 1), byte(i + 2), byte(i + 3)])
}

fn f64_at(i: usize) -> f64 {
    black_box(f64::from_bits(
        (word(i) as u64) | ((word(i + 4) as u64) << 32),
    ))
}

fn f32_at(i: usize) -> f32 {
    black_box(f32::from_bits(word(i)))
}

fn usize_at(i: usize) -> usize {
    black_box(word(i) as usize)
}

fn sink<T>(x: T) {
    let x = black_box(x);
    let bits = core::mem::size_of_val(&x) as u32;
    // SAFETY: single-threaded image; a plain volatile store.
    unsafe { core::ptr::write_volatile(&raw mut PROBE_OUTPUT, bits) };
}

fn err(e: Error) {
    // Display goes through core::fmt; the Debug/Display impls are part of the public API.
    struct Sink;
    impl core::fmt::Write for Sink {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            sink(s.len());
            Ok(())
        }
    }
    let _ = core::fmt::write(&mut Sink, format_args!("{e}"));
    sink(e);
}

fn check<T>(r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(x) => Some(x),
        Err(e) => {
            err(e);
            None
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    loop {
        run();
    }
}

fn run() {
    let mut weights = [0.0f32; M];
    let mut order = [0u16; M * N];
    let wlen = usize_at(0);
    let olen = usize_at(4);
    let n = usize_at(8);
    let users = usize_at(12);
    let k = word(16);
    let l = usize_at(20);
    let seed = (word(24) as u64) << 32 | word(28) as u64;
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(black_box(seed));

    let weights = weights.get_mut(..wlen.min(M)).unwrap_or(&mut []);
    let order = order.get_mut(..olen.min(M * N)).unwrap_or(&mut []);
    let Some(mut b) = check(Population::<N>::builder(n, Storage::new(weights, order))) else {
        return;
    };
    sink((b.n(), b.len(), b.is_empty(), b.capacity()));
    let mut scores = [0.0f64; N];
    for (i, s) in scores.iter_mut().enumerate() {
        *s = f64_at(64 + 8 * i);
    }
    let slen = usize_at(32).min(N);
    for j in 0..users.min(M) {
        match byte(300 + j) % 6 {
            0 => {
                check(b.push_scores(f64_at(200 + j), scores.get(..slen).unwrap_or(&[])));
            }
            1 => {
                let mut groups = [[0usize; 2]; N];
                for (g, grp) in groups.iter_mut().enumerate() {
                    *grp = [usize_at(400 + 3 * g), usize_at(401 + 5 * g)];
                }
                let cnt = usize_at(36).min(N);
                check(b.push_ranking(f64_at(208), groups.iter().take(cnt)));
            }
            2 => {
                check(synthetic::impartial_culture(
                    &mut b,
                    byte(40) as usize,
                    &mut rng,
                ));
            }
            3 => {
                check(synthetic::mallows(
                    &mut b,
                    byte(41) as usize,
                    f32_at(44),
                    &mut rng,
                ));
            }
            4 => {
                let mut strength = [0.0f32; N];
                synthetic::geometric_strengths(
                    strength.get_mut(..slen).unwrap_or(&mut []),
                    f32_at(48),
                );
                check(synthetic::plackett_luce(
                    &mut b,
                    byte(42) as usize,
                    strength.get(..usize_at(52).min(N)).unwrap_or(&[]),
                    &mut rng,
                ));
            }
            _ => {
                check(b.push_ranking(f64_at(216), [[byte(43) as usize]]));
            }
        }
    }
    let Some(pop) = check(b.finish()) else {
        return;
    };
    let n = pop.n();
    sink((pop.m(), pop.weight(usize_at(56)), pop.weights().len()));
    if let Some(it) = pop.order(usize_at(60)) {
        for (c, t) in it {
            sink((c, t));
        }
    }
    let part = pop.users(usize_at(500)..usize_at(504));

    let mut pi = [0.0f32; N];
    for (i, p) in pi.iter_mut().enumerate() {
        *p = f32_at(600 + 4 * i);
    }
    let plen = usize_at(508).min(N);
    let pi_in = pi.get(..plen).unwrap_or(&[]);
    let mut g = [0.0f32; N];
    let glen = usize_at(512).min(N);
    let g_out = g.get_mut(..glen).unwrap_or(&mut []);
    check(ualign::policy::check_policy(pi_in, n));
    check(share::shares(&pop, pi_in, k, g_out));
    sink(ualign::policy::self_payoff(pi_in, g_out));
    sink(Oracle::<N>::n(&pop));
    pop.shares_into(pi_in, k, g_out);
    sink(share::blocks(usize_at(500)));
    share::block_sums_into(&pop, pi_in, k, g_out);
    let mut jac = [0.0f32; 64];
    let support = [word(520) as u16, word(524) as u16, word(528) as u16];
    let slen = usize_at(532).min(3);
    pop.jacobian_into(
        pi_in,
        k,
        support.get(..slen).unwrap_or(&[]),
        usize_at(536),
        &mut jac,
    );
    if let Some(p) = part {
        check(share::shares(&p, pi_in, k, g_out));
    }
    sink(check(ualign::policy::snap::<N>(g_out)));
    sink(check(certificate::certify(&pop, pi_in, k)));
    let opp = pi.get(..usize_at(540).min(N)).unwrap_or(&[]);
    sink(check(certificate::win_rate_against(&pop, pi_in, k, opp)));

    // The polish on or off as the input says, so both paths are linked.
    let opts = solver::SolveOptions::new(k)
        .epsilon(f32_at(544))
        .max_iter(word(548))
        .polish(word(548) & 1 == 0);
    let mut policy = [0.0f32; N];
    let policy = policy.get_mut(..usize_at(552).min(N)).unwrap_or(&mut []);
    sink(check(solver::optimistic_hedge(&pop, &opts, policy)));
    sink(check(solver::optimistic_hedge_warm(&pop, &opts, pi_in, policy)));
    sink(check(solver::nlhf(&pop, f32_at(556), word(560), policy)));
    let mut iterates = [0.0f32; 8 * N];
    let ilen = usize_at(564).min(8 * N);
    let iterates = iterates.get_mut(..ilen).unwrap_or(&mut []);
    if let Some(h) = check(solver::hedge(&pop, &opts, iterates)) {
        sink((
            h.regret_bound,
            h.solution,
            h.mixture.rounds(),
            h.mixture.n(),
        ));
        sink(h.mixture.iterate(usize_at(568)).map(|s| s.len()));
        sink(check(sampling::mixture_picks::<_, K>(
            &h.mixture, k, &mut rng,
        )));
    }

    sink(opponents::multiset_count(usize_at(572), usize_at(576)));
    let z = [word(580) as u16, word(584) as u16];
    let zlen = usize_at(588).min(2);
    sink(check(opponents::opponent_win_rate(
        &pop,
        policy,
        k,
        z.get(..zlen).unwrap_or(&[]),
    )));
    sink(check(opponents::worst_opponent::<N, L>(
        &pop,
        policy,
        k,
        l,
        word(592) as u64,
    )));

    // The k = 1 matrix: its build (both paths), its oracle, and NLHF through it (the simplex,
    // then the dynamics when the certificate misses epsilon).
    let mut abuf = [0.0f64; N * N];
    let alen = usize_at(676).min(N * N);
    if let Some(margins) = check(margins::Margins::new(
        pop,
        abuf.get_mut(..alen).unwrap_or(&mut []),
    )) {
        sink(margins.get(usize_at(680), usize_at(684)));
        sink(margins.matrix().len());
        sink(margins.population().m());
        margins.shares_into(pi_in, k, g_out);
        margins.jacobian_into(
            pi_in,
            k,
            support.get(..slen).unwrap_or(&[]),
            usize_at(536),
            &mut jac,
        );
        let mut work = [0.0f64; (N + 1) * (N + 1)];
        let wlen = usize_at(688).min((N + 1) * (N + 1));
        sink(check(solver::nlhf_margins(
            &margins,
            f32_at(692),
            word(696),
            policy,
            work.get_mut(..wlen).unwrap_or(&mut []),
        )));
    }

    // The tally: its build (every buffer length from the input), its oracle, a solve through it.
    let mut nodes = [tally::Node::default(); N * M];
    let mut table = [0u32; 2 * N * M];
    let sums = [const { core::cell::Cell::new(0.0f32) }; N * M];
    let (nlen, tlen, slen2) = (
        usize_at(700).min(N * M),
        usize_at(704).min(2 * N * M),
        usize_at(708).min(N * M),
    );
    if let Some(t) = check(tally::Tally::new(
        pop,
        nodes.get_mut(..nlen).unwrap_or(&mut []),
        table.get_mut(..tlen).unwrap_or(&mut []),
        sums.get(..slen2).unwrap_or(&[]),
    )) {
        sink((t.len(), t.is_empty(), t.population().m()));
        sink(check(t.shares(pi_in, k, g_out)));
        t.shares_into(pi_in, k, g_out);
        t.jacobian_into(
            pi_in,
            k,
            support.get(..slen).unwrap_or(&[]),
            usize_at(536),
            &mut jac,
        );
        sink(check(solver::optimistic_hedge(&t, &opts, policy)));
    }

    // The wide layout: its build (buffer lengths from the input), its oracle, a solve through it.
    let mut wtable = [0u8; 2 * N * M + 16];
    let mut wweights = [0.0f32; M];
    let (wt, ww) = (usize_at(712).min(wtable.len()), usize_at(716).min(M));
    sink(wide::Wide::<N>::table_len(usize_at(720), usize_at(724)));
    sink(wide::Wide::<N>::weights_len(usize_at(728)));
    if let Some(w) = check(wide::Wide::new(
        pop,
        wtable.get_mut(..wt).unwrap_or(&mut []),
        wweights.get_mut(..ww).unwrap_or(&mut []),
    )) {
        sink(w.population().m());
        sink(check(w.shares(pi_in, k, g_out)));
        w.shares_into(pi_in, k, g_out);
        w.evaluate(pi_in, k, g_out);
        w.block_sums_into(pi_in, k, g_out);
        w.jacobian_into(
            pi_in,
            k,
            support.get(..slen).unwrap_or(&[]),
            usize_at(536),
            &mut jac,
        );
        sink(check(solver::optimistic_hedge(&w, &opts, policy)));
    }

    sink(sampling::unit_f32(&mut rng));
    sink(sampling::below(&mut rng, word(596)));
    sink(sampling::draw(policy, &mut rng));
    if let Some(p) = check(sampling::picks::<_, K>(policy, k, &mut rng)) {
        sink(sampling::distinct::<L>(&p));
    }
    sink(check(sampling::by_mass::<N>(policy)));
    sink((
        float::exp(f32_at(660)),
        float::ln(f32_at(664)),
        float::sqrt(f32_at(668)),
        float::abs(f32_at(672)),
    ));
}
