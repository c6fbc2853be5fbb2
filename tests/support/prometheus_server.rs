//! A real Prometheus server (the Debian package `prometheus`) scraping a test's Pushgateway every
//! second, and the Grafana dashboard's queries evaluated through its HTTP API: what a dashboard
//! shows, not what we think it shows.

use super::gateway::http_get;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus on a free port, killed (by its PID) when dropped.
pub struct PrometheusServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `cluster` label the test Prometheus gives its Pushgateway target, as an operator's scrape
/// configuration would (docs/dashboards.md); the dashboard's cluster variable lists it.
pub const CLUSTER: &str = "ci-cluster";

/// Starts Prometheus scraping `127.0.0.1:gateway_port` with `honor_labels` (the Pushgateway's own
/// `job`/`instance` labels kept, as its documentation asks) and the target label
/// `cluster: ci-cluster`, waiting at most 20 s for it.
pub fn start_prometheus(gateway_port: u16) -> PrometheusServer {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  \
             - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      \
             - targets: ['127.0.0.1:{gateway_port}']\n        labels:\n          cluster: {CLUSTER}\n"
        ),
    )
    .unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (Debian package) must be installed");
    let server = PrometheusServer {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(http_get(port, "/-/ready"), Some((200, _))) {
        assert!(
            Instant::now() < deadline,
            "prometheus on port {port} not ready in 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// One sample of an instant query: its labels and value.
pub type Sample = (BTreeMap<String, String>, f64);

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl PrometheusServer {
    /// Evaluates `expr` now; panics (with Prometheus' error) on an invalid query.
    pub fn query(&self, expr: &str) -> Vec<Sample> {
        let path = format!("/api/v1/query?query={}", url_encode(expr));
        let (code, body) = http_get(self.port, &path).expect("prometheus answers");
        assert_eq!(code, 200, "{expr}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["status"], "success", "{expr}: {body}");
        let data = &answer["data"];
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let labels = s["metric"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect();
                    (labels, s["value"][1].as_str().unwrap().parse().unwrap())
                })
                .collect(),
            other => panic!("{expr}: result type {other:?}, expected a vector: {body}"),
        }
    }

    /// Polls `expr` until `done` holds (at most 20 s: scrapes are every second).
    pub fn wait_for(&self, expr: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let samples = self.query(expr);
            if done(&samples) {
                return samples;
            }
            assert!(
                Instant::now() < deadline,
                "{expr}: not as expected after 20 s: {samples:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The dashboard's PromQL: (panel title, expression) of every panel target, then
/// (`var:NAME`, query) of every template variable.
pub fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/grafana-collbench.json"
    ))
    .unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    for var in dash["templating"]["list"].as_array().unwrap() {
        // The datasource variable lists data sources, not series.
        if var["type"] != "query" {
            continue;
        }
        out.push((
            format!("var:{}", var["name"].as_str().unwrap()),
            var["query"]["query"].as_str().unwrap().to_string(),
        ));
    }
    out
}

/// `expr` as Grafana sends it with every template variable at "All" (`.*`); a
/// `label_values(SELECTOR, LABEL)` variable query becomes `count by (LABEL) (SELECTOR)`, whose
/// series are the values Grafana would list.
pub fn as_grafana_sends_it(expr: &str) -> String {
    as_grafana_sends_it_with(expr, &[])
}

/// [`as_grafana_sends_it`] with some variables set to one value each (`("cluster", "x")`).
pub fn as_grafana_sends_it_with(expr: &str, chosen: &[(&str, &str)]) -> String {
    let mut expr = expr.to_string();
    for var in ["cluster", "job", "collective", "nodes", "size", "dtype"] {
        let value = chosen
            .iter()
            .find(|(name, _)| *name == var)
            .map_or(".*", |(_, value)| value);
        expr = expr.replace(&format!("${var}"), value);
    }
    if let Some(inner) = expr
        .strip_prefix("label_values(")
        .and_then(|e| e.strip_suffix(')'))
    {
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values(SELECTOR, LABEL)");
        return format!("count by ({}) ({selector})", label.trim());
    }
    assert!(!expr.contains('$'), "{expr}: an unknown template variable");
    expr
}
