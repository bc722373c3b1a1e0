//! SVG plots of the test-time scaling curves (plotters, SVG backend only: text is written as SVG
//! `<text>` elements, so no font library is needed), and atomic file writing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::analysis::CurveRow;
use crate::error::{Error, Result};

/// The series drawn, as `(legend name, colour)`, in drawing order.
pub const SERIES: [(&str, RGBColor); 5] = [
    ("k-aware equilibrium", RGBColor(0xd6, 0x27, 0x28)),
    ("NLHF sampled k times", RGBColor(0x1f, 0x77, 0xb4)),
    ("reward-model pick", RGBColor(0x2c, 0xa0, 0x2c)),
    ("uniform", RGBColor(0x7f, 0x7f, 0x7f)),
    ("bound k/(k+1)", RGBColor(0x00, 0x00, 0x00)),
];

fn value(r: &CurveRow, s: usize) -> f64 {
    match s {
        0 => r.equilibrium,
        1 => r.nlhf,
        2 => r.reward_model,
        3 => r.uniform,
        _ => r.bound,
    }
}

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::internal(format!("plotting failed: {e}"))
}

/// Draws one panel per `(title, rows)` side by side and returns the SVG text.
pub fn curves_svg(panels: &[(String, Vec<CurveRow>)]) -> Result<String> {
    let count = panels.len().max(1);
    let width = u32::try_from(count).unwrap_or(1).saturating_mul(520);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let areas = root.split_evenly((1, count));
        for (area, (title, rows)) in areas.iter().zip(panels) {
            let k_max = rows.iter().map(|r| r.k).max().unwrap_or(1).max(2) as f64;
            let y_min = rows
                .iter()
                .flat_map(|r| (0..SERIES.len()).map(move |s| value(r, s)))
                .fold(0.5f64, f64::min);
            let y_min = (y_min * 10.0).floor() / 10.0;
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(52)
                .build_cartesian_2d(1.0f64..k_max, y_min..1.0f64)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("k (responses shown)")
                .y_desc("worst-case win rate")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.2}"))
                .draw()
                .map_err(plot_err)?;
            for (s, &(name, colour)) in SERIES.iter().enumerate() {
                let points: Vec<(f64, f64)> =
                    rows.iter().map(|r| (r.k as f64, value(r, s))).collect();
                // The equilibrium sits on the bound: draw it wide and the bound thin on top, so
                // both stay visible.
                let width = match s {
                    0 => 5,
                    4 => 1,
                    _ => 2,
                };
                let style = ShapeStyle::from(&colour).stroke_width(width);
                chart
                    .draw_series(LineSeries::new(points.clone(), style))
                    .map_err(plot_err)?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&p| Circle::new(p, if s == 4 { 2 } else { 3 }, colour.filled())),
                    )
                    .map_err(plot_err)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(buf)
}

/// Writes `contents` to `path` without ever leaving it half-written: a new or regular file is
/// written to a temporary file beside it, then renamed over it (a replaced file keeps its
/// permissions), and the temporary file is removed when any step fails. A symbolic link is
/// followed to the file it names, so the link stays a link. Anything else that is not a
/// directory (a device such as `/dev/stdout`, a named pipe) is written in place: it cannot be
/// replaced, and renaming over it would swap the device node for a plain file. `-`, which
/// means standard input elsewhere, is refused.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let shown = path.display().to_string();
    if path == Path::new("-") {
        return Err(Error::usage(
            "--svg -: the SVG is written to a file; give its name (`/dev/stdout` for standard \
             output)",
        ));
    }
    let fail = |e: std::io::Error| Error::in_file(&shown, format!("cannot write: {e}"));
    // A device or a pipe, through the system's own lookup of any links (`/dev/stdout` is a
    // link to `/proc/self/fd/1`, itself one to a name like `pipe:[1234]` that is no path).
    if let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
        && !m.is_dir()
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(fail)?;
        return f.write_all(contents.as_bytes()).map_err(fail);
    }
    let target = follow_links(path).map_err(fail)?;
    let existing = match std::fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(e)),
    };
    match existing {
        Some(m) if m.is_dir() => Err(Error::in_file(&shown, "cannot write: is a directory")),
        _ => replace(&target, contents, existing.map(|m| m.permissions())).map_err(fail),
    }
}

/// `path` with every symbolic link at its end followed (relative links from the link's
/// folder), at most 40 of them, as the system's own path lookup allows.
fn follow_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// `contents` into a new temporary file in `path`'s folder (created, never opened through an
/// existing name), then renamed to `path`; the temporary file is removed on any failure.
fn replace(
    path: &Path,
    contents: &str,
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let (tmp, mut file) = temporary(&dir, name)?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| match permissions {
            Some(p) => file.set_permissions(p),
            None => Ok(()),
        })
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A new file `.NAME.tmpPID.I` in `dir`, for the first `I` whose name is free.
fn temporary(dir: &Path, name: &std::ffi::OsStr) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = std::io::Error::other("no free temporary name");
    for i in 0..100 {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp{}.{i}", std::process::id()));
        let tmp = dir.join(tmp_name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
