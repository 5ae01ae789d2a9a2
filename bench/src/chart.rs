//! The results drawn as one PNG: six bar charts, one bar per server.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::report::{mib, Measurement, Results};

/// TrueType fonts tried in turn for the labels (Debian's fonts-dejavu-core first).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

const COLORS: [RGBColor; 5] = [
    RGBColor(120, 160, 210),
    RGBColor(70, 120, 190),
    RGBColor(30, 70, 140),
    RGBColor(220, 170, 60),
    RGBColor(60, 160, 90),
];

/// One panel: a title, and one value per server (`None` where it was not measured).
struct Panel {
    title: String,
    values: Vec<Option<f64>>,
}

/// Draws the chart to `path`.
pub fn draw(results: &Results, path: &Path) -> Result<(), String> {
    register_font()?;
    let panels = panels(results);
    let root = BitMapBackend::new(path, (1500, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(
            "weblab beside python http.server and nginx (loopback, 2 cores)",
            ("sans-serif", 26),
        )
        .map_err(|e| e.to_string())?;
    for (area, panel) in root.split_evenly((2, 3)).iter().zip(&panels) {
        draw_panel(area, panel, &results.short_names)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn register_font() -> Result<(), String> {
    let path = FONTS
        .iter()
        .find(|p| Path::new(p).is_file())
        .ok_or("no TrueType font found (apt-get install fonts-dejavu-core)")?;
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    // plotters keeps fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{path}: not a usable font"))
}

fn panels(results: &Results) -> Vec<Panel> {
    let scenario = |key: &str, title: &str, figure: fn(&Measurement) -> f64| Panel {
        title: title.to_string(),
        values: results
            .scenarios
            .iter()
            .find(|(s, _)| s.key == key)
            .map_or(vec![None; results.names.len()], |(_, row)| {
                row.iter().map(|m| m.as_ref().map(figure)).collect()
            }),
    };
    vec![
        scenario(
            "small_keep_alive",
            "1 KiB keep-alive: req/s (higher is better)",
            |m| m.requests_per_second,
        ),
        scenario(
            "small_close",
            "1 KiB Connection: close: req/s (higher is better)",
            |m| m.requests_per_second,
        ),
        scenario("big_file", "100 MiB: MB/s (higher is better)", |m| {
            m.megabytes_per_second
        }),
        scenario(
            "small_keep_alive",
            "1 KiB keep-alive: CPU us/request (lower is better)",
            |m| m.cpu_us_per_request(),
        ),
        scenario("big_file", "100 MiB: CPU ms/GB (lower is better)", |m| {
            m.cpu_ms_per_gb()
        }),
        Panel {
            title: "peak memory, 4 x 100 MiB downloads: MiB (lower is better)".into(),
            values: results
                .memory
                .iter()
                .map(|m| m.as_ref().map(|m| mib(m.peak_kib)))
                .collect(),
        },
    ]
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    names: &[String],
) -> Result<(), String> {
    let max = panel.values.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    let top = if max > 0.0 { max * 1.2 } else { 1.0 };
    let n = names.len();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                names.get(*i).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .y_label_formatter(&|v| short_number(*v))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    let bars = panel.values.iter().enumerate().filter_map(|(i, v)| {
        let v = (*v)?;
        let color = COLORS[i % COLORS.len()];
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), v),
            ],
            color.filled(),
        );
        bar.set_margin(0, 0, 10, 10);
        Some(bar)
    });
    chart.draw_series(bars).map_err(|e| e.to_string())?;
    let labels = panel.values.iter().enumerate().filter_map(|(i, v)| {
        let v = (*v)?;
        Some(Text::new(
            short_number(v),
            (SegmentValue::CenterOf(i), v),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom)),
        ))
    });
    chart.draw_series(labels).map_err(|e| e.to_string())?;
    Ok(())
}

/// `123456.0` as `123k`, `1.5` as `1.5`.
fn short_number(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.0}k", v / 1e3),
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        0.0 => "0".to_string(),
        _ => format!("{v:.2}"),
    }
}
