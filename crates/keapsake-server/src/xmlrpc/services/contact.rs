//! `ContactService` (`keap/xmlrpc.md` §4.1) over REST v1 contacts and tags.

use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::{Args, Cx};
use crate::xmlrpc::fault::{Code, Fault, XResult};
use crate::xmlrpc::tables::{Table, contact, select};
use axum::http::Method;
use serde_json::{Value, json};

/// Dispatches `ContactService.<method>`.
///
/// # Errors
/// The method's faults; `[UnknownMethod]`.
pub async fn call(cx: &Cx, method: &str, a: Args) -> XResult<XValue> {
    match method {
        "add" => {
            a.arity(&[1])?;
            Ok(XValue::Int(contact::CONTACT.add(cx, a.members(0)?).await?))
        }
        "addWithDupCheck" => add_with_dup_check(cx, &a).await,
        "load" => {
            a.arity(&[2])?;
            let id = a.int(0)?;
            let fields = a.strings(1)?;
            let cols = contact::columns(cx).await?;
            crate::xmlrpc::tables::check_names("Contact", &cols, &fields)?;
            let row = contact::load_row(cx, &cols, id).await?;
            select(&row, &cols, "Contact", &fields)
        }
        "update" => {
            a.arity(&[2])?;
            let id = a.int(0)?;
            Ok(XValue::Int(
                contact::CONTACT.update(cx, id, a.members(1)?).await?,
            ))
        }
        "findByEmail" => {
            a.arity(&[2])?;
            let email = a.string(0)?;
            let fields = a.strings(1)?;
            let cols = contact::columns(cx).await?;
            crate::xmlrpc::tables::check_names("Contact", &cols, &fields)?;
            if email.trim().is_empty() {
                return Ok(XValue::Array(Vec::new()));
            }
            let filter = format!(
                "&{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("email", email.trim())
                    .finish()
            );
            let rows = contact::list_rows(cx, &cols, &filter).await?;
            rows.iter()
                .map(|r| select(r, &cols, "Contact", &fields))
                .collect::<XResult<Vec<_>>>()
                .map(XValue::Array)
        }
        "addToGroup" => {
            a.arity(&[2])?;
            cx.require_write()?;
            let (c, t) = (a.int(0)?, a.int(1)?);
            ensure_contact(cx, c).await?;
            let (_, res) = cx
                .rest(
                    Method::POST,
                    &format!("/tags/{t}/contacts"),
                    Some(&json!({"ids": [c]})),
                )
                .await?;
            match res.get(c.to_string()).and_then(Value::as_str) {
                Some("SUCCESS" | "DUPLICATE") => Ok(XValue::Bool(true)),
                _ => Err(Fault::not_found()),
            }
        }
        "removeFromGroup" => {
            a.arity(&[2])?;
            cx.require_write()?;
            let (c, t) = (a.int(0)?, a.int(1)?);
            ensure_contact(cx, c).await?;
            cx.rest(Method::DELETE, &format!("/tags/{t}/contacts/{c}"), None)
                .await?;
            Ok(XValue::Bool(true))
        }
        "merge" => merge(cx, &a).await,
        "delete" => {
            // Not a Keap ContactService method; DataService.delete covers it.
            Err(Fault::new(Code::UnknownMethod, ""))
        }
        "addToCampaign" | "removeFromCampaign" | "pauseCampaign" | "resumeCampaignForContact" => {
            // Recorded no-ops: keapsake has no automation engine (§4.1).
            a.arity(&[2])?;
            let c = a.int(0)?;
            a.int(1)?;
            cx.require_write()?;
            ensure_contact(cx, c).await?;
            tracing::info!(
                contact = c,
                method,
                "campaign call accepted (no automation engine)"
            );
            Ok(XValue::Bool(true))
        }
        "linkContacts" | "unlinkContacts" => {
            a.arity(&[3])?;
            cx.require_write()?;
            let (c1, c2, ty) = (a.int(0)?, a.int(1)?, a.int(2)?);
            let (state, account) = (&cx.state, cx.principal.account_id);
            if method == "linkContacts" {
                crate::links::link(state, account, c1, c2, ty).await?;
                Ok(XValue::Bool(true))
            } else {
                Ok(XValue::Bool(
                    crate::links::unlink(state, account, c1, c2, ty).await?,
                ))
            }
        }
        "listLinkedContacts" => {
            a.arity(&[1])?;
            let listed =
                crate::links::links_of(&cx.state, cx.principal.account_id, a.int(0)?).await?;
            Ok(XValue::Array(
                listed
                    .into_iter()
                    .map(|l| {
                        let mut m = vec![
                            ("ContactId1".to_owned(), XValue::Int(l.link.contact1_id)),
                            ("ContactId2".to_owned(), XValue::Int(l.link.contact2_id)),
                            ("LinkTypeId".to_owned(), XValue::Int(l.link.link_type_id)),
                        ];
                        if let Some(n) = l.type_name {
                            m.push(("LinkTypeName".to_owned(), XValue::Str(n)));
                        }
                        XValue::Struct(m)
                    })
                    .collect(),
            ))
        }
        "getNextCampaignStep" | "rescheduleCampaignStep" | "runActionSequence" => {
            Err(Fault::invalid(format!(
                "ContactService.{method} is not implemented in keapsake"
            )))
        }
        _ => Err(Fault::new(Code::UnknownMethod, "")),
    }
}

async fn ensure_contact(cx: &Cx, id: i64) -> XResult<()> {
    cx.state
        .store
        .get_record(
            cx.principal.account_id,
            keapsake_core::records::RecordKind::Contact,
            id,
        )
        .await?;
    Ok(())
}

/// `addWithDupCheck(data, dupCheckType)`: REST's upsert with the same `duplicate_option`.
async fn add_with_dup_check(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[2])?;
    let values = a.members(0)?;
    let kind = a.string(1)?;
    if !matches!(
        kind.as_str(),
        "Email" | "EmailAndName" | "EmailAndNameAndCompany"
    ) {
        return Err(Fault::invalid(
            "dupCheckType must be Email, EmailAndName or EmailAndNameAndCompany",
        ));
    }
    cx.require_write()?;
    let mut body = contact::body(cx, &values).await?;
    let has_email = body
        .get("email_addresses")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_email {
        // Nothing to match on: a plain create.
        return Ok(XValue::Int(contact::CONTACT.add(cx, values).await?));
    }
    body["duplicate_option"] = json!(kind);
    let (_, doc) = cx.rest(Method::PUT, "/contacts", Some(&body)).await?;
    doc.get("id")
        .and_then(Value::as_i64)
        .map(XValue::Int)
        .ok_or_else(Fault::internal)
}

/// `merge(contactId, duplicateContactId)`: empty fields of the kept contact are filled from
/// the duplicate, the duplicate's tags are applied to it, its notes, tasks, orders,
/// subscriptions, cards and links moved to it, then the duplicate is deleted.
async fn merge(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[2])?;
    cx.require_write()?;
    let (keep, dup) = (a.int(0)?, a.int(1)?);
    if keep == dup {
        return Err(Fault::invalid("A contact cannot be merged with itself"));
    }
    let cols = contact::columns(cx).await?;
    let kept = contact::load_row(cx, &cols, keep).await?;
    let other = contact::load_row(cx, &cols, dup).await?;
    let fill: Vec<(String, XValue)> = other
        .into_iter()
        .filter(|(n, _)| {
            cols.iter()
                .any(|c| c.name == *n && !c.ro && !c.path.starts_with('!') && c.name != "Company")
        })
        .filter(|(n, _)| !kept.iter().any(|(k, _)| k == n))
        .collect();
    if !fill.is_empty() {
        contact::CONTACT.update(cx, keep, fill).await?;
    }
    let (_, tags) = cx
        .rest(
            Method::GET,
            &format!("/contacts/{dup}/tags?limit=1000"),
            None,
        )
        .await?;
    let tag_ids: Vec<i64> = tags
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    t.get("tag")
                        .and_then(|t| t.get("id"))
                        .and_then(Value::as_i64)
                })
                .collect()
        })
        .unwrap_or_default();
    if !tag_ids.is_empty() {
        cx.rest(
            Method::POST,
            &format!("/contacts/{keep}/tags"),
            Some(&json!({"tagIds": tag_ids})),
        )
        .await?;
    }
    // The duplicate's notes and tasks move to the kept contact (deleting a contact takes its
    // notes and tasks with it).
    for (path, key, body) in [
        ("/notes", "notes", json!({"contact_id": keep})),
        ("/tasks", "tasks", json!({"contact": {"id": keep}})),
    ] {
        let docs =
            crate::xmlrpc::tables::rest_collection(cx, path, key, &format!("contact_id={dup}"))
                .await?;
        for id in docs
            .iter()
            .filter_map(|d| d.get("id").and_then(Value::as_i64))
        {
            cx.rest(Method::PATCH, &format!("{path}/{id}"), Some(&body))
                .await?;
        }
    }
    crate::merge::move_commerce_and_links(&cx.state, cx.principal.account_id, keep, dup).await?;
    contact::CONTACT.delete(cx, dup).await?;
    Ok(XValue::Bool(true))
}
