//! Quota and throttle headers (`keap/oauth.md` §7).
//!
//! Keap sends three families of headers on every REST response:
//! `x-keap-product-quota-*` (the daily bucket of the OAuth app or key),
//! `x-keap-product-throttle-*` (its per-minute bucket) and `x-keap-tenant-throttle-*` (the
//! account's buckets). Each family has `-limit`, `-used`, `-available`, `-time-unit`,
//! `-interval`, and the product quota an `-expiry-time` in epoch milliseconds.
//!
//! The tenant family has been observed carrying two windows in one header, pipe-separated
//! (`10000|250000`, `minute|day`), so every family parses into a list of [`QuotaWindow`]s:
//! one for the scalar form, one per `|`-separated part otherwise.

use reqwest::header::HeaderMap;
use time::OffsetDateTime;

/// The quota headers of one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    /// `x-keap-product-quota-*`: the app's (or key's) daily bucket.
    pub product_quota: Vec<QuotaWindow>,
    /// `x-keap-product-throttle-*`: the app's (or key's) per-minute bucket.
    pub product_throttle: Vec<QuotaWindow>,
    /// `x-keap-tenant-throttle-*`: the account's buckets, usually per minute and per day.
    pub tenant_throttle: Vec<QuotaWindow>,
}

/// One bucket of a quota family. Every field is optional: Keap may omit any header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaWindow {
    /// Bucket size (`-limit`).
    pub limit: Option<u64>,
    /// Requests used in the bucket (`-used`).
    pub used: Option<u64>,
    /// Requests left in the bucket (`-available`).
    pub available: Option<u64>,
    /// Unit of the window (`-time-unit`): `second`, `minute`, `day`…
    pub time_unit: Option<String>,
    /// Window length in `time_unit`s (`-interval`).
    pub interval: Option<u64>,
    /// When the bucket resets (`-expiry-time`, sent in epoch milliseconds).
    pub expires_at: Option<OffsetDateTime>,
}

impl Quota {
    /// Reads the quota headers of a response. Missing or malformed headers are left out.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Quota {
            product_quota: family(headers, "x-keap-product-quota"),
            product_throttle: family(headers, "x-keap-product-throttle"),
            tenant_throttle: family(headers, "x-keap-tenant-throttle"),
        }
    }

    /// True when the response carried none of the headers (keapsake with quotas off, or a
    /// mock).
    pub fn is_empty(&self) -> bool {
        self.product_quota.is_empty()
            && self.product_throttle.is_empty()
            && self.tenant_throttle.is_empty()
    }

    /// The smallest `available` over every window: how many more requests can be made before
    /// some bucket runs dry.
    pub fn min_available(&self) -> Option<u64> {
        self.windows().filter_map(|w| w.available).min()
    }

    /// Every window of every family.
    pub fn windows(&self) -> impl Iterator<Item = &QuotaWindow> {
        self.product_quota
            .iter()
            .chain(&self.product_throttle)
            .chain(&self.tenant_throttle)
    }
}

fn parts(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split('|').map(|p| p.trim().to_owned()).collect())
        .unwrap_or_default()
}

fn family(headers: &HeaderMap, prefix: &str) -> Vec<QuotaWindow> {
    let limit = parts(headers, &format!("{prefix}-limit"));
    let used = parts(headers, &format!("{prefix}-used"));
    let available = parts(headers, &format!("{prefix}-available"));
    let unit = parts(headers, &format!("{prefix}-time-unit"));
    let interval = parts(headers, &format!("{prefix}-interval"));
    let expiry = parts(headers, &format!("{prefix}-expiry-time"));
    let n = [&limit, &used, &available, &unit, &interval, &expiry]
        .iter()
        .map(|v| v.len())
        .max()
        .unwrap_or(0);
    let num = |v: &Vec<String>, i: usize| v.get(i).and_then(|s| s.parse::<u64>().ok());
    (0..n)
        .map(|i| QuotaWindow {
            limit: num(&limit, i),
            used: num(&used, i),
            available: num(&available, i),
            time_unit: unit.get(i).filter(|s| !s.is_empty()).cloned(),
            interval: num(&interval, i),
            expires_at: expiry
                .get(i)
                .and_then(|s| s.parse::<i128>().ok())
                .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn scalar_and_piped_forms() {
        let q = Quota::from_headers(&headers(&[
            ("x-keap-product-quota-limit", "150000"),
            ("x-keap-product-quota-available", "149999"),
            ("x-keap-product-quota-used", "1"),
            ("x-keap-product-quota-time-unit", "day"),
            ("x-keap-product-quota-interval", "1"),
            ("x-keap-product-quota-expiry-time", "1732924800000"),
            ("x-keap-tenant-throttle-limit", "10000|250000"),
            ("x-keap-tenant-throttle-available", "9990|249000"),
            ("x-keap-tenant-throttle-time-unit", "minute|day"),
        ]));
        assert_eq!(q.product_quota.len(), 1);
        let day = &q.product_quota[0];
        assert_eq!(day.limit, Some(150_000));
        assert_eq!(day.available, Some(149_999));
        assert_eq!(day.time_unit.as_deref(), Some("day"));
        assert_eq!(day.expires_at.unwrap().unix_timestamp(), 1_732_924_800);
        assert_eq!(q.tenant_throttle.len(), 2);
        assert_eq!(q.tenant_throttle[1].limit, Some(250_000));
        assert_eq!(q.tenant_throttle[0].time_unit.as_deref(), Some("minute"));
        assert!(q.product_throttle.is_empty());
        assert_eq!(q.min_available(), Some(9990));
    }

    #[test]
    fn no_headers_is_empty() {
        assert!(Quota::from_headers(&HeaderMap::new()).is_empty());
    }
}
