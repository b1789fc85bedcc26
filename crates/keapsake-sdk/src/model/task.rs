//! Tasks (`keap/rest-v1.md` §5).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::id_ref;
use crate::ids::{ContactId, TaskId, UserId};

/// The contact of a task (`BasicContact`; note `first_name`/`last_name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskContact {
    /// Contact id.
    pub id: ContactId,
    /// Primary e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
}

/// A task as Keap returns it (`keap/rest-v1.md` §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Task id.
    pub id: TaskId,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-text type (`Call`, `Email`… from the application's settings).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Due date.
    #[serde(default, with = "crate::date::option_datetime")]
    pub due_date: Option<OffsetDateTime>,
    /// Whether the task is done.
    #[serde(default)]
    pub completed: Option<bool>,
    /// When it was completed.
    #[serde(default, with = "crate::date::option_datetime")]
    pub completion_date: Option<OffsetDateTime>,
    /// Creation time.
    #[serde(default, with = "crate::date::option_datetime")]
    pub creation_date: Option<OffsetDateTime>,
    /// Last change.
    #[serde(default, with = "crate::date::option_datetime")]
    pub modification_date: Option<OffsetDateTime>,
    /// Reminder, minutes before the due date.
    #[serde(default)]
    pub remind_time: Option<i64>,
    /// Assigned user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The contact, with its current names and e-mail.
    #[serde(default)]
    pub contact: Option<TaskContact>,
    /// URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Campaign funnel id.
    #[serde(default)]
    pub funnel_id: Option<i64>,
    /// Campaign graph id.
    #[serde(default)]
    pub jgraph_id: Option<i64>,
}

impl Task {
    /// True when the task is done.
    pub fn is_completed(&self) -> bool {
        self.completed == Some(true)
    }
}

/// The writable fields of a task, for create (`title` and `due_date` required), replace
/// (`PUT`: the same two required, the rest cleared when not set) and update (`PATCH`: only
/// what is set changes). Without a `user_id`, create and replace assign the acting user.
///
/// ```
/// use keapsake_sdk::model::TaskInput;
/// let task = TaskInput::new()
///     .title("Call Ada")
///     .due_date(time::macros::datetime!(2024-12-01 10:00 UTC))
///     .contact(22)
///     .remind_time(15);
/// assert_eq!(
///     serde_json::to_value(&task).unwrap(),
///     serde_json::json!({"title": "Call Ada", "due_date": "2024-12-01T10:00:00.000Z",
///                        "remind_time": 15, "contact": {"id": 22}})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskInput {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-text type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Due date.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::date::option_datetime::serialize"
    )]
    pub due_date: Option<OffsetDateTime>,
    /// Done or not. Completing stamps `completion_date` unless one is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    /// When it was completed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::date::option_datetime::serialize"
    )]
    pub completion_date: Option<OffsetDateTime>,
    /// Reminder in minutes before the due date: 5, 10, 15, 30, 60, 120, 240, 480, 1440 or 2880.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_time: Option<i64>,
    /// Assigned user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Contact, sent as `{"id": …}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "id_ref")]
    pub contact: Option<ContactId>,
    /// URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Campaign funnel id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funnel_id: Option<i64>,
    /// Campaign graph id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jgraph_id: Option<i64>,
}

impl TaskInput {
    /// An empty input: nothing will be sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the title.
    pub fn title(mut self, v: impl Into<String>) -> Self {
        self.title = Some(v.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, v: impl Into<String>) -> Self {
        self.description = Some(v.into());
        self
    }

    /// Sets the type.
    pub fn kind(mut self, v: impl Into<String>) -> Self {
        self.kind = Some(v.into());
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, v: i64) -> Self {
        self.priority = Some(v);
        self
    }

    /// Sets the due date.
    pub fn due_date(mut self, t: OffsetDateTime) -> Self {
        self.due_date = Some(t);
        self
    }

    /// Marks the task done or not done.
    pub fn completed(mut self, v: bool) -> Self {
        self.completed = Some(v);
        self
    }

    /// Sets the completion time.
    pub fn completion_date(mut self, t: OffsetDateTime) -> Self {
        self.completion_date = Some(t);
        self
    }

    /// Sets the reminder, in minutes before the due date.
    pub fn remind_time(mut self, minutes: i64) -> Self {
        self.remind_time = Some(minutes);
        self
    }

    /// Assigns a user.
    pub fn user(mut self, id: impl Into<UserId>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Sets the contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Sets the URL.
    pub fn url(mut self, v: impl Into<String>) -> Self {
        self.url = Some(v.into());
        self
    }

    /// Sets the campaign funnel id.
    pub fn funnel_id(mut self, v: i64) -> Self {
        self.funnel_id = Some(v);
        self
    }

    /// Sets the campaign graph id.
    pub fn jgraph_id(mut self, v: i64) -> Self {
        self.jgraph_id = Some(v);
        self
    }
}
