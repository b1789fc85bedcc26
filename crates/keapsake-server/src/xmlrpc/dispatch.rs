//! Method name → service module, the call context ([`Cx`]) and typed access to positional
//! parameters ([`Args`]). A new service is one line in [`dispatch`] and one module in
//! `services/`; a new table is one line in `tables::lookup`.

use super::codec::{XValue, parse_local};
use super::fault::{Code, Fault, XResult};
use super::services;
use super::tz::Zone;
use crate::extract::Principal;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use time::PrimitiveDateTime;
use tokio::sync::OnceCell;
use tower::ServiceExt as _;

/// The services keapsake answers (others: `[UnknownMethod]`).
const SERVICES: &[&str] = &[
    "ContactService",
    "DataService",
    "APIEmailService",
    "InvoiceService",
    "OrderService",
    "ProductService",
];

/// Whether `Service.method` names a service keapsake offers (for `echo`).
pub fn known_service(method: &str) -> bool {
    method
        .split_once('.')
        .is_some_and(|(s, _)| SERVICES.contains(&s) || s.ends_with("Service"))
}

/// Routes a call to its service.
///
/// # Errors
/// The service's fault; `[UnknownMethod]` for anything not offered.
pub async fn dispatch(cx: &Cx, method: &str, args: Args) -> XResult<XValue> {
    let Some((service, name)) = method.split_once('.') else {
        return Err(Fault::unknown_method(method));
    };
    match service {
        "ContactService" => services::contact::call(cx, name, args).await,
        "DataService" => services::data::call(cx, name, args).await,
        "APIEmailService" => services::email::call(cx, name, args).await,
        "InvoiceService" => services::invoice::call(cx, name, args).await,
        "OrderService" => services::order::call(cx, name, args).await,
        "ProductService" => services::product::call(cx, name, args).await,
        _ => Err(Fault::unknown_method(method)),
    }
    .map_err(|f| {
        if f.code == Code::UnknownMethod {
            Fault::unknown_method(method)
        } else {
            f
        }
    })
}

/// Everything a call needs: the state, who it acts for, and lazily the account's zone.
pub struct Cx {
    /// Shared state.
    pub state: AppState,
    /// Who the call acts for.
    pub principal: Principal,
    zone: OnceCell<Zone>,
    rest: OnceCell<axum::Router>,
}

impl Cx {
    /// A context.
    pub fn new(state: AppState, principal: Principal) -> Self {
        Self {
            state,
            principal,
            zone: OnceCell::new(),
            rest: OnceCell::new(),
        }
    }

    /// The account's time zone (profile `time_zone`, default America/New_York).
    pub async fn zone(&self) -> Zone {
        *self
            .zone
            .get_or_init(|| async {
                let tz = self
                    .state
                    .store
                    .get_profile(self.principal.account_id)
                    .await
                    .ok()
                    .and_then(|p| p.time_zone);
                Zone::of(tz.as_deref())
            })
            .await
    }

    /// Refuses writes with a read-only key.
    ///
    /// # Errors
    /// `[InvalidKey]` for a read-only key.
    pub fn require_write(&self) -> XResult<()> {
        if self.principal.can_write() {
            Ok(())
        } else {
            Err(Fault::new(
                Code::InvalidKey,
                "This key is read-only and may not write",
            ))
        }
    }

    /// Calls REST v1 in-process as this principal (`path` relative to `/crm/rest/v1`), so
    /// XML-RPC writes go through exactly the validation and documents of REST. Returns the
    /// status and JSON body of a 2xx answer.
    ///
    /// # Errors
    /// 404 → `[RecordNotFound]`, 400 → `[InvalidParameter]` with REST's message, 403 →
    /// `[InvalidKey]`, 409 → `[DuplicateRecord]`, anything else → `[DatabaseError]`.
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> XResult<(StatusCode, Value)> {
        let router = self
            .rest
            .get_or_init(|| async {
                axum::Router::new()
                    .nest("/crm/rest/v1", crate::rest::v1::routes())
                    .with_state(self.state.clone())
            })
            .await
            .clone();
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/crm/rest/v1{path}"))
            .header("content-type", "application/json")
            .body(match body {
                Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
                None => Body::empty(),
            })
            .map_err(|_| Fault::internal())?;
        req.extensions_mut().insert(self.principal.clone());
        let res = router.oneshot(req).await.map_err(|_| Fault::internal())?;
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024)
            .await
            .map_err(|_| Fault::internal())?;
        let v: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok((status, v));
        }
        let message = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("Request refused")
            .to_owned();
        Err(crate::error::ApiError::new(status, message).into())
    }
}

/// Positional parameters with typed, fault-raising access.
#[derive(Debug, Clone)]
pub struct Args(Vec<XValue>);

impl Args {
    /// Wraps parameters (the key already stripped).
    pub fn new(v: Vec<XValue>) -> Self {
        Self(v)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Requires one of these arities.
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn arity(&self, allowed: &[usize]) -> XResult<()> {
        if allowed.contains(&self.0.len()) {
            Ok(())
        } else {
            let want: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            Err(Fault::invalid(format!(
                "Wrong number of parameters: expected {}, got {}",
                want.join(" or "),
                self.0.len()
            )))
        }
    }

    fn get(&self, i: usize) -> XResult<&XValue> {
        self.0
            .get(i)
            .ok_or_else(|| Fault::invalid(format!("Missing parameter {}", i + 1)))
    }

    /// The raw value.
    ///
    /// # Errors
    /// `[InvalidParameter]` when missing.
    pub fn value(&self, i: usize) -> XResult<&XValue> {
        self.get(i)
    }

    /// An integer (`<i4>`, `<int>`, `<i8>`, a numeric string, an integral double).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn int(&self, i: usize) -> XResult<i64> {
        as_int(self.get(i)?)
            .ok_or_else(|| Fault::invalid(format!("Parameter {} must be an integer", i + 1)))
    }

    /// A double (`<double>`, an integer, a numeric string).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn double(&self, i: usize) -> XResult<f64> {
        let bad = || Fault::invalid(format!("Parameter {} must be a number", i + 1));
        let d = match self.get(i)? {
            XValue::Double(d) => *d,
            #[allow(clippy::cast_precision_loss, reason = "amounts are far below 2^53")]
            XValue::Int(n) => *n as f64,
            XValue::Str(s) => s.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        if d.is_finite() { Ok(d) } else { Err(bad()) }
    }

    /// An array of integers (a single integer is taken as a one-element array; an empty
    /// string or `<nil/>` as none).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn ints(&self, i: usize) -> XResult<Vec<i64>> {
        let bad = || Fault::invalid(format!("Parameter {} must be an array of integers", i + 1));
        match self.get(i)? {
            XValue::Array(items) => items.iter().map(|v| as_int(v).ok_or_else(bad)).collect(),
            XValue::Nil => Ok(Vec::new()),
            XValue::Str(s) if s.trim().is_empty() => Ok(Vec::new()),
            v => Ok(vec![as_int(v).ok_or_else(bad)?]),
        }
    }

    /// A string (scalars other than strings are accepted in their text form).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn string(&self, i: usize) -> XResult<String> {
        match self.get(i)? {
            XValue::Nil => Ok(String::new()),
            v => v
                .as_text()
                .ok_or_else(|| Fault::invalid(format!("Parameter {} must be a string", i + 1))),
        }
    }

    /// A boolean (`<boolean>`, `0`/`1`, `true`/`false`).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn bool(&self, i: usize) -> XResult<bool> {
        as_bool(self.get(i)?)
            .ok_or_else(|| Fault::invalid(format!("Parameter {} must be a boolean", i + 1)))
    }

    /// A struct's members (`<nil/>`-valued members dropped).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn members(&self, i: usize) -> XResult<Vec<(String, XValue)>> {
        match self.get(i)? {
            XValue::Struct(m) => Ok(m
                .iter()
                .filter(|(_, v)| !matches!(v, XValue::Nil))
                .cloned()
                .collect()),
            _ => Err(Fault::invalid(format!(
                "Parameter {} must be a struct",
                i + 1
            ))),
        }
    }

    /// An array of strings (a single string is taken as a one-element array).
    ///
    /// # Errors
    /// `[InvalidParameter]`.
    pub fn strings(&self, i: usize) -> XResult<Vec<String>> {
        let bad = || Fault::invalid(format!("Parameter {} must be an array of strings", i + 1));
        match self.get(i)? {
            XValue::Array(items) => items.iter().map(|v| v.as_text().ok_or_else(bad)).collect(),
            XValue::Str(s) => Ok(vec![s.clone()]),
            _ => Err(bad()),
        }
    }
}

/// An integer from any numeric form (§1.1: numeric strings for id params).
pub fn as_int(v: &XValue) -> Option<i64> {
    match v {
        XValue::Int(i) => Some(*i),
        XValue::Str(s) => s.trim().parse().ok(),
        #[allow(
            clippy::cast_possible_truncation,
            reason = "checked integral and in range"
        )]
        XValue::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Some(*d as i64),
        _ => None,
    }
}

/// A boolean from `<boolean>`, `0`/`1`, `true`/`false` (any case).
pub fn as_bool(v: &XValue) -> Option<bool> {
    match v {
        XValue::Bool(b) => Some(*b),
        XValue::Int(0) => Some(false),
        XValue::Int(1) => Some(true),
        XValue::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A local date-time from `<dateTime.iso8601>` or a `YYYY-MM-DD[ HH:MM:SS]` string.
pub fn as_local(v: &XValue) -> Option<PrimitiveDateTime> {
    match v {
        XValue::DateTime(t) => Some(*t),
        XValue::Str(s) => {
            let s = s.trim();
            parse_local(s).or_else(|| {
                let f = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(s.get(..10).unwrap_or(s), &f)
                    .ok()
                    .filter(|_| s.len() == 10)
                    .map(|d| PrimitiveDateTime::new(d, time::Time::MIDNIGHT))
            })
        }
        _ => None,
    }
}
