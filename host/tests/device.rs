//! `ualign device --qemu --core NAME` answers exactly what `ualign solve --reference` answers,
//! on every core (`UALIGN_CORES=m0,m4f` restricts them): same policy, iterations and
//! certificate, printed from bit-identical floats. The QEMU link needs Unix sockets, so this
//! file is built on Unix only.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ualign_proto::capacity::{CORES, Core};

/// The cores to test: every core, or those `$UALIGN_CORES` names (comma-separated).
fn cores() -> Vec<&'static Core> {
    match std::env::var("UALIGN_CORES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .filter_map(|name| ualign_proto::capacity::core(name.trim()))
            .collect(),
        _ => CORES.iter().collect(),
    }
}

/// The core's firmware ELF, (re)built from the current core crate so it is never stale.
fn firmware(core: &Core) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware");
    ualign_host::device::build_firmware(env!("CARGO").as_ref(), &dir, core).unwrap()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ualign"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn device_reply_is_bit_identical_to_single_threaded_solve() {
    for core in cores() {
        if !ualign_host::device::qemu_available(core) {
            eprintln!(
                "SKIPPED {}: {} is not installed (CI installs it)",
                core.name, core.qemu
            );
            continue;
        }
        device_matches_solve(core, &firmware(core));
    }
}

fn device_matches_solve(core: &Core, elf: &Path) {
    let dir = std::env::temp_dir().join(format!("ualign-device-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mm.json");
    // docs/maths.md §7 majority/minority, and a tied score table.
    std::fs::write(
        &file,
        r#"{"candidates": ["a","b","c","d"], "users": [
            {"weight": 0.6, "ranking": [["a"],["c"],["b"]]},
            {"weight": 0.4, "ranking": [["b"],["c"],["a"]]},
            {"weight": 0.25, "scores": [1, 3, 3, 0]}]}"#,
    )
    .unwrap();
    // Strict orders only (20 users, or the core's capacity, over 7 candidates, a fixed
    // shuffle): the host evaluates these through the wide layout at the CPU's vector level, the
    // device through the population; the answers must still be the same bits.
    let strict = dir.join("strict.json");
    let mut users = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for j in 0..20.min(core.capacity.m) {
        let mut perm: Vec<usize> = (0..7).collect();
        for i in (1..7).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            perm.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let ranking: Vec<String> = perm.iter().map(|c| format!("[\"c{c}\"]")).collect();
        users.push(format!(
            r#"{{"weight": {}, "ranking": [{}]}}"#,
            1 + j % 3,
            ranking.join(",")
        ));
    }
    let names: Vec<String> = (0..7).map(|c| format!("\"c{c}\"")).collect();
    std::fs::write(
        &strict,
        format!(
            r#"{{"candidates": [{}], "users": [{}]}}"#,
            names.join(","),
            users.join(",")
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let cap_k = core.capacity.k.to_string();
    let cases = [(f, "1"), (f, "2"), (f, "5"), (f, cap_k.as_str())]
        .into_iter()
        .chain([
            (strict.to_str().unwrap(), "3"),
            (strict.to_str().unwrap(), "4"),
        ]);
    for (f, k) in cases {
        let (code, dev, err) = run(&[
            "device",
            "--qemu",
            "--core",
            core.name,
            "--elf",
            elf.to_str().unwrap(),
            f,
            "--k",
            k,
            "--seed",
            "9",
        ]);
        assert_eq!(code, 0, "{}: {err}", core.name);
        let (code, host, err) = run(&["solve", f, "--k", k, "--reference"]);
        assert_eq!(code, 0, "{err}");
        // The same text, not just the same numbers: the masses' exact decimals, and the keys
        // in solve's order (those solve prints about the host's own route left out).
        fn policy(t: &str) -> Option<&str> {
            t.split("\"policy\":").nth(1)?.split(']').next()
        }
        assert_eq!(policy(&dev), policy(&host), "{}: {f}, k={k}", core.name);
        let own = ["route", "vector", "threads", "device"];
        let keys = |t: &str| -> Vec<String> {
            top_level_keys(t)
                .into_iter()
                .filter(|k| !own.contains(&k.as_str()))
                .collect()
        };
        assert_eq!(keys(&dev), keys(&host), "{}: the keys in order", core.name);
        let dev: serde_json::Value = serde_json::from_str(&dev).unwrap();
        let host: serde_json::Value = serde_json::from_str(&host).unwrap();
        for key in [
            "policy",
            "iterations",
            "certificate",
            "converged",
            "k",
            "n",
            "m",
        ] {
            assert_eq!(
                dev[key], host[key],
                "{}: {f}, k={k}: {key} differs",
                core.name
            );
        }
        assert_eq!(
            dev["device"]["picks"].as_array().unwrap().len(),
            k.parse::<usize>().unwrap()
        );
    }
    // Beyond the core's capacity: a clear exit-2 error before QEMU starts, nothing on stdout.
    let over = (core.capacity.k + 1).to_string();
    let (code, out, err) = run(&[
        "device",
        "--qemu",
        "--core",
        core.name,
        "--elf",
        elf.to_str().unwrap(),
        f,
        "--k",
        &over,
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains(&format!("--k {over}")), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The keys of a JSON object's text in the order they are written (serde_json's maps sort them):
/// serde's parser, with a visitor that keeps each key and passes over its value.
fn top_level_keys(text: &str) -> Vec<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                keys.push(key);
            }
            Ok(keys)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Keys)
        .unwrap()
}

#[test]
fn unknown_cores_and_requests_over_a_cores_capacity_are_refused_before_qemu() {
    let dir = std::env::temp_dir().join(format!("ualign-device-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 20 candidates: within the full profile's 32, over the Cortex-M0's 16.
    let file = dir.join("wide.json");
    let names: Vec<String> = (0..20).map(|c| format!("\"c{c}\"")).collect();
    let ranking: Vec<String> = (0..20).map(|c| format!("[\"c{c}\"]")).collect();
    std::fs::write(
        &file,
        format!(
            r#"{{"candidates": [{}], "users": [{{"weight": 1, "ranking": [{}]}}]}}"#,
            names.join(","),
            ranking.join(",")
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (code, out, err) = run(&["device", "--qemu", "--core", "m5", f, "--k", "2"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("--core m5") && err.contains("rv32imafc"),
        "{err}"
    );
    // No image is needed: the request is refused first.
    let missing = dir.join("no-such.elf");
    let (code, out, err) = run(&[
        "device",
        "--qemu",
        "--core",
        "m0",
        "--elf",
        missing.to_str().unwrap(),
        f,
        "--k",
        "2",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("exceed the m0 firmware's 16 and 16"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cores_lists_every_core_with_its_commands() {
    let (code, out, err) = run(&["cores"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), CORES.len());
    for (line, core) in lines.iter().zip(CORES.iter()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols[0], core.name);
        assert_eq!(cols[2], core.target);
        assert!(
            cols[11].contains("cargo build --release --target"),
            "{line}"
        );
        assert!(cols[12].starts_with(core.qemu), "{line}");
    }
}

/// `device` takes the options it uses and checks them as `solve` does, and a file that is not
/// a firmware image for the core is refused, naming it, before QEMU starts: exit 2, nothing on
/// stdout.
#[test]
fn device_options_and_images_are_checked_before_qemu() {
    let dir = std::env::temp_dir().join(format!("ualign-device-opts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two.json");
    std::fs::write(
        &file,
        r#"{"candidates": ["a","b"], "users": [{"weight": 1, "scores": [1, 0]}]}"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    // Not an ELF file; the header of a RISC-V executable, which the default core (the
    // Cortex-M4F, ARM) cannot run.
    let text = dir.join("passwd");
    std::fs::write(&text, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let mut riscv = vec![0u8; 52];
    riscv[..4].copy_from_slice(b"\x7fELF");
    (riscv[4], riscv[5], riscv[6]) = (1, 1, 1);
    riscv[16] = 2;
    riscv[18] = 243;
    let riscv_file = dir.join("riscv.elf");
    std::fs::write(&riscv_file, &riscv).unwrap();
    let (t, x) = (text.to_str().unwrap(), riscv_file.to_str().unwrap());
    let base = ["device", "--qemu", f, "--k", "2"];
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--max-iter", "0"], &["--max-iter 0"]),
        (&["--eps", "-1"], &["--eps"]),
        (&["--threads", "2"], &["--threads"]),
        (&["--reference"], &["--reference"]),
        (&["--elf", t], &[t, "not an ELF file"]),
        (&["--elf", x], &[x, "machine 243", "m4f"]),
    ];
    for (extra, needles) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err} lacks {n}");
        }
    }
    // A count the host splits to keep it exact is refused before QEMU (its request would carry
    // the file's one user type, the host's reference several).
    let big = dir.join("big.json");
    std::fs::write(
        &big,
        r#"{"candidates": ["a","b"], "users": [{"weight": 5000000, "scores": [1, 0]}]}"#,
    )
    .unwrap();
    let (code, out, err) = run(&["device", "--qemu", big.to_str().unwrap(), "--k", "2"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("big.json") && err.contains("2^22"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
