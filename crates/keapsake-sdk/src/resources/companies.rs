//! Companies (`keap/rest-v1.md` §3). v1 has no company delete.

use futures_util::stream::BoxStream;
use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::ids::CompanyId;
use crate::model::{Company, CompanyInput, ObjectModel};
use crate::page::{Page, stream_from};
use crate::resources::{OrderDirection, csv_opt};

/// The companies handler. From [`Keap::companies`].
#[derive(Debug, Clone)]
pub struct Companies {
    client: Keap,
}

fn path(id: CompanyId) -> String {
    format!("rest/v1/companies/{id}")
}

impl Companies {
    pub(crate) fn new(client: Keap) -> Self {
        Companies { client }
    }

    /// `GET /companies`: list and filter.
    pub fn list(&self) -> ListCompanies {
        ListCompanies {
            client: self.client.clone(),
            company_name: None,
            limit: None,
            offset: None,
            order: None,
            order_direction: None,
            optional_properties: Vec::new(),
        }
    }

    /// `GET /companies/{id}`.
    pub fn get(&self, id: impl Into<CompanyId>) -> GetCompany {
        GetCompany {
            client: self.client.clone(),
            id: id.into(),
            optional_properties: Vec::new(),
        }
    }

    /// `POST /companies` (Keap answers 201): `company_name` is required.
    pub fn create(&self, company: CompanyInput) -> CreateCompany {
        CreateCompany {
            client: self.client.clone(),
            company,
        }
    }

    /// `PATCH /companies/{id}`: changes only the fields set in `changes`.
    pub fn update(&self, id: impl Into<CompanyId>, changes: CompanyInput) -> UpdateCompany {
        UpdateCompany {
            client: self.client.clone(),
            id: id.into(),
            changes,
        }
    }

    /// `GET /companies/model`: the company custom fields and optional properties.
    pub fn model(&self) -> GetCompanyModel {
        GetCompanyModel {
            client: self.client.clone(),
        }
    }
}

/// Sort key for [`ListCompanies::order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyOrder {
    /// `id`.
    Id,
    /// `date_created`.
    DateCreated,
    /// `name`.
    Name,
    /// `email`.
    Email,
}

impl CompanyOrder {
    fn as_str(self) -> &'static str {
        match self {
            CompanyOrder::Id => "id",
            CompanyOrder::DateCreated => "date_created",
            CompanyOrder::Name => "name",
            CompanyOrder::Email => "email",
        }
    }
}

/// `GET /companies`. From [`Companies::list`].
///
/// ```no_run
/// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
/// use keapsake_sdk::resources::CompanyOrder;
/// let page = client.companies().list().order(CompanyOrder::Name).optional_properties(["notes"]).send().await?;
/// for c in page.items() {
///     println!("{} {:?} {:?}", c.id, c.company_name, c.notes);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListCompanies {
    client: Keap,
    company_name: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
    order: Option<CompanyOrder>,
    order_direction: Option<OrderDirection>,
    optional_properties: Vec<String>,
}

impl ListCompanies {
    /// Only companies with exactly this name (case-insensitive).
    pub fn company_name(mut self, v: impl Into<String>) -> Self {
        self.company_name = Some(v.into());
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
    pub fn order(mut self, o: CompanyOrder) -> Self {
        self.order = Some(o);
        self
    }

    /// Sort direction.
    pub fn order_direction(mut self, d: OrderDirection) -> Self {
        self.order_direction = Some(d);
        self
    }

    /// Extra fields to include (`notes`, `fax_number`, `custom_fields`).
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
    /// [`Error::Validation`](crate::Error::Validation) for a rejected parameter, or any
    /// request error.
    pub async fn send(self) -> Result<Page<Company>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/companies")
            .query_opt("company_name", self.company_name)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .query_opt("order", self.order.map(CompanyOrder::as_str))
            .query_opt(
                "order_direction",
                self.order_direction.map(OrderDirection::as_str),
            )
            .query_opt("optional_properties", csv_opt(&self.optional_properties))
            .send()
            .await?;
        Page::from_response(self.client, "companies", resp)
    }

    /// Every matching company, page after page, fetched as the stream is read.
    pub fn stream(self) -> BoxStream<'static, Result<Company>> {
        stream_from(self.send())
    }
}

/// `GET /companies/{id}`. From [`Companies::get`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetCompany {
    client: Keap,
    id: CompanyId,
    optional_properties: Vec<String>,
}

impl GetCompany {
    /// Extra fields to include (`notes`, `fax_number`, `custom_fields`).
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
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such company in this
    /// account.
    pub async fn send(self) -> Result<Company> {
        self.client
            .request(Method::GET, path(self.id))
            .query_opt("optional_properties", csv_opt(&self.optional_properties))
            .send_json()
            .await
    }
}

/// `POST /companies`. From [`Companies::create`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateCompany {
    client: Keap,
    company: CompanyInput,
}

impl CreateCompany {
    /// Sends the request; returns the created company with every field.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) with Keap's message (e.g.
    /// `company_name is required`), or any request error.
    pub async fn send(self) -> Result<Company> {
        self.client
            .request(Method::POST, "rest/v1/companies")
            .json(&self.company)
            .send_json()
            .await
    }
}

/// `PATCH /companies/{id}`. From [`Companies::update`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct UpdateCompany {
    client: Keap,
    id: CompanyId,
    changes: CompanyInput,
}

impl UpdateCompany {
    /// Sends the request; returns the updated company with every field.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound), [`Error::Validation`](crate::Error::Validation),
    /// or any request error.
    pub async fn send(self) -> Result<Company> {
        self.client
            .request(Method::PATCH, path(self.id))
            .json(&self.changes)
            .send_json()
            .await
    }
}

/// `GET /companies/model`. From [`Companies::model`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetCompanyModel {
    client: Keap,
}

impl GetCompanyModel {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<ObjectModel> {
        self.client
            .request(Method::GET, "rest/v1/companies/model")
            .send_json()
            .await
    }
}
