//! `ualign device --qemu [--core NAME]`: the same solve, computed by the firmware under QEMU on
//! one of the cores of `ualign_proto::capacity::CORES` (the Cortex-M4F unless told otherwise).
//!
//! Every user type is sent as the order the host's core population computed (candidates best
//! first, tie flags included) with the weight the host pushed, so the device builds exactly the
//! host's population and its reply is bit-identical to `solve --reference`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use ualign::Certificate;
use ualign_proto::msg::RerankReplyView;
use ualign_proto::{Reply, RerankRequest, Rows, capacity, decode_frame};

use super::DeviceArgs;
use crate::analysis::{CertJson, certify_policy, check_settings, seeded_picks};
use crate::decimal::Masses;
use crate::device::{QemuOptions, check_image, elf_path, run_on_qemu};
use crate::error::{Error, Result};
use crate::instance::{Pop, Store};

/// Runs `device`.
pub fn run(a: &DeviceArgs) -> Result<String> {
    if !a.qemu {
        return Err(Error::usage(
            "device: give --qemu (QEMU is the only transport so far)",
        ));
    }
    let Some(core) = capacity::core(&a.core) else {
        let names: Vec<&str> = capacity::CORES.iter().map(|c| c.name).collect();
        return Err(Error::usage(format!(
            "--core {}: no such core (one of {})",
            a.core,
            names.join(", ")
        )));
    };
    let (cap_n, cap_m, cap_k) = (core.capacity.n, core.capacity.m, core.capacity.k);
    if a.picks.k == 0 || a.picks.k as usize > cap_k {
        return Err(Error::usage(format!(
            "--k {}: the {} firmware shows 1..={cap_k} responses",
            a.picks.k, core.name
        )));
    }
    check_settings(&a.stop.reference(a.picks.k))?;
    let inst = a.picks.input.load()?;
    let (n, m) = (inst.n(), inst.m());
    if n > cap_n || m > cap_m {
        return Err(Error::in_file(
            &inst.source,
            format!(
                "{n} candidates and {m} user types exceed the {} firmware's {cap_n} and {cap_m}",
                core.name
            ),
        ));
    }
    // The request carries the file's user types; the host's population holds a count of 2^22
    // or more as several (to keep it exact), which the device's would not.
    if inst.population_rows().any(|parts| parts > 1) {
        return Err(Error::in_file(
            &inst.source,
            "counts of 2^22 or more: the host keeps them exact as several user types each, \
             which a request to the device does not carry; scale the weights down",
        ));
    }
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    // The weights exactly as the host pushes them (as given, rounded to f32), so both sides
    // normalise the same f32 values and keep the same counts.
    let mut weights = Vec::with_capacity(m);
    let mut rows = Vec::with_capacity(n * m);
    for (j, user) in inst.users.iter().enumerate() {
        weights.push(user.weight as f32);
        let order = pop
            .order(j)
            .ok_or_else(|| Error::internal("population lost a user type"))?;
        for (c, tie) in order {
            rows.push(c as u16 | if tie { ualign_proto::msg::TIE_NEXT } else { 0 });
        }
    }
    let request = RerankRequest {
        k: a.picks.k as u16,
        seed: Some(a.picks.seed),
        epsilon: a.stop.eps,
        max_iter: a.stop.max_iter,
        measure: false,
        n: n as u16,
        weights: &weights[..],
        rows: Rows::Rankings(&rows[..]),
    };
    let mut frame = vec![0u8; 64 * 1024];
    let len = request
        .encode(&mut frame)
        .map_err(|e| Error::internal(format!("encoding the request: {e:?}")))?;
    frame.truncate(len);
    let elf = a.elf.clone().unwrap_or_else(|| default_elf(core));
    if !elf.is_file() {
        return Err(Error::usage(format!(
            "--elf {}: no firmware there; `ualign cores` prints the command that builds the {} \
             image in firmware/",
            elf.display(),
            core.name
        )));
    }
    check_image(&elf, core).map_err(|e| Error::in_file(&elf.display().to_string(), e))?;
    let opts = QemuOptions::new(core);
    let bytes =
        run_on_qemu(&elf, &opts, &frame, Duration::from_secs(120)).map_err(Error::internal)?;
    let image = elf.display().to_string();
    let refuse = |m: String| Error::in_file(&image, format!("the firmware's reply {m}"));
    if bytes.is_empty() {
        return Err(refuse("is missing: it sent nothing".into()));
    }
    let (first, used) =
        decode_frame(&bytes).map_err(|e| Error::internal(format!("device reply: {e:?}")))?;
    if used != bytes.len() {
        return Err(refuse(format!(
            "is followed by {} more bytes, which the protocol does not send",
            bytes.len() - used
        )));
    }
    match Reply::decode(first) {
        Ok(Reply::Rerank(r)) => {
            let request = (a.picks.k, a.picks.seed, a.stop.eps);
            let checked = check_reply(&r, &pop, request).map_err(refuse)?;
            let names = |ys: &[u16]| -> Vec<String> {
                ys.iter().map(|&y| inst.name(usize::from(y))).collect()
            };
            super::to_json(&DeviceReport {
                k: a.picks.k,
                n,
                m,
                candidates: &inst.candidates,
                policy: Masses(checked.policy),
                iterations: r.iterations,
                method: "optimistic",
                converged: r.converged,
                deployed: "policy",
                certificate: CertJson::new(&checked.certificate, &inst),
                device: DeviceFields {
                    core: core.name,
                    target: format!("qemu {} ({})", core.machine, core.cpu_name),
                    seed: r.seed,
                    picks: names(&checked.picks),
                    distinct: names(&checked.distinct),
                    ticks_solve: r.ticks_solve,
                },
            })
        }
        Ok(Reply::Error(e)) => Err(Error::in_file(
            &inst.source,
            format!(
                "the device refused the request: error code {} (detail {}, {}, {})",
                e.code, e.detail, e.a, e.b
            ),
        )),
        Ok(_) => Err(Error::internal("the device sent an unexpected reply kind")),
        Err(e) => Err(Error::internal(format!("device reply: {e:?}"))),
    }
}

/// What `device` prints: the keys of `solve --reference`'s report, in its order, and the
/// device's own.
#[derive(Serialize)]
struct DeviceReport<'a> {
    k: u32,
    n: usize,
    m: usize,
    candidates: &'a [String],
    policy: Masses,
    iterations: u32,
    method: &'static str,
    converged: bool,
    deployed: &'static str,
    certificate: CertJson,
    device: DeviceFields,
}

#[derive(Serialize)]
struct DeviceFields {
    core: &'static str,
    target: String,
    seed: u64,
    picks: Vec<String>,
    distinct: Vec<String>,
    ticks_solve: u64,
}

/// A reply that checks: its policy, the host's certificate of it, and its picks.
#[derive(Debug)]
struct Checked {
    policy: Vec<f32>,
    certificate: Certificate,
    picks: Vec<u16>,
    distinct: Vec<u16>,
}

/// Checks the device's reply to a request of `(k, seed, eps)` on `pop` against the host's own
/// computation from it: a policy over `pop`'s candidates, the host's certificate of that policy
/// bit for bit, `converged` as that certificate says, and the picks the host draws from that
/// policy with that seed. A firmware image that is not this build's (`check_image` reads only
/// its ELF header), or a faulty device, fails here rather than printing its figures as a
/// certificate. The error says what differs.
fn check_reply(
    r: &RerankReplyView<'_>,
    pop: &Pop<'_>,
    (k, seed, eps): (u32, u64, f32),
) -> std::result::Result<Checked, String> {
    if u32::from(r.k) != k || r.seed != seed {
        return Err(format!(
            "is for k = {} and seed {}, not the request's {k} and {seed}",
            r.k, r.seed
        ));
    }
    let policy: Vec<f32> = r.policy.iter().collect();
    // `certify_policy` checks the policy first (`check_policy_input`): its refusals are of a
    // policy that is not one.
    let certificate = certify_policy(pop, &policy, k)
        .map_err(|e| format!("has a policy that is not one: {}", e.message()))?;
    let bits = |c: &Certificate| {
        (
            c.worst_case_win_rate.to_bits(),
            c.exploitability.to_bits(),
            c.worst_opponent,
            c.bound.to_bits(),
        )
    };
    let sent = Certificate::new(k)
        .worst_case_win_rate(r.worst_case_win_rate)
        .exploitability(r.exploitability)
        .worst_opponent(usize::from(r.worst_opponent))
        .bound(r.bound);
    if bits(&sent) != bits(&certificate) {
        return Err(format!(
            "certifies its policy as {sent:?}, where the host certifies it as {certificate:?}"
        ));
    }
    if r.converged != (certificate.exploitability <= eps) {
        return Err(format!(
            "says converged = {} for an exploitability of {} at --eps {eps}",
            r.converged, certificate.exploitability
        ));
    }
    let (picks, distinct) = seeded_picks(&policy, k, seed)
        .map_err(|e| format!("has a policy the host cannot draw from: {e}"))?;
    let (sent_picks, sent_distinct): (Vec<u16>, Vec<u16>) =
        (r.picks.iter().collect(), r.distinct.iter().collect());
    if sent_picks != picks || sent_distinct != distinct {
        return Err(format!(
            "draws {sent_picks:?} (distinct {sent_distinct:?}) with seed {seed}, where the host \
             draws {picks:?} (distinct {distinct:?}) from its policy"
        ));
    }
    Ok(Checked {
        policy,
        certificate,
        picks,
        distinct,
    })
}

/// `$UALIGN_FIRMWARE_ELF`, else the core's release build in the workspace's firmware/ folder.
fn default_elf(core: &capacity::Core) -> PathBuf {
    if let Some(p) = std::env::var_os("UALIGN_FIRMWARE_ELF") {
        return PathBuf::from(p);
    }
    elf_path(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware"),
        core,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
    use ualign::sampling::{distinct, picks};
    use ualign::{Population, Storage};
    use ualign_proto::RerankReply;

    /// The reply of a device that computed what the host computes, with `tamper` applied, run
    /// through the frame encoding and decoding, then checked.
    fn check(tamper: impl Fn(&mut RerankReply<'_>)) -> std::result::Result<Checked, String> {
        // docs/maths.md §7.3 with counts 3 and 2.
        let (mut w, mut o) = ([0.0f32; 2], [0u16; 6]);
        let mut b = Population::builder(3, Storage::new(&mut w, &mut o)).expect("builder");
        b.push_ranking(3.0, [[0usize], [2], [1]]).expect("push");
        b.push_ranking(2.0, [[1usize], [2], [0]]).expect("push");
        let pop: Pop<'_> = b.finish().expect("population");
        let (k, seed, eps) = (2u32, 7u64, 1e-4f32);
        let policy = [0.75f32, 0.25, 0.0];
        let c = certify_policy(&pop, &policy, k).expect("certificate");
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
        let drawn = picks::<_, 16>(&policy, k, &mut rng).expect("picks");
        let unique = distinct::<16>(&drawn);
        let mut reply: RerankReply<'_> = RerankReply {
            k: k as u16,
            iterations: 5,
            converged: c.exploitability <= eps,
            seed,
            worst_case_win_rate: c.worst_case_win_rate,
            exploitability: c.exploitability,
            worst_opponent: c.worst_opponent as u16,
            bound: c.bound,
            ticks_solve: 1,
            ticks_share: 0,
            policy: &policy[..],
            picks: &drawn[..],
            distinct: &unique[..],
            order: &[0, 1],
            _marker: core::marker::PhantomData,
        };
        tamper(&mut reply);
        let mut frame = vec![0u8; 1024];
        let len = reply.encode(&mut frame).expect("encode");
        let (payload, used) = decode_frame(&frame[..len]).expect("frame");
        assert_eq!(used, len);
        match Reply::decode(payload) {
            Ok(Reply::Rerank(r)) => check_reply(&r, &pop, (k, seed, eps)),
            _ => panic!("not a rerank reply"),
        }
    }

    #[test]
    fn a_reply_the_host_would_send_checks() {
        let c = check(|_| {}).expect("checks");
        assert_eq!(c.policy, [0.75, 0.25, 0.0]);
        assert_eq!(c.picks.len(), 2);
    }

    /// Each figure the device could get wrong is refused, with what differs.
    #[test]
    fn replies_that_do_not_check_are_refused() {
        type Tamper = dyn Fn(&mut RerankReply<'_>);
        let cases: [(&Tamper, &str); 10] = [
            (&|r| r.k = 3, "not the request's 2"),
            (&|r| r.seed = 8, "seed 8"),
            (&|r| r.policy = &[0.75, 0.25], "not one"),
            (&|r| r.policy = &[f32::NAN, 0.25, 0.75], "not one"),
            (&|r| r.policy = &[0.5, 0.5, 0.0], "where the host certifies"),
            (
                &|r| r.worst_case_win_rate = r.worst_case_win_rate.next_up(),
                "host certifies",
            ),
            (&|r| r.worst_opponent = 2, "host certifies"),
            (&|r| r.converged = !r.converged, "converged"),
            (&|r| r.picks = &[2, 2], "where the host draws"),
            (&|r| r.distinct = &[], "where the host draws"),
        ];
        for (i, (tamper, needle)) in cases.iter().enumerate() {
            match check(tamper) {
                Ok(c) => panic!("case {i} checked: {c:?}"),
                Err(e) => assert!(e.contains(needle), "case {i}: {e}"),
            }
        }
    }
}
