//! E-mail records and sending (`keap/rest-v1.md` §9).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ContactId, EmailId, UserId};

/// An e-mail record. Lists leave out the contents (`html_content`, `plain_content`: `None`);
/// `get` and `create` include them, base64-encoded as Keap sends them (see
/// [`Email::html`] and [`Email::plain`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Record id.
    pub id: EmailId,
    /// The contact it was sent to.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Raw headers.
    #[serde(default)]
    pub headers: Option<String>,
    /// Recipient.
    #[serde(default)]
    pub sent_to_address: Option<String>,
    /// Cc recipients.
    #[serde(default)]
    pub sent_to_cc_addresses: Option<String>,
    /// Bcc recipients.
    #[serde(default)]
    pub sent_to_bcc_addresses: Option<String>,
    /// Sender.
    #[serde(default)]
    pub sent_from_address: Option<String>,
    /// Reply-to.
    #[serde(default)]
    pub sent_from_reply_address: Option<String>,
    /// Sent.
    #[serde(default, with = "crate::date::option_datetime")]
    pub sent_date: Option<OffsetDateTime>,
    /// Received.
    #[serde(default, with = "crate::date::option_datetime")]
    pub received_date: Option<OffsetDateTime>,
    /// First opened.
    #[serde(default, with = "crate::date::option_datetime")]
    pub opened_date: Option<OffsetDateTime>,
    /// First clicked.
    #[serde(default, with = "crate::date::option_datetime")]
    pub clicked_date: Option<OffsetDateTime>,
    /// `UNKNOWN`, `INFUSIONSOFT`, `MICROSOFT` or `GOOGLE`.
    #[serde(default)]
    pub original_provider: Option<String>,
    /// The provider's id of the message.
    #[serde(default)]
    pub original_provider_id: Option<String>,
    /// The provider's source.
    #[serde(default)]
    pub provider_source_id: Option<String>,
    /// HTML body, base64.
    #[serde(default)]
    pub html_content: Option<String>,
    /// Text body, base64.
    #[serde(default)]
    pub plain_content: Option<String>,
}

fn decode(b64: Option<&str>) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64?.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

impl Email {
    /// The HTML body, decoded (`None` when absent or not base64 of UTF-8).
    pub fn html(&self) -> Option<String> {
        decode(self.html_content.as_deref())
    }

    /// The text body, decoded (`None` when absent or not base64 of UTF-8).
    pub fn plain(&self) -> Option<String> {
        decode(self.plain_content.as_deref())
    }
}

/// An e-mail record to store (`POST /emails`, `POST /emails/sync`): a message sent elsewhere,
/// recorded on a contact. `sent_to_address` is required. Contents are given as text; the SDK
/// base64-encodes them.
///
/// ```
/// use keapsake_sdk::model::EmailInput;
/// let e = EmailInput::new("ada@example.com").contact(22).subject("Hi").plain("Hello");
/// assert_eq!(
///     serde_json::to_value(&e).unwrap(),
///     serde_json::json!({"sent_to_address": "ada@example.com", "contact_id": 22, "subject": "Hi", "plain_content": "SGVsbG8="})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EmailInput {
    /// Recipient (required).
    pub sent_to_address: String,
    /// The contact it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Raw headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<String>,
    /// Cc recipients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to_cc_addresses: Option<String>,
    /// Bcc recipients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to_bcc_addresses: Option<String>,
    /// Sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_from_address: Option<String>,
    /// Reply-to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_from_reply_address: Option<String>,
    /// Sent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_datetime"
    )]
    pub sent_date: Option<OffsetDateTime>,
    /// Received.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_datetime"
    )]
    pub received_date: Option<OffsetDateTime>,
    /// Opened.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_datetime"
    )]
    pub opened_date: Option<OffsetDateTime>,
    /// Clicked.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_datetime"
    )]
    pub clicked_date: Option<OffsetDateTime>,
    /// `UNKNOWN`, `INFUSIONSOFT`, `MICROSOFT` or `GOOGLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_provider: Option<String>,
    /// The provider's id of the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_provider_id: Option<String>,
    /// The provider's source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_source_id: Option<String>,
    /// HTML body, base64 (set with [`EmailInput::html`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html_content: Option<String>,
    /// Text body, base64 (set with [`EmailInput::plain`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_content: Option<String>,
}

impl EmailInput {
    /// A record of a message to `to`.
    pub fn new(to: impl Into<String>) -> Self {
        EmailInput {
            sent_to_address: to.into(),
            ..EmailInput::default()
        }
    }

    /// The contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact_id = Some(id.into());
        self
    }

    /// Subject.
    pub fn subject(mut self, s: impl Into<String>) -> Self {
        self.subject = Some(s.into());
        self
    }

    /// Sender.
    pub fn from(mut self, s: impl Into<String>) -> Self {
        self.sent_from_address = Some(s.into());
        self
    }

    /// When it was sent.
    pub fn sent_date(mut self, t: OffsetDateTime) -> Self {
        self.sent_date = Some(t);
        self
    }

    /// The HTML body, as text (base64-encoded for the wire).
    pub fn html(mut self, s: &str) -> Self {
        self.html_content = Some(encode(s));
        self
    }

    /// The text body, as text (base64-encoded for the wire).
    pub fn plain(mut self, s: &str) -> Self {
        self.plain_content = Some(encode(s));
        self
    }
}

/// One record `POST /emails/sync` refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSyncError {
    /// The record as sent.
    #[serde(default)]
    pub email: serde_json::Value,
    /// Why.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// The answer of `POST /emails/sync`: the stored records and the refused ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSyncResult {
    /// Stored records.
    #[serde(default, deserialize_with = "crate::model::null_as_empty")]
    pub emails: Vec<Email>,
    /// Refused records, each with its reason.
    #[serde(default, deserialize_with = "crate::model::null_as_empty")]
    pub errors: Vec<EmailSyncError>,
}

/// A file sent with [`SendEmail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailAttachment {
    /// File name.
    pub file_name: String,
    /// Contents, base64.
    pub file_data: String,
}

impl EmailAttachment {
    /// An attachment from raw bytes (base64-encoded here).
    pub fn new(file_name: impl Into<String>, bytes: &[u8]) -> Self {
        use base64::Engine;
        EmailAttachment {
            file_name: file_name.into(),
            file_data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// A message to send to contacts (`POST /emails/queue`). The contents are given as text;
/// the SDK base64-encodes them.
///
/// ```
/// use keapsake_sdk::model::SendEmail;
/// let m = SendEmail::new([22, 23], 1, "Welcome").plain("Hi ~Contact.FirstName~");
/// let v = serde_json::to_value(&m).unwrap();
/// assert_eq!(v["contacts"], serde_json::json!([22, 23]));
/// assert_eq!(v["plain_content"], "SGkgfkNvbnRhY3QuRmlyc3ROYW1lfg==");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendEmail {
    /// Recipients.
    pub contacts: Vec<ContactId>,
    /// The sending user.
    pub user_id: UserId,
    /// Subject.
    pub subject: String,
    /// HTML body, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html_content: Option<String>,
    /// Text body, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_content: Option<String>,
    /// Which address of each contact (`Email`, `EmailAddress2`, `EmailAddress3`, or a
    /// `_CustomField`); the primary one when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_field: Option<String>,
    /// Attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<EmailAttachment>,
}

impl SendEmail {
    /// A message from `user` to `contacts`.
    pub fn new<I, C>(contacts: I, user: impl Into<UserId>, subject: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<ContactId>,
    {
        SendEmail {
            contacts: contacts.into_iter().map(Into::into).collect(),
            user_id: user.into(),
            subject: subject.into(),
            html_content: None,
            plain_content: None,
            address_field: None,
            attachments: Vec::new(),
        }
    }

    /// The HTML body, as text.
    pub fn html(mut self, s: &str) -> Self {
        self.html_content = Some(encode(s));
        self
    }

    /// The text body, as text.
    pub fn plain(mut self, s: &str) -> Self {
        self.plain_content = Some(encode(s));
        self
    }

    /// Which address of each contact to use.
    pub fn address_field(mut self, f: impl Into<String>) -> Self {
        self.address_field = Some(f.into());
        self
    }

    /// Adds an attachment.
    pub fn attach(mut self, a: EmailAttachment) -> Self {
        self.attachments.push(a);
        self
    }
}

/// An address's marketing status (`PUT /emailAddresses/{email}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAddressStatus {
    /// The address.
    pub email: String,
    /// Whether marketing e-mail may be sent to it.
    #[serde(default)]
    pub opted_in: Option<bool>,
    /// Keap's status name (`SingleOptIn`, `UnengagedMarketable`, `Opt-Out: Manual`…).
    #[serde(default)]
    pub status: Option<String>,
}
