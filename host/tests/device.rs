//! `ualign device --qemu` answers exactly what `ualign solve --reference` answers: same policy,
//! iterations and certificate, printed from bit-identical floats. The QEMU link needs Unix
//! sockets, so this file is built on Unix only.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn qemu_available() -> bool {
    Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The firmware ELF, (re)built from the current core so it is never stale.
fn firmware() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("UALIGN_FIRMWARE_ELF") {
        return Some(PathBuf::from(p));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware");
    Some(ualign_host::device::build_firmware(env!("CARGO").as_ref(), &dir).unwrap())
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
    if !qemu_available() {
        eprintln!("SKIPPED: qemu-system-arm is not installed (CI installs it)");
        return;
    }
    let elf = firmware().unwrap();
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
    // Strict orders only (20 users over 7 candidates, a fixed shuffle): the host evaluates
    // these through the wide layout at the CPU's vector level, the device through the
    // population; the answers must still be the same bits.
    let strict = dir.join("strict.json");
    let mut users = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for j in 0..20 {
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
    let cases = [(f, "1"), (f, "2"), (f, "5"), (f, "16")]
        .into_iter()
        .chain([
            (strict.to_str().unwrap(), "3"),
            (strict.to_str().unwrap(), "4"),
        ]);
    for (f, k) in cases {
        let (code, dev, err) = run(&[
            "device",
            "--qemu",
            "--elf",
            elf.to_str().unwrap(),
            f,
            "--k",
            k,
            "--seed",
            "9",
        ]);
        assert_eq!(code, 0, "{err}");
        let (code, host, err) = run(&["solve", f, "--k", k, "--reference"]);
        assert_eq!(code, 0, "{err}");
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
            assert_eq!(dev[key], host[key], "{f}, k={k}: {key} differs");
        }
        assert_eq!(
            dev["device"]["picks"].as_array().unwrap().len(),
            k.parse::<usize>().unwrap()
        );
    }
    // Beyond the device's capacity: a clear exit-2 error, nothing on stdout.
    let (code, out, err) = run(&[
        "device",
        "--qemu",
        "--elf",
        elf.to_str().unwrap(),
        f,
        "--k",
        "17",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("--k 17"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
