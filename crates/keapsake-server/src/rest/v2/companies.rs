//! REST v2 companies (`keap/rest-v2.md` §5): list, create, get, `PATCH`, delete, and a
//! company's tags (list, add, remove). Same stored documents as v1's `/companies` and XML-RPC's
//! `Company` table ([`CompanyDoc`], validated by the same [`CompanyBody`] rules), tags by the
//! same [`LinkKind::CompanyTag`] links as `listCompaniesForTagId`, so the stores fire the same
//! `company.*` hooks.
//!
//! The v2 body is translated to v1's (`email_address.email` → `email_address`,
//! `email_address.opt_in_reason` → `opt_in_reason`, `address.postal_code` → `zip_code`) and
//! checked by v1's rules. The person-style columns of Keap's legacy table (`first_name`,
//! `job_title`, …) and `owner_id` are not kept by keapsake: accepted and ignored. Lists are
//! filtered, sorted and paged in memory.

use super::common::{
    ListParams, ListSpec, V2Id, V2Json, V2Query, all_links, all_records, list_response, or_missing,
    projection, require_write, sort_by_key, text_key, typed, unreadable, update_mask, within,
};
use super::contacts::{custom_kind, custom_matches};
use super::tags::{LoadedTag, load_tags};
use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{any, get, post};
use keapsake_core::crm::contact_v2::email_status_v2;
use keapsake_core::crm::custom_field::{CustomFieldDoc, RECORD_TYPE_KEY, RecordType};
use keapsake_core::crm::fold;
use keapsake_core::crm_more::company::{CompanyBody, CompanyChanges, CompanyDoc};
use keapsake_core::records::{
    Cond, Create, Edit, Edited, LinkKind, LinkOutcome, NewRecord, Record, RecordKind, Side,
};
use keapsake_core::v2::filter::{Clause, CustomFilterField, FieldSpec, Kind, Op, Operand};
use keapsake_core::v2::{check_names, format_time, parse_id};
use keapsake_core::{AccountId, StoreError};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Company routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/companies", get(list).post(create))
        // retrieveCompanyCustomFieldModel: the fallback's 501, not a company id.
        .route("/companies/model", any(super::fallback))
        .route(
            "/companies/{company_id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/companies/{company_id}/tags", get(list_tags))
        .route(
            "/companies/{company_id}/tags/{tag_id}",
            post(add_tag).delete(remove_tag),
        )
}

const COMPANY: &str = "Company";
const DOMAIN: &str = "companies";

/// Every property of v2's `Company` (what `fields` accepts); keapsake renders those it keeps.
const FIELDS: &[&str] = &[
    "id",
    "company_name",
    "email_address",
    "phone_number",
    "fax_number",
    "address",
    "website",
    "notes",
    "custom_fields",
    "groups",
    "create_time",
    "update_time",
    "owner_id",
    "title",
    "first_name",
    "last_name",
    "middle_name",
    "suffix",
    "job_title",
    "preferred_name",
    "contact_type",
    "birth_date",
    "anniversary_date",
    "spouse_name",
    "referral_code",
    "assistant_name",
    "assistant_phone",
    "billing_information",
    "account_id",
    "created_by",
    "last_updated_by",
];

/// `listCompanies` leaves out `notes`, `fax_number`, `address`, `email_address`,
/// `phone_number`, `update_time`, `create_time` and `custom_fields` unless named.
const LIST_FIELDS: &[&str] = &["id", "company_name", "website", "groups"];

/// `getCompany` shows everything keapsake keeps.
const GET_FIELDS: &[&str] = &[
    "id",
    "company_name",
    "email_address",
    "phone_number",
    "fax_number",
    "address",
    "website",
    "notes",
    "custom_fields",
    "groups",
    "create_time",
    "update_time",
];

/// What `update_mask` accepts (the spec's enum).
const MASK: &[&str] = &[
    "id",
    "company_name",
    "address",
    "phone_number",
    "fax_number",
    "email_address",
    "notes",
    "website",
    "custom_fields",
    "create_time",
    "update_time",
    "anniversary_date",
    "assistant_name",
    "assistant_phone",
    "billing_information",
    "birth_date",
    "contact_type",
    "first_name",
    "job_title",
    "last_name",
    "middle_name",
    "preferred_name",
    "owner_id",
    "referral_code",
    "spouse_name",
    "suffix",
    "title",
    "account_id",
    "created_by",
    "groups",
    "last_updated_by",
];

const COMPANY_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("company_name"),
    FieldSpec::wildcard("name"),
    FieldSpec::text("email"),
    FieldSpec::wildcard("city"),
    FieldSpec::wildcard("state"),
    FieldSpec::of("since_time", Kind::Time),
    FieldSpec::of("until_time", Kind::Time),
    FieldSpec::of("company_id", Kind::Id).with_comparisons(),
];

const LIST: ListSpec = ListSpec {
    operation: "listCompanies",
    fields: COMPANY_FILTERS,
    order_by: &["id", "create_time", "name", "email"],
};

const TAG_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("name"),
    FieldSpec::text("description").with_none(),
    FieldSpec::of("category_id", Kind::Id).with_none(),
    FieldSpec::of("since_applied_time", Kind::Time),
    FieldSpec::of("until_applied_time", Kind::Time),
    FieldSpec::of("since_create_time", Kind::Time),
    FieldSpec::of("until_create_time", Kind::Time),
    FieldSpec::of("since_update_time", Kind::Time),
    FieldSpec::of("until_update_time", Kind::Time),
];

const LIST_TAGS: ListSpec = ListSpec {
    operation: "listTagsForCompany",
    fields: TAG_FILTERS,
    order_by: &[
        "name",
        "create_time",
        "update_time",
        "applied_time",
        "category_id",
    ],
};

/// A company as stored, with its record times.
struct Loaded {
    id: i64,
    doc: CompanyDoc,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Loaded {
    fn of(r: &Record) -> Result<Self, V2Error> {
        Ok(Self {
            id: r.id,
            doc: CompanyDoc::from_value(&r.data).map_err(unreadable)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    /// The v2 `Company` with the fields named (absent values omitted).
    fn render(&self, fields: &[&str], tags: &[i64]) -> Value {
        let d = &self.doc;
        let mut m = Map::new();
        for f in fields {
            let v = match *f {
                "id" => json!(self.id.to_string()),
                "company_name" => json!(d.company_name),
                "email_address" => match &d.email_address {
                    None => continue,
                    Some(e) => {
                        let status = d.effective_email_status();
                        let mut o = Map::new();
                        o.insert("email".into(), json!(e));
                        o.insert("field".into(), json!("EMAIL1"));
                        if let Some(s) = status {
                            o.insert("email_opt_status".into(), json!(email_status_v2(s)));
                            o.insert("is_opt_in".into(), json!(s.is_opted_in()));
                        }
                        Value::Object(o)
                    }
                },
                "phone_number" => match &d.phone_number {
                    None => continue,
                    Some(p) => {
                        let mut o = Map::new();
                        o.insert("number".into(), json!(p.number));
                        if let Some(x) = &p.extension {
                            o.insert("extension".into(), json!(x));
                        }
                        if let Some(t) = &p.kind {
                            o.insert("type".into(), json!(t));
                        }
                        o.insert("field".into(), json!("PHONE1"));
                        Value::Object(o)
                    }
                },
                "fax_number" => match &d.fax_number {
                    None => continue,
                    Some(p) => {
                        let mut o = Map::new();
                        o.insert("number".into(), json!(p.number));
                        if let Some(t) = &p.kind {
                            o.insert("type".into(), json!(t));
                        }
                        o.insert("field".into(), json!("FAX1"));
                        Value::Object(o)
                    }
                },
                "address" => match &d.address {
                    None => continue,
                    Some(a) => {
                        let mut o = Map::new();
                        for (k, v) in [
                            ("line1", &a.line1),
                            ("line2", &a.line2),
                            ("locality", &a.locality),
                            ("region", &a.region),
                            ("zip_code", &a.zip_code),
                            ("zip_four", &a.zip_four),
                            ("country_code", &a.country_code),
                        ] {
                            if let Some(v) = v {
                                o.insert(k.into(), json!(v));
                            }
                        }
                        if let Some(z) = &a.zip_code {
                            o.insert("postal_code".into(), json!(z));
                        }
                        o.insert("field".into(), json!("BILLING"));
                        Value::Object(o)
                    }
                },
                "website" => match &d.website {
                    None => continue,
                    Some(w) => json!(w),
                },
                "notes" => match &d.notes {
                    None => continue,
                    Some(n) => json!(n),
                },
                "custom_fields" => Value::Array(
                    d.custom_fields
                        .iter()
                        .map(|c| json!({"id": c.id.to_string(), "content": c.content}))
                        .collect(),
                ),
                "groups" => {
                    if tags.is_empty() {
                        continue;
                    }
                    let ids: Vec<String> = tags.iter().map(i64::to_string).collect();
                    json!(ids.join(","))
                }
                "create_time" => json!(format_time(self.created_at)),
                "update_time" => json!(format_time(self.updated_at)),
                _ => continue,
            };
            m.insert((*f).to_owned(), v);
        }
        Value::Object(m)
    }

    /// Whether the company satisfies one clause of a `listCompanies` filter.
    fn matches(&self, c: &Clause) -> bool {
        let d = &self.doc;
        if let Some(id) = c.custom {
            let content = d
                .custom_fields
                .iter()
                .find(|e| e.id == id)
                .map(|e| &e.content);
            return custom_matches(c, content);
        }
        let addr = d.address.as_ref();
        match (c.field.as_str(), &c.value) {
            ("company_name" | "name", v) => v.matches_text(Some(&d.company_name)),
            ("email", v) => v.matches_text(d.email_address.as_deref()),
            ("city", v) => v.matches_text(addr.and_then(|a| a.locality.as_deref())),
            ("state", v) => v.matches_text(addr.and_then(|a| a.region.as_deref())),
            ("since_time", Operand::Time(t)) => within(self.updated_at, Some(*t), None),
            ("until_time", Operand::Time(t)) => within(self.updated_at, None, Some(*t)),
            ("company_id", Operand::Id(want)) => c.op.holds(self.id.cmp(want)),
            _ => true,
        }
    }
}

/// The account's company custom fields: `(id, definition)`.
async fn company_custom_fields(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<(i64, CustomFieldDoc)>, V2Error> {
    let records = all_records(
        state,
        account,
        RecordKind::CustomField,
        vec![Cond::TextEq(
            RECORD_TYPE_KEY,
            RecordType::Company.as_str().to_owned(),
        )],
    )
    .await?;
    records
        .iter()
        .map(|r| {
            CustomFieldDoc::from_value(&r.data)
                .map(|d| (r.id, d))
                .map_err(unreadable)
        })
        .collect()
}

/// The tag ids applied to each of `ids`.
async fn tags_of(
    state: &AppState,
    account: AccountId,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<i64>>, V2Error> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(1000) {
        for l in state
            .store
            .links_of(account, LinkKind::CompanyTag, chunk)
            .await?
        {
            out.entry(l.a).or_default().push(l.b);
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    Ok(out)
}

async fn render_one(
    state: &AppState,
    account: AccountId,
    record: &Record,
    fields: &[&str],
) -> Result<Value, V2Error> {
    let c = Loaded::of(record)?;
    let tags = if fields.contains(&"groups") {
        tags_of(state, account, &[c.id])
            .await?
            .remove(&c.id)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(c.render(fields, &tags))
}

async fn ensure_company(state: &AppState, account: AccountId, id: i64) -> Result<Record, V2Error> {
    state
        .store
        .get_record(account, RecordKind::Company, id)
        .await
        .map_err(or_missing(COMPANY, DOMAIN, id))
}

/// `GET /companies`: filter `company_name` (exact), `name`, `city`, `state` (trailing `*`),
/// `email`, `since_time`/`until_time` (update time), `company_id` (comparisons), custom fields
/// by name; order `id` (default), `create_time`, `name`, `email`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/companies",
    tag = "Companies (v2)",
    params(("filter" = Option<String>, Query, description = "company_name, name (*), email, city (*), state (*), since_time, until_time, company_id (== > < >= <=), custom fields by name"), ("order_by" = Option<String>, Query, description = "id, create_time, name or email, then asc or desc"), ("fields" = Option<String>, Query, description = "Company properties to include"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "A page of companies", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, V2Error> {
    let account = principal.account_id;
    let q = V2Query::from_uri(&uri);
    let fields = projection(&q, FIELDS, LIST_FIELDS)?;
    let custom = if q.filter_text()?.is_empty() {
        Vec::new()
    } else {
        company_custom_fields(&state, account).await?
    };
    let lookup = |name: &str| {
        custom
            .iter()
            .find(|(_, d)| d.field_name.eq_ignore_ascii_case(name))
            .map(|(id, d)| {
                let (kind, comparisons) = custom_kind(d.field_type);
                CustomFilterField {
                    id: *id,
                    kind,
                    comparisons,
                }
            })
    };
    let params = ListParams::parse(&q, &LIST, "", &lookup)?;
    let mut conds = Vec::new();
    for c in &params.filter.clauses {
        match (c.field.as_str(), &c.value) {
            ("since_time", Operand::Time(t)) => conds.push(Cond::UpdatedSince(*t)),
            ("until_time", Operand::Time(t)) => conds.push(Cond::UpdatedUntil(*t)),
            ("company_id", Operand::Id(id)) if c.op == Op::Eq => {
                conds.push(Cond::IdIn(vec![*id]));
            }
            _ => {}
        }
    }
    let records = all_records(&state, account, RecordKind::Company, conds).await?;
    let mut rows = Vec::new();
    for r in &records {
        let c = Loaded::of(r)?;
        if params.filter.clauses.iter().all(|cl| c.matches(cl)) {
            rows.push(c);
        }
    }
    let desc = params.descending();
    match params.order_field("id") {
        "create_time" => sort_by_key(&mut rows, desc, |c| (c.created_at, c.id)),
        "name" => sort_by_key(&mut rows, desc, |c| (fold(c.doc.company_name.trim()), c.id)),
        "email" => sort_by_key(&mut rows, desc, |c| {
            (text_key(c.doc.email_address.as_deref()), c.id)
        }),
        _ => sort_by_key(&mut rows, desc, |c| (c.id, c.id)),
    }
    let (page, next) = params.page(rows);
    let tags = if fields.contains(&"groups") {
        let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
        tags_of(&state, account, &ids).await?
    } else {
        HashMap::new()
    };
    let items = page
        .iter()
        .map(|c| c.render(&fields, tags.get(&c.id).map_or(&[][..], Vec::as_slice)))
        .collect();
    Ok(list_response("companies", items, next))
}

/// A text member of a v2 body copied to the v1 body under `to`.
fn copy(v2: &Map<String, Value>, from: &str, v1: &mut Map<String, Value>, to: &str) {
    if let Some(v) = v2.get(from) {
        v1.insert(to.to_owned(), v.clone());
    }
}

/// Translates a v2 company body (only the members `keep` allows) into v1's, checked by v1's
/// rules.
fn changes_of(
    body: &Map<String, Value>,
    keep: &dyn Fn(&str) -> bool,
) -> Result<CompanyChanges, V2Error> {
    let mut v1 = Map::new();
    for name in ["company_name", "website", "notes", "custom_fields"] {
        if keep(name) {
            copy(body, name, &mut v1, name);
        }
    }
    if keep("email_address") {
        match body.get("email_address") {
            None => {}
            Some(Value::Null) => {
                v1.insert("email_address".into(), Value::Null);
            }
            Some(Value::String(s)) => {
                v1.insert("email_address".into(), json!(s));
            }
            Some(Value::Object(e)) => {
                v1.insert(
                    "email_address".into(),
                    e.get("email").cloned().unwrap_or(Value::Null),
                );
                copy(e, "opt_in_reason", &mut v1, "opt_in_reason");
            }
            Some(_) => {
                return Err(V2Error::bad_request(
                    "email_address must be an object {\"email\"}",
                ));
            }
        }
    }
    for (name, members) in [
        ("phone_number", &["number", "extension", "type"][..]),
        ("fax_number", &["number", "type"][..]),
    ] {
        if !keep(name) {
            continue;
        }
        match body.get(name) {
            None => {}
            Some(Value::Object(p)) => {
                let mut o = Map::new();
                for m in members {
                    copy(p, m, &mut o, m);
                }
                v1.insert(name.into(), Value::Object(o));
            }
            Some(other) => {
                v1.insert(name.into(), other.clone());
            }
        }
    }
    if keep("address") {
        match body.get("address") {
            None => {}
            Some(Value::Object(a)) => {
                let mut o = Map::new();
                for m in [
                    "line1",
                    "line2",
                    "locality",
                    "region",
                    "zip_code",
                    "zip_four",
                    "country_code",
                ] {
                    copy(a, m, &mut o, m);
                }
                if !o.contains_key("zip_code") {
                    copy(a, "postal_code", &mut o, "zip_code");
                }
                if !o.contains_key("region") {
                    copy(a, "region_code", &mut o, "region");
                }
                v1.insert("address".into(), Value::Object(o));
            }
            Some(other) => {
                v1.insert("address".into(), other.clone());
            }
        }
    }
    let b: CompanyBody = typed(v1)?;
    b.into_changes().map_err(V2Error::bad_request)
}

/// Checks the custom fields of a change belong to this account's companies.
async fn ensure_refs(
    state: &AppState,
    account: AccountId,
    ch: &CompanyChanges,
) -> Result<(), V2Error> {
    crate::rest::v1::common::ensure_custom_fields(
        state,
        account,
        &ch.custom_field_ids(),
        RecordType::Company,
    )
    .await?;
    Ok(())
}

fn stored(r: Result<Edited, StoreError>, id: Option<i64>) -> Result<Record, V2Error> {
    match r {
        Ok(Edited::Updated(r)) => Ok(r),
        Ok(Edited::Rejected(msg)) => Err(V2Error::bad_request(msg)),
        Err(StoreError::NotFound) => Err(V2Error::missing(COMPANY, DOMAIN, id.unwrap_or(0))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /companies`: **201** with the company (`company_name` required).
///
/// # Errors
/// 400 (no name, validation, unknown custom field), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/companies",
    tag = "Companies (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created company", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let changes = changes_of(&body, &|_| true)?;
    ensure_refs(&state, account, &changes).await?;
    let create: Create = Box::new(move |_| {
        let doc = CompanyDoc::create(&changes)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Company, create, state.clock.now())
            .await,
        None,
    )?;
    Ok(json(
        StatusCode::CREATED,
        &render_one(&state, account, &record, GET_FIELDS).await?,
    ))
}

/// `GET /companies/{company_id}?fields=`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/companies/{company_id}",
    tag = "Companies (v2)",
    params(("company_id" = String, Path, description = "Company id"), ("fields" = Option<String>, Query, description = "Company properties to include")),
    responses((status = 200, description = "The company", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such company")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
) -> Result<Response, V2Error> {
    let fields = projection(&V2Query::from_uri(&uri), FIELDS, GET_FIELDS)?;
    let record = ensure_company(&state, principal.account_id, id).await?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, principal.account_id, &record, &fields).await?,
    ))
}

/// `PATCH /companies/{company_id}?update_mask=`: changes the members named in `update_mask`,
/// else those sent; 200 with the company.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/companies/{company_id}",
    tag = "Companies (v2)",
    params(("company_id" = String, Path, description = "Company id"), ("update_mask" = Option<String>, Query, description = "Company properties to update")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated company", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such company")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let mask = update_mask(&V2Query::from_uri(&uri))?;
    if let Some(m) = &mask {
        check_names("update_mask", m, MASK).map_err(V2Error::bad_request)?;
    }
    let keep = |name: &str| mask.as_ref().is_none_or(|m| m.iter().any(|f| f == name));
    let changes = changes_of(&body, &keep)?;
    ensure_refs(&state, account, &changes).await?;
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = CompanyDoc::from_value(data)?;
        doc.update(&changes)?;
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let record = stored(
        state
            .store
            .update_record(account, RecordKind::Company, id, edit, state.clock.now())
            .await,
        Some(id),
    )?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, account, &record, GET_FIELDS).await?,
    ))
}

/// `DELETE /companies/{company_id}`: 204; its tag links go with it (contacts that named it keep
/// their own data and simply show no company).
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/companies/{company_id}",
    tag = "Companies (v2)",
    params(("company_id" = String, Path, description = "Company id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such company")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    state
        .store
        .delete_record(principal.account_id, RecordKind::Company, id)
        .await
        .map_err(or_missing(COMPANY, DOMAIN, id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /companies/{company_id}/tags`: `{"tags":[{"tag":Tag,"applied_time"}],
/// "next_page_token"}`; filter `name`, `description` (`NONE`), `category_id` (`NONE`),
/// applied, creation and update bounds; order `name`, `create_time`, `update_time`,
/// `applied_time`, `category_id` (default: tag id).
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/companies/{company_id}/tags",
    tag = "Companies (v2)",
    params(("company_id" = String, Path, description = "Company id"), ("filter" = Option<String>, Query, description = "name, description (NONE), category_id (NONE), since/until_applied_time, since/until_create_time, since/until_update_time"), ("order_by" = Option<String>, Query, description = "name, create_time, update_time, applied_time or category_id, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "The company's tags", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such company")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_tags(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_TAGS, &id.to_string(), &|_| None)?;
    let account = principal.account_id;
    ensure_company(&state, account, id).await?;
    let links = all_links(&state, account, LinkKind::CompanyTag, Side::A(id)).await?;
    let ids: Vec<i64> = links.iter().map(|l| l.b).collect();
    let tags = load_tags(&state, account, &ids).await?;
    let f = &params.filter;
    let mut rows: Vec<(&LoadedTag, OffsetDateTime)> = links
        .iter()
        .filter_map(|l| tags.get(&l.b).map(|t| (t, l.created_at)))
        .filter(|(t, applied)| {
            t.matches(f)
                && within(
                    *applied,
                    f.time("since_applied_time"),
                    f.time("until_applied_time"),
                )
        })
        .collect();
    let desc = params.descending();
    match params.order.as_ref().map(|o| o.field) {
        Some("name") => sort_by_key(&mut rows, desc, |(t, _)| (fold(&t.doc.name), t.id)),
        Some("create_time") => sort_by_key(&mut rows, desc, |(t, _)| (t.created_at, t.id)),
        Some("update_time") => sort_by_key(&mut rows, desc, |(t, _)| (t.updated_at, t.id)),
        Some("applied_time") => sort_by_key(&mut rows, desc, |(t, a)| (*a, t.id)),
        Some("category_id") => sort_by_key(&mut rows, desc, |(t, _)| (t.doc.category_id, t.id)),
        _ => sort_by_key(&mut rows, desc, |(t, _)| (t.id, t.id)),
    }
    let (page, next) = params.page(rows);
    let items = page
        .into_iter()
        .map(|(t, applied)| json!({"tag": t.render(), "applied_time": format_time(applied)}))
        .collect();
    Ok(list_response("tags", items, next))
}

/// The two path ids of `/companies/{company_id}/tags/{tag_id}`: digits, else 400.
fn pair(raw: (String, String)) -> Result<(i64, i64), V2Error> {
    let id = |s: &str| {
        parse_id(s).ok_or_else(|| {
            V2Error::bad_request(format!(
                "Invalid id {s:?} in path: ids are strings of digits within int64"
            ))
        })
    };
    Ok((id(&raw.0)?, id(&raw.1)?))
}

/// `POST /companies/{company_id}/tags/{tag_id}`: 204, also when the tag was already applied.
///
/// # Errors
/// 400, 403, 404 (no such company or tag).
#[utoipa::path(
    post,
    path = "/crm/rest/v2/companies/{company_id}/tags/{tag_id}",
    tag = "Companies (v2)",
    params(("company_id" = String, Path, description = "Company id"), ("tag_id" = String, Path, description = "Tag id")),
    responses((status = 204, description = "Applied"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such company or tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn add_tag(
    State(state): State<AppState>,
    principal: Principal,
    raw: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, V2Error> {
    let Path(raw) = raw.map_err(|_| V2Error::bad_request("Invalid id in path"))?;
    let (company, tag) = pair(raw)?;
    require_write(&principal)?;
    let outcome = state
        .store
        .link(
            principal.account_id,
            LinkKind::CompanyTag,
            &[(company, tag)],
            state.clock.now(),
        )
        .await?;
    match outcome.first() {
        Some(LinkOutcome::MissingA) => Err(V2Error::missing(COMPANY, DOMAIN, company)),
        Some(LinkOutcome::MissingB) => Err(V2Error::missing("Tag", "tags", tag)),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// `DELETE /companies/{company_id}/tags/{tag_id}`: 204, also when the tag was not applied.
///
/// # Errors
/// 400, 403, 404 (no such company or tag).
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/companies/{company_id}/tags/{tag_id}",
    tag = "Companies (v2)",
    params(("company_id" = String, Path, description = "Company id"), ("tag_id" = String, Path, description = "Tag id")),
    responses((status = 204, description = "Removed"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such company or tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_tag(
    State(state): State<AppState>,
    principal: Principal,
    raw: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, V2Error> {
    let Path(raw) = raw.map_err(|_| V2Error::bad_request("Invalid id in path"))?;
    let (company, tag) = pair(raw)?;
    require_write(&principal)?;
    let account = principal.account_id;
    ensure_company(&state, account, company).await?;
    state
        .store
        .get_record(account, RecordKind::Tag, tag)
        .await
        .map_err(or_missing("Tag", "tags", tag))?;
    state
        .store
        .unlink(account, LinkKind::CompanyTag, &[(company, tag)])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
