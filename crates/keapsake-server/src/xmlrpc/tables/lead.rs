//! `Lead` (opportunities, `keap/xmlrpc.md` §5.5) ↔ the REST v1 opportunity document
//! (`keapsake_core::crm_more::opportunity`). The field table below is the whole mapping.
//!
//! Keap fields with no home in keapsake (`StatusID`, `Leadsource`) are known names: reading
//! yields nothing, writing is `[InvalidParameter]`. `StageID` defaults to the pipeline's
//! default stage on add (Keap's REST requires a stage; its XML-RPC does not).

use super::{Col, FieldSpec, Hints, Row, Table, Ty, custom_columns, ro, rw, to_body, to_row};
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::Cx;
use crate::xmlrpc::fault::{Code, Fault, XResult};
use async_trait::async_trait;
use axum::http::Method;
use keapsake_core::crm::custom_field::RecordType;
use keapsake_core::records::RecordKind;
use serde_json::{Value, json};

/// A field with no home in keapsake's opportunity document.
pub const NONE: &str = "!unsupported";

/// The `Lead` fields.
pub const FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    rw("OpportunityTitle", "opportunity_title", Ty::Str),
    rw("ContactID", "contact.id", Ty::Int),
    rw("AffiliateId", "affiliate_id", Ty::Int),
    rw("UserID", "user.id", Ty::Int),
    rw("StageID", "stage.id", Ty::Int),
    rw("StatusID", NONE, Ty::Int),
    rw("Leadsource", NONE, Ty::Str),
    rw("ProjectedRevenueLow", "projected_revenue_low", Ty::Double),
    rw("ProjectedRevenueHigh", "projected_revenue_high", Ty::Double),
    rw("OpportunityNotes", "opportunity_notes", Ty::Str),
    rw("EstimatedCloseDate", "estimated_close_date", Ty::DateTime),
    rw("NextActionDate", "next_action_date", Ty::DateTime),
    rw("NextActionNotes", "next_action_notes", Ty::Str),
    ro("DateCreated", "date_created", Ty::DateTime),
    ro("LastUpdated", "last_updated", Ty::DateTime),
];

/// The `Lead` table.
pub struct LeadTable;
/// The instance.
pub static LEAD: LeadTable = LeadTable;

const NAME: &str = "Lead";

async fn columns(cx: &Cx) -> XResult<Vec<Col>> {
    let mut cols: Vec<Col> = FIELDS.iter().map(Col::from).collect();
    cols.extend(custom_columns(cx, RecordType::Opportunity).await?);
    Ok(cols)
}

/// Rejects writes of fields keapsake does not store.
pub fn refuse_unsupported(table: &str, cols: &[Col], values: &[(String, XValue)]) -> XResult<()> {
    for (name, _) in values {
        let col = super::find_col(table, cols, name)?;
        if col.path.starts_with('!') && !col.ro {
            return Err(Fault::invalid(format!(
                "{table}.{name} is not supported by keapsake"
            )));
        }
    }
    Ok(())
}

async fn body(cx: &Cx, cols: &[Col], values: &[(String, XValue)]) -> XResult<Value> {
    refuse_unsupported(NAME, cols, values)?;
    to_body(NAME, cols, values, cx.zone().await)
}

async fn load_doc(cx: &Cx, id: i64) -> XResult<Value> {
    let (_, doc) = cx
        .rest(
            Method::GET,
            &format!("/opportunities/{id}?optional_properties=custom_fields"),
            None,
        )
        .await?;
    Ok(doc)
}

#[async_trait]
impl Table for LeadTable {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn columns(&self, cx: &Cx) -> XResult<Vec<Col>> {
        columns(cx).await
    }

    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let cols = columns(cx).await?;
        let mut body = body(cx, &cols, &values).await?;
        if body.get("stage").is_none() {
            let default = keapsake_core::crm_more::opportunity::STAGES
                .iter()
                .find(|s| s.is_default)
                .map_or(1, |s| s.id);
            body["stage"] = json!({ "id": default });
        }
        let (_, created) = cx.rest(Method::POST, "/opportunities", Some(&body)).await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(Fault::internal)
    }

    async fn update(&self, cx: &Cx, id: i64, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let cols = columns(cx).await?;
        let body = body(cx, &cols, &values).await?;
        cx.rest(Method::PATCH, &format!("/opportunities/{id}"), Some(&body))
            .await?;
        Ok(id)
    }

    /// REST v1 has no opportunity delete; the record is removed through the store (which
    /// fires `opportunity.delete`).
    async fn delete(&self, cx: &Cx, id: i64) -> XResult<bool> {
        cx.require_write()?;
        cx.state
            .store
            .delete_record(cx.principal.account_id, RecordKind::Opportunity, id)
            .await?;
        Ok(true)
    }

    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let cols = columns(cx).await?;
        Ok(to_row(&load_doc(cx, id).await?, &cols, cx.zone().await))
    }

    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let cols = columns(cx).await?;
        let zone = cx.zone().await;
        if let Some(ids) = &hints.ids {
            let mut out = Vec::new();
            for id in ids {
                match load_doc(cx, *id).await {
                    Ok(d) => out.push(to_row(&d, &cols, zone)),
                    Err(f) if f.code == Code::RecordNotFound => {}
                    Err(f) => return Err(f),
                }
            }
            return Ok(out);
        }
        let docs = super::rest_collection(
            cx,
            "/opportunities",
            "opportunities",
            "optional_properties=custom_fields",
        )
        .await?;
        Ok(docs.iter().map(|d| to_row(d, &cols, zone)).collect())
    }
}
