//! Brute-force limits on sign-in and client authentication (SECURITY.md §9).
//!
//! Failures are counted per (folded e-mail or client id, IP) and per IP, in the shared
//! [`CounterStore`](keapsake_core::counters::CounterStore), under the policy of
//! [`BruteForce`]: 5 free failures in 15 minutes, then waits of 1 s, 2 s, 4 s … at most 60 s
//! after the latest failure (20 free per IP). A refused attempt is answered 429 with
//! `Retry-After`, is not evaluated and is not counted. Successes are not counted. Every failure
//! is forgotten after 15 minutes; nothing locks an account for good.
//!
//! Where the verification costs Argon2 (every password, operator-chosen client secrets, unknown
//! clients), [`Guard::begin`] checks **before** the work and reserves the attempt as a failure
//! in the same step: concurrent attempts each take a distinct count, so a burst of parallel
//! guesses gets exactly the free ones evaluated, not all of them. A success gives its reservation
//! back ([`Attempt::succeeded`]).
//!
//! Generated client secrets (256 bits, stored as SHA-256) cost one hash to verify and cannot be
//! guessed, so `/token` verifies them first and consults the counters only after a failure
//! ([`Guard::failed`]): the token endpoint's hot path does no counter I/O, and a client holding
//! its real secret is never held up.
//!
//! Keys hold no secrets: `bf:login:<ip>:<folded e-mail>`, `bf:login-ip:<ip>`,
//! `bf:client:<ip>:<client id>`, `bf:client-ip:<ip>`. IPv6 addresses count by their /64 (one
//! host usually holds a whole /64). The address is the peer's, or with
//! [`Config::trust_forwarded`](crate::Config::trust_forwarded) the last `X-Forwarded-For` entry
//! (the one the trusted proxy appended; earlier entries are whatever the client sent).

use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use keapsake_core::StoreError;
use keapsake_core::counters::{BruteForce, Hit, Recent, floor, seconds_until};
use keapsake_core::secret::TokenHash;
use keapsake_core::store::fold_email;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use time::OffsetDateTime;

/// The client's address as far as limits are concerned: the peer, or the last `X-Forwarded-For`
/// entry when `trust_forwarded` is set. `None` when neither is known (requests driven through
/// the router in tests); such requests share one "unknown" address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// Works the address out of a request's headers and extensions.
    pub fn from_parts(parts: &Parts, trust_forwarded: bool) -> Self {
        // Only the last entry: the one our proxy appended. If it does not parse, the peer
        // address is used rather than an earlier, client-supplied entry.
        let forwarded = trust_forwarded
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .next_back()
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(',').next())
                    .and_then(|s| s.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        };
        Self(forwarded.or_else(peer))
    }

    /// How the address appears in counter keys: IPv4 dotted, IPv6 as its /64, `unknown`.
    pub fn key_part(&self) -> String {
        match self.0.map(|ip| ip.to_canonical()) {
            None => "unknown".to_owned(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts, state.config.trust_forwarded))
    }
}

/// A user name or client id as it appears in a key: as typed (after folding), unless longer than
/// any e-mail address may be, then as a hash so a key stays small.
fn name_part(name: &str) -> String {
    if name.len() <= 254 {
        name.to_owned()
    } else {
        let hash = TokenHash::of(name);
        let hex: String = hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// `1 second`, `5 seconds`: a wait in words for a page or an error description.
pub fn seconds_text(secs: u64) -> String {
    if secs == 1 {
        "1 second".to_owned()
    } else {
        format!("{secs} seconds")
    }
}

/// Why an attempt may not run now.
#[derive(Debug)]
pub enum Refused {
    /// Over the limit: retry after this many seconds (1 to 60).
    Wait(u64),
    /// The counters could not be read or written; refuse rather than let guesses through.
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The two counters one attempt is checked against: (name, IP) and IP.
#[derive(Debug, Clone)]
pub struct Guard {
    keys: [(String, BruteForce); 2],
}

impl Guard {
    /// Sign-in attempts for `email` (ASCII-folded, as accounts are matched) from `ip`.
    pub fn login(ip: &ClientIp, email: &str) -> Self {
        let ip = ip.key_part();
        Self {
            keys: [
                (
                    format!("bf:login:{ip}:{}", name_part(&fold_email(email.trim()))),
                    BruteForce::PER_ACCOUNT,
                ),
                (format!("bf:login-ip:{ip}"), BruteForce::PER_IP),
            ],
        }
    }

    /// Client authentications as `client_id` from `ip`.
    pub fn client(ip: &ClientIp, client_id: &str) -> Self {
        let ip = ip.key_part();
        Self {
            keys: [
                (
                    format!("bf:client:{ip}:{}", name_part(client_id)),
                    BruteForce::PER_ACCOUNT,
                ),
                (format!("bf:client-ip:{ip}"), BruteForce::PER_IP),
            ],
        }
    }

    /// The failures of each counter in its lookback.
    async fn recent(&self, state: &AppState, now: OffsetDateTime) -> Result<[Recent; 2], Refused> {
        let [(k0, p0), (k1, p1)] = &self.keys;
        let (r0, r1) = tokio::join!(
            state.store.recent(k0, p0.since(now)),
            state.store.recent(k1, p1.since(now))
        );
        Ok([r0?, r1?])
    }

    /// The wait imposed by either counter, if any.
    fn wait(&self, recent: &[Recent; 2], now: OffsetDateTime) -> Option<u64> {
        self.keys
            .iter()
            .zip(recent)
            .filter_map(|((_, policy), r)| policy.blocked_until(r, now))
            .max()
            .map(|until| seconds_until(now, until))
    }

    /// One-second failure windows of both counters, each adding `by`.
    fn hits(&self, second: OffsetDateTime, by: i64) -> [Hit<'_>; 2] {
        let [(k0, p0), (k1, p1)] = &self.keys;
        [
            Hit {
                key: k0,
                window_start: second,
                window: p0.lookback,
                by,
            },
            Hit {
                key: k1,
                window_start: second,
                window: p1.lookback,
                by,
            },
        ]
    }

    /// Before an expensive verification: refuses while either counter imposes a wait, and
    /// otherwise reserves the attempt as a failure of both counters. Drop the [`Attempt`] if the
    /// verification fails (the reservation is the failure); call [`Attempt::succeeded`] if it
    /// succeeds.
    ///
    /// # Errors
    /// [`Refused::Wait`] over the limit (also when concurrent attempts took the last free
    /// places first); [`Refused::Store`] if the counters are unavailable.
    pub async fn begin(self, state: &AppState) -> Result<Attempt, Refused> {
        let now = state.clock.now();
        let recent = self.recent(state, now).await?;
        if let Some(wait) = self.wait(&recent, now) {
            return Err(Refused::Wait(wait));
        }
        let second = floor(now, BruteForce::BUCKET);
        let counts = state.store.hit_all(&self.hits(second, 1)).await?;
        // This attempt's place among those reserved since the read above: the count now, less
        // what this second's window held then. It may run only within the free places left, or
        // as the single attempt a finished wait allows.
        let mut wait = None;
        for (((_, policy), r), count) in self.keys.iter().zip(&recent).zip(&counts) {
            let before = r.latest.filter(|(s, _)| *s == second).map_or(0, |(_, n)| n);
            let place = count - before;
            let allowed = (policy.free_failures - r.total).max(1);
            if place > allowed {
                let ahead = Recent {
                    total: r.total + place - 1,
                    latest: Some((second, count - 1)),
                };
                let w = policy
                    .blocked_until(&ahead, now)
                    .map_or(1, |until| seconds_until(now, until));
                wait = wait.max(Some(w));
            }
        }
        if let Some(wait) = wait {
            if let Err(e) = state.store.hit_all(&self.hits(second, -1)).await {
                tracing::warn!(error = %e, "could not give back a refused attempt's reservation");
            }
            return Err(Refused::Wait(wait));
        }
        Ok(Attempt {
            guard: self,
            second,
        })
    }

    /// After a cheap verification failed (no reservation was taken): refuses while either counter
    /// imposes a wait (the failure is then not counted), and otherwise counts it.
    ///
    /// # Errors
    /// [`Refused::Wait`] over the limit; [`Refused::Store`] if the counters are unavailable.
    pub async fn failed(self, state: &AppState) -> Result<(), Refused> {
        let now = state.clock.now();
        let recent = self.recent(state, now).await?;
        if let Some(wait) = self.wait(&recent, now) {
            return Err(Refused::Wait(wait));
        }
        state
            .store
            .hit_all(&self.hits(floor(now, BruteForce::BUCKET), 1))
            .await?;
        Ok(())
    }
}

/// An attempt reserved by [`Guard::begin`]. Dropping it leaves the reservation counted as a
/// failure.
#[derive(Debug)]
#[must_use = "drop it after a failure, or call succeeded()"]
pub struct Attempt {
    guard: Guard,
    second: OffsetDateTime,
}

impl Attempt {
    /// The attempt succeeded: gives its reservation back (successes do not count).
    pub async fn succeeded(self, state: &AppState) {
        if let Err(e) = state.store.hit_all(&self.guard.hits(self.second, -1)).await {
            // The success then counts as one failure for 15 minutes: harmless.
            tracing::warn!(error = %e, "could not give back a successful attempt's reservation");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_slash_64_and_mapped_ipv4_as_ipv4() {
        let v6 = ClientIp(Some("2001:db8:1:2:aaaa::1".parse().expect("ip")));
        let same_net = ClientIp(Some("2001:db8:1:2:ffff::9".parse().expect("ip")));
        assert_eq!(v6.key_part(), "2001:db8:1:2::/64");
        assert_eq!(v6.key_part(), same_net.key_part());
        let mapped = ClientIp(Some("::ffff:10.1.2.3".parse().expect("ip")));
        assert_eq!(mapped.key_part(), "10.1.2.3");
        assert_eq!(ClientIp(None).key_part(), "unknown");
    }

    #[test]
    fn keys_fold_ascii_case_and_hash_overlong_names() {
        let ip = ClientIp(Some("10.0.0.1".parse().expect("ip")));
        let g = Guard::login(&ip, " Ada@Example.COM ");
        assert_eq!(g.keys[0].0, "bf:login:10.0.0.1:ada@example.com");
        assert_eq!(g.keys[1].0, "bf:login-ip:10.0.0.1");
        let long = "x".repeat(300);
        let g = Guard::client(&ip, &long);
        assert!(g.keys[0].0.starts_with("bf:client:10.0.0.1:sha256:"));
        assert!(g.keys[0].0.len() < 100);
    }

    #[test]
    fn the_last_forwarded_entry_is_used_only_when_trusted() {
        let req = axum::http::Request::builder()
            .header("x-forwarded-for", "1.1.1.1, 2.2.2.2")
            .header("x-forwarded-for", "3.3.3.3")
            .body(())
            .expect("request");
        let (mut parts, ()) = req.into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([9, 9, 9, 9], 1234))));
        assert_eq!(
            ClientIp::from_parts(&parts, true).0,
            Some("3.3.3.3".parse().expect("ip"))
        );
        assert_eq!(
            ClientIp::from_parts(&parts, false).0,
            Some("9.9.9.9".parse().expect("ip"))
        );
    }
}
