//! Tasks (`keap/rest-v1.md` §5).

use futures_util::stream::BoxStream;
use reqwest::Method;
use time::OffsetDateTime;

use crate::client::Keap;
use crate::date::format_datetime;
use crate::error::Result;
use crate::ids::{ContactId, TaskId, UserId};
use crate::model::{ObjectModel, Task, TaskInput};
use crate::page::{Page, stream_from};
use crate::resources::OrderDirection;

/// The tasks handler. From [`Keap::tasks`].
#[derive(Debug, Clone)]
pub struct Tasks {
    client: Keap,
}

fn path(id: TaskId) -> String {
    format!("rest/v1/tasks/{id}")
}

impl Tasks {
    pub(crate) fn new(client: Keap) -> Self {
        Tasks { client }
    }

    fn list_at(&self, search: bool) -> ListTasks {
        ListTasks {
            client: self.client.clone(),
            search,
            completed: None,
            has_due_date: None,
            contact: None,
            user: None,
            since: None,
            until: None,
            sync_token: None,
            order: None,
            order_direction: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /tasks`: every task of the account, filtered.
    pub fn list(&self) -> ListTasks {
        self.list_at(false)
    }

    /// `GET /tasks/search`: the same filters, but without [`ListTasks::user`] Keap lists the
    /// tasks of the user the credential acts as (the PHP SDK lists through this path).
    pub fn search(&self) -> ListTasks {
        self.list_at(true)
    }

    /// `GET /tasks/{id}`.
    pub fn get(&self, id: impl Into<TaskId>) -> GetTask {
        GetTask {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `POST /tasks` (Keap answers **200**, not 201): `title` and `due_date` are required.
    pub fn create(&self, task: TaskInput) -> CreateTask {
        CreateTask {
            client: self.client.clone(),
            task,
        }
    }

    /// `PUT /tasks/{id}`: replaces the task (`title` and `due_date` required); fields not set
    /// in `task` are cleared.
    pub fn replace(&self, id: impl Into<TaskId>, task: TaskInput) -> ReplaceTask {
        ReplaceTask {
            client: self.client.clone(),
            id: id.into(),
            task,
        }
    }

    /// `PATCH /tasks/{id}`: changes only the fields set in `changes`.
    pub fn update(&self, id: impl Into<TaskId>, changes: TaskInput) -> UpdateTask {
        UpdateTask {
            client: self.client.clone(),
            id: id.into(),
            changes,
        }
    }

    /// `DELETE /tasks/{id}` (Keap answers 204).
    pub fn delete(&self, id: impl Into<TaskId>) -> DeleteTask {
        DeleteTask {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `GET /tasks/model`: the task/note/appointment custom fields.
    pub fn model(&self) -> GetTaskModel {
        GetTaskModel {
            client: self.client.clone(),
        }
    }
}

/// Sort key for [`ListTasks::order`]. Keap's spec names no values; these are the ones
/// keapsake accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOrder {
    /// `id`.
    Id,
    /// `due_date` (tasks without one first, ascending).
    DueDate,
    /// `creation_date`.
    CreationDate,
    /// `modification_date`.
    ModificationDate,
    /// `title`.
    Title,
}

impl TaskOrder {
    fn as_str(self) -> &'static str {
        match self {
            TaskOrder::Id => "id",
            TaskOrder::DueDate => "due_date",
            TaskOrder::CreationDate => "creation_date",
            TaskOrder::ModificationDate => "modification_date",
            TaskOrder::Title => "title",
        }
    }
}

/// `GET /tasks` and `GET /tasks/search`. From [`Tasks::list`] and [`Tasks::search`].
///
/// Each page carries a [`Page::sync_token`]; pass it back with [`sync_token`](Self::sync_token)
/// to list only what changed since.
///
/// ```no_run
/// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
/// let page = client.tasks().list().completed(false).contact(22).send().await?;
/// let token = page.sync_token().map(str::to_owned);
/// // ... later:
/// if let Some(token) = token {
///     let changed = client.tasks().list().sync_token(token).send().await?;
///     println!("{} changed", changed.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListTasks {
    client: Keap,
    search: bool,
    completed: Option<bool>,
    has_due_date: Option<bool>,
    contact: Option<ContactId>,
    user: Option<UserId>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    sync_token: Option<String>,
    order: Option<TaskOrder>,
    order_direction: Option<OrderDirection>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListTasks {
    /// Only completed (`true`) or open (`false`) tasks.
    pub fn completed(mut self, v: bool) -> Self {
        self.completed = Some(v);
        self
    }

    /// Only tasks with (`true`) or without (`false`) a due date.
    pub fn has_due_date(mut self, v: bool) -> Self {
        self.has_due_date = Some(v);
        self
    }

    /// Only tasks of this contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Only tasks assigned to this user.
    pub fn user(mut self, id: impl Into<UserId>) -> Self {
        self.user = Some(id.into());
        self
    }

    /// Only tasks modified at or after this time.
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }

    /// Only tasks modified at or before this time.
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }

    /// Only tasks changed since the list that returned this token ([`Page::sync_token`]).
    pub fn sync_token(mut self, token: impl Into<String>) -> Self {
        self.sync_token = Some(token.into());
        self
    }

    /// Sort key.
    pub fn order(mut self, o: TaskOrder) -> Self {
        self.order = Some(o);
        self
    }

    /// Sort direction.
    pub fn order_direction(mut self, d: OrderDirection) -> Self {
        self.order_direction = Some(d);
        self
    }

    /// Page size (Keap: default and maximum 1000).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Items to skip.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Fetches the first page (with its [`sync_token`](Page::sync_token)).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) for a rejected parameter (e.g. a
    /// `sync_token` the server did not issue), or any request error.
    pub async fn send(self) -> Result<Page<Task>> {
        let target = if self.search {
            "rest/v1/tasks/search"
        } else {
            "rest/v1/tasks"
        };
        let resp = self
            .client
            .request(Method::GET, target)
            .query_opt("completed", self.completed)
            .query_opt("has_due_date", self.has_due_date)
            .query_opt("contact_id", self.contact)
            .query_opt("user_id", self.user)
            .query_opt("since", self.since.map(format_datetime))
            .query_opt("until", self.until.map(format_datetime))
            .query_opt("sync_token", self.sync_token)
            .query_opt("order", self.order.map(TaskOrder::as_str))
            .query_opt(
                "order_direction",
                self.order_direction.map(OrderDirection::as_str),
            )
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "tasks", resp)
    }

    /// Every matching task, page after page, fetched as the stream is read.
    pub fn stream(self) -> BoxStream<'static, Result<Task>> {
        stream_from(self.send())
    }
}

/// `GET /tasks/{id}`. From [`Tasks::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetTask {
    client: Keap,
    id: TaskId,
}

impl GetTask {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such task in this account.
    pub async fn send(self) -> Result<Task> {
        self.client
            .request(Method::GET, path(self.id))
            .send_json()
            .await
    }
}

/// `POST /tasks`. From [`Tasks::create`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateTask {
    client: Keap,
    task: TaskInput,
}

impl CreateTask {
    /// Sends the request; returns the created task.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) with Keap's message (no title, no due
    /// date, an unknown contact or user, a bad `remind_time`), or any request error.
    pub async fn send(self) -> Result<Task> {
        self.client
            .request(Method::POST, "rest/v1/tasks")
            .json(&self.task)
            .send_json()
            .await
    }
}

/// `PUT /tasks/{id}`. From [`Tasks::replace`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ReplaceTask {
    client: Keap,
    id: TaskId,
    task: TaskInput,
}

impl ReplaceTask {
    /// Sends the request; returns the task as stored.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), [`Error::Validation`](crate::Error::Validation),
    /// or any request error.
    pub async fn send(self) -> Result<Task> {
        self.client
            .request(Method::PUT, path(self.id))
            .json(&self.task)
            .send_json()
            .await
    }
}

/// `PATCH /tasks/{id}`. From [`Tasks::update`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UpdateTask {
    client: Keap,
    id: TaskId,
    changes: TaskInput,
}

impl UpdateTask {
    /// Sends the request; returns the task as stored.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), [`Error::Validation`](crate::Error::Validation),
    /// or any request error.
    pub async fn send(self) -> Result<Task> {
        self.client
            .request(Method::PATCH, path(self.id))
            .json(&self.changes)
            .send_json()
            .await
    }
}

/// `DELETE /tasks/{id}`. From [`Tasks::delete`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct DeleteTask {
    client: Keap,
    id: TaskId,
}

impl DeleteTask {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such task.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, path(self.id))
            .send_empty()
            .await
    }
}

/// `GET /tasks/model`. From [`Tasks::model`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetTaskModel {
    client: Keap,
}

impl GetTaskModel {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<ObjectModel> {
        self.client
            .request(Method::GET, "rest/v1/tasks/model")
            .send_json()
            .await
    }
}
