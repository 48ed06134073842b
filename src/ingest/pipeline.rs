//! Lines → a batch of events: parse each line, join Postfix's lines into relays, count what was
//! skipped. The batch is what the writer commits with its source position.

use std::collections::BTreeMap;

use super::correlate::Correlator;
use super::parse::{LineParser, Parsed};
use crate::config::Config;
use crate::domain::{Event, LoginRule};
use crate::store::ingest::LineCounts;

/// Events and counters gathered since the last commit.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    pub counts: LineCounts,
    pub by_kind: BTreeMap<&'static str, u64>,
}

impl Batch {
    pub fn clear(&mut self) {
        self.events.clear();
        self.counts = LineCounts::default();
        self.by_kind.clear();
    }
}

/// Parser plus correlation state for one source.
pub struct Pipeline {
    pub parser: LineParser,
    pub correlator: Correlator,
    local_domains: Vec<String>,
    /// Logins are stored in their canonical form: one account, one name.
    logins: LoginRule,
}

impl Pipeline {
    pub fn new(config: &Config, now: i64, state: &str) -> Self {
        Pipeline {
            parser: LineParser::new(config.timezone.0, now),
            correlator: Correlator::restore(state),
            local_domains: config.relay.local_domains.clone(),
            logins: config.relay.login_rule(),
        }
    }

    /// Parses one line (without its newline) into `batch`.
    pub fn line(&mut self, line: &[u8], batch: &mut Batch) {
        batch.counts.lines += 1;
        match self.parser.parse(line) {
            Parsed::Event(mut event) => {
                self.logins.canonicalize(&mut event);
                if self.correlator.repeats(&event) {
                    // Counted already, from the auth process's lines of the same attempts.
                    batch.counts.skipped += 1;
                    return;
                }
                let local = &self.local_domains;
                let is_local = |d: &str| local.iter().any(|l| l.eq_ignore_ascii_case(d));
                if let Some(relay) = self.correlator.feed(&event, is_local) {
                    batch.counts.events += 1;
                    *batch.by_kind.entry(relay.kind()).or_default() += 1;
                    batch.events.push(relay);
                }
                batch.counts.events += 1;
                *batch.by_kind.entry(event.kind()).or_default() += 1;
                if stored(&event) {
                    batch.events.push(event);
                }
            }
            Parsed::Unrelated => batch.counts.skipped += 1,
            Parsed::Malformed => batch.counts.malformed += 1,
        }
    }
}

/// Queue bookkeeping events only feed the correlator; the store keeps what they produce.
fn stored(event: &Event) -> bool {
    !matches!(
        event,
        Event::QueueClient { .. }
            | Event::QueueFrom { .. }
            | Event::QueueTo { .. }
            | Event::QueueRemoved { .. }
    )
}
