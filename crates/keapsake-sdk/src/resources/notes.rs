//! Notes (`keap/rest-v1.md` §4).

use futures_util::stream::BoxStream;
use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::ids::{ContactId, NoteId, UserId};
use crate::model::{Note, NoteInput, ObjectModel};
use crate::page::{Page, stream_from};

/// The notes handler. From [`Keap::notes`].
#[derive(Debug, Clone)]
pub struct Notes {
    client: Keap,
}

fn path(id: NoteId) -> String {
    format!("rest/v1/notes/{id}")
}

impl Notes {
    pub(crate) fn new(client: Keap) -> Self {
        Notes { client }
    }

    /// `GET /notes`: list, by contact and user.
    pub fn list(&self) -> ListNotes {
        ListNotes {
            client: self.client.clone(),
            contact: None,
            user: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /notes/{id}`.
    pub fn get(&self, id: impl Into<NoteId>) -> GetNote {
        GetNote {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `POST /notes` (Keap answers 201): `contact_id` and a title or body are required.
    pub fn create(&self, note: NoteInput) -> CreateNote {
        CreateNote {
            client: self.client.clone(),
            note,
        }
    }

    /// `PUT /notes/{id}`: replaces the note; fields not set in `note` are cleared.
    pub fn replace(&self, id: impl Into<NoteId>, note: NoteInput) -> ReplaceNote {
        ReplaceNote {
            client: self.client.clone(),
            id: id.into(),
            note,
        }
    }

    /// `PATCH /notes/{id}`: changes only the fields set in `changes`.
    pub fn update(&self, id: impl Into<NoteId>, changes: NoteInput) -> UpdateNote {
        UpdateNote {
            client: self.client.clone(),
            id: id.into(),
            changes,
        }
    }

    /// `DELETE /notes/{id}` (Keap answers 204).
    pub fn delete(&self, id: impl Into<NoteId>) -> DeleteNote {
        DeleteNote {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `GET /notes/model`: the task/note/appointment custom fields.
    pub fn model(&self) -> GetNoteModel {
        GetNoteModel {
            client: self.client.clone(),
        }
    }
}

/// `GET /notes`. From [`Notes::list`].
///
/// ```no_run
/// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
/// let page = client.notes().list().contact(22).send().await?;
/// for n in page.items() {
///     println!("{} {:?}", n.id, n.title);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListNotes {
    client: Keap,
    contact: Option<ContactId>,
    user: Option<UserId>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListNotes {
    /// Only notes on this contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Only notes of this user.
    pub fn user(mut self, id: impl Into<UserId>) -> Self {
        self.user = Some(id.into());
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

    /// Fetches the first page.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<Page<Note>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/notes")
            .query_opt("contact_id", self.contact)
            .query_opt("user_id", self.user)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "notes", resp)
    }

    /// Every matching note, page after page, fetched as the stream is read.
    pub fn stream(self) -> BoxStream<'static, Result<Note>> {
        stream_from(self.send())
    }
}

/// `GET /notes/{id}`. From [`Notes::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetNote {
    client: Keap,
    id: NoteId,
}

impl GetNote {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such note in this account.
    pub async fn send(self) -> Result<Note> {
        self.client
            .request(Method::GET, path(self.id))
            .send_json()
            .await
    }
}

/// `POST /notes`. From [`Notes::create`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateNote {
    client: Keap,
    note: NoteInput,
}

impl CreateNote {
    /// Sends the request; returns the created note.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) with Keap's message (no contact, no
    /// title or body, an unknown contact or user), or any request error.
    pub async fn send(self) -> Result<Note> {
        self.client
            .request(Method::POST, "rest/v1/notes")
            .json(&self.note)
            .send_json()
            .await
    }
}

/// `PUT /notes/{id}`. From [`Notes::replace`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ReplaceNote {
    client: Keap,
    id: NoteId,
    note: NoteInput,
}

impl ReplaceNote {
    /// Sends the request; returns the note as stored.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), [`Error::Validation`](crate::Error::Validation),
    /// or any request error.
    pub async fn send(self) -> Result<Note> {
        self.client
            .request(Method::PUT, path(self.id))
            .json(&self.note)
            .send_json()
            .await
    }
}

/// `PATCH /notes/{id}`. From [`Notes::update`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UpdateNote {
    client: Keap,
    id: NoteId,
    changes: NoteInput,
}

impl UpdateNote {
    /// Sends the request; returns the note as stored.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), [`Error::Validation`](crate::Error::Validation),
    /// or any request error.
    pub async fn send(self) -> Result<Note> {
        self.client
            .request(Method::PATCH, path(self.id))
            .json(&self.changes)
            .send_json()
            .await
    }
}

/// `DELETE /notes/{id}`. From [`Notes::delete`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct DeleteNote {
    client: Keap,
    id: NoteId,
}

impl DeleteNote {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such note.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, path(self.id))
            .send_empty()
            .await
    }
}

/// `GET /notes/model`. From [`Notes::model`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetNoteModel {
    client: Keap,
}

impl GetNoteModel {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<ObjectModel> {
        self.client
            .request(Method::GET, "rest/v1/notes/model")
            .send_json()
            .await
    }
}
