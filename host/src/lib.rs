//! The `ualign` tool as a library: input parsing into one [`instance::Instance`] type, the
//! computations behind each command, plotting, and the command line itself. The binary
//! (`src/main.rs`) only calls [`main_with_args`].

#![forbid(unsafe_code)]

pub mod analysis;
pub mod commands;
pub mod cores;
pub mod decimal;
#[cfg(unix)]
pub mod device;
pub mod error;
pub mod explain;
pub mod formats;
pub mod instance;
pub mod json_line;
pub mod order_set;
pub mod plot;
#[cfg(test)]
mod test_rng;

pub use error::{Error, Result};
pub use formats::{Format, load, parse};
pub use instance::{Instance, Prefs, Store, UserType};

use clap::Parser;

/// Parses `args` and runs the command; returns what goes to stdout. `--help` and `--version`
/// print and exit 0; a usage error becomes one [`Error`] line (exit code 2).
pub fn main_with_args<I, T>(args: I) -> Result<String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match commands::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                return Err(Error::usage(format!("{first} (see ualign --help)")));
            }
        },
    };
    commands::run(cli)
}
