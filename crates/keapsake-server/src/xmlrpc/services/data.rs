//! `DataService` (`keap/xmlrpc.md` §4.2): generic CRUD and queries over the tables of
//! [`crate::xmlrpc::tables`].

use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::{Args, Cx};
use crate::xmlrpc::fault::{Code, Fault, XResult};
use crate::xmlrpc::query;
use crate::xmlrpc::tables::{self, check_names, find_col, select};
use axum::http::Method;
use serde_json::{Value, json};

/// Largest `limit` (§4.2.1: larger is clamped).
pub const MAX_LIMIT: i64 = 1000;

/// Dispatches `DataService.<method>`.
///
/// # Errors
/// The method's faults; `[UnknownMethod]`.
pub async fn call(cx: &Cx, method: &str, a: Args) -> XResult<XValue> {
    match method {
        "add" => {
            a.arity(&[2])?;
            let t = tables::lookup(&a.string(0)?)?;
            Ok(XValue::Int(t.add(cx, a.members(1)?).await?))
        }
        "load" => {
            a.arity(&[3])?;
            let t = tables::lookup(&a.string(0)?)?;
            let id = a.int(1)?;
            let fields = a.strings(2)?;
            let cols = t.columns(cx).await?;
            check_names(t.name(), &cols, &fields)?;
            let row = t.load(cx, id).await?;
            select(&row, &cols, t.name(), &fields)
        }
        "update" => {
            a.arity(&[3])?;
            let t = tables::lookup(&a.string(0)?)?;
            let id = a.int(1)?;
            Ok(XValue::Int(t.update(cx, id, a.members(2)?).await?))
        }
        "delete" => {
            a.arity(&[2])?;
            let t = tables::lookup(&a.string(0)?)?;
            let id = a.int(1)?;
            Ok(XValue::Bool(t.delete(cx, id).await?))
        }
        "query" => {
            a.arity(&[5, 7])?;
            let (order, asc) = if a.len() == 7 {
                (Some(a.string(5)?), a.bool(6)?)
            } else {
                (None, true)
            };
            query_rows(
                cx,
                &a.string(0)?,
                a.int(1)?,
                a.int(2)?,
                &a.members(3)?,
                &a.strings(4)?,
                order,
                asc,
            )
            .await
        }
        "findByField" => {
            a.arity(&[6])?;
            let data = vec![(a.string(3)?, a.value(4)?.clone())];
            query_rows(
                cx,
                &a.string(0)?,
                a.int(1)?,
                a.int(2)?,
                &data,
                &a.strings(5)?,
                None,
                true,
            )
            .await
        }
        "count" => {
            a.arity(&[2])?;
            let t = tables::lookup(&a.string(0)?)?;
            let cols = t.columns(cx).await?;
            let filter = query::parse(t.name(), &cols, &a.members(1)?)?;
            let rows = t.scan(cx, &filter.hints()).await?;
            let n = rows.iter().filter(|r| filter.matches(r)).count();
            Ok(XValue::Int(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        "getAppSetting" => {
            a.arity(&[2])?;
            app_setting(&a.string(0)?, &a.string(1)?)
        }
        "addCustomField" => add_custom_field(cx, &a).await,
        "updateCustomField" => {
            a.arity(&[2])?;
            a.int(0)?;
            Err(Fault::invalid(
                "DataService.updateCustomField is not implemented in keapsake",
            ))
        }
        "getUserInfo" => user_info(cx).await,
        "authenticateUser" => Err(Fault::invalid(
            "DataService.authenticateUser is disabled in keapsake",
        )),
        _ => Err(Fault::new(Code::UnknownMethod, "")),
    }
}

#[allow(clippy::too_many_arguments, reason = "the query parameters of §4.2")]
async fn query_rows(
    cx: &Cx,
    table: &str,
    limit: i64,
    page: i64,
    data: &[(String, XValue)],
    selected: &[String],
    order: Option<String>,
    ascending: bool,
) -> XResult<XValue> {
    let t = tables::lookup(table)?;
    if limit < 0 || page < 0 {
        return Err(Fault::invalid("limit and page must not be negative"));
    }
    let limit = limit.min(MAX_LIMIT);
    let cols = t.columns(cx).await?;
    check_names(t.name(), &cols, selected)?;
    let filter = query::parse(t.name(), &cols, data)?;
    let (order_name, order_ty) = match &order {
        Some(o) if !o.trim().is_empty() => {
            let c = find_col(t.name(), &cols, o.trim())?;
            (c.name.clone(), c.ty)
        }
        _ => ("Id".to_owned(), tables::Ty::Int),
    };
    let mut rows: Vec<_> = t
        .scan(cx, &filter.hints())
        .await?
        .into_iter()
        .filter(|r| filter.matches(r))
        .collect();
    query::sort(&mut rows, &order_name, order_ty, ascending);
    let start = usize::try_from(limit.saturating_mul(page)).unwrap_or(usize::MAX);
    let take = usize::try_from(limit).unwrap_or(0);
    rows.iter()
        .skip(start)
        .take(take)
        .map(|r| select(r, &cols, t.name(), selected))
        .collect::<XResult<Vec<_>>>()
        .map(XValue::Array)
}

/// `getAppSetting(module, setting)` (§4.2).
fn app_setting(module: &str, setting: &str) -> XResult<XValue> {
    use keapsake_core::crm_more::locale;
    let v = match (module, setting.to_ascii_lowercase().as_str()) {
        ("Contact", "optiontypes") => locale::CONTACT_TYPES.join(","),
        ("Contact", "optionphonetypes") => locale::PHONE_TYPES.join(","),
        ("Contact", "optionfaxtypes") => locale::FAX_TYPES.join(","),
        ("Contact", "optionsuffixes") => locale::SUFFIX_TYPES.join(","),
        ("Contact", "optiontitles") => locale::TITLE_TYPES.join(","),
        ("Application", "enabled") => "yes".to_owned(),
        _ => {
            return Err(Fault::invalid(format!(
                "Unknown setting {}.{}",
                crate::xmlrpc::fault::printable(module, 60),
                crate::xmlrpc::fault::printable(setting, 60)
            )));
        }
    };
    Ok(XValue::Str(v))
}

/// `addCustomField(customFieldType, displayName, dataType, headerId)` → the new field's id,
/// through REST's `POST /<resource>/model/customFields`.
async fn add_custom_field(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[4])?;
    cx.require_write()?;
    let kind = a.string(0)?;
    let label = a.string(1)?;
    let data_type = a.string(2)?;
    let header = a.int(3)?;
    let path = match kind.as_str() {
        "Contact" => "/contacts/model/customFields",
        "Company" => "/companies/model/customFields",
        "Opportunity" => "/opportunities/model/customFields",
        "Task/Appt/Note" => "/tasks/model/customFields",
        _ => {
            return Err(Fault::invalid(
                "customFieldType must be Contact, Company, Opportunity or Task/Appt/Note",
            ));
        }
    };
    let field_type = match data_type.as_str() {
        "Text" => "Text",
        "TextArea" => "TextArea",
        "Dropdown" | "Select" => "Dropdown",
        "Radio" => "Radio",
        "Date" => "Date",
        "DateTime" => "DateTime",
        "Number" | "WholeNumber" => "WholeNumber",
        "DecimalNumber" => "DecimalNumber",
        "Currency" => "Currency",
        "Email" => "Email",
        "Phone" | "PhoneNumber" => "Phone",
        "Website" => "Website",
        "YesNo" => "YesNo",
        "ListBox" | "Checkbox" => "ListBox",
        "Percent" => "Percent",
        "State" => "State",
        other => {
            return Err(Fault::invalid(format!(
                "Unknown dataType {}",
                crate::xmlrpc::fault::printable(other, 40)
            )));
        }
    };
    let mut body = json!({"label": label, "field_type": field_type});
    if header > 0 {
        body["group_id"] = json!(header);
    }
    let (_, created) = cx.rest(Method::POST, path, Some(&body)).await?;
    created
        .get("id")
        .and_then(Value::as_i64)
        .map(XValue::Int)
        .ok_or_else(Fault::internal)
}

/// `getUserInfo()` (§4.2: keapsake's field names).
async fn user_info(cx: &Cx) -> XResult<XValue> {
    let account = cx.state.store.get_account(cx.principal.account_id).await?;
    let mut out = Vec::new();
    let user = match cx.principal.user_id {
        Some(u) => cx.state.store.get_user(u).await.ok(),
        None => None,
    };
    if let Some(u) = &user {
        out.push(("globalUserId".to_owned(), XValue::Int(u.id.0)));
        out.push(("localUserId".to_owned(), XValue::Int(u.id.0)));
        let name = format!("{} {}", u.given_name, u.family_name);
        let name = name.trim();
        if !name.is_empty() {
            out.push(("displayName".to_owned(), XValue::Str(name.to_owned())));
        }
        out.push(("casUsername".to_owned(), XValue::Str(u.email.clone())));
    }
    out.push(("appAlias".to_owned(), XValue::Str(account.alias.clone())));
    out.push((
        "appUrl".to_owned(),
        XValue::Str(format!("https://{}.infusionsoft.com", account.alias)),
    ));
    Ok(XValue::Struct(out))
}
