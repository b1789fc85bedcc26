//! Tasks (`keap/rest-v1.md` §5): the stored document ([`TaskDoc`]), what a client may send
//! ([`TaskBody`] → [`TaskChanges`]) for create, `PUT` and `PATCH`, completion, the keys, the
//! `sync_token`, and the v1 shape.
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `n0` | contact id | `contact_id=`; deleting a contact can find its tasks |
//! | `n1` | user id | `user_id=`, `/tasks/search` for the caller |
//! | `n2` | due date, epoch milliseconds | `order=due_date` |
//! | `k0` | `"1"` with a due date, else `"0"` | `has_due_date=` |
//! | `k1` | `"1"` when completed, else `"0"` | `completed=` |
//! | `k2` | title, folded | `order=title` |

use super::{
    ContactSummary, LenientBool, MAX_BODY, MAX_NAME, MAX_TEXT, Mode, RefItem, datetime, id_field,
    int32, opt_datetime, opt_str, ref_field, text,
};
use crate::clock::{from_millis, to_millis};
use crate::crm::{Field, LenientI64, date, fold};
use crate::records::{Column, Keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Integer key of the user id.
pub const USER_KEY: usize = 1;
/// Integer key of the due date (epoch milliseconds).
pub const DUE_KEY: usize = 2;
/// Text key: `"1"` when the task has a due date.
pub const HAS_DUE_KEY: usize = 0;
/// Text key: `"1"` when the task is completed.
pub const COMPLETED_KEY: usize = 1;
/// Text key of the folded title.
pub const TITLE_KEY: usize = 2;

/// The reminder offsets Keap accepts, in minutes (`remind_time`).
pub const REMIND_TIMES: &[i64] = &[5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880];

/// The 400 message for a task without a title.
pub const TITLE_REQUIRED: &str = "title is required";
/// The 400 message for a create or replace without a due date.
pub const DUE_DATE_REQUIRED: &str = "due_date is required";

/// A task as stored (the `data` of a [`crate::records::RecordKind::Task`] record). The id and
/// the creation and modification times live on the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskDoc {
    /// Title (never empty).
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-text type (`Call`, `Email`, … from the application's settings).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Due date.
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub due_date: Option<OffsetDateTime>,
    /// Completed.
    pub completed: bool,
    /// When it was completed (only while completed).
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<OffsetDateTime>,
    /// Reminder, minutes before the due date (one of [`REMIND_TIMES`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_time: Option<i64>,
    /// Assigned user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<i64>,
    /// URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Campaign funnel id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funnel_id: Option<i64>,
    /// Campaign graph id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jgraph_id: Option<i64>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A task body (`Task`), as sent. Unknown and read-only fields (`id`, `creation_date`,
/// `modification_date`, the contact's names, …) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §5)"
)]
pub struct TaskBody {
    pub title: Field<String>,
    pub description: Field<String>,
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub priority: Field<LenientI64>,
    pub due_date: Field<String>,
    pub completed: Field<LenientBool>,
    pub completion_date: Field<String>,
    pub remind_time: Field<LenientI64>,
    pub user_id: Field<LenientI64>,
    pub contact: Field<RefItem>,
    pub url: Field<String>,
    pub funnel_id: Field<LenientI64>,
    pub jgraph_id: Field<LenientI64>,
}

/// A validated change to a task.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §5)"
)]
pub struct TaskChanges {
    pub title: Field<String>,
    pub description: Field<String>,
    pub kind: Field<String>,
    pub priority: Field<i64>,
    pub due_date: Field<OffsetDateTime>,
    pub completed: Field<bool>,
    pub completion_date: Field<OffsetDateTime>,
    pub remind_time: Field<i64>,
    pub user_id: Field<i64>,
    pub contact_id: Field<i64>,
    pub url: Field<String>,
    pub funnel_id: Field<i64>,
    pub jgraph_id: Field<i64>,
}

impl TaskBody {
    /// Validates the body for `mode`: create and replace need `title` and `due_date`
    /// (`keap/rest-v1.md` §5); fields not sent are cleared on replace.
    ///
    /// # Errors
    /// A message for the first invalid field (400).
    pub fn into_changes(self, mode: Mode) -> Result<TaskChanges, String> {
        let b = self;
        let title = mode.absent(text(b.title, "title", MAX_NAME)?);
        if title == Field::Null {
            return Err(TITLE_REQUIRED.to_owned());
        }
        let due_date = mode.absent(datetime(b.due_date, "due_date")?);
        if mode != Mode::Patch && due_date == Field::Null {
            return Err(DUE_DATE_REQUIRED.to_owned());
        }
        let remind_time = match int32(b.remind_time, "remind_time")? {
            Field::Set(0) => Field::Null,
            Field::Set(m) if !REMIND_TIMES.contains(&m) => {
                let all: Vec<String> = REMIND_TIMES.iter().map(i64::to_string).collect();
                return Err(format!("remind_time must be one of {}", all.join(", ")));
            }
            f => f,
        };
        Ok(TaskChanges {
            title,
            description: mode.absent(text(b.description, "description", MAX_BODY)?),
            kind: mode.absent(text(b.kind, "type", MAX_NAME)?),
            priority: mode.absent(int32(b.priority, "priority")?),
            due_date,
            completed: mode.absent(match b.completed {
                Field::Absent => Field::Absent,
                Field::Null => Field::Null,
                Field::Set(LenientBool(c)) => Field::Set(c),
            }),
            completion_date: mode.absent(datetime(b.completion_date, "completion_date")?),
            remind_time: mode.absent(remind_time),
            user_id: mode.absent(id_field(b.user_id)),
            contact_id: mode.absent(ref_field(b.contact)),
            url: mode.absent(text(b.url, "url", MAX_TEXT)?),
            funnel_id: mode.absent(id_field(b.funnel_id)),
            jgraph_id: mode.absent(id_field(b.jgraph_id)),
        })
    }
}

impl TaskChanges {
    /// The contact the change points the task at, if any.
    pub fn contact(&self) -> Option<i64> {
        self.contact_id.value().copied()
    }

    /// The user the change assigns, if any.
    pub fn user(&self) -> Option<i64> {
        self.user_id.value().copied()
    }
}

impl TaskDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a task (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored task is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// A new task.
    ///
    /// # Errors
    /// [`TITLE_REQUIRED`].
    pub fn create(changes: &TaskChanges, now: OffsetDateTime) -> Result<Self, String> {
        let mut doc = TaskDoc::default();
        doc.update(changes, now)?;
        Ok(doc)
    }

    /// Applies a change and checks the result. Completing a task stamps `completion_date`
    /// (`now` unless one was sent); reopening it clears the date.
    ///
    /// # Errors
    /// [`TITLE_REQUIRED`]; the document must then be discarded.
    pub fn update(&mut self, ch: &TaskChanges, now: OffsetDateTime) -> Result<(), String> {
        let mut title = (!self.title.is_empty()).then(|| self.title.clone());
        ch.title.apply_to(&mut title);
        self.title = title.unwrap_or_default();
        ch.description.apply_to(&mut self.description);
        ch.kind.apply_to(&mut self.kind);
        ch.priority.apply_to(&mut self.priority);
        ch.due_date.apply_to(&mut self.due_date);
        let was_completed = self.completed;
        match ch.completed {
            Field::Absent => {}
            Field::Null => self.completed = false,
            Field::Set(c) => self.completed = c,
        }
        ch.completion_date.apply_to(&mut self.completion_date);
        if !self.completed {
            self.completion_date = None;
        } else if self.completion_date.is_none()
            || (!was_completed && !ch.completion_date.is_present())
        {
            self.completion_date = Some(now);
        }
        ch.remind_time.apply_to(&mut self.remind_time);
        ch.user_id.apply_to(&mut self.user_id);
        ch.contact_id.apply_to(&mut self.contact_id);
        ch.url.apply_to(&mut self.url);
        ch.funnel_id.apply_to(&mut self.funnel_id);
        ch.jgraph_id.apply_to(&mut self.jgraph_id);
        if self.title.is_empty() {
            return Err(TITLE_REQUIRED.to_owned());
        }
        Ok(())
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let flag = |b: bool| Some(if b { "1" } else { "0" }.to_owned());
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = self.contact_id;
        keys.int[USER_KEY] = self.user_id;
        keys.int[DUE_KEY] = self.due_date.map(to_millis);
        keys.text[HAS_DUE_KEY] = flag(self.due_date.is_some());
        keys.text[COMPLETED_KEY] = flag(self.completed);
        keys.text[TITLE_KEY] = Some(fold(self.title.trim()));
        keys
    }

    /// The v1 JSON (`Task` plus `id`); every field present, `null` when empty. `contact` is
    /// the summary of the task's contact when it still exists in the account, else only its id.
    pub fn render(
        &self,
        id: i64,
        created: OffsetDateTime,
        updated: OffsetDateTime,
        contact: Option<&ContactSummary>,
    ) -> Value {
        let contact = self.contact_id.map(|cid| match contact {
            Some(c) if c.id == cid => json!({
                "id": c.id,
                "email": c.email,
                "first_name": c.first_name,
                "last_name": c.last_name,
            }),
            _ => json!({"id": cid, "email": null, "first_name": null, "last_name": null}),
        });
        json!({
            "id": id,
            "title": self.title,
            "description": opt_str(self.description.as_deref()),
            "type": opt_str(self.kind.as_deref()),
            "priority": self.priority,
            "due_date": opt_datetime(self.due_date),
            "completed": self.completed,
            "completion_date": opt_datetime(self.completion_date),
            "creation_date": opt_datetime(Some(created)),
            "modification_date": opt_datetime(Some(updated)),
            "remind_time": self.remind_time,
            "user_id": self.user_id,
            "contact": contact,
            "url": opt_str(self.url.as_deref()),
            "funnel_id": self.funnel_id,
            "jgraph_id": self.jgraph_id,
        })
    }
}

/// The `order` values of `GET /tasks` (ASCII case and underscores ignored, so `due_date`,
/// `dueDate` and `DUE_DATE` are one value). Keap's spec names no values; these are the
/// task's sortable fields.
pub fn order_column(order: &str) -> Option<Column> {
    let norm: String = order
        .trim()
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Some(match norm.as_str() {
        "id" => Column::Id,
        "duedate" => Column::Int(DUE_KEY),
        "creationdate" | "datecreated" => Column::CreatedAt,
        "modificationdate" | "lastupdated" => Column::UpdatedAt,
        "title" => Column::Text(TITLE_KEY),
        _ => return None,
    })
}

/// The accepted `order` values, for the 400 message.
pub const ORDER_VALUES: &str = "id, due_date, creation_date, modification_date, title";

/// The `sync_token` of a task list: the time of the listing, opaque to clients. Sent back as
/// `sync_token=`, it lists the tasks modified since then (keapsake's reading of Keap's
/// undocumented token; deletions are not reported).
pub fn sync_token(now: OffsetDateTime) -> String {
    format!("t{}", to_millis(now))
}

/// Reads a [`sync_token`]; `None` for anything keapsake did not issue.
pub fn parse_sync_token(token: &str) -> Option<OffsetDateTime> {
    let ms = token.trim().strip_prefix('t')?;
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ms.parse::<i64>().ok().map(from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-11-07 20:35:13 UTC);

    fn changes(v: Value, mode: Mode) -> Result<TaskChanges, String> {
        serde_json::from_value::<TaskBody>(v)
            .map_err(|e| e.to_string())?
            .into_changes(mode)
    }

    #[test]
    fn create_needs_title_and_due_date() {
        assert_eq!(
            changes(json!({"due_date": "2024-12-01T10:00:00Z"}), Mode::Create),
            Err(TITLE_REQUIRED.to_owned())
        );
        assert_eq!(
            changes(json!({"title": "Call"}), Mode::Create),
            Err(DUE_DATE_REQUIRED.to_owned())
        );
        assert!(
            changes(
                json!({"title": "Call", "due_date": "tomorrow"}),
                Mode::Create
            )
            .is_err()
        );
        assert!(
            changes(
                json!({"title": "Call", "due_date": "2024-12-01", "remind_time": 7}),
                Mode::Create
            )
            .is_err()
        );
        assert!(
            changes(
                json!({"title": "Call", "due_date": "2024-12-01", "priority": 1u64 << 40}),
                Mode::Create
            )
            .is_err()
        );
        assert!(
            changes(
                json!({"title": "Call", "due_date": "2024-12-01", "completed": "maybe"}),
                Mode::Create
            )
            .is_err()
        );
    }

    #[test]
    fn renders_with_the_contact_summary() {
        let ch = changes(
            json!({"title": "Call Ada", "due_date": "2024-12-01T10:00:00Z", "contact": {"id": 5, "email": "ignored"},
                   "remind_time": 15, "priority": 1, "creation_date": "ignored"}),
            Mode::Create,
        )
        .expect("valid");
        let doc = TaskDoc::create(&ch, NOW).expect("valid");
        let c = ContactSummary {
            id: 5,
            email: Some("ada@example.com".into()),
            first_name: Some("Ada".into()),
            ..ContactSummary::default()
        };
        let v = doc.render(3, NOW, NOW, Some(&c));
        assert_eq!(v["id"], 3);
        assert_eq!(v["due_date"], "2024-12-01T10:00:00.000+0000");
        assert_eq!(v["completed"], false);
        assert_eq!(v["completion_date"], Value::Null);
        assert_eq!(
            v["contact"],
            json!({"id": 5, "email": "ada@example.com", "first_name": "Ada", "last_name": null})
        );
        assert_eq!(
            doc.render(3, NOW, NOW, None)["contact"]["email"],
            Value::Null
        );
        let k = doc.keys();
        assert_eq!(k.int[CONTACT_KEY], Some(5));
        assert_eq!(k.text[HAS_DUE_KEY].as_deref(), Some("1"));
        assert_eq!(k.text[COMPLETED_KEY].as_deref(), Some("0"));
    }

    #[test]
    fn completing_stamps_and_reopening_clears() {
        let mut doc = TaskDoc::create(
            &changes(
                json!({"title": "t", "due_date": "2024-12-01"}),
                Mode::Create,
            )
            .expect("valid"),
            NOW,
        )
        .expect("valid");
        let later = datetime!(2024-11-08 09:00 UTC);
        doc.update(
            &changes(json!({"completed": true}), Mode::Patch).expect("valid"),
            later,
        )
        .expect("valid");
        assert_eq!(doc.completion_date, Some(later));
        // Saving the task back (PHP SDK) keeps the original completion date.
        doc.update(
            &changes(
                json!({"completed": true, "completion_date": "2024-11-08T09:00:00.000+0000"}),
                Mode::Patch,
            )
            .expect("valid"),
            datetime!(2024-11-09 09:00 UTC),
        )
        .expect("valid");
        assert_eq!(doc.completion_date, Some(later));
        doc.update(
            &changes(json!({"completed": "false"}), Mode::Patch).expect("valid"),
            later,
        )
        .expect("valid");
        assert_eq!((doc.completed, doc.completion_date), (false, None));
        assert_eq!(
            changes(json!({"title": ""}), Mode::Patch),
            Err(TITLE_REQUIRED.to_owned())
        );
    }

    #[test]
    fn replace_clears_what_was_not_sent() {
        let mut doc = TaskDoc::create(
            &changes(
                json!({"title": "t", "due_date": "2024-12-01", "description": "d", "priority": 2}),
                Mode::Create,
            )
            .expect("valid"),
            NOW,
        )
        .expect("valid");
        doc.update(
            &changes(
                json!({"title": "u", "due_date": "2024-12-02"}),
                Mode::Replace,
            )
            .expect("valid"),
            NOW,
        )
        .expect("valid");
        assert_eq!((doc.description.clone(), doc.priority), (None, None));
        assert_eq!(doc.title, "u");
    }

    #[test]
    fn orders_and_sync_tokens() {
        assert_eq!(order_column("dueDate"), Some(Column::Int(DUE_KEY)));
        assert_eq!(order_column("DUE_DATE"), Some(Column::Int(DUE_KEY)));
        assert_eq!(order_column("bogus"), None);
        let t = sync_token(NOW);
        assert_eq!(parse_sync_token(&t), Some(NOW));
        assert_eq!(parse_sync_token("x1"), None);
        assert_eq!(parse_sync_token("t"), None);
        assert_eq!(parse_sync_token("t99999999999999999999999"), None);
    }
}
