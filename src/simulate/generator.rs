//! The generator's state and its plan for one period: who wants to send what, which daily or
//! live scenarios run, the server's grant decision on every send, background mail, and the
//! merge of all lines into time order.

use std::collections::{HashMap, HashSet};

use super::addresses::{InSender, Pools, in_senders};
use super::customers::{Customer, new_customer};
use super::mix::Mix;
use super::truth::{History, RelayTally};
use super::{SimLine, SimOptions, US};
use crate::domain::{ClientIp, Epoch};

/// A client's wish to relay in one SMTP session; on port 25 the server decides when the
/// period's logins are known.
pub(super) struct Intent {
    pub(super) t_us: i64,
    pub(super) ip: ClientIp,
    pub(super) sender: String,
    /// The recipients of each message of the session (a client sends its whole outbox).
    pub(super) msgs: Vec<Vec<String>>,
    pub(super) helo: String,
    /// Whose credentials the client holds: the login whose grant it relays on, or its SMTP
    /// AUTH user. None for outsiders.
    pub(super) login: Option<String>,
    /// Authenticates by SMTP AUTH on the submission port instead of relying on a grant.
    pub(super) smtp_auth: bool,
}

/// Counts for the `Summary`.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) customers: usize,
    pub(super) logins: usize,
    pub(super) failed_logins: usize,
    pub(super) accepted_relays: usize,
    pub(super) inbound: usize,
    pub(super) smtp_auth_failures: usize,
    /// Lines written, by kind.
    pub(super) mix: Mix,
}

/// Inbound messages per customer and day (fewer at night).
const INBOUND_PER_DAY: f64 = 7.5;

pub(super) struct Gen {
    pub(super) opts: SimOptions,
    pub(super) rng: fastrand::Rng,
    pub(super) customers: Vec<Customer>,
    pub(super) pools: Pools,
    /// Lines of the period being generated, in any order until `range` sorts them.
    pub(super) out: Vec<SimLine>,
    pub(super) hist: History,
    /// Live mode: sends due after the end of a chunk, for the next one.
    pending: Vec<Intent>,
    /// Live mode: lines of flows that run past the end of a chunk, for the next one.
    carry: Vec<SimLine>,
    /// (time, client, sender, recipient) of every logged relay rejection.
    pub(super) rejections: Vec<(Epoch, ClientIp, String, String)>,
    pub(super) qid: u64,
    /// The last dovecot mail process id, counted up as dovecot does.
    pub(super) mpid: u32,
    /// The zone's UTC offset per quarter hour, cached (looking it up is slow).
    pub(super) offsets: HashMap<i64, i32>,
    pub(super) qmgr_pid: u32,
    pub(super) cleanup_pids: [u32; 3],
    pub(super) smtp_pids: [u32; 4],
    pub(super) lmtp_pids: [u32; 2],
    pub(super) in_senders: Vec<InSender>,
    pub(super) spammer_ips: Vec<ClientIp>,
    pub(super) stolen: Vec<String>,
    pub(super) thief_ips: Vec<ClientIp>,
    pub(super) relays: RelayTally,
    pub(super) stats: Stats,
}

impl Gen {
    pub(super) fn new(opts: &SimOptions) -> Gen {
        let mut rng = fastrand::Rng::with_seed(opts.seed);
        let mut pools = Pools::default();
        let mut taken = HashSet::new();
        let customers = (0..opts.customers)
            .map(|i| new_customer(i, opts, &mut rng, &mut pools, &mut taken))
            .collect();
        // Draw order matters: the same seed must give the same log.
        let qmgr_pid = rng.u32(900..2000);
        let cleanup_pids = std::array::from_fn(|_| rng.u32(2000..9000));
        let smtp_pids = std::array::from_fn(|_| rng.u32(2000..9000));
        let lmtp_pids = std::array::from_fn(|_| rng.u32(2000..9000));
        Gen {
            opts: opts.clone(),
            rng,
            customers,
            pools,
            out: Vec::new(),
            hist: History::default(),
            pending: Vec::new(),
            carry: Vec::new(),
            rejections: Vec::new(),
            qid: 1,
            mpid: 3000,
            offsets: HashMap::new(),
            qmgr_pid,
            cleanup_pids,
            smtp_pids,
            lmtp_pids,
            in_senders: in_senders(),
            spammer_ips: Vec::new(),
            stolen: Vec::new(),
            thief_ips: Vec::new(),
            relays: RelayTally::default(),
            stats: Stats {
                customers: opts.customers,
                ..Stats::default()
            },
        }
    }

    /// Generates [start, end): lines in time order. `live` is the live-mode chunk number.
    pub(super) fn range(&mut self, start: Epoch, end: Epoch, live: Option<u64>) -> Vec<SimLine> {
        let mut intents = std::mem::take(&mut self.pending);
        self.customer_activity(start, end, live.is_some(), &mut intents);
        let hours = (end - start) as f64 / 3600.0;
        match live {
            Some(chunk) => self.live_scenarios(start, chunk, &mut intents),
            None => self.daily_scenarios(start, end, &mut intents),
        }
        let outside = ((self.opts.customers as f64 / 40.0).max(2.0) * hours / 24.0).ceil() as usize;
        for _ in 0..outside {
            let t = self.rng.i64(start * US..end * US);
            self.outside_attempt(t, &mut intents);
        }
        if let Some(live_at) = self.opts.showcase {
            self.showcase(start, end, live_at, &mut intents);
        }
        self.noise(start, end);
        self.decide_relays(start, end, intents, live.is_some());
        self.background_inbound(start, end);
        let mut lines = std::mem::take(&mut self.carry);
        lines.append(&mut self.out);
        lines.sort_by_key(|l| (l.at, l.micros));
        if live.is_some() {
            let cut = lines.partition_point(|l| l.at < end);
            self.carry = lines.split_off(cut);
            let before = start - self.opts.lookback - self.opts.window;
            self.hist.prune(before);
            self.rejections.retain(|r| r.0 >= before);
            self.relays.prune(before);
        }
        lines
    }

    /// The server decides every send by the grant rule over the logins logged so far, in time
    /// order. Live mode keeps sends due after `end` for the next chunk.
    fn decide_relays(&mut self, start: Epoch, end: Epoch, mut intents: Vec<Intent>, live: bool) {
        self.hist.sort();
        intents.sort_by_key(|i| i.t_us);
        for it in intents {
            if it.t_us < end * US {
                if it.t_us >= start * US {
                    self.relay_session(&it);
                }
            } else if live {
                self.pending.push(it);
            }
        }
    }

    /// Background inbound mail, fewer at night.
    fn background_inbound(&mut self, start: Epoch, end: Epoch) {
        let hours = (end - start) as f64 / 3600.0;
        let n = (self.opts.customers as f64 * INBOUND_PER_DAY * hours / 24.0) as usize;
        for _ in 0..n {
            // Rejection-sample on the local hour: fewer messages at night.
            let t = loop {
                let t = self.rng.i64(start * US..end * US);
                let (_, sod) = self.local(t.div_euclid(US));
                let h = sod / 3600;
                let w = if (1..6).contains(&h) { 30 } else { 100 };
                if self.rng.u32(..100) < w {
                    break t;
                }
            };
            self.random_inbound(t);
        }
    }
}
