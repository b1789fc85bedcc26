//! Contacts (`keap/rest-v1.md` §1), their tags and their credit cards on file.

use futures_util::stream::BoxStream;
use reqwest::Method;
use time::OffsetDateTime;

use crate::client::Keap;
use crate::date::format_datetime;
use crate::error::{Error, Result};
use crate::ids::{ContactId, TagId};
use crate::model::{
    AppliedTag, Contact, ContactCreditCard, ContactInput, ContactTagResults, CreditCardAdded,
    DuplicateOption, NewCreditCard,
};
use crate::page::{Page, stream_from};
use crate::resources::comma_list;

/// The contacts handler. From [`Keap::contacts`].
#[derive(Debug, Clone)]
pub struct Contacts {
    client: Keap,
}

fn path(id: ContactId) -> String {
    format!("rest/v1/contacts/{id}")
}

impl Contacts {
    pub(crate) fn new(client: Keap) -> Self {
        Contacts { client }
    }

    /// `GET /contacts`: list and search.
    pub fn list(&self) -> ListContacts {
        ListContacts {
            client: self.client.clone(),
            email: None,
            given_name: None,
            family_name: None,
            since: None,
            until: None,
            limit: None,
            offset: None,
            order: None,
            order_direction: None,
            optional_properties: Vec::new(),
        }
    }

    /// `GET /contacts/{id}`.
    pub fn get(&self, id: impl Into<ContactId>) -> GetContact {
        GetContact {
            client: self.client.clone(),
            id: id.into(),
            optional_properties: Vec::new(),
        }
    }

    /// `POST /contacts`: creates a contact (no duplicate check). Keap requires an e-mail
    /// address or a phone number.
    pub fn create(&self, contact: ContactInput) -> CreateContact {
        CreateContact {
            client: self.client.clone(),
            contact,
        }
    }

    /// `PATCH /contacts/{id}`: changes only the fields set in `changes`.
    pub fn update(&self, id: impl Into<ContactId>, changes: ContactInput) -> UpdateContact {
        UpdateContact {
            client: self.client.clone(),
            id: id.into(),
            changes,
            update_mask: Vec::new(),
        }
    }

    /// `PUT /contacts`: updates the contact matching by `duplicate_option`, or creates one.
    pub fn upsert(
        &self,
        contact: ContactInput,
        duplicate_option: DuplicateOption,
    ) -> UpsertContact {
        UpsertContact {
            client: self.client.clone(),
            contact,
            duplicate_option,
        }
    }

    /// `DELETE /contacts/{id}`.
    pub fn delete(&self, id: impl Into<ContactId>) -> DeleteContact {
        DeleteContact {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `GET /contacts/{id}/tags`: the tags applied to a contact.
    pub fn tags(&self, id: impl Into<ContactId>) -> ListContactTags {
        ListContactTags {
            client: self.client.clone(),
            id: id.into(),
            limit: None,
            offset: None,
        }
    }

    /// `POST /contacts/{id}/tags`: applies tags to one contact.
    pub fn apply_tags<I, T>(&self, id: impl Into<ContactId>, tag_ids: I) -> ApplyTagsToContact
    where
        I: IntoIterator<Item = T>,
        T: Into<TagId>,
    {
        ApplyTagsToContact {
            client: self.client.clone(),
            id: id.into(),
            tag_ids: tag_ids.into_iter().map(Into::into).collect(),
        }
    }

    /// `DELETE /contacts/{id}/tags?ids=…`: removes tags from one contact.
    pub fn remove_tags<I, T>(&self, id: impl Into<ContactId>, tag_ids: I) -> RemoveTagsFromContact
    where
        I: IntoIterator<Item = T>,
        T: Into<TagId>,
    {
        RemoveTagsFromContact {
            client: self.client.clone(),
            id: id.into(),
            tag_ids: tag_ids.into_iter().map(Into::into).collect(),
        }
    }

    /// `GET /contacts/{id}/creditCards`: the contact's cards on file, numbers masked (a bare
    /// array, oldest first).
    pub fn credit_cards(&self, id: impl Into<ContactId>) -> ListCreditCards {
        ListCreditCards {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `POST /contacts/{id}/creditCards` (201): puts a card on file. Charge it with
    /// [`NewPayment::charge_card`](crate::model::NewPayment::charge_card).
    pub fn add_credit_card(&self, id: impl Into<ContactId>, card: NewCreditCard) -> AddCreditCard {
        AddCreditCard {
            client: self.client.clone(),
            id: id.into(),
            card,
        }
    }
}

/// Sort key for [`ListContacts::order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactOrder {
    /// `id`.
    Id,
    /// `date_created`.
    DateCreated,
    /// `last_updated`.
    LastUpdated,
    /// `name` (family, then given).
    Name,
    /// `firstName`.
    FirstName,
    /// `email`.
    Email,
}

impl ContactOrder {
    fn as_str(self) -> &'static str {
        match self {
            ContactOrder::Id => "id",
            ContactOrder::DateCreated => "date_created",
            ContactOrder::LastUpdated => "last_updated",
            ContactOrder::Name => "name",
            ContactOrder::FirstName => "firstName",
            ContactOrder::Email => "email",
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// `ASCENDING`.
    Ascending,
    /// `DESCENDING`.
    Descending,
}

impl OrderDirection {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderDirection::Ascending => "ASCENDING",
            OrderDirection::Descending => "DESCENDING",
        }
    }
}

/// `GET /contacts`. From [`Contacts::list`].
///
/// ```no_run
/// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
/// let page = client.contacts().list().email("a@b.c").limit(50).send().await?;
/// for c in page.items() {
///     println!("{} {:?}", c.id, c.given_name);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListContacts {
    client: Keap,
    email: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    limit: Option<u32>,
    offset: Option<u64>,
    order: Option<ContactOrder>,
    order_direction: Option<OrderDirection>,
    optional_properties: Vec<String>,
}

impl ListContacts {
    /// Exact e-mail match (any of EMAIL1–3, case-insensitive).
    pub fn email(mut self, v: impl Into<String>) -> Self {
        self.email = Some(v.into());
        self
    }

    /// Exact first-name match.
    pub fn given_name(mut self, v: impl Into<String>) -> Self {
        self.given_name = Some(v.into());
        self
    }

    /// Exact last-name match.
    pub fn family_name(mut self, v: impl Into<String>) -> Self {
        self.family_name = Some(v.into());
        self
    }

    /// Only contacts last updated at or after this time.
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }

    /// Only contacts last updated at or before this time.
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
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

    /// Sort key.
    pub fn order(mut self, o: ContactOrder) -> Self {
        self.order = Some(o);
        self
    }

    /// Sort direction.
    pub fn order_direction(mut self, d: OrderDirection) -> Self {
        self.order_direction = Some(d);
        self
    }

    /// Extra fields to include (`custom_fields`, `job_title`, …).
    pub fn optional_properties<I, S>(mut self, props: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.optional_properties
            .extend(props.into_iter().map(Into::into));
        self
    }

    /// Fetches the first page.
    ///
    /// # Errors
    ///
    /// Any request error; [`Error::UnexpectedResponse`] for an unreadable list.
    pub async fn send(self) -> Result<Page<Contact>> {
        let props =
            (!self.optional_properties.is_empty()).then(|| self.optional_properties.join(","));
        let resp = self
            .client
            .request(Method::GET, "rest/v1/contacts")
            .query_opt("email", self.email)
            .query_opt("given_name", self.given_name)
            .query_opt("family_name", self.family_name)
            .query_opt("since", self.since.map(format_datetime))
            .query_opt("until", self.until.map(format_datetime))
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .query_opt("order", self.order.map(ContactOrder::as_str))
            .query_opt(
                "order_direction",
                self.order_direction.map(OrderDirection::as_str),
            )
            .query_opt("optional_properties", props)
            .send()
            .await?;
        Page::from_response(self.client, "contacts", resp)
    }

    /// Every matching contact, page after page, fetched as the stream is read.
    pub fn stream(self) -> BoxStream<'static, Result<Contact>> {
        stream_from(self.send())
    }
}

/// `GET /contacts/{id}`. From [`Contacts::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetContact {
    client: Keap,
    id: ContactId,
    optional_properties: Vec<String>,
}

impl GetContact {
    /// Extra fields to include (`custom_fields`, `job_title`, `lead_source_id`, …).
    pub fn optional_properties<I, S>(mut self, props: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.optional_properties
            .extend(props.into_iter().map(Into::into));
        self
    }

    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such contact in this account.
    pub async fn send(self) -> Result<Contact> {
        let props =
            (!self.optional_properties.is_empty()).then(|| self.optional_properties.join(","));
        self.client
            .request(Method::GET, path(self.id))
            .query_opt("optional_properties", props)
            .send_json()
            .await
    }
}

/// `POST /contacts`. From [`Contacts::create`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateContact {
    client: Keap,
    contact: ContactInput,
}

impl CreateContact {
    /// Sends the request; returns the created contact.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] with Keap's message (e.g. neither e-mail nor phone).
    pub async fn send(self) -> Result<Contact> {
        self.client
            .request(Method::POST, "rest/v1/contacts")
            .json(&self.contact)
            .send_json()
            .await
    }
}

/// `PATCH /contacts/{id}`. From [`Contacts::update`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UpdateContact {
    client: Keap,
    id: ContactId,
    changes: ContactInput,
    update_mask: Vec<String>,
}

impl UpdateContact {
    /// Applies only these fields of the body (Keap's `update_mask`).
    pub fn update_mask<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.update_mask.extend(fields.into_iter().map(Into::into));
        self
    }

    /// Sends the request; returns the updated contact.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] or [`Error::Validation`], or any request error.
    pub async fn send(self) -> Result<Contact> {
        let mask = (!self.update_mask.is_empty()).then(|| self.update_mask.join(","));
        self.client
            .request(Method::PATCH, path(self.id))
            .query_opt("update_mask", mask)
            .json(&self.changes)
            .send_json()
            .await
    }
}

/// `PUT /contacts`. From [`Contacts::upsert`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UpsertContact {
    client: Keap,
    contact: ContactInput,
    duplicate_option: DuplicateOption,
}

impl UpsertContact {
    /// Sends the request; returns the created or updated contact.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`], or any request error.
    pub async fn send(self) -> Result<Contact> {
        let mut body = serde_json::to_value(&self.contact)
            .map_err(|e| Error::Config(format!("contact is not serialisable: {e}")))?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert(
                "duplicate_option".into(),
                serde_json::to_value(self.duplicate_option)
                    .map_err(|e| Error::Config(e.to_string()))?,
            );
        }
        self.client
            .request(Method::PUT, "rest/v1/contacts")
            .json(&body)
            .send_json()
            .await
    }
}

/// `DELETE /contacts/{id}`. From [`Contacts::delete`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct DeleteContact {
    client: Keap,
    id: ContactId,
}

impl DeleteContact {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such contact.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, path(self.id))
            .send_empty()
            .await
    }
}

/// `GET /contacts/{id}/tags`. From [`Contacts::tags`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListContactTags {
    client: Keap,
    id: ContactId,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListContactTags {
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
    /// [`Error::NotFound`] when there is no such contact, or any request error.
    pub async fn send(self) -> Result<Page<AppliedTag>> {
        let resp = self
            .client
            .request(Method::GET, format!("{}/tags", path(self.id)))
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "tags", resp)
    }

    /// Every applied tag, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<AppliedTag>> {
        stream_from(self.send())
    }
}

/// `POST /contacts/{id}/tags`. From [`Contacts::apply_tags`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ApplyTagsToContact {
    client: Keap,
    id: ContactId,
    tag_ids: Vec<TagId>,
}

impl ApplyTagsToContact {
    /// Sends the request; returns the outcome per tag id (`SUCCESS`, `DUPLICATE`,
    /// `TAG_ID_NOT_FOUND`…).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such contact, or any request error.
    pub async fn send(self) -> Result<ContactTagResults> {
        // Keap's body key here is camelCase `tagIds` (`keap/rest-v1.md` §1.8).
        self.client
            .request(Method::POST, format!("{}/tags", path(self.id)))
            .json(&serde_json::json!({ "tagIds": self.tag_ids }))
            .send_json()
            .await
    }
}

/// `DELETE /contacts/{id}/tags?ids=…`. From [`Contacts::remove_tags`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct RemoveTagsFromContact {
    client: Keap,
    id: ContactId,
    tag_ids: Vec<TagId>,
}

impl RemoveTagsFromContact {
    /// Sends the request. Removing a tag the contact does not have succeeds.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, format!("{}/tags", path(self.id)))
            .query("ids", comma_list(&self.tag_ids))
            .send_empty()
            .await
    }
}

/// `GET /contacts/{id}/creditCards`. From [`Contacts::credit_cards`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ListCreditCards {
    client: Keap,
    id: ContactId,
}

impl ListCreditCards {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such contact, or any request error.
    pub async fn send(self) -> Result<Vec<ContactCreditCard>> {
        self.client
            .request(Method::GET, format!("{}/creditCards", path(self.id)))
            .send_json()
            .await
    }
}

/// `POST /contacts/{id}/creditCards`. From [`Contacts::add_credit_card`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct AddCreditCard {
    client: Keap,
    id: ContactId,
    card: NewCreditCard,
}

impl AddCreditCard {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] with Keap's message (bad number, expired card…),
    /// [`Error::NotFound`] when there is no such contact, or any request error.
    pub async fn send(self) -> Result<CreditCardAdded> {
        self.client
            .request(Method::POST, format!("{}/creditCards", path(self.id)))
            .json(&self.card)
            .send_json()
            .await
    }
}
