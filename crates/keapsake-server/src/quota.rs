//! Keap's quotas and throttles on the resource APIs (`keap/oauth.md` §7, SECURITY.md §9): the
//! `x-keap-product-*` and `x-keap-tenant-throttle-*` headers on every authenticated response
//! under `/crm/rest/` and `/crm/xmlrpc`, and, in the [`Profile::Production`] profile, `429` with
//! Apigee's fault body and `Retry-After` once a bucket is exhausted.
//!
//! Buckets, in the order they are checked (the first exhausted one answers):
//!
//! | bucket | OAuth token (per client, across tenants) | PAT/SAK/legacy key (per key) | 429 `errorcode` |
//! |---|---|---|---|
//! | product, per second | 25 (spike arrest, not reported in headers) | 10 | `policies.ratelimit.SpikeArrestViolation` |
//! | product, per calendar minute (`x-keap-product-throttle-*`) | 1,500 | 240 | `policies.ratelimit.QuotaViolation` |
//! | product, per UTC day (`x-keap-product-quota-*`) | 150,000 | 30,000 | `policies.ratelimit.QuotaViolation` |
//! | tenant (account), per minute and per day (`x-keap-tenant-throttle-*`, piped `minute\|day`) | 10,000 and 250,000 | same | `policies.ratelimit.QuotaViolation` |
//!
//! (`keap/oauth.md` calls per-minute exhaustion a spike; keapsake follows Apigee, where the
//! per-minute and per-day buckets are Quota policies and only the per-second rate is a Spike
//! Arrest.) Windows are fixed: the calendar second, minute and UTC day holding the request, so a
//! bucket refills at once when its window ends and `Retry-After` is the time to that end.
//!
//! **Production** counts in the database ([`keapsake_core::counters::CounterStore::hit_all`], one
//! round trip per request), so every node sharing it enforces one budget. A refused request gives
//! its counts back: a client hammering through a 429 does not burn its daily quota.
//!
//! **Sandbox** (the default) never answers 429 and never writes to the database: it counts in
//! this process only (a mutex-guarded map, nanoseconds per request) and reports generous limits,
//! [`Limits::SANDBOX`] — Keap's figures × 1,000.
//!
//! Requests without a valid credential pass through untouched (the handler answers 401 as Keap's
//! gateway does, before any quota). A credential sent as XML-RPC's first parameter is not seen
//! here (it is in the body).

use crate::error::json;
use crate::extract::{Presented, Via, presented_credential, resolve};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use keapsake_core::clock::to_millis;
use keapsake_core::counters::{Hit, Unit, seconds_until};
use keapsake_types::ApigeeFault;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// Which set of limits applies, and whether they are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Headers with generous limits ([`Limits::SANDBOX`]), counted per process; never 429.
    #[default]
    Sandbox,
    /// Keap's limits ([`Limits::KEAP`]), counted in the database and enforced with 429.
    Production,
}

impl Profile {
    /// `sandbox` or `production` (CLI and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(Self::Sandbox),
            "production" => Some(Self::Production),
            _ => None,
        }
    }
}

/// The buckets of one credential (Keap's "product").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductLimits {
    /// Spike arrest: requests per calendar second (not reported in headers); `None`: none.
    pub per_second: Option<u64>,
    /// Requests per calendar minute (`x-keap-product-throttle-limit`).
    pub per_minute: u64,
    /// Requests per UTC day (`x-keap-product-quota-limit`).
    pub per_day: u64,
}

/// The buckets of one account (tenant), shared by all its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantLimits {
    /// Requests per calendar minute.
    pub per_minute: u64,
    /// Requests per UTC day.
    pub per_day: u64,
}

/// Every limit, by credential kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// OAuth access tokens, per client (app) across all tenants.
    pub oauth: ProductLimits,
    /// PAT, SAK and legacy keys, per key.
    pub key: ProductLimits,
    /// Per account, whatever the credential.
    pub tenant: TenantLimits,
}

impl Limits {
    /// Keap's published figures (`keap/oauth.md` §7): the production profile.
    pub const KEAP: Limits = Limits {
        oauth: ProductLimits {
            per_second: Some(25),
            per_minute: 1_500,
            per_day: 150_000,
        },
        key: ProductLimits {
            per_second: Some(10),
            per_minute: 240,
            per_day: 30_000,
        },
        tenant: TenantLimits {
            per_minute: 10_000,
            per_day: 250_000,
        },
    };

    /// What the sandbox reports: Keap's figures × 1,000 (OAuth 1,500,000/min and
    /// 150,000,000/day; keys 240,000/min and 30,000,000/day; tenant 10,000,000/min and
    /// 250,000,000/day). Never enforced.
    pub const SANDBOX: Limits = Limits {
        oauth: ProductLimits {
            per_second: None,
            per_minute: 1_500_000,
            per_day: 150_000_000,
        },
        key: ProductLimits {
            per_second: None,
            per_minute: 240_000,
            per_day: 30_000_000,
        },
        tenant: TenantLimits {
            per_minute: 10_000_000,
            per_day: 250_000_000,
        },
    };

    /// The profile's limits.
    pub fn of(profile: Profile) -> Limits {
        match profile {
            Profile::Sandbox => Self::SANDBOX,
            Profile::Production => Self::KEAP,
        }
    }
}

/// Replacements for single limits of the profile (CLI `--quota-*` flags). A per-second value of
/// 0 turns the spike arrest off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaOverrides {
    /// OAuth per-second spike arrest.
    pub oauth_per_second: Option<u64>,
    /// OAuth per-minute throttle.
    pub oauth_per_minute: Option<u64>,
    /// OAuth per-day quota.
    pub oauth_per_day: Option<u64>,
    /// Key per-second spike arrest.
    pub key_per_second: Option<u64>,
    /// Key per-minute throttle.
    pub key_per_minute: Option<u64>,
    /// Key per-day quota.
    pub key_per_day: Option<u64>,
    /// Tenant per-minute throttle.
    pub tenant_per_minute: Option<u64>,
    /// Tenant per-day quota.
    pub tenant_per_day: Option<u64>,
}

impl QuotaOverrides {
    /// `base` with every override applied.
    pub fn apply(&self, base: Limits) -> Limits {
        let second = |o: Option<u64>, b: Option<u64>| match o {
            Some(0) => None,
            Some(n) => Some(n),
            None => b,
        };
        Limits {
            oauth: ProductLimits {
                per_second: second(self.oauth_per_second, base.oauth.per_second),
                per_minute: self.oauth_per_minute.unwrap_or(base.oauth.per_minute),
                per_day: self.oauth_per_day.unwrap_or(base.oauth.per_day),
            },
            key: ProductLimits {
                per_second: second(self.key_per_second, base.key.per_second),
                per_minute: self.key_per_minute.unwrap_or(base.key.per_minute),
                per_day: self.key_per_day.unwrap_or(base.key.per_day),
            },
            tenant: TenantLimits {
                per_minute: self.tenant_per_minute.unwrap_or(base.tenant.per_minute),
                per_day: self.tenant_per_day.unwrap_or(base.tenant.per_day),
            },
        }
    }
}

/// Whose bucket a count belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    /// An OAuth client, by internal app id.
    App(i64),
    /// An API key, by id.
    Key(i64),
    /// An account.
    Account(i64),
}

impl Scope {
    /// The counter key: no secrets, only ids (`quota:app:7:minute`).
    fn key(self, unit: Unit) -> String {
        let (kind, id) = match self {
            Self::App(id) => ("app", id),
            Self::Key(id) => ("key", id),
            Self::Account(id) => ("account", id),
        };
        format!("quota:{kind}:{id}:{}", unit.as_str())
    }
}

/// Per-process counts of the sandbox profile: (scope, unit) → (window start in ms, count).
#[derive(Debug, Default)]
pub(crate) struct LocalCounters(Mutex<HashMap<(Scope, Unit), (i64, i64)>>);

impl LocalCounters {
    /// Adds one request to each (scope, unit) and returns the counts after adding.
    fn hit<const N: usize>(&self, now: OffsetDateTime, what: [(Scope, Unit); N]) -> [i64; N] {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        what.map(|(scope, unit)| {
            let start = to_millis(unit.start(now));
            let slot = map.entry((scope, unit)).or_insert((start, 0));
            if slot.0 != start {
                *slot = (start, 0);
            }
            slot.1 = slot.1.saturating_add(1);
            slot.1
        })
    }
}

/// Counts of one request's buckets.
#[derive(Debug, Clone, Copy)]
struct Usage {
    product_minute: i64,
    product_day: i64,
    tenant_minute: i64,
    tenant_day: i64,
}

/// Which bucket refused a request.
#[derive(Debug, Clone, Copy)]
enum Violation {
    /// The per-second spike arrest, with its rate.
    Spike(u64),
    /// A per-minute or per-day quota.
    Quota(Unit),
}

impl Violation {
    fn unit(self) -> Unit {
        match self {
            Self::Spike(_) => Unit::Second,
            Self::Quota(unit) => unit,
        }
    }
}

/// The middleware (on every path; acts on `/crm/rest/` and `/crm/xmlrpc` only): resolves the
/// credential once (the handler's [`Principal`](crate::extract::Principal) extractor reuses it), counts the request, and
/// adds the headers or answers 429.
pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/crm/rest/")
        || path.starts_with("/crm/xmlrpc")
        || path.starts_with("/api/xmlrpc"))
    {
        return next.run(req).await;
    }
    let Presented::Token(token) = presented_credential(req.headers(), req.uri().query()) else {
        return next.run(req).await;
    };
    let Ok(principal) = resolve(&state, &token).await else {
        // The handler resolves again and answers 401 (or 503) as it always has.
        return next.run(req).await;
    };
    drop(token);
    let now = state.clock.now();
    let limits = state.web.quota_limits;
    let (product, product_limits) = match principal.via {
        Via::OAuth { app_id, .. } => (Scope::App(app_id.0), limits.oauth),
        Via::Key { id, .. } => (Scope::Key(id), limits.key),
    };
    let tenant = Scope::Account(principal.account_id.0);
    req.extensions_mut().insert(principal);
    let counted = match state.config.profile {
        Profile::Sandbox => {
            let [pm, pd, tm, td] = state.web.local_quota.hit(
                now,
                [
                    (product, Unit::Minute),
                    (product, Unit::Day),
                    (tenant, Unit::Minute),
                    (tenant, Unit::Day),
                ],
            );
            Ok(Usage {
                product_minute: pm,
                product_day: pd,
                tenant_minute: tm,
                tenant_day: td,
            })
        }
        Profile::Production => {
            count_in_store(&state, now, product, &product_limits, tenant, &limits).await
        }
    };
    let (usage, violation) = match counted {
        Ok(usage) => (usage, None),
        Err(Counted::Refused(usage, v)) => (usage, Some(v)),
        Err(Counted::StoreFailed) => return next.run(req).await,
    };
    let mut res = match violation {
        None => next.run(req).await,
        Some(v) => too_many_requests(v, now),
    };
    write_headers(
        res.headers_mut(),
        &product_limits,
        &limits.tenant,
        &usage,
        now,
    );
    res
}

/// Why [`count_in_store`] did not simply count.
enum Counted {
    /// Over a limit: the counts as left (the request's own hit given back) and the bucket.
    Refused(Usage, Violation),
    /// The store failed; the request is served without headers (fail open: quotas protect
    /// capacity, not secrets, and the handler will meet the same store anyway).
    StoreFailed,
}

/// Production: one `hit_all` of every bucket, checked in order; a refused request's hits are
/// given back.
async fn count_in_store(
    state: &AppState,
    now: OffsetDateTime,
    product: Scope,
    product_limits: &ProductLimits,
    tenant: Scope,
    limits: &Limits,
) -> Result<Usage, Counted> {
    let second = product_limits.per_second.map(|_| product.key(Unit::Second));
    let keys = [
        product.key(Unit::Minute),
        product.key(Unit::Day),
        tenant.key(Unit::Minute),
        tenant.key(Unit::Day),
    ];
    let units = [Unit::Minute, Unit::Day, Unit::Minute, Unit::Day];
    let mut hits: Vec<Hit<'_>> = keys
        .iter()
        .zip(units)
        .map(|(key, unit)| Hit {
            key,
            window_start: unit.start(now),
            window: unit.length(),
            by: 1,
        })
        .collect();
    if let Some(key) = &second {
        hits.push(Hit {
            key,
            window_start: Unit::Second.start(now),
            window: Unit::Second.length(),
            by: 1,
        });
    }
    let counts = match state.store.hit_all(&hits).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "quota counters unavailable; serving without them");
            return Err(Counted::StoreFailed);
        }
    };
    let at = |i: usize| counts.get(i).copied().unwrap_or_default();
    let usage = Usage {
        product_minute: at(0),
        product_day: at(1),
        tenant_minute: at(2),
        tenant_day: at(3),
    };
    let over = |n: i64, limit: u64| u64::try_from(n).is_ok_and(|n| n > limit);
    let violation = match product_limits.per_second {
        Some(rate) if over(at(4), rate) => Some(Violation::Spike(rate)),
        _ if over(usage.product_minute, product_limits.per_minute) => {
            Some(Violation::Quota(Unit::Minute))
        }
        _ if over(usage.product_day, product_limits.per_day) => Some(Violation::Quota(Unit::Day)),
        _ if over(usage.tenant_minute, limits.tenant.per_minute) => {
            Some(Violation::Quota(Unit::Minute))
        }
        _ if over(usage.tenant_day, limits.tenant.per_day) => Some(Violation::Quota(Unit::Day)),
        _ => None,
    };
    let Some(violation) = violation else {
        return Ok(usage);
    };
    for h in &mut hits {
        h.by = -1;
    }
    if let Err(e) = state.store.hit_all(&hits).await {
        tracing::warn!(error = %e, "could not give back a refused request's quota counts");
    }
    let back = |n: i64| n.saturating_sub(1);
    Err(Counted::Refused(
        Usage {
            product_minute: back(usage.product_minute),
            product_day: back(usage.product_day),
            tenant_minute: back(usage.tenant_minute),
            tenant_day: back(usage.tenant_day),
        },
        violation,
    ))
}

/// 429 with Apigee's fault body (`keap/oauth.md` §7) and `Retry-After` (whole seconds to the end
/// of the exhausted window).
fn too_many_requests(v: Violation, now: OffsetDateTime) -> Response {
    let body = match v {
        Violation::Spike(rate) => ApigeeFault::new(
            format!("Spike arrest violation. Allowed rate : {rate}ps"),
            "policies.ratelimit.SpikeArrestViolation",
        ),
        Violation::Quota(_) => ApigeeFault::new(
            "Rate limit quota violation. Quota limit exceeded.",
            "policies.ratelimit.QuotaViolation",
        ),
    };
    let mut res = json(StatusCode::TOO_MANY_REQUESTS, &body);
    let wait = seconds_until(now, v.unit().end(now));
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    res
}

/// `x-keap-product-quota-*`, `x-keap-product-throttle-*` and `x-keap-tenant-throttle-*`
/// (lower-case, as Keap sends them since 2022-10-31).
fn write_headers(
    h: &mut HeaderMap,
    product: &ProductLimits,
    tenant: &TenantLimits,
    usage: &Usage,
    now: OffsetDateTime,
) {
    let used = |n: i64, limit: u64| u64::try_from(n).unwrap_or(0).min(limit);
    let name = HeaderName::from_static;
    let one = HeaderValue::from_static("1");

    let day_used = used(usage.product_day, product.per_day);
    h.insert(
        name("x-keap-product-quota-limit"),
        HeaderValue::from(product.per_day),
    );
    h.insert(
        name("x-keap-product-quota-time-unit"),
        HeaderValue::from_static("day"),
    );
    h.insert(name("x-keap-product-quota-interval"), one.clone());
    h.insert(
        name("x-keap-product-quota-available"),
        HeaderValue::from(product.per_day - day_used),
    );
    h.insert(
        name("x-keap-product-quota-used"),
        HeaderValue::from(day_used),
    );
    h.insert(
        name("x-keap-product-quota-expiry-time"),
        HeaderValue::from(to_millis(Unit::Day.end(now))),
    );

    let minute_used = used(usage.product_minute, product.per_minute);
    h.insert(
        name("x-keap-product-throttle-limit"),
        HeaderValue::from(product.per_minute),
    );
    h.insert(
        name("x-keap-product-throttle-time-unit"),
        HeaderValue::from_static("minute"),
    );
    h.insert(name("x-keap-product-throttle-interval"), one);
    h.insert(
        name("x-keap-product-throttle-available"),
        HeaderValue::from(product.per_minute - minute_used),
    );
    h.insert(
        name("x-keap-product-throttle-used"),
        HeaderValue::from(minute_used),
    );

    let tm = used(usage.tenant_minute, tenant.per_minute);
    let td = used(usage.tenant_day, tenant.per_day);
    let piped = |m: u64, d: u64| {
        HeaderValue::from_str(&format!("{m}|{d}")).unwrap_or(HeaderValue::from_static("0|0"))
    };
    h.insert(
        name("x-keap-tenant-throttle-limit"),
        piped(tenant.per_minute, tenant.per_day),
    );
    h.insert(name("x-keap-tenant-throttle-used"), piped(tm, td));
    h.insert(
        name("x-keap-tenant-throttle-available"),
        piped(tenant.per_minute - tm, tenant.per_day - td),
    );
    h.insert(
        name("x-keap-tenant-throttle-time-unit"),
        HeaderValue::from_static("minute|day"),
    );
    h.insert(
        name("x-keap-tenant-throttle-interval"),
        HeaderValue::from_static("1|1"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn overrides_replace_single_limits_and_zero_turns_spike_arrest_off() {
        let o = QuotaOverrides {
            key_per_minute: Some(5),
            oauth_per_second: Some(0),
            tenant_per_day: Some(7),
            ..QuotaOverrides::default()
        };
        let l = o.apply(Limits::KEAP);
        assert_eq!(l.key.per_minute, 5);
        assert_eq!(l.key.per_second, Some(10));
        assert_eq!(l.oauth.per_second, None);
        assert_eq!(l.tenant.per_day, 7);
        assert_eq!(l.oauth.per_day, 150_000);
    }

    #[test]
    fn local_counters_restart_with_each_window() {
        let c = LocalCounters::default();
        let t = datetime!(2026-03-01 12:00:59 UTC);
        let what = [(Scope::App(1), Unit::Minute), (Scope::App(1), Unit::Day)];
        assert_eq!(c.hit(t, what), [1, 1]);
        assert_eq!(c.hit(t, what), [2, 2]);
        assert_eq!(c.hit(t + time::Duration::SECOND, what), [1, 3]);
    }

    #[test]
    fn scope_keys_name_only_ids() {
        assert_eq!(Scope::App(7).key(Unit::Minute), "quota:app:7:minute");
        assert_eq!(Scope::Key(3).key(Unit::Second), "quota:key:3:second");
        assert_eq!(Scope::Account(9).key(Unit::Day), "quota:account:9:day");
    }

    #[test]
    fn headers_clamp_used_to_the_limit_and_pipe_the_tenant_family() {
        let mut h = HeaderMap::new();
        let usage = Usage {
            product_minute: 300,
            product_day: 2,
            tenant_minute: 3,
            tenant_day: 4,
        };
        let now = datetime!(2026-03-01 12:00 UTC);
        write_headers(&mut h, &Limits::KEAP.key, &Limits::KEAP.tenant, &usage, now);
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(get("x-keap-product-throttle-used"), "240");
        assert_eq!(get("x-keap-product-throttle-available"), "0");
        assert_eq!(get("x-keap-product-quota-available"), "29998");
        assert_eq!(
            get("x-keap-product-quota-expiry-time"),
            to_millis(datetime!(2026-03-02 0:00 UTC)).to_string()
        );
        assert_eq!(get("x-keap-tenant-throttle-used"), "3|4");
        assert_eq!(get("x-keap-tenant-throttle-available"), "9997|249996");
        assert_eq!(get("x-keap-tenant-throttle-limit"), "10000|250000");
    }
}
