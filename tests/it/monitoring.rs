//! The monitoring shipped in `contrib/`: the Prometheus alerting rules pass Prometheus's own
//! `promtool` (`check rules`, and `test rules` on their unit tests), and the rules and the
//! Grafana dashboard query only metrics that relaydesk's `/metrics` really exports.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use relaydesk::config::{Config, RelayStoreConfig, RelayStoreKind, Seconds, StoreTime};

use crate::web_helpers::{Web, done};

const RULES: &str = "contrib/prometheus/relaydesk.rules.yml";
const RULE_TESTS: &str = "contrib/prometheus/relaydesk.rules.test.yml";
const DASHBOARD: &str = "contrib/grafana/relaydesk.json";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `promtool` is installed (a skip without it, a failure under CI).
fn promtool_present() -> bool {
    let present = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    present
        || crate::helpers::available(
            "promtool",
            false,
            "apt install prometheus (scripts/test-all does)",
        )
}

/// Runs `promtool ARGS` from the repository root and fails with its output unless it succeeds.
fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("promtool {}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "promtool {} failed ({}):\n{}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_alerting_rules_are_valid_for_promtool() {
    if !promtool_present() {
        return;
    }
    promtool(&["check", "rules", RULES]);
}

#[test]
fn the_alerting_rules_fire_as_their_unit_tests_expect() {
    if !promtool_present() {
        return;
    }
    promtool(&["test", "rules", RULE_TESTS]);
}

/// The `expr` of each rule in a rules file: a plain scalar on its line, or a block scalar
/// (`expr: |`) whose lines are indented deeper than the key.
fn rule_exprs(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut exprs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let mut block = String::new();
            while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > indent(line))
            {
                block.push_str(lines[i].trim());
                block.push('\n');
                i += 1;
            }
            exprs.push(block);
        } else {
            exprs.push(rest.to_string());
        }
    }
    exprs
}

/// The queries of a Grafana dashboard: every `expr`, and the variables' `definition`/`query`.
fn dashboard_queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if let ("expr" | "definition" | "query", serde_json::Value::String(q)) =
                    (key.as_str(), v)
                {
                    out.push(q.clone());
                }
                dashboard_queries(v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                dashboard_queries(v, out);
            }
        }
        _ => {}
    }
}

/// The metric names a PromQL expression uses: identifiers starting `relaydesk_`, and `up`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("relaydesk_") || *t == "up")
        .map(str::to_string)
        .collect()
}

/// The sample names of a Prometheus text exposition, with `_bucket`, `_sum` and `_count` of
/// each histogram family.
fn exported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut words = declared.split_whitespace();
            if let (Some(name), Some("histogram")) = (words.next(), words.next()) {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            names.insert(name.to_string());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_and_the_dashboard_query_only_metrics_relaydesk_exports() {
    // Every optional part of /metrics present: a relay store configured and read once, a log
    // source with events, and a grant index as a process running the policy service has.
    let mut config = Config::default();
    config.relay.stores = vec![RelayStoreConfig {
        name: "drac".into(),
        kind: RelayStoreKind::PostfixMap,
        map: "btree:/nonexistent/dracd".into(),
        url: String::new(),
        query: String::new(),
        time_is: StoreTime::Granted,
        interval: Seconds(5),
        postmap: "postmap".into(),
        postfix_config: String::new(),
    }];
    let mut web = Web::new(crate::helpers::sqlite().await, config);
    let index = Arc::new(relaydesk::grants::GrantIndex::new(1800, Vec::new()));
    web.app = relaydesk::web::App::new(web.app.config.clone(), web.db.clone(), Some(index));
    crate::api_helpers::seed(&web.db).await;
    let now = crate::staff::now();
    let reading = relaydesk::relay_store::parse_postmap("203.0.113.5\tok\n");
    relaydesk::relay_store::record(&web.db, "drac", &reading, now)
        .await
        .unwrap();
    web.set_peer("127.0.0.1");
    let r = web.get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut exported = exported_names(&r.body);
    // Prometheus's own series for each target it scrapes.
    exported.insert("up".into());
    for family in [
        "relaydesk_relay_store_read_failing",
        "relaydesk_ingest_last_event_age_seconds",
        "relaydesk_grant_index_addresses",
    ] {
        assert!(exported.contains(family), "no {family} in\n{}", r.body);
    }

    let rules = std::fs::read_to_string(root().join(RULES)).unwrap();
    let alert_exprs = rule_exprs(&rules);
    let alerts = rules
        .lines()
        .filter(|l| l.trim_start().starts_with("- alert:"))
        .count();
    assert_eq!(alert_exprs.len(), alerts, "one expr per alert in {RULES}");

    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(DASHBOARD)).unwrap()).unwrap();
    assert_eq!(dashboard["uid"], "relaydesk");
    assert_eq!(dashboard["schemaVersion"], 39);
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    assert!(queries.len() >= 10, "{DASHBOARD}: {queries:?}");

    for (file, exprs) in [(RULES, &alert_exprs), (DASHBOARD, &queries)] {
        let mut used = BTreeSet::new();
        for expr in exprs {
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{file}: no metric in {expr:?}");
            let unknown: Vec<&String> = names.iter().filter(|n| !exported.contains(*n)).collect();
            assert!(
                unknown.is_empty(),
                "{file}: {unknown:?} in {expr:?} is not in /metrics:\n{}",
                r.body
            );
            used.extend(names);
        }
        assert!(used.len() > 5, "{file}: {used:?}");
    }
    done(web).await;
}
