//! Products, their subscription plans and image, and the product sync (`keap/rest-v1.md` §7).

use futures_util::stream::BoxStream;
use reqwest::Method;
use serde_json::json;

use super::simple::{body, simple_call};
use crate::client::Keap;
use crate::error::Result;
use crate::ids::{ProductId, SubscriptionPlanId};
use crate::model::{Product, ProductInput, ProductStatus, SubscriptionPlan, SubscriptionPlanInput};
use crate::page::{Page, stream_from};

/// The products handler. From [`Keap::products`].
#[derive(Debug, Clone)]
pub struct Products {
    client: Keap,
}

fn path(id: ProductId) -> String {
    format!("rest/v1/products/{id}")
}

impl Products {
    pub(crate) fn new(client: Keap) -> Self {
        Products { client }
    }

    /// `GET /products` (the list shape: `status` 1/0 instead of `active`).
    pub fn list(&self) -> ListProducts {
        ListProducts {
            client: self.client.clone(),
            active: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /products/{id}`.
    pub fn get(&self, id: impl Into<ProductId>) -> GetProduct {
        GetProduct::new(self.client.clone(), Method::GET, path(id.into()), None)
    }

    /// `POST /products` (201): `product_name` required.
    pub fn create(&self, product: ProductInput) -> CreateProduct {
        CreateProduct::new(
            self.client.clone(),
            Method::POST,
            "rest/v1/products".into(),
            body(&product),
        )
    }

    /// `PATCH /products/{id}`: changes only what `changes` sets.
    pub fn update(&self, id: impl Into<ProductId>, changes: ProductInput) -> UpdateProduct {
        UpdateProduct::new(
            self.client.clone(),
            Method::PATCH,
            path(id.into()),
            body(&changes),
        )
    }

    /// `DELETE /products/{id}` (204), with its plans and image.
    pub fn delete(&self, id: impl Into<ProductId>) -> DeleteProduct {
        DeleteProduct::new(self.client.clone(), Method::DELETE, path(id.into()), None)
    }

    /// `GET /products/sync`: without a token every product as `CREATED`; with the token of
    /// an earlier sync ([`Page::sync_token`]) what was created, updated or deleted since.
    pub fn sync(&self) -> SyncProducts {
        SyncProducts {
            client: self.client.clone(),
            sync_token: None,
            limit: None,
            offset: None,
        }
    }

    /// `POST /products/{id}/subscriptions` (201): adds a subscription plan.
    pub fn create_plan(
        &self,
        product: impl Into<ProductId>,
        plan: SubscriptionPlanInput,
    ) -> CreatePlan {
        CreatePlan::new(
            self.client.clone(),
            Method::POST,
            format!("{}/subscriptions", path(product.into())),
            body(&plan),
        )
    }

    /// `GET /products/{id}/subscriptions/{plan_id}`.
    pub fn get_plan(
        &self,
        product: impl Into<ProductId>,
        plan: impl Into<SubscriptionPlanId>,
    ) -> GetPlan {
        GetPlan::new(
            self.client.clone(),
            Method::GET,
            format!("{}/subscriptions/{}", path(product.into()), plan.into()),
            None,
        )
    }

    /// `DELETE /products/{id}/subscriptions/{plan_id}` (204).
    pub fn delete_plan(
        &self,
        product: impl Into<ProductId>,
        plan: impl Into<SubscriptionPlanId>,
    ) -> DeletePlan {
        DeletePlan::new(
            self.client.clone(),
            Method::DELETE,
            format!("{}/subscriptions/{}", path(product.into()), plan.into()),
            None,
        )
    }

    /// `POST /products/{id}/image` (201): a `.png`, `.gif`, `.jpg` or `.jpeg` of at most
    /// 3 MB, base64-encoded here.
    pub fn upload_image(
        &self,
        product: impl Into<ProductId>,
        file_name: impl Into<String>,
        bytes: &[u8],
    ) -> UploadProductImage {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        UploadProductImage::new(
            self.client.clone(),
            Method::POST,
            format!("{}/image", path(product.into())),
            Some(json!({"file_name": file_name.into(), "file_data": data})),
        )
    }

    /// `DELETE /products/{id}/image` (204).
    pub fn delete_image(&self, product: impl Into<ProductId>) -> DeleteProductImage {
        DeleteProductImage::new(
            self.client.clone(),
            Method::DELETE,
            format!("{}/image", path(product.into())),
            None,
        )
    }
}

simple_call!(
    /// `GET /products/{id}`. From [`Products::get`].
    GetProduct -> Product
);
simple_call!(
    /// `POST /products`. From [`Products::create`].
    CreateProduct -> Product
);
simple_call!(
    /// `PATCH /products/{id}`. From [`Products::update`].
    UpdateProduct -> Product
);
simple_call!(
    /// `DELETE /products/{id}`. From [`Products::delete`].
    DeleteProduct -> ()
);
simple_call!(
    /// `POST /products/{id}/subscriptions`. From [`Products::create_plan`].
    CreatePlan -> SubscriptionPlan
);
simple_call!(
    /// `GET /products/{id}/subscriptions/{plan_id}`. From [`Products::get_plan`].
    GetPlan -> SubscriptionPlan
);
simple_call!(
    /// `DELETE /products/{id}/subscriptions/{plan_id}`. From [`Products::delete_plan`].
    DeletePlan -> ()
);
simple_call!(
    /// `POST /products/{id}/image`. From [`Products::upload_image`].
    UploadProductImage -> ()
);
simple_call!(
    /// `DELETE /products/{id}/image`. From [`Products::delete_image`].
    DeleteProductImage -> ()
);

/// `GET /products`. From [`Products::list`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListProducts {
    client: Keap,
    active: Option<bool>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListProducts {
    /// Only active (`true`) or inactive (`false`) products.
    pub fn active(mut self, v: bool) -> Self {
        self.active = Some(v);
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
    /// [`Error::Validation`](crate::Error::Validation) for a rejected parameter, or any
    /// request error.
    pub async fn send(self) -> Result<Page<Product>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/products")
            .query_opt("active", self.active)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "products", resp)
    }

    /// Every matching product, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<Product>> {
        stream_from(self.send())
    }
}

/// `GET /products/sync`. From [`Products::sync`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct SyncProducts {
    client: Keap,
    sync_token: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl SyncProducts {
    /// The token of an earlier sync.
    pub fn sync_token(mut self, t: impl Into<String>) -> Self {
        self.sync_token = Some(t.into());
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

    /// Fetches the first page; [`Page::sync_token`] is the token for the next sync.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) for a token the server did not issue,
    /// or any request error.
    pub async fn send(self) -> Result<Page<ProductStatus>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/products/sync")
            .query_opt("sync_token", self.sync_token)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "product_statuses", resp)
    }

    /// Every change, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<ProductStatus>> {
        stream_from(self.send())
    }
}
