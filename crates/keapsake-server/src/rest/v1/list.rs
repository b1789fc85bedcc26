//! What every v1 resource shares (`keap/rest-v1.md` §0): the query string (array parameters as
//! CSV or repeated keys, paging with Keap's defaults), the list envelope with absolute
//! `next`/`previous` links that never carry a credential, numeric path ids with a JSON 400 (never
//! axum's `text/plain` rejection), JSON object bodies, and the write gate for read-only keys.

use crate::error::ApiError;
use crate::extract::Principal;
use crate::params;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// Default and maximum page size (`keap/rest-v1.md` §0.3).
pub const MAX_LIMIT: i64 = 1000;

/// Query parameters never echoed into `next`/`previous`: the paging ones (rewritten) and the
/// credential (`keap/oauth.md` §5: never echo `access_token`).
const NOT_ECHOED: &[&str] = &["limit", "offset", "access_token"];

/// A v1 query string, decoded byte-exactly (`+` is a space, `%XX` a byte), repeats kept.
#[derive(Debug, Clone, Default)]
pub struct V1Query {
    /// Decoded name, decoded value, and the raw `name=value` segment as sent.
    pairs: Vec<(Vec<u8>, Vec<u8>, String)>,
}

/// `limit` and `offset` of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Page size, 1…[`MAX_LIMIT`].
    pub limit: i64,
    /// Items skipped, ≥ 0.
    pub offset: i64,
}

fn bad_param(name: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid value for {name}"))
}

impl V1Query {
    /// Parses the query of `uri` (none, or a dangling `?`, is empty).
    pub fn from_uri(uri: &Uri) -> Self {
        let raw = uri.query().unwrap_or("");
        let pairs = raw
            .split('&')
            .filter(|seg| !seg.is_empty())
            .map(|seg| {
                let (n, v) = seg.split_once('=').unwrap_or((seg, ""));
                (
                    params::decode(n.as_bytes()),
                    params::decode(v.as_bytes()),
                    seg.to_owned(),
                )
            })
            .collect();
        Self { pairs }
    }

    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.pairs
            .iter()
            .filter(|(n, _, _)| n == name.as_bytes())
            .map(|(_, v, _)| v.as_slice())
            .collect()
    }

    /// The first value of `name`, trimmed, with an empty value treated as absent (keap-python
    /// sends empty and false-y values; unknown parameters are never an error).
    ///
    /// # Errors
    /// 400 when the value is not UTF-8 or contains NUL (keys cannot hold one).
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.values(name).first() {
            None => Ok(None),
            Some(b) => {
                let s = std::str::from_utf8(b).map_err(|_| bad_param(name))?;
                if s.contains('\0') {
                    return Err(bad_param(name));
                }
                let s = s.trim();
                Ok((!s.is_empty()).then_some(s))
            }
        }
    }

    /// Every item of an array parameter, accepting both `a=1,2` (`%2C` too) and `a=1&a=2`
    /// (`keap/rest-v1.md` §0.1); items are trimmed, empty ones skipped.
    ///
    /// # Errors
    /// 400 when a value is not UTF-8.
    pub fn list(&self, name: &str) -> Result<Vec<&str>, ApiError> {
        let mut out = Vec::new();
        for v in self.values(name) {
            let s = std::str::from_utf8(v).map_err(|_| bad_param(name))?;
            out.extend(s.split(',').map(str::trim).filter(|s| !s.is_empty()));
        }
        Ok(out)
    }

    /// An array parameter of int64 ids.
    ///
    /// # Errors
    /// 400 for an item that is not an integer within int64.
    pub fn ids(&self, name: &str) -> Result<Vec<i64>, ApiError> {
        self.list(name)?
            .into_iter()
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a list of integer ids"))
                })
            })
            .collect()
    }

    /// An optional int64 parameter.
    ///
    /// # Errors
    /// 400 for a value that is not an integer within int64.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)?
            .map(|s| s.parse::<i64>().map_err(|_| bad_param(name)))
            .transpose()
    }

    /// `limit` (default and maximum 1000, larger values clamped, 0 meaning the default) and
    /// `offset` (default 0; negative is a 400), `keap/rest-v1.md` §0.3.
    ///
    /// # Errors
    /// 400 for a non-integer or negative value.
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let limit = match self.get("limit")? {
            None => MAX_LIMIT,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n < 0 => {
                    return Err(ApiError::bad_request("limit must not be negative"));
                }
                Ok(0) => MAX_LIMIT,
                Ok(n) => n.min(MAX_LIMIT),
                // Digits beyond int64: a very large limit, clamped like any other.
                Err(_) if s.bytes().all(|b| b.is_ascii_digit()) => MAX_LIMIT,
                Err(_) => return Err(bad_param("limit")),
            },
        };
        let offset = match self.get("offset")? {
            None => 0,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n < 0 => {
                    return Err(ApiError::bad_request("offset must not be negative"));
                }
                Ok(n) => n,
                Err(_) => return Err(bad_param("offset")),
            },
        };
        Ok(Paging { limit, offset })
    }

    /// The parameters to repeat in `next`/`previous`: everything sent except paging and the
    /// credential (matched on the decoded name, so `access%5Ftoken` is dropped too), each
    /// exactly as sent, in the order sent.
    fn echo(&self) -> String {
        let mut out = String::new();
        for (n, _, raw) in &self.pairs {
            if NOT_ECHOED.iter().any(|x| x.as_bytes() == n.as_slice()) {
                continue;
            }
            out.push('&');
            out.push_str(raw);
        }
        out
    }
}

/// A v1 list body: `{"<key>":[…],"count":N,"next":"…","previous":"…"}` in that order.
#[derive(Debug)]
pub struct Envelope {
    key: &'static str,
    items: Vec<Value>,
    count: i64,
    next: String,
    previous: String,
}

impl Envelope {
    /// The envelope of one page. `path` is the resource path under `/crm/rest/v1/` (e.g.
    /// `contacts` or `contacts/22/tags`); `count` is the total matching the filters.
    /// `next`/`previous` are absolute, end the path in `/` before `?`, are present on every
    /// page, and repeat the other parameters as sent (never `access_token`).
    pub fn new(
        state: &AppState,
        path: &str,
        key: &'static str,
        items: Vec<Value>,
        count: i64,
        paging: Paging,
        query: &V1Query,
    ) -> Self {
        let base = format!("{}crm/rest/v1/{path}/", state.base_url());
        let echo = query.echo();
        let link = |offset: i64| format!("{base}?limit={}&offset={offset}{echo}", paging.limit);
        Self {
            key,
            items,
            count,
            next: link(paging.offset.saturating_add(paging.limit)),
            previous: link(paging.offset.saturating_sub(paging.limit).max(0)),
        }
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry(self.key, &self.items)?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("next", &self.next)?;
        m.serialize_entry("previous", &self.previous)?;
        m.end()
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        crate::error::json(StatusCode::OK, &self)
    }
}

/// Numeric path parameters (`{id}`, `(contactId, tagId)`, …). A value that is not an int64
/// (ids beyond i64 included) is a JSON 400, never axum's `text/plain` rejection. Put it after
/// [`Principal`] so credentials are checked first.
#[derive(Debug, Clone, Copy)]
pub struct Ids<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| Ids(t))
            .map_err(|_| ApiError::bad_request("Invalid id in path: ids are integers within int64"))
    }
}

/// A JSON object body turned into `T`: anything that is not an object of the expected shape is
/// 400 `Input could not be converted to a valid request`.
///
/// # Errors
/// That 400.
pub fn object<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    if !body.is_object() {
        return Err(ApiError::unparseable());
    }
    serde_json::from_value(body).map_err(|_| ApiError::unparseable())
}

/// Refuses writes by read-only keys (403, `keap/oauth.md` §6).
///
/// # Errors
/// The 403.
pub fn require_write(principal: &Principal) -> Result<(), ApiError> {
    if principal.can_write() {
        Ok(())
    } else {
        Err(ApiError::forbidden("This credential is read-only"))
    }
}

/// `404 {"message":"Unable to find this <Type>"}` (`keap/rest-v1.md` §0.4).
pub fn not_found(kind: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("Unable to find this {kind}"))
}

/// Maps a store error, answering `NotFound` with the resource's 404.
pub fn or_not_found(kind: &'static str) -> impl Fn(keapsake_core::StoreError) -> ApiError {
    move |e| match e {
        keapsake_core::StoreError::NotFound => not_found(kind),
        e => ApiError::from(e),
    }
}

/// Answers an endpoint keapsake deliberately does not implement: `501 {"message"}`.
pub fn not_implemented() -> ApiError {
    ApiError::new(StatusCode::NOT_IMPLEMENTED, "Not implemented in keapsake")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> V1Query {
        V1Query::from_uri(&s.parse::<Uri>().expect("a URI"))
    }

    #[test]
    fn arrays_take_csv_and_repeated_keys() {
        let q1 = q("/x?ids=1,2%2C3&ids=4&ids=&ids=%205%20");
        assert_eq!(q1.ids("ids").expect("ids"), vec![1, 2, 3, 4, 5]);
        assert!(q("/x?ids=1,x").ids("ids").is_err());
        assert!(q("/x?ids=99999999999999999999").ids("ids").is_err());
        assert_eq!(q("/x?").ids("ids").expect("none"), Vec::<i64>::new());
    }

    #[test]
    fn paging_defaults_clamps_and_refuses_negatives() {
        assert_eq!(
            q("/x").paging().expect("ok"),
            Paging {
                limit: 1000,
                offset: 0
            }
        );
        assert_eq!(
            q("/x?limit=5000&offset=7").paging().expect("ok"),
            Paging {
                limit: 1000,
                offset: 7
            }
        );
        assert_eq!(q("/x?limit=0").paging().expect("ok").limit, 1000);
        assert_eq!(
            q("/x?limit=99999999999999999999999")
                .paging()
                .expect("ok")
                .limit,
            1000
        );
        assert!(q("/x?offset=-1").paging().is_err());
        assert!(q("/x?limit=-1").paging().is_err());
        assert!(q("/x?offset=abc").paging().is_err());
        assert!(q("/x?offset=99999999999999999999").paging().is_err());
    }

    #[test]
    fn values_are_checked() {
        assert!(q("/x?email=%FF").get("email").is_err());
        assert!(q("/x?email=a%00b").get("email").is_err());
        assert_eq!(q("/x?email=+a%2Bb+").get("email").expect("ok"), Some("a+b"));
        assert_eq!(q("/x?email=").get("email").expect("ok"), None);
    }

    #[test]
    fn the_echo_drops_paging_and_the_credential() {
        let e = q("/x?limit=2&access_token=secret&since=2024-06-03T22:17:59.039Z&order=id&offset=4&access%5Ftoken=s2")
            .echo();
        assert_eq!(e, "&since=2024-06-03T22:17:59.039Z&order=id");
    }
}
