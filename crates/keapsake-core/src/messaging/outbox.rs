//! The mail outbox (`POST /emails/queue`, `keap/rest-v1.md` §9.3): what a client may send
//! ([`SendBody`] → [`SendRequest`]), merge fields (`~Contact.FirstName~`, [`merge`]), and the
//! stored message, one per recipient ([`OutboxDoc`]), with the rules a delivery worker
//! follows: a message is claimed by an atomic edit that sets a lease ([`OutboxDoc::claim`]),
//! so two workers sharing one database never both send it; the worker that holds the claim
//! marks it sent or failed ([`OutboxDoc::finish`]); a lease that runs out (a worker that died
//! mid-send) makes the message due again.
//!
//! **One request is all or nothing for delivery.** The store writes one record at a time, so
//! the messages of one request are written one after another; a crash part-way would leave some
//! of them and no 202. Each message therefore names its request ([`OutboxDoc::batch`]) and how
//! many messages that request wrote ([`OutboxDoc::batch_size`]); a worker sends a message only
//! once all of its request's messages exist (the last write is the commit point), and marks the
//! messages of a request that never completed `skipped` after [`ABANDON_AFTER`]
//! ([`OutboxDoc::abandon`]). Messages stored before this rule (no batch) are sent as before.
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `k0` | state (`queued`, `sent`, `skipped`, `failed`) | the worker's scan, `state=` |
//! | `k1` | request (batch) id | the worker's completeness check |
//! | `n0` | contact id | `contact_id=` |
//! | `n1` | e-mail record id | |

use super::decode_base64;
use crate::crm::contact::{ContactDoc, EmailField, PhoneField};
use crate::crm::{LenientI64, check_text, date, wire_enum};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// Text key of the state.
pub const STATE_KEY: usize = 0;
/// Text key of the request (batch) id.
pub const BATCH_KEY: usize = 1;
/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Integer key of the e-mail record id.
pub const EMAIL_KEY: usize = 1;

/// Most recipients of one request.
pub const MAX_RECIPIENTS: usize = 1000;
/// Most attachments (`keap/rest-v1.md` §9.3).
pub const MAX_ATTACHMENTS: usize = 10;
/// Largest attachment, decoded (1 MB).
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024;
/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 1024;
/// Longest attachment file name, in characters.
pub const MAX_FILE_NAME: usize = 255;
/// How long after it was queued a message of an incomplete request (see the module docs) is
/// given up: far longer than one request takes to write its messages.
pub const ABANDON_AFTER: Duration = Duration::minutes(10);
/// The reason a message of an incomplete request is skipped with.
pub const ABANDONED: &str = "the request that queued it did not complete (no 202 was sent)";
/// Delivery attempts before a message that keeps failing transiently is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;

wire_enum!(
    /// Where a message is.
    State {
        /// Waiting for delivery (or stored only, when no SMTP relay is configured).
        Queued = "queued",
        /// Handed to the SMTP relay.
        Sent = "sent",
        /// Not sent: the recipient has no address or is not sendable.
        Skipped = "skipped",
        /// Not sent: the relay refused it, or it kept failing.
        Failed = "failed",
    }
);

/// Which address of each contact a message goes to (`address_field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressField {
    /// An e-mail slot: `Email` (the default), `EmailAddress2`, `EmailAddress3`.
    Slot(EmailField),
    /// A contact custom field, by name (`_Name`, without the underscore).
    Custom(String),
}

impl AddressField {
    /// Parses `address_field` (ASCII case ignored); absent or empty is the primary address.
    ///
    /// # Errors
    /// A 400 message for another value.
    pub fn parse(v: Option<&str>) -> Result<Self, String> {
        let s = v.map(str::trim).unwrap_or("");
        if s.is_empty() || s.eq_ignore_ascii_case("Email") {
            return Ok(Self::Slot(EmailField::Email1));
        }
        if s.eq_ignore_ascii_case("EmailAddress2") {
            return Ok(Self::Slot(EmailField::Email2));
        }
        if s.eq_ignore_ascii_case("EmailAddress3") {
            return Ok(Self::Slot(EmailField::Email3));
        }
        match s.strip_prefix('_') {
            Some(name) if !name.is_empty() && !name.contains('\0') => {
                Ok(Self::Custom(name.to_owned()))
            }
            _ => Err(format!(
                "address_field must be Email, EmailAddress2, EmailAddress3 or _CustomFieldName (got {s:?})"
            )),
        }
    }

    /// The name shown in skip reasons.
    pub fn label(&self) -> String {
        match self {
            Self::Slot(EmailField::Email1) => "Email".to_owned(),
            Self::Slot(EmailField::Email2) => "EmailAddress2".to_owned(),
            Self::Slot(EmailField::Email3) => "EmailAddress3".to_owned(),
            Self::Custom(n) => format!("_{n}"),
        }
    }
}

/// An attachment as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttachmentBody {
    /// File name with extension.
    pub file_name: Option<String>,
    /// Base64 content.
    pub file_data: Option<String>,
}

/// A checked attachment, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub file_name: String,
    /// Base64 content (whitespace removed).
    pub file_data: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// The body of `POST /emails/queue` (`EmailSendRequest`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §9.3)"
)]
pub struct SendBody {
    pub contacts: Option<Vec<LenientI64>>,
    pub user_id: Option<LenientI64>,
    pub subject: Option<String>,
    pub html_content: Option<String>,
    pub plain_content: Option<String>,
    pub address_field: Option<String>,
    pub attachments: Option<Vec<AttachmentBody>>,
}

/// A validated send request: contents decoded to text, merge fields not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// Recipient contact ids, duplicates removed, in the order sent.
    pub contacts: Vec<i64>,
    /// The sending user.
    pub user_id: i64,
    /// Subject template.
    pub subject: String,
    /// HTML template (decoded).
    pub html: Option<String>,
    /// Plain-text template (decoded).
    pub plain: Option<String>,
    /// Which address of each contact.
    pub address_field: AddressField,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// Decodes a base64 content field into UTF-8 text; empty or absent is `None`.
fn content(v: Option<String>, name: &str) -> Result<Option<String>, String> {
    match v.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => {
            let (_, bytes) = decode_base64(name, &s)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{name} must be base64-encoded UTF-8 text"))?;
            if text.contains('\0') {
                return Err(format!("{name} must not contain NUL characters"));
            }
            Ok(Some(text))
        }
    }
}

impl SendBody {
    /// Validates the body: `contacts` (1…[`MAX_RECIPIENTS`]), `user_id` and `subject` are
    /// required; `html_content` or `plain_content` (base64 UTF-8) must be given; at most
    /// [`MAX_ATTACHMENTS`] attachments of at most [`MAX_ATTACHMENT_BYTES`] each.
    ///
    /// # Errors
    /// A message for the first invalid field (400).
    pub fn into_request(self) -> Result<SendRequest, String> {
        let b = self;
        let ids = b.contacts.ok_or("contacts is required")?;
        if ids.is_empty() {
            return Err("contacts must name at least one contact".to_owned());
        }
        let mut contacts: Vec<i64> = Vec::with_capacity(ids.len());
        for LenientI64(id) in ids {
            if id <= 0 {
                return Err(format!("Contact {id} does not exist"));
            }
            if !contacts.contains(&id) {
                contacts.push(id);
            }
        }
        if contacts.len() > MAX_RECIPIENTS {
            return Err(format!(
                "contacts must name at most {MAX_RECIPIENTS} contacts"
            ));
        }
        let user_id = b.user_id.ok_or("user_id is required")?.0;
        let subject = b.subject.unwrap_or_default();
        let subject = subject.trim();
        if subject.is_empty() {
            return Err("subject is required".to_owned());
        }
        check_text("subject", subject, MAX_SUBJECT)?;
        let html = content(b.html_content, "html_content")?;
        let plain = content(b.plain_content, "plain_content")?;
        if html.is_none() && plain.is_none() {
            return Err("html_content or plain_content is required".to_owned());
        }
        let address_field = AddressField::parse(b.address_field.as_deref())?;
        let list = b.attachments.unwrap_or_default();
        if list.len() > MAX_ATTACHMENTS {
            return Err(format!(
                "attachments must hold at most {MAX_ATTACHMENTS} files"
            ));
        }
        let mut attachments = Vec::with_capacity(list.len());
        for a in list {
            let file_name = a.file_name.unwrap_or_default().trim().to_owned();
            if file_name.is_empty() {
                return Err("attachments[].file_name is required".to_owned());
            }
            check_text("attachments[].file_name", &file_name, MAX_FILE_NAME)?;
            if file_name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
            {
                return Err(
                    "attachments[].file_name must not contain control characters or slashes"
                        .to_owned(),
                );
            }
            let data = a.file_data.unwrap_or_default();
            let (clean, bytes) = decode_base64("attachments[].file_data", &data)?;
            if bytes.len() > MAX_ATTACHMENT_BYTES {
                return Err(format!(
                    "attachment {file_name:?} is larger than 1 MB ({} bytes)",
                    bytes.len()
                ));
            }
            attachments.push(Attachment {
                file_name,
                file_data: clean,
                size: bytes.len(),
            });
        }
        Ok(SendRequest {
            contacts,
            user_id,
            subject: subject.to_owned(),
            html,
            plain,
            address_field,
            attachments,
        })
    }
}

/// The values merge fields are replaced with: `Contact.FirstName` → `Ada`, …
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeData {
    fields: Vec<(String, String)>,
}

impl MergeData {
    /// The merge fields of a contact and the sending user. Contact fields follow Keap's
    /// field names (`FirstName`, `LastName`, `Email`, `Company`, …); user fields are
    /// `User.FirstName`, `User.LastName`, `User.Email` (and the same under `Owner.`).
    pub fn new(
        contact_id: i64,
        contact: &ContactDoc,
        company_name: Option<&str>,
        user: (&str, &str, &str),
    ) -> Self {
        let mut fields = Vec::new();
        let mut put = |k: &str, v: Option<&str>| {
            fields.push((k.to_owned(), v.unwrap_or("").to_owned()));
        };
        let slot = |f: EmailField| {
            contact
                .email_addresses
                .iter()
                .find(|e| e.field == f)
                .map(|e| e.email.as_str())
        };
        let phone = |f: PhoneField| {
            contact
                .phone_numbers
                .iter()
                .find(|p| p.field == f)
                .map(|p| p.number.as_str())
        };
        let id = contact_id.to_string();
        put("Contact.Id", Some(&id));
        put("Contact.FirstName", contact.given_name.as_deref());
        put("Contact.LastName", contact.family_name.as_deref());
        put("Contact.MiddleName", contact.middle_name.as_deref());
        put("Contact.Nickname", contact.preferred_name.as_deref());
        put("Contact.Title", contact.prefix.as_deref());
        put("Contact.Suffix", contact.suffix.as_deref());
        put("Contact.JobTitle", contact.job_title.as_deref());
        put("Contact.Company", company_name);
        put("Contact.Website", contact.website.as_deref());
        put("Contact.Email", slot(EmailField::Email1));
        put("Contact.EmailAddress2", slot(EmailField::Email2));
        put("Contact.EmailAddress3", slot(EmailField::Email3));
        put("Contact.Phone1", phone(PhoneField::Phone1));
        put("Contact.Phone2", phone(PhoneField::Phone2));
        for prefix in ["User", "Owner"] {
            put(&format!("{prefix}.FirstName"), Some(user.0));
            put(&format!("{prefix}.LastName"), Some(user.1));
            put(&format!("{prefix}.Email"), Some(user.2));
        }
        Self { fields }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces merge fields `~Contact.X~`, `~User.X~` and `~Owner.X~` in `template`. A known
/// field becomes its value (HTML-escaped when `html`); an unknown field of those objects
/// becomes empty, as in Keap; any other `~…~` text is left alone.
pub fn merge(template: &str, data: &MergeData, html: bool) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('~') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('~') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let is_field = ["Contact.", "User.", "Owner."]
            .iter()
            .any(|p| name.starts_with(p))
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if is_field {
            let value = data.get(name).unwrap_or("");
            if html {
                out.push_str(&escape_html(value));
            } else {
                out.push_str(value);
            }
            rest = &after[end + 1..];
        } else {
            // Not a merge field: keep the first `~` and look again from the second.
            out.push('~');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A message of the outbox, one per recipient (the `data` of a
/// [`crate::records::RecordKind::OutboxMessage`] record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxDoc {
    /// Recipient contact.
    pub contact_id: i64,
    /// Sending user.
    pub user_id: i64,
    /// Recipient address (`None` when the contact has none in the chosen field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Sender address (the user's login e-mail).
    pub from: String,
    /// Sender display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    /// Subject, merged.
    pub subject: String,
    /// HTML body, merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Plain-text body, merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain: Option<String>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Where it is.
    pub state: State,
    /// Why it was skipped or failed (the last transient error while queued).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The e-mail record written for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_id: Option<i64>,
    /// Delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// When it was queued.
    #[serde(
        default,
        with = "date::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub queued_at: Option<OffsetDateTime>,
    /// Not to be tried before (after a transient failure).
    #[serde(
        default,
        with = "date::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// A claim holds until then.
    #[serde(
        default,
        with = "date::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub lease_until: Option<OffsetDateTime>,
    /// The token of the current claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// When the relay accepted it.
    #[serde(
        default,
        with = "date::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub sent_at: Option<OffsetDateTime>,
    /// The request that queued it (random, shared by that request's messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// How many messages that request wrote (it is complete when all of them exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u64>,
}

/// Outcome of one delivery attempt, as the worker reports it to [`OutboxDoc::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The relay accepted the message.
    Sent,
    /// A temporary failure (connection, 4xx): retried later, up to [`MAX_ATTEMPTS`].
    Transient(String),
    /// A permanent failure (5xx, a message that cannot be built).
    Permanent(String),
}

impl OutboxDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not an outbox message (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored outbox message is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.text[STATE_KEY] = Some(self.state.as_str().to_owned());
        keys.int[CONTACT_KEY] = Some(self.contact_id);
        keys.int[EMAIL_KEY] = self.email_id;
        keys.text[BATCH_KEY].clone_from(&self.batch);
        keys
    }

    /// Gives up a message whose request never completed (see the module docs): `skipped` with
    /// [`ABANDONED`], once [`ABANDON_AFTER`] has passed since it was queued. Runs inside the
    /// store's atomic edit.
    ///
    /// # Errors
    /// When it is no longer queued, is claimed, or is too recent; nothing changes.
    pub fn abandon(&mut self, now: OffsetDateTime) -> Result<(), String> {
        if self.state != State::Queued || self.lease_until.is_some_and(|t| t > now) {
            return Err("not queued".to_owned());
        }
        if self.queued_at.is_some_and(|t| now - t < ABANDON_AFTER) {
            return Err("too recent".to_owned());
        }
        self.state = State::Skipped;
        self.reason = Some(ABANDONED.to_owned());
        self.claim = None;
        self.lease_until = None;
        self.next_attempt_at = None;
        Ok(())
    }

    /// `queued`, `sent`, `skipped: <reason>` or `failed: <error>`.
    pub fn status(&self) -> String {
        match (self.state, &self.reason) {
            (State::Skipped | State::Failed, Some(r)) => format!("{}: {r}", self.state.as_str()),
            (s, _) => s.as_str().to_owned(),
        }
    }

    /// Whether a worker may claim it now: queued, not waiting for a retry, no live lease.
    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        self.state == State::Queued
            && self.next_attempt_at.is_none_or(|t| t <= now)
            && self.lease_until.is_none_or(|t| t <= now)
    }

    /// Claims the message for one delivery attempt: runs inside the store's atomic edit, so
    /// of two workers racing for one message exactly one succeeds.
    ///
    /// # Errors
    /// When it is not due (already sent, claimed by another worker, waiting for a retry);
    /// the edit is then refused and nothing changes.
    pub fn claim(
        &mut self,
        now: OffsetDateTime,
        lease: Duration,
        token: &str,
    ) -> Result<(), String> {
        if !self.is_due(now) {
            return Err("not due".to_owned());
        }
        self.lease_until = Some(now + lease);
        self.claim = Some(token.to_owned());
        self.attempts = self.attempts.saturating_add(1);
        Ok(())
    }

    /// Records the outcome of the attempt made under claim `token`: sent; a transient failure
    /// retried after a backoff (1, 2, 4, 8 minutes) until [`MAX_ATTEMPTS`]; failed.
    ///
    /// # Errors
    /// When the claim is no longer this worker's (its lease ran out and another worker took
    /// the message); nothing changes.
    pub fn finish(
        &mut self,
        now: OffsetDateTime,
        token: &str,
        outcome: Attempt,
    ) -> Result<(), String> {
        if self.claim.as_deref() != Some(token) || self.state != State::Queued {
            return Err("the claim was lost".to_owned());
        }
        self.claim = None;
        self.lease_until = None;
        match outcome {
            Attempt::Sent => {
                self.state = State::Sent;
                self.reason = None;
                self.sent_at = Some(now);
                self.next_attempt_at = None;
            }
            Attempt::Transient(e) if self.attempts < MAX_ATTEMPTS => {
                let backoff = Duration::minutes(1i64 << self.attempts.saturating_sub(1).min(10));
                self.reason = Some(e);
                self.next_attempt_at = Some(now + backoff);
            }
            Attempt::Transient(e) | Attempt::Permanent(e) => {
                self.state = State::Failed;
                self.reason = Some(e);
                self.next_attempt_at = None;
            }
        }
        Ok(())
    }

    /// keapsake's admin shape (`/keapsake/v1/outbox`, `keapsake mail`): the envelope and
    /// status, plus the bodies and attachment names with `full`.
    pub fn render(&self, id: i64, full: bool) -> Value {
        let dt = |t: Option<OffsetDateTime>| {
            t.map_or(Value::Null, |t| Value::String(date::format_datetime(t)))
        };
        let mut v = json!({
            "id": id,
            "status": self.status(),
            "contact_id": self.contact_id,
            "user_id": self.user_id,
            "to": self.to,
            "from": self.from,
            "subject": self.subject,
            "email_id": self.email_id,
            "attempts": self.attempts,
            "queued_at": dt(self.queued_at),
            "sent_at": dt(self.sent_at),
            "next_attempt_at": dt(self.next_attempt_at),
        });
        if full && let Some(obj) = v.as_object_mut() {
            obj.insert("from_name".to_owned(), json!(self.from_name));
            obj.insert("html".to_owned(), json!(self.html));
            obj.insert("plain".to_owned(), json!(self.plain));
            obj.insert(
                "attachments".to_owned(),
                Value::Array(
                    self.attachments
                        .iter()
                        .map(|a| json!({"file_name": a.file_name, "size": a.size}))
                        .collect(),
                ),
            );
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::encode_base64;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-11-07 20:35:13 UTC);

    fn request(v: Value) -> Result<SendRequest, String> {
        serde_json::from_value::<SendBody>(v)
            .map_err(|e| e.to_string())?
            .into_request()
    }

    fn ok_body() -> Value {
        json!({"contacts": [3, "4", 3], "user_id": 1, "subject": "Hi ~Contact.FirstName~",
               "plain_content": encode_base64(b"Dear ~Contact.FirstName~")})
    }

    #[test]
    fn validates_the_send_request() {
        let r = request(ok_body()).expect("valid");
        assert_eq!(r.contacts, vec![3, 4]);
        assert_eq!(r.plain.as_deref(), Some("Dear ~Contact.FirstName~"));
        assert_eq!(r.address_field, AddressField::Slot(EmailField::Email1));
        for (field, value, msg) in [
            ("contacts", json!(null), "contacts is required"),
            (
                "contacts",
                json!([]),
                "contacts must name at least one contact",
            ),
            ("user_id", json!(null), "user_id is required"),
            ("subject", json!(" "), "subject is required"),
            (
                "plain_content",
                json!("not base64!"),
                "plain_content must be base64-encoded",
            ),
            (
                "plain_content",
                json!(null),
                "html_content or plain_content is required",
            ),
        ] {
            let mut b = ok_body();
            b[field] = value;
            assert_eq!(request(b), Err(msg.to_owned()), "{field}");
        }
        let mut b = ok_body();
        b["address_field"] = json!("Fax1");
        assert!(
            request(b)
                .expect_err("bad field")
                .starts_with("address_field must be")
        );
        let mut b = ok_body();
        b["address_field"] = json!("_Work Mail");
        assert_eq!(
            request(b).expect("valid").address_field,
            AddressField::Custom("Work Mail".into())
        );
    }

    #[test]
    fn attachments_are_limited() {
        let mut b = ok_body();
        b["attachments"] = json!(vec![json!({"file_name": "a.txt", "file_data": "aGk="}); 11]);
        assert_eq!(
            request(b),
            Err("attachments must hold at most 10 files".to_owned())
        );
        let mut b = ok_body();
        let big = encode_base64(&vec![0u8; MAX_ATTACHMENT_BYTES + 1]);
        b["attachments"] = json!([{"file_name": "big.bin", "file_data": big}]);
        assert!(
            request(b)
                .expect_err("too big")
                .contains("larger than 1 MB")
        );
        let mut b = ok_body();
        b["attachments"] = json!([{"file_name": "a.txt", "file_data": "aGk="}]);
        assert_eq!(request(b).expect("valid").attachments[0].size, 2);
    }

    #[test]
    fn merges_known_fields_escapes_html_and_leaves_other_tildes() {
        let contact: ContactDoc = serde_json::from_value(json!({
            "given_name": "Ada <3", "family_name": "Lovelace",
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]
        }))
        .expect("contact");
        let data = MergeData::new(7, &contact, Some("Acme"), ("Grace", "Hopper", "g@h.io"));
        assert_eq!(
            merge(
                "Hi ~Contact.FirstName~ of ~Contact.Company~ (~Contact.Id~) ~Contact.Nope~!",
                &data,
                false
            ),
            "Hi Ada <3 of Acme (7) !"
        );
        assert_eq!(
            merge("<p>~Contact.FirstName~</p> ~User.FirstName~", &data, true),
            "<p>Ada &lt;3</p> Grace"
        );
        assert_eq!(
            merge("~ about ~Contact.LastName~ ~", &data, false),
            "~ about Lovelace ~"
        );
        assert_eq!(merge("a ~ b", &data, false), "a ~ b");
    }

    fn queued() -> OutboxDoc {
        OutboxDoc {
            contact_id: 1,
            user_id: 1,
            to: Some("a@b.c".into()),
            from: "u@b.c".into(),
            from_name: None,
            subject: "s".into(),
            html: None,
            plain: Some("p".into()),
            attachments: Vec::new(),
            state: State::Queued,
            reason: None,
            email_id: Some(1),
            attempts: 0,
            queued_at: Some(NOW),
            next_attempt_at: None,
            lease_until: None,
            claim: None,
            sent_at: None,
            batch: Some("b1".into()),
            batch_size: Some(2),
        }
    }

    #[test]
    fn a_message_of_an_incomplete_request_is_abandoned_only_when_old_and_queued() {
        let mut d = queued();
        assert_eq!(d.keys().text[BATCH_KEY].as_deref(), Some("b1"));
        assert_eq!(
            d.abandon(NOW + Duration::minutes(9)),
            Err("too recent".to_owned())
        );
        assert_eq!(d.state, State::Queued);
        d.abandon(NOW + ABANDON_AFTER).expect("abandoned");
        assert_eq!(d.state, State::Skipped);
        assert_eq!(d.status(), format!("skipped: {ABANDONED}"));
        assert_eq!(d.keys().text[STATE_KEY].as_deref(), Some("skipped"));
        assert!(d.abandon(NOW + ABANDON_AFTER).is_err(), "only once");
        let mut sent = queued();
        sent.state = State::Sent;
        assert!(sent.abandon(NOW + Duration::hours(1)).is_err());
        // Older documents without a batch read back unchanged.
        let mut v = queued().to_value();
        v.as_object_mut()
            .map(|o| (o.remove("batch"), o.remove("batch_size")));
        let old = OutboxDoc::from_value(&v).expect("readable");
        assert_eq!((old.batch, old.batch_size), (None, None));
    }

    #[test]
    fn a_claim_excludes_other_workers_until_its_lease_ends() {
        let mut d = queued();
        d.claim(NOW, Duration::minutes(5), "a").expect("due");
        assert!(d.claim(NOW, Duration::minutes(5), "b").is_err());
        // The lease of a worker that died runs out; another worker takes over and the first
        // one can no longer record an outcome.
        let later = NOW + Duration::minutes(6);
        d.claim(later, Duration::minutes(5), "b")
            .expect("lease expired");
        assert!(d.finish(later, "a", Attempt::Sent).is_err());
        d.finish(later, "b", Attempt::Sent).expect("b holds it");
        assert_eq!(d.status(), "sent");
        assert!(!d.is_due(later + Duration::hours(1)));
        assert_eq!(d.attempts, 2);
    }

    #[test]
    fn transient_failures_back_off_then_fail() {
        let mut d = queued();
        let mut now = NOW;
        for n in 1..MAX_ATTEMPTS {
            d.claim(now, Duration::minutes(5), "w").expect("due");
            d.finish(now, "w", Attempt::Transient("421 busy".into()))
                .expect("held");
            assert_eq!(d.state, State::Queued);
            assert!(!d.is_due(now));
            now = d.next_attempt_at.expect("retry time");
            assert!(now - NOW >= Duration::minutes(1i64 << (n - 1)));
        }
        d.claim(now, Duration::minutes(5), "w").expect("due");
        d.finish(now, "w", Attempt::Transient("421 busy".into()))
            .expect("held");
        assert_eq!(d.status(), "failed: 421 busy");
        let mut p = queued();
        p.claim(NOW, Duration::minutes(5), "w").expect("due");
        p.finish(NOW, "w", Attempt::Permanent("550 no such user".into()))
            .expect("held");
        assert_eq!(p.status(), "failed: 550 no such user");
        assert_eq!(p.keys().text[STATE_KEY].as_deref(), Some("failed"));
    }
}
