//! `--push-gateway URL`: at the end of a run, PUT the Prometheus exposition to a Pushgateway under
//! the grouping key `job=collbench / instance=<rank 0 host> / collective=<name>`, replacing that
//! group's previous push. The Slurm job id is not part of the key (it is a label of
//! `collbench_info` only): the Pushgateway never forgets a group, so a key that changes with every
//! job would keep each job's verdict, failing hosts and rows on the dashboard forever, and a rerun
//! on the same nodes would never replace them. Plain HTTP/1.1 over a TCP socket (no
//! TLS: Pushgateways sit inside the cluster; put a TLS proxy in front otherwise). Every network wait
//! is bounded by a timeout.

use super::prometheus::{exposition, unix_now, FailingHost};
use super::Sink;
use crate::error::{CollbenchError, Result};
use crate::report::{Report, ResultRow};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The `job` label of every push.
pub const JOB: &str = "collbench";

/// A parsed `http://host[:port][/prefix]` URL.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayUrl {
    pub host: String,
    pub port: u16,
    /// Path prefix without trailing slash (`""` or `/pushgateway`).
    pub prefix: String,
}

impl GatewayUrl {
    pub fn parse(text: &str) -> Result<GatewayUrl> {
        let bad = |why: &str| {
            CollbenchError::Usage(format!(
                "--push-gateway: '{text}' {why}; expected http://HOST[:PORT][/PATH] such as http://pushgateway:9091"
            ))
        };
        let rest = if let Some(rest) = text.strip_prefix("http://") {
            rest
        } else if text.starts_with("https://") {
            return Err(bad("uses https, which collbench does not speak (no TLS library); use http:// or a TLS-terminating proxy"));
        } else {
            return Err(bad("is not an http:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad("carries credentials, which are not supported"));
        }
        // `[v6addr]:port` or `host:port`; no port means 80.
        let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| bad("has an unclosed ["))?;
            (addr, after.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port: u16 = match port_text {
            Some(p) => p.parse().map_err(|_| bad("has a bad port"))?,
            None => 80,
        };
        if host.is_empty() || port == 0 {
            return Err(bad("has no host or a zero port"));
        }
        if path.contains(['?', '#', ' ']) {
            return Err(bad("has a query, fragment or space in its path"));
        }
        Ok(GatewayUrl {
            host: host.to_string(),
            port,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }
}

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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if bytes.is_empty() {
        // The Pushgateway spells an empty value as a lone padding character.
        return "=".into();
    }
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        for _ in chunk.len()..3 {
            out.push('=');
        }
    }
    out
}

/// PUTs `body` to `url` + `path`; Ok on a 2xx answer, else an error quoting the answer. The whole
/// exchange (connecting to each address the host resolves to, sending, reading the answer) ends
/// within `timeout`, also against a gateway that answers a byte at a time.
pub fn put(url: &GatewayUrl, path: &str, body: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let target = format!("http://{}:{}{}{}", url.host, url.port, url.prefix, path);
    let io = |e: std::io::Error| CollbenchError::io(target.clone(), e);
    let timed_out = || {
        io(std::io::Error::new(
            ErrorKind::TimedOut,
            format!(
                "the Pushgateway did not answer within {} s (the limit of one push)",
                timeout.as_secs_f64()
            ),
        ))
    };
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    let addresses: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(io)?
        .collect();
    if addresses.is_empty() {
        return Err(io(std::io::Error::other(
            "the host name resolved to no address",
        )));
    }
    // Every address in turn (a name may resolve to IPv6 first while the gateway listens on IPv4).
    let mut last_error = None;
    let mut connected = None;
    for address in &addresses {
        let Some(remaining) = left() else { break };
        match TcpStream::connect_timeout(address, remaining) {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let mut stream = match (connected, last_error) {
        (Some(stream), _) => stream,
        (None, Some(e)) if e.kind() != ErrorKind::TimedOut => return Err(io(e)),
        (None, _) => return Err(timed_out()),
    };
    let request = format!(
        "PUT {}{} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: collbench/{}\r\n\
         Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        url.prefix,
        path,
        url.host,
        url.port,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    let waited = |e: std::io::Error| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => timed_out(),
        _ => io(e),
    };
    stream
        .set_write_timeout(Some(left().ok_or_else(timed_out)?))
        .map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(waited)?;
    // Read the answer up to 64 KiB; Connection: close ends it.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while answer.len() < 64 * 1024 {
        stream
            .set_read_timeout(Some(left().ok_or_else(timed_out)?))
            .map_err(io)?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(waited(e)),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    let status_line = answer.lines().next().unwrap_or("");
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if (200..300).contains(&code) {
        return Ok(());
    }
    let body_text = answer.split("\r\n\r\n").nth(1).unwrap_or("").trim();
    Err(io(std::io::Error::other(format!(
        "the Pushgateway answered '{status_line}': {body_text}"
    ))))
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

    #[test]
    fn parses_gateway_urls_and_rejects_what_it_cannot_speak() {
        let u = GatewayUrl::parse("http://pg.cluster:9091").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("pg.cluster", 9091, "")
        );
        let u = GatewayUrl::parse("http://10.0.0.5/pushgateway/").unwrap();
        assert_eq!((u.port, u.prefix.as_str()), (80, "/pushgateway"));
        for bad in [
            "https://x:9091",
            "pg:9091",
            "http://:9091",
            "http://x:99999",
            "http://u:p@x:1",
            "http://x:1/a?b",
        ] {
            let err = GatewayUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--push-gateway") && err.contains(bad), "{err}");
        }
    }

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
