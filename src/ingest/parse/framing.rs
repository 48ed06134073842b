//! Framing: splits a log line into time, program tag and message, and turns timestamps into
//! epoch seconds without chrono parsing on the hot path.
//!
//! Recognized (sniffed per line, an optional `<PRI>` in front of any of the syslog forms):
//! - traditional syslog `Mar  3 05:12:01 host prog[pid]: msg` (day space- or zero-padded, no year,
//!   no zone: local time in the configured zone, year inferred from `now`);
//! - RFC 3339 `2026-03-13T05:12:01.276189+09:00 host prog[pid]: msg` (`Z`, with or without
//!   fraction; without an offset it is local time);
//! - RFC 5424 `<22>1 2026-03-13T05:12:01.003Z host app procid msgid [sd|-] msg`;
//! - Dovecot's own log file `2026-03-13 05:12:01 pop3-login: Info: msg` (also with Dovecot's
//!   default `Mar 13 05:12:01 pop3-login: Info: msg` timestamp: no host, the program is the
//!   Dovecot process);
//! - Exim's mainlog `2026-03-13 05:12:01 [pid] H=…` (optional `.mmm`, optional `+hhmm` zone);
//! - journald JSON (`journalctl -o json`), see [`parse_journal`].

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

use crate::domain::Epoch;

/// What the framing found on a line.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame<'a> {
    /// A message with a program tag (`prog` is the tag without `[pid]`).
    Tagged {
        at: Epoch,
        prog: &'a str,
        msg: &'a str,
    },
    /// An Exim mainlog line: no host, no tag.
    Exim { at: Epoch, msg: &'a str },
    /// Well framed, but nothing a parser could use (no tag, `-- MARK --`, repeated-message notes).
    Untagged,
}

/// Converts civil times to epoch seconds; holds the zone, `now` and the per-hour offset cache.
pub(crate) struct Clock {
    tz: Tz,
    now: Epoch,
    now_year: i32,
    last_key: u64,
    last_offset: i32,
    offsets: HashMap<u64, i32>,
}

const OFFSET_CACHE_MAX: usize = 8192;

impl Clock {
    pub(crate) fn new(tz: Tz, now: Epoch) -> Self {
        let mut c = Clock {
            tz,
            now,
            now_year: 1970,
            last_key: u64::MAX,
            last_offset: 0,
            offsets: HashMap::new(),
        };
        c.set_now(now);
        c
    }

    pub(crate) fn set_now(&mut self, now: Epoch) {
        use chrono::Datelike;
        self.now = now;
        self.now_year = chrono::DateTime::from_timestamp(now, 0)
            .map(|utc| utc.with_timezone(&self.tz).year())
            .unwrap_or(1970);
    }

    /// Epoch of a local wall-clock time in the configured zone. The UTC offset is computed with
    /// chrono-tz once per (year, month, day, hour) and cached. In a DST fold the earlier offset
    /// wins; in a DST gap the offset in force just before the gap is used. (Zones whose transitions
    /// are not on the hour would be off by the transition's minutes within that one hour.)
    pub(crate) fn local(&mut self, c: &Civil) -> Option<Epoch> {
        let key = (c.y as u64) << 32 | ((c.mo * 10_000 + c.d * 100 + c.h) as u64);
        let offset = if key == self.last_key {
            self.last_offset
        } else if let Some(&o) = self.offsets.get(&key) {
            self.last_key = key;
            self.last_offset = o;
            o
        } else {
            let naive = NaiveDate::from_ymd_opt(c.y, c.mo, c.d)?.and_hms_opt(c.h, 0, 0)?;
            let o = match self.tz.from_local_datetime(&naive).earliest() {
                Some(dt) => dt.offset().fix().local_minus_utc(),
                None => self
                    .tz
                    .offset_from_utc_datetime(&naive)
                    .fix()
                    .local_minus_utc(),
            };
            if self.offsets.len() >= OFFSET_CACHE_MAX {
                self.offsets.clear();
            }
            self.offsets.insert(key, o);
            self.last_key = key;
            self.last_offset = o;
            o
        };
        Some(c.utc_seconds()? - offset as i64)
    }

    /// A traditional syslog time (no year): the year of `now` in the zone, or the year before
    /// when that would put the event more than a day after `now` (Dec 31 lines read on Jan 1).
    fn yearless(&mut self, mut c: Civil) -> Option<Epoch> {
        c.y = self.now_year;
        if let Some(at) = self.local(&c)
            && at <= self.now + 86_400
        {
            return Some(at);
        }
        c.y = self.now_year - 1;
        self.local(&c)
    }
}

/// A civil date and time as written in a log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Civil {
    pub y: i32,
    pub mo: u32,
    pub d: u32,
    pub h: u32,
    pub mi: u32,
    pub s: u32,
}

impl Civil {
    fn valid(&self) -> bool {
        (1..=12).contains(&self.mo)
            && self.d >= 1
            && self.d <= days_in_month(self.y, self.mo)
            && self.h < 24
            && self.mi < 60
            && self.s <= 60
    }

    /// Seconds since the epoch if this civil time were UTC; `None` when the date is invalid.
    pub(crate) fn utc_seconds(&self) -> Option<Epoch> {
        if !self.valid() {
            return None;
        }
        let days = days_from_civil(self.y as i64, self.mo, self.d);
        Some(days * 86_400 + (self.h * 3600 + self.mi * 60 + self.s) as i64)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[inline]
fn digit(b: &[u8], i: usize) -> Option<u32> {
    let v = b.get(i)?.wrapping_sub(b'0');
    (v < 10).then_some(v as u32)
}

#[inline]
fn d2(b: &[u8], i: usize) -> Option<u32> {
    Some(digit(b, i)? * 10 + digit(b, i + 1)?)
}

#[inline]
fn d4(b: &[u8], i: usize) -> Option<u32> {
    Some(d2(b, i)? * 100 + d2(b, i + 2)?)
}

/// `HH:MM:SS` at `i`.
fn hms(b: &[u8], i: usize, c: &mut Civil) -> Option<()> {
    c.h = d2(b, i)?;
    (b.get(i + 2) == Some(&b':')).then_some(())?;
    c.mi = d2(b, i + 3)?;
    (b.get(i + 5) == Some(&b':')).then_some(())?;
    c.s = d2(b, i + 6)?;
    Some(())
}

/// Skips an optional `.digits` fraction at `i`; returns the index after it.
fn skip_fraction(b: &[u8], mut i: usize) -> usize {
    if b.get(i) == Some(&b'.') && digit(b, i + 1).is_some() {
        i += 1;
        while digit(b, i).is_some() {
            i += 1;
        }
    }
    i
}

/// `YYYY-MM-DD` + separator + `HH:MM:SS` + optional fraction. Returns the civil time, the
/// separator and the index after the fraction.
fn iso_datetime(b: &[u8]) -> Option<(Civil, u8, usize)> {
    let mut c = Civil {
        y: d4(b, 0)? as i32,
        mo: 0,
        d: 0,
        h: 0,
        mi: 0,
        s: 0,
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    c.mo = d2(b, 5)?;
    c.d = d2(b, 8)?;
    let sep = *b.get(10)?;
    hms(b, 11, &mut c)?;
    Some((c, sep, skip_fraction(b, 19)))
}

/// `Z`, `+hh:mm`, `-hh:mm` or `+hhmm` at `i`: (offset seconds east, index after).
fn zone_offset(b: &[u8], i: usize) -> Option<(i32, usize)> {
    match *b.get(i)? {
        b'Z' | b'z' => Some((0, i + 1)),
        sign @ (b'+' | b'-') => {
            let h = d2(b, i + 1)?;
            let (m, end) = if b.get(i + 3) == Some(&b':') {
                (d2(b, i + 4)?, i + 6)
            } else {
                (d2(b, i + 3)?, i + 5)
            };
            if h > 23 || m > 59 {
                return None;
            }
            let o = (h * 3600 + m * 60) as i32;
            Some((if sign == b'-' { -o } else { o }, end))
        }
        _ => None,
    }
}

/// An RFC 3339 timestamp at the start of `b` (offset optional: local time without one).
fn rfc3339(b: &[u8], clock: &mut Clock) -> Option<(Epoch, usize)> {
    let (c, sep, i) = iso_datetime(b)?;
    if sep != b'T' && sep != b't' {
        return None;
    }
    match zone_offset(b, i) {
        Some((off, end)) => Some((c.utc_seconds()? - off as i64, end)),
        None => Some((clock.local(&c)?, i)),
    }
}

fn month(b: &[u8]) -> Option<u32> {
    Some(match b.get(..3)? {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// `Mmm dd HH:MM:SS` (day `' 3'`, `'03'` or `'3'`): returns the civil time (year unset) and the
/// index after the seconds (and an optional fraction).
fn traditional(b: &[u8]) -> Option<(Civil, usize)> {
    let mut c = Civil {
        y: 0,
        mo: month(b)?,
        d: 0,
        h: 0,
        mi: 0,
        s: 0,
    };
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    c.d = digit(b, i)?;
    i += 1;
    if let Some(d) = digit(b, i) {
        c.d = c.d * 10 + d;
        i += 1;
    }
    if b.get(i) != Some(&b' ') {
        return None;
    }
    hms(b, i + 1, &mut c)?;
    Some((c, skip_fraction(b, i + 9)))
}

/// Splits `prog[pid]: msg` (the tag token must end with `:`). `None` when there is no tag.
fn split_tag(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let end = memchr::memchr(b' ', b).unwrap_or(b.len());
    let tok = &s[..end];
    let tok = tok.strip_suffix(':')?;
    let prog = match tok.strip_suffix(']') {
        Some(t) => &t[..t.rfind('[')?],
        None => tok,
    };
    if prog.is_empty() {
        return None;
    }
    let msg = if end < s.len() { &s[end + 1..] } else { "" };
    Some((prog, msg))
}

/// `host prog[pid]: msg` after a syslog timestamp. A host token that itself ends with `:` is
/// taken as the tag of a host-less line (RFC 3164 as some local writers send it, and Dovecot's own
/// log with its default timestamp). A facility/priority token (`<mail.info>`, as templates of
/// syslog-ng and BSD syslogd write it) before or after the host is skipped.
fn host_and_tag(at: Epoch, s: &str) -> Frame<'_> {
    let s = skip_facility(s);
    let b = s.as_bytes();
    let Some(sp) = memchr::memchr(b' ', b) else {
        return Frame::Untagged;
    };
    if b[..sp].ends_with(b":")
        && let Some((prog, msg)) = split_tag(s)
    {
        return Frame::Tagged { at, prog, msg };
    }
    match split_tag(skip_facility(&s[sp + 1..])) {
        Some((prog, msg)) => Frame::Tagged { at, prog, msg },
        None => Frame::Untagged,
    }
}

/// Skips one `<facility.priority> ` token (`<mail.info>`, `<mail.err>`, `<local0.notice>`,
/// numeric `<2.6>`): letters or digits, one dot, letters or digits, in angle brackets.
#[inline]
fn skip_facility(s: &str) -> &str {
    let b = s.as_bytes();
    if b.first() != Some(&b'<') {
        return s;
    }
    let Some(close) = b.iter().take(32).position(|&c| c == b'>') else {
        return s;
    };
    let inner = &b[1..close];
    let dots = inner.iter().filter(|&&c| c == b'.').count();
    if dots != 1
        || inner.first() == Some(&b'.')
        || inner.last() == Some(&b'.')
        || !inner
            .iter()
            .all(|&c| c == b'.' || c.is_ascii_alphanumeric())
        || b.get(close + 1) != Some(&b' ')
    {
        return s;
    }
    &s[close + 2..]
}

/// Dovecot's own log puts the level after the process: `Info: `, `Warning: `….
pub(crate) fn dovecot_level(msg: &str) -> Option<&str> {
    for level in [
        "Info: ",
        "Warning: ",
        "Error: ",
        "Fatal: ",
        "Panic: ",
        "Debug: ",
    ] {
        if let Some(rest) = msg.strip_prefix(level) {
            return Some(rest);
        }
    }
    None
}

/// Frames one text line (already known to be UTF-8, without line terminator). `None`: no
/// recognizable framing or timestamp.
pub(crate) fn frame<'a>(line: &'a str, clock: &mut Clock) -> Option<Frame<'a>> {
    let mut s = line;
    let b = s.as_bytes();
    if b.first() == Some(&b'<') {
        // <PRI>, 1–3 digits.
        let close = b.iter().take(5).position(|&c| c == b'>')?;
        if close < 2 || !b[1..close].iter().all(u8::is_ascii_digit) {
            return None;
        }
        s = &s[close + 1..];
        if let Some(rest) = s.strip_prefix("1 ") {
            return rfc5424(rest, clock);
        }
    }
    let b = s.as_bytes();
    match b.first()? {
        b'0'..=b'9' => {
            let (c, sep, i) = iso_datetime(b)?;
            match sep {
                b'T' | b't' => {
                    let (at, i) = match zone_offset(b, i) {
                        Some((off, end)) => (c.utc_seconds()? - off as i64, end),
                        None => (clock.local(&c)?, i),
                    };
                    let rest = s.get(i..)?.strip_prefix(' ')?;
                    Some(host_and_tag(at, rest))
                }
                b' ' => mainlog(c, s.get(i..)?, clock),
                _ => None,
            }
        }
        b'A'..=b'Z' => {
            let (c, i) = traditional(b)?;
            let at = clock.yearless(c)?;
            let rest = s.get(i..)?.strip_prefix(' ')?;
            Some(host_and_tag(at, rest))
        }
        _ => None,
    }
}

/// After `YYYY-MM-DD HH:MM:SS[.fff]`: Dovecot's own log (`pop3-login: Info: …`) or Exim's mainlog
/// (`[pid] `, `+hhmm ` zone, then the message).
fn mainlog<'a>(c: Civil, rest: &'a str, clock: &mut Clock) -> Option<Frame<'a>> {
    let mut rest = rest.strip_prefix(' ')?;
    let b = rest.as_bytes();
    let mut offset = None;
    if matches!(b.first(), Some(b'+' | b'-'))
        && let Some((off, end)) = zone_offset(b, 0)
        && b.get(end) == Some(&b' ')
    {
        offset = Some(off);
        rest = &rest[end + 1..];
    }
    let at = match offset {
        Some(off) => c.utc_seconds()? - off as i64,
        None => clock.local(&c)?,
    };
    if offset.is_none()
        && let Some((prog, msg)) = split_tag(rest)
        && !rest.starts_with('[')
        && dovecot_level(msg).is_some()
    {
        return Some(Frame::Tagged { at, prog, msg });
    }
    // syslog-ng's ISO date with a space (`$ISODATE` variants) and other writers' `YYYY-MM-DD
    // HH:MM:SS host prog[pid]: msg`: the second token is a program tag. Exim's messages never
    // have that shape (their second token is `<=`, `=>`, `rejected`, a flag, …).
    if let Some(sp) = memchr::memchr(b' ', rest.as_bytes())
        && is_host_token(&rest[..sp])
        && let Some((prog, msg)) = split_tag(skip_facility(&rest[sp + 1..]))
        && is_prog_token(prog)
    {
        return Some(Frame::Tagged { at, prog, msg });
    }
    // Exim: optional `[pid] ` (log_selector +pid).
    if let Some(r) = rest.strip_prefix('[')
        && let Some(close) = r.find("] ")
        && close > 0
        && r.as_bytes()[..close].iter().all(u8::is_ascii_digit)
    {
        rest = &r[close + 2..];
    }
    Some(Frame::Exim { at, msg: rest })
}

/// A host name or address as syslog writes it: no `=`, `<`, `(`, `[`, `:` at the end.
fn is_host_token(t: &str) -> bool {
    !t.is_empty()
        && !t.ends_with(':')
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
}

/// A program tag (without `[pid]`): letters, digits and `. _ - /`, starting with a letter.
fn is_prog_token(t: &str) -> bool {
    t.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/'))
}

/// RFC 5424 after `<PRI>1 `: `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`.
fn rfc5424<'a>(s: &'a str, clock: &mut Clock) -> Option<Frame<'a>> {
    let (at, i) = rfc3339(s.as_bytes(), clock)?;
    let mut fields = s.get(i..)?.strip_prefix(' ')?.splitn(5, ' ');
    let _host = fields.next()?;
    let app = fields.next()?;
    let _procid = fields.next()?;
    let _msgid = fields.next()?;
    let rest = fields.next()?;
    let msg = skip_structured_data(rest)?;
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    if app == "-" || app.is_empty() {
        return Some(Frame::Untagged);
    }
    Some(Frame::Tagged { at, prog: app, msg })
}

/// Skips `-` or one or more `[id k="v" …]` elements (with `\"`, `\]` escapes), then one space.
fn skip_structured_data(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = if b.first() == Some(&b'-') {
        1
    } else {
        let mut i = 0;
        while b.get(i) == Some(&b'[') {
            let mut in_quote = false;
            i += 1;
            loop {
                match *b.get(i)? {
                    b'\\' => i += 1,
                    b'"' => in_quote = !in_quote,
                    b']' if !in_quote => break,
                    _ => {}
                }
                i += 1;
            }
            i += 1;
        }
        if i == 0 {
            return None;
        }
        i
    };
    match b.get(i) {
        None => Some(""),
        Some(b' ') => {
            i += 1;
            s.get(i..)
        }
        Some(_) => None,
    }
}

/// One journald JSON record (`journalctl -o json`).
pub(crate) struct Journal<'a> {
    pub at: Epoch,
    pub prog: Cow<'a, str>,
    pub msg: Cow<'a, str>,
}

#[derive(serde::Deserialize)]
struct JournalFields<'a> {
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow)]
    realtime: Option<Cow<'a, str>>,
    #[serde(rename = "SYSLOG_IDENTIFIER", borrow)]
    ident: Option<Cow<'a, str>>,
    #[serde(rename = "_COMM", borrow)]
    comm: Option<Cow<'a, str>>,
    #[serde(rename = "MESSAGE")]
    message: Option<serde_json::Value>,
}

/// Parses a journald JSON record. `MESSAGE` may be a string or (for non-UTF-8 or binary
/// messages) an array of bytes, which is decoded when it is valid UTF-8. `None`: malformed.
pub(crate) fn parse_journal(line: &str) -> Option<Journal<'_>> {
    let f: JournalFields<'_> = serde_json::from_str(line).ok()?;
    let micros: i64 = f.realtime?.parse().ok()?;
    let prog = f.ident.or(f.comm)?;
    let msg = match f.message? {
        serde_json::Value::String(s) => Cow::Owned(s),
        serde_json::Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Cow::Owned(String::from_utf8(bytes?).ok()?)
        }
        _ => return None,
    };
    Some(Journal {
        at: micros.div_euclid(1_000_000),
        prog,
        msg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo(now: Epoch) -> Clock {
        Clock::new(chrono_tz::Asia::Tokyo, now)
    }

    // 2026-03-13T00:00:00Z
    const NOW: Epoch = 1_773_360_000;

    #[test]
    fn civil_days_match_chrono() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2026, 3, 13),
            (1969, 12, 31),
            (2100, 3, 1),
        ] {
            let want = NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp()
                / 86_400;
            assert_eq!(days_from_civil(y as i64, m, d), want, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn rfc3339_with_offsets() {
        let mut c = tokyo(NOW);
        let f = frame("2026-03-13T05:12:01.276189+09:00 mail dovecot: hi", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_346_321,
                prog: "dovecot",
                msg: "hi"
            }
        );
        let f = frame("2026-03-12T20:12:01Z mail postfix/smtpd[812]: x y", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_346_321,
                prog: "postfix/smtpd",
                msg: "x y"
            }
        );
        // No offset: local time in the zone.
        let f = frame("2026-03-13T05:12:01 mail dovecot: hi", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_346_321,
                prog: "dovecot",
                msg: "hi"
            }
        );
    }

    #[test]
    fn traditional_padding_and_pri() {
        let mut c = tokyo(NOW);
        let want = Frame::Tagged {
            at: 1_772_482_321,
            prog: "postfix/smtpd",
            msg: "m",
        };
        for line in [
            "Mar  3 05:12:01 mail postfix/smtpd[812]: m",
            "Mar 03 05:12:01 mail postfix/smtpd[812]: m",
            "Mar 3 05:12:01 mail postfix/smtpd[812]: m",
            "<22>Mar  3 05:12:01 mail postfix/smtpd[812]: m",
        ] {
            assert_eq!(frame(line, &mut c).unwrap(), want, "{line}");
        }
    }

    #[test]
    fn year_inference_across_new_year() {
        // now = 2026-01-01 00:30 JST; a Dec 31 23:59 line is from 2025.
        let now = 1_767_195_000;
        let mut c = tokyo(now);
        let f = frame("Dec 31 23:59:59 mail dovecot: x", &mut c).unwrap();
        let want = chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(2025, 12, 31, 23, 59, 59)
            .unwrap()
            .timestamp();
        assert_eq!(
            f,
            Frame::Tagged {
                at: want,
                prog: "dovecot",
                msg: "x"
            }
        );
        // A line less than a day ahead (clock skew) stays in this year.
        let f = frame("Jan  1 01:00:00 mail dovecot: x", &mut c).unwrap();
        let want = chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(2026, 1, 1, 1, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(
            f,
            Frame::Tagged {
                at: want,
                prog: "dovecot",
                msg: "x"
            }
        );
    }

    #[test]
    fn set_now_moves_the_inferred_year() {
        let mut c = tokyo(NOW); // 2026-03-13
        let Some(Frame::Tagged { at: a, .. }) = frame("Dec 31 12:00:00 h p: m", &mut c) else {
            panic!()
        };
        assert_eq!(
            a,
            chrono_tz::Asia::Tokyo
                .with_ymd_and_hms(2025, 12, 31, 12, 0, 0)
                .unwrap()
                .timestamp()
        );
        c.set_now(NOW + 365 * 86_400); // 2027-03-13
        let Some(Frame::Tagged { at: b, .. }) = frame("Dec 31 12:00:00 h p: m", &mut c) else {
            panic!()
        };
        assert_eq!(
            b,
            chrono_tz::Asia::Tokyo
                .with_ymd_and_hms(2026, 12, 31, 12, 0, 0)
                .unwrap()
                .timestamp()
        );
    }

    #[test]
    fn dst_zone_conversion() {
        let ny = chrono_tz::America::New_York;
        let mut c = Clock::new(ny, 1_797_292_800); // 2026-12-15
        for (line, (y, mo, d, h, mi)) in [
            ("Mar  7 12:00:00 h p: m", (2026, 3, 7, 12, 0)), // EST
            ("Mar  9 12:00:00 h p: m", (2026, 3, 9, 12, 0)), // EDT
            ("Nov  1 00:30:00 h p: m", (2026, 11, 1, 0, 30)),
            ("Nov  2 00:30:00 h p: m", (2026, 11, 2, 0, 30)),
            ("Nov  1 01:30:00 h p: m", (2026, 11, 1, 1, 30)), // fold: the earlier (EDT)
            ("Jul  4 09:15:00 h p: m", (2026, 7, 4, 9, 15)),
        ] {
            let want = ny
                .with_ymd_and_hms(y, mo, d, h, mi, 0)
                .earliest()
                .unwrap()
                .timestamp();
            let Some(Frame::Tagged { at, .. }) = frame(line, &mut c) else {
                panic!("{line}")
            };
            assert_eq!(at, want, "{line}");
        }
        // In the spring-forward gap 02:30 does not exist: read with the offset before the gap.
        let Some(Frame::Tagged { at, .. }) = frame("Mar  8 02:30:00 h p: m", &mut c) else {
            panic!()
        };
        assert_eq!(
            at,
            ny.with_ymd_and_hms(2026, 3, 8, 3, 30, 0)
                .unwrap()
                .timestamp()
        );
        // Offsets: -5h in winter, -4h in summer.
        let Some(Frame::Tagged { at, .. }) =
            frame("2026-01-10 10:00:00 pop3-login: Info: x", &mut c)
        else {
            panic!()
        };
        assert_eq!(at, 1_768_057_200);
    }

    #[test]
    fn rfc5424_structured_data() {
        let mut c = tokyo(NOW);
        let f = frame(
            "<22>1 2026-03-13T05:12:01.003Z mail postfix/smtpd 812 - - msg here",
            &mut c,
        )
        .unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_378_721,
                prog: "postfix/smtpd",
                msg: "msg here"
            }
        );
        let f = frame(
            r#"<22>1 2026-03-13T05:12:01Z mail dovecot 9 ID47 [ex@32473 a="x\"]y" b="2"][o@1 c="3"] m"#,
            &mut c,
        )
        .unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_378_721,
                prog: "dovecot",
                msg: "m"
            }
        );
        assert_eq!(frame("<22>1 - mail app - - - m", &mut c), None);
        assert_eq!(
            frame(
                "<22>1 2026-03-13T05:12:01Z mail app 1 - [unterminated",
                &mut c
            ),
            None
        );
    }

    #[test]
    fn dovecot_own_and_exim() {
        let mut c = tokyo(NOW);
        let f = frame("2026-03-13 05:12:01 pop3-login: Info: Login: x", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_346_321,
                prog: "pop3-login",
                msg: "Info: Login: x"
            }
        );
        let f = frame("Mar 13 05:12:01 imap-login: Info: Login: x", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Tagged {
                at: 1_773_346_321,
                prog: "imap-login",
                msg: "Info: Login: x"
            }
        );
        let f = frame("2026-03-13 05:12:01 H=(pc) [192.0.2.1] x", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Exim {
                at: 1_773_346_321,
                msg: "H=(pc) [192.0.2.1] x"
            }
        );
        let f = frame("2026-03-13 05:12:01.123 [4711] H=x", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Exim {
                at: 1_773_346_321,
                msg: "H=x"
            }
        );
        let f = frame("2026-03-12 20:12:01 +0000 H=x", &mut c).unwrap();
        assert_eq!(
            f,
            Frame::Exim {
                at: 1_773_346_321,
                msg: "H=x"
            }
        );
    }

    #[test]
    fn bad_timestamps() {
        let mut c = tokyo(NOW);
        for line in [
            "",
            "Foo  3 05:12:01 h p: m",
            "Mar 33 05:12:01 h p: m",
            "Mar  3 25:12:01 h p: m",
            "2026-13-01T00:00:00Z h p: m",
            "2026-02-30T00:00:00Z h p: m",
            "2026-03-13X05:12:01 h p: m",
            "<999999>Mar  3 05:12:01 h p: m",
            "hello world",
        ] {
            assert_eq!(frame(line, &mut c), None, "{line}");
        }
        assert_eq!(
            frame("Mar  3 05:12:01 host -- MARK --", &mut c),
            Some(Frame::Untagged)
        );
    }

    #[test]
    fn extreme_years() {
        // Valid but extreme years neither overflow nor collide in the offset cache.
        let mut c = tokyo(NOW);
        for (line, (y, mo, d, h, mi, sec)) in [
            ("9999-12-31T23:59:59 h p: m", (9999, 12, 31, 23, 59, 59)),
            ("0000-01-01T00:00:00 h p: m", (0, 1, 1, 0, 0, 0)),
            ("4295-01-01 00:00:00 H=x", (4295, 1, 1, 0, 0, 0)),
            ("0001-01-01 00:00:00 H=x", (1, 1, 1, 0, 0, 0)),
        ] {
            let at = match frame(line, &mut c) {
                Some(Frame::Tagged { at, .. } | Frame::Exim { at, .. }) => at,
                other => panic!("{line}: {other:?}"),
            };
            let naive = NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_opt(h, mi, sec)
                .unwrap();
            let want = chrono_tz::Asia::Tokyo
                .from_local_datetime(&naive)
                .unwrap()
                .timestamp();
            assert_eq!(at, want, "{line}");
        }
    }

    #[test]
    fn journal_records() {
        let j = parse_journal(
            r#"{"__REALTIME_TIMESTAMP":"1773346321276189","SYSLOG_IDENTIFIER":"postfix/smtpd","_PID":"812","MESSAGE":"hello"}"#,
        )
        .unwrap();
        assert_eq!(
            (j.at, &*j.prog, &*j.msg),
            (1_773_346_321, "postfix/smtpd", "hello")
        );
        let j = parse_journal(
            r#"{"__REALTIME_TIMESTAMP":"1773346321000000","_COMM":"dovecot","MESSAGE":[104,105]}"#,
        )
        .unwrap();
        assert_eq!((&*j.prog, &*j.msg), ("dovecot", "hi"));
        assert!(parse_journal(r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":[255,0]}"#).is_none());
        assert!(parse_journal(r#"{"MESSAGE":"x","SYSLOG_IDENTIFIER":"a"}"#).is_none());
        assert!(parse_journal("{").is_none());
    }
}
