//! The syslog receiver, for sites that forward logs from many servers: RFC 3164 and RFC 5424
//! messages over UDP (one per datagram) and TCP (newline-delimited or octet-counted, RFC 6587).
//! Messages go through the same parsers as file lines and are committed in small batches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use super::pipeline::{Batch, Pipeline};
use super::writer::Writer;
use crate::config::Config;

/// The source name received messages are committed under.
pub const SOURCE: &str = "syslog";
/// The longest message accepted; longer ones are cut there.
const MAX_MESSAGE: usize = 64 * 1024;

/// The committer: the sender that receivers hand messages to, and the task that parses and
/// commits them in batches (serve runs it with its other parts).
pub fn committer(
    config: Arc<Config>,
    writer: Arc<Writer>,
) -> (
    mpsc::Sender<Vec<u8>>,
    impl std::future::Future<Output = std::io::Result<()>>,
) {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(65_536);
    (tx, commit_loop(config, writer, rx))
}

async fn commit_loop(
    config: Arc<Config>,
    writer: Arc<Writer>,
    mut rx: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let state = match writer.db().conn().await {
        Ok(mut c) => crate::store::ingest::source(&mut c, SOURCE)
            .await
            .ok()
            .flatten()
            .map(|s| s.state)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let mut pipeline = Pipeline::new(&config, chrono::Utc::now().timestamp(), &state);
    let mut batch = Batch::default();
    let mut open = true;
    while open {
        let deadline = Instant::now() + Duration::from_millis(config.ingest.poll_ms);
        while batch.counts.lines < config.ingest.batch_lines as i64 {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some(line)) => pipeline.line(&line, &mut batch),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        if batch.counts.lines == 0 {
            continue;
        }
        pipeline.parser.set_now(chrono::Utc::now().timestamp());
        let state = pipeline.correlator.save();
        if let Err(e) = writer.commit(SOURCE, &state, &batch, None).await {
            tracing::error!(error = %e, lines = batch.counts.lines, "syslog messages lost: store refused them");
        }
        batch.clear();
    }
    Ok(())
}

pub async fn serve_udp(socket: UdpSocket, tx: mpsc::Sender<Vec<u8>>) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (n, _) = socket.recv_from(&mut buf).await?;
        let msg = trim_message(&buf[..n]);
        if !msg.is_empty() && tx.send(msg.to_vec()).await.is_err() {
            return Ok(());
        }
    }
}

pub async fn serve_tcp(listener: TcpListener, tx: mpsc::Sender<Vec<u8>>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Err(e) = read_stream(stream, &tx).await {
                tracing::debug!(%peer, error = %e, "syslog connection ended");
            }
        });
    }
}

async fn read_stream(
    stream: tokio::net::TcpStream,
    tx: &mpsc::Sender<Vec<u8>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        let first = reader.fill_buf().await?;
        if first.is_empty() {
            return Ok(());
        }
        if first[0].is_ascii_digit() {
            // Octet counting: "LEN SP MSG".
            let mut len_text = Vec::new();
            (&mut reader)
                .take(8)
                .read_until(b' ', &mut len_text)
                .await?;
            let len: usize = std::str::from_utf8(&len_text)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .filter(|&n| n <= MAX_MESSAGE)
                .ok_or_else(|| std::io::Error::other("bad octet count"))?;
            line.resize(len, 0);
            reader.read_exact(&mut line).await?;
        } else {
            (&mut reader)
                .take(MAX_MESSAGE as u64)
                .read_until(b'\n', &mut line)
                .await?;
        }
        let msg = trim_message(&line);
        if !msg.is_empty() && tx.send(msg.to_vec()).await.is_err() {
            return Ok(());
        }
    }
}

fn trim_message(msg: &[u8]) -> &[u8] {
    let end = msg
        .iter()
        .rposition(|&b| b != b'\n' && b != b'\r' && b != 0)
        .map_or(0, |i| i + 1);
    &msg[..end]
}

/// Binds the configured receivers.
pub async fn bind(config: &Config) -> std::io::Result<(Option<UdpSocket>, Option<TcpListener>)> {
    let udp = match config.syslog.udp {
        Some(addr) => Some(UdpSocket::bind(addr).await?),
        None => None,
    };
    let tcp = match config.syslog.tcp {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    Ok((udp, tcp))
}
