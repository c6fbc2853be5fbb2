//! `--push-gateway URL`: at the end of a run, PUT the Prometheus exposition to a Pushgateway under
//! the grouping key `job=collbench / instance=<rank 0 host> / collective=<name>`, replacing that
//! group's previous push. The Slurm job id is not part of the key (it is a label of
//! `collbench_info` only): the Pushgateway never forgets a group, so a key that changes with every
//! job would keep each job's verdict, failing hosts and rows on the dashboard forever, and a rerun
//! on the same nodes would never replace them. http or https, basic auth and proxies: see
//! [`client`] and [`url`]. Every network wait is bounded by a timeout.

mod client;
mod url;

pub use client::put;
pub use url::{BasicAuth, GatewayUrl, Scheme, PASSWORD_ENV, USER_ENV};

use super::prometheus::{exposition, unix_now, FailingHost};
use super::Sink;
use crate::error::Result;
use crate::report::{Report, ResultRow};
use std::time::Duration;

/// The `job` label of every push.
pub const JOB: &str = "collbench";

/// The grouping key of a report, in path order: stable across reruns on the same nodes (no job
/// id, time or pid), so each push replaces the previous run's series.
pub fn grouping_key(report: &Report) -> Vec<(&'static str, String)> {
    let instance = report
        .ranks
        .first()
        .map(|r| r.host.clone())
        .or_else(|| report.hosts.first().cloned())
        .unwrap_or_else(|| "unknown".into());
    vec![
        ("job", JOB.to_string()),
        ("instance", instance),
        ("collective", report.collective.clone()),
    ]
}

/// `/metrics/job/collbench/instance/h/...`: values that are not plain path-safe text are sent
/// base64url-encoded with the `@base64` suffix, as the Pushgateway API defines (also for empty ones).
pub fn grouping_path(key: &[(&str, String)]) -> String {
    let mut path = String::from("/metrics");
    for (name, value) in key {
        let plain = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if plain {
            path.push_str(&format!("/{name}/{value}"));
        } else {
            path.push_str(&format!("/{name}@base64/{}", base64url(value.as_bytes())));
        }
    }
    path
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    if bytes.is_empty() {
        // The Pushgateway spells an empty value as a lone padding character.
        return "=".into();
    }
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// Pushes the finished run (rank 0 only, at `finish`).
pub struct PushGatewaySink {
    url: GatewayUrl,
    timeout: Duration,
    failing_hosts: Vec<FailingHost>,
}

impl PushGatewaySink {
    pub fn new(url: &str) -> Result<PushGatewaySink> {
        Ok(PushGatewaySink {
            url: GatewayUrl::parse(url)?,
            timeout: Duration::from_secs(10),
            failing_hosts: Vec::new(),
        })
    }

    pub fn set_failing_hosts(&mut self, hosts: Vec<FailingHost>) {
        self.failing_hosts = hosts;
    }

    /// Pushes `report` now.
    pub fn push(&self, report: &Report) -> Result<()> {
        let body = exposition(report, &report.results, &self.failing_hosts, unix_now());
        put(
            &self.url,
            &grouping_path(&grouping_key(report)),
            &body,
            self.timeout,
        )
    }
}

impl Sink for PushGatewaySink {
    fn begin(&mut self, _report: &Report) -> Result<()> {
        Ok(())
    }

    fn row(&mut self, _report: &Report, _row: &ResultRow) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        self.push(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    /// A gateway on a free local port that reads the request, then runs `answer` on the socket.
    fn local_gateway(
        answer: impl FnOnce(&mut TcpStream) + Send + 'static,
    ) -> (GatewayUrl, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = GatewayUrl::parse(&format!(
            "http://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        ))
        .unwrap();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request);
            answer(&mut socket);
        });
        (url, server)
    }

    #[test]
    fn a_silent_or_dripping_gateway_is_given_up_on_within_the_timeout() {
        let limit = Duration::from_millis(600);
        // Accepts, then never answers.
        let (url, server) = local_gateway(|_| std::thread::sleep(Duration::from_secs(3)));
        let started = Instant::now();
        let err = put(&url, "/metrics/job/x", "m 1\n", limit).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{err}");
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string()
                .contains("the Pushgateway did not answer within 0.6 s"),
            "{err}"
        );
        server.join().unwrap();
        // Answers a byte every 100 ms: no single read waits long, the whole push must not either.
        let (url, server) = local_gateway(|socket| {
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
                if socket.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        let err = put(&url, "/metrics/job/x", "m 1\n", limit).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{err}");
        assert!(err.to_string().contains("did not answer within"), "{err}");
        server.join().unwrap();
        // A prompt answer still passes.
        let (url, server) = local_gateway(|socket| {
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        });
        put(&url, "/metrics/job/x", "m 1\n", limit).unwrap();
        server.join().unwrap();
    }

    #[test]
    fn grouping_path_encodes_unsafe_and_empty_values() {
        let key = vec![
            ("job", "collbench".to_string()),
            ("instance", "node-1".to_string()),
            ("slurm_job_id", String::new()),
            ("collective", "a/b".to_string()),
        ];
        assert_eq!(
            grouping_path(&key),
            "/metrics/job/collbench/instance/node-1/slurm_job_id@base64/=/collective@base64/YS9i"
        );
        assert_eq!(base64url(b"f"), "Zg==");
        assert_eq!(base64url(b"fo"), "Zm8=");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8=");
    }
}
