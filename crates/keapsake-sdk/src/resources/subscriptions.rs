//! Contacts' subscriptions to product plans (`keap/rest-v1.md` §11).

use futures_util::stream::BoxStream;
use reqwest::Method;

use super::simple::{body, simple_call};
use crate::client::Keap;
use crate::error::Result;
use crate::ids::ContactId;
use crate::model::{NewSubscription, ObjectModel, Subscription};
use crate::page::{Page, stream_from};

/// The subscriptions handler. From [`Keap::subscriptions`].
#[derive(Debug, Clone)]
pub struct Subscriptions {
    client: Keap,
}

impl Subscriptions {
    pub(crate) fn new(client: Keap) -> Self {
        Subscriptions { client }
    }

    /// `GET /subscriptions`.
    pub fn list(&self) -> ListSubscriptions {
        ListSubscriptions {
            client: self.client.clone(),
            contact: None,
            limit: None,
            offset: None,
        }
    }

    /// `POST /subscriptions` (201). Nothing is billed by keapsake.
    pub fn create(&self, subscription: NewSubscription) -> CreateSubscription {
        CreateSubscription::new(
            self.client.clone(),
            Method::POST,
            "rest/v1/subscriptions".into(),
            body(&subscription),
        )
    }

    /// `GET /subscriptions/model`: the subscription custom fields.
    pub fn model(&self) -> GetSubscriptionModel {
        GetSubscriptionModel::new(
            self.client.clone(),
            Method::GET,
            "rest/v1/subscriptions/model".into(),
            None,
        )
    }
}

simple_call!(
    /// `POST /subscriptions`. From [`Subscriptions::create`].
    CreateSubscription -> Subscription
);
simple_call!(
    /// `GET /subscriptions/model`. From [`Subscriptions::model`].
    GetSubscriptionModel -> ObjectModel
);

/// `GET /subscriptions`. From [`Subscriptions::list`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListSubscriptions {
    client: Keap,
    contact: Option<ContactId>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListSubscriptions {
    /// Only this contact's.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
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
    pub async fn send(self) -> Result<Page<Subscription>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/subscriptions")
            .query_opt("contact_id", self.contact)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "subscriptions", resp)
    }

    /// Every matching subscription, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<Subscription>> {
        stream_from(self.send())
    }
}
