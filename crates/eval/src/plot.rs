//! The report's plots: procedural Δ by student before and after SFT (the study's "W" shape)
//! and pass rates with their Wilson intervals. Drawn once with `plotters` as SVG, then
//! rasterised to PNG with `resvg`, so the two files always show the same thing.

use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::episode::{Condition, Stage};
use crate::error::{EvalError, Result, io};
use crate::report::Report;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 520;
const PRE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const POST: RGBColor = RGBColor(0xd6, 0x27, 0x28);

/// Writes `delta{suffix}.{svg,png}` and `pass_rates{suffix}.{svg,png}` for `path` (a scoring
/// path of the report) into `dir`, and returns the files written.
pub fn write_plots(report: &Report, path: &str, dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (name, svg) in [("delta", delta_svg(report, path)?), ("pass_rates", rates_svg(report, path)?)] {
        let name = format!("{name}{suffix}");
        let svg_path = dir.join(format!("{name}.svg"));
        std::fs::write(&svg_path, &svg).map_err(io(&svg_path))?;
        let png_path = dir.join(format!("{name}.png"));
        std::fs::write(&png_path, svg_to_png(&svg, &png_path)?).map_err(io(&png_path))?;
        written.extend([svg_path, png_path]);
    }
    Ok(written)
}

/// Students in the order they first appear in the report.
fn students(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &report.rates {
        if !out.contains(&r.student) {
            out.push(r.student.clone());
        }
    }
    out
}

fn plot_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Plot { path: PathBuf::from("<svg>"), message: e.to_string() }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One chart over named categories at x = 0, 1, ...: frame, caption, axes and legend here,
/// the series from `draw`.
fn categorical_svg(
    title: &str,
    categories: &[String],
    y: std::ops::Range<f64>,
    y_desc: &str,
    draw: impl FnOnce(&mut Chart) -> Result<()>,
) -> Result<String> {
    let n = categories.len().max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(60)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..n - 0.5, y)
            .map_err(plot_err)?;
        // Labels only at the integer positions; plotters' "nice" ticks include them.
        let label = |x: &f64| {
            let i = x.round();
            let at_category = (x - i).abs() < 1e-6 && i >= 0.0;
            if at_category { categories.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(1)
            .x_labels(4 * categories.len() + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| format!("{:.2}", if y.abs() < 1e-9 { 0.0 } else { *y }))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .y_desc(y_desc)
            .draw()
            .map_err(plot_err)?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Points with vertical intervals `(x, low, value, high)` in one colour.
fn intervals(chart: &mut Chart, pts: &[(f64, f64, f64, f64)], color: RGBColor) -> Result<()> {
    chart
        .draw_series(pts.iter().map(|p| ErrorBar::new_vertical(p.0, p.1, p.2, p.3, color.filled(), 10)))
        .map_err(plot_err)?;
    chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.2), 4, color.filled()))).map_err(plot_err)?;
    Ok(())
}

/// Δ (curated − baseline) per student, pre and post SFT: the pooled Δ with its skill-clustered
/// 95% interval, and each training seed's Δ as a small open circle beside it.
pub fn delta_svg(report: &Report, path: &str) -> Result<String> {
    let names = students(report);
    let rows: Vec<_> = report.deltas.iter().filter(|d| d.judge == path).collect();
    let lo = rows.iter().map(|d| d.skill_ci_low.min(d.delta)).fold(0.0f64, f64::min).min(-0.05) - 0.02;
    let hi = rows.iter().map(|d| d.skill_ci_high.max(d.delta)).fold(0.0f64, f64::max).max(0.05) + 0.02;
    let title = format!("Procedural Δ = pass(curated) − pass(baseline)  [{path}]");
    let several_seeds = rows.iter().any(|d| d.seed.is_some());
    let y_desc = if several_seeds {
        "Δ (95% skill-clustered CI; open circles: seeds)"
    } else {
        "Δ (95% skill-clustered bootstrap CI)"
    };
    categorical_svg(&title, &names, lo..hi, y_desc, |chart| {
        let n = names.len().max(1) as f64;
        chart.draw_series(LineSeries::new([(-0.5, 0.0), (n - 0.5, 0.0)], BLACK.mix(0.4))).map_err(plot_err)?;
        for (stage, color, dx) in [(Stage::Pre, PRE, -0.06), (Stage::Post, POST, 0.06)] {
            let pts: Vec<(f64, f64, f64, f64)> = names
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    rows.iter()
                        .find(|d| &d.student == s && d.stage == stage && d.seed.is_none())
                        .map(|d| (i as f64 + dx, d.skill_ci_low, d.delta, d.skill_ci_high))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.2)), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(format!("{stage}-SFT"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            intervals(chart, &pts, color)?;
            // Per-seed Δ, just outside the pooled point.
            let seeds: Vec<(f64, f64)> = names
                .iter()
                .enumerate()
                .flat_map(|(i, s)| {
                    rows.iter()
                        .filter(move |d| &d.student == s && d.stage == stage && d.seed.is_some())
                        .map(move |d| (i as f64 + 2.5 * dx, d.delta))
                })
                .collect();
            chart.draw_series(seeds.into_iter().map(|p| Circle::new(p, 3, color.stroke_width(1)))).map_err(plot_err)?;
        }
        Ok(())
    })
}

/// Pass rates per student and stage, curated vs baseline, with Wilson 95% intervals.
pub fn rates_svg(report: &Report, path: &str) -> Result<String> {
    let mut groups: Vec<(String, Stage)> = Vec::new();
    for r in report.rates.iter().filter(|r| r.judge == path) {
        let g = (r.student.clone(), r.stage);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    // Students in report order, pre-SFT before post-SFT within each.
    let order = students(report);
    groups.sort_by_key(|(s, st)| (order.iter().position(|o| o == s), *st != Stage::Pre));
    let labels: Vec<String> = groups.iter().map(|(s, st)| format!("{s} {st}")).collect();
    let title = format!("Pass rate with Wilson 95% interval  [{path}]");
    categorical_svg(&title, &labels, 0.0..1.0, "pass rate", |chart| {
        for (condition, color, dx) in [(Condition::Baseline, PRE, -0.08), (Condition::Curated, POST, 0.08)] {
            let pts: Vec<(f64, f64, f64, f64)> = groups
                .iter()
                .enumerate()
                .filter_map(|(i, (s, st))| {
                    report
                        .rates
                        .iter()
                        .find(|r| r.judge == path && &r.student == s && r.stage == *st && r.condition == condition)
                        .map(|r| (i as f64 + dx, r.wilson_low, r.rate, r.wilson_high))
                })
                .collect();
            // An empty series carries the legend entry.
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(plot_err)?
                .label(condition.name())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
            intervals(chart, &pts, color)?;
        }
        Ok(())
    })
}

/// Rasterises an SVG to PNG bytes at its own size. Text uses the system's fonts (DejaVu,
/// Liberation, ...); on a machine with none the labels are left out, the marks are not.
pub fn svg_to_png(svg: &str, path: &Path) -> Result<Vec<u8>> {
    let err = |message: String| EvalError::Plot { path: path.to_path_buf(), message };
    let mut opt = resvg::usvg::Options::default();
    let fonts = opt.fontdb_mut();
    fonts.load_system_fonts();
    // The SVG asks for the generic `sans-serif`, which fontdb maps to Arial: point it at a
    // family this machine has.
    let families: Vec<String> = fonts.faces().flat_map(|f| f.families.iter().map(|(name, _)| name.clone())).collect();
    let preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"];
    if let Some(family) = preferred
        .iter()
        .find(|p| families.iter().any(|f| f == *p))
        .map(|p| p.to_string())
        .or_else(|| families.first().cloned())
    {
        fonts.set_sans_serif_family(family);
    }
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| err(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| err("empty image".into()))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| err(e.to_string()))
}
