//! The one error type of the tool, with the exit code each kind maps to.
//!
//! Bad input (a missing file, a malformed line, an invalid option value) is exit code 2 with one
//! line `FILE:LINE: problem` on stderr; a command this platform cannot run (`device` off Unix) is
//! exit code 1 with a message that says so; anything else is an internal error, exit code 1.

use std::fmt;

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input or an option is invalid (exit code 2).
    Input {
        /// The file (as named on the command line), if the problem is in a file.
        file: Option<String>,
        /// The 1-based line, if known.
        line: Option<usize>,
        /// The problem.
        message: String,
    },
    /// A defect or an environment failure (exit code 1).
    Internal(String),
    /// The command cannot run on this platform (exit code 1): `device` needs Unix sockets.
    Unsupported(String),
}

/// Result with the tool's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A problem at `file:line`.
    pub fn at(file: &str, line: usize, message: impl fmt::Display) -> Self {
        Error::Input {
            file: Some(file.to_string()),
            line: Some(line),
            message: message.to_string(),
        }
    }

    /// A problem with a whole file.
    pub fn in_file(file: &str, message: impl fmt::Display) -> Self {
        Error::Input {
            file: Some(file.to_string()),
            line: None,
            message: message.to_string(),
        }
    }

    /// An invalid option or argument.
    pub fn usage(message: impl fmt::Display) -> Self {
        Error::Input {
            file: None,
            line: None,
            message: message.to_string(),
        }
    }

    /// An internal error.
    pub fn internal(message: impl fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }

    /// A command this platform cannot run.
    pub fn unsupported(message: impl fmt::Display) -> Self {
        Error::Unsupported(message.to_string())
    }

    /// The process exit code: 2 for bad input, 1 for internal errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input { .. } => 2,
            Error::Internal(_) | Error::Unsupported(_) => 1,
        }
    }

    /// The message without the file and line prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::Input { message, .. } => message,
            Error::Internal(m) | Error::Unsupported(m) => m,
        }
    }

    /// The line, if the error has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Input { line, .. } => *line,
            Error::Internal(_) | Error::Unsupported(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input {
                file: Some(file),
                line: Some(line),
                message,
            } => write!(f, "{file}:{line}: {message}"),
            Error::Input {
                file: Some(file),
                line: None,
                message,
            } => write!(f, "{file}: {message}"),
            Error::Input {
                file: None,
                line,
                message,
            } => match line {
                Some(l) => write!(f, "line {l}: {message}"),
                None => write!(f, "{message}"),
            },
            Error::Internal(m) => write!(f, "internal error: {m}"),
            Error::Unsupported(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}
