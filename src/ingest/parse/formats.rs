//! The format table of `docs/LOG_FORMATS.md`: every ```` ```fixture ```` block there is a list of
//! `LINE` / `=> RESULT` pairs, checked here, so the documented formats and the parser cannot
//! drift apart.

use super::Parsed;
use super::tests::parser;
use crate::domain::Event;

const DOC: &str = include_str!("../../../docs/LOG_FORMATS.md");

/// `(line, expected)` pairs of every fixture block.
fn table() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    let mut rest = DOC;
    while let Some(start) = rest.find("```fixture\n") {
        let block = &rest[start + 11..];
        let end = block.find("```").expect("unclosed fixture block");
        let mut lines = block[..end].lines().filter(|l| !l.is_empty());
        while let Some(line) = lines.next() {
            let want = lines
                .next()
                .and_then(|w| w.strip_prefix("=> "))
                .unwrap_or_else(|| panic!("no `=> ` result after: {line}"));
            out.push((line, want));
        }
        rest = &block[end + 3..];
    }
    out
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn or_dash(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

/// The result as the document writes it.
fn summary(p: &Parsed) -> String {
    let e = match p {
        Parsed::Unrelated => return "unrelated".into(),
        Parsed::Malformed => return "malformed".into(),
        Parsed::Event(e) => e,
    };
    let fields = match e {
        Event::Login {
            service, user, ip, ..
        } => format!("service={service} user={user} ip={ip}"),
        Event::LoginFailed {
            service,
            user,
            ip,
            reason,
            ..
        } => format!(
            "service={service} user={} ip={ip} reason={}",
            opt(user),
            reason.as_str()
        ),
        Event::RelayRejected {
            ip,
            sender,
            rcpt,
            reply,
            ..
        }
        | Event::Rejected {
            ip,
            sender,
            rcpt,
            reply,
            ..
        } => format!(
            "ip={ip} sender={} rcpt={} reply={reply}",
            or_dash(sender),
            or_dash(rcpt)
        ),
        Event::SmtpAuthFailed { ip, user, .. } => format!("ip={ip} user={}", opt(user)),
        Event::SmtpAuth { ip, user, .. } => format!("ip={ip} user={user}"),
        Event::QueueClient {
            queue_id,
            ip,
            sasl_user,
            ..
        } => format!("id={queue_id} ip={ip} sasl_user={}", opt(sasl_user)),
        other => format!("{other:?}"),
    };
    format!("{} {fields}", e.kind())
}

#[test]
fn every_documented_format_parses_as_documented() {
    let table = table();
    assert!(table.len() > 140, "only {} fixtures", table.len());
    let mut p = parser();
    let mut wrong = Vec::new();
    for (line, want) in &table {
        let got = summary(&p.parse(line.as_bytes()));
        if got != *want {
            wrong.push(format!("{line}\n   want {want}\n    got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// No documented line of another program, and no poisoning line, logs in.
#[test]
fn only_mailbox_daemons_log_in() {
    let mut p = parser();
    for (line, _) in table() {
        if let Parsed::Event(Event::Login { .. }) = p.parse(line.as_bytes()) {
            for mta in [
                "postfix",
                "sm-",
                "sendmail",
                "exim",
                "courieresmtpd",
                " H=",
                " <= ",
                "kernel",
            ] {
                assert!(!line.contains(mta), "login from {line}");
            }
        }
    }
}
