//! Tables backed by one REST v1 collection each: `Company` (`/companies`), `User` (`/users`,
//! read-only), and `DataFormField` (custom field definitions, read-only; created with
//! `DataService.addCustomField`).

use super::{Col, FieldSpec, Hints, Row, Table, Ty, custom_columns, ro, rw, to_body, to_row};
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::Cx;
use crate::xmlrpc::fault::{Fault, XResult};
use async_trait::async_trait;
use axum::http::Method;
use keapsake_core::crm::custom_field::{CustomFieldDoc, RecordType};
use keapsake_core::records::{Query, RecordKind};
use serde_json::{Value, json};

/// `Company` fields: Keap gives companies the column names of `Contact`.
pub const COMPANY_FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    rw("Company", "company_name", Ty::Str),
    rw("Email", "email_address", Ty::Str),
    rw("Phone1", "phone_number.number", Ty::Str),
    rw("Phone1Ext", "phone_number.extension", Ty::Str),
    rw("Phone1Type", "phone_number.type", Ty::Str),
    rw("Fax1", "fax_number.number", Ty::Str),
    rw("Fax1Type", "fax_number.type", Ty::Str),
    rw("StreetAddress1", "address.line1", Ty::Str),
    rw("StreetAddress2", "address.line2", Ty::Str),
    rw("City", "address.locality", Ty::Str),
    rw("State", "address.region", Ty::Str),
    rw("PostalCode", "address.zip_code", Ty::Str),
    rw("ZipFour1", "address.zip_four", Ty::Str),
    rw("Country", "address.country_code", Ty::Str),
    rw("Website", "website", Ty::Str),
    rw("ContactNotes", "notes", Ty::Str),
];

/// `User` fields (read-only).
pub const USER_FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    ro("GlobalUserId", "global_user_id", Ty::Int),
    ro("FirstName", "given_name", Ty::Str),
    ro("LastName", "family_name", Ty::Str),
    ro("Email", "email_address", Ty::Str),
    ro("Nickname", "preferred_name", Ty::Str),
    ro("City", "address.locality", Ty::Str),
    ro("Title", "job_title", Ty::Str),
];

/// `DataFormField` fields (read-only).
pub const FORM_FIELD_FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    ro("Label", "label", Ty::Str),
    ro("Name", "name", Ty::Str),
    ro("DataType", "field_type", Ty::Str),
    ro("FormId", "form_id", Ty::Int),
    ro("GroupId", "group_id", Ty::Int),
    ro("DefaultValue", "default_value", Ty::Str),
    ro("Values", "values", Ty::Str),
];

/// `Company`.
pub struct Company;
/// `User`.
pub struct Users;
/// `DataFormField`.
pub struct DataFormField;
/// Instance.
pub static COMPANY: Company = Company;
/// Instance.
pub static USER: Users = Users;
/// Instance.
pub static DATA_FORM_FIELD: DataFormField = DataFormField;

async fn company_cols(cx: &Cx) -> XResult<Vec<Col>> {
    let mut c: Vec<Col> = COMPANY_FIELDS.iter().map(Col::from).collect();
    c.extend(custom_columns(cx, RecordType::Company).await?);
    Ok(c)
}

#[async_trait]
impl Table for Company {
    fn name(&self) -> &'static str {
        "Company"
    }
    async fn columns(&self, cx: &Cx) -> XResult<Vec<Col>> {
        company_cols(cx).await
    }
    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = to_body(
            self.name(),
            &company_cols(cx).await?,
            &values,
            cx.zone().await,
        )?;
        let (_, created) = cx.rest(Method::POST, "/companies", Some(&body)).await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(Fault::internal)
    }
    async fn update(&self, cx: &Cx, id: i64, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = to_body(
            self.name(),
            &company_cols(cx).await?,
            &values,
            cx.zone().await,
        )?;
        cx.rest(Method::PATCH, &format!("/companies/{id}"), Some(&body))
            .await?;
        Ok(id)
    }
    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let (_, doc) = cx
            .rest(
                Method::GET,
                &format!("/companies/{id}?optional_properties=custom_fields,notes,fax_number"),
                None,
            )
            .await?;
        Ok(to_row(&doc, &company_cols(cx).await?, cx.zone().await))
    }
    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let cols = company_cols(cx).await?;
        let zone = cx.zone().await;
        if let Some(ids) = &hints.ids {
            let mut out = Vec::new();
            for id in ids {
                match self.load(cx, *id).await {
                    Ok(r) => out.push(r),
                    Err(f) if f.code == crate::xmlrpc::fault::Code::RecordNotFound => {}
                    Err(f) => return Err(f),
                }
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let (_, page) = cx
                .rest(
                    Method::GET,
                    &format!("/companies?limit=1000&offset={offset}&optional_properties=custom_fields,notes,fax_number"),
                    None,
                )
                .await?;
            let items = page
                .get("companies")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            out.extend(items.iter().map(|d| to_row(d, &cols, zone)));
            if n < 1000 {
                break;
            }
            offset += 1000;
        }
        Ok(out)
    }
}

#[async_trait]
impl Table for Users {
    fn name(&self) -> &'static str {
        "User"
    }
    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(USER_FIELDS.iter().map(Col::from).collect())
    }
    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        self.scan(cx, &Hints::default())
            .await?
            .into_iter()
            .find(|r| r.iter().any(|(n, v)| n == "Id" && *v == XValue::Int(id)))
            .ok_or_else(Fault::not_found)
    }
    async fn scan(&self, cx: &Cx, _hints: &Hints) -> XResult<Vec<Row>> {
        let (_, page) = cx.rest(Method::GET, "/users?limit=1000", None).await?;
        let cols: Vec<Col> = USER_FIELDS.iter().map(Col::from).collect();
        let zone = cx.zone().await;
        Ok(page
            .get("users")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|d| to_row(d, &cols, zone)).collect())
            .unwrap_or_default())
    }
}

/// Keap's `FormId` of a record type (§5.5).
pub fn form_id(t: RecordType) -> i64 {
    match t.as_str() {
        "CONTACT" => 1,
        "OPPORTUNITY" => 4,
        "COMPANY" => 6,
        "ORDER" => 9,
        "SUBSCRIPTION" => 10,
        _ => 5,
    }
}

fn form_field_json(id: i64, d: &CustomFieldDoc) -> Value {
    let name: String = d
        .label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let values: Vec<String> = d
        .options
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .filter_map(|o| o.get("label").and_then(Value::as_str).map(str::to_owned))
        .collect();
    json!({
        "id": id,
        "label": d.label,
        "name": name,
        "field_type": d.field_type.as_str(),
        "form_id": form_id(d.record_type),
        "group_id": d.group_id,
        "default_value": d.default_value,
        "values": values.join("\n"),
    })
}

#[async_trait]
impl Table for DataFormField {
    fn name(&self) -> &'static str {
        "DataFormField"
    }
    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(FORM_FIELD_FIELDS.iter().map(Col::from).collect())
    }
    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let r = cx
            .state
            .store
            .get_record(cx.principal.account_id, RecordKind::CustomField, id)
            .await?;
        let d = CustomFieldDoc::from_value(&r.data).map_err(|_| Fault::internal())?;
        let cols: Vec<Col> = FORM_FIELD_FIELDS.iter().map(Col::from).collect();
        Ok(to_row(&form_field_json(r.id, &d), &cols, cx.zone().await))
    }
    async fn scan(&self, cx: &Cx, _hints: &Hints) -> XResult<Vec<Row>> {
        let cols: Vec<Col> = FORM_FIELD_FIELDS.iter().map(Col::from).collect();
        let zone = cx.zone().await;
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let q = Query {
                limit: 1000,
                offset,
                ..Query::default()
            };
            let (page, _) = cx
                .state
                .store
                .list_records(cx.principal.account_id, RecordKind::CustomField, &q)
                .await?;
            let n = page.len();
            for r in page {
                if let Ok(d) = CustomFieldDoc::from_value(&r.data) {
                    out.push(to_row(&form_field_json(r.id, &d), &cols, zone));
                }
            }
            if n < 1000 {
                break;
            }
            offset += 1000;
        }
        Ok(out)
    }
}
