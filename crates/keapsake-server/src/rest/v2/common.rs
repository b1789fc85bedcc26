//! What every v2 resource shares (`keap/rest-v2.md` §2): the query string (the raw `filter`
//! value kept for its own decoding, list parameters as repeated keys or CSV), string path ids
//! with a v2 400 (never axum's `text/plain` rejection, never 500), JSON object bodies with v2
//! errors, list parameters (`filter`, `order_by`, `page_size`, `page_token`) parsed once, the
//! page itself with its `next_page_token`, and the write gate for read-only keys.

use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::params;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use keapsake_core::records::{Cond, Link, LinkKind, Record, RecordKind, Side};
use keapsake_core::v2::filter::{self, CustomFilterField, FieldSpec, Filter};
use keapsake_core::v2::paging::{self, Binding, OrderBy};
use keapsake_core::v2::{check_names, parse_id, split_list};
use keapsake_core::{AccountId, StoreError};
use serde_json::{Map, Value};

/// A v2 query string: decoded names and values (`+` is a space, as forms go) and each raw
/// value as sent, repeats kept.
#[derive(Debug, Clone, Default)]
pub struct V2Query {
    pairs: Vec<(Vec<u8>, Vec<u8>, String)>,
}

fn bad_param(name: &str) -> V2Error {
    V2Error::bad_request(format!("Invalid value for {name}"))
}

impl V2Query {
    /// Parses the query of `uri`.
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
                    v.to_owned(),
                )
            })
            .collect();
        Self { pairs }
    }

    fn values(&self, name: &str) -> impl Iterator<Item = &(Vec<u8>, Vec<u8>, String)> {
        self.pairs
            .iter()
            .filter(move |(n, _, _)| n == name.as_bytes())
    }

    /// Every decoded value of `name`.
    ///
    /// # Errors
    /// 400 when a value is not UTF-8 or holds a NUL.
    pub fn all(&self, name: &str) -> Result<Vec<&str>, V2Error> {
        self.values(name)
            .map(|(_, v, _)| {
                std::str::from_utf8(v)
                    .ok()
                    .filter(|s| !s.contains('\0'))
                    .ok_or_else(|| bad_param(name))
            })
            .collect()
    }

    /// The first decoded value of `name`, `None` when absent or empty.
    ///
    /// # Errors
    /// 400 when it is not UTF-8.
    pub fn get(&self, name: &str) -> Result<Option<&str>, V2Error> {
        Ok(self
            .all(name)?
            .into_iter()
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty()))
    }

    /// A list parameter (`fields`, `update_mask`): repeated keys, CSV, or both.
    ///
    /// # Errors
    /// 400 when a value is not UTF-8.
    pub fn list(&self, name: &str) -> Result<Vec<String>, V2Error> {
        Ok(split_list(self.all(name)?))
    }

    /// The `filter`, percent-decoded once with a raw `+` kept (several `filter` parameters are
    /// joined with `;`).
    ///
    /// # Errors
    /// 400 when it does not decode to UTF-8.
    pub fn filter_text(&self) -> Result<String, V2Error> {
        let mut parts = Vec::new();
        for (_, _, raw) in self.values("filter") {
            parts.push(filter::decode(raw).map_err(|e| V2Error::bad_request(e.0))?);
        }
        Ok(parts.join(";"))
    }
}

/// A string path id (`{contact_id}`, `{tag_id}`): digits within int64, else 400
/// `INVALID_ARGUMENT` (`keap/rest-v2.md` §1). Put it after [`Principal`] so credentials are
/// checked first.
#[derive(Debug, Clone, Copy)]
pub struct V2Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for V2Id {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| V2Error::bad_request("Invalid id in path"))?;
        parse_id(&raw).map(V2Id).ok_or_else(|| {
            V2Error::bad_request(format!(
                "Invalid id {raw:?} in path: ids are strings of digits within int64"
            ))
        })
    }
}

/// A JSON object body for v2: anything else (not JSON, not an object, over 2 MiB) is a v2
/// 400/413, never axum's `text/plain` rejection.
#[derive(Debug, Clone)]
pub struct V2Json(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for V2Json {
    type Rejection = V2Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let crate::extract::KeapJson(v) =
            crate::extract::KeapJson::<Value>::from_request(req, state).await?;
        match v {
            Value::Object(m) => Ok(V2Json(m)),
            _ => Err(V2Error::bad_request(
                "The request body must be a JSON object",
            )),
        }
    }
}

/// Reads a body into a typed request: a shape that does not fit is a 400 naming serde's reason.
///
/// # Errors
/// That 400.
pub fn typed<T: serde::de::DeserializeOwned>(body: Map<String, Value>) -> Result<T, V2Error> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| V2Error::bad_request(format!("Invalid request body: {e}")))
}

/// Refuses writes by read-only keys: 403 `PERMISSION_DENIED`.
///
/// # Errors
/// The 403.
pub fn require_write(principal: &Principal) -> Result<(), V2Error> {
    if principal.can_write() {
        Ok(())
    } else {
        Err(V2Error::forbidden("This credential is read-only"))
    }
}

/// A stored document this version cannot read: a bug, logged, answered 500.
pub(crate) fn unreadable(msg: String) -> V2Error {
    tracing::error!(error = %msg, "unreadable record");
    V2Error::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// Maps a store error, answering `NotFound` with the record's v2 404.
pub(crate) fn or_missing(
    kind: &'static str,
    domain: &'static str,
    id: i64,
) -> impl Fn(StoreError) -> V2Error {
    move |e| match e {
        StoreError::NotFound => V2Error::missing(kind, domain, id),
        e => V2Error::from(e),
    }
}

/// The response projection: `fields` (checked against `allowed`), else `default`.
///
/// # Errors
/// 400 naming an unknown field.
pub fn projection(
    q: &V2Query,
    allowed: &[&'static str],
    default: &[&'static str],
) -> Result<Vec<&'static str>, V2Error> {
    let names = q.list("fields")?;
    if names.is_empty() {
        return Ok(default.to_vec());
    }
    check_names("fields", &names, allowed).map_err(V2Error::bad_request)?;
    Ok(allowed
        .iter()
        .copied()
        .filter(|a| names.iter().any(|n| n == a))
        .collect())
}

/// `update_mask` (repeated keys or CSV): `None` when absent.
///
/// # Errors
/// 400 when a value is not UTF-8.
pub fn update_mask(q: &V2Query) -> Result<Option<Vec<String>>, V2Error> {
    let mask = q.list("update_mask")?;
    Ok((!mask.is_empty()).then_some(mask))
}

/// The list parameters of one list operation, parsed and checked.
#[derive(Debug, Clone)]
pub struct ListParams {
    /// The filter.
    pub filter: Filter,
    /// `order_by`, if sent.
    pub order: Option<OrderBy>,
    /// Page size.
    pub size: i64,
    /// Index of the first item of this page.
    pub offset: i64,
    binding: Binding,
}

/// What a list operation accepts.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// The operationId (part of what a page token is bound to).
    pub operation: &'static str,
    /// Standard filter fields.
    pub fields: &'static [FieldSpec],
    /// `order_by` fields.
    pub order_by: &'static [&'static str],
}

impl ListParams {
    /// Parses `filter`, `order_by`, `page_size` and `page_token` for `spec`; `scope` (e.g. the
    /// path id) and the filter and order are what the page token is bound to.
    ///
    /// # Errors
    /// 400 for any bad parameter, including a token issued for another filter or order.
    pub fn parse(
        q: &V2Query,
        spec: &ListSpec,
        scope: &str,
        custom: &dyn Fn(&str) -> Option<CustomFilterField>,
    ) -> Result<Self, V2Error> {
        let text = q.filter_text()?;
        let filter =
            filter::parse(&text, spec.fields, custom).map_err(|e| V2Error::bad_request(e.0))?;
        let order_raw = q.get("order_by")?;
        let order =
            paging::order_by(order_raw, spec.order_by).map_err(|e| V2Error::bad_request(e.0))?;
        let size = paging::page_size(q.get("page_size")?).map_err(|e| V2Error::bad_request(e.0))?;
        let order_key = order
            .as_ref()
            .map(|o| format!("{} {}", o.field, if o.descending { "desc" } else { "asc" }))
            .unwrap_or_default();
        let binding = Binding::of(&[spec.operation, scope, &text, &order_key]);
        let offset = paging::decode_token(q.get("page_token")?, &binding)
            .map_err(|e| V2Error::bad_request(e.0))?;
        Ok(Self {
            filter,
            order,
            size,
            offset,
            binding,
        })
    }

    /// The `next_page_token` after a page of `n` items out of `total`: `""` on the last page.
    pub fn next_token(&self, n: usize, total: i64) -> String {
        let end = self
            .offset
            .saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
        if n == 0 || end >= total {
            String::new()
        } else {
            paging::encode_token(end, &self.binding)
        }
    }

    /// This page of an already filtered and sorted list, and its `next_page_token`.
    pub fn page<T>(&self, items: Vec<T>) -> (Vec<T>, String) {
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
        let next = self.next_token(page.len(), total);
        (page, next)
    }

    /// Whether sorting is descending.
    pub fn descending(&self) -> bool {
        self.order.as_ref().is_some_and(|o| o.descending)
    }

    /// The `order_by` field, or `default`.
    pub fn order_field(&self, default: &'static str) -> &'static str {
        self.order.as_ref().map_or(default, |o| o.field)
    }
}

/// `{"<key>":[…],"next_page_token":"…"}`.
pub fn list_response(key: &str, items: Vec<Value>, next: String) -> Response {
    let mut m = Map::new();
    m.insert(key.to_owned(), Value::Array(items));
    m.insert("next_page_token".to_owned(), Value::String(next));
    json(StatusCode::OK, &Value::Object(m))
}

/// Sorts by a key then by id, in the requested direction (ties broken by id in the same
/// direction, like the stores; `None` keys first ascending).
pub fn sort_by_key<T, K: Ord>(items: &mut [T], descending: bool, key: impl Fn(&T) -> (K, i64)) {
    items.sort_by(|a, b| {
        let o = key(a).cmp(&key(b));
        if descending { o.reverse() } else { o }
    });
}

/// Compares an optional time against a bound: whether `t` is within `[since, until]`.
pub fn within(
    t: time::OffsetDateTime,
    since: Option<time::OffsetDateTime>,
    until: Option<time::OffsetDateTime>,
) -> bool {
    since.is_none_or(|s| t >= floor_to_millis(s)) && until.is_none_or(|u| t <= u)
}

/// A lower bound inside a millisecond includes that millisecond (stored times have millisecond
/// precision).
pub fn floor_to_millis(t: time::OffsetDateTime) -> time::OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// Every record of `kind` matching `conds`, in id order (v1's walk, in v2's error shape).
///
/// # Errors
/// Store failures.
pub async fn all_records(
    state: &AppState,
    account: AccountId,
    kind: RecordKind,
    conds: Vec<Cond>,
) -> Result<Vec<Record>, V2Error> {
    Ok(crate::rest::v1::common::all_records(state, account, kind, conds).await?)
}

/// The records of `ids` that exist in this account (read 1,000 ids at a time).
///
/// # Errors
/// Store failures.
pub async fn records_by_id(
    state: &AppState,
    account: AccountId,
    kind: RecordKind,
    ids: &[i64],
) -> Result<Vec<Record>, V2Error> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        out.extend(state.store.get_records(account, kind, chunk).await?);
    }
    Ok(out)
}

/// Every link from one side.
///
/// # Errors
/// Store failures.
pub async fn all_links(
    state: &AppState,
    account: AccountId,
    kind: LinkKind,
    side: Side,
) -> Result<Vec<Link>, V2Error> {
    let mut out = Vec::new();
    let mut offset = 0i64;
    loop {
        let (links, total) = state
            .store
            .list_links(account, kind, side, 1000, offset)
            .await?;
        let n = i64::try_from(links.len()).unwrap_or(i64::MAX);
        out.extend(links);
        offset = offset.saturating_add(n);
        if n == 0 || offset >= total {
            return Ok(out);
        }
    }
}

/// Orders optional text ignoring ASCII case, absent first.
pub fn text_key(s: Option<&str>) -> Option<String> {
    s.map(|s| s.trim().to_ascii_lowercase())
}
