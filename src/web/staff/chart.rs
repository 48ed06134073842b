//! Server-rendered bar charts: per-hour counts become bar geometry here, and the template only
//! writes it out as SVG. No script, no library.

use crate::config::Config;
use crate::domain::Epoch;

pub const WIDTH: i64 = 480;
pub const HEIGHT: i64 = 120;
/// Room under the bars for the hour labels.
const AXIS: i64 = 14;

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    /// `05:00 12`: shown as the bar's tooltip and read by screen readers.
    pub title: String,
}

pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    /// (x, label) under every sixth bar.
    pub ticks: Vec<(i64, String)>,
    pub max: i64,
    pub total: i64,
}

/// A chart of the `hours` whole hours up to the one holding `now`, from (hour start, count)
/// pairs; hours missing from `series` are zero.
pub fn hourly(series: &[(Epoch, i64)], now: Epoch, hours: i64, config: &Config) -> Chart {
    let last = now - now.rem_euclid(3600);
    let first = last - (hours - 1) * 3600;
    let counts: Vec<(Epoch, i64)> = (0..hours)
        .map(|i| {
            let h = first + i * 3600;
            let n = series
                .iter()
                .filter(|(at, _)| *at == h)
                .map(|(_, n)| n)
                .sum();
            (h, n)
        })
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let slot = WIDTH / hours.max(1);
    let room = HEIGHT - AXIS;
    let label = |h: Epoch| {
        chrono::DateTime::from_timestamp(h, 0)
            .map(|t| {
                t.with_timezone(&config.timezone.0)
                    .format("%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (h, n))| {
            let height = if max == 0 {
                0
            } else {
                (n * room / max).max(i64::from(*n > 0))
            };
            Bar {
                x: i as i64 * slot + 1,
                y: room - height,
                w: (slot - 2).max(1),
                h: height,
                title: format!("{} {n}", label(*h)),
            }
        })
        .collect();
    let ticks = counts
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 6 == 0)
        .map(|(i, (h, _))| (i as i64 * slot + 1, label(*h)))
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        bars,
        ticks,
        max,
        total: counts.iter().map(|(_, n)| n).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_without_activity_are_zero_and_the_busiest_fills_the_chart() {
        let now: i64 = 1_773_378_000 + 1800; // half past an hour
        let hour = now - now.rem_euclid(3600);
        let c = hourly(&[(hour, 10), (hour - 3600, 5)], now, 24, &Config::default());
        assert_eq!(c.bars.len(), 24);
        assert_eq!(c.max, 10);
        assert_eq!(c.total, 15);
        assert_eq!(c.bars[23].h, HEIGHT - AXIS);
        assert_eq!(c.bars[22].h, (HEIGHT - AXIS) / 2);
        assert_eq!(c.bars[0].h, 0);
        assert_eq!(c.ticks.len(), 4);
    }
}
