//! Server configuration: where to listen, the public base URL, token lifetimes, TLS, the demo
//! switch and the quota profile. The CLI fills this from flags and environment; tests build it
//! directly.

use crate::quota::{Limits, Profile, QuotaOverrides};
use keapsake_core::oauth::Lifetimes;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// How the server terminates TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// A self-signed certificate for `localhost` and `127.0.0.1`, generated at start with rcgen.
    SelfSigned,
    /// A PEM certificate chain and private key.
    Files {
        /// PEM certificate chain.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
}

/// An SMTP relay URL (`--smtp`): `smtp://host:port` (plain), `smtp://…?tls=required`
/// (STARTTLS), `smtps://user:pass@host` (implicit TLS). Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpRelay(pub url::Url);

impl SmtpRelay {
    /// Parses a relay URL: the scheme must be `smtp` or `smtps` and a host is required.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err("the scheme must be smtp:// or smtps://".to_owned());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the URL must name a host".to_owned());
        }
        Ok(Self(url))
    }

    /// The URL with any password replaced by `***` (for logs and `Debug`).
    pub fn redacted(&self) -> String {
        let mut u = self.0.clone();
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        u.to_string()
    }
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SmtpRelay").field(&self.redacted()).finish()
    }
}

/// Everything the server needs besides its store and clock.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port; [`crate::Server::bind`] writes the real one back.
    pub listen: SocketAddr,
    /// Base for absolute links (v1 `next`/`previous`, the demo redirect URI) and the RFC 8414
    /// issuer. Default: `http(s)://<listen>/` (an unspecified listen address becomes loopback).
    pub public_url: Option<url::Url>,
    /// Domain in the token `scope` (`full|<alias>.<app_domain>`, `keap/oauth.md` §4.4).
    pub app_domain: String,
    /// Code, access-token and refresh-token lifetimes and the refresh-reuse grace window.
    pub lifetimes: Lifetimes,
    /// TLS, if the server terminates it.
    pub tls: Option<TlsConfig>,
    /// Serves `GET /demo/callback`, which shows a code and the curl command to exchange it.
    pub demo: bool,
    /// Trust `X-Forwarded-For`/`-Proto`/`-Host` from a reverse proxy (client address in logs,
    /// the same-origin check on form posts). Leave off unless a proxy you run sets them.
    pub trust_forwarded: bool,
    /// Quotas on the resource APIs (`keap/oauth.md` §7): `Sandbox` (default) reports generous
    /// limits and never answers 429; `Production` enforces Keap's. See [`crate::quota`].
    pub profile: Profile,
    /// Single limits replacing the profile's.
    pub quota_overrides: QuotaOverrides,
    /// REST hook delivery (`crate::webhooks`).
    pub hooks: crate::webhooks::HookConfig,
    /// SMTP relay for the mail outbox (`POST /emails/queue`). `None` (the default): messages
    /// stay in the outbox and no mail is sent.
    pub smtp: Option<SmtpRelay>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            public_url: None,
            app_domain: "infusionsoft.com".to_owned(),
            lifetimes: Lifetimes::default(),
            tls: None,
            demo: false,
            trust_forwarded: false,
            profile: Profile::default(),
            quota_overrides: QuotaOverrides::default(),
            hooks: crate::webhooks::HookConfig::default(),
            smtp: None,
        }
    }
}

impl Config {
    /// The base URL every absolute link starts with. Always ends in `/`.
    pub fn base_url(&self) -> url::Url {
        let mut url = match &self.public_url {
            Some(u) => u.clone(),
            None => {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                let ip = match self.listen.ip() {
                    IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                    ip => ip,
                };
                let addr = SocketAddr::new(ip, self.listen.port());
                url::Url::parse(&format!("{scheme}://{addr}/"))
                    .expect("a scheme and a socket address always form a valid URL")
            }
        };
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url.set_query(None);
        url.set_fragment(None);
        url
    }

    /// The quota limits in force: the profile's, with the overrides applied.
    pub fn quota_limits(&self) -> Limits {
        self.quota_overrides.apply(Limits::of(self.profile))
    }

    /// Whether browsers reach us over https (cookies get `Secure` and the `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.tls.is_some() || self.base_url().scheme() == "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_defaults_to_the_listen_address_with_loopback_for_unspecified() {
        let mut c = Config {
            listen: "0.0.0.0:9000".parse().expect("addr"),
            ..Config::default()
        };
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:9000/");
        c.tls = Some(TlsConfig::SelfSigned);
        assert_eq!(c.base_url().as_str(), "https://127.0.0.1:9000/");
        assert!(c.is_https());
    }

    #[test]
    fn smtp_relays_are_checked_and_never_print_their_password() {
        let r = SmtpRelay::parse("smtps://user:hunter2@mail.example.com").expect("valid");
        assert!(!format!("{r:?}").contains("hunter2"));
        assert!(r.redacted().contains("user:***@"));
        assert!(SmtpRelay::parse("http://mail.example.com").is_err());
        assert!(SmtpRelay::parse("smtp://").is_err());
        assert!(SmtpRelay::parse("smtp://127.0.0.1:2525").is_ok());
    }

    #[test]
    fn public_url_wins_and_always_ends_with_a_slash() {
        let c = Config {
            public_url: Some(url::Url::parse("https://keap.example.com/sandbox").expect("url")),
            ..Config::default()
        };
        assert_eq!(c.base_url().as_str(), "https://keap.example.com/sandbox/");
        assert!(c.is_https());
    }
}
