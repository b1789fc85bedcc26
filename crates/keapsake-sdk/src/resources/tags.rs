//! Tags and tag categories (`keap/rest-v1.md` §2).

use futures_util::stream::BoxStream;
use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::ids::{ContactId, TagCategoryId, TagId};
use crate::model::{NewTag, NewTagCategory, Tag, TagApplyResults, TagCategory, TaggedContact};
use crate::page::{Page, stream_from};
use crate::resources::comma_list;

/// The tags handler. From [`Keap::tags`].
#[derive(Debug, Clone)]
pub struct Tags {
    client: Keap,
}

fn path(id: TagId) -> String {
    format!("rest/v1/tags/{id}")
}

impl Tags {
    pub(crate) fn new(client: Keap) -> Self {
        Tags { client }
    }

    /// `GET /tags`.
    pub fn list(&self) -> ListTags {
        ListTags {
            client: self.client.clone(),
            category: None,
            name: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /tags/{id}`.
    pub fn get(&self, id: impl Into<TagId>) -> GetTag {
        GetTag {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// `POST /tags`.
    pub fn create(&self, tag: NewTag) -> CreateTag {
        CreateTag {
            client: self.client.clone(),
            tag,
        }
    }

    /// `POST /tags/categories`.
    pub fn create_category(&self, name: impl Into<String>) -> CreateTagCategory {
        CreateTagCategory {
            client: self.client.clone(),
            body: NewTagCategory {
                name: name.into(),
                description: None,
            },
        }
    }

    /// `GET /tags/{id}/contacts`: the contacts a tag is applied to.
    pub fn contacts(&self, id: impl Into<TagId>) -> ListTaggedContacts {
        ListTaggedContacts {
            client: self.client.clone(),
            id: id.into(),
            limit: None,
            offset: None,
        }
    }

    /// `POST /tags/{id}/contacts`: applies one tag to contacts.
    pub fn apply<I, C>(&self, id: impl Into<TagId>, contact_ids: I) -> ApplyTag
    where
        I: IntoIterator<Item = C>,
        C: Into<ContactId>,
    {
        ApplyTag {
            client: self.client.clone(),
            id: id.into(),
            contact_ids: contact_ids.into_iter().map(Into::into).collect(),
        }
    }

    /// `DELETE /tags/{id}/contacts?ids=…`: removes one tag from contacts.
    pub fn remove<I, C>(&self, id: impl Into<TagId>, contact_ids: I) -> RemoveTag
    where
        I: IntoIterator<Item = C>,
        C: Into<ContactId>,
    {
        RemoveTag {
            client: self.client.clone(),
            id: id.into(),
            contact_ids: contact_ids.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /tags`. From [`Tags::list`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListTags {
    client: Keap,
    category: Option<TagCategoryId>,
    name: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListTags {
    /// Only tags in this category.
    pub fn category(mut self, id: impl Into<TagCategoryId>) -> Self {
        self.category = Some(id.into());
        self
    }

    /// Only the tag with exactly this name.
    pub fn name(mut self, v: impl Into<String>) -> Self {
        self.name = Some(v.into());
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
    /// Any request error.
    pub async fn send(self) -> Result<Page<Tag>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/tags")
            .query_opt("category", self.category)
            .query_opt("name", self.name)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "tags", resp)
    }

    /// Every matching tag, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<Tag>> {
        stream_from(self.send())
    }
}

/// `GET /tags/{id}`. From [`Tags::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetTag {
    client: Keap,
    id: TagId,
}

impl GetTag {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such tag.
    pub async fn send(self) -> Result<Tag> {
        self.client
            .request(Method::GET, path(self.id))
            .send_json()
            .await
    }
}

/// `POST /tags`. From [`Tags::create`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateTag {
    client: Keap,
    tag: NewTag,
}

impl CreateTag {
    /// Sends the request; returns the created tag.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) (e.g. a duplicate name), or any request
    /// error.
    pub async fn send(self) -> Result<Tag> {
        self.client
            .request(Method::POST, "rest/v1/tags")
            .json(&self.tag)
            .send_json()
            .await
    }
}

/// `POST /tags/categories`. From [`Tags::create_category`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateTagCategory {
    client: Keap,
    body: NewTagCategory,
}

impl CreateTagCategory {
    /// Sets the description.
    pub fn description(mut self, v: impl Into<String>) -> Self {
        self.body.description = Some(v.into());
        self
    }

    /// Sends the request; returns the created category.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<TagCategory> {
        self.client
            .request(Method::POST, "rest/v1/tags/categories")
            .json(&self.body)
            .send_json()
            .await
    }
}

/// `GET /tags/{id}/contacts`. From [`Tags::contacts`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListTaggedContacts {
    client: Keap,
    id: TagId,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListTaggedContacts {
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
    /// Any request error.
    pub async fn send(self) -> Result<Page<TaggedContact>> {
        let resp = self
            .client
            .request(Method::GET, format!("{}/contacts", path(self.id)))
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "contacts", resp)
    }

    /// Every tagged contact, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<TaggedContact>> {
        stream_from(self.send())
    }
}

/// `POST /tags/{id}/contacts`. From [`Tags::apply`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ApplyTag {
    client: Keap,
    id: TagId,
    contact_ids: Vec<ContactId>,
}

impl ApplyTag {
    /// Sends the request; returns the outcome per contact id (`SUCCESS`, `DUPLICATE`,
    /// `CONTACT_NOT_FOUND`…).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such tag, or any request
    /// error.
    pub async fn send(self) -> Result<TagApplyResults> {
        self.client
            .request(Method::POST, format!("{}/contacts", path(self.id)))
            .json(&serde_json::json!({ "ids": self.contact_ids }))
            .send_json()
            .await
    }
}

/// `DELETE /tags/{id}/contacts?ids=…`. From [`Tags::remove`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct RemoveTag {
    client: Keap,
    id: TagId,
    contact_ids: Vec<ContactId>,
}

impl RemoveTag {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, format!("{}/contacts", path(self.id)))
            .query("ids", comma_list(&self.contact_ids))
            .send_empty()
            .await
    }
}
