//! XML-RPC faults (`keap/xmlrpc.md` §3): HTTP 200 with `<fault>`, `faultString` =
//! `[Code]message`, clients match on the bracketed code case-sensitively.

use keapsake_core::StoreError;

/// The bracketed fault codes keapsake emits, with their `faultCode` numbers (§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// No such `Service.method`.
    UnknownMethod,
    /// Bad or missing key parameter.
    InvalidKey,
    /// Wrong arity/type, bad option, unparsable XML, read-only field.
    InvalidParameter,
    /// Unknown field name.
    NoFieldFound,
    /// Transient server-side configuration error (never emitted by keapsake).
    InvalidConfig,
    /// The id does not exist.
    RecordNotFound,
    /// Unknown table or table not accessible through `DataService`.
    NoTableAccess,
    /// A uniqueness rule (e.g. tag name).
    DuplicateRecord,
    /// Internal failure (never for bad input).
    DatabaseError,
}

impl Code {
    /// The name in brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownMethod => "UnknownMethod",
            Self::InvalidKey => "InvalidKey",
            Self::InvalidParameter => "InvalidParameter",
            Self::NoFieldFound => "NoFieldFound",
            Self::InvalidConfig => "InvalidConfig",
            Self::RecordNotFound => "RecordNotFound",
            Self::NoTableAccess => "NoTableAccess",
            Self::DuplicateRecord => "DuplicateRecord",
            Self::DatabaseError => "DatabaseError",
        }
    }

    /// `faultCode` (§3 table).
    pub fn number(self) -> i32 {
        match self {
            Self::UnknownMethod => 1,
            Self::InvalidKey => 2,
            Self::InvalidParameter => 3,
            Self::NoFieldFound => 4,
            Self::InvalidConfig => 5,
            Self::RecordNotFound => 6,
            Self::NoTableAccess => 7,
            Self::DuplicateRecord => 8,
            Self::DatabaseError => 9,
        }
    }
}

/// A fault to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Bracketed code.
    pub code: Code,
    /// Message after the brackets (never contains request text that could hold a key).
    pub message: String,
}

/// Result alias of XML-RPC handlers.
pub type XResult<T> = Result<T, Fault>;

impl Fault {
    /// A fault with this code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `[InvalidParameter]…`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidParameter, message)
    }

    /// `[RecordNotFound]Record was not found`.
    pub fn not_found() -> Self {
        Self::new(Code::RecordNotFound, "Record was not found")
    }

    /// `[NoFieldFound]No field found: Table.Field`.
    pub fn no_field(table: &str, field: &str) -> Self {
        Self::new(
            Code::NoFieldFound,
            format!("No field found: {table}.{field}"),
        )
    }

    /// `[NoTableAccess]…`.
    pub fn no_table(table: &str) -> Self {
        Self::new(
            Code::NoTableAccess,
            format!("Access denied to table {table}"),
        )
    }

    /// `[UnknownMethod]…`.
    pub fn unknown_method(name: &str) -> Self {
        Self::new(
            Code::UnknownMethod,
            format!("No such method: {}", printable(name, 100)),
        )
    }

    /// `[InvalidKey]Invalid Key`.
    pub fn invalid_key() -> Self {
        Self::new(Code::InvalidKey, "Invalid Key")
    }

    /// `[DatabaseError]…` for an internal failure; the cause goes to the log only.
    pub fn internal() -> Self {
        Self::new(Code::DatabaseError, "An internal error occurred")
    }

    /// `faultString`.
    pub fn fault_string(&self) -> String {
        format!("[{}]{}", self.code.as_str(), self.message)
    }
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Fault::not_found(),
            StoreError::Conflict { what } => {
                Fault::new(Code::DuplicateRecord, format!("Duplicate {what}"))
            }
            e => {
                tracing::error!(error = %e, "xml-rpc store failure");
                Fault::internal()
            }
        }
    }
}

impl From<crate::error::ApiError> for Fault {
    /// A REST error as a fault: 404 → `[RecordNotFound]`, 400/422 → `[InvalidParameter]` with
    /// REST's message, 403 → `[InvalidKey]`, 409 → `[DuplicateRecord]`, anything else →
    /// `[DatabaseError]` (the cause is logged, never sent).
    fn from(e: crate::error::ApiError) -> Self {
        use axum::http::StatusCode;
        match e.status {
            StatusCode::NOT_FOUND => Fault::not_found(),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                Fault::invalid(e.message.into_owned())
            }
            StatusCode::FORBIDDEN => Fault::new(Code::InvalidKey, e.message.into_owned()),
            StatusCode::CONFLICT => Fault::new(Code::DuplicateRecord, e.message.into_owned()),
            status => {
                tracing::error!(status = %status, "xml-rpc internal REST call failed");
                Fault::internal()
            }
        }
    }
}

/// Shortest string treated as a key by [`without_keys`] (imported keys have at least 16).
const MIN_KEY: usize = 16;

/// `f` with every occurrence of a credential the request carried (the key parameter, the
/// `X-Keap-API-Key` header) replaced by `[redacted]`: faults echo names from the request, and a
/// key sent where a name was expected must not come back.
pub fn without_keys(f: Fault, keys: &[String]) -> Fault {
    let mut message = f.message;
    for k in keys {
        if k.len() >= MIN_KEY && message.contains(k.as_str()) {
            message = message.replace(k.as_str(), "[redacted]");
        }
    }
    Fault {
        code: f.code,
        message,
    }
}

/// A name from the request, cut and stripped of control characters, safe to echo.
pub fn printable(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}
