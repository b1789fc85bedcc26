//! `Product` (`keap/xmlrpc.md` §5.4) ↔ the REST v1 product document
//! (`keapsake_core::commerce::product`). Fields keapsake's products do not have (`Weight`,
//! `Taxable`, `Shippable`, inventory, …) are known names: reading yields nothing, writing is
//! `[InvalidParameter]`. `Status` is 1 for an active product, 0 otherwise.

use super::{Col, FieldSpec, Hints, Row, Table, Ty, ro, rw, to_body, to_row};
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::Cx;
use crate::xmlrpc::fault::{Code, Fault, XResult};
use async_trait::async_trait;
use axum::http::Method;
use serde_json::Value;

const NONE: &str = super::lead::NONE;

/// The `Product` fields.
pub const FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    rw("ProductName", "product_name", Ty::Str),
    rw("ProductPrice", "product_price", Ty::Double),
    rw("Sku", "sku", Ty::Str),
    rw("ShortDescription", "product_short_desc", Ty::Str),
    rw("Description", "product_desc", Ty::Str),
    rw("Status", "active", Ty::BoolInt),
    rw("Taxable", NONE, Ty::Int),
    rw("Weight", NONE, Ty::Double),
    rw("Shippable", NONE, Ty::Int),
    rw("IsPackage", NONE, Ty::Int),
    rw("NeedsDigitalDelivery", NONE, Ty::Int),
    rw("HideInStore", NONE, Ty::Int),
    rw("TopHTML", NONE, Ty::Str),
    rw("BottomHTML", NONE, Ty::Str),
    rw("ShippingTime", NONE, Ty::Str),
    rw("InventoryNotifiee", NONE, Ty::Str),
    rw("InventoryLimit", NONE, Ty::Int),
];

/// The `Product` table.
pub struct ProductTable;
/// The instance.
pub static PRODUCT: ProductTable = ProductTable;

const NAME: &str = "Product";

fn cols() -> Vec<Col> {
    FIELDS.iter().map(Col::from).collect()
}

async fn body(cx: &Cx, values: &[(String, XValue)]) -> XResult<Value> {
    let cols = cols();
    super::lead::refuse_unsupported(NAME, &cols, values)?;
    to_body(NAME, &cols, values, cx.zone().await)
}

#[async_trait]
impl Table for ProductTable {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(cols())
    }

    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = body(cx, &values).await?;
        let (_, created) = cx.rest(Method::POST, "/products", Some(&body)).await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(Fault::internal)
    }

    async fn update(&self, cx: &Cx, id: i64, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = body(cx, &values).await?;
        cx.rest(Method::PATCH, &format!("/products/{id}"), Some(&body))
            .await?;
        Ok(id)
    }

    async fn delete(&self, cx: &Cx, id: i64) -> XResult<bool> {
        cx.require_write()?;
        cx.rest(Method::DELETE, &format!("/products/{id}"), None)
            .await?;
        Ok(true)
    }

    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let (_, doc) = cx
            .rest(Method::GET, &format!("/products/{id}"), None)
            .await?;
        Ok(to_row(&doc, &cols(), cx.zone().await))
    }

    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        if let Some(ids) = &hints.ids {
            let mut out = Vec::new();
            for id in ids {
                match self.load(cx, *id).await {
                    Ok(r) => out.push(r),
                    Err(f) if f.code == Code::RecordNotFound => {}
                    Err(f) => return Err(f),
                }
            }
            return Ok(out);
        }
        let zone = cx.zone().await;
        let cols = cols();
        Ok(super::rest_collection(cx, "/products", "products", "")
            .await?
            .iter()
            .map(|d| to_row(d, &cols, zone))
            .collect())
    }
}
