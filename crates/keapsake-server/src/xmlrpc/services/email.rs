//! `APIEmailService` (`keap/xmlrpc.md` §4.3) over the REST v1 e-mail code: `sendEmail` goes
//! through `POST /emails/queue` (the same outbox, one e-mail record per contact), `attachEmail`
//! through `POST /emails`, `optIn`/`optOut` through `PUT /emailAddresses/{email}`; templates
//! are records of their own ([`RecordKind::EmailTemplate`]).
//!
//! keapsake's choices: `fromAddress`, `ccAddresses` and `bccAddresses` of `sendEmail` are
//! accepted and not used (the outbox sends from the account's sender, like REST's queue);
//! `toAddress` picks the contact's address by merge field (`~Contact.Email~`,
//! `~Contact.EmailAddress2~`, `~Contact.EmailAddress3~`, `~Contact._Custom~`), any other value
//! means the primary address.

use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::{Args, Cx, as_int, as_local};
use crate::xmlrpc::fault::{Code, Fault, XResult, printable};
use axum::http::Method;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keapsake_core::crm::contact::{ContactDoc, EMAIL_KEYS, EmailStatus};
use keapsake_core::crm::fold;
use keapsake_core::messaging::address::{ADDRESS_KEY, AddressDoc};
use keapsake_core::records::{Cond, Keys, NewRecord, Query, RecordKind};
use serde_json::{Map, Value, json};

/// The fields of a template, in `addEmailTemplate`'s parameter order.
pub const TEMPLATE_FIELDS: [&str; 11] = [
    "pieceTitle",
    "categories",
    "fromAddress",
    "toAddress",
    "ccAddress",
    "bccAddress",
    "subject",
    "textBody",
    "htmlBody",
    "contentType",
    "mergeContext",
];

/// Longest template text field.
const MAX_TEMPLATE_TEXT: usize = 1024 * 1024;

/// Dispatches `APIEmailService.<method>`.
///
/// # Errors
/// The method's faults; `[UnknownMethod]`.
pub async fn call(cx: &Cx, method: &str, a: Args) -> XResult<XValue> {
    match method {
        "sendEmail" => send_email(cx, &a).await,
        "attachEmail" => attach_email(cx, &a).await,
        "optIn" | "optOut" => {
            a.arity(&[2])?;
            cx.require_write()?;
            let email = a.string(0)?;
            let reason = a.string(1)?;
            opt(cx, email.trim(), method == "optIn", &reason).await
        }
        "getOptStatus" => {
            a.arity(&[1])?;
            let email = a.string(0)?;
            Ok(XValue::Int(opt_status(cx, email.trim()).await?))
        }
        "addEmailTemplate" => {
            a.arity(&[11])?;
            cx.require_write()?;
            let doc = template_doc(&a, 0)?;
            let now = cx.state.clock.now();
            let created = cx
                .state
                .store
                .insert_record(
                    cx.principal.account_id,
                    RecordKind::EmailTemplate,
                    Box::new(move |_| {
                        Ok(NewRecord {
                            keys: template_keys(&doc),
                            data: doc,
                        })
                    }),
                    now,
                )
                .await?;
            match created {
                keapsake_core::records::Edited::Updated(r) => Ok(XValue::Int(r.id)),
                keapsake_core::records::Edited::Rejected(m) => Err(Fault::invalid(m)),
            }
        }
        "getEmailTemplate" => {
            a.arity(&[1])?;
            let doc = load_template(cx, a.int(0)?).await?;
            Ok(XValue::Struct(
                TEMPLATE_FIELDS
                    .iter()
                    .map(|f| {
                        (
                            (*f).to_owned(),
                            XValue::Str(
                                doc.get(*f)
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned(),
                            ),
                        )
                    })
                    .collect(),
            ))
        }
        "updateEmailTemplate" => {
            a.arity(&[12])?;
            cx.require_write()?;
            let id = a.int(0)?;
            let doc = template_doc(&a, 1)?;
            let now = cx.state.clock.now();
            let edited = cx
                .state
                .store
                .update_record(
                    cx.principal.account_id,
                    RecordKind::EmailTemplate,
                    id,
                    Box::new(move |_, data| {
                        let keys = template_keys(&doc);
                        *data = doc;
                        Ok(keys)
                    }),
                    now,
                )
                .await?;
            match edited {
                keapsake_core::records::Edited::Updated(_) => Ok(XValue::Bool(true)),
                keapsake_core::records::Edited::Rejected(m) => Err(Fault::invalid(m)),
            }
        }
        _ => Err(Fault::new(Code::UnknownMethod, "")),
    }
}

fn template_keys(doc: &Value) -> Keys {
    let mut keys = Keys::default();
    keys.text[0] = doc.get("pieceTitle").and_then(Value::as_str).map(fold);
    keys
}

/// The 11 template fields starting at parameter `from`, checked.
fn template_doc(a: &Args, from: usize) -> XResult<Value> {
    let mut m = Map::new();
    for (i, name) in TEMPLATE_FIELDS.iter().enumerate() {
        let v = a.string(from + i)?;
        if v.len() > MAX_TEMPLATE_TEXT || v.contains('\0') {
            return Err(Fault::invalid(format!(
                "{name} must be at most {MAX_TEMPLATE_TEXT} bytes without NUL characters"
            )));
        }
        m.insert((*name).to_owned(), Value::String(v));
    }
    let title = m.get("pieceTitle").and_then(Value::as_str).unwrap_or("");
    if title.trim().is_empty() {
        return Err(Fault::invalid("pieceTitle is required"));
    }
    let ct = m.get("contentType").and_then(Value::as_str).unwrap_or("");
    if !matches!(ct, "HTML" | "Text" | "Multipart") {
        return Err(Fault::invalid(
            "contentType must be HTML, Text or Multipart",
        ));
    }
    let mc = m.get("mergeContext").and_then(Value::as_str).unwrap_or("");
    if !matches!(mc, "Contact" | "Opportunity" | "Invoice" | "CreditCard") {
        return Err(Fault::invalid(
            "mergeContext must be Contact, Opportunity, Invoice or CreditCard",
        ));
    }
    Ok(Value::Object(m))
}

async fn load_template(cx: &Cx, id: i64) -> XResult<Value> {
    Ok(cx
        .state
        .store
        .get_record(cx.principal.account_id, RecordKind::EmailTemplate, id)
        .await?
        .data)
}

/// `~Contact.Email~` → REST's `address_field`.
fn address_field(to: &str) -> String {
    let t = to.trim();
    match t
        .strip_prefix("~Contact.")
        .and_then(|r| r.strip_suffix('~'))
    {
        Some(f @ ("EmailAddress2" | "EmailAddress3")) => f.to_owned(),
        Some(f) if f.starts_with('_') => f.to_owned(),
        _ => "Email".to_owned(),
    }
}

fn b64(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| STANDARD.encode(s.as_bytes()))
}

fn contact_list(a: &Args, i: usize) -> XResult<Vec<i64>> {
    let bad = || {
        Fault::invalid(format!(
            "Parameter {} must be an array of contact ids",
            i + 1
        ))
    };
    match a.value(i)? {
        XValue::Array(items) => items.iter().map(|v| as_int(v).ok_or_else(bad)).collect(),
        v => as_int(v).map(|id| vec![id]).ok_or_else(bad),
    }
}

/// `sendEmail`: 2 arguments (contacts, template id) or 9–10 (the content form).
async fn send_email(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[2, 9, 10])?;
    cx.require_write()?;
    let contacts = contact_list(a, 0)?;
    let (to, content_type, subject, html, text) = if a.len() == 2 {
        let t = load_template(cx, a.int(1)?).await?;
        let f = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        (
            f("toAddress"),
            f("contentType"),
            f("subject"),
            f("htmlBody"),
            f("textBody"),
        )
    } else {
        (
            a.string(2)?,
            a.string(5)?,
            a.string(6)?,
            a.string(7)?,
            a.string(8)?,
        )
    };
    let (html, text) = match content_type.as_str() {
        "HTML" => (html, String::new()),
        "Text" => (String::new(), text),
        "Multipart" => (html, text),
        _ => {
            return Err(Fault::invalid(
                "contentType must be HTML, Text or Multipart",
            ));
        }
    };
    let Some(user) = cx.principal.user_id else {
        return Err(Fault::invalid(
            "sendEmail needs a key that belongs to a user (the sender)",
        ));
    };
    let mut body = json!({
        "contacts": contacts,
        "user_id": user.0,
        "subject": subject,
        "address_field": address_field(&to),
    });
    if let Some(h) = b64(&html) {
        body["html_content"] = json!(h);
    }
    if let Some(p) = b64(&text) {
        body["plain_content"] = json!(p);
    }
    cx.rest(Method::POST, "/emails/queue", Some(&body)).await?;
    Ok(XValue::Bool(true))
}

/// A local date-time parameter as REST's UTC form; empty → absent.
async fn date_param(cx: &Cx, a: &Args, i: usize) -> XResult<Option<String>> {
    let v = a.value(i)?;
    if matches!(v, XValue::Nil) || matches!(v, XValue::Str(s) if s.trim().is_empty()) {
        return Ok(None);
    }
    let local = as_local(v)
        .ok_or_else(|| Fault::invalid(format!("Parameter {} must be a date-time", i + 1)))?;
    Ok(Some(keapsake_core::crm::date::format_datetime(
        cx.zone().await.from_local(local),
    )))
}

/// `attachEmail`: an e-mail record only (14 arguments).
async fn attach_email(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[14])?;
    cx.require_write()?;
    let contact = a.int(0)?;
    let from_name = a.string(1)?;
    let from = a.string(2)?;
    let content_type = a.string(6)?;
    if !matches!(content_type.as_str(), "HTML" | "Text" | "Multipart") {
        return Err(Fault::invalid(
            "contentType must be HTML, Text or Multipart",
        ));
    }
    let sent_type = a.int(13)?;
    if !matches!(sent_type, 0 | 1) {
        return Err(Fault::invalid(
            "emailSentType must be 1 (sent) or 0 (received)",
        ));
    }
    let from = if from_name.trim().is_empty() || from.trim().is_empty() {
        from
    } else {
        format!("{} <{}>", from_name.trim(), from.trim())
    };
    let mut body = json!({
        "contact_id": contact,
        "sent_from_address": from,
        "sent_to_address": a.string(3)?,
        "sent_to_cc_addresses": a.string(4)?,
        "sent_to_bcc_addresses": a.string(5)?,
        "subject": a.string(7)?,
        "headers": a.string(10)?,
    });
    if let Some(h) = b64(&a.string(8)?) {
        body["html_content"] = json!(h);
    }
    if let Some(p) = b64(&a.string(9)?) {
        body["plain_content"] = json!(p);
    }
    if let Some(d) = date_param(cx, a, 11).await? {
        body["received_date"] = json!(d);
    }
    if let Some(d) = date_param(cx, a, 12).await? {
        body["sent_date"] = json!(d);
    }
    cx.rest(Method::POST, "/emails", Some(&body)).await?;
    Ok(XValue::Bool(true))
}

/// `optIn`/`optOut` through `PUT /emailAddresses/{email}`: true when the address ends in the
/// asked state, false when no contact has it or the status may not move (a bounce, …).
async fn opt(cx: &Cx, email: &str, opt_in: bool, reason: &str) -> XResult<XValue> {
    if email.is_empty() {
        return Err(Fault::invalid("email is required"));
    }
    let path = format!(
        "/emailAddresses/{}",
        form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
    );
    match cx
        .rest(
            Method::PUT,
            &path,
            Some(&json!({"opted_in": opt_in, "reason": reason})),
        )
        .await
    {
        Ok((_, v)) => Ok(XValue::Bool(
            v.get("opted_in").and_then(Value::as_bool) == Some(opt_in),
        )),
        Err(f) if f.code == Code::RecordNotFound => Ok(XValue::Bool(false)),
        Err(f) => Err(Fault::new(
            f.code,
            format!("{} ({})", f.message, printable(email, 80)),
        )),
    }
}

/// `getOptStatus`: 0 not marketable, 1 single opt-in / marketable, 2 double opt-in.
async fn opt_status(cx: &Cx, email: &str) -> XResult<i64> {
    let folded = fold(email);
    let account = cx.principal.account_id;
    let (own, _) = cx
        .state
        .store
        .list_records(
            account,
            RecordKind::EmailAddress,
            &Query {
                conds: vec![Cond::TextEq(ADDRESS_KEY, folded.clone())],
                limit: 1,
                ..Query::default()
            },
        )
        .await?;
    let status = match own.first() {
        Some(r) => Some(
            AddressDoc::from_value(&r.data)
                .map_err(|_| Fault::internal())?
                .status,
        ),
        None => {
            let (contacts, _) = cx
                .state
                .store
                .list_records(
                    account,
                    RecordKind::Contact,
                    &Query {
                        conds: vec![Cond::AnyTextEq(EMAIL_KEYS.to_vec(), folded.clone())],
                        limit: 1000,
                        ..Query::default()
                    },
                )
                .await?;
            contacts
                .iter()
                .filter_map(|r| ContactDoc::from_value(&r.data).ok())
                .find(|c| c.email1().map(fold).as_deref() == Some(folded.as_str()))
                .and_then(|c| c.effective_email_status())
        }
    };
    Ok(match status {
        Some(EmailStatus::DoubleOptin | EmailStatus::Confirmed) => 2,
        Some(EmailStatus::SingleOptIn | EmailStatus::UnengagedMarketable) => 1,
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_address_picks_the_slot() {
        assert_eq!(address_field("~Contact.Email~"), "Email");
        assert_eq!(address_field("~Contact.EmailAddress2~"), "EmailAddress2");
        assert_eq!(address_field("~Contact._Work~"), "_Work");
        assert_eq!(address_field("someone@example.com"), "Email");
    }
}
