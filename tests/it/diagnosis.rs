//! On a simulated ISP day whose truth is known, every relay rejection gets its §6.2 cause.

use std::collections::HashMap;
use std::sync::Arc;

use relaydesk::config::Config;
use relaydesk::explain;
use relaydesk::ingest::import;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::{self, rejections};

use crate::helpers::databases;

fn simulated_day(dir: &std::path::Path) -> relaydesk::simulate::Simulation {
    crate::helpers::simulated_day(dir, 11)
}

/// The simulated day's log imported into `t`; the configuration it was read with.
async fn imported(t: &crate::helpers::TestDb, log: &str) -> Arc<Config> {
    let mut config = Config::default();
    config.database.url = t.url.clone();
    let config = Arc::new(config);
    let writer = Writer::new(t.db.clone(), config.relay.window.0);
    import::run(&[log.to_string()], config.clone(), &writer)
        .await
        .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulated_rejection_gets_its_true_cause() {
    let dir = tempfile::tempdir().unwrap();
    let day = simulated_day(dir.path());
    let log = dir.path().join("mail.log").display().to_string();
    for t in databases().await {
        let config = imported(&t, &log).await;

        let relay = rejections::Filter {
            kind: Some("relay".into()),
            ..Default::default()
        };
        let (stored, causes) =
            t.db.run(async |c| {
                let rows = rejections::list(c, &relay).await?;
                let since = store::ingest::logs_since(c).await?;
                let mut causes = Vec::with_capacity(rows.len());
                for r in &rows {
                    causes.push(explain::diagnose_rejection(c, &config, r, since).await?);
                }
                Ok((rows, causes))
            })
            .await
            .unwrap();
        assert_eq!(
            stored.len(),
            day.truth.rejections.len(),
            "{}: every rejection stored once",
            t.label
        );

        let mut truth: HashMap<(i64, String, String), Vec<&str>> = HashMap::new();
        for r in &day.truth.rejections {
            truth
                .entry((r.at, r.ip.to_string(), r.rcpt.clone()))
                .or_default()
                .push(r.cause);
        }
        let mut agree = 0;
        let mut disagreements = Vec::new();
        for (row, d) in stored.iter().zip(&causes) {
            let expected = truth.get_mut(&(row.at, row.ip.clone(), row.rcpt.clone()));
            let expected = expected.and_then(|v| v.pop());
            assert!(
                expected.is_some(),
                "{}: {row:?} is at no logged time",
                t.label
            );
            if expected == Some(d.cause.as_str()) {
                agree += 1;
            } else {
                disagreements.push(format!("{row:?}: expected {expected:?}, got {:?}", d.cause));
            }
        }
        let share = agree as f64 / stored.len() as f64;
        eprintln!(
            "{}: {agree}/{} rejections diagnosed as the truth says",
            t.label,
            stored.len()
        );
        assert!(
            share >= 0.99,
            "{}: {agree}/{} agree; first disagreements:\n{}",
            t.label,
            stored.len(),
            disagreements
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        let kinds: std::collections::BTreeSet<&str> =
            causes.iter().map(|d| d.cause.as_str()).collect();
        for cause in [
            "ip_changed",
            "auth_failed",
            "expired",
            "never_checked",
            "unknown_sender",
        ] {
            assert!(kinds.contains(cause), "{}: the day has no {cause}", t.label);
        }
    }
}

/// The connection page reads each address's refusals and their evidence in one or two queries
/// and cuts each refusal's evidence from them in memory; its diagnoses are the very ones the
/// reports make refusal by refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_page_diagnoses_each_refusal_as_the_reports_do() {
    use relaydesk::diagnose;
    use relaydesk::store::evidence;
    let dir = tempfile::tempdir().unwrap();
    simulated_day(dir.path());
    let log = dir.path().join("mail.log").display().to_string();
    for t in databases().await {
        let config = imported(&t, &log).await;
        let rules = explain::rules(&config);
        let relay = rejections::Filter {
            kind: Some("relay".into()),
            ..Default::default()
        };
        let mut c = t.db.conn().await.unwrap();
        let rows = rejections::list(&mut c, &relay).await.unwrap();
        let since = store::ingest::logs_since(&mut c).await.unwrap();
        let end = rows.iter().map(|r| r.at).max().unwrap() + 1;
        let start = rows.iter().map(|r| r.at).min().unwrap();
        let mut ips: Vec<&str> = rows.iter().map(|r| r.ip.as_str()).collect();
        ips.sort_unstable();
        ips.dedup();
        let (mut compared, mut with_owner) = (0, 0);
        let logins = config.relay.login_rule();
        for ip in ips {
            let recent = evidence::Recent {
                since: start,
                count: 100_000,
                logins: &logins,
            };
            let facts = evidence::for_connection_with_refusals(
                &mut c,
                ip.parse().unwrap(),
                end,
                rules,
                recent,
            )
            .await
            .unwrap();
            let from_ip = rows.iter().filter(|r| r.ip == ip).count();
            assert_eq!(facts.recent.len(), from_ip, "{}: {ip}", t.label);
            for r in &facts.recent {
                let page = diagnose::diagnose(
                    r.rejection.at,
                    &r.rejection.ip,
                    r.owner.as_deref(),
                    &r.evidence,
                    rules,
                );
                let report = explain::diagnose_rejection(&mut c, &config, &r.rejection, since)
                    .await
                    .unwrap();
                assert_eq!(page, report, "{}: {:?}", t.label, r.rejection);
                compared += 1;
                with_owner += usize::from(r.owner.is_some());
            }
        }
        assert_eq!(compared, rows.len(), "{}", t.label);
        assert!(
            with_owner > 100,
            "{}: only {with_owner} refusals of customers' senders",
            t.label
        );
    }
}

/// The policy words each refusal by the cause its memory sees at decision time; over a simulated
/// day, replayed line by line into a grant index, those causes are the store's diagnoses of the
/// same refusals (`relaydesk rejections`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_names_the_cause_the_store_diagnoses() {
    use relaydesk::diagnose::Audience;
    use relaydesk::domain::Event;
    use relaydesk::grants::{GrantIndex, Verdict};
    use relaydesk::ingest::pipeline::{Batch, Pipeline};
    use relaydesk::policy::server::{Owners, Refused, refusal_cause};

    let dir = tempfile::tempdir().unwrap();
    simulated_day(dir.path());
    let log = dir.path().join("mail.log");
    let t = crate::helpers::sqlite().await;
    let config = imported(&t, &log.display().to_string()).await;

    // The store's diagnosis of every relay rejection, by (time, address, recipient).
    let relay = rejections::Filter {
        kind: Some("relay".into()),
        ..Default::default()
    };
    let stored =
        t.db.run(async |c| {
            let rows = rejections::list(c, &relay).await?;
            let since = store::ingest::logs_since(c).await?;
            let mut out: HashMap<(i64, String, String), Vec<&'static str>> = HashMap::new();
            for r in &rows {
                let d = explain::diagnose_rejection(c, &config, r, since).await?;
                out.entry((r.at, r.ip.clone(), r.rcpt.clone()))
                    .or_default()
                    .push(d.cause.as_str());
            }
            Ok(out)
        })
        .await
        .unwrap();

    // The day again, as the policy lives it: each refusal decided from what came before.
    let index = GrantIndex::with_lookback(
        config.relay.window.0,
        config.relay.lookback.0,
        config.relay.never_authorize.clone(),
    );
    let owners = Owners::from_config(&config);
    let now = chrono::Utc::now().timestamp();
    let mut pipeline = Pipeline::new(&config, now, "");
    let mut batch = Batch::default();
    let (mut refusals, mut agree) = (0, 0);
    let mut disagreements = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for line in std::fs::read(&log).unwrap().split(|&b| b == b'\n') {
        batch.clear();
        pipeline.line(line, &mut batch);
        for event in &batch.events {
            if let Event::RelayRejected {
                at,
                ip,
                sender,
                rcpt,
                ..
            } = event
            {
                refusals += 1;
                let verdict = index.check(*ip, *at);
                let cause = match verdict {
                    Verdict::Granted { .. } => "authorized",
                    _ => {
                        let ip_text = ip.to_string();
                        let refused = Refused {
                            ip: *ip,
                            ip_text: &ip_text,
                            sender,
                            verdict: &verdict,
                            at: *at,
                        };
                        refusal_cause(&index, &owners, &refused, Audience::Staff)
                            .cause
                            .as_str()
                    }
                };
                kinds.insert(cause);
                let store = stored
                    .get(&(*at, ip.to_string(), rcpt.clone()))
                    .and_then(|v| v.first().copied());
                if store == Some(cause) {
                    agree += 1;
                } else {
                    disagreements.push(format!(
                        "{at} {ip} {sender} → {rcpt}: policy {cause}, store {store:?}"
                    ));
                }
            }
        }
        index.apply(&batch.events);
    }
    eprintln!("{agree}/{refusals} policy causes are the store's diagnoses");
    assert!(refusals > 100, "the day has {refusals} refusals");
    assert!(
        agree as f64 >= 0.99 * refusals as f64,
        "{agree}/{refusals} agree; first disagreements:\n{}",
        disagreements
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    for cause in [
        "ip_changed",
        "auth_failed",
        "expired",
        "never_checked",
        "unknown_sender",
    ] {
        assert!(kinds.contains(cause), "the policy named no {cause}");
    }
}
