//! A simulated ISP mail log. (Placeholder API; the simulator lands separately.)

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::domain::Epoch;

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    pub customers: usize,
    pub start: Epoch,
    pub hours: u32,
    pub window: i64,
    pub lookback: i64,
    pub domain: String,
    pub tz: chrono_tz::Tz,
    pub host: String,
    pub target_lines: Option<usize>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            customers: 2000,
            start: 0,
            hours: 24,
            window: 1800,
            lookback: 86400,
            domain: "example.jp".into(),
            tz: chrono_tz::Asia::Tokyo,
            host: "mail".into(),
            target_lines: None,
        }
    }
}

pub struct Summary;
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("")
    }
}

pub fn write_day(_dir: &Path, _opts: &SimOptions) -> std::io::Result<Summary> {
    Ok(Summary)
}

pub fn run_live(
    _path: &Path,
    _opts: &SimOptions,
    _speed: f64,
    _stop: &AtomicBool,
) -> std::io::Result<()> {
    Ok(())
}
