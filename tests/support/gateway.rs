//! A real Prometheus Pushgateway (the Debian package's `prometheus-pushgateway`) on a free port,
//! for the tests that push to one, and a minimal HTTP GET to read its API.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A pushgateway on a free port, killed (by its PID) when dropped.
pub struct Gateway {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let code = raw.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((code, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn start_gateway() -> Gateway {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("prometheus-pushgateway")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--persistence.file={}",
            dir.path().join("pg.data").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-pushgateway (Debian package) must be installed");
    let gw = Gateway {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((200, _)) = http_get(port, "/-/ready") {
            return gw;
        }
        assert!(
            Instant::now() < deadline,
            "pushgateway on port {port} not ready in 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The groups the Pushgateway holds under job `collbench` (its `/api/v1/metrics`), with the API's
/// body for failure messages.
pub fn collbench_groups(port: u16) -> (Vec<serde_json::Value>, String) {
    let (_, body) = http_get(port, "/api/v1/metrics").expect("the Pushgateway API answers");
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let groups = api["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["labels"]["job"] == "collbench")
        .cloned()
        .collect();
    (groups, body)
}
