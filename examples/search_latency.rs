//! Staff search latency at size, for the §10 benchmark (`bench/web`): runs the helpdesk search
//! the way `/staff/search` does (the audit row, then `helpdesk::search::run` over the last 30
//! days) for N logins and N addresses from the seeded samples, timing each call end to end, and
//! prints one JSON line per kind with p50/p99/max in milliseconds.
//!
//! cargo run --release --example search_latency -- DB_URL SAMPLES_DIR [N]
//!
//! SAMPLES_DIR holds `logins.txt` and `ips.txt` (written by `seed_store --out`).

use std::time::Instant;

use anyhow::Context;
use relaydesk::config::Config;
use relaydesk::helpdesk::{self, customer::HISTORY, search};
use relaydesk::store::{Db, PoolSettings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: search_latency DB_URL SAMPLES_DIR [N]";
    let url = args.next().context(usage)?;
    let dir = std::path::PathBuf::from(args.next().context(usage)?);
    let n: usize = args.next().map_or(Ok(1000), |s| s.parse())?;
    let config = Config::default();
    let db = Db::open(&url, PoolSettings::new(1)).await?;
    let mut rng = fastrand::Rng::with_seed(11);
    for (kind, file) in [("login", "logins.txt"), ("ip", "ips.txt")] {
        let list = std::fs::read_to_string(dir.join(file))?;
        let keys: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
        let mut times = Vec::with_capacity(n);
        let mut rows = 0usize;
        for _ in 0..n {
            let key = keys[rng.usize(..keys.len())];
            let query = search::Query::parse(key).map_err(anyhow::Error::msg)?;
            let t = Instant::now();
            let now = chrono::Utc::now().timestamp();
            let found = db
                .run(async |c| {
                    helpdesk::audit(c, "bench", "search", key, None, None).await?;
                    search::run(c, &config, &query, now - HISTORY, now).await
                })
                .await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            rows += found.sessions.len() + found.rejections.len();
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "{{\"kind\":\"{kind}\",\"n\":{n},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"rows_per_search\":{:.1}}}",
            pct(0.5),
            pct(0.99),
            times[times.len() - 1],
            rows as f64 / n as f64
        );
    }
    Ok(())
}
