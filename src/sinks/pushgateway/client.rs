//! One PUT to the Pushgateway through ureq (blocking, rustls): http or https (certificates
//! checked against the system's trust store; SSL_CERT_FILE / SSL_CERT_DIR point elsewhere),
//! basic auth, HTTP(S)_PROXY / ALL_PROXY / NO_PROXY from the environment, and one deadline for
//! the whole exchange.

use super::url::GatewayUrl;
use crate::error::{CollbenchError, Result};
use std::io::ErrorKind;
use std::time::Duration;
use ureq::tls::{RootCerts, TlsConfig};
use ureq::{Agent, Proxy};

/// The most of an error answer quoted back.
const ANSWER_LIMIT: u64 = 64 * 1024;

fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        // Resolving, connecting, TLS, sending and reading the answer, all together.
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(format!("collbench/{}", env!("CARGO_PKG_VERSION")))
        .proxy(Proxy::try_from_env())
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into()
}

/// PUTs `body` to `url` + `path`; Ok on a 2xx answer, else an error quoting the answer. The whole
/// exchange ends within `timeout`, also against a gateway that answers a byte at a time.
pub fn put(url: &GatewayUrl, path: &str, body: &str, timeout: Duration) -> Result<()> {
    let target = url.join(path);
    let io = |kind: ErrorKind, why: String| {
        CollbenchError::io(target.clone(), std::io::Error::new(kind, why))
    };
    let mut request = agent(timeout)
        .put(&target)
        .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    if let Some(auth) = &url.basic_auth {
        request = request.header("Authorization", auth.header());
    }
    let mut answer = request.send(body).map_err(|e| match e {
        ureq::Error::Timeout(_) => io(
            ErrorKind::TimedOut,
            format!(
                "the Pushgateway did not answer within {} s (the limit of one push)",
                timeout.as_secs_f64()
            ),
        ),
        other => io(ErrorKind::Other, other.to_string()),
    })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let text = answer
        .body_mut()
        .with_config()
        .limit(ANSWER_LIMIT)
        .read_to_string()
        .unwrap_or_default();
    let hint = if status.as_u16() == 401 && url.basic_auth.is_none() {
        format!(
            " (it asks for credentials: set {} and {})",
            super::url::USER_ENV,
            super::url::PASSWORD_ENV
        )
    } else {
        String::new()
    };
    Err(io(
        ErrorKind::Other,
        format!(
            "the Pushgateway answered '{} {}'{hint}: {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            text.trim()
        ),
    ))
}
