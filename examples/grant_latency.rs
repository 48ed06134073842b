//! Login line written → grant effective, for the §10 benchmark: appends a Dovecot login for a
//! fresh address to a followed log, then asks the policy service about that address every
//! millisecond until it answers OK. Prints latency percentiles over the trials.
//!
//! cargo run --release --example grant_latency -- LOG POLICY_ADDR TRIALS

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn ask(stream: &mut TcpStream, ip: &str) -> std::io::Result<bool> {
    let req = format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address={ip}\n\
         sender=bench@example.jp\nrecipient=friend@example.net\n\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; 1024];
    let mut filled = 0;
    while !buf[..filled].ends_with(b"\n\n") {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed"));
        }
        filled += n;
    }
    Ok(buf[..filled].starts_with(b"action=OK"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let log = args.get(1).expect("LOG path").clone();
    let addr = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:10040".into());
    let trials: u32 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(200);
    let mut stream = TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::new();
    let run = std::process::id() % 200;
    for i in 0..trials {
        let ip = format!("198.19.{}.{}", run, i % 250 + 1 + (i / 250));
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f%:z");
        let line = format!(
            "{now} mail dovecot: pop3-login: Login: user=<bench{i}>, method=PLAIN, rip={ip}, lip=192.0.2.25, mpid={i}, session=<b{i}>\n"
        );
        let started = Instant::now();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)?
            .write_all(line.as_bytes())?;
        loop {
            if ask(&mut stream, &ip).await? {
                break;
            }
            if started.elapsed() > Duration::from_secs(5) {
                return Err(std::io::Error::other(format!("{ip}: no grant after 5 s")));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed().as_millis() as u32);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{{\"trials\":{trials},\"p50_ms\":{},\"p99_ms\":{},\"max_ms\":{}}}",
        pct(0.5),
        pct(0.99),
        latencies.last().unwrap()
    );
    Ok(())
}
