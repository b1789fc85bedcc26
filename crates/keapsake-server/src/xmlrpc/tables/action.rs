//! `ContactAction` (notes and tasks, `keap/xmlrpc.md` §5.5) ↔ the REST v1 note and task
//! documents (`keapsake_core::crm_more::{note, task}`).
//!
//! keapsake stores notes and tasks as two record kinds with their own id sequences, where
//! Keap has one table. A `ContactAction.Id` therefore encodes both: note `n` is `2n`, task
//! `t` is `2t + 1` (deviation, documented in the README). `ObjectType` says which (`Note`,
//! `Task`); on add it is taken from `ObjectType` when given, else a row with `ActionDate`
//! is a task and any other a note. Fields that only one kind stores (`ActionDate`,
//! `CompletionDate`, `Priority` are tasks only) are `[InvalidParameter]` on the other.

use super::{Col, FieldSpec, Hints, Row, Table, Ty, ro, rw, to_body, to_row};
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::Cx;
use crate::xmlrpc::fault::{Code, Fault, XResult};
use async_trait::async_trait;
use axum::http::Method;
use serde_json::{Value, json};

/// A field with no home in keapsake.
const NONE: &str = "!unsupported";
/// A field the other kind stores.
const OTHER: &str = "!other";

/// The fields as a note.
pub const NOTE_FIELDS: &[FieldSpec] = &[
    ro("Id", "xid", Ty::Int),
    rw("ContactId", "contact_id", Ty::Int),
    rw("OpportunityId", NONE, Ty::Int),
    ro("ObjectType", "object_type", Ty::Str),
    rw("ActionType", "type", Ty::Str),
    rw("ActionDescription", "title", Ty::Str),
    rw("CreationNotes", "body", Ty::Str),
    ro("CreationDate", "date_created", Ty::DateTime),
    rw("ActionDate", OTHER, Ty::DateTime),
    rw("EndDate", NONE, Ty::DateTime),
    rw("PopupDate", NONE, Ty::DateTime),
    rw("CompletionDate", OTHER, Ty::DateTime),
    rw("UserID", "user_id", Ty::Int),
    rw("Accepted", NONE, Ty::Int),
    rw("Priority", OTHER, Ty::Int),
    ro("IsAppointment", "is_appointment", Ty::Int),
    ro("CreatedBy", NONE, Ty::Int),
    ro("LastUpdated", "last_updated", Ty::DateTime),
    ro("LastUpdatedBy", "last_updated_by.user_id", Ty::Int),
];

/// The fields as a task.
pub const TASK_FIELDS: &[FieldSpec] = &[
    ro("Id", "xid", Ty::Int),
    rw("ContactId", "contact.id", Ty::Int),
    rw("OpportunityId", NONE, Ty::Int),
    ro("ObjectType", "object_type", Ty::Str),
    rw("ActionType", "type", Ty::Str),
    rw("ActionDescription", "title", Ty::Str),
    rw("CreationNotes", "description", Ty::Str),
    ro("CreationDate", "creation_date", Ty::DateTime),
    rw("ActionDate", "due_date", Ty::DateTime),
    rw("EndDate", NONE, Ty::DateTime),
    rw("PopupDate", NONE, Ty::DateTime),
    rw("CompletionDate", "completion_date", Ty::DateTime),
    rw("UserID", "user_id", Ty::Int),
    rw("Accepted", NONE, Ty::Int),
    rw("Priority", "priority", Ty::Int),
    ro("IsAppointment", "is_appointment", Ty::Int),
    ro("CreatedBy", NONE, Ty::Int),
    ro("LastUpdated", "modification_date", Ty::DateTime),
    ro("LastUpdatedBy", NONE, Ty::Int),
];

/// Note or task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A note (`/notes`).
    Note,
    /// A task (`/tasks`).
    Task,
}

impl Kind {
    fn fields(self) -> &'static [FieldSpec] {
        match self {
            Kind::Note => NOTE_FIELDS,
            Kind::Task => TASK_FIELDS,
        }
    }
    fn path(self) -> &'static str {
        match self {
            Kind::Note => "/notes",
            Kind::Task => "/tasks",
        }
    }
    fn list_key(self) -> &'static str {
        match self {
            Kind::Note => "notes",
            Kind::Task => "tasks",
        }
    }
    fn object_type(self) -> &'static str {
        match self {
            Kind::Note => "Note",
            Kind::Task => "Task",
        }
    }
    /// The `ContactAction.Id` of a note or task id.
    pub fn xid(self, id: i64) -> i64 {
        match self {
            Kind::Note => id.saturating_mul(2),
            Kind::Task => id.saturating_mul(2).saturating_add(1),
        }
    }
}

/// Splits a `ContactAction.Id` into kind and REST id.
pub fn split(xid: i64) -> XResult<(Kind, i64)> {
    if xid < 2 {
        return Err(Fault::not_found());
    }
    Ok(if xid % 2 == 0 {
        (Kind::Note, xid / 2)
    } else {
        (Kind::Task, xid / 2)
    })
}

/// The `ContactAction` table.
pub struct ActionTable;
/// The instance.
pub static CONTACT_ACTION: ActionTable = ActionTable;

const NAME: &str = "ContactAction";

fn cols(kind: Kind) -> Vec<Col> {
    kind.fields().iter().map(Col::from).collect()
}

/// A REST note or task with the derived fields added, as a row.
fn row(kind: Kind, mut doc: Value, zone: crate::xmlrpc::tz::Zone) -> Row {
    let id = doc.get("id").and_then(Value::as_i64).unwrap_or_default();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("xid".to_owned(), json!(kind.xid(id)));
        obj.insert("object_type".to_owned(), json!(kind.object_type()));
        obj.insert("is_appointment".to_owned(), json!(0));
    }
    to_row(&doc, &cols(kind), zone)
}

fn body(kind: Kind, values: &[(String, XValue)], zone: crate::xmlrpc::tz::Zone) -> XResult<Value> {
    let cols = cols(kind);
    let mut rest = Vec::new();
    for (name, v) in values {
        let col = super::find_col(NAME, &cols, name)?;
        if name == "ObjectType" {
            continue;
        }
        if col.path == NONE && !col.ro {
            return Err(Fault::invalid(format!(
                "{NAME}.{name} is not supported by keapsake"
            )));
        }
        if col.path == OTHER {
            return Err(Fault::invalid(format!(
                "{NAME}.{name} applies to tasks only (ObjectType Task)"
            )));
        }
        rest.push((name.clone(), v.clone()));
    }
    let mut body = to_body(NAME, &cols, &rest, zone)?;
    // Keap: a task with a CompletionDate is done.
    if kind == Kind::Task
        && let Some(done) = body.get("completion_date").map(|d| !d.is_null())
    {
        body["completed"] = json!(done);
    }
    Ok(body)
}

/// The kind an add asks for.
fn kind_of(values: &[(String, XValue)]) -> XResult<Kind> {
    match values.iter().find(|(n, _)| n == "ObjectType") {
        Some((_, v)) => match v.as_text().unwrap_or_default().trim() {
            "Note" => Ok(Kind::Note),
            "Task" | "Appointment" => Ok(Kind::Task),
            _ => Err(Fault::invalid(
                "ContactAction.ObjectType must be Note or Task",
            )),
        },
        None if values.iter().any(|(n, _)| n == "ActionDate") => Ok(Kind::Task),
        None => Ok(Kind::Note),
    }
}

async fn load_one(cx: &Cx, xid: i64) -> XResult<Row> {
    let (kind, id) = split(xid)?;
    let (_, doc) = cx
        .rest(Method::GET, &format!("{}/{id}", kind.path()), None)
        .await?;
    Ok(row(kind, doc, cx.zone().await))
}

#[async_trait]
impl Table for ActionTable {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(cols(Kind::Task))
    }

    async fn add(&self, cx: &Cx, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        // Names first, so an unknown field is [NoFieldFound] whatever the kind.
        super::check_names(
            NAME,
            &cols(Kind::Task),
            &values.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        )?;
        let kind = kind_of(&values)?;
        let body = body(kind, &values, cx.zone().await)?;
        let (_, created) = cx.rest(Method::POST, kind.path(), Some(&body)).await?;
        created
            .get("id")
            .and_then(Value::as_i64)
            .map(|id| kind.xid(id))
            .ok_or_else(Fault::internal)
    }

    async fn update(&self, cx: &Cx, xid: i64, values: Vec<(String, XValue)>) -> XResult<i64> {
        cx.require_write()?;
        let (kind, id) = split(xid)?;
        if let Some((_, v)) = values.iter().find(|(n, _)| n == "ObjectType")
            && v.as_text().as_deref().map(str::trim) != Some(kind.object_type())
        {
            return Err(Fault::invalid("ContactAction.ObjectType cannot be changed"));
        }
        let body = body(kind, &values, cx.zone().await)?;
        cx.rest(Method::PATCH, &format!("{}/{id}", kind.path()), Some(&body))
            .await?;
        Ok(xid)
    }

    async fn delete(&self, cx: &Cx, xid: i64) -> XResult<bool> {
        cx.require_write()?;
        let (kind, id) = split(xid)?;
        cx.rest(Method::DELETE, &format!("{}/{id}", kind.path()), None)
            .await?;
        Ok(true)
    }

    async fn load(&self, cx: &Cx, xid: i64) -> XResult<Row> {
        load_one(cx, xid).await
    }

    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        if let Some(ids) = &hints.ids {
            let mut out = Vec::new();
            for id in ids {
                match load_one(cx, *id).await {
                    Ok(r) => out.push(r),
                    Err(f) if f.code == Code::RecordNotFound => {}
                    Err(f) => return Err(f),
                }
            }
            return Ok(out);
        }
        // ContactId equality is pushed down to REST's contact_id filter.
        let filter = hints
            .eq
            .iter()
            .find(|(n, _)| n == "ContactId")
            .and_then(|(_, v)| v.trim().parse::<i64>().ok())
            .map(|c| format!("contact_id={c}"))
            .unwrap_or_default();
        let zone = cx.zone().await;
        let mut out = Vec::new();
        for kind in [Kind::Note, Kind::Task] {
            let docs = super::rest_collection(cx, kind.path(), kind.list_key(), &filter).await?;
            out.extend(docs.into_iter().map(|d| row(kind, d, zone)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_never_collide() {
        for id in [1, 2, 7, 1_000_000] {
            assert_eq!(split(Kind::Note.xid(id)).ok(), Some((Kind::Note, id)));
            assert_eq!(split(Kind::Task.xid(id)).ok(), Some((Kind::Task, id)));
            assert_ne!(Kind::Note.xid(id), Kind::Task.xid(id));
        }
        assert!(split(0).is_err());
        assert!(split(1).is_err());
        assert!(split(-4).is_err());
    }

    #[test]
    fn the_kind_follows_object_type_then_action_date() {
        let v = |n: &str, x: &str| vec![(n.to_owned(), XValue::str(x))];
        assert_eq!(kind_of(&v("ObjectType", "Task")).ok(), Some(Kind::Task));
        assert_eq!(kind_of(&v("ObjectType", "Note")).ok(), Some(Kind::Note));
        assert_eq!(
            kind_of(&v("ActionDate", "20250101T10:00:00")).ok(),
            Some(Kind::Task)
        );
        assert_eq!(kind_of(&v("ActionDescription", "x")).ok(), Some(Kind::Note));
        assert!(kind_of(&v("ObjectType", "Meeting")).is_err());
    }
}
