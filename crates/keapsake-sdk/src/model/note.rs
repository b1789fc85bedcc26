//! Notes (`keap/rest-v1.md` §4).

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::ids::{ContactId, NoteId, UserId};

/// The kind of a note (`type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoteType {
    /// `Appointment`.
    Appointment,
    /// `Call`.
    Call,
    /// `Email`.
    Email,
    /// `Fax`.
    Fax,
    /// `Letter`.
    Letter,
    /// `Other`.
    Other,
    /// A value this SDK does not know, kept as sent.
    Unknown(String),
}

impl NoteType {
    /// Keap's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            NoteType::Appointment => "Appointment",
            NoteType::Call => "Call",
            NoteType::Email => "Email",
            NoteType::Fax => "Fax",
            NoteType::Letter => "Letter",
            NoteType::Other => "Other",
            NoteType::Unknown(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for NoteType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Appointment" => NoteType::Appointment,
            "Call" => NoteType::Call,
            "Email" => NoteType::Email,
            "Fax" => NoteType::Fax,
            "Letter" => NoteType::Letter,
            "Other" => NoteType::Other,
            _ => NoteType::Unknown(s),
        })
    }
}

impl Serialize for NoteType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who changed a note last (`NoteUser`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteUser {
    /// User id.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// First name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub family_name: Option<String>,
}

/// A note on a contact, as Keap returns it (`keap/rest-v1.md` §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Note id.
    pub id: NoteId,
    /// The contact the note is on.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// The user the note belongs to.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Kind.
    #[serde(default, rename = "type")]
    pub kind: Option<NoteType>,
    /// Creation time.
    #[serde(default, with = "crate::date::option_datetime")]
    pub date_created: Option<OffsetDateTime>,
    /// Last change.
    #[serde(default, with = "crate::date::option_datetime")]
    pub last_updated: Option<OffsetDateTime>,
    /// Who made the last change.
    #[serde(default)]
    pub last_updated_by: Option<NoteUser>,
}

/// The writable fields of a note, for create (`contact_id` and a title or body required),
/// replace (`PUT`: what is not set is cleared) and update (`PATCH`: only what is set
/// changes). Without a `user_id`, create and replace assign the acting user.
///
/// ```
/// use keapsake_sdk::model::{NoteInput, NoteType};
/// let note = NoteInput::new().contact(22).title("Call").body("Talked about the engine").kind(NoteType::Call);
/// assert_eq!(
///     serde_json::to_value(&note).unwrap(),
///     serde_json::json!({"contact_id": 22, "title": "Call", "body": "Talked about the engine", "type": "Call"})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoteInput {
    /// The contact the note is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    /// The user the note belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Kind.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<NoteType>,
}

impl NoteInput {
    /// An empty input: nothing will be sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact_id = Some(id.into());
        self
    }

    /// Sets the user.
    pub fn user(mut self, id: impl Into<UserId>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Sets the title.
    pub fn title(mut self, v: impl Into<String>) -> Self {
        self.title = Some(v.into());
        self
    }

    /// Sets the body.
    pub fn body(mut self, v: impl Into<String>) -> Self {
        self.body = Some(v.into());
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, v: NoteType) -> Self {
        self.kind = Some(v);
        self
    }
}
