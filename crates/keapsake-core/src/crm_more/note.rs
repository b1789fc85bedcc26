//! Notes on contacts (`keap/rest-v1.md` §4): the stored document ([`NoteDoc`]), what a client
//! may send ([`NoteBody`] → [`NoteChanges`]) for create, `PUT` (replace) and `PATCH`, the keys
//! and the v1 shape.
//!
//! Index layout: `n0` = contact id (`contact_id=`; deleting a contact can find its notes),
//! `n1` = user id (`user_id=`).

use super::{MAX_BODY, MAX_NAME, Mode, UserRef, id_field, opt_datetime, opt_str, text};
use crate::crm::{Field, LenientI64, wire_enum};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Integer key of the user id.
pub const USER_KEY: usize = 1;

/// The 400 message for a note without a contact.
pub const CONTACT_REQUIRED: &str = "contact_id is required";
/// The 400 message for a note with neither title nor body.
pub const TITLE_OR_BODY: &str = "A note must have a title or a body";

wire_enum!(
    /// The kind of note (`type`).
    NoteType {
        /// An appointment.
        Appointment = "Appointment",
        /// A call.
        Call = "Call",
        /// An e-mail.
        Email = "Email",
        /// A fax.
        Fax = "Fax",
        /// A letter.
        Letter = "Letter",
        /// Anything else.
        Other = "Other",
    }
);

/// A note as stored (the `data` of a [`crate::records::RecordKind::Note`] record). The id and
/// the creation and update times live on the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoteDoc {
    /// The contact the note is on.
    pub contact_id: i64,
    /// The user the note belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Kind.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<NoteType>,
    /// Who wrote last, with their names at the time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<UserRef>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A note body (`RequestNote` / `UpdateNote`), as sent. Unknown and read-only fields (`id`,
/// `date_created`, `last_updated_by`, …) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §4)"
)]
pub struct NoteBody {
    pub contact_id: Field<LenientI64>,
    pub user_id: Field<LenientI64>,
    pub title: Field<String>,
    pub body: Field<String>,
    #[serde(rename = "type")]
    pub kind: Field<String>,
}

/// A validated change to a note.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §4)"
)]
pub struct NoteChanges {
    pub contact_id: Field<i64>,
    pub user_id: Field<i64>,
    pub title: Field<String>,
    pub body: Field<String>,
    pub kind: Field<NoteType>,
}

impl NoteBody {
    /// Validates the body for `mode`: create and replace need a contact; fields not sent are
    /// cleared on replace.
    ///
    /// # Errors
    /// A message for the first invalid field (400).
    pub fn into_changes(self, mode: Mode) -> Result<NoteChanges, String> {
        let b = self;
        let contact_id = mode.absent(id_field(b.contact_id));
        if (mode != Mode::Patch && contact_id.value().is_none()) || contact_id == Field::Null {
            return Err(CONTACT_REQUIRED.to_owned());
        }
        let kind = match mode.absent(b.kind) {
            Field::Set(s) if s.trim().is_empty() => Field::Null,
            f => f.try_map(|s| {
                NoteType::parse(&s).ok_or_else(|| {
                    let all: Vec<&str> = NoteType::ALL.iter().map(|t| t.as_str()).collect();
                    format!("Invalid type {s:?}; expected one of {}", all.join(", "))
                })
            })?,
        };
        Ok(NoteChanges {
            contact_id,
            user_id: mode.absent(id_field(b.user_id)),
            title: mode.absent(text(b.title, "title", MAX_NAME)?),
            body: mode.absent(text(b.body, "body", MAX_BODY)?),
            kind,
        })
    }
}

impl NoteChanges {
    /// The contact the change points the note at, if any.
    pub fn contact(&self) -> Option<i64> {
        self.contact_id.value().copied()
    }

    /// The user the change assigns, if any.
    pub fn user(&self) -> Option<i64> {
        self.user_id.value().copied()
    }
}

impl NoteDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a note (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored note is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// A new note.
    ///
    /// # Errors
    /// [`CONTACT_REQUIRED`], [`TITLE_OR_BODY`].
    pub fn create(changes: &NoteChanges, by: Option<UserRef>) -> Result<Self, String> {
        let mut doc = NoteDoc::default();
        doc.update(changes, by)?;
        Ok(doc)
    }

    /// Applies a change (replace or patch, as the changes were built) and checks the result.
    ///
    /// # Errors
    /// [`CONTACT_REQUIRED`], [`TITLE_OR_BODY`]; the document must then be discarded.
    pub fn update(&mut self, ch: &NoteChanges, by: Option<UserRef>) -> Result<(), String> {
        if let Some(c) = ch.contact() {
            self.contact_id = c;
        }
        ch.user_id.apply_to(&mut self.user_id);
        ch.title.apply_to(&mut self.title);
        ch.body.apply_to(&mut self.body);
        ch.kind.apply_to(&mut self.kind);
        if by.is_some() {
            self.last_updated_by = by;
        }
        if self.contact_id <= 0 {
            return Err(CONTACT_REQUIRED.to_owned());
        }
        if self.title.is_none() && self.body.is_none() {
            return Err(TITLE_OR_BODY.to_owned());
        }
        Ok(())
    }

    /// The indexed keys.
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = Some(self.contact_id);
        keys.int[USER_KEY] = self.user_id;
        keys
    }

    /// The v1 JSON (`Note`); every field present, `null` when empty.
    pub fn render(&self, id: i64, created: OffsetDateTime, updated: OffsetDateTime) -> Value {
        json!({
            "id": id,
            "contact_id": self.contact_id,
            "user_id": self.user_id,
            "title": opt_str(self.title.as_deref()),
            "body": opt_str(self.body.as_deref()),
            "type": self.kind,
            "date_created": opt_datetime(Some(created)),
            "last_updated": opt_datetime(Some(updated)),
            "last_updated_by": self.last_updated_by.as_ref().map(|u| json!({
                "user_id": u.user_id,
                "given_name": u.given_name,
                "family_name": u.family_name,
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn changes(v: Value, mode: Mode) -> Result<NoteChanges, String> {
        serde_json::from_value::<NoteBody>(v)
            .map_err(|e| e.to_string())?
            .into_changes(mode)
    }

    #[test]
    fn create_needs_a_contact_and_a_title_or_body() {
        assert_eq!(
            changes(json!({"title": "t"}), Mode::Create),
            Err(CONTACT_REQUIRED.to_owned())
        );
        assert_eq!(
            changes(json!({"contact_id": 0, "title": "t"}), Mode::Create),
            Err(CONTACT_REQUIRED.to_owned())
        );
        let ch = changes(json!({"contact_id": 3, "title": " "}), Mode::Create).expect("valid");
        assert_eq!(NoteDoc::create(&ch, None), Err(TITLE_OR_BODY.to_owned()));
        let ch = changes(
            json!({"contact_id": "3", "body": "b", "type": "call"}),
            Mode::Create,
        )
        .expect("valid");
        let doc = NoteDoc::create(
            &ch,
            Some(UserRef {
                user_id: 1,
                given_name: "Ada".into(),
                family_name: "L".into(),
            }),
        )
        .expect("valid");
        let t = datetime!(2024-11-07 20:35:13 UTC);
        assert_eq!(
            doc.render(9, t, t),
            json!({"id": 9, "contact_id": 3, "user_id": null, "title": null, "body": "b",
                   "type": "Call", "date_created": "2024-11-07T20:35:13.000+0000",
                   "last_updated": "2024-11-07T20:35:13.000+0000",
                   "last_updated_by": {"user_id": 1, "given_name": "Ada", "family_name": "L"}})
        );
        assert_eq!(doc.keys().int[CONTACT_KEY], Some(3));
    }

    #[test]
    fn bad_type_is_refused() {
        assert!(
            changes(
                json!({"contact_id": 1, "title": "t", "type": "Meeting"}),
                Mode::Create
            )
            .is_err()
        );
        assert!(
            changes(
                json!({"contact_id": 1, "title": "t", "type": 5}),
                Mode::Create
            )
            .is_err()
        );
    }

    #[test]
    fn replace_clears_and_patch_keeps() {
        let mut doc = NoteDoc::create(
            &changes(
                json!({"contact_id": 1, "title": "t", "body": "b", "type": "Fax"}),
                Mode::Create,
            )
            .expect("valid"),
            None,
        )
        .expect("valid");
        let mut patched = doc.clone();
        patched
            .update(
                &changes(json!({"body": "new"}), Mode::Patch).expect("valid"),
                None,
            )
            .expect("valid");
        assert_eq!(patched.title.as_deref(), Some("t"));
        assert_eq!(patched.body.as_deref(), Some("new"));
        assert_eq!(patched.kind, Some(NoteType::Fax));
        assert!(changes(json!({"body": "x"}), Mode::Replace).is_err());
        doc.update(
            &changes(json!({"contact_id": 2, "body": "only"}), Mode::Replace).expect("valid"),
            None,
        )
        .expect("valid");
        assert_eq!(
            (doc.contact_id, doc.title.clone(), doc.kind),
            (2, None, None)
        );
        // A patch cannot leave the note empty, nor detach it from its contact.
        assert!(
            doc.clone()
                .update(
                    &changes(json!({"body": null}), Mode::Patch).expect("valid"),
                    None
                )
                .is_err()
        );
        assert!(changes(json!({"contact_id": null}), Mode::Patch).is_err());
    }
}
