//! In-process counters for `/metrics`: policy decisions by action and web requests by status
//! class with a latency histogram. Plain atomics, incremented on the hot paths without locks;
//! one `Metrics` per process is shared by the policy service and the web server (`serve`).
//! Figures that live in the store (ingest counters, open alerts) are read at scrape time by
//! `web::ops` instead. Prometheus text formatting is here too, so `web::ops` only gathers.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Policy actions as `policy::decide::Action::as_str` names them.
pub const ACTIONS: [&str; 3] = ["ok", "reject", "dunno"];

/// Upper bounds of the web latency histogram, in seconds (the `le` labels).
pub const LATENCY_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
pub struct Metrics {
    decisions: [AtomicU64; 3],
    /// Responses by status class: index 0 is 1xx … 4 is 5xx.
    responses: [AtomicU64; 5],
    /// Cumulative counts are computed at render time; each slot counts requests whose latency
    /// fell in (previous bound, this bound], the last slot those above every bound.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_micros: AtomicU64,
    /// Web handlers that panicked (each answered with the generic 500 page).
    panics: AtomicU64,
}

impl Metrics {
    /// Counts one policy decision; `action` is `ok`, `reject` or `dunno`.
    pub fn decision(&self, action: &str) {
        if let Some(i) = ACTIONS.iter().position(|a| *a == action) {
            self.decisions[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one web response with its status code and how long it took.
    pub fn response(&self, status: u16, took: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts one web handler that panicked.
    pub fn panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    pub fn decisions(&self, action: &str) -> u64 {
        ACTIONS
            .iter()
            .position(|a| *a == action)
            .map_or(0, |i| self.decisions[i].load(Ordering::Relaxed))
    }

    /// Writes this process's counters in Prometheus text format.
    pub fn render(&self, out: &mut Text) {
        out.help(
            "relaydesk_policy_decisions_total",
            "counter",
            "Policy service answers given by this process, by action.",
        );
        for (i, action) in ACTIONS.iter().enumerate() {
            let n = self.decisions[i].load(Ordering::Relaxed);
            out.sample("relaydesk_policy_decisions_total", &[("action", action)], n);
        }
        out.help(
            "relaydesk_http_responses_total",
            "counter",
            "Web responses by status class.",
        );
        for (i, slot) in self.responses.iter().enumerate() {
            let class = format!("{}xx", i + 1);
            let n = slot.load(Ordering::Relaxed);
            out.sample("relaydesk_http_responses_total", &[("class", &class)], n);
        }
        out.help(
            "relaydesk_http_request_duration_seconds",
            "histogram",
            "Web request latency.",
        );
        let mut cumulative = 0;
        for (i, slot) in self.latency.iter().enumerate() {
            cumulative += slot.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            out.sample(
                "relaydesk_http_request_duration_seconds_bucket",
                &[("le", &le)],
                cumulative,
            );
        }
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.sample("relaydesk_http_request_duration_seconds_sum", &[], sum);
        out.sample(
            "relaydesk_http_request_duration_seconds_count",
            &[],
            cumulative,
        );
        out.help(
            "relaydesk_http_panics_total",
            "counter",
            "Web handlers that panicked, each answered with the generic 500 page.",
        );
        out.sample(
            "relaydesk_http_panics_total",
            &[],
            self.panics.load(Ordering::Relaxed),
        );
    }
}

/// A Prometheus text exposition being written.
#[derive(Debug, Default)]
pub struct Text(String);

impl Text {
    /// `# HELP` and `# TYPE` lines for a metric family.
    pub fn help(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample line; label values are escaped as the format requires.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    pub fn finish(self) -> String {
        self.0
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_prometheus_text() {
        let m = Metrics::default();
        m.decision("ok");
        m.decision("reject");
        m.decision("reject");
        m.decision("bogus");
        m.response(200, Duration::from_millis(3));
        m.response(404, Duration::from_secs(9));
        let mut text = Text::default();
        m.render(&mut text);
        let text = text.finish();
        assert!(text.contains("relaydesk_policy_decisions_total{action=\"reject\"} 2\n"));
        assert!(text.contains("relaydesk_http_responses_total{class=\"2xx\"} 1\n"));
        assert!(text.contains("relaydesk_http_responses_total{class=\"4xx\"} 1\n"));
        assert!(text.contains("relaydesk_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("relaydesk_http_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("relaydesk_http_request_duration_seconds_count 2\n"));
        assert!(text.contains("# TYPE relaydesk_http_request_duration_seconds histogram\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut text = Text::default();
        text.sample("m", &[("source", "a\"b\\c\nd")], 1);
        assert_eq!(text.finish(), "m{source=\"a\\\"b\\\\c\\nd\"} 1\n");
    }
}
