//! `Contact` (`keap/xmlrpc.md` §5.1) ↔ the REST v1 contact document
//! (`keapsake_core::crm::contact`). The field table below is the whole mapping, read and write.
//!
//! Fields Keap has and keapsake stores nowhere (`AssistantName`, `ContactNotes`, `Username`,
//! …) are known names: reading them yields nothing (empty fields are omitted), writing them is
//! `[InvalidParameter]` rather than silently dropped. `Country` is REST's ISO 3166-1 alpha-3
//! code; `PostalCode` is REST's `postal_code`.

use super::{Col, FieldSpec, Hints, Row, Table, Ty, custom_columns, ro, rw, to_body, to_row};
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::Cx;
use crate::xmlrpc::fault::{Fault, XResult};
use async_trait::async_trait;
use axum::http::Method;
use keapsake_core::crm::custom_field::RecordType;
use serde_json::{Value, json};

/// A field with no home in keapsake's contact document.
const NONE: &str = "!unsupported";

/// The `Contact` fields.
pub const FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    rw("FirstName", "given_name", Ty::Str),
    rw("MiddleName", "middle_name", Ty::Str),
    rw("LastName", "family_name", Ty::Str),
    rw("Nickname", "preferred_name", Ty::Str),
    rw("Title", "prefix", Ty::Str),
    rw("Suffix", "suffix", Ty::Str),
    rw("SpouseName", "spouse_name", Ty::Str),
    rw("Birthday", "birthday", Ty::DateTime),
    rw("Anniversary", "anniversary", Ty::Date),
    rw("JobTitle", "job_title", Ty::Str),
    rw("Company", "company.company_name", Ty::Str),
    rw("CompanyID", "company.id", Ty::Int),
    rw("ContactType", "contact_type", Ty::Str),
    rw("OwnerID", "owner_id", Ty::Int),
    rw("LeadSourceId", "lead_source_id", Ty::Int),
    rw("Website", "website", Ty::Str),
    rw("TimeZone", "time_zone", Ty::Str),
    rw("Language", "preferred_locale", Ty::Str),
    rw("Email", "email_addresses[EMAIL1].email", Ty::Str),
    rw("EmailAddress2", "email_addresses[EMAIL2].email", Ty::Str),
    rw("EmailAddress3", "email_addresses[EMAIL3].email", Ty::Str),
    rw("Phone1", "phone_numbers[PHONE1].number", Ty::Str),
    rw("Phone1Ext", "phone_numbers[PHONE1].extension", Ty::Str),
    rw("Phone1Type", "phone_numbers[PHONE1].type", Ty::Str),
    rw("Phone2", "phone_numbers[PHONE2].number", Ty::Str),
    rw("Phone2Ext", "phone_numbers[PHONE2].extension", Ty::Str),
    rw("Phone2Type", "phone_numbers[PHONE2].type", Ty::Str),
    rw("Phone3", "phone_numbers[PHONE3].number", Ty::Str),
    rw("Phone3Ext", "phone_numbers[PHONE3].extension", Ty::Str),
    rw("Phone3Type", "phone_numbers[PHONE3].type", Ty::Str),
    rw("Phone4", "phone_numbers[PHONE4].number", Ty::Str),
    rw("Phone4Ext", "phone_numbers[PHONE4].extension", Ty::Str),
    rw("Phone4Type", "phone_numbers[PHONE4].type", Ty::Str),
    rw("Phone5", "phone_numbers[PHONE5].number", Ty::Str),
    rw("Phone5Ext", "phone_numbers[PHONE5].extension", Ty::Str),
    rw("Phone5Type", "phone_numbers[PHONE5].type", Ty::Str),
    rw("Fax1", "fax_numbers[FAX1].number", Ty::Str),
    rw("Fax1Type", "fax_numbers[FAX1].type", Ty::Str),
    rw("Fax2", "fax_numbers[FAX2].number", Ty::Str),
    rw("Fax2Type", "fax_numbers[FAX2].type", Ty::Str),
    rw("StreetAddress1", "addresses[BILLING].line1", Ty::Str),
    rw("StreetAddress2", "addresses[BILLING].line2", Ty::Str),
    rw("City", "addresses[BILLING].locality", Ty::Str),
    rw("State", "addresses[BILLING].region", Ty::Str),
    rw("PostalCode", "addresses[BILLING].postal_code", Ty::Str),
    rw("ZipFour1", "addresses[BILLING].zip_four", Ty::Str),
    rw("Country", "addresses[BILLING].country_code", Ty::Str),
    rw("Address2Street1", "addresses[SHIPPING].line1", Ty::Str),
    rw("Address2Street2", "addresses[SHIPPING].line2", Ty::Str),
    rw("City2", "addresses[SHIPPING].locality", Ty::Str),
    rw("State2", "addresses[SHIPPING].region", Ty::Str),
    rw("PostalCode2", "addresses[SHIPPING].postal_code", Ty::Str),
    rw("ZipFour2", "addresses[SHIPPING].zip_four", Ty::Str),
    rw("Country2", "addresses[SHIPPING].country_code", Ty::Str),
    rw("Address3Street1", "addresses[OTHER].line1", Ty::Str),
    rw("Address3Street2", "addresses[OTHER].line2", Ty::Str),
    rw("City3", "addresses[OTHER].locality", Ty::Str),
    rw("State3", "addresses[OTHER].region", Ty::Str),
    rw("PostalCode3", "addresses[OTHER].postal_code", Ty::Str),
    rw("ZipFour3", "addresses[OTHER].zip_four", Ty::Str),
    rw("Country3", "addresses[OTHER].country_code", Ty::Str),
    ro("DateCreated", "date_created", Ty::DateTime),
    ro("LastUpdated", "last_updated", Ty::DateTime),
    ro("Groups", "tag_ids", Ty::IdList),
    rw("AccountId", NONE, Ty::Int),
    rw("AssistantName", NONE, Ty::Str),
    rw("AssistantPhone", NONE, Ty::Str),
    rw("BillingInformation", NONE, Ty::Str),
    rw("ContactNotes", NONE, Ty::Str),
    rw("Leadsource", NONE, Ty::Str),
    rw("ReferralCode", NONE, Ty::Str),
    rw("Username", NONE, Ty::Str),
    rw("Password", NONE, Ty::Str),
    rw("Address1Type", NONE, Ty::Str),
    rw("Address2Type", NONE, Ty::Str),
    rw("Address3Type", NONE, Ty::Str),
    ro("CreatedBy", NONE, Ty::Int),
    ro("LastUpdatedBy", NONE, Ty::Int),
    ro("Validated", NONE, Ty::Int),
];

/// The `Contact` table.
pub struct ContactTable;
/// The instance.
pub static CONTACT: ContactTable = ContactTable;

const NAME: &str = "Contact";

/// Every v1 field beyond the list view's defaults, so list and single reads give one row.
fn optional() -> String {
    use keapsake_core::crm::contact::{OPTIONAL_PROPERTIES, SINGLE_EXTRA_FIELDS};
    let all: Vec<&str> = OPTIONAL_PROPERTIES
        .iter()
        .chain(SINGLE_EXTRA_FIELDS)
        .copied()
        .collect();
    all.join(",")
}

/// Every column of `Contact` for this account.
///
/// # Errors
/// Store failures.
pub async fn columns(cx: &Cx) -> XResult<Vec<Col>> {
    let mut cols: Vec<Col> = FIELDS.iter().map(Col::from).collect();
    cols.extend(custom_columns(cx, RecordType::Contact).await?);
    Ok(cols)
}

/// `Company` given as text: the id of the company of that name (created when none exists),
/// as Keap links contacts to company records by name.
async fn company_id(cx: &Cx, name: &str) -> XResult<i64> {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("company_name", name)
        .append_pair("limit", "1")
        .finish();
    let (_, page) = cx
        .rest(Method::GET, &format!("/companies?{q}"), None)
        .await?;
    if let Some(id) = page
        .get("companies")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("id"))
        .and_then(Value::as_i64)
    {
        return Ok(id);
    }
    let (_, created) = cx
        .rest(
            Method::POST,
            "/companies",
            Some(&json!({"company_name": name})),
        )
        .await?;
    created
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(Fault::internal)
}

/// A struct of `Contact` values as a REST v1 contact body.
///
/// # Errors
/// `[NoFieldFound]`, `[InvalidParameter]`.
pub async fn body(cx: &Cx, values: &[(String, XValue)]) -> XResult<Value> {
    let cols = columns(cx).await?;
    for (name, _) in values {
        let col = super::find_col(NAME, &cols, name)?;
        if col.path == NONE && !col.ro {
            return Err(Fault::invalid(format!(
                "{NAME}.{name} is not supported by keapsake"
            )));
        }
    }
    let zone = cx.zone().await;
    let mut body = to_body(NAME, &cols, values, zone)?;
    let company_name = body
        .get("company")
        .and_then(|c| c.get("company_name"))
        .and_then(Value::as_str)
        .map(str::trim)
        .map(str::to_owned);
    let has_id = body.get("company").and_then(|c| c.get("id")).is_some();
    if let Some(obj) = body.get_mut("company").and_then(Value::as_object_mut) {
        obj.remove("company_name");
    }
    if let Some(name) = company_name
        && !has_id
    {
        if name.is_empty() {
            body["company"] = Value::Null;
        } else {
            body["company"] = json!({"id": company_id(cx, &name).await?});
        }
    }
    Ok(body)
}

/// A REST v1 contact as a row.
pub fn row(doc: &Value, cols: &[Col], zone: crate::xmlrpc::tz::Zone) -> Row {
    to_row(doc, cols, zone)
}

/// Loads one contact as a row.
///
/// # Errors
/// `[RecordNotFound]`.
pub async fn load_row(cx: &Cx, cols: &[Col], id: i64) -> XResult<Row> {
    let (_, doc) = cx
        .rest(
            Method::GET,
            &format!("/contacts/{id}?optional_properties={}", optional()),
            None,
        )
        .await?;
    Ok(row(&doc, cols, cx.zone().await))
}

/// Contacts matching REST list parameters (`email=…`), every page.
///
/// # Errors
/// Store failures.
pub async fn list_rows(cx: &Cx, cols: &[Col], filter: &str) -> XResult<Vec<Row>> {
    let zone = cx.zone().await;
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let (_, page) = cx
            .rest(
                Method::GET,
                &format!(
                    "/contacts?limit=1000&offset={offset}&optional_properties={}{filter}",
                    optional()
                ),
                None,
            )
            .await?;
        let items = page
            .get("contacts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let n = items.len();
        out.extend(items.iter().map(|d| row(d, cols, zone)));
        if n < 1000 {
            break;
        }
        offset += 1000;
    }
    Ok(out)
}

#[async_trait]
impl Table for ContactTable {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn columns(&self, cx: &Cx) -> XResult<Vec<Col>> {
        columns(cx).await
    }

    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = body(cx, &values).await?;
        let (_, created) = cx.rest(Method::POST, "/contacts", Some(&body)).await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(Fault::internal)
    }

    async fn update(&self, cx: &Cx, id: i64, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = body(cx, &values).await?;
        cx.rest(Method::PATCH, &format!("/contacts/{id}"), Some(&body))
            .await?;
        Ok(id)
    }

    async fn delete(&self, cx: &Cx, id: i64) -> XResult<bool> {
        cx.require_write()?;
        cx.rest(Method::DELETE, &format!("/contacts/{id}"), None)
            .await?;
        Ok(true)
    }

    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let cols = columns(cx).await?;
        load_row(cx, &cols, id).await
    }

    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let cols = columns(cx).await?;
        if let Some(ids) = &hints.ids {
            let mut out = Vec::new();
            for id in ids {
                match load_row(cx, &cols, *id).await {
                    Ok(r) => out.push(r),
                    Err(f) if f.code == crate::xmlrpc::fault::Code::RecordNotFound => {}
                    Err(f) => return Err(f),
                }
            }
            return Ok(out);
        }
        // Equality on Email is pushed down to the indexed e-mail keys (any slot; the caller
        // re-checks the slot).
        let email = hints
            .eq
            .iter()
            .find(|(n, _)| n == "Email" || n == "EmailAddress2" || n == "EmailAddress3")
            .map(|(_, v)| v.clone());
        let filter = match email {
            Some(e) => format!(
                "&{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("email", e.trim())
                    .finish()
            ),
            None => String::new(),
        };
        list_rows(cx, &cols, &filter).await
    }
}
