//! `OrderService.placeOrder` (`keap/xmlrpc.md` §4.5): one order with a line per product
//! (quantity 1, the product's price) and per subscription plan (the plan's price, plus a
//! subscription as REST v1 `POST /subscriptions` makes it), charged to a card on file when one
//! is given. The answer's members are all strings, as in Keap's sample.

use super::invoice::affiliate;
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::commerce::{self, Line};
use crate::xmlrpc::dispatch::{Args, Cx};
use crate::xmlrpc::fault::{Code, Fault, XResult};
use axum::http::Method;
use keapsake_core::commerce::order::{
    ItemType, MAX_ITEMS_PER_REQUEST, MAX_PROMO_CODES, MAX_TEXT, NewOrder,
};
use keapsake_core::records::{Edited, RecordKind};
use serde_json::{Value, json};

/// Dispatches `OrderService.<method>`.
///
/// # Errors
/// The method's faults; `[UnknownMethod]`.
pub async fn call(cx: &Cx, method: &str, a: Args) -> XResult<XValue> {
    match method {
        "placeOrder" => place_order(cx, &a).await,
        _ => Err(Fault::new(Code::UnknownMethod, "")),
    }
}

/// `placeOrder(contactId, creditCardId, payPlanId, productIds, subscriptionPlanIds,
/// processSpecials, promoCodes[, leadAffiliateId, affiliateId])`.
async fn place_order(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[7, 9])?;
    cx.require_write()?;
    let contact_id = a.int(0)?;
    let card_id = a.int(1)?;
    if card_id < 0 {
        return Err(Fault::invalid(
            "Parameter 2 (creditCardId) must be a card id or 0",
        ));
    }
    // payPlanId (0 = the default plan): keapsake has one, paying in full.
    a.int(2)?;
    let product_ids = a.ints(3)?;
    let plan_ids = a.ints(4)?;
    // processSpecials: keapsake has no specials to apply.
    a.bool(5)?;
    let promo_codes: Vec<String> = match a.value(6)? {
        XValue::Nil => Vec::new(),
        XValue::Str(s) if s.trim().is_empty() => Vec::new(),
        _ => a
            .strings(6)?
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    if promo_codes.len() > MAX_PROMO_CODES {
        return Err(Fault::invalid(format!(
            "promoCodes takes at most {MAX_PROMO_CODES} codes"
        )));
    }
    for c in &promo_codes {
        keapsake_core::crm::check_text("promoCodes[]", c, MAX_TEXT).map_err(Fault::invalid)?;
    }
    let (lead, sale) = if a.len() == 9 {
        (affiliate(a, 7)?, affiliate(a, 8)?)
    } else {
        (None, None)
    };
    if product_ids.is_empty() && plan_ids.is_empty() {
        return Err(Fault::invalid(
            "placeOrder needs at least one product or subscription plan",
        ));
    }
    if product_ids.len() + plan_ids.len() > MAX_ITEMS_PER_REQUEST {
        return Err(Fault::invalid(format!(
            "placeOrder takes at most {MAX_ITEMS_PER_REQUEST} products and plans"
        )));
    }
    let mut lines = Vec::with_capacity(product_ids.len() + plan_ids.len());
    for id in &product_ids {
        if *id <= 0 {
            return Err(Fault::invalid(format!("Product {id} does not exist")));
        }
        lines.push(Line::new(cx, *id, ItemType::Product, None, 1, None).await?);
    }
    for id in &plan_ids {
        lines.push(Line::plan(cx, *id).await?);
    }
    let title = lines
        .first()
        .map(|l| l.product.name.clone())
        .unwrap_or_default();
    let new = NewOrder {
        contact_id,
        order_date: cx.state.clock.now(),
        title,
        order_type: "Online".to_owned(),
        items: Vec::new(),
        promo_codes,
        lead_affiliate_id: lead,
        sales_affiliate_id: sale,
        shipping: None,
    };
    let record = commerce::create_order(cx, new, lines).await?;
    for plan in &plan_ids {
        subscribe(cx, contact_id, *plan, card_id, sale, record.id).await?;
    }
    let (successful, message, ref_num, code) = if card_id > 0 {
        let c = commerce::charge(cx, record.id, card_id, None, true).await?;
        let ref_num = if c.ref_num.is_empty() {
            "None".to_owned()
        } else {
            c.ref_num
        };
        (c.successful, c.message, ref_num, c.code.to_owned())
    } else {
        (false, "None".to_owned(), "None".to_owned(), String::new())
    };
    let id = record.id.to_string();
    Ok(XValue::Struct(vec![
        ("Successful".to_owned(), XValue::Str(successful.to_string())),
        ("Message".to_owned(), XValue::Str(message)),
        ("RefNum".to_owned(), XValue::Str(ref_num)),
        ("OrderId".to_owned(), XValue::Str(id.clone())),
        ("InvoiceId".to_owned(), XValue::Str(id)),
        ("Code".to_owned(), XValue::Str(code)),
    ]))
}

/// The subscription a plan line starts, through REST (same rules and document), marked with
/// the order that started it (`RecurringOrder.OriginatingOrderId`).
async fn subscribe(
    cx: &Cx,
    contact_id: i64,
    plan_id: i64,
    card_id: i64,
    sale: Option<i64>,
    order_id: i64,
) -> XResult<()> {
    let mut body = json!({
        "contact_id": contact_id,
        "subscription_plan_id": plan_id,
        "allow_duplicate": true,
    });
    if card_id > 0 {
        body["credit_card_id"] = json!(card_id);
    }
    if let Some(s) = sale {
        body["sale_affiliate_id"] = json!(s);
    }
    let (_, created) = cx.rest(Method::POST, "/subscriptions", Some(&body)).await?;
    let id = created
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(Fault::internal)?;
    let edited = cx
        .state
        .store
        .update_record(
            cx.principal.account_id,
            RecordKind::Subscription,
            id,
            Box::new(move |_, data| {
                let mut doc =
                    keapsake_core::commerce::subscription::SubscriptionDoc::from_value(data)?;
                doc.extra
                    .insert("originating_order_id".to_owned(), json!(order_id));
                *data = doc.to_value();
                Ok(doc.keys())
            }),
            cx.state.clock.now(),
        )
        .await?;
    match edited {
        Edited::Updated(_) => Ok(()),
        Edited::Rejected(m) => Err(Fault::invalid(m)),
    }
}
