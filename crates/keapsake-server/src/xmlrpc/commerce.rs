//! Orders, payments and cards for the XML-RPC commerce services (`InvoiceService`,
//! `OrderService`, `ProductService`, `keap/xmlrpc.md` §4.4–§4.6) and the commerce tables: the
//! same documents, atomic edits and rules as REST v1 (`rest::v1::orders`,
//! `keapsake_core::commerce`), in XML-RPC's units (doubles, legacy item-type codes, local
//! dates). An invoice, a job and an order are one record: `Invoice.Id = Job.Id = order id`.

use super::codec::XValue;
use super::dispatch::Cx;
use super::fault::{Fault, XResult};
use crate::rest::v1::orders::{doc, edit_order, load, products};
use keapsake_core::StoreError;
use keapsake_core::commerce::card::CardDoc;
use keapsake_core::commerce::money::Money;
use keapsake_core::commerce::order::{
    ItemType, NewItem, NewOrder, NewPayment, OrderDoc, Payment, PaymentMethod,
};
use keapsake_core::commerce::parent_of;
use keapsake_core::commerce::product::{ProductDoc, ProductSummary};
use keapsake_core::records::{Create, Edited, NewRecord, Record, RecordKind};

/// Rejection text of a charge that found nothing due inside its atomic edit.
const NOTHING_DUE: &str = "Nothing is due on this invoice";

/// An amount sent as a double: finite, not negative, at most `scale` decimals once the
/// client's float noise is rounded away ([`Money::from_double`]).
///
/// # Errors
/// `[InvalidParameter]`.
pub fn money_of(d: f64, name: &str, scale: u32) -> XResult<Money> {
    if d < 0.0 {
        return Err(Fault::invalid(format!("{name} must not be negative")));
    }
    Money::from_double(d, scale).ok_or_else(|| {
        Fault::invalid(format!(
            "{name} must be a number with at most {scale} decimals"
        ))
    })
}

/// An amount as a `<double>`.
pub fn money_value(m: Money) -> XValue {
    XValue::Double(m.decimal().to_string().parse().unwrap_or(0.0))
}

/// The display name of a non-product line of a legacy type (`addOrderItem` with product 0).
fn type_name(t: ItemType) -> &'static str {
    match t {
        ItemType::Shipping => "Shipping",
        ItemType::Tax => "Tax",
        ItemType::Product => "Product",
        ItemType::Upsell => "Upsell Product",
        ItemType::FinanceCharge => "Finance Charge",
        ItemType::Program => "Program",
        ItemType::Subscription => "Subscription Plan",
        ItemType::SpecialFreeTrialDays => "Special: Free Trial Days",
        ItemType::SpecialOrderTotal => "Special: Order Total",
        ItemType::SpecialProduct => "Special: Product",
        ItemType::SpecialCategory => "Special: Category",
        ItemType::SpecialShipping => "Special: Shipping",
        ItemType::Special => "Special",
        ItemType::Unknown => "Unknown",
        ItemType::Service | ItemType::Tip | ItemType::Other => "Service & Misc",
    }
}

/// One line to add to an order.
#[derive(Debug, Clone)]
pub struct Line {
    /// What REST's `NewItem` holds.
    pub item: NewItem,
    /// The product as the line keeps it (id 0 for a non-product line).
    pub product: ProductSummary,
    /// Notes.
    pub notes: Option<String>,
    /// The plan sold, for a subscription line.
    pub plan_id: Option<i64>,
}

impl Line {
    /// A line of `product_id` (0: a line of no product, named by its description or type).
    ///
    /// # Errors
    /// `[InvalidParameter]` for an unknown product.
    pub async fn new(
        cx: &Cx,
        product_id: i64,
        item_type: ItemType,
        price: Option<Money>,
        quantity: i64,
        description: Option<String>,
    ) -> XResult<Line> {
        let product = if product_id == 0 {
            ProductSummary {
                id: 0,
                name: description
                    .clone()
                    .unwrap_or_else(|| type_name(item_type).to_owned()),
                desc: None,
                short_desc: None,
                sku: None,
                price: price.unwrap_or(Money::ZERO),
                active: true,
                subscription_only: false,
            }
        } else {
            products(&cx.state, cx.principal.account_id, &[product_id])
                .await?
                .pop()
                .ok_or_else(Fault::internal)?
        };
        Ok(Line {
            item: NewItem {
                product_id,
                quantity,
                price,
                description,
                item_type,
            },
            product,
            notes: None,
            plan_id: None,
        })
    }

    /// A subscription line of a product's plan (plan ids name their product: a child id).
    ///
    /// # Errors
    /// `[InvalidParameter]` for an unknown or inactive plan.
    pub async fn plan(cx: &Cx, plan_id: i64) -> XResult<Line> {
        let no_plan = || Fault::invalid(format!("Subscription plan {plan_id} does not exist"));
        let product_id = parent_of(plan_id).ok_or_else(no_plan)?;
        let record = match cx
            .state
            .store
            .get_record(cx.principal.account_id, RecordKind::Product, product_id)
            .await
        {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(no_plan()),
            Err(e) => return Err(e.into()),
        };
        let product = ProductDoc::from_value(&record.data).map_err(|_| Fault::internal())?;
        let plan = product.plan(plan_id).ok_or_else(no_plan)?;
        if !plan.active || !product.active {
            return Err(Fault::invalid(format!(
                "Subscription plan {plan_id} is not active"
            )));
        }
        let mut summary = product.summary(record.id);
        summary.price = plan.plan_price;
        Ok(Line {
            item: NewItem {
                product_id: record.id,
                quantity: 1,
                price: Some(plan.plan_price),
                description: None,
                item_type: ItemType::Subscription,
            },
            product: summary,
            notes: None,
            plan_id: Some(plan_id),
        })
    }
}

fn push_line(order_id: i64, doc: &mut OrderDoc, line: &Line) -> Result<(), String> {
    doc.add_item(order_id, &line.item, &line.product)?;
    if let Some(item) = doc.order_items.last_mut() {
        item.notes.clone_from(&line.notes);
        item.plan_id = line.plan_id;
    }
    Ok(())
}

/// Inserts an order with its lines (one record, written at once). The contact must exist.
///
/// # Errors
/// `[InvalidParameter]` (unknown contact, totals out of range), store failures.
pub async fn create_order(cx: &Cx, new: NewOrder, lines: Vec<Line>) -> XResult<Record> {
    let account = cx.principal.account_id;
    crate::rest::v1::common::ensure_contact(&cx.state, account, new.contact_id).await?;
    let create: Create = Box::new(move |id| {
        let mut doc = OrderDoc::create(id, &new, &[])?;
        for line in &lines {
            push_line(id, &mut doc, line)?;
        }
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    match cx
        .state
        .store
        .insert_record(account, RecordKind::Order, create, cx.state.clock.now())
        .await?
    {
        Edited::Updated(r) => Ok(r),
        Edited::Rejected(m) => Err(Fault::invalid(m)),
    }
}

/// An order (invoice) of this account with its document.
///
/// # Errors
/// `[RecordNotFound]`.
pub async fn order(cx: &Cx, id: i64) -> XResult<(Record, OrderDoc)> {
    let record = load(&cx.state, cx.principal.account_id, id).await?;
    let d = doc(&record)?;
    Ok((record, d))
}

/// Adds a line to an order, atomically.
///
/// # Errors
/// `[RecordNotFound]`, `[InvalidParameter]`.
pub async fn add_line(cx: &Cx, order_id: i64, line: Line) -> XResult<()> {
    edit_order(
        &cx.state,
        cx.principal.account_id,
        order_id,
        move |oid, doc, _| push_line(oid, doc, &line),
    )
    .await?;
    Ok(())
}

/// Records a payment, atomically (more than is due is refused).
///
/// # Errors
/// `[RecordNotFound]`, `[InvalidParameter]`.
pub async fn add_payment(cx: &Cx, order_id: i64, payment: NewPayment) -> XResult<Payment> {
    let (_, p) = edit_order(
        &cx.state,
        cx.principal.account_id,
        order_id,
        move |oid, doc, now| doc.add_payment(oid, &payment, now),
    )
    .await?;
    Ok(p)
}

/// The test gateway's answer to a charge (`chargeInvoice`, `placeOrder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Approved.
    pub successful: bool,
    /// `APPROVED`, `DECLINED`, `ERROR` or `SKIPPED`.
    pub code: &'static str,
    /// The payment id when approved.
    pub ref_num: String,
    /// What happened.
    pub message: String,
}

impl Charge {
    fn refused(code: &'static str, message: impl Into<String>) -> Charge {
        Charge {
            successful: false,
            code,
            ref_num: String::new(),
            message: message.into(),
        }
    }
}

/// Charges what is due on an order to a card on file through the test gateway
/// (`keapsake_core::commerce::card`): the card must be the order's contact's, active, not
/// expired and not a decline number; the amount is the whole amount due, computed inside the
/// atomic edit that records the payment. Nothing due → `SKIPPED`.
///
/// # Errors
/// `[RecordNotFound]` for an unknown order; store failures. Gateway refusals are a
/// [`Charge`], not a fault.
pub async fn charge(
    cx: &Cx,
    order_id: i64,
    card_id: i64,
    notes: Option<String>,
    apply_to_commissions: bool,
) -> XResult<Charge> {
    let (_, current) = order(cx, order_id).await?;
    if card_id <= 0 {
        return Ok(Charge::refused("ERROR", "No credit card was given"));
    }
    let card = match cx
        .state
        .store
        .get_record(cx.principal.account_id, RecordKind::CreditCard, card_id)
        .await
    {
        Ok(r) => CardDoc::from_value(&r.data).map_err(|_| Fault::internal())?,
        Err(StoreError::NotFound) => {
            return Ok(Charge::refused(
                "ERROR",
                format!("Credit card {card_id} was not found"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let today = cx.state.clock.now().date();
    if let Err(r) = card.charge(current.contact_id, today) {
        return Ok(Charge::refused(r.code(), r.message()));
    }
    if current
        .totals()
        .map_err(Fault::invalid)?
        .total_due
        .is_zero()
    {
        return Ok(Charge::refused("SKIPPED", NOTHING_DUE));
    }
    let paid = edit_order(
        &cx.state,
        cx.principal.account_id,
        order_id,
        move |oid, doc, now| {
            let due = doc.totals()?.total_due;
            if due.is_zero() {
                return Err(NOTHING_DUE.to_owned());
            }
            let payment = NewPayment {
                amount: due,
                method: PaymentMethod::CreditCard,
                charge_now: true,
                date: None,
                notes,
                apply_to_commissions,
                credit_card_id: Some(card_id),
                payment_gateway_id: None,
                pay_type: Some("Credit Card".to_owned()),
            };
            doc.add_payment(oid, &payment, now)
        },
    )
    .await;
    match paid {
        Ok((_, p)) => Ok(Charge {
            successful: true,
            code: "APPROVED",
            ref_num: p.id.to_string(),
            message: "Approved by the keapsake test gateway".to_owned(),
        }),
        Err(e) if e.message == NOTHING_DUE => Ok(Charge::refused("SKIPPED", NOTHING_DUE)),
        Err(e) => Err(e.into()),
    }
}
