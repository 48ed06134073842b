//! The syslog framing every line gets (RFC 3339 local time with microseconds, then the host),
//! the local clock it needs, and the ids daemons put in lines: queue ids, session ids, pids.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};

use super::generator::Gen;
use super::mix::LineKind;
use super::{SimLine, US};
use crate::domain::Epoch;

impl Gen {
    /// The zone's UTC offset in seconds at `sec`. Zone changes fall on quarter hours, so one
    /// lookup per quarter hour is cached.
    pub(super) fn offset(&mut self, sec: i64) -> i32 {
        let key = sec.div_euclid(900);
        let tz = self.opts.tz;
        *self.offsets.entry(key).or_insert_with(|| {
            let naive = DateTime::from_timestamp(sec, 0)
                .unwrap_or_default()
                .naive_utc();
            tz.offset_from_utc_datetime(&naive).fix().local_minus_utc()
        })
    }

    /// Frames `body` as logged at `t_us` and adds it to the period's lines, counted as `kind`.
    pub(super) fn push(&mut self, t_us: i64, kind: LineKind, body: &str) {
        self.stats.mix.add(kind);
        let at = t_us.div_euclid(US);
        let micros = t_us.rem_euclid(US) as u32;
        let off = self.offset(at);
        let local = DateTime::from_timestamp(at + i64::from(off), 0)
            .unwrap_or_default()
            .naive_utc();
        let mut text = String::with_capacity(40 + self.opts.host.len() + body.len());
        let (sign, a) = if off < 0 { ('-', -off) } else { ('+', off) };
        let _ = write!(
            text,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{}{:02}:{:02} {} {}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second(),
            micros,
            sign,
            a / 3600,
            (a % 3600) / 60,
            self.opts.host,
            body
        );
        self.out.push(SimLine { at, micros, text });
    }

    /// Local (day number, second of day) of an epoch.
    pub(super) fn local(&mut self, t: Epoch) -> (i64, i64) {
        let l = t + i64::from(self.offset(t));
        (l.div_euclid(86400), l.rem_euclid(86400))
    }

    /// The UTC epoch of a local second-of-day on local day `day`.
    pub(super) fn at_local(&mut self, day: i64, sod: i64) -> Epoch {
        let guess = day * 86400 + sod;
        guess - i64::from(self.offset(guess - 43200))
    }

    /// A Postfix-looking queue id: unique, but not visibly sequential.
    pub(super) fn next_qid(&mut self) -> String {
        self.qid += 1;
        let x = (self.qid.wrapping_mul(0x5DEE_CE66D) ^ 0x3A_5C3F_1B27) & 0xFF_FFFF_FFFF;
        format!("{x:010X}")
    }

    /// A dovecot session id.
    pub(super) fn session(&mut self) -> String {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..16).map(|_| B64[self.rng.usize(..64)] as char).collect()
    }

    /// smtpd runs one process per connection: a fresh pid each time.
    pub(super) fn smtpd_pid(&mut self) -> u32 {
        self.rng.u32(10_000..40_000)
    }

    /// A random delay of 1 µs up to `max_ms` milliseconds.
    pub(super) fn jitter(&mut self, max_ms: i64) -> i64 {
        self.rng.i64(1..=max_ms * 1000)
    }
}
