//! Bar charts drawn on the server as inline SVG: no script, no external file, readable without
//! images. This module computes the geometry; `templates/chart.html` only prints it, on the
//! customer status page and the staff dashboard alike. Each chart also carries its numbers as
//! rows for a text table, and a one-line summary for screen readers.

use crate::config::Config;
use crate::domain::Epoch;
use crate::web::i18n::Tr;
use crate::web::i18n::fill;

/// The drawing area, in SVG user units (the chart scales to its container). Sized so that its
/// text (14 units, `.chart text` in the stylesheet) renders at 12 px or more on a 390 px phone,
/// where the chart is about 324 px wide, and stays moderate at its widest (36rem).
pub const WIDTH: i64 = 340;
pub const HEIGHT: i64 = 170;
const LEFT: i64 = 40;
const RIGHT: i64 = 24;
const TOP: i64 = 20;
const BOTTOM: i64 = 26;
/// A bar more than this many times the next highest is cut at the top of the scale, which is
/// then set by the other bars, and its value written on it: one spike (a spam burst) must not
/// flatten every other hour to nothing.
const SPIKE: i64 = 3;

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// "14:00: 12", shown as the bar's tooltip.
    pub label: String,
    /// The count, written above a bar cut at the top of the scale (a spike).
    pub cut: Option<i64>,
}

pub struct AxisLabel {
    pub x: i64,
    pub text: String,
}

pub struct Chart {
    /// Unique on the page, for `aria-labelledby`.
    pub id: &'static str,
    pub title: String,
    /// The numbers in one sentence, for screen readers.
    pub summary: String,
    pub bars: Vec<Bar>,
    pub labels: Vec<AxisLabel>,
    /// The top of the scale, printed at the axis.
    pub max: i64,
    /// Whether a spike was cut at the top of the scale (said under the chart).
    pub cut: bool,
    /// (period, count), for the text table.
    pub rows: Vec<(String, i64)>,
    /// Extra class for the bars (`alt` draws them in the second colour).
    pub class: &'static str,
    pub width: i64,
    pub height: i64,
    pub base_y: i64,
    pub left: i64,
    pub top: i64,
    /// What the axis spans, with the date and the zone (hourly charts).
    pub axis: String,
}

/// A chart of `series` (label, count), with every `label_every`th label under the axis.
/// `summary` receives (total, highest count, label of the highest).
pub fn bars(
    id: &'static str,
    title: String,
    series: &[(String, i64)],
    label_every: usize,
    summary: impl FnOnce(i64, i64, &str) -> String,
) -> Chart {
    let max = series.iter().map(|(_, c)| *c).max().unwrap_or(0);
    let mut sorted: Vec<i64> = series.iter().map(|(_, c)| *c).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let next = sorted.get(1).copied().unwrap_or(0);
    // A spike is cut: the scale is the other bars' (with room above them).
    let scale = if next > 0 && max > SPIKE * next {
        next + (next + 3) / 4
    } else {
        max
    };
    // A scale of at least 1 keeps an empty chart flat instead of dividing by zero.
    let scale = scale.max(1);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let n = series.len().max(1) as i64;
    let slot = plot_width / n;
    let gap = (slot / 5).max(1);
    let base_y = HEIGHT - BOTTOM;
    let bars = series
        .iter()
        .enumerate()
        .map(|(i, (label, count))| {
            let cut = (*count > scale).then_some(*count);
            let height = (*count).clamp(0, scale) * plot_height / scale;
            // Anything above zero stays visible.
            let height = if *count > 0 { height.max(1) } else { 0 };
            Bar {
                x: LEFT + i as i64 * slot + gap / 2,
                y: base_y - height,
                width: slot - gap,
                height,
                label: format!("{label}: {count}"),
                cut,
            }
        })
        .collect();
    let labels = series
        .iter()
        .enumerate()
        .filter(|(i, _)| label_every > 0 && i % label_every == 0)
        .map(|(i, (label, _))| AxisLabel {
            // Centred under its bar (the template anchors the middle), never past the edges.
            x: (LEFT + i as i64 * slot + slot / 2).clamp(LEFT + 16, WIDTH - 20),
            text: label.clone(),
        })
        .collect();
    let total = series.iter().map(|(_, c)| *c).sum();
    let peak = series
        .iter()
        .find(|(_, c)| *c == max)
        .map(|(l, _)| l.as_str())
        .unwrap_or("");
    Chart {
        id,
        title,
        summary: summary(total, max, peak),
        bars,
        labels,
        max: scale.min(max.max(1)),
        cut: scale < max,
        rows: series.to_vec(),
        class: "",
        width: WIDTH,
        height: HEIGHT,
        base_y,
        left: LEFT,
        top: TOP,
        axis: String::new(),
    }
}

/// A chart of per-hour counts, (hour start, count) oldest first, labelled in the configured
/// zone with every sixth hour under the axis and summarised in `tr`'s language.
pub fn hourly(
    id: &'static str,
    title: &str,
    series: &[(Epoch, i64)],
    config: &Config,
    tr: Tr,
) -> Chart {
    let labelled: Vec<(String, i64)> = series
        .iter()
        .map(|(t, c)| (crate::time::local(*t, config.timezone.0, "%H:%M"), *c))
        .collect();
    let mut chart = bars(id, title.to_string(), &labelled, 6, |total, max, at| {
        let (total, max) = (total.to_string(), max.to_string());
        fill(
            tr.t("chart.summary"),
            &[("total", &total), ("max", &max), ("at", at)],
        )
    });
    // The axis's date and zone: "2026-12-05 15:00 – 12-06 14:00 (Asia/Tokyo)".
    let day = |t: Epoch, pattern: &str| crate::time::local(t, config.timezone.0, pattern);
    if let (Some((first, _)), Some((last, _))) = (series.first(), series.last()) {
        chart.axis = format!(
            "{} – {} ({})",
            day(*first, "%Y-%m-%d %H:%M"),
            day(*last, "%m-%d %H:%M"),
            config.timezone.0.name()
        );
    }
    chart
}

impl Chart {
    pub fn alt(mut self) -> Chart {
        self.class = "alt";
        self
    }

    /// The right end of the axis line.
    pub fn right(&self) -> i64 {
        self.width - RIGHT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(counts: &[i64]) -> Vec<(String, i64)> {
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{i:02}:00"), *c))
            .collect()
    }

    #[test]
    fn bars_scale_to_the_highest_count_and_stay_inside() {
        let chart = bars(
            "c",
            "t".into(),
            &series(&[0, 5, 10, 1]),
            2,
            |total, max, at| format!("{total} {max} {at}"),
        );
        assert_eq!(chart.summary, "16 10 02:00");
        assert_eq!(chart.bars.len(), 4);
        assert_eq!(chart.bars[0].height, 0);
        assert_eq!(chart.bars[2].height, HEIGHT - TOP - BOTTOM);
        assert_eq!(chart.bars[2].y, TOP);
        assert!(chart.bars[3].height >= 1, "small counts stay visible");
        for bar in &chart.bars {
            assert!(bar.x >= LEFT && bar.x + bar.width <= WIDTH - RIGHT);
            assert_eq!(bar.y + bar.height, chart.base_y);
        }
        assert_eq!(chart.labels.len(), 2);
        assert_eq!(chart.bars[1].label, "01:00: 5");
    }

    #[test]
    fn an_empty_series_draws_a_flat_chart() {
        let chart = bars("c", "t".into(), &series(&[0; 24]), 6, |t, m, _| {
            format!("{t}{m}")
        });
        assert!(chart.bars.iter().all(|b| b.height == 0));
        assert_eq!(chart.summary, "00");
        assert_eq!(chart.labels.len(), 4);
    }
}

#[cfg(test)]
mod spike_tests {
    use super::*;

    #[test]
    fn a_spike_is_cut_and_the_other_hours_keep_their_height() {
        let counts = [10, 12, 1495, 8, 11];
        let series: Vec<(String, i64)> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{i:02}:00"), *c))
            .collect();
        let chart = bars("c", "t".into(), &series, 1, |_, _, _| String::new());
        assert!(chart.cut);
        assert_eq!(
            chart.max, 15,
            "the scale is the other hours' (12 and a quarter more)"
        );
        assert_eq!(chart.bars[2].cut, Some(1495));
        let plot = HEIGHT - TOP - BOTTOM;
        assert_eq!(chart.bars[2].height, plot, "the spike fills the scale");
        assert!(chart.bars[1].height > plot / 2, "12 of 15: still readable");
        // No spike: nothing is cut.
        let flat: Vec<(String, i64)> = series.iter().take(2).cloned().collect();
        let chart = bars("c", "t".into(), &flat, 1, |_, _, _| String::new());
        assert!(!chart.cut && chart.bars.iter().all(|b| b.cut.is_none()));
        // Labels stay inside the drawing, the last one too.
        let day: Vec<(String, i64)> = (0..24).map(|h| (format!("{h:02}:00"), 1)).collect();
        let chart = bars("c", "t".into(), &day, 6, |_, _, _| String::new());
        assert!(
            chart
                .labels
                .iter()
                .all(|l| l.x >= LEFT && l.x + 20 <= WIDTH)
        );
    }
}
