//! One request in, one reply out: the rerank service proper, independent of the UART.

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Error, Population, Storage,
    sampling::{by_mass, distinct, picks},
    share::shares,
    solver::{SolveOptions, optimistic_hedge},
};
use ualign_proto::{
    Calibration, ErrorCode, ErrorReply, Frame, Kind, RerankReply, RerankRequestView, Rows,
    StackUse,
    msg::{CANDIDATE, TIE_NEXT},
};

use crate::board::{self, K, M, N};
use crate::log;

/// Largest request payload: `N` candidates and `M` user types as `f32` scores.
pub const RX_CAP: usize = ualign_proto::msg::request_len(N, M, false);
/// Largest reply frame: fixed part, policy, `K` picks, `K` distinct, `N` order.
pub const TX_CAP: usize =
    ualign_proto::OVERHEAD + ualign_proto::msg::REPLY_FIXED + 4 * N + 4 * K + 2 * N;

/// The user-type storage the population is built in.
pub struct Users {
    /// One weight per user type.
    pub weights: [f32; M],
    /// `n` order entries per user type.
    pub order: [u16; M * N],
}

/// What the main loop should do after a reply.
pub enum After {
    /// Keep serving.
    Serve,
    /// The host asked to stop.
    Stop,
}

/// Handles one checked frame, writing the reply frame into `tx`; returns its length.
pub fn handle(frame: Frame<'_>, users: &mut Users, tx: &mut [u8]) -> (usize, After) {
    let result = match Kind::from_u8(frame.kind) {
        Some(Kind::Rerank) => rerank(frame.payload, users, tx),
        Some(Kind::Calibrate) => calibrate(frame.payload, tx),
        Some(Kind::Stack) if frame.payload.is_empty() => {
            let (peak, size) = crate::stack::usage();
            StackUse { peak, size }
                .encode(tx)
                .map_err(|_| ErrorReply::new(ErrorCode::Internal, 0, 0, 0))
        }
        Some(Kind::Stack) => Err(malformed()),
        Some(Kind::Shutdown) => {
            let len = ualign_proto::encode_frame(Kind::ShutdownAck as u8, &[], tx).unwrap_or(0);
            return (len, After::Stop);
        }
        _ => Err(ErrorReply::new(
            ErrorCode::UnknownKind,
            0,
            frame.kind as u32,
            0,
        )),
    };
    let len = match result {
        Ok(len) => len,
        Err(e) => {
            log::warn!(
                "request failed: code {=u8} detail {=u8} ({=u32}, {=u32})",
                e.code,
                e.detail,
                e.a,
                e.b
            );
            error_frame(e, tx)
        }
    };
    (len, After::Serve)
}

/// Writes an error frame (20 bytes, always fits `TX_CAP`).
pub fn error_frame(e: ErrorReply, tx: &mut [u8]) -> usize {
    e.encode(tx).unwrap_or(0)
}

fn calibrate(payload: &[u8], tx: &mut [u8]) -> Result<usize, ErrorReply> {
    let req = Calibration::decode(payload).map_err(|_| malformed())?;
    // The ticks of exactly `2 * iterations` instructions, `now()` overhead included.
    let t0 = board::now();
    board::spin(req.iterations);
    let ticks = board::now().saturating_sub(t0);
    Calibration {
        iterations: req.iterations,
        ticks,
    }
    .encode(Kind::CalibrateReply, tx)
    .map_err(|_| ErrorReply::new(ErrorCode::Internal, 0, 0, 0))
}

fn malformed() -> ErrorReply {
    ErrorReply::new(ErrorCode::Malformed, 0, 0, 0)
}

fn capacity(which: u8, value: usize, cap: usize) -> ErrorReply {
    ErrorReply::new(ErrorCode::Capacity, which, value as u32, cap as u32)
}

fn rerank(payload: &[u8], users: &mut Users, tx: &mut [u8]) -> Result<usize, ErrorReply> {
    let req = RerankRequestView::decode(payload).map_err(|_| malformed())?;
    let (n, m, k) = (req.n as usize, req.m(), req.k as usize);
    if n > N {
        return Err(capacity(0, n, N));
    }
    if m > M {
        return Err(capacity(1, m, M));
    }
    if k > K {
        return Err(capacity(2, k, K));
    }
    let t0 = board::now();
    let Users { weights, order } = users;
    let storage = Storage::new(&mut weights[..m], &mut order[..m * n]);
    let mut b = Population::<N>::builder(n, storage).map_err(core_error)?;
    // One row buffer for every user (each user overwrites its first `n` entries): zeroing one
    // per user was 4 KiB of stores per (16, 16, 4) request at the Cortex-M4F's capacity.
    // Scores and weights go in as the `f32`s they arrive as: no software `f64` on any core.
    let mut scores = [0.0f32; N];
    let mut ranks = [0u16; N];
    // Scores are read in order, each once (past the end, as `get` reads them, 0).
    let mut cells = match req.rows {
        Rows::Scores(s) => Some(s.iter()),
        _ => None,
    };
    for j in 0..m {
        let w = req.weights.get(j);
        match req.rows {
            Rows::Scores(_) => {
                let row = &mut scores;
                for slot in row.iter_mut().take(n) {
                    *slot = cells.as_mut().and_then(Iterator::next).unwrap_or(0.0);
                }
                b.push_scores(w, &row[..n]).map_err(core_error)?;
            }
            Rows::Rankings(r) => {
                let row = &mut ranks;
                for (p, slot) in row.iter_mut().take(n).enumerate() {
                    *slot = r.get(j * n + p);
                }
                let groups = row[..n]
                    .split_inclusive(|&e| e & TIE_NEXT == 0)
                    .map(|g| g.iter().map(|&e| (e & CANDIDATE) as usize));
                b.push_ranking(w, groups).map_err(core_error)?;
            }
            Rows::_Marker(_) => return Err(malformed()),
        }
    }
    let pop = b.finish().map_err(core_error)?;
    let opts = SolveOptions::new(req.k as u32)
        .epsilon(req.epsilon)
        .max_iter(req.max_iter);
    let mut policy = [0.0f32; N];
    let policy = &mut policy[..n];
    let sol = optimistic_hedge(&pop, &opts, policy).map_err(core_error)?;
    let seed = req.seed.unwrap_or(0);
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
    let drawn = picks::<_, K>(policy, req.k as u32, &mut rng).map_err(core_error)?;
    let shown = distinct::<K>(&drawn);
    let ranked = by_mass::<N>(policy).map_err(core_error)?;
    let ticks_solve = board::now().saturating_sub(t0);
    let mut ticks_share = 0;
    if req.measure {
        let mut g = [0.0f32; N];
        let t1 = board::now();
        shares(&pop, policy, req.k as u32, &mut g[..n]).map_err(core_error)?;
        ticks_share = board::now().saturating_sub(t1);
    }
    log::info!(
        "rerank n={=usize} m={=usize} k={=usize}: {=u32} iterations, e={=f32}, {=u64} ticks",
        n,
        m,
        k,
        sol.iterations,
        sol.certificate.exploitability,
        ticks_solve
    );
    let c = sol.certificate;
    RerankReply {
        k: req.k,
        iterations: sol.iterations,
        converged: sol.converged,
        seed,
        worst_case_win_rate: c.worst_case_win_rate,
        exploitability: c.exploitability,
        worst_opponent: c.worst_opponent as u16,
        bound: c.bound,
        ticks_solve,
        ticks_share,
        policy: &policy[..],
        picks: &drawn[..],
        distinct: &shown[..],
        order: &ranked[..],
        _marker: core::marker::PhantomData,
    }
    .encode(tx)
    .map_err(|_| ErrorReply::new(ErrorCode::Internal, 0, 0, 0))
}

/// The error number of a core error (documented in the firmware README) and its fields.
fn core_error(e: Error) -> ErrorReply {
    let (code, a, b) = match e {
        Error::NoCandidates => (1, 0, 0),
        Error::TooManyCandidates { n, max } => (2, n, max),
        Error::NoUsers => (3, 0, 0),
        Error::TooManyUsers { capacity } => (4, capacity, 0),
        Error::LengthMismatch { expected, found } => (5, expected, found),
        Error::NonFiniteScore { user, candidate } => (6, user, candidate),
        Error::NonFiniteWeight { user } => (7, user, 0),
        Error::NegativeWeight { user } => (8, user, 0),
        Error::ZeroTotalWeight => (9, 0, 0),
        Error::UnknownCandidate { user, candidate } => (10, user, candidate),
        Error::DuplicateCandidate { user, candidate } => (11, user, candidate),
        Error::InvalidK { k, .. } => (12, k as usize, 0),
        Error::InvalidPolicy => (13, 0, 0),
        Error::InvalidEpsilon => (14, 0, 0),
        _ => (255, 0, 0),
    };
    ErrorReply::new(ErrorCode::Core, code, a as u32, b as u32)
}
