//! Closed-loop load on a Postfix policy service over kept-open connections, for the §10
//! benchmark: each connection sends a request, waits for the answer, and sends the next.
//! Prints decisions/s and latency percentiles. Works against relaydesk and any other policy
//! server (postgrey) alike.
//!
//! With RATE (decisions/s over all connections), each connection paces its requests to its share
//! of that rate: the latency at a given throughput rather than at saturation. Latency is
//! measured from each request's send (the write) to the end of its answer; paced, it is also
//! measured from the moment the request was due (`p99_us_from_due`), which counts any time a
//! connection fell behind its schedule (coordinated omission) and so is never smaller.
//!
//! cargo run --release --example policy_load -- ADDR CONNECTIONS SECONDS [RATE]

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn request(n: u64) -> String {
    // Client addresses from the benchmark range: a few hundred distinct ones, like a busy MTA.
    let ip = format!("198.18.{}.{}", (n / 250) % 4, n % 250 + 1);
    format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address={ip}\nclient_name=unknown\nreverse_client_name=unknown\n\
         helo_name=pc{n}\nsender=user{n}@example.jp\nrecipient=friend{n}@example.net\n\
         recipient_count=0\nqueue_id=\ninstance=bench.{n}\nsize=0\n\n"
    )
}

async fn worker(
    addr: String,
    id: u64,
    until: Instant,
    interval: Option<Duration>,
) -> std::io::Result<(Vec<u32>, Vec<u32>)> {
    let mut stream = TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::with_capacity(100_000);
    let mut from_due = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut n = id * 1_000_000;
    let mut next =
        Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64((id % 97) as f64 / 97.0));
    while Instant::now() < until {
        let due = next;
        if let Some(interval) = interval {
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let started = Instant::now();
        stream.write_all(request(n).as_bytes()).await?;
        let mut filled = 0;
        loop {
            let read = stream.read(&mut buf[filled..]).await?;
            if read == 0 {
                return Err(std::io::Error::other("server closed the connection"));
            }
            filled += read;
            if buf[..filled].ends_with(b"\n\n") {
                break;
            }
        }
        latencies.push(started.elapsed().as_micros() as u32);
        if interval.is_some() {
            from_due.push(due.elapsed().as_micros() as u32);
        }
        n += 1;
    }
    Ok((latencies, from_due))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:10040".into());
    let connections: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let rate: Option<f64> = args
        .get(4)
        .and_then(|a| a.parse().ok())
        .filter(|r: &f64| *r > 0.0);
    let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..connections)
        .map(|id| tokio::spawn(worker(addr.clone(), id, until, interval)))
        .collect();
    let (mut all, mut due) = (Vec::new(), Vec::new());
    for h in handles {
        let (sent, scheduled) = h.await.map_err(std::io::Error::other)??;
        all.extend(sent);
        due.extend(scheduled);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    due.sort_unstable();
    let pct = |v: &[u32], p: f64| {
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"addr\":\"{addr}\",\"connections\":{connections},\"rate\":{},\"decisions\":{},\"per_second\":{:.0},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\"p99_us_from_due\":{}}}",
        rate.unwrap_or(0.0),
        all.len(),
        all.len() as f64 / elapsed,
        pct(&all, 0.50),
        pct(&all, 0.99),
        all.last().copied().unwrap_or(0),
        pct(&due, 0.99)
    );
    Ok(())
}
