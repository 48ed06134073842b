use super::*;

const W: i64 = 1800;
const L: i64 = 86400;
const T: i64 = 1_000_000;
const RULES: Rules = Rules {
    window: W,
    lookback: L,
};
const X: &str = "203.0.113.7";
const X6: &str = "2001:db8::7";

fn span(login: &str, ip: &str, first: Epoch, last: Epoch) -> LoginSpan {
    LoginSpan {
        login: login.into(),
        ip: ip.into(),
        first,
        last,
    }
}

fn full_logs() -> Evidence {
    Evidence {
        logs_since: Some(0),
        ..Evidence::default()
    }
}

fn cause(ev: &Evidence, ip: &str, login: Option<&str>) -> Cause {
    diagnose(T, ip, login, ev, RULES).cause
}

#[test]
fn a_block_or_suspension_comes_first() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - 10, T - 10)];
    ev.block = Some(Restriction {
        subject: X.into(),
        reason: "spam".into(),
        since: T - 100,
    });
    assert_eq!(cause(&ev, X, Some("taro")), Cause::Suspended);
    ev.block = None;
    ev.suspension = Some(Restriction {
        subject: "taro".into(),
        reason: "stolen".into(),
        since: 1,
    });
    let d = diagnose(T, X, Some("taro"), &ev, RULES);
    assert_eq!(d.cause, Cause::Suspended);
    assert_eq!(d.evidence.restriction.unwrap().reason, "stolen");
}

#[test]
fn a_login_from_the_address_within_the_window_means_authorized() {
    for at in [T - W, T - 1, T] {
        let mut ev = full_logs();
        ev.ip_logins = vec![span("hanako", X, at - 600, at)];
        let d = diagnose(T, X, Some("taro"), &ev, RULES);
        assert_eq!(d.cause, Cause::Authorized, "login at t-{}", T - at);
        assert_eq!(d.evidence.login_at, Some(at));
        assert_eq!(d.evidence.login_user.as_deref(), Some("hanako"));
    }
}

#[test]
fn one_second_past_the_window_is_expired() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - W - 900, T - W - 1)];
    let d = diagnose(T, X, Some("taro"), &ev, RULES);
    assert_eq!(d.cause, Cause::Expired);
    assert_eq!(d.evidence.login_at, Some(T - W - 1));
    assert_eq!(d.evidence.expired_at, Some(T - 1));
}

#[test]
fn expiry_looks_back_exactly_the_lookback() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - L, T - L)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::Expired);
    ev.ip_logins = vec![span("taro", X, T - L - 1, T - L - 1)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::NeverChecked);
    assert_eq!(cause(&ev, X, None), Cause::UnknownSender);
}

#[test]
fn the_owner_logged_in_from_another_address_means_ip_changed() {
    let mut ev = full_logs();
    ev.owner_logins = vec![span("taro", X6, T - W, T - W)];
    let d = diagnose(T, X, Some("taro"), &ev, RULES);
    assert_eq!(d.cause, Cause::IpChanged);
    assert_eq!(d.evidence.login_ip.as_deref(), Some(X6));
    // One second too early: no longer evidence of a change.
    ev.owner_logins = vec![span("taro", X6, T - W - 1, T - W - 1)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::NeverChecked);
}

#[test]
fn ip_changed_outranks_a_failure_and_an_expired_grant() {
    let mut ev = full_logs();
    ev.owner_logins = vec![span("taro", "198.51.100.9", T - 60, T - 60)];
    ev.failures = vec![FailureAt {
        at: T - 5,
        login: Some("taro".into()),
        ip: X.into(),
    }];
    ev.ip_logins = vec![span("taro", X, T - 7200, T - 7200)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::IpChanged);
}

#[test]
fn failed_logins_by_the_owner_or_from_the_address_mean_auth_failed() {
    let mut ev = full_logs();
    ev.failures = vec![FailureAt {
        at: T - W,
        login: Some("taro".into()),
        ip: "198.51.100.2".into(),
    }];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::AuthFailed);
    ev.failures = vec![FailureAt {
        at: T,
        login: None,
        ip: X.into(),
    }];
    assert_eq!(
        cause(&ev, X, None),
        Cause::AuthFailed,
        "from x, even without an owner"
    );
    ev.failures = vec![FailureAt {
        at: T - W - 1,
        login: Some("taro".into()),
        ip: X.into(),
    }];
    assert_eq!(
        cause(&ev, X, Some("taro")),
        Cause::NeverChecked,
        "outside the window"
    );
    ev.failures = vec![FailureAt {
        at: T - 5,
        login: Some("jiro".into()),
        ip: "198.51.100.2".into(),
    }];
    assert_eq!(
        cause(&ev, X, Some("taro")),
        Cause::NeverChecked,
        "someone else elsewhere"
    );
}

#[test]
fn auth_failed_outranks_expired() {
    let mut ev = full_logs();
    ev.failures = vec![FailureAt {
        at: T - 5,
        login: Some("taro".into()),
        ip: X.into(),
    }];
    ev.ip_logins = vec![span("taro", X, T - 7200, T - 7200)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::AuthFailed);
}

#[test]
fn ipv6_addresses_are_compared_like_ipv4() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X6, T - 100, T - 100)];
    assert_eq!(cause(&ev, X6, Some("taro")), Cause::Authorized);
    assert_eq!(cause(&ev, X, Some("taro")), Cause::NeverChecked);
}

#[test]
fn a_session_spanning_the_rejection_still_authorizes() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - 3000, T + 500)];
    let d = diagnose(T, X, Some("taro"), &ev, RULES);
    assert_eq!(d.cause, Cause::Authorized);
}

#[test]
fn missing_logs_are_admitted_not_guessed_away() {
    let ev = Evidence {
        logs_since: Some(T - 60),
        ..Evidence::default()
    };
    let d = diagnose(T, X, Some("taro"), &ev, RULES);
    assert_eq!(d.cause, Cause::NeverChecked);
    assert!(d.evidence.logs_incomplete);
    let d = diagnose(T, X, Some("taro"), &full_logs(), RULES);
    assert!(!d.evidence.logs_incomplete);
}

#[test]
fn owners_come_from_customer_domains() {
    let rule = LoginRule {
        case_sensitive: false,
        customer_domains: vec!["example.jp".to_string()],
    };
    for sender in ["taro@example.jp", "Taro@EXAMPLE.JP", " taro@example.jp"] {
        assert_eq!(
            owner(sender, &rule, None).as_deref(),
            Some("taro"),
            "{sender}"
        );
    }
    assert_eq!(owner("x@example.net", &rule, None), None);
    assert_eq!(owner("", &rule, None), None);
    assert_eq!(owner("@example.jp", &rule, None), None);
    let listed = Some(Some("T0001".to_string()));
    assert_eq!(
        owner("taro@example.jp", &rule, listed).as_deref(),
        Some("t0001")
    );
    assert_eq!(owner("taro@example.jp", &rule, Some(None)), None);
}

fn state(ev: &Evidence, grant: Option<Epoch>, smtp_seen: bool) -> ConnectionState {
    let grants = Grants {
        staff_until: grant,
        ..Grants::default()
    };
    connection_state(T, X, ev, grants, smtp_seen, RULES)
}

#[test]
fn a_suspended_logins_check_grants_nothing_as_the_policy_says() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - 600, T - 60)];
    let suspended = ["taro".to_string()];
    let grants = Grants {
        suspended: &suspended,
        ..Grants::default()
    };
    let s = connection_state(T, X, &ev, grants, true, RULES);
    assert_eq!((s.state, s.login_at), (State::Suspended, Some(T - 60)));
    // Another login's check from the same address still grants.
    ev.ip_logins.push(span("hanako", X, T - 900, T - 900));
    let s = connection_state(T, X, &ev, grants, true, RULES);
    assert_eq!((s.state, s.until), (State::Authorized, Some(T - 900 + W)));
    assert_eq!(s.by_login.as_deref(), Some("hanako"));
    // A staff grant outlasting the check is what the address rests on.
    let grants = Grants {
        staff_until: Some(T + 4 * W),
        ..grants
    };
    let s = connection_state(T, X, &ev, grants, true, RULES);
    assert_eq!((s.by, s.until), (Some(By::StaffGrant), Some(T + 4 * W)));
    // never_authorize: checks from the address grant nothing.
    let grants = Grants {
        never_authorized: true,
        ..Grants::default()
    };
    let s = connection_state(T, X, &ev, grants, true, RULES);
    assert_ne!(s.state, State::Authorized);
}

#[test]
fn a_connection_is_authorized_until_the_window_ends() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - 600, T - 60)];
    let s = state(&ev, None, true);
    assert_eq!(
        (s.state, s.until, s.login_at),
        (State::Authorized, Some(T - 60 + W), Some(T - 60))
    );
    let s = state(&full_logs(), Some(T + 300), false);
    assert_eq!(
        (s.state, s.until),
        (State::Authorized, Some(T + 300)),
        "a staff grant authorizes too"
    );
}

#[test]
fn a_connection_that_checked_long_ago_has_expired() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T - 7200, T - 7200)];
    let s = state(&ev, Some(T - 1), true);
    assert_eq!((s.state, s.until), (State::Expired, Some(T - 7200 + W)));
}

#[test]
fn a_connection_never_seen_says_no_attempt_reached_the_server() {
    assert_eq!(state(&full_logs(), None, false).state, State::NoAttempt);
    assert_eq!(state(&full_logs(), None, true).state, State::NeverChecked);
}

#[test]
fn failures_and_blocks_are_the_connections_state() {
    let mut ev = full_logs();
    ev.failures = vec![FailureAt {
        at: T - 30,
        login: Some("taro".into()),
        ip: X.into(),
    }];
    assert_eq!(state(&ev, None, true).state, State::AuthFailed);
    ev.block = Some(Restriction {
        subject: X.into(),
        reason: "spam".into(),
        since: 1,
    });
    assert_eq!(state(&ev, Some(T + 60), true).state, State::Blocked);
}

#[test]
fn strangers_learn_nothing_about_the_owner_from_a_public_refusal() {
    let public = |ev: &Evidence, login: &str| {
        diagnose(
            T,
            X,
            Some(login),
            &public_evidence(ev, X, Some(login)),
            RULES,
        )
    };
    let made_up = public(&full_logs(), "nobody");
    assert_eq!(made_up.cause, Cause::NeverChecked);
    // The owner checked mail elsewhere, failed elsewhere, or is suspended: from an address
    // with no history of theirs, each is worded as the made-up sender is.
    let mut elsewhere = full_logs();
    elsewhere.owner_logins = vec![span("taro", "198.51.100.9", T - 60, T - 60)];
    let mut failed = full_logs();
    failed.failures = vec![FailureAt {
        at: T - 60,
        login: Some("taro".into()),
        ip: "198.51.100.9".into(),
    }];
    let mut suspended = full_logs();
    suspended.suspension = Some(Restriction {
        subject: "taro".into(),
        reason: "stolen".into(),
        since: 1,
    });
    for ev in [&elsewhere, &failed, &suspended] {
        assert_ne!(cause(ev, X, Some("taro")), Cause::NeverChecked, "{ev:?}");
        let d = public(ev, "taro");
        assert_eq!((d.cause, &d.evidence), (made_up.cause, &made_up.evidence));
    }
    // The address's own facts stay: its expired check, its own failure, its block.
    let mut own = elsewhere.clone();
    own.ip_logins = vec![span("hanako", X, T - 5000, T - 4000)];
    assert_eq!(public(&own, "taro").cause, Cause::Expired);
    let mut blocked = elsewhere.clone();
    blocked.block = Some(Restriction {
        subject: X.into(),
        reason: "spam".into(),
        since: 1,
    });
    assert_eq!(public(&blocked, "taro").cause, Cause::Suspended);
    // Tied to the owner by this address's history: the customer learns the whole cause.
    let mut tied = elsewhere.clone();
    tied.ip_logins = vec![span("taro", X, T - 9000, T - 8000)];
    assert_eq!(public(&tied, "taro").cause, Cause::IpChanged);
    let mut tied = suspended.clone();
    tied.failures = vec![FailureAt {
        at: T - 60,
        login: Some("taro".into()),
        ip: X.into(),
    }];
    assert_eq!(public(&tied, "taro").cause, Cause::Suspended);
}

#[test]
fn a_check_just_after_the_refusal_means_the_program_sent_before_receiving() {
    let mut ev = full_logs();
    ev.ip_logins = vec![span("taro", X, T + 3, T + 3)];
    let d = diagnose(T, X, Some("taro"), &ev, RULES);
    assert_eq!(d.cause, Cause::SentBeforeReceiving);
    assert_eq!(d.evidence.login_at, Some(T + 3));
    // A minute is the limit; another customer's check does not count for taro's sender.
    ev.ip_logins = vec![span("taro", X, T + SENT_BEFORE + 1, T + SENT_BEFORE + 1)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::NeverChecked);
    ev.ip_logins = vec![span("hanako", X, T + 3, T + 3)];
    assert_eq!(cause(&ev, X, Some("taro")), Cause::NeverChecked);
    // A sender with no owner: anyone's check from the address.
    assert_eq!(cause(&ev, X, None), Cause::SentBeforeReceiving);
    // Authorized still comes first.
    ev.ip_logins.push(span("taro", X, T - 60, T - 60));
    assert_eq!(cause(&ev, X, Some("taro")), Cause::Authorized);
}

#[test]
fn under_the_store_a_staff_grant_beside_its_entry_gives_the_same_until_as_the_index() {
    use crate::grants::{GrantIndex, Verdict};
    let ip: crate::domain::ClientIp = X.parse().unwrap();
    let index = GrantIndex::new(W, vec![]).with_store_authority(true);
    index.login(ip, "taro", T - 60);
    index.replace_held([ip]);
    let mut ev = full_logs();
    ev.ip_logins.push(span("taro", X, T - 60, T - 60));
    let page = |staff_until: Option<Epoch>| {
        let grants = Grants {
            staff_until,
            relay_store: Some(true),
            ..Grants::default()
        };
        connection_state(T, X, &ev, grants, true, RULES)
    };
    // Held alone: as long as the store holds it, no end to say.
    let s = page(None);
    assert_eq!(
        (s.state, s.by, s.until),
        (State::Authorized, Some(By::RelayStore), None)
    );
    assert!(matches!(index.check(ip, T), Verdict::Granted { until, .. } if until == T));
    // Held, and a staff grant until T + 2W: both say T + 2W.
    index.grant(ip, T + 2 * W, T);
    let s = page(Some(T + 2 * W));
    assert_eq!((s.by, s.until), (Some(By::RelayStore), Some(T + 2 * W)));
    assert!(matches!(
        index.check(ip, T),
        Verdict::Granted { until, login: Some(ref l) } if until == T + 2 * W && l == "taro"
    ));
}
