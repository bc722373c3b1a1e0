//! Input formats: PrefLib orders, JSON instances, CSV and whitespace score tables.

pub mod json;
pub mod preflib;
pub mod table;

use std::path::Path;

use crate::error::{Error, Result};
use crate::instance::Instance;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PrefLib `.soc`, `.soi`, `.toc`, `.toi`.
    Preflib,
    /// A JSON instance.
    Json,
    /// A comma-separated score table.
    Csv,
    /// A whitespace-separated score table.
    Table,
}

impl Format {
    /// The format an extension implies, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "soc" | "soi" | "toc" | "toi" => Some(Format::Preflib),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "txt" | "tsv" | "dat" | "table" | "tab" => Some(Format::Table),
            _ => None,
        }
    }
}

/// Parses `text` (named `source` in messages) in format `format`.
pub fn parse(text: &str, source: &str, format: Format) -> Result<Instance> {
    let inst = match format {
        Format::Preflib => preflib::parse(text, source)?,
        Format::Json => json::parse(text, source)?,
        Format::Csv => table::parse(text, source, table::Delimiter::Comma)?,
        Format::Table => table::parse(text, source, table::Delimiter::Whitespace)?,
    };
    inst.validate()?;
    Ok(inst)
}

/// Reads and parses a file; the format comes from `format` or else the extension.
pub fn load(path: &Path, format: Option<Format>) -> Result<Instance> {
    let source = path.display().to_string();
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(Error::in_file(
                &source,
                "unknown file extension: use --format preflib|json|csv|table",
            ));
        }
    };
    let bytes = std::fs::read(path).map_err(|e| Error::in_file(&source, io_message(&e)))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .map(|b| b.iter().filter(|&&c| c == b'\n').count() + 1)
            .unwrap_or(1);
        Error::at(&source, line, "not valid UTF-8 text")
    })?;
    parse(&text, &source, format)
}

/// A short description of an I/O error.
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => format!("cannot read: {e}"),
    }
}
