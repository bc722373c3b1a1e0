//! Talking to the ualign firmware under QEMU, on any core of `ualign_proto::capacity::CORES`
//! (Cortex-M0 to M33 on `qemu-system-arm`, RV32 on `qemu-system-riscv32 -M virt`): building its
//! image ([`build_firmware`]) and starting QEMU with the core's command line
//! ([`crate::cores::qemu_command`]).
//!
//! It moves whole frames: it writes the bytes it is given and cuts what the device sends into
//! frames with `ualign-proto`'s [`decode_frame`] (checked: header, length and CRC-32), and the
//! caller encodes requests and decodes replies with `ualign-proto` too. QEMU's UART0 is connected
//! to a Unix socket that this module listens on (so it exists on Unix only; elsewhere `ualign
//! device` says it is not supported); the firmware's defmt log (semihosting stdout) and QEMU's
//! stderr go to files in a private temporary directory, quoted in error messages.
//!
//! * [`run_on_qemu`]: one shot. Sends `request_bytes` (whole frames), then a `Shutdown` frame,
//!   and returns every byte the device sent before its `ShutdownAck`; QEMU must then exit with
//!   status 0 within `timeout`.
//! * [`Session`]: interactive. `start`, then `send` / `read_frame` as often as needed, then
//!   `shutdown` (or drop, which kills QEMU).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ualign_proto::{
    FrameError, Kind, MAGIC, OVERHEAD,
    capacity::{Core, DEFAULT_CORE},
    decode_frame, encode_frame,
};

pub use crate::cores::{build_command, elf_path, qemu_command, target_dir};

/// How to start QEMU.
#[derive(Clone, Debug)]
pub struct QemuOptions {
    /// The core whose image runs: QEMU's program, machine and CPU come from its entry in
    /// `ualign_proto::capacity::CORES`.
    pub core: &'static Core,
    /// Run with `-icount shift=0,align=off,sleep=off`: one instruction per virtual nanosecond,
    /// so the firmware's tick counter counts instructions (`1e9 / tick_hz` per tick) for
    /// measurements.
    pub icount: bool,
    /// The QEMU binary (default: the core's, `qemu-system-arm` or `qemu-system-riscv32`).
    pub qemu: Option<PathBuf>,
}

impl Default for QemuOptions {
    /// The default core (the Cortex-M4F), no instruction counting, the core's QEMU.
    fn default() -> Self {
        QemuOptions::new(&DEFAULT_CORE)
    }
}

impl QemuOptions {
    /// `core`, no instruction counting, the core's QEMU.
    pub fn new(core: &'static Core) -> Self {
        QemuOptions {
            core,
            icount: false,
            qemu: None,
        }
    }
}

/// A running firmware under QEMU with its UART on a socket.
pub struct Session {
    child: Child,
    stream: UnixStream,
    dir: PathBuf,
    pending: Vec<u8>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Session {
    /// Starts QEMU on `elf` and waits (up to `timeout`) for it to connect to the UART socket.
    pub fn start(elf: &Path, opts: &QemuOptions, timeout: Duration) -> Result<Session, String> {
        if !elf.is_file() {
            return Err(format!("firmware image {} not found", elf.display()));
        }
        let dir = std::env::temp_dir().join(format!(
            "ualign-qemu-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let sock = dir.join("uart.sock");
        let listener =
            UnixListener::bind(&sock).map_err(|e| format!("binding {}: {e}", sock.display()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("socket: {e}"))?;
        let log = |name: &str| {
            std::fs::File::create(dir.join(name)).map_err(|e| format!("creating log {name}: {e}"))
        };
        let (program, args) = qemu_command(
            opts.core,
            elf,
            &format!("unix:{}", sock.display()),
            opts.icount,
        );
        let qemu = opts.qemu.clone().unwrap_or_else(|| PathBuf::from(program));
        let mut cmd = Command::new(&qemu);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(log("semihosting.bin")?)
            .stderr(log("qemu.stderr")?);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", qemu.display()))?;
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("accepting QEMU's UART connection: {e}"));
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(dir.join("qemu.stderr")).unwrap_or_default();
                return Err(format!("QEMU exited early ({status}): {err}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("QEMU did not connect to the UART socket in time".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        stream
            .set_nonblocking(false)
            .map_err(|e| format!("socket: {e}"))?;
        Ok(Session {
            child,
            stream,
            dir,
            pending: Vec::new(),
        })
    }

    /// Sends raw bytes (frames, or anything else) to the device's UART.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .and_then(|_| self.stream.flush())
            .map_err(|e| format!("writing to the UART: {e}{}", self.diagnostics()))
    }

    /// Reads the next frame the device sends, checked by [`decode_frame`] (whole frame bytes,
    /// header to CRC-32: decode it again with `ualign_proto::decode_frame` to read it), waiting
    /// at most `timeout`. Bytes before a magic byte, and a magic byte whose header does not check,
    /// are skipped, as the firmware's own decoder resynchronises; a frame whose header checks but
    /// whose version or CRC-32 does not is an error.
    pub fn read_frame(&mut self, timeout: Duration) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(start) = self.pending.iter().position(|&b| b == MAGIC) {
                self.pending.drain(..start);
            } else {
                self.pending.clear();
            }
            match decode_frame(&self.pending) {
                Ok((_, used)) => return Ok(self.pending.drain(..used).collect()),
                // Needs more bytes (or none has come yet).
                Err(FrameError::Truncated) => {}
                // Noise that starts with a magic byte: look for the next one.
                Err(FrameError::BadHeader) => {
                    self.pending.drain(..self.pending.len().min(1));
                    continue;
                }
                Err(e) => {
                    self.pending.drain(..self.pending.len().min(1));
                    return Err(format!(
                        "the device sent a bad frame ({e:?}){}",
                        self.diagnostics()
                    ));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "no reply frame within {timeout:?}{}",
                    self.diagnostics()
                ));
            }
            self.stream
                .set_read_timeout(Some(deadline - now))
                .map_err(|e| format!("socket: {e}"))?;
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(format!("QEMU closed the UART{}", self.diagnostics())),
                Ok(got) => self.pending.extend_from_slice(&buf[..got]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(format!("reading the UART: {e}{}", self.diagnostics())),
            }
        }
    }

    /// Sends `Shutdown`, collects every frame up to the acknowledgement (returned, without the
    /// acknowledgement), and waits for QEMU to exit; fails unless it exits with status 0.
    pub fn shutdown(mut self, timeout: Duration) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        let mut shutdown = [0u8; OVERHEAD];
        let len = encode_frame(Kind::Shutdown as u8, &[], &mut shutdown)
            .map_err(|e| format!("encoding the shutdown frame: {e:?}"))?;
        self.send(shutdown.get(..len).unwrap_or(&shutdown))?;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.read_frame(left)?;
            let kind = decode_frame(&frame).map(|(f, _)| f.kind);
            if kind == Ok(Kind::ShutdownAck as u8) {
                break;
            }
            out.extend_from_slice(&frame);
        }
        let status = self.wait(deadline)?;
        if !status.success() {
            return Err(format!("QEMU exited with {status}{}", self.diagnostics()));
        }
        Ok(out)
    }

    fn wait(&mut self, deadline: Instant) -> Result<ExitStatus, String> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    return Err("QEMU did not exit in time".into());
                }
                Err(e) => return Err(format!("waiting for QEMU: {e}")),
            }
        }
    }

    /// Whether QEMU has exited, and how (`None` while it runs).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// QEMU's stderr so far, for error messages.
    fn diagnostics(&self) -> String {
        let err = std::fs::read_to_string(self.dir.join("qemu.stderr")).unwrap_or_default();
        if err.trim().is_empty() {
            String::new()
        } else {
            format!(" (QEMU stderr: {})", err.trim())
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the firmware `elf` under QEMU as `opts` says, sends `request_bytes` (one or more whole
/// frames), and returns the reply frames the device sent, concatenated, once it has acknowledged
/// a shutdown and QEMU has exited successfully. Everything must finish within `timeout`.
pub fn run_on_qemu(
    elf: &Path,
    opts: &QemuOptions,
    request_bytes: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mut session = Session::start(elf, opts, timeout)?;
    session.send(request_bytes)?;
    session.shutdown(deadline.saturating_duration_since(Instant::now()))
}

/// The ELF header fields a firmware image for a core has: a 32-bit little-endian executable for
/// its machine and float ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ImageKind {
    /// `e_machine`: 40 (ARM) or 243 (RISC-V).
    machine: u16,
    /// The bits of `e_flags` that give the float ABI, and their value.
    float_mask: u32,
    float_abi: u32,
    /// The machine and float ABI, for people.
    name: &'static str,
}

/// `e_machine` of ARM.
const EM_ARM: u16 = 40;
/// `e_machine` of RISC-V.
const EM_RISCV: u16 = 243;
/// ARM's `EF_ARM_ABI_FLOAT_SOFT | EF_ARM_ABI_FLOAT_HARD`, and the hard-float bit.
const ARM_FLOAT_MASK: u32 = 0x600;
const ARM_FLOAT_HARD: u32 = 0x400;
const ARM_FLOAT_SOFT: u32 = 0x200;
/// RISC-V's `EF_RISCV_FLOAT_ABI` bits: 0 soft, 2 single, 4 double.
const RISCV_FLOAT_MASK: u32 = 0x6;

/// The image kind of a Rust target: `thumb*-none-eabihf` hard-float ARM, `thumb*-none-eabi`
/// soft-float ARM, `riscv32*` RISC-V with the float ABI of its `f` or `d` extension (the ABI
/// Rust's bare-metal targets take); `None` for any other target.
fn image_kind(target: &str) -> Option<ImageKind> {
    let mut parts = target.split('-');
    let arch = parts.next()?;
    let abi = parts.next_back()?;
    if arch.starts_with("thumb") {
        let hard = abi == "eabihf";
        return Some(ImageKind {
            machine: EM_ARM,
            float_mask: ARM_FLOAT_MASK,
            float_abi: if hard { ARM_FLOAT_HARD } else { ARM_FLOAT_SOFT },
            name: if hard {
                "ARM, hard-float"
            } else {
                "ARM, soft-float"
            },
        });
    }
    let isa = arch.strip_prefix("riscv32")?;
    let (float_abi, name) = if isa.contains('d') {
        (4, "RISC-V, double-float")
    } else if isa.contains('f') {
        (2, "RISC-V, single-float")
    } else {
        (0, "RISC-V, soft-float")
    };
    Some(ImageKind {
        machine: EM_RISCV,
        float_mask: RISCV_FLOAT_MASK,
        float_abi,
        name,
    })
}

/// Checks that the file `elf` can be `core`'s firmware image before QEMU is started on it: an
/// ELF executable (magic, 32-bit, little-endian, `ET_EXEC`) for the core's machine and float
/// ABI (from its Rust target, `image_kind`). Only the 52 bytes of the header are read. The
/// error says what is wrong, without the file's name.
pub fn check_image(elf: &Path, core: &Core) -> Result<(), String> {
    let mut header = [0u8; 52];
    let mut file = std::fs::File::open(elf).map_err(|e| format!("cannot read: {e}"))?;
    let mut got = 0;
    while got < header.len() {
        match file.read(header.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read: {e}")),
        }
    }
    check_header(header.get(..got).unwrap_or_default(), core)
}

/// [`check_image`] on the first bytes of the file (up to 52).
fn check_header(h: &[u8], core: &Core) -> Result<(), String> {
    let for_core = format!("the {} firmware ({})", core.name, core.target);
    if h.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(format!("not an ELF file, so not {for_core}"));
    }
    let (class, data) = (h.get(4).copied(), h.get(5).copied());
    if class != Some(1) || data != Some(1) {
        return Err(format!(
            "not a 32-bit little-endian ELF file (class {}, data {}), so not {for_core}",
            class.unwrap_or(0),
            data.unwrap_or(0)
        ));
    }
    let u16_at = |at: usize| {
        let bytes = h.get(at..at + 2)?.try_into().ok()?;
        Some(u16::from_le_bytes(bytes))
    };
    let u32_at = |at: usize| {
        let bytes = h.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(bytes))
    };
    let (Some(kind), Some(machine), Some(flags)) = (u16_at(16), u16_at(18), u32_at(36)) else {
        return Err(format!("an ELF header cut short, so not {for_core}"));
    };
    if kind != 2 {
        return Err(format!(
            "ELF type {kind}, not an executable (2), so not {for_core}"
        ));
    }
    let Some(want) = image_kind(core.target) else {
        return Ok(());
    };
    if machine != want.machine {
        return Err(format!(
            "ELF machine {machine}, not {} ({}) as {for_core} needs",
            want.machine, want.name
        ));
    }
    if flags & want.float_mask != want.float_abi {
        return Err(format!(
            "ELF flags {flags:#x}: another float ABI than {for_core} needs ({})",
            want.name
        ));
    }
    Ok(())
}

/// Whether `core`'s QEMU (`qemu-system-arm` or `qemu-system-riscv32`) can be started.
pub fn qemu_available(core: &Core) -> bool {
    Command::new(core.qemu)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds `core`'s firmware image in `firmware_dir` (release, its target folder
/// [`target_dir`], with `cargo` the caller names) and returns the ELF's path. Cargo rebuilds only
/// what changed, so the image is never stale.
pub fn build_firmware(
    cargo: &std::ffi::OsStr,
    firmware_dir: &Path,
    core: &Core,
) -> Result<PathBuf, String> {
    let dir = target_dir(firmware_dir, core);
    cargo_build(cargo, firmware_dir, core, &[], &dir)?;
    Ok(elf_path(firmware_dir, core))
}

/// [`build_firmware`] with the firmware's cargo feature `feature` on top of the core's own, in a
/// target folder of its own (`target/<feature>/`), so the two images never rebuild each other:
/// for a build that does something other than serve, such as `softfloat-check`.
pub fn build_firmware_feature(
    cargo: &std::ffi::OsStr,
    firmware_dir: &Path,
    core: &Core,
    feature: &str,
) -> Result<PathBuf, String> {
    let dir = firmware_dir.join("target").join(feature);
    cargo_build(cargo, firmware_dir, core, &["--features", feature], &dir)?;
    Ok(dir.join(core.target).join("release/ualign-firmware"))
}

/// Runs `core`'s build command ([`build_command`]) with `extra` arguments into `target`.
fn cargo_build(
    cargo: &std::ffi::OsStr,
    firmware_dir: &Path,
    core: &Core,
    extra: &[&str],
    target: &Path,
) -> Result<(), String> {
    let (args, rustflags) = build_command(core);
    let status = Command::new(cargo)
        .args(&args)
        .args(extra)
        .current_dir(firmware_dir)
        .env("RUSTFLAGS", rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env("CARGO_TARGET_DIR", target)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the {} firmware in {} failed",
            core.name,
            firmware_dir.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ualign_proto::capacity::{CORES, core};

    /// An ELF32 executable header with `machine` and `flags` (52 bytes; what QEMU needs after
    /// it is not checked).
    fn header(machine: u16, flags: u32) -> Vec<u8> {
        let mut h = vec![0u8; 52];
        h[..4].copy_from_slice(b"\x7fELF");
        (h[4], h[5], h[6]) = (1, 1, 1);
        h[16..18].copy_from_slice(&2u16.to_le_bytes());
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h[36..40].copy_from_slice(&flags.to_le_bytes());
        h
    }

    /// The headers of the firmware images as the linker writes them (`readelf -h` of each
    /// core's release build): each is taken for its own cores and refused for the others
    /// (another machine or float ABI), naming the core.
    #[test]
    fn each_image_is_taken_for_its_cores_only() {
        let images = [
            ("thumbv6m-none-eabi", header(EM_ARM, 0x0500_0200)),
            ("thumbv7m-none-eabi", header(EM_ARM, 0x0500_0200)),
            ("thumbv7em-none-eabihf", header(EM_ARM, 0x0500_0400)),
            ("thumbv8m.main-none-eabihf", header(EM_ARM, 0x0500_0400)),
            ("riscv32imac-unknown-none-elf", header(EM_RISCV, 0x1)),
            ("riscv32imafc-unknown-none-elf", header(EM_RISCV, 0x3)),
        ];
        for c in CORES.iter() {
            assert!(image_kind(c.target).is_some(), "{}", c.target);
            for (target, h) in &images {
                let same = image_kind(target) == image_kind(c.target);
                match check_header(h, c) {
                    Ok(()) => assert!(same, "{target} taken for {}", c.name),
                    Err(e) => {
                        assert!(!same, "{target} refused for {}: {e}", c.name);
                        assert!(e.contains(&format!("the {} firmware", c.name)), "{e}");
                    }
                }
            }
        }
    }

    /// What is not a 32-bit little-endian executable is refused, and says why.
    #[test]
    fn other_files_are_refused() {
        let m4f = core("m4f").unwrap();
        let good = header(EM_ARM, 0x0500_0400);
        assert_eq!(check_header(&good, m4f), Ok(()));
        let with = |at: usize, byte: u8| {
            let mut h = good.clone();
            h[at] = byte;
            h
        };
        for (h, why) in [
            (
                b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
                "not an ELF file",
            ),
            (Vec::new(), "not an ELF file"),
            (
                with(4, 2),
                "not a 32-bit little-endian ELF file (class 2, data 1)",
            ),
            (
                with(5, 2),
                "not a 32-bit little-endian ELF file (class 1, data 2)",
            ),
            (with(16, 3), "ELF type 3, not an executable"),
            (good[..30].to_vec(), "an ELF header cut short"),
            (header(62, 0), "ELF machine 62, not 40 (ARM, hard-float)"),
            (
                header(EM_ARM, 0x0500_0200),
                "ELF flags 0x5000200: another float ABI",
            ),
        ] {
            let e = check_header(&h, m4f).unwrap_err();
            assert!(e.starts_with(why), "{e}");
            assert!(
                e.contains("the m4f firmware (thumbv7em-none-eabihf)"),
                "{e}"
            );
        }
    }

    /// [`check_image`] reads the file's header, and an unreadable file is an error.
    #[test]
    fn images_are_read_from_their_files() {
        let dir = std::env::temp_dir().join(format!("ualign-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("m0.elf");
        let mut bytes = header(EM_ARM, 0x0500_0200);
        bytes.extend_from_slice(&[0u8; 4096]);
        std::fs::write(&file, &bytes).unwrap();
        let (m0, m4f) = (core("m0").unwrap(), core("m4f").unwrap());
        assert_eq!(check_image(&file, m0), Ok(()));
        assert!(check_image(&file, m4f).is_err());
        let missing = check_image(&dir.join("missing.elf"), m0).unwrap_err();
        assert!(missing.starts_with("cannot read"), "{missing}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
