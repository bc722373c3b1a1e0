//! `ualign`: the thin binary over `ualign_host`.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let result = std::panic::catch_unwind(|| ualign_host::main_with_args(std::env::args_os()));
    match result {
        Ok(Ok(out)) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ualign: cannot write to stdout: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Ok(Err(e)) => {
            eprintln!("ualign: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(_) => {
            eprintln!("ualign: internal error (a panic; please report it)");
            ExitCode::from(1)
        }
    }
}
