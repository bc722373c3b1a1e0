//! Talking to the ualign firmware under QEMU (`qemu-system-arm -M mps2-an386`).
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

use ualign_proto::{FrameError, Kind, MAGIC, OVERHEAD, decode_frame, encode_frame};

/// How to start QEMU.
#[derive(Clone, Debug, Default)]
pub struct QemuOptions {
    /// Run with `-icount shift=0,align=off,sleep=off`: one instruction per virtual nanosecond,
    /// so the firmware's SysTick counts instructions (40 per tick) for measurements.
    pub icount: bool,
    /// The QEMU binary (default `qemu-system-arm`).
    pub qemu: Option<PathBuf>,
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
        let qemu = opts
            .qemu
            .clone()
            .unwrap_or_else(|| PathBuf::from("qemu-system-arm"));
        let mut cmd = Command::new(&qemu);
        cmd.args([
            "-M",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-serial")
        .arg(format!("unix:{}", sock.display()));
        if opts.icount {
            cmd.args(["-icount", "shift=0,align=off,sleep=off"]);
        }
        cmd.arg("-kernel")
            .arg(elf)
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

/// Runs the firmware `elf` under QEMU, sends `request_bytes` (one or more whole frames), and
/// returns the reply frames the device sent, concatenated, once it has acknowledged a shutdown
/// and QEMU has exited successfully. Everything must finish within `timeout`.
pub fn run_on_qemu(elf: &Path, request_bytes: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mut session = Session::start(elf, &QemuOptions::default(), timeout)?;
    session.send(request_bytes)?;
    session.shutdown(deadline.saturating_duration_since(Instant::now()))
}

/// Whether `qemu-system-arm` can be started.
pub fn qemu_available() -> bool {
    Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds the firmware in `firmware_dir` (release, its own target folder, with `cargo` the
/// caller names) and returns the ELF's path. Cargo rebuilds only what changed, so the image is
/// never stale.
pub fn build_firmware(cargo: &std::ffi::OsStr, firmware_dir: &Path) -> Result<PathBuf, String> {
    let status = Command::new(cargo)
        .args(["build", "--release"])
        .current_dir(firmware_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env("CARGO_TARGET_DIR", firmware_dir.join("target"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the firmware in {} failed",
            firmware_dir.display()
        ));
    }
    Ok(firmware_dir.join("target/thumbv7em-none-eabihf/release/ualign-firmware"))
}
