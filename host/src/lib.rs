//! The `ualign` tool as a library: input parsing into one [`instance::Instance`] type, the
//! computations behind each command, plotting, and the command line itself. The binary
//! (`src/main.rs`) only calls [`main_with_args`].

#![forbid(unsafe_code)]

pub mod analysis;
pub mod commands;
pub mod error;
pub mod formats;
pub mod instance;
pub mod oracle;
pub mod plot;

pub use error::{Error, Result};
pub use formats::{Format, load, parse};
pub use instance::{Instance, Prefs, Store, UserType};

use clap::Parser;

/// Parses `args` (clap exits on `--help` and usage errors) and runs the command; returns what
/// goes to stdout.
pub fn main_with_args<I, T>(args: I) -> Result<String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = commands::Cli::parse_from(args);
    commands::run(cli)
}
