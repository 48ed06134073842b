//! The abuse watch: runs the pure detector (`abuse`) over every committed batch, records the
//! alerts it raises, and — with `abuse.auto_block` — blocks the address or suspends the login
//! at once, until staff lift it.

use std::sync::{Arc, Mutex};

use crate::abuse::{AlertKind, Detector};
use crate::config::Config;
use crate::domain::Event;
use crate::ingest::writer::FollowUp;
use crate::ingest::writer::Writer;
use crate::store::changes::{self, Change};
use crate::store::restrictions::{self, Kind};
use crate::store::{Db, alerts};

/// Who automatic blocks are recorded as made by.
pub const AUTO: &str = "relaydesk:auto-block";

pub struct Watch {
    db: Db,
    gap: i64,
    auto_block: bool,
    detector: Mutex<Detector>,
}

impl Watch {
    pub fn new(db: Db, config: &Config) -> Self {
        let a = &config.abuse;
        Watch {
            db,
            gap: a.burst_window.0,
            auto_block: a.auto_block,
            detector: Mutex::new(Detector::new(
                a.burst_relays,
                a.burst_window.0,
                config.relay.window.0,
            )),
        }
    }

    /// Subscribes the watch to everything `writer` commits.
    pub fn attach(self: &Arc<Self>, writer: &Writer) {
        let watch = self.clone();
        writer.subscribe(Arc::new(move |events| watch.observe(events)));
    }

    /// Runs the detector over `events`; the bursts it found are stored by the returned work.
    pub fn observe(self: &Arc<Self>, events: &[Event]) -> Option<FollowUp> {
        let bursts = {
            let mut detector = self.detector.lock().unwrap_or_else(|e| e.into_inner());
            let bursts = detector.observe(events);
            if let Some(last) = events.last() {
                detector.prune(last.at());
            }
            bursts
        };
        if bursts.is_empty() {
            return None;
        }
        let watch = self.clone();
        Some(Box::pin(async move {
            if let Err(e) = watch.store(&bursts).await {
                tracing::error!(error = %e, "abuse alerts could not be stored");
            }
        }))
    }

    async fn store(&self, bursts: &[crate::abuse::Burst]) -> crate::store::Result<()> {
        let now = chrono::Utc::now().timestamp();
        let mut conn = self.db.conn().await?;
        let mut tx = conn.begin().await?;
        for burst in bursts {
            let (id, opened) = alerts::record(&mut tx, burst, self.gap, now).await?;
            if opened {
                tracing::warn!(kind = burst.kind.as_str(), subject = %burst.subject, count = burst.count, "abuse alert opened");
            }
            if opened && self.auto_block {
                let reason = format!("abuse alert {id}: {} relay attempts", burst.count);
                let host_bits = if burst.subject.contains(':') { 128 } else { 32 };
                let (kind, subject) = match burst.kind {
                    AlertKind::Ip => (Kind::Block, format!("{}/{host_bits}", burst.subject)),
                    AlertKind::Login => (Kind::Suspension, burst.subject.clone()),
                };
                restrictions::add(&mut tx, kind, &subject, &reason, AUTO, now, None).await?;
                alerts::mark_auto_blocked(&mut tx, id).await?;
                changes::notify(&mut tx, Change::Authorization).await?;
            }
        }
        tx.commit().await
    }
}
