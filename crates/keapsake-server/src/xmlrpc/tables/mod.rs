//! DataService tables (`keap/xmlrpc.md` §5): each maps its PascalCase fields onto the REST v1
//! JSON of the same records, **once, as data** ([`FieldSpec`]: field name, a path into the v1
//! document, a type, read-only or not). The same table serves both directions: a v1 document
//! → a row ([`to_row`]) and a struct of values → a v1 body ([`to_body`]). Writes go through
//! REST v1 in-process ([`super::dispatch::Cx::rest`]), so they are validated and stored
//! exactly as REST's.
//!
//! Path language: `a.b` descends objects; `list[SLOT].x` picks the element of `list` whose
//! `field` is `SLOT` (creating it on write); `custom_fields[#12].content` picks by `id`.
//!
//! A new table is a module here and one line in [`lookup`].

pub mod action;
pub mod commerce;
pub mod contact;
pub mod generic;
pub mod lead;
pub mod product;
pub mod tags;

use super::codec::XValue;
use super::dispatch::{Cx, as_bool, as_int, as_local};
use super::fault::{Fault, XResult};
use super::tz::Zone;
use async_trait::async_trait;
use serde_json::{Map, Value, json};

/// How a field's value is typed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Text.
    Str,
    /// Integer.
    Int,
    /// Double.
    Double,
    /// Boolean (`<boolean>`); `BoolInt` is an integer 0/1 on the wire.
    Bool,
    /// 0/1 integer backed by a JSON boolean.
    BoolInt,
    /// Date-time (v1: RFC 3339 UTC; XML-RPC: account-local, zone-less).
    DateTime,
    /// Date only (v1: `YYYY-MM-DD`; XML-RPC: local midnight).
    Date,
    /// Comma-separated ids (v1: an array of ids).
    IdList,
}

/// One field of a table.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Keap's field name (case-sensitive).
    pub name: &'static str,
    /// Path into the v1 document.
    pub path: &'static str,
    /// Wire type.
    pub ty: Ty,
    /// Read-only through the API.
    pub ro: bool,
}

/// Shorthand for a writable field.
pub const fn rw(name: &'static str, path: &'static str, ty: Ty) -> FieldSpec {
    FieldSpec {
        name,
        path,
        ty,
        ro: false,
    }
}

/// Shorthand for a read-only field.
pub const fn ro(name: &'static str, path: &'static str, ty: Ty) -> FieldSpec {
    FieldSpec {
        name,
        path,
        ty,
        ro: true,
    }
}

/// A row: field name → value, only non-empty fields, in table order.
pub type Row = Vec<(String, XValue)>;

/// A field of a row, custom ones included (owned, so custom fields can be added per account).
#[derive(Debug, Clone)]
pub struct Col {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Type.
    pub ty: Ty,
    /// Read-only.
    pub ro: bool,
}

impl From<&FieldSpec> for Col {
    fn from(f: &FieldSpec) -> Self {
        Col {
            name: f.name.to_owned(),
            path: f.path.to_owned(),
            ty: f.ty,
            ro: f.ro,
        }
    }
}

/// Equality hints a table may push down to the store (`Id` and indexed keys).
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// `Id` equal to one of these.
    pub ids: Option<Vec<i64>>,
    /// Exact (case-insensitive) equalities on other fields, without wildcards.
    pub eq: Vec<(String, String)>,
}

/// A DataService table.
#[async_trait]
pub trait Table: Send + Sync {
    /// Keap's table name.
    fn name(&self) -> &'static str;

    /// The fields of this table for this account (custom fields included).
    async fn columns(&self, cx: &Cx) -> XResult<Vec<Col>>;

    /// `DataService.add`.
    async fn add(&self, _cx: &Cx, _values: Vec<(String, XValue)>) -> XResult<i64> {
        Err(Fault::no_table(self.name()))
    }

    /// `DataService.update`.
    async fn update(&self, _cx: &Cx, _id: i64, _values: Vec<(String, XValue)>) -> XResult<i64> {
        Err(Fault::no_table(self.name()))
    }

    /// `DataService.delete`.
    async fn delete(&self, _cx: &Cx, _id: i64) -> XResult<bool> {
        Err(Fault::no_table(self.name()))
    }

    /// One row by id (`[RecordNotFound]` when missing).
    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row>;

    /// Candidate rows for a query: every row, or fewer when the hints allow (the caller
    /// filters them all again, so a table may ignore hints).
    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>>;
}

/// The table of a name (`[NoTableAccess]` otherwise).
///
/// # Errors
/// `[NoTableAccess]`.
pub fn lookup(name: &str) -> XResult<&'static dyn Table> {
    Ok(match name {
        "Contact" => &contact::CONTACT,
        "ContactGroup" => &tags::CONTACT_GROUP,
        "ContactGroupCategory" => &tags::CONTACT_GROUP_CATEGORY,
        "ContactGroupAssign" => &tags::CONTACT_GROUP_ASSIGN,
        "Company" => &generic::COMPANY,
        "DataFormField" => &generic::DATA_FORM_FIELD,
        "User" => &generic::USER,
        "Lead" => &lead::LEAD,
        "ContactAction" => &action::CONTACT_ACTION,
        "Product" => &product::PRODUCT,
        "Job" => &commerce::JOB,
        "Invoice" => &commerce::INVOICE,
        "OrderItem" => &commerce::ORDER_ITEM,
        "InvoiceItem" => &commerce::INVOICE_ITEM,
        "Payment" => &commerce::PAYMENT,
        "InvoicePayment" => &commerce::INVOICE_PAYMENT,
        "SubscriptionPlan" => &commerce::SUBSCRIPTION_PLAN,
        "RecurringOrder" => &commerce::RECURRING_ORDER,
        "CreditCard" => &commerce::CREDIT_CARD,
        _ => return Err(Fault::no_table(&super::fault::printable(name, 80))),
    })
}

/// Every document of a REST v1 collection (`path?limit=1000&offset=…&extra`), page by page.
///
/// # Errors
/// The REST call's fault.
pub async fn rest_collection(
    cx: &Cx,
    path: &str,
    list_key: &str,
    extra: &str,
) -> XResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let sep = if extra.is_empty() { "" } else { "&" };
        let (_, page) = cx
            .rest(
                axum::http::Method::GET,
                &format!("{path}?limit=1000&offset={offset}{sep}{extra}"),
                None,
            )
            .await?;
        let items = page
            .get(list_key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let n = items.len();
        out.extend(items);
        if n < 1000 {
            break;
        }
        offset += 1000;
    }
    Ok(out)
}

/// Makes a partial update body keep what it does not name: each slotted list of `body`
/// (`email_addresses`, `addresses`, … entries with a `field`) and each object listed in
/// `objects` is merged onto the current document's, so `City` alone does not drop the rest of
/// the address (REST replaces lists and objects whole).
pub fn merge_current(current: &Value, body: &mut Value, objects: &[&str]) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    for (key, v) in obj.iter_mut() {
        match v {
            Value::Array(items) if items.iter().all(|e| e.get("field").is_some()) => {
                let mut merged: Vec<Value> = current
                    .get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for e in items.iter() {
                    match merged.iter_mut().find(|m| m.get("field") == e.get("field")) {
                        Some(m) => merge_object(m, e),
                        None => merged.push(e.clone()),
                    }
                }
                *items = merged;
            }
            Value::Object(_) if objects.contains(&key.as_str()) => {
                if let Some(cur) = current.get(key).filter(|c| c.is_object()) {
                    let mut m = cur.clone();
                    merge_object(&mut m, v);
                    *v = m;
                }
            }
            _ => {}
        }
    }
}

fn merge_object(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            into.insert(k.clone(), v.clone());
        }
    }
}

// --------------------------------------------------------------------------------- paths

enum Seg<'a> {
    Key(&'a str),
    Slot(&'a str, &'a str),
    ById(&'a str, i64),
}

fn segs(path: &str) -> Vec<Seg<'_>> {
    path.split('.')
        .map(|s| match s.split_once('[') {
            Some((name, rest)) => {
                let sel = rest.trim_end_matches(']');
                match sel.strip_prefix('#').and_then(|n| n.parse().ok()) {
                    Some(id) => Seg::ById(name, id),
                    None => Seg::Slot(name, sel),
                }
            }
            None => Seg::Key(s),
        })
        .collect()
}

/// Reads a path.
pub fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for s in segs(path) {
        cur = match s {
            Seg::Key(k) => cur.get(k)?,
            Seg::Slot(list, slot) => cur
                .get(list)?
                .as_array()?
                .iter()
                .find(|e| e.get("field").and_then(Value::as_str) == Some(slot))?,
            Seg::ById(list, id) => cur
                .get(list)?
                .as_array()?
                .iter()
                .find(|e| e.get("id").and_then(Value::as_i64) == Some(id))?,
        };
    }
    Some(cur)
}

/// Writes a path, creating objects and slot elements on the way.
pub fn set(doc: &mut Value, path: &str, v: Value) {
    let segs = segs(path);
    let mut cur = doc;
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        match s {
            Seg::Key(k) => {
                if last {
                    obj.insert((*k).to_owned(), v);
                    return;
                }
                cur = obj.entry((*k).to_owned()).or_insert(Value::Null);
            }
            Seg::Slot(list, _) | Seg::ById(list, _) => {
                let arr = obj
                    .entry((*list).to_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !arr.is_array() {
                    *arr = Value::Array(Vec::new());
                }
                let Some(items) = arr.as_array_mut() else {
                    return;
                };
                let (key, want) = match s {
                    Seg::Slot(_, slot) => ("field", json!(slot)),
                    Seg::ById(_, id) => ("id", json!(id)),
                    Seg::Key(_) => return,
                };
                let pos = match items.iter().position(|e| e.get(key) == Some(&want)) {
                    Some(p) => p,
                    None => {
                        items.push(json!({ key: want }));
                        items.len() - 1
                    }
                };
                if last {
                    items[pos] = v;
                    return;
                }
                cur = &mut items[pos];
            }
        }
    }
}

// ------------------------------------------------------------------------- conversions

/// A v1 JSON value as the field's XML-RPC value; `None` for empty (omitted, §1.1).
pub fn to_xml(v: &Value, ty: Ty, zone: Zone) -> Option<XValue> {
    match (ty, v) {
        (_, Value::Null) => None,
        (Ty::Str, Value::String(s)) if s.is_empty() => None,
        (Ty::Str, Value::String(s)) => Some(XValue::Str(s.clone())),
        (Ty::Str, Value::Number(n)) => Some(XValue::Str(n.to_string())),
        (Ty::Str, Value::Bool(b)) => Some(XValue::Str(b.to_string())),
        (Ty::Str, Value::Array(a)) => {
            let parts: Vec<String> = a
                .iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            (!parts.is_empty()).then(|| XValue::Str(parts.join(",")))
        }
        (Ty::Int, Value::Number(n)) => n.as_i64().map(XValue::Int),
        (Ty::Int, Value::String(s)) => s.trim().parse().ok().map(XValue::Int),
        (Ty::Int, Value::Bool(b)) => Some(XValue::Int(i64::from(*b))),
        (Ty::Double, Value::Number(n)) => n.as_f64().map(XValue::Double),
        (Ty::Double, Value::String(s)) => s.trim().parse().ok().map(XValue::Double),
        (Ty::Bool, Value::Bool(b)) => Some(XValue::Bool(*b)),
        (Ty::Bool, Value::Number(n)) => Some(XValue::Bool(n.as_i64() != Some(0))),
        (Ty::BoolInt, Value::Bool(b)) => Some(XValue::Int(i64::from(*b))),
        (Ty::BoolInt, Value::Number(n)) => n.as_i64().map(XValue::Int),
        (Ty::DateTime | Ty::Date, Value::String(s)) => {
            if let Ok(t) = keapsake_core::crm::date::parse_datetime(s) {
                Some(XValue::DateTime(if ty == Ty::Date {
                    time::PrimitiveDateTime::new(zone.to_local(t).date(), time::Time::MIDNIGHT)
                } else {
                    zone.to_local(t)
                }))
            } else {
                keapsake_core::crm::date::parse_date(s).ok().map(|d| {
                    XValue::DateTime(time::PrimitiveDateTime::new(d, time::Time::MIDNIGHT))
                })
            }
        }
        (Ty::IdList, Value::Array(a)) => {
            let ids: Vec<String> = a
                .iter()
                .filter_map(Value::as_i64)
                .map(|i| i.to_string())
                .collect();
            (!ids.is_empty()).then(|| XValue::Str(ids.join(",")))
        }
        _ => None,
    }
}

/// An XML-RPC value as the v1 JSON for the field.
///
/// # Errors
/// `[InvalidParameter]` for a value of the wrong type.
pub fn to_json(table: &str, col: &Col, v: &XValue, zone: Zone) -> XResult<Value> {
    let bad = || {
        Fault::invalid(format!(
            "{table}.{} must be of type {:?}, not {}",
            col.name,
            col.ty,
            v.type_name()
        ))
    };
    Ok(match col.ty {
        Ty::Str => match v {
            XValue::Nil => Value::Null,
            _ => Value::String(v.as_text().ok_or_else(bad)?),
        },
        Ty::Int => match v {
            XValue::Str(s) if s.trim().is_empty() => Value::Null,
            _ => json!(as_int(v).ok_or_else(bad)?),
        },
        Ty::Double => match v {
            XValue::Double(d) => json!(d),
            XValue::Int(i) => json!(i),
            XValue::Str(s) => json!(s.trim().parse::<f64>().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        Ty::Bool | Ty::BoolInt => json!(as_bool(v).ok_or_else(bad)?),
        Ty::DateTime => match v {
            XValue::Str(s) if s.trim().is_empty() => Value::Null,
            _ => {
                let local = as_local(v).ok_or_else(bad)?;
                json!(keapsake_core::crm::date::format_datetime(
                    zone.from_local(local)
                ))
            }
        },
        Ty::Date => match v {
            XValue::Str(s) if s.trim().is_empty() => Value::Null,
            _ => {
                let local = as_local(v).ok_or_else(bad)?;
                json!(keapsake_core::crm::date::format_date(local.date()))
            }
        },
        Ty::IdList => return Err(bad()),
    })
}

/// A v1 document as a row (only non-empty fields).
pub fn to_row(doc: &Value, cols: &[Col], zone: Zone) -> Row {
    cols.iter()
        .filter_map(|c| {
            get(doc, &c.path)
                .and_then(|v| to_xml(v, c.ty, zone))
                .map(|x| (c.name.clone(), x))
        })
        .collect()
}

/// A struct of values as a v1 body: unknown field → `[NoFieldFound]`, read-only field →
/// `[InvalidParameter]`.
///
/// # Errors
/// As above, and type mismatches.
pub fn to_body(
    table: &str,
    cols: &[Col],
    values: &[(String, XValue)],
    zone: Zone,
) -> XResult<Value> {
    let mut body = Value::Object(Map::new());
    for (name, v) in values {
        let col = find_col(table, cols, name)?;
        if col.ro {
            return Err(Fault::invalid(format!("{table}.{name} is read-only")));
        }
        if matches!(v, XValue::Nil) {
            continue;
        }
        let j = to_json(table, col, v, zone)?;
        set(&mut body, &col.path, j);
    }
    Ok(body)
}

/// The column of a name (case-sensitive; custom fields `_Name` case-insensitively).
///
/// # Errors
/// `[NoFieldFound]`.
pub fn find_col<'a>(table: &str, cols: &'a [Col], name: &str) -> XResult<&'a Col> {
    cols.iter()
        .find(|c| c.name == name)
        .or_else(|| {
            name.starts_with('_').then(|| {
                cols.iter()
                    .find(|c| c.name.starts_with('_') && c.name.eq_ignore_ascii_case(name))
            })?
        })
        .ok_or_else(|| Fault::no_field(table, &super::fault::printable(name, 80)))
}

/// Checks field names exist.
///
/// # Errors
/// `[NoFieldFound]`.
pub fn check_names(table: &str, cols: &[Col], names: &[String]) -> XResult<()> {
    for n in names {
        find_col(table, cols, n)?;
    }
    Ok(())
}

/// Keeps only `selected` fields of a row, in the order asked; canonical names.
pub fn select(row: &Row, cols: &[Col], table: &str, selected: &[String]) -> XResult<XValue> {
    let mut out = Vec::new();
    for name in selected {
        let col = find_col(table, cols, name)?;
        if out.iter().any(|(n, _): &(String, XValue)| *n == *name) {
            continue;
        }
        if let Some((_, v)) = row.iter().find(|(n, _)| *n == col.name) {
            out.push((name.clone(), v.clone()));
        }
    }
    Ok(XValue::Struct(out))
}

/// The custom fields of a record type as columns: `_Label` (non-alphanumerics dropped) →
/// `custom_fields[#id].content`.
///
/// # Errors
/// Store failures.
pub async fn custom_columns(
    cx: &Cx,
    record_type: keapsake_core::crm::custom_field::RecordType,
) -> XResult<Vec<Col>> {
    use keapsake_core::crm::custom_field::{CustomFieldDoc, RECORD_TYPE_KEY};
    use keapsake_core::records::{Cond, Query, RecordKind};
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let q = Query {
            conds: vec![Cond::TextEq(
                RECORD_TYPE_KEY,
                record_type.as_str().to_owned(),
            )],
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
            let Ok(doc) = CustomFieldDoc::from_value(&r.data) else {
                continue;
            };
            let name: String = doc
                .label
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            out.push(Col {
                name: format!("_{name}"),
                path: format!("custom_fields[#{}].content", r.id),
                ty: Ty::Str,
                ro: false,
            });
        }
        if n < 1000 {
            break;
        }
        offset += 1000;
    }
    Ok(out)
}
