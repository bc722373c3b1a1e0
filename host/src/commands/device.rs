//! `ualign device --qemu [--core NAME]`: the same solve, computed by the firmware under QEMU on
//! one of the cores of `ualign_proto::capacity::CORES` (the Cortex-M4F unless told otherwise).
//!
//! Every user type is sent as the order the host's core population computed (candidates best
//! first, tie flags included) with the weight the host pushed, so the device builds exactly the
//! host's population and its reply is bit-identical to `solve --reference`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use ualign::Certificate;
use ualign_proto::{Reply, RerankRequest, Rows, capacity, decode_frame};

use super::DeviceArgs;
use crate::analysis::{CertJson, check_settings};
use crate::decimal::Masses;
use crate::device::{QemuOptions, check_image, elf_path, run_on_qemu};
use crate::error::{Error, Result};
use crate::instance::Store;

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
    let (first, _) =
        decode_frame(&bytes).map_err(|e| Error::internal(format!("device reply: {e:?}")))?;
    match Reply::decode(first) {
        Ok(Reply::Rerank(r)) => {
            let certificate = Certificate::new(a.picks.k)
                .worst_case_win_rate(r.worst_case_win_rate)
                .exploitability(r.exploitability)
                .worst_opponent(r.worst_opponent as usize)
                .bound(r.bound);
            let names = |ys: ualign_proto::msg::U16s<'_>| -> Vec<String> {
                ys.iter().map(|y| inst.name(y as usize)).collect()
            };
            let out = json!({
                "k": a.picks.k,
                "n": n,
                "m": m,
                "candidates": inst.candidates,
                "policy": Masses(r.policy.iter().collect()),
                "iterations": r.iterations,
                "method": "optimistic",
                "converged": r.converged,
                "deployed": "policy",
                "certificate": CertJson::new(&certificate, &inst),
                "device": {
                    "core": core.name,
                    "target": format!("qemu {} ({})", core.machine, core.cpu_name),
                    "seed": r.seed,
                    "picks": names(r.picks),
                    "distinct": names(r.distinct),
                    "ticks_solve": r.ticks_solve,
                },
            });
            super::to_json(&out)
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
