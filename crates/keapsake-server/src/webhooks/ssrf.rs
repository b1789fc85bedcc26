//! Where hooks may connect (SECURITY.md §8).
//!
//! - Always blocked: `0.0.0.0/8`, `169.254/16`, `255.255.255.255`, multicast, `::`, `fe80::/10`,
//!   and IPv6 forms that carry such an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
//!   IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
//! - The production profile also blocks loopback, RFC 1918, `100.64/10`, `fc00::/7` and the
//!   other special-purpose ranges, unless an `--hook-allow` range contains the address; the
//!   sandbox allows loopback and private addresses (local receivers are the point of a sandbox).
//!
//! IP literals in every spelling are normalised by the WHATWG URL parser (`url` crate: decimal
//! `2130706433`, hex `0x7f.1`, octal `0177.0.0.1`, short `127.1`) before they are checked, and
//! refused at subscription without connecting. Names are resolved at every connection by
//! [`GuardedResolver`], every address is checked, and the connection goes to the checked
//! addresses only (reqwest connects to what the resolver returned), so a name that rebinds
//! between the check and the connection cannot reach a blocked address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// An address range `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `v6/n`, or a bare address (a /32 or /128).
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is inside the range (IPv4 ranges also match IPv4-mapped IPv6 addresses).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which destinations hooks may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPolicy {
    /// Allow loopback, private (RFC 1918, `fc00::/7`) and shared (`100.64/10`) addresses: the
    /// sandbox profile.
    pub allow_internal: bool,
    /// Ranges allowed even though they are internal (never the always-blocked ones).
    pub allow: Vec<Cidr>,
}

/// The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), else itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let o = v6.octets();
    // IPv4-compatible ::a.b.c.d (deprecated, but routable by some stacks); not :: and ::1.
    if s[..6] == [0; 6] && u128::from(v6) > 1 {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    // 6to4 2002:AABB:CCDD::/48.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// Why an address is refused, or `None` if hooks may connect to it under `policy`.
pub fn blocked(ip: IpAddr, policy: &NetPolicy) -> Option<&'static str> {
    let ip = canonical(ip);
    let always = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if o[0] == 0 {
                Some("0.0.0.0/8 (this network)")
            } else if v4.is_link_local() {
                Some("169.254.0.0/16 (link-local, cloud metadata)")
            } else if v4.is_broadcast() {
                Some("broadcast")
            } else if v4.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_unspecified() {
                Some(":: (unspecified)")
            } else if v6.segments()[0] & 0xffc0 == 0xfe80 {
                Some("fe80::/10 (link-local)")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    };
    if always.is_some() {
        return always;
    }
    if policy.allow_internal || policy.allow.iter().any(|c| c.contains(ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private (RFC 1918)")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("100.64.0.0/10 (shared address space)")
            } else if o[0] >= 240 {
                Some("240.0.0.0/4 (reserved)")
            } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
                Some("192.0.0.0/24 (IETF protocol assignments)")
            } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
                Some("198.18.0.0/15 (benchmarking)")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.segments()[0] & 0xfe00 == 0xfc00 {
                Some("fc00::/7 (unique local)")
            } else if v6.segments()[0] & 0xffc0 == 0xfec0 {
                Some("fec0::/10 (site-local)")
            } else {
                None
            }
        }
    }
}

/// A refused hook URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not an absolute http(s) URL with a host.
    #[error("hookUrl must be an absolute http or https URL")]
    NotHttp,
    /// Credentials in the URL.
    #[error("hookUrl must not contain a user name or password")]
    Credentials,
    /// Production profile: plain http to a non-allow-listed host.
    #[error("hookUrl must use https")]
    NeedsHttps,
    /// An address hooks may not reach.
    #[error("hookUrl points to a blocked address ({0})")]
    Blocked(&'static str),
    /// The name does not resolve (or resolves to nothing).
    #[error("hookUrl host {0} does not resolve")]
    Unresolvable(String),
}

/// Parses and checks a hook URL without connecting. IP literals (in any spelling the URL
/// parser accepts) are checked here; names are checked by the resolver at every connection.
///
/// # Errors
/// [`UrlError`].
pub fn check_url(raw: &str, policy: &NetPolicy, https_only: bool) -> Result<url::Url, UrlError> {
    let url = url::Url::parse(raw.trim()).map_err(|_| UrlError::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let ip = match url.host() {
        None => return Err(UrlError::NotHttp),
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain("")) => return Err(UrlError::NotHttp),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = ip
        && let Some(why) = blocked(ip, policy)
    {
        return Err(UrlError::Blocked(why));
    }
    if https_only && url.scheme() == "http" {
        let allowed = ip.is_some_and(|ip| policy.allow.iter().any(|c| c.contains(ip)));
        if !allowed {
            return Err(UrlError::NeedsHttps);
        }
    }
    Ok(url)
}

/// Name resolution for hooks; replaceable in tests (e.g. a resolver that rebinds).
pub trait HookResolver: Send + Sync + 'static {
    /// The addresses of `host`.
    fn lookup(
        &self,
        host: String,
    ) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;
}

/// The system resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl HookResolver for SystemResolver {
    fn lookup(
        &self,
        host: String,
    ) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A reqwest resolver that refuses a name if any of its addresses is blocked.
#[derive(Clone)]
pub struct GuardedResolver {
    /// The underlying resolver.
    pub inner: Arc<dyn HookResolver>,
    /// The policy.
    pub policy: Arc<NetPolicy>,
}

impl GuardedResolver {
    /// Resolves and checks `host`: every address must be allowed.
    ///
    /// # Errors
    /// [`UrlError::Blocked`] or [`UrlError::Unresolvable`].
    pub async fn checked(&self, host: &str) -> Result<Vec<IpAddr>, UrlError> {
        let addrs = self
            .inner
            .lookup(host.to_owned())
            .await
            .map_err(|_| UrlError::Unresolvable(host.to_owned()))?;
        if addrs.is_empty() {
            return Err(UrlError::Unresolvable(host.to_owned()));
        }
        for ip in &addrs {
            if let Some(why) = blocked(*ip, &self.policy) {
                return Err(UrlError::Blocked(why));
            }
        }
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = this
                .checked(&host)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn production() -> NetPolicy {
        NetPolicy::default()
    }

    fn sandbox() -> NetPolicy {
        NetPolicy {
            allow_internal: true,
            allow: Vec::new(),
        }
    }

    #[test]
    fn every_spelling_of_loopback_is_refused_in_production() {
        for raw in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://0177.0000.0000.0001/",
            "http://127.1/",
            "http://127.0.1/",
            "http://[::1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://127.255.255.254:8080/x",
        ] {
            assert!(
                matches!(
                    check_url(raw, &production(), false),
                    Err(UrlError::Blocked(_))
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn always_blocked_even_in_sandbox() {
        for raw in [
            "http://169.254.169.254/latest/meta-data/",
            "http://0xa9fea9fe/",
            "http://2852039166/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://0.0.0.0/",
            "http://0/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[ff02::1]/",
        ] {
            assert!(
                matches!(check_url(raw, &sandbox(), false), Err(UrlError::Blocked(_))),
                "{raw}"
            );
        }
    }

    #[test]
    fn sandbox_allows_local_receivers_and_production_allow_list_works() {
        assert!(check_url("http://127.0.0.1:9000/h", &sandbox(), false).is_ok());
        assert!(check_url("http://10.1.2.3/h", &sandbox(), false).is_ok());
        let listed = NetPolicy {
            allow_internal: false,
            allow: vec![Cidr::parse("10.0.0.0/8").unwrap()],
        };
        assert!(check_url("http://10.1.2.3/h", &listed, true).is_ok());
        assert!(check_url("http://10.1.2.3/h", &production(), false).is_err());
        assert!(check_url("https://example.com/h", &production(), true).is_ok());
        assert_eq!(
            check_url("http://example.com/h", &production(), true),
            Err(UrlError::NeedsHttps)
        );
    }

    #[test]
    fn malformed_urls_are_refused() {
        for raw in [
            "",
            "example.com/h",
            "ftp://example.com/",
            "http://",
            "//x/y",
        ] {
            assert!(check_url(raw, &sandbox(), false).is_err(), "{raw}");
        }
        assert_eq!(
            check_url("http://u:p@example.com/", &sandbox(), false),
            Err(UrlError::Credentials)
        );
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let c = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(c.contains("192.168.4.5".parse().unwrap()));
        assert!(c.contains("::ffff:192.168.4.5".parse().unwrap()));
        assert!(!c.contains("192.169.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
        assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }
}
