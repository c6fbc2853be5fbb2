//! The Pushgateway client's transport beyond plain http (tests/accept/observability.rs pushes to a
//! real `prometheus-pushgateway`): https to a local TLS endpoint with a certificate made here,
//! basic auth from the environment, and an HTTP proxy from the environment. All on loopback.
//! One test function: it sets process-wide environment variables, in order.

use crate::support::accept::*;
use collbench::sinks::pushgateway::{PushGatewaySink, PASSWORD_ENV, USER_ENV};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as the endpoint saw it: request line, headers (lower-case names), body.
#[derive(Debug, Default)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 request and answers `status`.
fn serve_one(stream: &mut (impl Read + Write), status: &str) -> Seen {
    let mut reader = BufReader::new(&mut *stream);
    let mut seen = Seen::default();
    reader.read_line(&mut seen.request_line).unwrap();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        seen.headers
            .push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = seen
        .header("content-length")
        .map_or(0, |l| l.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    seen.body = String::from_utf8(body).unwrap();
    let answer = if seen.request_line.starts_with("CONNECT ") {
        format!("HTTP/1.1 {status}\r\n\r\n")
    } else {
        format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
    };
    stream.write_all(answer.as_bytes()).unwrap();
    stream.flush().unwrap();
    seen
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(false).unwrap();
    let (socket, _) = listener.accept().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket
}

/// A CA and a certificate for 127.0.0.1 and localhost signed by it, made now: (CA PEM, server
/// TLS configuration).
fn certificates() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "collbench test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![server.der().clone(), ca.der().clone()], key)
        .unwrap();
    (ca.pem(), Arc::new(config))
}

/// A TLS endpoint on loopback that serves one request (or sees the handshake fail).
fn tls_endpoint(
    config: Arc<rustls::ServerConfig>,
    status: &'static str,
) -> (u16, JoinHandle<Option<Seen>>) {
    let (listener, port) = listener();
    let server = std::thread::spawn(move || {
        let socket = accept(&listener);
        let connection = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, socket);
        // A client that rejects the certificate ends the handshake: nothing to serve.
        let mut probe = [0u8; 0];
        if tls.read(&mut probe).is_err() {
            return None;
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| serve_one(&mut tls, status))).ok()
    });
    (port, server)
}

fn run_report() -> collbench::report::Report {
    report("all_reduce", &["node-a"], 2, &seeds_p5_two_nodes()[..2])
}

#[test]
fn https_with_basic_auth_and_an_http_proxy_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, config) = certificates();
    for proxy in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        std::env::remove_var(proxy);
    }

    // A certificate the system does not trust: refused, and the error says so.
    std::env::set_var("SSL_CERT_FILE", dir.path().join("empty.pem"));
    std::fs::write(dir.path().join("empty.pem"), "").unwrap();
    let (port, server) = tls_endpoint(config.clone(), "200 OK");
    let err = PushGatewaySink::new(&format!("https://127.0.0.1:{port}"))
        .unwrap()
        .push(&run_report())
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(server.join().unwrap().is_none());

    // Trusted through SSL_CERT_FILE, with basic auth from the environment.
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    std::env::set_var("SSL_CERT_FILE", &ca_file);
    std::env::set_var(USER_ENV, "ops");
    std::env::set_var(PASSWORD_ENV, "s3cret");
    let (port, server) = tls_endpoint(config.clone(), "200 OK");
    PushGatewaySink::new(&format!("https://localhost:{port}/pg/"))
        .unwrap()
        .push(&run_report())
        .unwrap();
    let seen = server.join().unwrap().expect("a request over TLS");
    assert!(
        seen.request_line
            .starts_with("PUT /pg/metrics/job/collbench/instance/node-a/collective/all_reduce "),
        "{seen:?}"
    );
    // base64("ops:s3cret")
    assert_eq!(seen.header("authorization"), Some("Basic b3BzOnMzY3JldA=="));
    assert!(
        seen.body
            .contains("collbench_bus_bandwidth_bytes_per_second{"),
        "{seen:?}"
    );

    // A refusal is quoted, with its status.
    let (port, server) = tls_endpoint(config, "401 Unauthorized");
    let err = PushGatewaySink::new(&format!("https://127.0.0.1:{port}"))
        .unwrap()
        .push(&run_report())
        .unwrap_err();
    assert!(
        err.to_string().contains("answered '401 Unauthorized'"),
        "{err}"
    );
    server.join().unwrap();
    std::env::remove_var(USER_ENV);
    std::env::remove_var(PASSWORD_ENV);

    // HTTP_PROXY: the push goes to the proxy, which is asked to tunnel (CONNECT) to the gateway
    // by name (never resolved here); this proxy then plays the gateway on the tunnel.
    let (proxy, proxy_port) = listener();
    std::env::set_var("HTTP_PROXY", format!("http://127.0.0.1:{proxy_port}"));
    let server = std::thread::spawn(move || {
        let mut socket = accept(&proxy);
        let connect = serve_one(&mut socket, "200 Connection established");
        (connect, serve_one(&mut socket, "200 OK"))
    });
    PushGatewaySink::new("http://pushgateway.invalid:9091")
        .unwrap()
        .push(&run_report())
        .unwrap();
    std::env::remove_var("HTTP_PROXY");
    let (connect, seen) = server.join().unwrap();
    assert!(
        connect
            .request_line
            .starts_with("CONNECT pushgateway.invalid:9091 "),
        "{connect:?}"
    );
    assert!(
        seen.request_line
            .starts_with("PUT /metrics/job/collbench/instance/node-a/collective/all_reduce "),
        "{seen:?}"
    );
}
