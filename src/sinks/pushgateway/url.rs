//! `--push-gateway URL` and its credentials: `http[s]://HOST[:PORT][/PATH]`, basic-auth user and
//! password from the environment (never from the URL: the command line is recorded in the report's
//! `args`, shown by `ps` and kept in Slurm's job records).

use crate::error::{CollbenchError, Result};

/// Basic-auth user name for the Pushgateway (an ingress in front of it usually asks for one).
pub const USER_ENV: &str = "COLLBENCH_PUSH_GATEWAY_USER";
/// Basic-auth password for the Pushgateway.
pub const PASSWORD_ENV: &str = "COLLBENCH_PUSH_GATEWAY_PASSWORD";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// User and password for HTTP basic authentication.
#[derive(Clone, PartialEq)]
pub struct BasicAuth {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    // The password never reaches a log or an error message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BasicAuth {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

impl BasicAuth {
    /// From COLLBENCH_PUSH_GATEWAY_USER and COLLBENCH_PUSH_GATEWAY_PASSWORD: both or neither.
    pub fn from_env() -> Result<Option<BasicAuth>> {
        Self::from_values(
            std::env::var(USER_ENV).ok().filter(|v| !v.is_empty()),
            std::env::var(PASSWORD_ENV).ok().filter(|v| !v.is_empty()),
        )
    }

    pub fn from_values(
        user: Option<String>,
        password: Option<String>,
    ) -> Result<Option<BasicAuth>> {
        match (user, password) {
            (None, None) => Ok(None),
            (Some(user), Some(password)) if !user.contains(':') => {
                Ok(Some(BasicAuth { user, password }))
            }
            (Some(user), Some(_)) => Err(CollbenchError::Usage(format!(
                "{USER_ENV}='{user}' contains ':', which basic authentication cannot carry in a user name; give the user name alone"
            ))),
            (Some(_), None) => Err(CollbenchError::Usage(format!(
                "{USER_ENV} is set but {PASSWORD_ENV} is not; set both for basic authentication, or neither"
            ))),
            (None, Some(_)) => Err(CollbenchError::Usage(format!(
                "{PASSWORD_ENV} is set but {USER_ENV} is not; set both for basic authentication, or neither"
            ))),
        }
    }

    /// The `Authorization` header's value.
    pub fn header(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// A parsed `http[s]://host[:port][/prefix]` URL, with the credentials from the environment.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayUrl {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    /// Path prefix without trailing slash (`""` or `/pushgateway`).
    pub prefix: String,
    pub basic_auth: Option<BasicAuth>,
}

impl GatewayUrl {
    /// Parses `text` and reads the basic-auth variables, so that a half-set pair fails before
    /// the run starts rather than at its end.
    pub fn parse(text: &str) -> Result<GatewayUrl> {
        let mut url = Self::parse_url(text)?;
        url.basic_auth = BasicAuth::from_env()?;
        Ok(url)
    }

    fn parse_url(text: &str) -> Result<GatewayUrl> {
        let bad = |why: &str| {
            CollbenchError::Usage(format!(
                "--push-gateway: '{text}' {why}; expected http[s]://HOST[:PORT][/PATH] such as http://pushgateway:9091"
            ))
        };
        let (scheme, rest, default_port) = if let Some(rest) = text.strip_prefix("http://") {
            (Scheme::Http, rest, 80)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (Scheme::Https, rest, 443)
        } else {
            return Err(bad("is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad(&format!(
                "carries credentials, which the report's args and `ps` would show; set {USER_ENV} and {PASSWORD_ENV} instead"
            )));
        }
        // `[v6addr]:port` or `host:port`.
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
            None => default_port,
        };
        if host.is_empty() || port == 0 {
            return Err(bad("has no host or a zero port"));
        }
        if path.contains(['?', '#', ' ']) {
            return Err(bad("has a query, fragment or space in its path"));
        }
        Ok(GatewayUrl {
            scheme,
            host: host.to_string(),
            port,
            prefix: path.trim_end_matches('/').to_string(),
            basic_auth: None,
        })
    }

    /// The full URL of `path` under this gateway.
    pub fn join(&self, path: &str) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}{}{path}", self.port, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gateway_urls_and_rejects_what_it_cannot_speak() {
        let u = GatewayUrl::parse_url("http://pg.cluster:9091").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.prefix.as_str()),
            (Scheme::Http, "pg.cluster", 9091, "")
        );
        let u = GatewayUrl::parse_url("http://10.0.0.5/pushgateway/").unwrap();
        assert_eq!((u.port, u.prefix.as_str()), (80, "/pushgateway"));
        let u = GatewayUrl::parse_url("https://pg.example/pg").unwrap();
        assert_eq!((u.scheme, u.port), (Scheme::Https, 443));
        assert_eq!(
            u.join("/metrics/job/x"),
            "https://pg.example:443/pg/metrics/job/x"
        );
        let u = GatewayUrl::parse_url("http://[::1]:9091").unwrap();
        assert_eq!(u.join("/m"), "http://[::1]:9091/m");
        for bad in [
            "ftp://x:9091",
            "pg:9091",
            "http://:9091",
            "http://x:99999",
            "http://u:p@x:1",
            "http://x:1/a?b",
        ] {
            let err = GatewayUrl::parse_url(bad).unwrap_err().to_string();
            assert!(err.contains("--push-gateway") && err.contains(bad), "{err}");
        }
        let err = GatewayUrl::parse_url("https://u:p@x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(USER_ENV) && err.contains(PASSWORD_ENV),
            "{err}"
        );
    }

    #[test]
    fn credentials_come_in_pairs_and_the_password_is_never_printed() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(BasicAuth::from_values(None, None).unwrap(), None);
        let auth = BasicAuth::from_values(some("ops"), some("s3cret:x"))
            .unwrap()
            .unwrap();
        // RFC 7617's encoding of "ops:s3cret:x".
        assert_eq!(auth.header(), "Basic b3BzOnMzY3JldDp4");
        assert!(!format!("{auth:?}").contains("s3cret"));
        for (user, password, named) in [
            (some("ops"), None, PASSWORD_ENV),
            (None, some("pw"), USER_ENV),
            (some("a:b"), some("pw"), "contains ':'"),
        ] {
            let err = BasicAuth::from_values(user, password).unwrap_err();
            assert_eq!(err.exit_code(), 6);
            assert!(err.to_string().contains(named), "{err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }
}
