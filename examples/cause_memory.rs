//! What the policy's cause memory costs per address held (§10, issue: ≤ 100 bytes at 1 M
//! addresses): fills a `CauseIndex` with ADDRESSES client addresses, each with a mail check by
//! one of LOGINS logins and every tenth with a failure, and prints the resident memory it added
//! and the time one refusal's evidence takes to read.
//!
//! cargo run --release --example cause_memory -- [ADDRESSES] [LOGINS]

use std::net::Ipv4Addr;
use std::time::Instant;

use relaydesk::causes::CauseIndex;
use relaydesk::domain::ClientIp;

/// Resident set size in bytes (Linux `/proc/self/statm`, pages of 4 KiB).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let addresses = args.first().copied().unwrap_or(1_000_000);
    let logins = args.get(1).copied().unwrap_or(addresses / 2).max(1);
    let t0 = 1_800_000_000i64;
    let index = CauseIndex::new(1800, 86400);
    let names: Vec<String> = (0..logins)
        .map(|i| format!("user{i:07}@example.jp"))
        .collect();
    let before = rss();
    let started = Instant::now();
    for i in 0..addresses {
        // Spread over 10.0.0.0/8 and beyond, like dynamic customer addresses.
        let ip = ClientIp::from(Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i as u32 * 7)));
        let at = t0 + (i as i64 % 86_400);
        index.login(ip, &names[i % logins], at);
        if i % 10 == 0 {
            index.failure(ip, Some(&names[(i * 3) % logins]), at + 5);
        }
    }
    let fill = started.elapsed();
    let added = rss().saturating_sub(before);
    let probes = 1_000_000;
    let started = Instant::now();
    let mut held = 0usize;
    for i in 0..probes {
        let ip = ClientIp::from(Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i as u32 * 7)));
        let ev = index.evidence(ip, "", Some(&names[i % logins]), None, None);
        held += ev.ip_logins.len();
    }
    let per_probe = started.elapsed().as_nanos() as f64 / probes as f64;
    println!(
        "addresses={} logins={} rss_added_bytes={added} bytes_per_address={:.1} fill_s={:.2} \
         evidence_ns={per_probe:.0} (held {held})",
        index.len(),
        index.logins(),
        added as f64 / index.len() as f64,
        fill.as_secs_f64(),
    );
}
