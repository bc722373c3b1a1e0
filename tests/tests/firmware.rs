//! The firmware under QEMU answers exactly as the host does, on every core of
//! `ualign_proto::capacity::CORES` (Cortex-M0, M3, M4F, M7, M33, RV32IMAC, RV32IMAFC): same
//! policy bits, certificate bits and seeded picks (docs/maths.md §7 cases and seeded random
//! instances within each core's capacities); bad frames get error replies and the device keeps
//! serving; the stack stays within each core's RAM budget; the Cortex-M0's soft-float assembly
//! gives `ualign-softfloat`'s bits on the core; and the per-core table of instruction counts,
//! sizes and stack peaks quoted in firmware/README.md.
//!
//! Needs `qemu-system-arm` and `qemu-system-riscv32` (a core whose QEMU is missing is skipped
//! with a message) and the Rust targets of the cores. Each core's image is built by this test
//! with `ualign_host::device::build_firmware` (cargo rebuilds only what changed), one build at a
//! time. `UALIGN_CORES=m0,m4f` restricts the run to those cores. The QEMU link
//! (`ualign_host::device`) needs Unix sockets, so this file is built on Unix only.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
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
    capacity::{CORES, Capacity, Core, K, M4F, N},
    decode_frame, encode_frame,
    msg::{CANDIDATE, TIE_NEXT},
};

const STEP: Duration = Duration::from_secs(120);

/// The cores to test: every core, or those `$UALIGN_CORES` names (comma-separated).
fn cores() -> Vec<&'static Core> {
    match std::env::var("UALIGN_CORES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|name| {
                ualign_proto::capacity::core(name.trim())
                    .unwrap_or_else(|| panic!("UALIGN_CORES names no core {name:?}"))
            })
            .collect(),
        _ => CORES.iter().collect(),
    }
}

/// The firmware image of `core`, built once per test binary (one build at a time); `None` (with
/// a visible message) when its QEMU is missing.
fn firmware(core: &'static Core) -> Option<PathBuf> {
    static ELFS: OnceLock<Mutex<BTreeMap<&'static str, Option<PathBuf>>>> = OnceLock::new();
    let mut elfs = ELFS
        .get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    elfs.entry(core.name)
        .or_insert_with(|| {
            if !device::qemu_available(core) {
                eprintln!(
                    "SKIPPED {}: {} not found; install it (apt-get install qemu-system-arm \
                     qemu-system-misc) to run the firmware tests",
                    core.name, core.qemu
                );
                return None;
            }
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware");
            let cargo = std::env::var_os("CARGO").unwrap_or("cargo".into());
            Some(
                device::build_firmware(&cargo, &dir, core)
                    .unwrap_or_else(|e| panic!("the {} firmware builds: {e}", core.name)),
            )
        })
        .clone()
}

/// The Cortex-M0's soft-float assembly (firmware/src/softfloat_m0.s, with its fallbacks) gives
/// `ualign-softfloat`'s bits, which that crate's tests check against the host's hardware: the
/// image built with the feature `softfloat-check` compares the two on the core under QEMU (about
/// 3.7 million operand pairs, see firmware/src/softfloat_check.rs) and exits with the verdict.
/// The same image checks the Cortex-M0's memory routines (firmware/src/mem_m0.s) against byte
/// loops at every alignment and length up to 64.
#[test]
fn cortex_m0_soft_float_gives_the_reference_bits() {
    let Some(core) = cores().into_iter().find(|c| c.name == "m0") else {
        return;
    };
    if !device::qemu_available(core) {
        eprintln!(
            "SKIPPED the Cortex-M0 soft-float check: {} not found",
            core.qemu
        );
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware");
    let cargo = std::env::var_os("CARGO").unwrap_or("cargo".into());
    let elf = device::build_firmware_feature(&cargo, &dir, core, "softfloat-check")
        .unwrap_or_else(|e| panic!("the softfloat-check image builds: {e}"));
    // The UART is unused; the check prints over semihosting, on QEMU's standard output.
    let (qemu, qargs) = device::qemu_command(core, &elf, "null", false);
    let out = std::process::Command::new("timeout")
        .arg("300")
        .arg(qemu)
        .args(&qargs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    assert!(
        out.status.success() && text.contains("pairs") && text.contains("byte loops"),
        "the Cortex-M0's soft-float or memory routines differ from the reference: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// Seeded random instances, scores or rankings with ties, up to the capacity `cap` (the first
/// one at it).
fn random_cases(count: usize, cap: Capacity) -> Vec<Case> {
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(2026);
    let mut below = |n: u32| ((rng.next_u32() as u64 * n as u64) >> 32) as u32;
    let mut cases = Vec::new();
    for i in 0..count {
        let (n, m, k) = if i == 0 {
            (cap.n, cap.m, cap.k as u16)
        } else {
            (
                2 + below(cap.n as u32 - 1) as usize,
                1 + below(cap.m as u32) as usize,
                1 + below(cap.k as u32) as u16,
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

/// The §7 cases and 20 seeded random instances within `core`'s capacities, named for the core.
fn cases_for(core: &Core) -> Vec<Case> {
    let mut cases = spec_cases();
    cases.extend(random_cases(20, core.capacity));
    for c in &mut cases {
        c.name = format!("{}: {}", core.name, c.name);
    }
    cases
}

#[test]
fn spec_and_random_cases_are_bit_identical_to_the_host() {
    for core in cores() {
        let Some(elf) = firmware(core) else { continue };
        let cases = cases_for(core);
        let request: Vec<u8> = cases.iter().flat_map(|c| c.encode(false)).collect();
        let replies = device::run_on_qemu(
            &elf,
            &QemuOptions::new(core),
            &request,
            Duration::from_secs(400),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", core.name));
        let frames = reply_frames(&replies);
        assert_eq!(
            frames.len(),
            cases.len(),
            "{}: one reply per request",
            core.name
        );
        for (c, (kind, payload)) in cases.iter().zip(&frames) {
            let r = as_rerank(*kind, payload);
            let e = host_solve(c);
            assert_identical(c, &e, &r);
        }
        // And the device's answers are those of docs/maths.md §7.
        let by_name = |name: &str| {
            let name = format!("{}: {name}", core.name);
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
    for core in cores() {
        if let Some(elf) = firmware(core) {
            bad_frames(core, &elf);
        }
    }
}

fn bad_frames(core: &'static Core, elf: &std::path::Path) {
    let (cap_n, cap_k) = (core.capacity.n, core.capacity.k);
    let good_case = Case::rankings("60/40 k=2", 2, &[0.6, 0.4], &[&[0, 2, 1], &[1, 2, 0]]);
    let good = good_case.encode(false);
    let mut s = Session::start(elf, &QemuOptions::new(core), STEP).unwrap();

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
    // The first reply may be the truncation of a frame whose header checked by chance, 2 s of
    // quiet after the garbage: wait longer for it on a loaded host, then 3 s for each further one.
    let mut errors = 0;
    while let Ok(frame) = s.read_frame(Duration::from_secs(if errors == 0 { 15 } else { 3 })) {
        let (f, _) = decode_frame(&frame).unwrap();
        assert!(
            matches!(Reply::decode(f), Ok(Reply::Error(_))),
            "garbage got {f:?}"
        );
        errors += 1;
    }
    assert!(
        errors >= 1,
        "{}: garbage with magic bytes got no error reply",
        core.name
    );

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
    let over = cap_n + 8;
    let mut too_many = good_case.clone();
    too_many.n = over as u16;
    too_many.rankings = Some((0..2 * over).map(|i| (i % over) as u16).collect());
    s.send(&too_many.encode(false)).unwrap();
    let e = expect_error(&mut s, ErrorCode::Capacity, "n over capacity");
    assert_eq!((e.detail, e.a, e.b), (0, over as u32, cap_n as u32));
    let mut big_k = good_case.clone();
    big_k.k = cap_k as u16 + 1;
    s.send(&big_k.encode(false)).unwrap();
    let e = expect_error(&mut s, ErrorCode::Capacity, "k over capacity");
    assert_eq!((e.detail, e.a, e.b), (2, cap_k as u32 + 1, cap_k as u32));
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

/// The sizes of the instruction-count table: `(n, m, k)`.
const SIZES: [(usize, usize, u16); 3] = [(8, 8, 2), (16, 16, 4), (32, 64, 8)];

fn fits(cap: Capacity, (n, m, k): (usize, usize, u16)) -> bool {
    n <= cap.n && m <= cap.m && k as usize <= cap.k
}

/// What one rerank of the table measured.
struct Rerank {
    iterations: u32,
    exploitability: f32,
    instructions: u64,
    share: u64,
}

/// One core's column of the table.
struct Measured {
    core: &'static Core,
    reranks: Vec<Option<Rerank>>,
    flash: u64,
    static_ram: u64,
    stack_peak: u32,
}

/// Ticks of `core`'s counter as instructions under `-icount shift=0` (rounded).
fn instructions(core: &Core, ticks: u64) -> u64 {
    let (num, den) = core.instructions_per_tick();
    ((ticks as u128 * num as u128 + den as u128 / 2) / den as u128) as u64
}

/// `(flash, static RAM)` of an ELF image: the allocated sections that are loaded from flash
/// (code, read-only data, the vector table and `.data`'s initial values) and the writable ones
/// in RAM (`.data`, `.bss`, `.uninit`), without riscv-rt's `.stack` and `.heap` regions.
fn elf_sizes(path: &std::path::Path) -> (u64, u64) {
    let b = std::fs::read(path).expect("the ELF is readable");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
    assert_eq!(&b[..5], b"\x7fELF\x01", "a 32-bit ELF");
    let (shoff, shentsize, shnum, shstrndx) =
        (u32_at(0x20), u16_at(0x2E), u16_at(0x30), u16_at(0x32));
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u32_at(header(shstrndx) + 0x10);
    let name = |h: usize| {
        let start = strtab + u32_at(h);
        let end = start + b[start..].iter().position(|&c| c == 0).unwrap_or(0);
        String::from_utf8_lossy(&b[start..end]).into_owned()
    };
    const SHT_NOBITS: usize = 8;
    const SHF_WRITE: usize = 1;
    const SHF_ALLOC: usize = 2;
    let (mut flash, mut ram) = (0u64, 0u64);
    for i in 0..shnum {
        let h = header(i);
        let (kind, flags, size) = (u32_at(h + 4), u32_at(h + 8), u32_at(h + 0x14) as u64);
        let n = name(h);
        if flags & SHF_ALLOC == 0 || n == ".stack" || n == ".heap" {
            continue;
        }
        if kind != SHT_NOBITS {
            flash += size;
        }
        if flags & SHF_WRITE != 0 {
            ram += size;
        }
    }
    (flash, ram)
}

/// The reranks that drive the stack deepest within `cap`: every solver path (the Newton polish
/// with its Jacobian, ties, the capacity's `n` candidates, `m` users and `k`, and `k = 1`).
fn stack_cases(cap: Capacity) -> Vec<Case> {
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(9);
    let sizes = [
        (8usize, 8usize, 2u16),
        (16, 16, 4),
        (cap.n, cap.m, 8.min(cap.k as u16)),
        (cap.n, cap.m, cap.k as u16),
        (cap.n, cap.m, 1),
    ];
    let mut cases = Vec::new();
    for (i, (n, m, k)) in sizes.into_iter().enumerate() {
        // Scores with few levels every other case, so ties and the general paths run too.
        let levels = if i % 2 == 0 { 1 << 24 } else { 4 };
        cases.push(Case {
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
        });
    }
    cases
}

/// Sends each case, checks each reply against the host, then asks for the stack's peak.
fn stack_use(s: &mut Session, cases: &[Case]) -> ualign_proto::StackUse {
    for case in cases {
        s.send(&case.encode(false)).unwrap();
        let frame = s.read_frame(STEP).unwrap();
        let (f, _) = decode_frame(&frame).unwrap();
        let r = as_rerank(f.kind, f.payload);
        assert_identical(case, &host_solve(case), &r);
    }
    let mut out = [0u8; 16];
    let len = encode_frame(Kind::Stack as u8, &[], &mut out).unwrap();
    s.send(&out[..len]).unwrap();
    let frame = s.read_frame(STEP).unwrap();
    let Ok(Reply::Stack(st)) = Reply::decode(decode_frame(&frame).unwrap().0) else {
        panic!("stack reply expected")
    };
    st
}

/// Calibrates `core`'s tick counter against QEMU's instruction count, runs the table's reranks
/// (those within its capacity) and the stack cases, and reads its image's sizes.
fn measure(core: &'static Core, elf: &std::path::Path) -> Measured {
    let opts = QemuOptions {
        icount: true,
        ..QemuOptions::new(core)
    };
    let mut s = Session::start(elf, &opts, STEP).unwrap();
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
    let expected = 1e9 / core.tick_hz as f64;
    println!(
        "{}: calibration: {} instructions in {} ticks = {per_tick:.3} instructions per tick",
        core.name,
        2 * iterations,
        c.ticks
    );
    assert!(
        (per_tick / expected - 1.0).abs() < 0.0025,
        "{}: one tick should be {expected} instructions, got {per_tick}",
        core.name
    );
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(4);
    let mut reranks = Vec::new();
    for (n, m, k) in SIZES {
        let case = Case {
            name: format!("{}: bench {n} {m} {k}", core.name),
            k,
            seed: Some(1),
            epsilon: 1e-3,
            max_iter: 10_000,
            n: n as u16,
            weights: vec![1.0; m],
            scores: Some((0..n * m).map(|_| (rng.next_u32() >> 8) as f32).collect()),
            rankings: None,
        };
        if !fits(core.capacity, (n, m, k)) {
            reranks.push(None);
            continue;
        }
        s.send(&case.encode(true)).unwrap();
        let frame = s.read_frame(STEP).unwrap();
        let (f, _) = decode_frame(&frame).unwrap();
        let r = as_rerank(f.kind, f.payload);
        assert_identical(&case, &host_solve(&case), &r);
        reranks.push(Some(Rerank {
            iterations: r.iterations,
            exploitability: r.exploitability,
            instructions: instructions(core, r.ticks_solve),
            share: instructions(core, r.ticks_share),
        }));
    }
    let st = stack_use(&mut s, &stack_cases(core.capacity));
    s.shutdown(STEP).unwrap();
    let (flash, static_ram) = elf_sizes(elf);
    Measured {
        core,
        reranks,
        flash,
        static_ram,
        stack_peak: st.peak,
    }
}

/// Digits grouped by thousands, as the README writes them.
fn grouped(x: u64) -> String {
    let digits = x.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Instructions per rerank and per share evaluation on every core, measured on the device with
/// its tick counter while QEMU counts instructions (`-icount shift=0`), with each image's flash,
/// static RAM and stack peak, and the geometric mean of each core's instruction counts relative
/// to the Cortex-M4F's (Embench-style). Prints the table quoted in firmware/README.md.
#[test]
fn instruction_counts() {
    let measured: Vec<Measured> = cores()
        .into_iter()
        .filter_map(|core| firmware(core).map(|elf| measure(core, &elf)))
        .collect();
    if measured.is_empty() {
        return;
    }
    let mut table = String::from("| |");
    for m in &measured {
        table.push_str(&format!(" {} |", m.core.name));
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(measured.len()));
    table.push('\n');
    let mut row = |label: String, cell: &dyn Fn(&Measured) -> String| {
        table.push_str(&format!("| {label} |"));
        for m in &measured {
            table.push_str(&format!(" {} |", cell(m)));
        }
        table.push('\n');
    };
    let na = || "–".to_string();
    for (i, (n, m, k)) in SIZES.into_iter().enumerate() {
        row(format!("instructions per rerank ({n}, {m}, {k})"), &|x| {
            x.reranks[i]
                .as_ref()
                .map_or_else(na, |r| grouped(r.instructions))
        });
    }
    for (i, (n, m, k)) in SIZES.into_iter().enumerate() {
        row(
            format!("instructions per share evaluation ({n}, {m}, {k})"),
            &|x| x.reranks[i].as_ref().map_or_else(na, |r| grouped(r.share)),
        );
    }
    row("share evaluations per rerank".into(), &|x| {
        x.reranks
            .iter()
            .map(|r| r.as_ref().map_or_else(na, |r| r.iterations.to_string()))
            .collect::<Vec<_>>()
            .join(" / ")
    });
    row("exploitability reached".into(), &|x| {
        x.reranks
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or_else(na, |r| format!("{:.1e}", r.exploitability))
            })
            .collect::<Vec<_>>()
            .join(" / ")
    });
    row("flash (B)".into(), &|x| grouped(x.flash));
    row("static RAM (B)".into(), &|x| grouped(x.static_ram));
    row("stack peak (B)".into(), &|x| grouped(x.stack_peak as u64));
    if let Some(base) = measured.iter().find(|m| m.core.name == M4F.name) {
        let counts = |m: &Measured| -> Vec<Option<u64>> {
            m.reranks
                .iter()
                .flat_map(|r| {
                    [
                        r.as_ref().map(|r| r.instructions),
                        r.as_ref().map(|r| r.share),
                    ]
                })
                .collect()
        };
        let base_counts = counts(base);
        row(
            "geometric mean, instructions relative to m4f".into(),
            &|x| {
                let logs: Vec<f64> = counts(x)
                    .iter()
                    .zip(&base_counts)
                    .filter_map(|(a, b)| Some((a.as_ref()?, b.as_ref()?)))
                    .map(|(&a, &b)| (a as f64 / b as f64).ln())
                    .collect();
                format!(
                    "{:.2}",
                    (logs.iter().sum::<f64>() / logs.len() as f64).exp()
                )
            },
        );
    }
    println!("{table}");
    // The Cortex-M4F's goal (firmware/README.md): (16, 16, 4) in at most 500,000 instructions.
    for m in measured.iter().filter(|m| m.core.name == M4F.name) {
        if let Some(Some(r)) = m.reranks.get(1) {
            assert!(
                r.instructions <= 500_000,
                "m4f (16, 16, 4): {} instructions",
                r.instructions
            );
        }
    }
}

/// The stack's high-water mark on every core after reranks that run every solver path (the
/// Newton polish with its Jacobian, ties, the core's capacity and `k = 1`): the firmware paints
/// its free stack at boot and reports the deepest word overwritten. It must leave unused at least
/// 4 KiB of the RAM between the static data and the stack's top on a core with the full profile,
/// 1 KiB on the Cortex-M0's 16 KiB (the small profile).
#[test]
fn stack_peak_within_the_ram_budget() {
    for core in cores() {
        let Some(elf) = firmware(core) else { continue };
        let mut s = Session::start(&elf, &QemuOptions::new(core), STEP).unwrap();
        let st = stack_use(&mut s, &stack_cases(core.capacity));
        println!(
            "{}: stack: peak {} B of {} B between the static data and the top of RAM",
            core.name, st.peak, st.size
        );
        assert!(
            st.peak > 1024,
            "{}: the painting must have been overwritten by the reranks: {st:?}",
            core.name
        );
        let headroom = if core.capacity == ualign_proto::capacity::SMALL {
            1024
        } else {
            4096
        };
        assert!(
            st.peak + headroom <= st.size,
            "{}: less than {headroom} B of stack left: {st:?}",
            core.name
        );
        s.shutdown(STEP).unwrap();
    }
}
