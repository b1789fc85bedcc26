//! E-mail records, sending, and opt-in/out (`keap/rest-v1.md` §9).

use futures_util::stream::BoxStream;
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;

use crate::client::Keap;
use crate::error::Result;
use crate::ids::{ContactId, EmailId};
use crate::model::{Email, EmailAddressStatus, EmailInput, EmailSyncResult, SendEmail};
use crate::page::{Page, stream_from};

/// The e-mails handler. From [`Keap::emails`].
#[derive(Debug, Clone)]
pub struct Emails {
    client: Keap,
}

impl Emails {
    pub(crate) fn new(client: Keap) -> Self {
        Emails { client }
    }

    /// `GET /emails`: records without their contents.
    pub fn list(&self) -> ListEmails {
        ListEmails {
            client: self.client.clone(),
            target: "rest/v1/emails".into(),
            contact: None,
            email: None,
            since: None,
            until: None,
            ordered: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /contacts/{id}/emails`: a contact's records (404 for an unknown contact).
    pub fn list_for_contact(&self, contact: impl Into<ContactId>) -> ListEmails {
        let mut l = self.list();
        l.target = format!("rest/v1/contacts/{}/emails", contact.into());
        l
    }

    /// `GET /emails/{id}`, with the contents.
    pub fn get(&self, id: impl Into<EmailId>) -> GetEmail {
        GetEmail {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `POST /emails` (201): records a message sent elsewhere.
    pub fn create(&self, email: EmailInput) -> CreateEmail {
        CreateEmail {
            client: self.client.clone(),
            target: "rest/v1/emails".into(),
            email,
        }
    }

    /// `POST /contacts/{id}/emails` (201): as [`create`](Self::create), on this contact.
    pub fn create_for_contact(
        &self,
        contact: impl Into<ContactId>,
        email: EmailInput,
    ) -> CreateEmail {
        CreateEmail {
            client: self.client.clone(),
            target: format!("rest/v1/contacts/{}/emails", contact.into()),
            email,
        }
    }

    /// `DELETE /emails/{id}` (204).
    pub fn delete(&self, id: impl Into<EmailId>) -> DeleteEmail {
        DeleteEmail {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `POST /emails/sync` (201): up to 1000 records at once; each stands alone.
    pub fn sync(&self, emails: Vec<EmailInput>) -> SyncEmails {
        SyncEmails {
            client: self.client.clone(),
            emails,
        }
    }

    /// `POST /emails/unsync`: deletes these records (unknown ids are ignored).
    pub fn unsync<I, E>(&self, ids: I) -> UnsyncEmails
    where
        I: IntoIterator<Item = E>,
        E: Into<EmailId>,
    {
        UnsyncEmails {
            client: self.client.clone(),
            ids: ids.into_iter().map(Into::into).collect(),
        }
    }

    /// `POST /emails/queue` (202, empty body): sends a message to contacts.
    pub fn send(&self, message: SendEmail) -> QueueEmail {
        QueueEmail {
            client: self.client.clone(),
            message,
        }
    }

    /// `PUT /emailAddresses/{email}` with `opted_in: true`: opts an address in.
    pub fn opt_in(&self, address: impl Into<String>, reason: impl Into<String>) -> SetOptIn {
        SetOptIn {
            client: self.client.clone(),
            address: address.into(),
            opted_in: true,
            reason: reason.into(),
        }
    }

    /// `PUT /emailAddresses/{email}` with `opted_in: false`: opts an address out.
    pub fn opt_out(&self, address: impl Into<String>, reason: impl Into<String>) -> SetOptIn {
        SetOptIn {
            client: self.client.clone(),
            address: address.into(),
            opted_in: false,
            reason: reason.into(),
        }
    }
}

/// `GET /emails` or `GET /contacts/{id}/emails`. From [`Emails::list`] and
/// [`Emails::list_for_contact`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListEmails {
    client: Keap,
    target: String,
    contact: Option<ContactId>,
    email: Option<String>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    ordered: Option<bool>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListEmails {
    /// Only records of this contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Only records sent to or from this address.
    pub fn email(mut self, address: impl Into<String>) -> Self {
        self.email = Some(address.into());
        self
    }

    /// Only records sent at or after this time.
    pub fn since_sent_date(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }

    /// Only records sent at or before this time (Keap needs `since_sent_date` with it).
    pub fn until_sent_date(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }

    /// Keap's `ordered` flag.
    pub fn ordered(mut self, v: bool) -> Self {
        self.ordered = Some(v);
        self
    }

    /// Page size.
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
    /// [`Error::Validation`](crate::Error::Validation) for a rejected parameter,
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown contact (per-contact list),
    /// or any request error.
    pub async fn send(self) -> Result<Page<Email>> {
        let fmt = |t: OffsetDateTime| crate::date::format_datetime(t);
        let resp = self
            .client
            .request(Method::GET, self.target)
            .query_opt("contact_id", self.contact)
            .query_opt("email", self.email)
            .query_opt("since_sent_date", self.since.map(fmt))
            .query_opt("until_sent_date", self.until.map(fmt))
            .query_opt("ordered", self.ordered)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "emails", resp)
    }

    /// Every matching record, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<Email>> {
        stream_from(self.send())
    }
}

/// `GET /emails/{id}`. From [`Emails::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetEmail {
    client: Keap,
    id: EmailId,
}

impl GetEmail {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), or any request error.
    pub async fn send(self) -> Result<Email> {
        self.client
            .request(Method::GET, format!("rest/v1/emails/{}", self.id))
            .send_json()
            .await
    }
}

/// `POST /emails`. From [`Emails::create`] and [`Emails::create_for_contact`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateEmail {
    client: Keap,
    target: String,
    email: EmailInput,
}

impl CreateEmail {
    /// Sends the request; returns the stored record with its contents.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) with Keap's message, or any request
    /// error.
    pub async fn send(self) -> Result<Email> {
        self.client
            .request(Method::POST, self.target)
            .json(&self.email)
            .send_json()
            .await
    }
}

/// `DELETE /emails/{id}`. From [`Emails::delete`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct DeleteEmail {
    client: Keap,
    id: EmailId,
}

impl DeleteEmail {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), or any request error.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, format!("rest/v1/emails/{}", self.id))
            .send_empty()
            .await
    }
}

/// `POST /emails/sync`. From [`Emails::sync`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct SyncEmails {
    client: Keap,
    emails: Vec<EmailInput>,
}

impl SyncEmails {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) (more than 1000 records), or any
    /// request error. Refused records are in [`EmailSyncResult::errors`], not errors.
    pub async fn send(self) -> Result<EmailSyncResult> {
        self.client
            .request(Method::POST, "rest/v1/emails/sync")
            .json(&json!({ "emails": self.emails }))
            .send_json()
            .await
    }
}

/// `POST /emails/unsync`. From [`Emails::unsync`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UnsyncEmails {
    client: Keap,
    ids: Vec<EmailId>,
}

impl UnsyncEmails {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::POST, "rest/v1/emails/unsync")
            .json(&json!({ "ids": self.ids }))
            .send_empty()
            .await
    }
}

/// `POST /emails/queue`. From [`Emails::send`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct QueueEmail {
    client: Keap,
    message: SendEmail,
}

impl QueueEmail {
    /// Sends the request; success means the message is queued (202).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) (unknown contact or user, no content),
    /// or any request error.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::POST, "rest/v1/emails/queue")
            .json(&self.message)
            .send_empty()
            .await
    }
}

/// `PUT /emailAddresses/{email}`. From [`Emails::opt_in`] and [`Emails::opt_out`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct SetOptIn {
    client: Keap,
    address: String,
    opted_in: bool,
    reason: String,
}

impl SetOptIn {
    /// Sends the request; returns the address's status afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an address no contact has, or any
    /// request error.
    pub async fn send(self) -> Result<EmailAddressStatus> {
        self.client
            .request(
                Method::PUT,
                format!(
                    "rest/v1/emailAddresses/{}",
                    super::path_segment(&self.address)
                ),
            )
            .json(&json!({"opted_in": self.opted_in, "reason": self.reason}))
            .send_json()
            .await
    }
}
