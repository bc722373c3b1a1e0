//! SVG plots of the test-time scaling curves (plotters, SVG backend only: text is written as SVG
//! `<text>` elements, so no font library is needed), and atomic file writing.

use std::path::Path;

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

/// Writes `contents` to `path` atomically: a temporary file in the same directory, then a
/// rename, so a failure never leaves a half-written file.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let shown = path.display().to_string();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::in_file(&shown, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    std::fs::write(&tmp, contents)
        .map_err(|e| Error::in_file(&shown, format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::in_file(&shown, format!("cannot write: {e}"))
    })
}
