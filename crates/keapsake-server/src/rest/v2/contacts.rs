//! REST v2 contacts (`keap/rest-v2.md` §3): list, create (with `duplicate_option`), get,
//! `PATCH` with `update_mask`, delete, the tags of a contact, the model, and merge. The stored
//! document is v1's ([`ContactDoc`]): a contact written here is the same record over v1 and
//! XML-RPC and fires the same REST hooks (the stores write `contact.*` events in the write's
//! transaction). The v2 shape and body rules live in [`keapsake_core::crm::contact_v2`].
//!
//! Every handler takes the account only from the credential ([`Principal`]); another
//! account's id reads exactly like a missing one.

use super::common::{
    ListParams, ListSpec, V2Id, V2Json, V2Query, all_links, all_records, floor_to_millis,
    list_response, or_missing, projection, require_write, sort_by_key, typed, unreadable,
    update_mask, within,
};
use super::tags::{LoadedTag, load_tags};
use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use keapsake_core::crm::contact::{
    COMPANY_KEY, ContactDoc, DuplicateOption, EMAIL_KEYS, EmailField, FAMILY_NAME_KEY,
    GIVEN_NAME_KEY, PhoneField, name_key,
};
use keapsake_core::crm::contact_v2::{
    self, FIELDS, LIST_FIELDS, OPTIONAL_PROPERTIES, V2Changes, V2Meta,
};
use keapsake_core::crm::custom_field::{CustomFieldDoc, FieldType, RECORD_TYPE_KEY, RecordType};
use keapsake_core::crm::fold;
use keapsake_core::crm_more::note::NoteDoc;
use keapsake_core::crm_more::task::TaskDoc;
use keapsake_core::messaging::address::{ADDRESS_KEY, AddressDoc};
use keapsake_core::records::{
    Column, Cond, Create, Edit, Edited, LinkKind, NewRecord, Query, Record, RecordKind, Side,
    Upserted,
};
use keapsake_core::v2::filter::{Clause, CustomFilterField, FieldSpec, Kind, Op, Operand};
use keapsake_core::v2::{format_time, parse_id};
use keapsake_core::{AccountId, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// Contact routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts:merge", post(merge))
        .route("/contacts/model", get(model))
        .route(
            "/contacts/{contact_id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/contacts/{contact_id}/tags", get(list_tags))
}

const CONTACT: &str = "Contact";
const DOMAIN: &str = "contacts";

/// Address parts the `<slot>_address_<part>` filters read.
const ADDRESS_PARTS: &[&str] = &["line1", "locality", "region", "postal_code", "country_code"];

/// The filter fields of `listContacts` (the spec's list).
const FILTERS: &[FieldSpec] = &[
    FieldSpec::wildcard("email").with_none(),
    FieldSpec::wildcard("given_name").with_none(),
    FieldSpec::wildcard("family_name").with_none(),
    FieldSpec::wildcard("middle_name").with_none(),
    FieldSpec::of("company_id", Kind::Id),
    FieldSpec::of("contact_ids", Kind::IdList),
    FieldSpec::of("ids", Kind::IdList),
    FieldSpec::of("start_update_time", Kind::Time),
    FieldSpec::of("end_update_time", Kind::Time),
    FieldSpec::text("phone_number"),
    FieldSpec::of("phone_fields", Kind::Words),
    FieldSpec::text("billing_address_line1"),
    FieldSpec::text("billing_address_locality"),
    FieldSpec::text("billing_address_region"),
    FieldSpec::text("billing_address_postal_code"),
    FieldSpec::text("billing_address_country_code"),
    FieldSpec::text("shipping_address_line1"),
    FieldSpec::text("shipping_address_locality"),
    FieldSpec::text("shipping_address_region"),
    FieldSpec::text("shipping_address_postal_code"),
    FieldSpec::text("shipping_address_country_code"),
    FieldSpec::text("other_address_line1"),
    FieldSpec::text("other_address_locality"),
    FieldSpec::text("other_address_region"),
    FieldSpec::text("other_address_postal_code"),
    FieldSpec::text("other_address_country_code"),
    FieldSpec::wildcard("city"),
    FieldSpec::wildcard("state"),
    FieldSpec::wildcard("website"),
    FieldSpec::wildcard("lead_source_name"),
    FieldSpec::of("contact_id", Kind::Id).with_comparisons(),
];

const LIST: ListSpec = ListSpec {
    operation: "listContacts",
    fields: FILTERS,
    order_by: &["id", "create_time", "email", "update_time"],
};

const TAG_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("name"),
    FieldSpec::text("description"),
    FieldSpec::of("category_id", Kind::Id).with_none(),
    FieldSpec::of("since_applied_time", Kind::Time),
    FieldSpec::of("until_applied_time", Kind::Time),
    FieldSpec::of("since_create_time", Kind::Time),
    FieldSpec::of("until_create_time", Kind::Time),
    FieldSpec::of("since_update_time", Kind::Time),
    FieldSpec::of("until_update_time", Kind::Time),
];

const LIST_TAGS: ListSpec = ListSpec {
    operation: "listTagsForContact",
    fields: TAG_FILTERS,
    order_by: &[
        "name",
        "create_time",
        "update_time",
        "applied_time",
        "category_id",
    ],
};

/// How a custom field of a type is filtered (the spec's description of `listContacts`).
pub(crate) fn custom_kind(t: FieldType) -> (Kind, bool) {
    use FieldType as T;
    match t {
        T::Text
        | T::TextArea
        | T::Name
        | T::Email
        | T::PhoneNumber
        | T::Website
        | T::SocialSecurityNumber
        | T::Dropdown
        | T::Radio
        | T::State => (Kind::Text { wildcard: true }, false),
        T::YesNo | T::Drilldown | T::ListBox | T::UserListBox => {
            (Kind::Text { wildcard: false }, false)
        }
        T::WholeNumber
        | T::DecimalNumber
        | T::Currency
        | T::Percent
        | T::Year
        | T::Month
        | T::DayOfWeek
        | T::User => (Kind::Number, true),
        T::Date | T::DateTime => (Kind::Time, true),
    }
}

/// The account's contact custom fields: `(id, definition)`.
async fn contact_custom_fields(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<(i64, CustomFieldDoc)>, V2Error> {
    let records = all_records(
        state,
        account,
        RecordKind::CustomField,
        vec![Cond::TextEq(
            RECORD_TYPE_KEY,
            RecordType::Contact.as_str().to_owned(),
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

/// Renders contact records in the v2 shape with the fields named: tag ids, company names and
/// the status of addresses other than `EMAIL1` are loaded only when a field needs them.
async fn render(
    state: &AppState,
    account: AccountId,
    records: &[Record],
    fields: &[&str],
) -> Result<Vec<Value>, V2Error> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let docs = records
        .iter()
        .map(|r| ContactDoc::from_value(&r.data))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let wants = |f: &str| fields.contains(&f);
    let mut tags: HashMap<i64, Vec<i64>> = HashMap::new();
    if wants("tag_ids") || wants("groups") {
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        for link in state
            .store
            .links_of(account, LinkKind::ContactTag, &ids)
            .await?
        {
            tags.entry(link.a).or_default().push(link.b);
        }
    }
    let mut companies: HashMap<i64, String> = HashMap::new();
    if wants("company") {
        let ids: Vec<i64> = docs
            .iter()
            .filter_map(|d| d.company_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !ids.is_empty() {
            for r in state
                .store
                .get_records(account, RecordKind::Company, &ids)
                .await?
            {
                if let Some(name) = r.data.get("company_name").and_then(Value::as_str) {
                    companies.insert(r.id, name.to_owned());
                }
            }
        }
    }
    let mut statuses = HashMap::new();
    if wants("email_addresses") {
        let others: BTreeSet<String> = docs
            .iter()
            .flat_map(|d| d.email_addresses.iter())
            .filter(|e| e.field != EmailField::Email1)
            .map(|e| fold(e.email.trim()))
            .collect();
        for address in others {
            let (found, _) = state
                .store
                .list_records(
                    account,
                    RecordKind::EmailAddress,
                    &Query {
                        conds: vec![Cond::TextEq(ADDRESS_KEY, address.clone())],
                        limit: 1,
                        ..Query::default()
                    },
                )
                .await?;
            if let Some(r) = found.first() {
                let doc = AddressDoc::from_value(&r.data).map_err(unreadable)?;
                statuses.insert(address, doc.status);
            }
        }
    }
    // Links (an optional property): one lookup per contact, only when asked for.
    let mut links: HashMap<i64, Vec<Value>> = HashMap::new();
    if wants("links") {
        for r in records {
            let listed = crate::links::links_of(state, account, r.id).await?;
            links.insert(
                r.id,
                listed
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.id.to_string(),
                            "linked_contact_id": l.link.other(r.id).to_string(),
                            "link_type_id": l.link.link_type_id.to_string(),
                            "link_type_name": l.type_name,
                        })
                    })
                    .collect(),
            );
        }
    }
    Ok(records
        .iter()
        .zip(&docs)
        .map(|(r, doc)| {
            let contact_links = links.remove(&r.id).unwrap_or_default();
            let mut tag_ids = tags.remove(&r.id).unwrap_or_default();
            tag_ids.sort_unstable();
            let meta = V2Meta {
                id: r.id,
                created_at: r.created_at,
                updated_at: r.updated_at,
                tag_ids: &tag_ids,
                company_name: doc
                    .company_id
                    .and_then(|c| companies.get(&c))
                    .map(String::as_str),
                address_status: &statuses,
                links: &contact_links,
            };
            doc.render_v2(&meta, fields)
        })
        .collect())
}

async fn render_one(
    state: &AppState,
    account: AccountId,
    record: Record,
    fields: &[&str],
) -> Result<Value, V2Error> {
    render(state, account, std::slice::from_ref(&record), fields)
        .await?
        .pop()
        .ok_or_else(|| unreadable("a rendered contact went missing".to_owned()))
}

/// Checks what a change refers to: the company exists in this account, the owner is a member,
/// every custom field is a contact field of it (400 otherwise, as for ids that never existed).
async fn check_refs(state: &AppState, account: AccountId, ch: &V2Changes) -> Result<(), V2Error> {
    if let Some(company) = ch.changes.company() {
        match state
            .store
            .get_record(account, RecordKind::Company, company)
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(V2Error::bad_request(format!(
                    "Company {company} does not exist"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(owner) = ch.changes.owner_id.value() {
        crate::rest::v1::common::ensure_member(state, account, *owner, "owner_id").await?;
    }
    crate::rest::v1::common::ensure_custom_fields(
        state,
        account,
        &ch.changes.custom_field_ids(),
        RecordType::Contact,
    )
    .await?;
    Ok(())
}

/// Parses a body, checks its references and fills in the account's status of a new `EMAIL1`.
async fn prepared(
    state: &AppState,
    account: AccountId,
    body: &serde_json::Map<String, Value>,
    mask: Option<&[String]>,
) -> Result<V2Changes, V2Error> {
    let ch = contact_v2::changes(body, mask).map_err(V2Error::bad_request)?;
    check_refs(state, account, &ch).await?;
    let changes = crate::rest::v1::emails::with_address_status(state, account, ch.changes).await?;
    Ok(V2Changes {
        changes,
        extras: ch.extras,
    })
}

fn create_closure(ch: V2Changes, now: time::OffsetDateTime) -> Create {
    Box::new(move |_id| {
        let mut doc = ContactDoc::create(&ch.changes, now)?;
        ch.apply_extras(&mut doc);
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    })
}

fn edit_closure(ch: V2Changes, now: time::OffsetDateTime) -> Edit {
    Box::new(move |_id, data| {
        let mut doc = ContactDoc::from_value(data)?;
        doc.update(&ch.changes, now)?;
        ch.apply_extras(&mut doc);
        *data = doc.to_value();
        Ok(doc.keys())
    })
}

fn single_default() -> Vec<&'static str> {
    contact_v2::single_fields()
}

fn phone_digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether a custom field's stored content satisfies a clause.
pub(crate) fn custom_matches(c: &Clause, content: Option<&Value>) -> bool {
    let text = content.and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Array(a) => Some(
            a.iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    });
    c.matches_value(text.as_deref())
}

/// Whether a contact satisfies a clause the store could not run.
fn matches(c: &Clause, r: &Record, doc: &ContactDoc, phone_fields: &[PhoneField]) -> bool {
    if let Some(id) = c.custom {
        let content = doc
            .custom_fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| &f.content);
        return custom_matches(c, content);
    }
    let address = |slot: &str| {
        doc.addresses
            .iter()
            .find(|a| a.field.as_str().eq_ignore_ascii_case(slot))
    };
    match (c.field.as_str(), &c.value) {
        ("email", Operand::None) => doc.email_addresses.is_empty(),
        ("email", v) => doc
            .email_addresses
            .iter()
            .any(|e| v.matches_text(Some(&e.email))),
        ("given_name", v) => v.matches_text(doc.given_name.as_deref()),
        ("family_name", v) => v.matches_text(doc.family_name.as_deref()),
        ("middle_name", v) => v.matches_text(doc.middle_name.as_deref()),
        ("website", v) => v.matches_text(doc.website.as_deref()),
        ("city", v) => v.matches_text(address("BILLING").and_then(|a| a.locality.as_deref())),
        ("state", v) => v.matches_text(address("BILLING").and_then(|a| a.region.as_deref())),
        ("company_id", Operand::Id(id)) => doc.company_id == Some(*id),
        ("ids" | "contact_ids", Operand::Ids(ids)) => ids.contains(&r.id),
        ("contact_id", Operand::Id(id)) => c.op.holds(r.id.cmp(id)),
        ("start_update_time", Operand::Time(t)) => within(r.updated_at, Some(*t), None),
        ("end_update_time", Operand::Time(t)) => within(r.updated_at, None, Some(*t)),
        ("phone_number", Operand::Text(want)) => {
            let want_digits = phone_digits(want);
            doc.phone_numbers.iter().any(|p| {
                phone_fields.contains(&p.field)
                    && if want_digits.is_empty() {
                        fold(p.number.trim()) == fold(want.trim())
                    } else {
                        phone_digits(&p.number) == want_digits
                    }
            })
        }
        ("phone_fields", _) => true,
        // keapsake keeps no lead sources, so no contact has a lead source name.
        ("lead_source_name", _) => false,
        (field, v) => {
            let Some((slot, part)) = field.split_once("_address_") else {
                return false;
            };
            let a = address(slot);
            let value = a.and_then(|a| match part {
                "line1" => a.line1.as_deref(),
                "locality" => a.locality.as_deref(),
                "region" => a.region.as_deref(),
                "postal_code" => a.postal_code.as_deref().or(a.zip_code.as_deref()),
                "country_code" => a.country_code.as_deref(),
                _ => None,
            });
            ADDRESS_PARTS.contains(&part) && v.matches_text(value)
        }
    }
}

/// The store's share of a filter: conditions it can run, and the clauses left for memory.
fn plan(clauses: &[Clause]) -> (Vec<Cond>, Vec<&Clause>) {
    let mut conds = Vec::new();
    let mut rest = Vec::new();
    for c in clauses {
        let cond = match (c.custom, c.field.as_str(), c.op, &c.value) {
            (None, "email", Op::Eq, Operand::Text(t)) => {
                Some(Cond::AnyTextEq(EMAIL_KEYS.to_vec(), fold(t.trim())))
            }
            (None, "given_name", Op::Eq, Operand::Text(t)) => {
                Some(Cond::TextEq(GIVEN_NAME_KEY, name_key(Some(t))))
            }
            (None, "family_name", Op::Eq, Operand::Text(t)) => {
                Some(Cond::TextEq(FAMILY_NAME_KEY, name_key(Some(t))))
            }
            (None, "company_id", Op::Eq, Operand::Id(id)) => Some(Cond::IntEq(COMPANY_KEY, *id)),
            (None, "ids" | "contact_ids", Op::Eq, Operand::Ids(ids)) => {
                Some(Cond::IdIn(ids.clone()))
            }
            (None, "contact_id", Op::Eq, Operand::Id(id)) => Some(Cond::IdIn(vec![*id])),
            (None, "start_update_time", Op::Eq, Operand::Time(t)) => {
                Some(Cond::UpdatedSince(floor_to_millis(*t)))
            }
            (None, "end_update_time", Op::Eq, Operand::Time(t)) => Some(Cond::UpdatedUntil(*t)),
            (None, "phone_fields", _, _) => None,
            _ => {
                rest.push(c);
                None
            }
        };
        conds.extend(cond);
    }
    (conds, rest)
}

/// `GET /contacts`: the filters and orders of `keap/rest-v2.md` §3.2. A filter the store can
/// run (exact e-mail and names, ids, company, update-time bounds) pages in the store; anything
/// else (wildcards, `NONE`, comparisons, addresses, phones, custom fields) is applied to the
/// store's candidates in memory.
///
/// # Errors
/// 400 for a bad filter, order, page size, page token or field name.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/contacts",
    tag = "Contacts (v2)",
    params(("filter" = Option<String>, Query, description = "Filter expression, e.g. email==ada*;given_name==Ada"), ("order_by" = Option<String>, Query, description = "id, create_time, email or update_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page"), ("fields" = Option<String>, Query, description = "Comma-separated properties")),
    responses((status = 200, description = "A page of contacts", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
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
        contact_custom_fields(&state, account).await?
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
    let mut phone_fields = Vec::new();
    for c in params.filter.on("phone_fields") {
        if let Operand::Words(words) = &c.value {
            for w in words {
                phone_fields.push(PhoneField::parse(w).ok_or_else(|| {
                    V2Error::bad_request(format!(
                        "Invalid filter clause phone_fields: {w:?} is not one of PHONE1..PHONE5"
                    ))
                })?);
            }
        }
    }
    if params.filter.on("phone_number").next().is_some() && phone_fields.is_empty() {
        return Err(V2Error::bad_request(
            "Invalid filter: phone_number requires phone_fields (e.g. phone_fields==PHONE1,PHONE2)",
        ));
    }
    let (conds, rest) = plan(&params.filter.clauses);
    let descending = params.descending();
    let order = params.order_field("id");
    let (records, next) = if rest.is_empty() {
        let query = Query {
            conds,
            order: match order {
                "create_time" => Column::CreatedAt,
                "update_time" => Column::UpdatedAt,
                "email" => Column::Text(EMAIL_KEYS[0]),
                _ => Column::Id,
            },
            descending,
            limit: params.size,
            offset: params.offset,
        };
        let (records, total) = state
            .store
            .list_records(account, RecordKind::Contact, &query)
            .await?;
        let next = params.next_token(records.len(), total);
        (records, next)
    } else {
        let candidates = all_records(&state, account, RecordKind::Contact, conds).await?;
        let mut kept = Vec::new();
        for r in candidates {
            let doc = ContactDoc::from_value(&r.data).map_err(unreadable)?;
            if rest.iter().all(|c| matches(c, &r, &doc, &phone_fields)) {
                let email = doc.email1().map(|e| fold(e.trim()));
                kept.push((r, email));
            }
        }
        match order {
            "create_time" => sort_by_key(&mut kept, descending, |(r, _)| (r.created_at, r.id)),
            "update_time" => sort_by_key(&mut kept, descending, |(r, _)| (r.updated_at, r.id)),
            "email" => sort_by_key(&mut kept, descending, |(r, e)| (e.clone(), r.id)),
            _ => sort_by_key(&mut kept, descending, |(r, _)| (r.id, r.id)),
        }
        let (page, next) = params.page(kept);
        (page.into_iter().map(|(r, _)| r).collect(), next)
    };
    let items = render(&state, account, &records, &fields).await?;
    Ok(list_response("contacts", items, next))
}

/// `GET /contacts/{contact_id}?fields=`.
///
/// # Errors
/// 400 (bad id or field), 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/contacts/{contact_id}",
    tag = "Contacts (v2)",
    params(("contact_id" = String, Path, description = "Contact id"), ("fields" = Option<String>, Query, description = "Comma-separated properties")),
    responses((status = 200, description = "The contact", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let fields = projection(&q, FIELDS, &single_default())?;
    let account = principal.account_id;
    let record = ensure_contact(&state, account, id).await?;
    let v = render_one(&state, account, record, &fields).await?;
    Ok(json(StatusCode::OK, &v))
}

/// 404 unless the contact exists in this account.
pub(crate) async fn ensure_contact(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<Record, V2Error> {
    state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
        .map_err(or_missing(CONTACT, DOMAIN, id))
}

/// `POST /contacts[?duplicate_option=Email|EmailAndName|EmailAndNameAndCompany]`: **201**
/// with a new contact, or **200** with the oldest matching contact updated (list properties
/// sent replace its lists). Upserts of one address are serialised by the store.
///
/// # Errors
/// 400 (validation, unknown option, no e-mail, phone or address), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/contacts",
    tag = "Contacts (v2)",
    params(("duplicate_option" = Option<String>, Query, description = "Email, EmailAndName or EmailAndNameAndCompany"), ("fields" = Option<String>, Query, description = "Comma-separated properties")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created contact", body = serde_json::Value), (status = 200, description = "The matched and updated contact", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let q = V2Query::from_uri(&uri);
    let fields = projection(&q, FIELDS, &single_default())?;
    let option = q
        .get("duplicate_option")?
        .map(|o| {
            DuplicateOption::parse(o).ok_or_else(|| {
                V2Error::bad_request(format!(
                    "Invalid duplicate_option {o:?}; expected Email, EmailAndName or EmailAndNameAndCompany"
                ))
            })
        })
        .transpose()?;
    let ch = prepared(&state, account, &body, None).await?;
    let now = state.clock.now();
    let (record, status) = match option.and_then(|o| ch.changes.upsert_match(o)) {
        None => {
            match state
                .store
                .insert_record(account, RecordKind::Contact, create_closure(ch, now), now)
                .await?
            {
                Edited::Updated(r) => (r, StatusCode::CREATED),
                Edited::Rejected(m) => return Err(V2Error::bad_request(m)),
            }
        }
        Some(m) => {
            match state
                .store
                .upsert_record(
                    account,
                    RecordKind::Contact,
                    &m.lock_key,
                    m.conds,
                    create_closure(ch.clone(), now),
                    edit_closure(ch, now),
                    now,
                )
                .await?
            {
                Upserted::Created(r) => (r, StatusCode::CREATED),
                Upserted::Updated(r) => (r, StatusCode::OK),
                Upserted::Rejected(msg) => return Err(V2Error::bad_request(msg)),
            }
        }
    };
    let v = render_one(&state, account, record, &fields).await?;
    Ok(json(status, &v))
}

/// `PATCH /contacts/{contact_id}?update_mask=&fields=`: changes the properties sent (only
/// those named in `update_mask`, when given); a list sent replaces the stored list.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/contacts/{contact_id}",
    tag = "Contacts (v2)",
    params(("contact_id" = String, Path, description = "Contact id"), ("update_mask" = Option<String>, Query, description = "Properties to update (repeated or comma-separated)"), ("fields" = Option<String>, Query, description = "Comma-separated properties")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated contact", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact")),
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
    let q = V2Query::from_uri(&uri);
    let fields = projection(&q, FIELDS, &single_default())?;
    let mask = update_mask(&q)?;
    let ch = prepared(&state, account, &body, mask.as_deref()).await?;
    let now = state.clock.now();
    let record = match state
        .store
        .update_record(account, RecordKind::Contact, id, edit_closure(ch, now), now)
        .await
        .map_err(or_missing(CONTACT, DOMAIN, id))?
    {
        Edited::Updated(r) => r,
        Edited::Rejected(msg) => return Err(V2Error::bad_request(msg)),
    };
    let v = render_one(&state, account, record, &fields).await?;
    Ok(json(StatusCode::OK, &v))
}

/// `DELETE /contacts/{contact_id}`: 204; its tag assignments, notes and tasks go with it (as
/// on v1).
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/contacts/{contact_id}",
    tag = "Contacts (v2)",
    params(("contact_id" = String, Path, description = "Contact id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    state
        .store
        .delete_record(account, RecordKind::Contact, id)
        .await
        .map_err(or_missing(CONTACT, DOMAIN, id))?;
    delete_dependents(&state, account, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The notes and tasks of a contact (their `n0` key is the contact id).
async fn dependents(
    state: &AppState,
    account: AccountId,
    contact: i64,
) -> Result<Vec<(RecordKind, i64)>, V2Error> {
    let mut out = Vec::new();
    for kind in [RecordKind::Note, RecordKind::Task] {
        for r in all_records(state, account, kind, vec![Cond::IntEq(0, contact)]).await? {
            out.push((kind, r.id));
        }
    }
    Ok(out)
}

/// Deleting a contact deletes its notes and tasks (as v1 does, `keap/rest-v1.md` §1.7).
async fn delete_dependents(
    state: &AppState,
    account: AccountId,
    contact: i64,
) -> Result<(), V2Error> {
    for (kind, id) in dependents(state, account, contact).await? {
        match state.store.delete_record(account, kind, id).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The custom-field type in v2's UPPER_SNAKE (`DateTime` → `DATE_TIME`, `YesNo` → `YES_NO`).
fn field_type_v2(t: FieldType) -> String {
    let mut out = String::new();
    for (i, c) in t.as_str().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `GET /contacts/model`: `{"custom_fields":[CustomFieldMetaData],"optional_properties":[…]}`
/// with string ids and v2's upper-case `field_type`.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/contacts/model",
    tag = "Contacts (v2)",
    responses((status = 200, description = "The contact model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, V2Error> {
    let fields: Vec<Value> = contact_custom_fields(&state, principal.account_id)
        .await?
        .into_iter()
        .map(|(id, d)| {
            let mut v = json!({
                "id": id.to_string(),
                "label": d.label,
                "field_name": d.field_name,
                "field_type": field_type_v2(d.field_type),
                "record_type": d.record_type.as_str(),
                "options": d.options,
                "default_value": d.default_value,
                "group_id": d.group_id.map(|g| g.to_string()),
            });
            if let Value::Object(m) = &mut v {
                m.retain(|_, v| !v.is_null());
            }
            v
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({"custom_fields": fields, "optional_properties": OPTIONAL_PROPERTIES}),
    ))
}

/// `GET /contacts/{contact_id}/tags`: `{"tags":[{"tag":Tag,"applied_time"}],"next_page_token"}`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/contacts/{contact_id}/tags",
    tag = "Contacts (v2)",
    params(("contact_id" = String, Path, description = "Contact id"), ("filter" = Option<String>, Query, description = "name, description, category_id (NONE), since/until_applied_time, since/until_create_time, since/until_update_time"), ("order_by" = Option<String>, Query, description = "name, create_time, update_time, applied_time or category_id, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "The contact's tags", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such contact")),
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
    ensure_contact(&state, account, id).await?;
    let links = all_links(&state, account, LinkKind::ContactTag, Side::A(id)).await?;
    let tag_ids: Vec<i64> = links.iter().map(|l| l.b).collect();
    let tags = load_tags(&state, account, &tag_ids).await?;
    let f = &params.filter;
    let mut rows: Vec<(&LoadedTag, time::OffsetDateTime)> = links
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
    match params.order_field("name") {
        "create_time" => sort_by_key(&mut rows, desc, |(t, _)| (t.created_at, t.id)),
        "update_time" => sort_by_key(&mut rows, desc, |(t, _)| (t.updated_at, t.id)),
        "applied_time" => sort_by_key(&mut rows, desc, |(t, a)| (*a, t.id)),
        "category_id" => sort_by_key(&mut rows, desc, |(t, _)| (t.doc.category_id, t.id)),
        _ => sort_by_key(&mut rows, desc, |(t, _)| (fold(&t.doc.name), t.id)),
    }
    let (page, next) = params.page(rows);
    let items = page
        .into_iter()
        .map(|(t, applied)| json!({"tag": t.render(), "applied_time": format_time(applied)}))
        .collect();
    Ok(list_response("tags", items, next))
}

/// `POST /contacts:merge` body.
#[derive(Debug, Deserialize)]
struct MergeBody {
    contact_id: Option<Value>,
    duplicate_contact_id: Option<Value>,
}

fn body_id(v: Option<&Value>, name: &str) -> Result<i64, V2Error> {
    let bad = || {
        V2Error::bad_request(format!(
            "{name} is required: a contact id, a string of digits"
        ))
    };
    match v {
        Some(Value::String(s)) => parse_id(s.trim()).ok_or_else(bad),
        Some(Value::Number(n)) => n.as_i64().filter(|i| *i >= 0).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// `POST /contacts:merge` `{"contact_id","duplicate_contact_id"}`: the duplicate is folded
/// into `contact_id` (fields it lacks, tags, notes and tasks), then deleted; 200 with the
/// merged contact. Fires `contact.edit` for the kept contact and `contact.delete` for the
/// duplicate.
///
/// # Errors
/// 400 (bad or equal ids), 403, 404 (either contact missing).
#[utoipa::path(
    post,
    path = "/crm/rest/v2/contacts:merge",
    tag = "Contacts (v2)",
    params(("fields" = Option<String>, Query, description = "Comma-separated properties")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The merged contact", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn merge(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let q = V2Query::from_uri(&uri);
    let fields = projection(&q, FIELDS, &single_default())?;
    let b: MergeBody = typed(body)?;
    let keep = body_id(b.contact_id.as_ref(), "contact_id")?;
    let dup = body_id(b.duplicate_contact_id.as_ref(), "duplicate_contact_id")?;
    if keep == dup {
        return Err(V2Error::bad_request(
            "contact_id and duplicate_contact_id must differ",
        ));
    }
    let account = principal.account_id;
    ensure_contact(&state, account, keep).await?;
    let dup_record = ensure_contact(&state, account, dup).await?;
    let dup_doc = ContactDoc::from_value(&dup_record.data).map_err(unreadable)?;
    let now = state.clock.now();
    let edit: Edit = Box::new(move |_id, data| {
        let mut doc = ContactDoc::from_value(data)?;
        doc.merge_from(&dup_doc);
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let record = match state
        .store
        .update_record(account, RecordKind::Contact, keep, edit, now)
        .await
        .map_err(or_missing(CONTACT, DOMAIN, keep))?
    {
        Edited::Updated(r) => r,
        Edited::Rejected(msg) => return Err(V2Error::bad_request(msg)),
    };
    // The duplicate's tags, then its notes and tasks, move to the kept contact (then its
    // orders, subscriptions, cards and links).
    let tag_ids: Vec<i64> = all_links(&state, account, LinkKind::ContactTag, Side::A(dup))
        .await?
        .iter()
        .map(|l| l.b)
        .collect();
    if !tag_ids.is_empty() {
        let pairs: Vec<(i64, i64)> = tag_ids.iter().map(|t| (keep, *t)).collect();
        state
            .store
            .link(account, LinkKind::ContactTag, &pairs, now)
            .await?;
    }
    for (kind, id) in dependents(&state, account, dup).await? {
        let edit: Edit = match kind {
            RecordKind::Note => Box::new(move |_id, data| {
                let mut doc = NoteDoc::from_value(data)?;
                doc.contact_id = keep;
                *data = doc.to_value();
                Ok(doc.keys())
            }),
            _ => Box::new(move |_id, data| {
                let mut doc = TaskDoc::from_value(data)?;
                doc.contact_id = Some(keep);
                *data = doc.to_value();
                Ok(doc.keys())
            }),
        };
        match state
            .store
            .update_record(account, kind, id, edit, now)
            .await
        {
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    crate::merge::move_commerce_and_links(&state, account, keep, dup).await?;
    match state
        .store
        .delete_record(account, RecordKind::Contact, dup)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let v = render_one(&state, account, record, &fields).await?;
    Ok(json(StatusCode::OK, &v))
}
