//! Opportunities and the stage pipeline (`keap/rest-v1.md` §6).

use futures_util::stream::BoxStream;
use reqwest::Method;

use crate::client::Keap;
use crate::error::{Error, Result};
use crate::ids::{OpportunityId, StageId, UserId};
use crate::model::{ObjectModel, Opportunity, OpportunityInput, PipelineStage};
use crate::page::{Page, stream_from};
use crate::resources::{OrderDirection, csv_opt};

/// The opportunities handler. From [`Keap::opportunities`].
#[derive(Debug, Clone)]
pub struct Opportunities {
    client: Keap,
}

fn path(id: OpportunityId) -> String {
    format!("rest/v1/opportunities/{id}")
}

impl Opportunities {
    pub(crate) fn new(client: Keap) -> Self {
        Opportunities { client }
    }

    /// `GET /opportunities`: list, search and filter.
    pub fn list(&self) -> ListOpportunities {
        ListOpportunities {
            client: self.client.clone(),
            search_term: None,
            stage: None,
            user: None,
            order: None,
            order_direction: None,
            limit: None,
            offset: None,
            optional_properties: Vec::new(),
        }
    }

    /// `GET /opportunities/{id}`.
    pub fn get(&self, id: impl Into<OpportunityId>) -> GetOpportunity {
        GetOpportunity {
            client: self.client.clone(),
            id: id.into(),
            optional_properties: Vec::new(),
        }
    }

    /// `POST /opportunities` (Keap answers **200**, not 201): title, contact and stage are
    /// required.
    pub fn create(&self, opportunity: OpportunityInput) -> CreateOpportunity {
        CreateOpportunity {
            client: self.client.clone(),
            opportunity,
        }
    }

    /// `PUT /opportunities`: replaces the opportunity (title, contact and stage required);
    /// fields not set in `opportunity` are cleared. Keap takes the id from the body; the SDK
    /// puts it there.
    pub fn replace(
        &self,
        id: impl Into<OpportunityId>,
        opportunity: OpportunityInput,
    ) -> ReplaceOpportunity {
        ReplaceOpportunity {
            client: self.client.clone(),
            id: id.into(),
            opportunity,
        }
    }

    /// `PATCH /opportunities/{id}`: changes only the fields set in `changes`.
    pub fn update(
        &self,
        id: impl Into<OpportunityId>,
        changes: OpportunityInput,
    ) -> UpdateOpportunity {
        UpdateOpportunity {
            client: self.client.clone(),
            id: id.into(),
            changes,
        }
    }

    /// `GET /opportunities/model`: the opportunity custom fields and optional properties.
    pub fn model(&self) -> GetOpportunityModel {
        GetOpportunityModel {
            client: self.client.clone(),
        }
    }

    /// `GET /opportunity/stage_pipeline` (note the singular `opportunity`): the stages, in
    /// pipeline order, with how many opportunities each holds.
    pub fn stage_pipeline(&self) -> GetStagePipeline {
        GetStagePipeline {
            client: self.client.clone(),
        }
    }
}

/// Sort key for [`ListOpportunities::order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpportunityOrder {
    /// `next_action` (the next action date).
    NextAction,
    /// `opportunity_name` (the title).
    OpportunityName,
    /// `contact_name` (the contact's last, then first name).
    ContactName,
    /// `date_created`.
    DateCreated,
}

impl OpportunityOrder {
    fn as_str(self) -> &'static str {
        match self {
            OpportunityOrder::NextAction => "next_action",
            OpportunityOrder::OpportunityName => "opportunity_name",
            OpportunityOrder::ContactName => "contact_name",
            OpportunityOrder::DateCreated => "date_created",
        }
    }
}

/// `GET /opportunities`. From [`Opportunities::list`].
///
/// ```no_run
/// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
/// use keapsake_sdk::resources::OpportunityOrder;
/// let page = client.opportunities().list().search_term("engine").stage(2).order(OpportunityOrder::ContactName).send().await?;
/// for o in page.items() {
///     println!("{} {:?}", o.id, o.opportunity_title);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListOpportunities {
    client: Keap,
    search_term: Option<String>,
    stage: Option<StageId>,
    user: Option<UserId>,
    order: Option<OpportunityOrder>,
    order_direction: Option<OrderDirection>,
    limit: Option<u32>,
    offset: Option<u64>,
    optional_properties: Vec<String>,
}

impl ListOpportunities {
    /// Only opportunities whose title, or whose contact's name, company or e-mail, contains
    /// this text.
    pub fn search_term(mut self, v: impl Into<String>) -> Self {
        self.search_term = Some(v.into());
        self
    }

    /// Only opportunities in this stage.
    pub fn stage(mut self, id: impl Into<StageId>) -> Self {
        self.stage = Some(id.into());
        self
    }

    /// Only opportunities owned by this user.
    pub fn user(mut self, id: impl Into<UserId>) -> Self {
        self.user = Some(id.into());
        self
    }

    /// Sort key.
    pub fn order(mut self, o: OpportunityOrder) -> Self {
        self.order = Some(o);
        self
    }

    /// Sort direction (not in Keap's spec for this list; keapsake honours it).
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

    /// Extra fields to include (`custom_fields`).
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
    /// [`Error::Validation`] for a rejected parameter, or any request error.
    pub async fn send(self) -> Result<Page<Opportunity>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/opportunities")
            .query_opt("search_term", self.search_term)
            .query_opt("stage_id", self.stage)
            .query_opt("user_id", self.user)
            .query_opt("order", self.order.map(OpportunityOrder::as_str))
            .query_opt(
                "order_direction",
                self.order_direction.map(OrderDirection::as_str),
            )
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .query_opt("optional_properties", csv_opt(&self.optional_properties))
            .send()
            .await?;
        Page::from_response(self.client, "opportunities", resp)
    }

    /// Every matching opportunity, page after page, fetched as the stream is read.
    pub fn stream(self) -> BoxStream<'static, Result<Opportunity>> {
        stream_from(self.send())
    }
}

/// `GET /opportunities/{id}`. From [`Opportunities::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetOpportunity {
    client: Keap,
    id: OpportunityId,
    optional_properties: Vec<String>,
}

impl GetOpportunity {
    /// Extra fields to include (`custom_fields`).
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
    /// [`Error::NotFound`] when there is no such opportunity in this account.
    pub async fn send(self) -> Result<Opportunity> {
        self.client
            .request(Method::GET, path(self.id))
            .query_opt("optional_properties", csv_opt(&self.optional_properties))
            .send_json()
            .await
    }
}

/// `POST /opportunities`. From [`Opportunities::create`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateOpportunity {
    client: Keap,
    opportunity: OpportunityInput,
}

impl CreateOpportunity {
    /// Sends the request; returns the created opportunity.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] with Keap's message (no title, contact or stage; an unknown
    /// contact, stage, user or custom field), or any request error.
    pub async fn send(self) -> Result<Opportunity> {
        self.client
            .request(Method::POST, "rest/v1/opportunities")
            .json(&self.opportunity)
            .send_json()
            .await
    }
}

/// `PUT /opportunities`. From [`Opportunities::replace`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ReplaceOpportunity {
    client: Keap,
    id: OpportunityId,
    opportunity: OpportunityInput,
}

impl ReplaceOpportunity {
    /// Sends the request; returns the opportunity as stored.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Validation`], or any request error.
    pub async fn send(self) -> Result<Opportunity> {
        let mut body = serde_json::to_value(&self.opportunity)
            .map_err(|e| Error::Config(format!("opportunity is not serialisable: {e}")))?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("id".into(), self.id.get().into());
        }
        self.client
            .request(Method::PUT, "rest/v1/opportunities")
            .json(&body)
            .send_json()
            .await
    }
}

/// `PATCH /opportunities/{id}`. From [`Opportunities::update`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UpdateOpportunity {
    client: Keap,
    id: OpportunityId,
    changes: OpportunityInput,
}

impl UpdateOpportunity {
    /// Sends the request; returns the opportunity as stored.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Validation`], or any request error.
    pub async fn send(self) -> Result<Opportunity> {
        self.client
            .request(Method::PATCH, path(self.id))
            .json(&self.changes)
            .send_json()
            .await
    }
}

/// `GET /opportunities/model`. From [`Opportunities::model`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetOpportunityModel {
    client: Keap,
}

impl GetOpportunityModel {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<ObjectModel> {
        self.client
            .request(Method::GET, "rest/v1/opportunities/model")
            .send_json()
            .await
    }
}

/// `GET /opportunity/stage_pipeline`. From [`Opportunities::stage_pipeline`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetStagePipeline {
    client: Keap,
}

impl GetStagePipeline {
    /// Sends the request; returns the stages (a bare JSON array on the wire, not a list
    /// envelope).
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<Vec<PipelineStage>> {
        self.client
            .request(Method::GET, "rest/v1/opportunity/stage_pipeline")
            .send_json()
            .await
    }
}
