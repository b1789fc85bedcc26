//! For hook **receivers**: the delivery payload ([`HookDelivery`]) and the verification
//! handshake ([`verification_echo`]) (`keap/rest-v1.md` §10.3–§10.4).
//!
//! When a subscription is created (or re-verified), the server POSTs an empty body to the
//! `hookUrl` with an `X-Hook-Secret` header; the receiver must answer **200 with the same
//! header and value**. Later deliveries carry no secret: they are JSON bodies that
//! deserialise into [`HookDelivery`].
//!
//! ```
//! use keapsake_sdk::hooks::{HookDelivery, verification_echo, SECRET_HEADER};
//! use keapsake_sdk::HeaderMap;
//!
//! // The handshake: echo the secret.
//! let mut request_headers = HeaderMap::new();
//! request_headers.insert(SECRET_HEADER, "s3cr3t".parse().unwrap());
//! let (name, value) = verification_echo(&request_headers).expect("a handshake");
//! assert_eq!((name.as_str(), value.to_str().unwrap()), ("x-hook-secret", "s3cr3t"));
//!
//! // A delivery.
//! let body = br#"{"event_key":"contact.add","object_type":"contact",
//!   "object_keys":[{"id":22,"apiUrl":"https://api.example.test/crm/rest/v1/contacts/22",
//!                   "timestamp":"2024-05-21T14:30:00.000Z"}]}"#;
//! let d: HookDelivery = serde_json::from_slice(body).unwrap();
//! assert_eq!(d.event_key, "contact.add");
//! assert_eq!(d.object_keys[0].id, 22);
//! assert_eq!(d.object_keys[0].timestamp.unwrap().year(), 2024);
//! ```

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::EventKey;

/// The handshake header, lower-case as `http` spells header names.
pub const SECRET_HEADER: &str = "x-hook-secret";

/// The header a receiver must answer the verification request with: `X-Hook-Secret` and the
/// value it was sent. `None` when the request is not a handshake (a delivery).
pub fn verification_echo(request_headers: &HeaderMap) -> Option<(HeaderName, HeaderValue)> {
    let v = request_headers.get(SECRET_HEADER)?;
    Some((HeaderName::from_static(SECRET_HEADER), v.clone()))
}

/// The body of one delivery: one event key, one to 1000 changed objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookDelivery {
    /// The event (`contact.add`…).
    pub event_key: EventKey,
    /// The event key up to its first `.` (`contact`, `contactGroup`, `order`…).
    #[serde(default)]
    pub object_type: String,
    /// The objects, in the order they changed.
    #[serde(default)]
    pub object_keys: Vec<ObjectKey>,
}

impl HookDelivery {
    /// The ids of the objects.
    pub fn ids(&self) -> Vec<i64> {
        self.object_keys.iter().map(|k| k.id).collect()
    }
}

/// One changed object of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The object's id (for `contactGroup.applied`/`.removed`: the tag's).
    pub id: i64,
    /// The object's REST v1 URL; empty when it has none (deleted objects).
    #[serde(default, rename = "apiUrl")]
    pub api_url: String,
    /// When it changed.
    #[serde(default, with = "crate::date::option_datetime")]
    pub timestamp: Option<OffsetDateTime>,
    /// For tag application events: the contacts (a keapsake extension; empty otherwise).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_empty"
    )]
    pub contact_ids: Vec<i64>,
}
