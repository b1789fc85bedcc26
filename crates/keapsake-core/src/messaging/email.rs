//! E-mail records (`keap/rest-v1.md` §9.1, Keap's `EmailSentCreate` /
//! `EmailSentQueryResult`): a record of a message sent to or from a contact, as synced by a
//! mail client or written by `POST /emails/queue`. The stored document ([`EmailDoc`]), what a
//! client may send ([`EmailBody`]), the provider enum, the keys, and the two v1 shapes (lists
//! omit the contents, a single record has them).
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `n0` | contact id | `contact_id=`, `GET /contacts/{id}/emails` |
//! | `k0` | `sent_to_address`, folded | `email=` |
//! | `k1` | `sent_from_address`, folded | `email=` |
//! | `k2` | `sent_date`, v1 form (sorts as time) | `since_sent_date`/`until_sent_date` |
//! | unique | provider + provider id | one record per provider message |

use super::decode_base64;
use crate::crm::{LenientI64, check_text, date, fold, wire_enum};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Text key of the folded recipient address.
pub const TO_KEY: usize = 0;
/// Text key of the folded sender address.
pub const FROM_KEY: usize = 1;
/// Text key of the sent date.
pub const SENT_DATE_KEY: usize = 2;

/// Longest address list or header value, in characters.
pub const MAX_ADDRESSES: usize = 4096;
/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 1024;
/// Longest `headers`, in characters.
pub const MAX_HEADERS: usize = 65_535;
/// Longest provider id or provider source, in characters.
pub const MAX_PROVIDER_ID: usize = 255;
/// Most records in one `POST /emails/sync` (`keap/rest-v1.md` §9.2).
pub const MAX_SYNC: usize = 1000;

/// The 400 message for a record without a recipient.
pub const TO_REQUIRED: &str = "sent_to_address is required";

wire_enum!(
    /// Who sent the message (`original_provider`), case-insensitive on input.
    Provider {
        /// Unknown (the default).
        Unknown = "UNKNOWN",
        /// Keap itself (`POST /emails/queue`).
        Infusionsoft = "INFUSIONSOFT",
        /// Microsoft.
        Microsoft = "MICROSOFT",
        /// Google.
        Google = "GOOGLE",
    }
);

#[allow(
    clippy::derivable_impls,
    reason = "the enum is declared by wire_enum!, which derives no Default"
)]
impl Default for Provider {
    fn default() -> Self {
        Self::Unknown
    }
}

/// An e-mail record as stored (the `data` of a [`crate::records::RecordKind::Email`] record).
/// The id and the creation time live on the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §9.1)"
)]
pub struct EmailDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<String>,
    pub sent_to_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to_cc_addresses: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to_bcc_addresses: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_from_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_from_reply_address: Option<String>,
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub sent_date: Option<OffsetDateTime>,
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub received_date: Option<OffsetDateTime>,
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub opened_date: Option<OffsetDateTime>,
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub clicked_date: Option<OffsetDateTime>,
    pub original_provider: Provider,
    pub original_provider_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_source_id: Option<String>,
    /// Base64, as sent (whitespace removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html_content: Option<String>,
    /// Base64, as sent (whitespace removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_content: Option<String>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An e-mail record as sent (`EmailSentCreate`). `id` and unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §9.1)"
)]
pub struct EmailBody {
    pub contact_id: Option<LenientI64>,
    pub subject: Option<String>,
    pub headers: Option<String>,
    pub sent_to_address: Option<String>,
    pub sent_to_cc_addresses: Option<String>,
    pub sent_to_bcc_addresses: Option<String>,
    pub sent_from_address: Option<String>,
    pub sent_from_reply_address: Option<String>,
    pub sent_date: Option<String>,
    pub received_date: Option<String>,
    pub opened_date: Option<String>,
    pub clicked_date: Option<String>,
    pub original_provider: Option<String>,
    pub original_provider_id: Option<String>,
    pub provider_source_id: Option<String>,
    pub html_content: Option<String>,
    pub plain_content: Option<String>,
}

/// A text field: trimmed, empty → `None`, checked for length and NUL.
fn text(v: Option<String>, name: &str, max: usize) -> Result<Option<String>, String> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            check_text(name, &s, max)?;
            Ok(Some(s))
        }
    }
}

fn when(v: Option<String>, name: &str) -> Result<Option<OffsetDateTime>, String> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => date::parse_datetime(s)
            .map(Some)
            .map_err(|_| format!("{name} must be a date-time, e.g. 2024-11-07T20:35:13.000+0000")),
    }
}

fn content(v: Option<String>, name: &str) -> Result<Option<String>, String> {
    match v.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => {
            if s.contains('\0') {
                return Err(format!("{name} must be base64-encoded"));
            }
            decode_base64(name, &s).map(|(clean, _)| Some(clean))
        }
    }
}

impl EmailBody {
    /// The contact the body names, if any (`0` and negatives mean none).
    pub fn contact(&self) -> Option<i64> {
        self.contact_id.map(|c| c.0).filter(|c| *c > 0)
    }

    /// Validates the body into a document. `generated_id` (a dash-less UUID) becomes the
    /// `original_provider_id` when none is sent.
    ///
    /// # Errors
    /// A message for the first invalid field (400): no `sent_to_address`, an unknown
    /// provider, a date that is not a date-time, contents that are not base64, text too long.
    pub fn into_doc(self, generated_id: String) -> Result<EmailDoc, String> {
        let contact_id = self.contact();
        let b = self;
        let sent_to_address =
            text(b.sent_to_address, "sent_to_address", MAX_ADDRESSES)?.ok_or(TO_REQUIRED)?;
        let original_provider = match b.original_provider.as_deref().map(str::trim) {
            None | Some("") => Provider::Unknown,
            Some(p) => Provider::parse(p).ok_or_else(|| {
                format!(
                    "original_provider must be one of UNKNOWN, INFUSIONSOFT, MICROSOFT, GOOGLE (got {p:?})"
                )
            })?,
        };
        let original_provider_id = text(
            b.original_provider_id,
            "original_provider_id",
            MAX_PROVIDER_ID,
        )?
        .unwrap_or(generated_id);
        Ok(EmailDoc {
            contact_id,
            subject: text(b.subject, "subject", MAX_SUBJECT)?,
            headers: text(b.headers, "headers", MAX_HEADERS)?,
            sent_to_address,
            sent_to_cc_addresses: text(
                b.sent_to_cc_addresses,
                "sent_to_cc_addresses",
                MAX_ADDRESSES,
            )?,
            sent_to_bcc_addresses: text(
                b.sent_to_bcc_addresses,
                "sent_to_bcc_addresses",
                MAX_ADDRESSES,
            )?,
            sent_from_address: text(b.sent_from_address, "sent_from_address", MAX_ADDRESSES)?,
            sent_from_reply_address: text(
                b.sent_from_reply_address,
                "sent_from_reply_address",
                MAX_ADDRESSES,
            )?,
            sent_date: when(b.sent_date, "sent_date")?,
            received_date: when(b.received_date, "received_date")?,
            opened_date: when(b.opened_date, "opened_date")?,
            clicked_date: when(b.clicked_date, "clicked_date")?,
            original_provider,
            original_provider_id,
            provider_source_id: text(b.provider_source_id, "provider_source_id", MAX_PROVIDER_ID)?,
            html_content: content(b.html_content, "html_content")?,
            plain_content: content(b.plain_content, "plain_content")?,
            extra: Map::new(),
        })
    }
}

impl EmailDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not an e-mail record (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored email is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The value that must be unique per account: provider and provider id.
    pub fn unique_key(&self) -> String {
        format!(
            "{}\u{1}{}",
            self.original_provider.as_str(),
            self.original_provider_id
        )
    }

    /// The 400 message when another record has the same provider and provider id.
    pub fn duplicate_message(&self) -> String {
        format!(
            "An email with original_provider {} and original_provider_id {:?} already exists",
            self.original_provider.as_str(),
            self.original_provider_id
        )
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = self.contact_id;
        keys.text[TO_KEY] = Some(fold(&self.sent_to_address));
        keys.text[FROM_KEY] = self.sent_from_address.as_deref().map(fold);
        keys.text[SENT_DATE_KEY] = self.sent_date.map(date::format_datetime);
        keys.unique = Some(self.unique_key());
        keys
    }

    /// Whether `sent_date` lies within `[since, until]` (bounds that are `None` are open; a
    /// record without a sent date matches only when both are open).
    pub fn sent_within(
        &self,
        since: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
    ) -> bool {
        if since.is_none() && until.is_none() {
            return true;
        }
        self.sent_date
            .is_some_and(|d| since.is_none_or(|s| d >= s) && until.is_none_or(|u| d <= u))
    }

    /// The v1 JSON: `EmailSentQueryResult` for lists (no contents), `EmailSentCreate` /
    /// `EmailSentQueryResultWithContent` with `with_content`.
    pub fn render(&self, id: i64, with_content: bool) -> Value {
        let dt = |t: Option<OffsetDateTime>| {
            t.map_or(Value::Null, |t| Value::String(date::format_datetime(t)))
        };
        let mut v = json!({
            "id": id,
            "contact_id": self.contact_id,
            "subject": self.subject,
            "headers": self.headers,
            "sent_to_address": self.sent_to_address,
            "sent_to_cc_addresses": self.sent_to_cc_addresses,
            "sent_to_bcc_addresses": self.sent_to_bcc_addresses,
            "sent_from_address": self.sent_from_address,
            "sent_from_reply_address": self.sent_from_reply_address,
            "sent_date": dt(self.sent_date),
            "received_date": dt(self.received_date),
            "opened_date": dt(self.opened_date),
            "clicked_date": dt(self.clicked_date),
            "original_provider": self.original_provider.as_str(),
            "original_provider_id": self.original_provider_id,
            "provider_source_id": self.provider_source_id,
        });
        if with_content && let Some(obj) = v.as_object_mut() {
            obj.insert("html_content".to_owned(), json!(self.html_content));
            obj.insert("plain_content".to_owned(), json!(self.plain_content));
        }
        v
    }
}

/// How a refused record of `POST /emails/sync` is echoed in `errors[].email`: as Keap's
/// `EmailSentCreate` it was read into, i.e. exactly that object's members (anything else the
/// client sent is dropped), each with the value sent when it has the member's type (dates
/// parsed and written in the v1 form, the provider in its canonical spelling) and `null`
/// otherwise; `id` only when sent as an integer. The spec declares this shape (`sent_to_address` required, so it is always
/// present, `null` when missing); echoing the raw input instead would hand back arbitrary JSON.
pub fn echo(item: &Value) -> Value {
    const TEXT: [&str; 10] = [
        "subject",
        "headers",
        "sent_to_address",
        "sent_to_cc_addresses",
        "sent_to_bcc_addresses",
        "sent_from_address",
        "sent_from_reply_address",
        "original_provider_id",
        "provider_source_id",
        "html_content",
    ];
    const DATES: [&str; 4] = ["sent_date", "received_date", "opened_date", "clicked_date"];
    let get = |k: &str| item.get(k).filter(|_| item.is_object());
    let mut out = Map::new();
    // `id` (ignored on input) only when sent: an `id` is never null in a v1 response.
    if let Some(id) = get("id").and_then(Value::as_i64) {
        out.insert("id".to_owned(), Value::from(id));
    }
    let contact = get("contact_id").and_then(Value::as_i64);
    out.insert(
        "contact_id".to_owned(),
        contact.map_or(Value::Null, Value::from),
    );
    for k in TEXT.iter().copied().chain(["plain_content"]) {
        let v = get(k)
            .and_then(Value::as_str)
            .map_or(Value::Null, |s| Value::String(s.to_owned()));
        out.insert(k.to_owned(), v);
    }
    for k in DATES {
        let v = get(k)
            .and_then(Value::as_str)
            .and_then(|s| date::parse_datetime(s).ok())
            .map_or(Value::Null, |t| Value::String(date::format_datetime(t)));
        out.insert(k.to_owned(), v);
    }
    let provider = get("original_provider")
        .and_then(Value::as_str)
        .and_then(|s| Provider::parse(s.trim()))
        .map_or(Value::Null, |p| Value::String(p.as_str().to_owned()));
    out.insert("original_provider".to_owned(), provider);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_keeps_only_typed_known_members() {
        let e = echo(&json!({
            "sent_to_address": "a@b.c", "junk": {"x": 1}, "contact_id": 5, "subject": 7,
            "sent_date": "2024-01-02T03:04:05Z", "opened_date": "0088-01-05T11:16:43+19:41x",
            "original_provider": "google", "plain_content": "aGk="
        }));
        assert_eq!(e["sent_to_address"], "a@b.c");
        assert_eq!(e["contact_id"], 5);
        assert_eq!(e["subject"], Value::Null);
        assert_eq!(e["sent_date"], "2024-01-02T03:04:05.000+0000");
        assert_eq!(e["opened_date"], Value::Null);
        assert_eq!(e["original_provider"], "GOOGLE");
        assert_eq!(e["plain_content"], "aGk=");
        assert!(e.get("junk").is_none());
        let missing = echo(&json!(3));
        assert_eq!(missing["sent_to_address"], Value::Null);
        assert_eq!(missing.as_object().map(Map::len), Some(17));
        assert!(missing.get("id").is_none(), "no id sent, none echoed");
        assert_eq!(echo(&json!({"id": 9}))["id"], 9);
    }

    fn doc(v: Value) -> Result<EmailDoc, String> {
        serde_json::from_value::<EmailBody>(v)
            .map_err(|e| e.to_string())?
            .into_doc("0123456789abcdef0123456789abcdef".to_owned())
    }

    #[test]
    fn needs_a_recipient_and_defaults_the_provider() {
        assert_eq!(doc(json!({"subject": "x"})), Err(TO_REQUIRED.to_owned()));
        assert_eq!(
            doc(json!({"sent_to_address": "  "})),
            Err(TO_REQUIRED.to_owned())
        );
        let d = doc(json!({"sent_to_address": "a@b.c"})).expect("valid");
        assert_eq!(d.original_provider, Provider::Unknown);
        assert_eq!(d.original_provider_id, "0123456789abcdef0123456789abcdef");
        let d = doc(
            json!({"sent_to_address": "a@b.c", "original_provider": "google",
                           "original_provider_id": "m1"}),
        )
        .expect("valid");
        assert_eq!(d.original_provider, Provider::Google);
        assert_eq!(d.unique_key(), "GOOGLE\u{1}m1");
        assert!(
            doc(json!({"sent_to_address": "a@b.c", "original_provider": "YAHOO"}))
                .expect_err("unknown provider")
                .starts_with("original_provider must be one of")
        );
    }

    #[test]
    fn contents_must_be_base64_and_dates_date_times() {
        assert_eq!(
            doc(json!({"sent_to_address": "a@b.c", "html_content": "<b>hi</b>"})),
            Err("html_content must be base64-encoded".to_owned())
        );
        assert!(
            doc(json!({"sent_to_address": "a@b.c", "sent_date": "yesterday"}))
                .expect_err("bad date")
                .starts_with("sent_date must be a date-time")
        );
        let d = doc(json!({"sent_to_address": "a@b.c", "plain_content": "aGk=",
                           "sent_date": "2024-11-07T20:35:13Z", "contact_id": "4"}))
        .expect("valid");
        assert_eq!(d.contact_id, Some(4));
        let v = d.render(9, false);
        assert_eq!(v["sent_date"], "2024-11-07T20:35:13.000+0000");
        assert!(v.get("plain_content").is_none());
        assert_eq!(d.render(9, true)["plain_content"], "aGk=");
        assert_eq!(
            d.keys().text[SENT_DATE_KEY].as_deref(),
            Some("2024-11-07T20:35:13.000+0000")
        );
    }

    #[test]
    fn sent_window() {
        let d = doc(json!({"sent_to_address": "a@b.c", "sent_date": "2024-11-07T20:35:13Z"}))
            .expect("valid");
        let t = |s: &str| date::parse_datetime(s).expect("date");
        assert!(d.sent_within(None, None));
        assert!(d.sent_within(Some(t("2024-11-07T00:00:00Z")), None));
        assert!(!d.sent_within(Some(t("2024-11-08T00:00:00Z")), None));
        assert!(!d.sent_within(
            Some(t("2024-01-01T00:00:00Z")),
            Some(t("2024-11-07T20:35:12Z"))
        ));
        let undated = doc(json!({"sent_to_address": "a@b.c"})).expect("valid");
        assert!(!undated.sent_within(Some(t("2024-01-01T00:00:00Z")), None));
    }
}
