//! Times as people read and write them: parsing a time someone typed (the CLI and the API's
//! `since`/`until`), and formatting an epoch for machines (RFC 3339, UTC or local) and for
//! people (tables, and the short clock the explanations use). Every function takes the zone,
//! and `now` where the answer depends on it, so nothing here reads the clock.

use anyhow::{Context, bail};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::config::Seconds;
use crate::domain::Epoch;

/// A time someone typed: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` in `zone`, or a duration before
/// `now` (`90m`, `2h`, `7d`).
pub fn parse(text: &str, zone: Tz, now: Epoch) -> anyhow::Result<Epoch> {
    let t = parse_any(text, zone, now)?;
    if !(EARLIEST..=LATEST).contains(&t) {
        bail!("{:?} is outside 1970-01-01 to 9999-12-31", text.trim());
    }
    Ok(t)
}

/// The earliest and latest times anyone may type: the store holds nothing before the epoch,
/// and nothing can be after the year 9999.
pub const EARLIEST: Epoch = 0;
pub const LATEST: Epoch = 253_402_300_799;

fn parse_any(text: &str, zone: Tz, now: Epoch) -> anyhow::Result<Epoch> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        });
    if let Some(local) = local {
        return zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp())
            .with_context(|| format!("{text:?} does not exist in {zone}"));
    }
    if let Ok(ago) = text.parse::<Seconds>() {
        return now
            .checked_sub(ago.0)
            .with_context(|| format!("{text:?} is too long ago"));
    }
    bail!("{text:?} is not a time: use RFC 3339, YYYY-MM-DD HH:MM, or a duration ago like 2h")
}

/// RFC 3339 in UTC (`2026-03-13T05:12:01Z`), formatted without allocation for `parse` output.
pub fn rfc3339_utc(epoch: Epoch) -> [u8; 20] {
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(0, 9999);
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, secs / 3600, 2);
    put(14, secs / 60 % 60, 2);
    put(17, secs % 60, 2);
    out
}

/// `epoch` in `zone` by the chrono `pattern`; empty when `epoch` is outside chrono's range.
pub fn local(epoch: Epoch, zone: Tz, pattern: &str) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.with_timezone(&zone).format(pattern).to_string())
        .unwrap_or_default()
}

/// A time in the configured zone, RFC 3339 with offset.
pub fn local_rfc3339(epoch: Epoch, zone: Tz) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| {
            t.with_timezone(&zone)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_else(|| epoch.to_string())
}

/// A time in `zone` for tables: `2026-03-13 05:12:01`.
pub fn local_short(epoch: Epoch, zone: Tz) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| {
            t.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| epoch.to_string())
}

/// `HH:MM` in `zone`, with the date when it is not `now`'s day there.
pub fn clock(t: Epoch, zone: Tz, now: Epoch) -> String {
    let Some(at) = chrono::DateTime::from_timestamp(t, 0) else {
        return t.to_string();
    };
    let local = at.with_timezone(&zone);
    let today =
        chrono::DateTime::from_timestamp(now, 0).map(|n| n.with_timezone(&zone).date_naive());
    if Some(local.date_naive()) == today {
        local.format("%H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKYO: Tz = chrono_tz::Asia::Tokyo;

    #[test]
    fn utc_times_format_as_rfc3339() {
        assert_eq!(&rfc3339_utc(0), b"1970-01-01T00:00:00Z");
        assert_eq!(&rfc3339_utc(1_773_346_321), b"2026-03-12T20:12:01Z");
        assert_eq!(&rfc3339_utc(951_782_400), b"2000-02-29T00:00:00Z");
    }

    #[test]
    fn local_times_are_in_the_given_zone() {
        assert_eq!(
            local_rfc3339(1_773_346_321, TOKYO),
            "2026-03-13T05:12:01+09:00"
        );
        assert_eq!(local_short(1_773_346_321, TOKYO), "2026-03-13 05:12:01");
    }

    #[test]
    fn typed_times_are_read_in_the_zone_or_before_now() {
        let t = 1_773_346_321;
        assert_eq!(parse("2026-03-13 05:12:01", TOKYO, 0).unwrap(), t);
        assert_eq!(parse("2026-03-12T20:12:01Z", TOKYO, 0).unwrap(), t);
        assert_eq!(
            parse("2026-03-13", TOKYO, 0).unwrap(),
            t - 5 * 3600 - 12 * 60 - 1
        );
        assert_eq!(parse("2h", TOKYO, t).unwrap(), t - 7200);
        assert!(parse("yesterday", TOKYO, t).is_err());
    }

    #[test]
    fn the_clock_shows_the_date_only_on_other_days() {
        let t = 1_773_346_321; // 05:12 in Tokyo
        assert_eq!(clock(t, TOKYO, t + 3600), "05:12");
        assert_eq!(clock(t, TOKYO, t + 86400), "2026-03-13 05:12");
    }
}
