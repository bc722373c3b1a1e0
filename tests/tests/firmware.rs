//! The firmware under QEMU answers exactly as the host does: same policy bits, certificate bits
//! and seeded picks (docs/maths.md §7 cases and seeded random instances); bad frames get error replies and
//! the device keeps serving; and the instruction counts quoted in firmware/README.md.
//!
//! Needs `qemu-system-arm` (skipped with a message otherwise) and the `thumbv7em-none-eabihf`
//! target. The firmware image is `$UALIGN_FIRMWARE_ELF` when set (.ci/firmware.sh sets it), else
//! this test builds it with `cargo build --release` in `firmware/` (its own target dir). The QEMU
//! link (`ualign_host::device`) needs Unix sockets, so this file is built on Unix only.
#![cfg(unix)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use rand_xoshiro::{
    Xoshiro128PlusPlus,
    rand_core::{Rng, SeedableRng},
};
use ualign::{
    Population, Storage,
    sampling::{by_mass, distinct, picks},
    solver::{Solution, SolveOptions, optimistic_hedge},
};
use ualign_host::device::{self, QemuOptions, Session};
use ualign_proto::{
    Calibration, ErrorCode, ErrorReply, Kind, Reply, RerankReplyView, RerankRequest, Rows,
    capacity::{K, M, N},
    decode_frame, encode_frame,
    msg::{CANDIDATE, TIE_NEXT},
};

const STEP: Duration = Duration::from_secs(120);

/// The firmware image, built once per test binary; `None` (with a visible message) when QEMU is
/// missing.
fn firmware() -> Option<PathBuf> {
    static ELF: OnceLock<Option<PathBuf>> = OnceLock::new();
    ELF.get_or_init(|| {
        if !device::qemu_available() {
            eprintln!(
                "SKIPPED: qemu-system-arm not found; install it (apt-get install qemu-system-arm) to run the firmware tests"
            );
            return None;
        }
        if let Some(p) = std::env::var_os("UALIGN_FIRMWARE_ELF") {
            // Relative to the workspace root, where `cargo test` is run (tests run in tests/).
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            return Some(root.join(p));
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware");
        let cargo = std::env::var_os("CARGO").unwrap_or("cargo".into());
        Some(device::build_firmware(&cargo, &dir).expect("the firmware builds"))
    })
    .clone()
}

/// One rerank request, owned.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    k: u16,
    seed: Option<u64>,
    epsilon: f32,
    max_iter: u32,
    n: u16,
    weights: Vec<f32>,
    scores: Option<Vec<f32>>,
    rankings: Option<Vec<u16>>,
}

impl Case {
    fn rankings(name: &str, k: u16, weights: &[f32], rows: &[&[u16]]) -> Case {
        Case {
            name: name.into(),
            k,
            seed: Some(7),
            epsilon: 1e-5,
            max_iter: 5000,
            n: rows[0].len() as u16,
            weights: weights.to_vec(),
            scores: None,
            rankings: Some(rows.concat()),
        }
    }

    fn encode(&self, measure: bool) -> Vec<u8> {
        let rows = match (&self.scores, &self.rankings) {
            (Some(s), _) => Rows::Scores(&s[..]),
            (_, Some(r)) => Rows::Rankings(&r[..]),
            _ => unreachable!(),
        };
        let req = RerankRequest {
            k: self.k,
            seed: self.seed,
            epsilon: self.epsilon,
            max_iter: self.max_iter,
            measure,
            n: self.n,
            weights: &self.weights[..],
            rows,
        };
        let mut out = vec![0u8; 16 * 1024];
        let len = req.encode(&mut out).expect("request fits");
        out.truncate(len);
        out
    }
}

/// What the host computes for a case, with the same core code and features as the device.
struct Expected {
    policy: Vec<f32>,
    sol: Solution,
    picks: Vec<u16>,
    distinct: Vec<u16>,
    order: Vec<u16>,
}

fn host_solve(c: &Case) -> Expected {
    let n = c.n as usize;
    let m = c.weights.len();
    let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
    let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
    for j in 0..m {
        let wj = c.weights[j] as f64;
        if let Some(s) = &c.scores {
            let row: Vec<f64> = s[j * n..(j + 1) * n].iter().map(|&x| x as f64).collect();
            b.push_scores(wj, &row).unwrap();
        } else if let Some(r) = &c.rankings {
            let row = &r[j * n..(j + 1) * n];
            let groups = row
                .split_inclusive(|&e| e & TIE_NEXT == 0)
                .map(|g| g.iter().map(|&e| (e & CANDIDATE) as usize));
            b.push_ranking(wj, groups).unwrap();
        }
    }
    let pop = b.finish().unwrap();
    let mut policy = vec![0.0f32; n];
    let opts = SolveOptions::new(c.k as u32)
        .epsilon(c.epsilon)
        .max_iter(c.max_iter);
    let sol = optimistic_hedge(&pop, &opts, &mut policy).unwrap();
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(c.seed.unwrap_or(0));
    let p = picks::<_, K>(&policy, c.k as u32, &mut rng).unwrap();
    Expected {
        distinct: distinct::<K>(&p).to_vec(),
        order: by_mass::<N>(&policy).unwrap().to_vec(),
        picks: p.to_vec(),
        policy,
        sol,
    }
}

fn bits(x: impl Iterator<Item = f32>) -> Vec<u32> {
    x.map(f32::to_bits).collect()
}

fn assert_identical(c: &Case, e: &Expected, r: &RerankReplyView<'_>) {
    let name = &c.name;
    assert_eq!(
        bits(r.policy.iter()),
        bits(e.policy.iter().copied()),
        "{name}: policy bits"
    );
    let cert = e.sol.certificate;
    assert_eq!(r.iterations, e.sol.iterations, "{name}: iterations");
    assert_eq!(r.converged, e.sol.converged, "{name}: converged");
    assert_eq!(r.k as u32, cert.k, "{name}: k");
    assert_eq!(
        r.worst_case_win_rate.to_bits(),
        cert.worst_case_win_rate.to_bits(),
        "{name}: worst-case win rate bits"
    );
    assert_eq!(
        r.exploitability.to_bits(),
        cert.exploitability.to_bits(),
        "{name}: exploitability bits"
    );
    assert_eq!(
        r.worst_opponent as usize, cert.worst_opponent,
        "{name}: worst opponent"
    );
    assert_eq!(
        r.bound.to_bits(),
        cert.bound.to_bits(),
        "{name}: bound bits"
    );
    assert_eq!(r.seed, c.seed.unwrap_or(0), "{name}: seed");
    assert_eq!(r.picks.iter().collect::<Vec<_>>(), e.picks, "{name}: picks");
    assert_eq!(
        r.distinct.iter().collect::<Vec<_>>(),
        e.distinct,
        "{name}: distinct"
    );
    assert_eq!(r.order.iter().collect::<Vec<_>>(), e.order, "{name}: order");
}

/// docs/maths.md §7, as rankings and as scores.
fn spec_cases() -> Vec<Case> {
    let mut cases = vec![
        Case::rankings(
            "unanimous top k=3",
            3,
            &[1.0, 2.0],
            &[&[2, 0, 1], &[2, 1, 0]],
        ),
        Case::rankings(
            "Condorcet cycle k=1",
            1,
            &[1.0; 3],
            &[&[0, 1, 2], &[1, 2, 0], &[2, 0, 1]],
        ),
        Case::rankings(
            "Condorcet cycle k=4",
            4,
            &[1.0; 3],
            &[&[0, 1, 2], &[1, 2, 0], &[2, 0, 1]],
        ),
        Case::rankings("60/40 k=2", 2, &[0.6, 0.4], &[&[0, 2, 1], &[1, 2, 0]]),
        Case::rankings("60/40 k=8", 8, &[0.6, 0.4], &[&[0, 2, 1], &[1, 2, 0]]),
        Case::rankings("two candidates k=3", 3, &[0.55, 0.45], &[&[0, 1], &[1, 0]]),
        Case::rankings(
            "ties k=2",
            2,
            &[1.0, 1.0],
            &[&[TIE_NEXT, 1, 2], &[2 | TIE_NEXT, 1 | TIE_NEXT, 0]],
        ),
    ];
    // The cyclic profile on 5 candidates, as scores.
    let n = 5;
    let mut s = Vec::new();
    for i in 0..n {
        for y in 0..n {
            s.push(-(((n + y - i) % n) as f32));
        }
    }
    cases.push(Case {
        name: "cyclic n=5 scores k=3".into(),
        k: 3,
        seed: None,
        epsilon: 1e-5,
        max_iter: 5000,
        n: n as u16,
        weights: vec![1.0; n],
        scores: Some(s),
        rankings: None,
    });
    cases
}

/// Seeded random instances, scores or rankings with ties, up to the device capacities.
fn random_cases(count: usize) -> Vec<Case> {
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(2026);
    let mut below = |n: u32| ((rng.next_u32() as u64 * n as u64) >> 32) as u32;
    let mut cases = Vec::new();
    for i in 0..count {
        let (n, m, k) = if i == 0 {
            (N, M, K as u16)
        } else {
            (
                2 + below(N as u32 - 1) as usize,
                1 + below(M as u32) as usize,
                1 + below(K as u32) as u16,
            )
        };
        let weights: Vec<f32> = (0..m).map(|_| 0.05 + below(1000) as f32 / 100.0).collect();
        let rankings = below(2) == 0;
        let mut case = Case {
            name: format!("random #{i} n={n} m={m} k={k}"),
            k,
            seed: Some(below(u32::MAX) as u64 * 7919 + i as u64),
            epsilon: if below(2) == 0 { 1e-3 } else { 1e-4 },
            max_iter: 400 + below(400),
            n: n as u16,
            weights,
            scores: None,
            rankings: None,
        };
        if rankings {
            let mut r = Vec::new();
            for _ in 0..m {
                let mut perm: Vec<u16> = (0..n as u16).collect();
                for a in (1..n).rev() {
                    perm.swap(a, below(a as u32 + 1) as usize);
                }
                for (p, &c) in perm.iter().enumerate() {
                    let tie = p + 1 < n && below(5) == 0;
                    r.push(c | if tie { TIE_NEXT } else { 0 });
                }
            }
            case.rankings = Some(r);
        } else {
            // Few distinct levels, so ties happen.
            case.scores = Some((0..m * n).map(|_| below(8) as f32 * 0.25 - 1.0).collect());
        }
        cases.push(case);
    }
    cases
}

fn reply_frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (f, used) = decode_frame(rest).expect("device frames are well formed");
        out.push((f.kind, f.payload.to_vec()));
        rest = &rest[used..];
    }
    out
}

fn as_rerank(kind: u8, payload: &[u8]) -> RerankReplyView<'_> {
    match Reply::decode(ualign_proto::Frame { kind, payload }) {
        Ok(Reply::Rerank(r)) => r,
        other => panic!("expected a rerank reply, got {other:?}"),
    }
}

#[test]
fn spec_and_random_cases_are_bit_identical_to_the_host() {
    let Some(elf) = firmware() else { return };
    let mut cases = spec_cases();
    cases.extend(random_cases(20));
    let request: Vec<u8> = cases.iter().flat_map(|c| c.encode(false)).collect();
    let replies = device::run_on_qemu(&elf, &request, Duration::from_secs(400)).unwrap();
    let frames = reply_frames(&replies);
    assert_eq!(frames.len(), cases.len(), "one reply per request");
    for (c, (kind, payload)) in cases.iter().zip(&frames) {
        let r = as_rerank(*kind, payload);
        let e = host_solve(c);
        assert_identical(c, &e, &r);
    }
    // And the device's answers are those of docs/maths.md §7.
    let by_name = |name: &str| {
        let i = cases.iter().position(|c| c.name == name).unwrap();
        as_rerank(frames[i].0, &frames[i].1)
    };
    let r = by_name("unanimous top k=3");
    assert!(r.policy.get(2) > 1.0 - 1e-4, "{:?}", bits(r.policy.iter()));
    assert!(r.exploitability <= 1e-5);
    assert!(r.picks.iter().all(|y| y == 2));
    let r = by_name("Condorcet cycle k=4");
    assert!(r.policy.iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-6));
    assert!(r.exploitability < 1e-6);
    let r = by_name("60/40 k=2");
    assert!(
        (r.policy.get(0) - 0.8).abs() < 1e-3,
        "{:?}",
        bits(r.policy.iter())
    );
    assert!((r.policy.get(1) - 0.2).abs() < 1e-3);
    assert!(r.policy.get(2) < 1e-3);
    assert!((r.worst_case_win_rate - 2.0 / 3.0).abs() < 1e-4);
    let r = by_name("two candidates k=3");
    assert!(r.exploitability <= 1e-5 && (r.bound - 0.75).abs() < 1e-7);
    let r = by_name("cyclic n=5 scores k=3");
    assert!(r.policy.iter().all(|p| (p - 0.2).abs() < 1e-5));
}

fn expect_error(s: &mut Session, code: ErrorCode, what: &str) -> ErrorReply {
    let frame = s.read_frame(STEP).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (f, _) = decode_frame(&frame).unwrap();
    match Reply::decode(f) {
        Ok(Reply::Error(e)) => {
            assert_eq!(e.error_code(), Some(code), "{what}: {e:?}");
            e
        }
        other => panic!("{what}: expected {code:?}, got {other:?}"),
    }
}

#[test]
fn bad_frames_get_error_replies_and_the_device_keeps_serving() {
    let Some(elf) = firmware() else { return };
    let good_case = Case::rankings("60/40 k=2", 2, &[0.6, 0.4], &[&[0, 2, 1], &[1, 2, 0]]);
    let good = good_case.encode(false);
    let mut s = Session::start(&elf, &QemuOptions::default(), STEP).unwrap();

    // Bad checksum.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    s.send(&bad).unwrap();
    expect_error(&mut s, ErrorCode::BadChecksum, "bad checksum");

    // Truncated: half a frame, then silence.
    s.send(&good[..good.len() / 2]).unwrap();
    expect_error(&mut s, ErrorCode::Truncated, "truncated");

    // Oversized: a well-formed frame longer than the device buffer is rejected and skipped.
    let mut big = vec![0u8; 20_000 + 10];
    let len = encode_frame(Kind::Rerank as u8, &vec![0x5Au8; 20_000], &mut big).unwrap();
    s.send(&big[..len]).unwrap();
    let e = expect_error(&mut s, ErrorCode::Oversized, "oversized");
    assert_eq!(e.a, 20_000);

    // Garbage with stray magic bytes: only error replies, then silence.
    let mut garbage = Vec::new();
    let mut x = 0x9E37_79B9u32;
    for i in 0..300 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        garbage.push(if i % 37 == 0 { 0xA5 } else { x as u8 });
    }
    s.send(&garbage).unwrap();
    let mut errors = 0;
    while let Ok(frame) = s.read_frame(Duration::from_secs(3)) {
        let (f, _) = decode_frame(&frame).unwrap();
        assert!(
            matches!(Reply::decode(f), Ok(Reply::Error(_))),
            "garbage got {f:?}"
        );
        errors += 1;
    }
    assert!(errors >= 1, "garbage with magic bytes got no error reply");

    // Well-framed but wrong payloads.
    let mut out = vec![0u8; 64];
    let len = encode_frame(Kind::Rerank as u8, &[1, 2, 3], &mut out).unwrap();
    s.send(&out[..len]).unwrap();
    expect_error(&mut s, ErrorCode::Malformed, "short payload");
    let len = encode_frame(Kind::Stack as u8, &[7], &mut out).unwrap();
    s.send(&out[..len]).unwrap();
    expect_error(&mut s, ErrorCode::Malformed, "stack request with a payload");
    let len = encode_frame(0x42, &[], &mut out).unwrap();
    s.send(&out[..len]).unwrap();
    let e = expect_error(&mut s, ErrorCode::UnknownKind, "unknown kind");
    assert_eq!(e.a, 0x42);
    let over = N + 8;
    let mut too_many = good_case.clone();
    too_many.n = over as u16;
    too_many.rankings = Some((0..2 * over).map(|i| (i % over) as u16).collect());
    s.send(&too_many.encode(false)).unwrap();
    let e = expect_error(&mut s, ErrorCode::Capacity, "n over capacity");
    assert_eq!((e.detail, e.a, e.b), (0, over as u32, N as u32));
    let mut big_k = good_case.clone();
    big_k.k = K as u16 + 1;
    s.send(&big_k.encode(false)).unwrap();
    expect_error(&mut s, ErrorCode::Capacity, "k over capacity");
    let mut nan = good_case.clone();
    nan.rankings = None;
    nan.scores = Some(vec![1.0, f32::NAN, 0.0, 0.0, 1.0, 2.0]);
    s.send(&nan.encode(false)).unwrap();
    let e = expect_error(&mut s, ErrorCode::Core, "NaN score");
    assert_eq!((e.detail, e.a, e.b), (6, 0, 1));
    let mut dup = good_case.clone();
    dup.rankings = Some(vec![0, 0, 1, 1, 2, 0]);
    s.send(&dup.encode(false)).unwrap();
    expect_error(&mut s, ErrorCode::Core, "duplicate candidate");

    // And then a good request gets the right answer.
    s.send(&good).unwrap();
    let frame = s.read_frame(STEP).unwrap();
    let (f, _) = decode_frame(&frame).unwrap();
    let r = as_rerank(f.kind, f.payload);
    assert_identical(&good_case, &host_solve(&good_case), &r);
    assert!(s.shutdown(STEP).unwrap().is_empty());
}

/// Instructions per rerank and per share evaluation, measured on the device with SysTick while
/// QEMU counts instructions (`-icount shift=0`). Prints the table quoted in firmware/README.md.
#[test]
fn instruction_counts() {
    let Some(elf) = firmware() else { return };
    let opts = QemuOptions {
        icount: true,
        ..Default::default()
    };
    let mut s = Session::start(&elf, &opts, STEP).unwrap();
    let mut out = vec![0u8; 64];
    let iterations = 5_000_000;
    let len = Calibration {
        iterations,
        ticks: 0,
    }
    .encode(Kind::Calibrate, &mut out)
    .unwrap();
    s.send(&out[..len]).unwrap();
    let frame = s.read_frame(STEP).unwrap();
    let Ok(Reply::Calibration(c)) = Reply::decode(decode_frame(&frame).unwrap().0) else {
        panic!("calibration reply expected")
    };
    let per_tick = 2.0 * iterations as f64 / c.ticks as f64;
    println!(
        "calibration: {} instructions in {} ticks = {per_tick:.3} instructions per tick",
        2 * iterations,
        c.ticks
    );
    assert!(
        (per_tick - 40.0).abs() < 0.1,
        "one SysTick tick should be 40 instructions, got {per_tick}"
    );

    let mut rng = Xoshiro128PlusPlus::seed_from_u64(4);
    println!(
        "| n | m | k | epsilon | iterations | e reached | instructions per rerank | instructions per share evaluation | per rerank / iterations |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (n, m, k) in [(8usize, 8usize, 2u16), (16, 16, 4), (32, 64, 8)] {
        let case = Case {
            name: format!("bench {n} {m} {k}"),
            k,
            seed: Some(1),
            epsilon: 1e-3,
            max_iter: 10_000,
            n: n as u16,
            weights: vec![1.0; m],
            scores: Some((0..n * m).map(|_| (rng.next_u32() >> 8) as f32).collect()),
            rankings: None,
        };
        s.send(&case.encode(true)).unwrap();
        let frame = s.read_frame(STEP).unwrap();
        let (f, _) = decode_frame(&frame).unwrap();
        let r = as_rerank(f.kind, f.payload);
        assert_identical(&case, &host_solve(&case), &r);
        let rerank = r.ticks_solve * 40;
        let share = r.ticks_share * 40;
        println!(
            "| {n} | {m} | {k} | 1e-3 | {} | {:.2e} | {rerank} | {share} | {} |",
            r.iterations,
            r.exploitability,
            rerank / r.iterations as u64
        );
    }
    s.shutdown(STEP).unwrap();
}

/// The stack's high-water mark after reranks that run every solver path (the Newton polish with
/// its Jacobian, ties, the capacity of `N` candidates, `M` users and `k = K`): the firmware paints
/// its free stack at boot and reports the deepest word overwritten. Printed for
/// firmware/README.md; it must leave at least 4 KiB of the RAM between the static data and the
/// stack's top unused.
#[test]
fn stack_peak_within_the_ram_budget() {
    let Some(elf) = firmware() else { return };
    let mut s = Session::start(&elf, &QemuOptions::default(), STEP).unwrap();
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(9);
    let sizes = [
        (8usize, 8usize, 2u16),
        (16, 16, 4),
        (N, M, 8),
        (N, M, K as u16),
        (N, M, 1),
    ];
    for (i, (n, m, k)) in sizes.into_iter().enumerate() {
        // Scores with few levels every other case, so ties and the general paths run too.
        let levels = if i % 2 == 0 { 1 << 24 } else { 4 };
        let case = Case {
            name: format!("stack {n} {m} {k}"),
            k,
            seed: Some(3),
            epsilon: 1e-6,
            max_iter: 2_000,
            n: n as u16,
            weights: (0..m).map(|j| 1.0 + (j % 3) as f32).collect(),
            scores: Some(
                (0..n * m)
                    .map(|_| (rng.next_u32() % levels) as f32)
                    .collect(),
            ),
            rankings: None,
        };
        s.send(&case.encode(false)).unwrap();
        let frame = s.read_frame(STEP).unwrap();
        let (f, _) = decode_frame(&frame).unwrap();
        let r = as_rerank(f.kind, f.payload);
        assert_identical(&case, &host_solve(&case), &r);
    }
    let mut out = [0u8; 16];
    let len = encode_frame(Kind::Stack as u8, &[], &mut out).unwrap();
    s.send(&out[..len]).unwrap();
    let frame = s.read_frame(STEP).unwrap();
    let Ok(Reply::Stack(st)) = Reply::decode(decode_frame(&frame).unwrap().0) else {
        panic!("stack reply expected")
    };
    println!(
        "stack: peak {} B of {} B between the static data and the top of RAM",
        st.peak, st.size
    );
    assert!(
        st.peak > 1024,
        "the painting must have been overwritten by the reranks: {st:?}"
    );
    assert!(
        st.peak + 4096 <= st.size,
        "less than 4 KiB of stack left: {st:?}"
    );
    s.shutdown(STEP).unwrap();
}
