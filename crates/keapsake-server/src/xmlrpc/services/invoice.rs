//! `InvoiceService` (`keap/xmlrpc.md` §4.4): blank orders, lines, manual payments, charges
//! through the test gateway, amount owed, payments, delete — over the same order documents as
//! REST v1 `/orders` ([`crate::xmlrpc::commerce`]).

use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::commerce::{self, Line, money_of, money_value};
use crate::xmlrpc::dispatch::{Args, Cx, as_local};
use crate::xmlrpc::fault::{Code, Fault, XResult};
use crate::xmlrpc::tables::commerce::payment_row;
use axum::http::Method;
use keapsake_core::commerce::order::{
    ItemType, MAX_NOTE, MAX_TEXT, NewOrder, NewPayment, PaymentMethod,
};

/// Dispatches `InvoiceService.<method>`.
///
/// # Errors
/// The method's faults; `[UnknownMethod]`.
pub async fn call(cx: &Cx, method: &str, a: Args) -> XResult<XValue> {
    match method {
        "createBlankOrder" => create_blank_order(cx, &a).await,
        "addOrderItem" => add_order_item(cx, &a).await,
        "addManualPayment" => add_manual_payment(cx, &a).await,
        "calculateAmountOwed" => {
            a.arity(&[1])?;
            let (_, doc) = commerce::order(cx, a.int(0)?).await?;
            let totals = doc.totals().map_err(Fault::invalid)?;
            Ok(money_value(totals.total_due))
        }
        "getPayments" => {
            a.arity(&[1])?;
            let (record, doc) = commerce::order(cx, a.int(0)?).await?;
            let zone = cx.zone().await;
            Ok(XValue::Array(
                doc.payments
                    .iter()
                    .map(|p| XValue::Struct(payment_row(&record, &doc, p, zone)))
                    .collect(),
            ))
        }
        "chargeInvoice" => {
            a.arity(&[5])?;
            cx.require_write()?;
            let id = a.int(0)?;
            let notes = text(&a, 1, "notes", MAX_NOTE)?;
            let card = a.int(2)?;
            a.int(3)?; // merchantAccountId: keapsake has one (test) gateway.
            let bypass = a.bool(4)?;
            let c = commerce::charge(cx, id, card, notes, !bypass).await?;
            Ok(XValue::Struct(vec![
                ("Successful".to_owned(), XValue::Bool(c.successful)),
                ("Code".to_owned(), XValue::str(c.code)),
                ("RefNum".to_owned(), XValue::Str(c.ref_num)),
                ("Message".to_owned(), XValue::Str(c.message)),
            ]))
        }
        "deleteInvoice" => {
            a.arity(&[1])?;
            cx.require_write()?;
            let id = a.int(0)?;
            cx.rest(Method::DELETE, &format!("/orders/{id}"), None)
                .await?;
            Ok(XValue::Bool(true))
        }
        "recalculateTax" => {
            a.arity(&[1])?;
            cx.require_write()?;
            // keapsake charges no tax: the totals are already right; the invoice must exist.
            commerce::order(cx, a.int(0)?).await?;
            Ok(XValue::Bool(true))
        }
        _ => Err(Fault::new(Code::UnknownMethod, "")),
    }
}

/// A text parameter, trimmed, checked; empty is `None`.
pub(crate) fn text(a: &Args, i: usize, name: &str, max: usize) -> XResult<Option<String>> {
    let s = a.string(i)?.trim().to_owned();
    keapsake_core::crm::check_text(name, &s, max).map_err(Fault::invalid)?;
    Ok((!s.is_empty()).then_some(s))
}

/// An affiliate id parameter (0 = none).
pub(crate) fn affiliate(a: &Args, i: usize) -> XResult<Option<i64>> {
    let id = a.int(i)?;
    if id < 0 {
        return Err(Fault::invalid(format!(
            "Parameter {} must be an affiliate id or 0",
            i + 1
        )));
    }
    Ok((id > 0).then_some(id))
}

/// `createBlankOrder(contactId, description, orderDate, leadAffiliateId, saleAffiliateId)`
/// → the invoice id (= the order id): an order without items.
async fn create_blank_order(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[5])?;
    cx.require_write()?;
    let contact_id = a.int(0)?;
    let title = text(a, 1, "description", MAX_TEXT)?.unwrap_or_default();
    let local = as_local(a.value(2)?)
        .ok_or_else(|| Fault::invalid("Parameter 3 (orderDate) must be a date-time"))?;
    let new = NewOrder {
        contact_id,
        order_date: cx.zone().await.from_local(local),
        title,
        order_type: "Offline".to_owned(),
        items: Vec::new(),
        promo_codes: Vec::new(),
        lead_affiliate_id: affiliate(a, 3)?,
        sales_affiliate_id: affiliate(a, 4)?,
        shipping: None,
    };
    let record = commerce::create_order(cx, new, Vec::new()).await?;
    Ok(XValue::Int(record.id))
}

/// `addOrderItem(invoiceId, productId, type, price, quantity, description, notes)` → true.
async fn add_order_item(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[7])?;
    cx.require_write()?;
    let invoice = a.int(0)?;
    let product = a.int(1)?;
    if product < 0 {
        return Err(Fault::invalid(
            "Parameter 2 (productId) must be a product id or 0",
        ));
    }
    let code = a.int(2)?;
    let item_type = ItemType::from_code(code).ok_or_else(|| {
        Fault::invalid(format!(
            "Parameter 3 (type) must be an item type code 0 to 14, not {code}"
        ))
    })?;
    let price = money_of(a.double(3)?, "price", 6)?;
    let quantity = a.int(4)?;
    if !(1..=i64::from(i32::MAX)).contains(&quantity) {
        return Err(Fault::invalid("Parameter 5 (quantity) must be at least 1"));
    }
    let description = text(a, 5, "description", MAX_NOTE)?;
    let notes = text(a, 6, "notes", MAX_NOTE)?;
    // 404 for a missing invoice before a fault for a missing product.
    commerce::order(cx, invoice).await?;
    let mut line = Line::new(cx, product, item_type, Some(price), quantity, description).await?;
    line.notes = notes;
    commerce::add_line(cx, invoice, line).await?;
    Ok(XValue::Bool(true))
}

/// `addManualPayment(invoiceId, amount, paymentDate, paymentType, description,
/// bypassCommissions)` → true: a payment recorded without the gateway; more than is due is
/// refused.
async fn add_manual_payment(cx: &Cx, a: &Args) -> XResult<XValue> {
    a.arity(&[6])?;
    cx.require_write()?;
    let invoice = a.int(0)?;
    let amount = money_of(a.double(1)?, "amount", 2)?;
    if !amount.is_positive() {
        return Err(Fault::invalid("amount must be greater than 0"));
    }
    let local = as_local(a.value(2)?)
        .ok_or_else(|| Fault::invalid("Parameter 3 (paymentDate) must be a date-time"))?;
    let pay_type = text(a, 3, "paymentType", 40)?.unwrap_or_else(|| "Cash".to_owned());
    let method = match pay_type.to_ascii_lowercase().as_str() {
        "check" => PaymentMethod::Check,
        "credit card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Cash,
    };
    let payment = NewPayment {
        amount,
        method,
        charge_now: false,
        date: Some(cx.zone().await.from_local(local)),
        notes: text(a, 4, "description", MAX_NOTE)?,
        apply_to_commissions: !a.bool(5)?,
        credit_card_id: None,
        payment_gateway_id: None,
        pay_type: Some(pay_type),
    };
    commerce::add_payment(cx, invoice, payment).await?;
    Ok(XValue::Bool(true))
}
