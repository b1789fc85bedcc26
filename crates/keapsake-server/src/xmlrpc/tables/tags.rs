//! Tags in the legacy API (`keap/xmlrpc.md` §5.2): `ContactGroup` (tag), `ContactGroupCategory`
//! and the read-only `ContactGroupAssign` (one row per applied tag, with joined `Contact.*`
//! columns). Tags are created through REST v1 (`POST /tags`, `POST /tags/categories`) and read
//! from the same records.

use super::{Col, FieldSpec, Hints, Row, Table, Ty, ro, rw, to_body, to_row};
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::{Cx, as_int};
use crate::xmlrpc::fault::{Fault, XResult};
use async_trait::async_trait;
use axum::http::Method;
use keapsake_core::crm::tag::{TagCategoryDoc, TagDoc};
use keapsake_core::records::{LinkKind, Query, RecordKind, Side};
use serde_json::{Value, json};
use std::collections::HashMap;

/// `ContactGroup` fields (paths into the v1 tag).
pub const GROUP_FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    rw("GroupName", "name", Ty::Str),
    rw("GroupDescription", "description", Ty::Str),
    rw("GroupCategoryId", "category.id", Ty::Int),
];

/// `ContactGroupCategory` fields.
pub const CATEGORY_FIELDS: &[FieldSpec] = &[
    ro("Id", "id", Ty::Int),
    rw("CategoryName", "name", Ty::Str),
    rw("CategoryDescription", "description", Ty::Str),
];

/// `ContactGroup`.
pub struct ContactGroup;
/// `ContactGroupCategory`.
pub struct ContactGroupCategory;
/// `ContactGroupAssign`.
pub struct ContactGroupAssign;
/// Instance.
pub static CONTACT_GROUP: ContactGroup = ContactGroup;
/// Instance.
pub static CONTACT_GROUP_CATEGORY: ContactGroupCategory = ContactGroupCategory;
/// Instance.
pub static CONTACT_GROUP_ASSIGN: ContactGroupAssign = ContactGroupAssign;

fn cols(fields: &[FieldSpec]) -> Vec<Col> {
    fields.iter().map(Col::from).collect()
}

fn tag_json(id: i64, data: &Value) -> Value {
    let doc = TagDoc::from_value(data).unwrap_or_default();
    json!({"id": id, "name": doc.name, "description": doc.description,
           "category": doc.category_id.map(|c| json!({"id": c}))})
}

fn category_json(id: i64, data: &Value) -> Value {
    let doc = TagCategoryDoc::from_value(data).unwrap_or_default();
    json!({"id": id, "name": doc.name, "description": doc.description})
}

async fn all(cx: &Cx, kind: RecordKind) -> XResult<Vec<(i64, Value)>> {
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
            .list_records(cx.principal.account_id, kind, &q)
            .await?;
        let n = page.len();
        out.extend(page.into_iter().map(|r| (r.id, r.data)));
        if n < 1000 {
            break;
        }
        offset += 1000;
    }
    Ok(out)
}

async fn by_ids(cx: &Cx, kind: RecordKind, ids: &[i64]) -> XResult<Vec<(i64, Value)>> {
    Ok(cx
        .state
        .store
        .get_records(cx.principal.account_id, kind, ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r.data))
        .collect())
}

#[async_trait]
impl Table for ContactGroup {
    fn name(&self) -> &'static str {
        "ContactGroup"
    }
    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(cols(GROUP_FIELDS))
    }
    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = to_body(self.name(), &cols(GROUP_FIELDS), &values, cx.zone().await)?;
        let (_, created) = cx.rest(Method::POST, "/tags", Some(&body)).await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(Fault::internal)
    }
    async fn update(&self, _cx: &Cx, _id: i64, _values: Vec<(String, XValue)>) -> XResult<i64> {
        Err(Fault::invalid(
            "ContactGroup records cannot be updated through keapsake yet",
        ))
    }
    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let r = cx
            .state
            .store
            .get_record(cx.principal.account_id, RecordKind::Tag, id)
            .await?;
        Ok(to_row(
            &tag_json(r.id, &r.data),
            &cols(GROUP_FIELDS),
            cx.zone().await,
        ))
    }
    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let recs = match &hints.ids {
            Some(ids) => by_ids(cx, RecordKind::Tag, ids).await?,
            None => all(cx, RecordKind::Tag).await?,
        };
        let (c, z) = (cols(GROUP_FIELDS), cx.zone().await);
        Ok(recs
            .iter()
            .map(|(id, d)| to_row(&tag_json(*id, d), &c, z))
            .collect())
    }
}

#[async_trait]
impl Table for ContactGroupCategory {
    fn name(&self) -> &'static str {
        "ContactGroupCategory"
    }
    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(cols(CATEGORY_FIELDS))
    }
    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let body = to_body(
            self.name(),
            &cols(CATEGORY_FIELDS),
            &values,
            cx.zone().await,
        )?;
        let (_, created) = cx
            .rest(Method::POST, "/tags/categories", Some(&body))
            .await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(Fault::internal)
    }
    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let r = cx
            .state
            .store
            .get_record(cx.principal.account_id, RecordKind::TagCategory, id)
            .await?;
        Ok(to_row(
            &category_json(r.id, &r.data),
            &cols(CATEGORY_FIELDS),
            cx.zone().await,
        ))
    }
    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let recs = match &hints.ids {
            Some(ids) => by_ids(cx, RecordKind::TagCategory, ids).await?,
            None => all(cx, RecordKind::TagCategory).await?,
        };
        let (c, z) = (cols(CATEGORY_FIELDS), cx.zone().await);
        Ok(recs
            .iter()
            .map(|(id, d)| to_row(&category_json(*id, d), &c, z))
            .collect())
    }
}

/// `ContactGroupAssign` columns: its own, then `Contact.<field>` for every stored contact field.
fn assign_cols() -> Vec<Col> {
    let mut out = vec![
        Col {
            name: "GroupId".into(),
            path: "group_id".into(),
            ty: Ty::Int,
            ro: true,
        },
        Col {
            name: "ContactGroup".into(),
            path: "group_name".into(),
            ty: Ty::Str,
            ro: true,
        },
        Col {
            name: "ContactId".into(),
            path: "contact_id".into(),
            ty: Ty::Int,
            ro: true,
        },
        Col {
            name: "DateCreated".into(),
            path: "date_created".into(),
            ty: Ty::DateTime,
            ro: true,
        },
    ];
    for f in super::contact::FIELDS {
        if f.path.starts_with('!') {
            continue;
        }
        out.push(Col {
            name: format!("Contact.{}", f.name),
            path: format!("contact.{}", f.path),
            ty: f.ty,
            ro: true,
        });
    }
    out
}

#[async_trait]
impl Table for ContactGroupAssign {
    fn name(&self) -> &'static str {
        "ContactGroupAssign"
    }
    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(assign_cols())
    }
    async fn load(&self, _cx: &Cx, _id: i64) -> XResult<Row> {
        Err(Fault::invalid(
            "ContactGroupAssign has no Id; query it by GroupId or ContactId",
        ))
    }
    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let account = cx.principal.account_id;
        let store = &cx.state.store;
        let eq = |name: &str| {
            hints
                .eq
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| as_int(&XValue::Str(v.clone())))
        };
        // (contact, tag, when)
        let mut links = Vec::new();
        if let Some(c) = eq("ContactId") {
            let (l, _) = store
                .list_links(account, LinkKind::ContactTag, Side::A(c), 100_000, 0)
                .await?;
            links.extend(l);
        } else if let Some(g) = eq("GroupId") {
            let (l, _) = store
                .list_links(account, LinkKind::ContactTag, Side::B(g), 100_000, 0)
                .await?;
            links.extend(l);
        } else {
            let ids: Vec<i64> = all(cx, RecordKind::Contact)
                .await?
                .iter()
                .map(|(i, _)| *i)
                .collect();
            for chunk in ids.chunks(1000) {
                links.extend(store.links_of(account, LinkKind::ContactTag, chunk).await?);
            }
        }
        let mut tag_ids: Vec<i64> = links.iter().map(|l| l.b).collect();
        tag_ids.sort_unstable();
        tag_ids.dedup();
        let names: HashMap<i64, String> = by_ids(cx, RecordKind::Tag, &tag_ids)
            .await?
            .into_iter()
            .map(|(id, d)| (id, TagDoc::from_value(&d).unwrap_or_default().name))
            .collect();
        let contact_cols = super::contact::columns(cx).await?;
        let mut contacts: HashMap<i64, Value> = HashMap::new();
        let zone = cx.zone().await;
        let cols = assign_cols();
        let mut out = Vec::new();
        for l in links {
            if let std::collections::hash_map::Entry::Vacant(e) = contacts.entry(l.a) {
                let (_, doc) = match cx
                    .rest(Method::GET, &format!("/contacts/{}", l.a), None)
                    .await
                {
                    Ok(d) => d,
                    Err(_) => continue,
                };
                e.insert(doc);
            }
            let _ = &contact_cols;
            let doc = json!({
                "group_id": l.b,
                "group_name": names.get(&l.b),
                "contact_id": l.a,
                "date_created": keapsake_core::crm::date::format_datetime(l.created_at),
                "contact": contacts.get(&l.a),
            });
            out.push(to_row(&doc, &cols, zone));
        }
        Ok(out)
    }
}
