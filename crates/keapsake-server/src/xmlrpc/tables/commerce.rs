//! The commerce tables (`keap/xmlrpc.md` §5.3–§5.5) over the same documents as REST v1:
//!
//! | table | one row per | id |
//! |---|---|---|
//! | `Job`, `Invoice` | order | the order id (an invoice is its order, 1:1) |
//! | `OrderItem`, `InvoiceItem` | order item | the item id (`order id × 10 000 + n`) |
//! | `Payment`, `InvoicePayment` | payment | the payment id (= REST transaction id) |
//! | `SubscriptionPlan` | a product's plan | the plan id |
//! | `RecurringOrder` | subscription | the subscription id |
//! | `CreditCard` | card on file | the card id (never the number: `Last4`) |
//!
//! Rows are built from the documents directly. Everything is read-only except `Job`'s title,
//! notes, start date, order type and shipping fields (`DataService.update`); orders, lines and
//! payments are made with `InvoiceService`/`OrderService`, which say so in the fault.

use super::{Col, FieldSpec, Hints, Row, Table, Ty, find_col, ro, rw};
use crate::rest::v1::common::all_records;
use crate::rest::v1::orders::edit_order;
use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::commerce::money_value;
use crate::xmlrpc::dispatch::{Cx, as_int, as_local};
use crate::xmlrpc::fault::{Fault, XResult};
use crate::xmlrpc::tz::Zone;
use async_trait::async_trait;
use axum::http::Method;
use keapsake_core::commerce::card::{self, CardDoc};
use keapsake_core::commerce::order::{self, Address, MAX_NOTE, MAX_TEXT, OrderDoc, Payment};
use keapsake_core::commerce::parent_of;
use keapsake_core::commerce::product::ProductDoc;
use keapsake_core::commerce::subscription::{self, SubscriptionDoc};
use keapsake_core::records::{Cond, Record, RecordKind};
use time::OffsetDateTime;

const NONE: &str = "";

/// `Job` fields.
pub const JOB_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    rw("JobTitle", NONE, Ty::Str),
    ro("ContactId", NONE, Ty::Int),
    rw("StartDate", NONE, Ty::DateTime),
    ro("DueDate", NONE, Ty::DateTime),
    rw("JobNotes", NONE, Ty::Str),
    ro("ProductId", NONE, Ty::Int),
    ro("JobRecurringId", NONE, Ty::Int),
    ro("JobStatus", NONE, Ty::Str),
    ro("DateCreated", NONE, Ty::DateTime),
    rw("OrderType", NONE, Ty::Str),
    ro("OrderStatus", NONE, Ty::Int),
    rw("ShipFirstName", NONE, Ty::Str),
    rw("ShipMiddleName", NONE, Ty::Str),
    rw("ShipLastName", NONE, Ty::Str),
    rw("ShipCompany", NONE, Ty::Str),
    rw("ShipPhone", NONE, Ty::Str),
    rw("ShipStreet1", NONE, Ty::Str),
    rw("ShipStreet2", NONE, Ty::Str),
    rw("ShipCity", NONE, Ty::Str),
    rw("ShipState", NONE, Ty::Str),
    rw("ShipZip", NONE, Ty::Str),
    rw("ShipCountry", NONE, Ty::Str),
    ro("LastUpdated", NONE, Ty::DateTime),
];

/// `Invoice` fields (read-only).
pub const INVOICE_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("ContactId", NONE, Ty::Int),
    ro("JobId", NONE, Ty::Int),
    ro("DateCreated", NONE, Ty::DateTime),
    ro("InvoiceTotal", NONE, Ty::Double),
    ro("TotalPaid", NONE, Ty::Double),
    ro("TotalDue", NONE, Ty::Double),
    ro("PayStatus", NONE, Ty::Int),
    ro("CreditStatus", NONE, Ty::Int),
    ro("RefundStatus", NONE, Ty::Int),
    ro("PayPlanStatus", NONE, Ty::Int),
    ro("AffiliateId", NONE, Ty::Int),
    ro("LeadAffiliateId", NONE, Ty::Int),
    ro("PromoCode", NONE, Ty::Str),
    ro("InvoiceType", NONE, Ty::Str),
    ro("Description", NONE, Ty::Str),
    ro("ProductSold", NONE, Ty::Str),
    ro("Synced", NONE, Ty::Int),
    ro("LastUpdated", NONE, Ty::DateTime),
];

/// `OrderItem` fields (read-only).
pub const ORDER_ITEM_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("OrderId", NONE, Ty::Int),
    ro("ProductId", NONE, Ty::Int),
    ro("SubscriptionPlanId", NONE, Ty::Int),
    ro("ItemName", NONE, Ty::Str),
    ro("Qty", NONE, Ty::Int),
    ro("CPU", NONE, Ty::Double),
    ro("PPU", NONE, Ty::Double),
    ro("ItemDescription", NONE, Ty::Str),
    ro("ItemType", NONE, Ty::Int),
    ro("Notes", NONE, Ty::Str),
];

/// `InvoiceItem` fields (read-only).
pub const INVOICE_ITEM_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("InvoiceId", NONE, Ty::Int),
    ro("OrderItemId", NONE, Ty::Int),
    ro("InvoiceAmt", NONE, Ty::Double),
    ro("Discount", NONE, Ty::Double),
    ro("DateCreated", NONE, Ty::DateTime),
    ro("Description", NONE, Ty::Str),
    ro("CommissionStatus", NONE, Ty::Int),
];

/// `Payment` fields (read-only).
pub const PAYMENT_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("PayDate", NONE, Ty::DateTime),
    ro("UserId", NONE, Ty::Int),
    ro("PayAmt", NONE, Ty::Double),
    ro("PayType", NONE, Ty::Str),
    ro("ContactId", NONE, Ty::Int),
    ro("PayNote", NONE, Ty::Str),
    ro("InvoiceId", NONE, Ty::Int),
    ro("RefundId", NONE, Ty::Int),
    ro("ChargeId", NONE, Ty::Int),
    ro("Commission", NONE, Ty::Double),
    ro("Synced", NONE, Ty::Int),
];

/// `InvoicePayment` fields (read-only).
pub const INVOICE_PAYMENT_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("InvoiceId", NONE, Ty::Int),
    ro("Amt", NONE, Ty::Double),
    ro("PayDate", NONE, Ty::DateTime),
    ro("PayStatus", NONE, Ty::Str),
    ro("PaymentId", NONE, Ty::Int),
    ro("SkipCommission", NONE, Ty::Int),
];

/// `SubscriptionPlan` fields (read-only; plans are made with REST
/// `POST /products/{id}/subscriptions`).
pub const PLAN_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("ProductId", NONE, Ty::Int),
    ro("Cycle", NONE, Ty::Int),
    ro("Frequency", NONE, Ty::Int),
    ro("PlanPrice", NONE, Ty::Double),
    ro("NumberOfCycles", NONE, Ty::Int),
    ro("Prorate", NONE, Ty::Int),
    ro("Active", NONE, Ty::Int),
    ro("PreAuthorizeAmount", NONE, Ty::Double),
];

/// `RecurringOrder` fields (read-only).
pub const RECURRING_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("ContactId", NONE, Ty::Int),
    ro("OriginatingOrderId", NONE, Ty::Int),
    ro("ProgramId", NONE, Ty::Int),
    ro("SubscriptionPlanId", NONE, Ty::Int),
    ro("ProductId", NONE, Ty::Int),
    ro("StartDate", NONE, Ty::Date),
    ro("EndDate", NONE, Ty::Date),
    ro("NextBillDate", NONE, Ty::Date),
    ro("BillingCycle", NONE, Ty::Int),
    ro("Frequency", NONE, Ty::Int),
    ro("BillingAmt", NONE, Ty::Double),
    ro("Status", NONE, Ty::Str),
    ro("AutoCharge", NONE, Ty::Int),
    ro("Qty", NONE, Ty::Int),
];

/// `CreditCard` fields (read-only; never the number).
pub const CARD_FIELDS: &[FieldSpec] = &[
    ro("Id", NONE, Ty::Int),
    ro("ContactId", NONE, Ty::Int),
    ro("CardType", NONE, Ty::Str),
    ro("Last4", NONE, Ty::Str),
    ro("ExpirationMonth", NONE, Ty::Str),
    ro("ExpirationYear", NONE, Ty::Str),
    ro("NameOnCard", NONE, Ty::Str),
    ro("Email", NONE, Ty::Str),
    ro("Status", NONE, Ty::Int),
];

/// Which commerce table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Job,
    Invoice,
    OrderItem,
    InvoiceItem,
    Payment,
    InvoicePayment,
    Plan,
    Recurring,
    Card,
}

/// A commerce table.
pub struct Commerce {
    name: &'static str,
    kind: Kind,
    fields: &'static [FieldSpec],
}

/// `Job`.
pub static JOB: Commerce = Commerce {
    name: "Job",
    kind: Kind::Job,
    fields: JOB_FIELDS,
};
/// `Invoice`.
pub static INVOICE: Commerce = Commerce {
    name: "Invoice",
    kind: Kind::Invoice,
    fields: INVOICE_FIELDS,
};
/// `OrderItem`.
pub static ORDER_ITEM: Commerce = Commerce {
    name: "OrderItem",
    kind: Kind::OrderItem,
    fields: ORDER_ITEM_FIELDS,
};
/// `InvoiceItem`.
pub static INVOICE_ITEM: Commerce = Commerce {
    name: "InvoiceItem",
    kind: Kind::InvoiceItem,
    fields: INVOICE_ITEM_FIELDS,
};
/// `Payment`.
pub static PAYMENT: Commerce = Commerce {
    name: "Payment",
    kind: Kind::Payment,
    fields: PAYMENT_FIELDS,
};
/// `InvoicePayment`.
pub static INVOICE_PAYMENT: Commerce = Commerce {
    name: "InvoicePayment",
    kind: Kind::InvoicePayment,
    fields: INVOICE_PAYMENT_FIELDS,
};
/// `SubscriptionPlan`.
pub static SUBSCRIPTION_PLAN: Commerce = Commerce {
    name: "SubscriptionPlan",
    kind: Kind::Plan,
    fields: PLAN_FIELDS,
};
/// `RecurringOrder`.
pub static RECURRING_ORDER: Commerce = Commerce {
    name: "RecurringOrder",
    kind: Kind::Recurring,
    fields: RECURRING_FIELDS,
};
/// `CreditCard`.
pub static CREDIT_CARD: Commerce = Commerce {
    name: "CreditCard",
    kind: Kind::Card,
    fields: CARD_FIELDS,
};

// ------------------------------------------------------------------------------- rows

/// Builds a row in table order, omitting empty values (§1.1).
struct RowBuilder(Row);

impl RowBuilder {
    fn new() -> Self {
        Self(Vec::new())
    }
    fn int(mut self, name: &str, v: impl Into<Option<i64>>) -> Self {
        if let Some(v) = v.into() {
            self.0.push((name.to_owned(), XValue::Int(v)));
        }
        self
    }
    fn text(mut self, name: &str, v: Option<&str>) -> Self {
        if let Some(v) = v.filter(|s| !s.is_empty()) {
            self.0.push((name.to_owned(), XValue::str(v)));
        }
        self
    }
    fn money(mut self, name: &str, m: keapsake_core::commerce::money::Money) -> Self {
        self.0.push((name.to_owned(), money_value(m)));
        self
    }
    fn time(mut self, name: &str, t: Option<OffsetDateTime>, zone: Zone) -> Self {
        if let Some(t) = t {
            self.0
                .push((name.to_owned(), XValue::DateTime(zone.to_local(t))));
        }
        self
    }
    fn date(mut self, name: &str, d: Option<time::Date>) -> Self {
        if let Some(d) = d {
            self.0.push((
                name.to_owned(),
                XValue::DateTime(time::PrimitiveDateTime::new(d, time::Time::MIDNIGHT)),
            ));
        }
        self
    }
    fn done(self) -> Row {
        self.0
    }
}

fn job_row(r: &Record, d: &OrderDoc, zone: Zone) -> Row {
    let ship = d.shipping_address.clone().unwrap_or_default();
    RowBuilder::new()
        .int("Id", r.id)
        .text("JobTitle", Some(&d.title))
        .int("ContactId", d.contact_id)
        .time("StartDate", Some(d.order_date), zone)
        .text("JobNotes", d.notes.as_deref())
        .int(
            "ProductId",
            d.order_items
                .iter()
                .map(|i| i.product.id)
                .find(|id| *id > 0),
        )
        .time("DateCreated", Some(r.created_at), zone)
        .text("OrderType", Some(&d.order_type))
        .text("ShipFirstName", ship.first_name.as_deref())
        .text("ShipMiddleName", ship.middle_name.as_deref())
        .text("ShipLastName", ship.last_name.as_deref())
        .text("ShipCompany", ship.company.as_deref())
        .text("ShipPhone", ship.phone.as_deref())
        .text("ShipStreet1", ship.line1.as_deref())
        .text("ShipStreet2", ship.line2.as_deref())
        .text("ShipCity", ship.locality.as_deref())
        .text("ShipState", ship.region.as_deref())
        .text("ShipZip", ship.zip_code.as_deref())
        .text("ShipCountry", ship.country_code.as_deref())
        .time("LastUpdated", Some(r.updated_at), zone)
        .done()
}

fn invoice_row(r: &Record, d: &OrderDoc, zone: Zone) -> XResult<Row> {
    let t = d.totals().map_err(|_| Fault::internal())?;
    let mut sold: Vec<String> = Vec::new();
    for i in &d.order_items {
        let id = i.product.id.to_string();
        if i.product.id > 0 && !sold.contains(&id) {
            sold.push(id);
        }
    }
    Ok(RowBuilder::new()
        .int("Id", r.id)
        .int("ContactId", d.contact_id)
        .int("JobId", r.id)
        .time("DateCreated", Some(r.created_at), zone)
        .money("InvoiceTotal", t.total)
        .money("TotalPaid", t.total_paid)
        .money("TotalDue", t.total_due)
        .int("PayStatus", i64::from(t.paid))
        .int("CreditStatus", 0)
        .int("RefundStatus", i64::from(t.refund_total.is_positive()))
        .int("PayPlanStatus", i64::from(d.payment_plan.is_some()))
        .int("AffiliateId", d.sales_affiliate_id)
        .int("LeadAffiliateId", d.lead_affiliate_id)
        .text("PromoCode", Some(&d.promo_codes.join(",")))
        .text("InvoiceType", Some(&d.order_type))
        .text("Description", Some(&d.title))
        .text("ProductSold", Some(&sold.join(",")))
        .int("Synced", 0)
        .time("LastUpdated", Some(r.updated_at), zone)
        .done())
}

fn item_rows(r: &Record, d: &OrderDoc, invoice: bool, zone: Zone) -> Vec<Row> {
    d.order_items
        .iter()
        .map(|i| {
            let product = (i.product.id > 0).then_some(i.product.id);
            if invoice {
                RowBuilder::new()
                    .int("Id", i.id)
                    .int("InvoiceId", r.id)
                    .int("OrderItemId", i.id)
                    .money(
                        "InvoiceAmt",
                        i.amount()
                            .unwrap_or(keapsake_core::commerce::money::Money::ZERO),
                    )
                    .money("Discount", keapsake_core::commerce::money::Money::ZERO)
                    .time("DateCreated", Some(r.created_at), zone)
                    .text(
                        "Description",
                        Some(i.description.as_deref().unwrap_or(&i.name)),
                    )
                    .int("CommissionStatus", 0)
                    .done()
            } else {
                RowBuilder::new()
                    .int("Id", i.id)
                    .int("OrderId", r.id)
                    .int("ProductId", product)
                    .int("SubscriptionPlanId", i.plan_id)
                    .text("ItemName", Some(&i.name))
                    .int("Qty", i.quantity)
                    .money("CPU", keapsake_core::commerce::money::Money::ZERO)
                    .money("PPU", i.price)
                    .text("ItemDescription", i.description.as_deref())
                    .int("ItemType", i.item_type.code())
                    .text("Notes", i.notes.as_deref())
                    .done()
            }
        })
        .collect()
}

/// A `Payment` row (also `InvoiceService.getPayments`).
pub fn payment_row(r: &Record, d: &OrderDoc, p: &Payment, zone: Zone) -> Row {
    RowBuilder::new()
        .int("Id", p.id)
        .time("PayDate", Some(p.pay_date), zone)
        .money("PayAmt", p.amount)
        .text("PayType", Some(p.legacy_type()))
        .int("ContactId", d.contact_id)
        .text("PayNote", p.notes.as_deref())
        .int("InvoiceId", r.id)
        .int("ChargeId", p.charged.then_some(p.id))
        .money("Commission", keapsake_core::commerce::money::Money::ZERO)
        .int("Synced", 0)
        .done()
}

fn invoice_payment_row(r: &Record, p: &Payment, zone: Zone) -> Row {
    RowBuilder::new()
        .int("Id", p.id)
        .int("InvoiceId", r.id)
        .money("Amt", p.amount)
        .time("PayDate", Some(p.pay_date), zone)
        .text(
            "PayStatus",
            Some(if p.refunded { "Refunded" } else { "Approved" }),
        )
        .int("PaymentId", p.id)
        .int("SkipCommission", i64::from(!p.apply_to_commissions))
        .done()
}

fn plan_rows(r: &Record, d: &ProductDoc) -> Vec<Row> {
    d.subscription_plans
        .iter()
        .map(|p| {
            RowBuilder::new()
                .int("Id", p.id)
                .int("ProductId", r.id)
                .int("Cycle", p.cycle.code())
                .int("Frequency", p.frequency)
                .money("PlanPrice", p.plan_price)
                .int("NumberOfCycles", p.number_of_cycles)
                .int("Prorate", 0)
                .int("Active", i64::from(p.active))
                .done()
        })
        .collect()
}

fn recurring_row(r: &Record, d: &SubscriptionDoc) -> Row {
    RowBuilder::new()
        .int("Id", r.id)
        .int("ContactId", d.contact_id)
        .int(
            "OriginatingOrderId",
            d.extra
                .get("originating_order_id")
                .and_then(serde_json::Value::as_i64),
        )
        .int("SubscriptionPlanId", d.plan_id)
        .int("ProductId", d.product_id)
        .date("StartDate", Some(d.start_date))
        .date("EndDate", d.end_date)
        .date("NextBillDate", Some(d.start_date))
        .int("BillingCycle", d.cycle.code())
        .int("Frequency", d.frequency)
        .money("BillingAmt", d.billing_amount)
        .text("Status", Some(if d.active { "Active" } else { "Inactive" }))
        .int("AutoCharge", i64::from(d.auto_charge))
        .int("Qty", d.quantity)
        .done()
}

fn card_row(r: &Record, d: &CardDoc, today: time::Date) -> Row {
    let status = match d.status(today) {
        "Valid" => 3,
        "Inactive" => 4,
        _ => 1,
    };
    RowBuilder::new()
        .int("Id", r.id)
        .int("ContactId", d.contact_id)
        .text("CardType", Some(&d.card_type))
        .text("Last4", Some(&d.last4))
        .text("ExpirationMonth", Some(&format!("{:02}", d.exp_month)))
        .text("ExpirationYear", Some(&d.exp_year.to_string()))
        .text("NameOnCard", d.name_on_card.as_deref())
        .text("Email", d.email_address.as_deref())
        .int("Status", status)
        .done()
}

// ------------------------------------------------------------------------------ reads

fn order_doc(r: &Record) -> XResult<OrderDoc> {
    OrderDoc::from_value(&r.data).map_err(|_| Fault::internal())
}

/// An equality hint on one of `names`, as an integer.
fn eq_int(hints: &Hints, names: &[&str]) -> Option<i64> {
    hints
        .eq
        .iter()
        .find(|(n, _)| names.contains(&n.as_str()))
        .and_then(|(_, v)| as_int(&XValue::Str(v.clone())))
}

impl Commerce {
    /// The parent records whose rows may match: by `Id` (a child id names its parent), by an
    /// equality on the parent id or the contact, else all of them.
    async fn records(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Record>> {
        let account = cx.principal.account_id;
        let store = &cx.state.store;
        let (kind, child, parent_keys, contact_key): (RecordKind, bool, &[&str], Option<usize>) =
            match self.kind {
                Kind::Job | Kind::Invoice => {
                    (RecordKind::Order, false, &[], Some(order::CONTACT_KEY))
                }
                Kind::OrderItem | Kind::InvoiceItem | Kind::InvoicePayment => {
                    (RecordKind::Order, true, &["OrderId", "InvoiceId"], None)
                }
                Kind::Payment => (
                    RecordKind::Order,
                    true,
                    &["InvoiceId"],
                    Some(order::CONTACT_KEY),
                ),
                Kind::Plan => (RecordKind::Product, true, &["ProductId"], None),
                Kind::Recurring => (
                    RecordKind::Subscription,
                    false,
                    &[],
                    Some(subscription::CONTACT_KEY),
                ),
                Kind::Card => (RecordKind::CreditCard, false, &[], Some(card::CONTACT_KEY)),
            };
        if let Some(ids) = &hints.ids {
            let mut wanted: Vec<i64> = if child {
                ids.iter().filter_map(|i| parent_of(*i)).collect()
            } else {
                ids.clone()
            };
            wanted.sort_unstable();
            wanted.dedup();
            return Ok(store.get_records(account, kind, &wanted).await?);
        }
        if let Some(parent) = eq_int(hints, parent_keys) {
            return Ok(store.get_records(account, kind, &[parent]).await?);
        }
        let conds = match (contact_key, eq_int(hints, &["ContactId"])) {
            (Some(k), Some(c)) => vec![Cond::IntEq(k, c)],
            _ => Vec::new(),
        };
        Ok(all_records(&cx.state, account, kind, conds).await?)
    }

    fn rows_of(&self, r: &Record, zone: Zone, today: time::Date) -> XResult<Vec<Row>> {
        Ok(match self.kind {
            Kind::Job => vec![job_row(r, &order_doc(r)?, zone)],
            Kind::Invoice => vec![invoice_row(r, &order_doc(r)?, zone)?],
            Kind::OrderItem => item_rows(r, &order_doc(r)?, false, zone),
            Kind::InvoiceItem => item_rows(r, &order_doc(r)?, true, zone),
            Kind::Payment => {
                let d = order_doc(r)?;
                d.payments
                    .iter()
                    .map(|p| payment_row(r, &d, p, zone))
                    .collect()
            }
            Kind::InvoicePayment => order_doc(r)?
                .payments
                .iter()
                .map(|p| invoice_payment_row(r, p, zone))
                .collect(),
            Kind::Plan => plan_rows(
                r,
                &ProductDoc::from_value(&r.data).map_err(|_| Fault::internal())?,
            ),
            Kind::Recurring => vec![recurring_row(
                r,
                &SubscriptionDoc::from_value(&r.data).map_err(|_| Fault::internal())?,
            )],
            Kind::Card => vec![card_row(
                r,
                &CardDoc::from_value(&r.data).map_err(|_| Fault::internal())?,
                today,
            )],
        })
    }

    fn refuse_write(&self) -> Fault {
        let how = match self.kind {
            Kind::Job | Kind::Invoice => {
                "orders are made with InvoiceService.createBlankOrder or OrderService.placeOrder and deleted with InvoiceService.deleteInvoice"
            }
            Kind::OrderItem | Kind::InvoiceItem => {
                "order items are added with InvoiceService.addOrderItem"
            }
            Kind::Payment | Kind::InvoicePayment => {
                "payments are made with InvoiceService.addManualPayment or chargeInvoice"
            }
            Kind::Plan => "plans are made with REST POST /products/{id}/subscriptions",
            Kind::Recurring => "subscriptions are made with REST POST /subscriptions",
            Kind::Card => "cards are added with REST POST /contacts/{id}/creditCards",
        };
        Fault::invalid(format!(
            "{} is read-only through DataService: {how}",
            self.name
        ))
    }
}

// ------------------------------------------------------------------------- Job update

/// One change to an order document.
type JobEdit = Box<dyn FnOnce(&mut OrderDoc) + Send>;

fn job_edit(name: &str, v: &XValue, zone: Zone) -> XResult<JobEdit> {
    let text = |max: usize| -> XResult<Option<String>> {
        let s = match v {
            XValue::Nil => String::new(),
            v => v
                .as_text()
                .ok_or_else(|| Fault::invalid(format!("Job.{name} must be a string")))?,
        };
        let s = s.trim().to_owned();
        keapsake_core::crm::check_text(&format!("Job.{name}"), &s, max).map_err(Fault::invalid)?;
        Ok((!s.is_empty()).then_some(s))
    };
    let ship = |f: fn(&mut Address) -> &mut Option<String>| -> XResult<JobEdit> {
        let value = text(MAX_TEXT)?;
        Ok(Box::new(move |d: &mut OrderDoc| {
            let mut a = d.shipping_address.take().unwrap_or_default();
            *f(&mut a) = value;
            d.shipping_address = Some(a);
        }))
    };
    Ok(match name {
        "JobTitle" => {
            let t = text(MAX_TEXT)?.unwrap_or_default();
            Box::new(move |d| d.title = t)
        }
        "JobNotes" => {
            let t = text(MAX_NOTE)?;
            Box::new(move |d| d.notes = t)
        }
        "StartDate" => {
            let local =
                as_local(v).ok_or_else(|| Fault::invalid("Job.StartDate must be a date-time"))?;
            let t = zone.from_local(local);
            Box::new(move |d| d.order_date = t)
        }
        "OrderType" => {
            let t = match text(20)?.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("online") => "Online",
                Some("offline") => "Offline",
                _ => return Err(Fault::invalid("Job.OrderType must be Online or Offline")),
            };
            Box::new(move |d| t.clone_into(&mut d.order_type))
        }
        "ShipFirstName" => ship(|a| &mut a.first_name)?,
        "ShipMiddleName" => ship(|a| &mut a.middle_name)?,
        "ShipLastName" => ship(|a| &mut a.last_name)?,
        "ShipCompany" => ship(|a| &mut a.company)?,
        "ShipPhone" => ship(|a| &mut a.phone)?,
        "ShipStreet1" => ship(|a| &mut a.line1)?,
        "ShipStreet2" => ship(|a| &mut a.line2)?,
        "ShipCity" => ship(|a| &mut a.locality)?,
        "ShipState" => ship(|a| &mut a.region)?,
        "ShipZip" => ship(|a| &mut a.zip_code)?,
        "ShipCountry" => ship(|a| &mut a.country_code)?,
        other => return Err(Fault::invalid(format!("Job.{other} is read-only"))),
    })
}

#[async_trait]
impl Table for Commerce {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn columns(&self, _cx: &Cx) -> XResult<Vec<Col>> {
        Ok(self.fields.iter().map(Col::from).collect())
    }

    async fn add(&self, _cx: &Cx, _values: Vec<(String, XValue)>) -> XResult<i64> {
        Err(self.refuse_write())
    }

    async fn update(&self, cx: &Cx, id: i64, values: Vec<(String, XValue)>) -> XResult<i64> {
        if self.kind != Kind::Job {
            return Err(self.refuse_write());
        }
        cx.require_write()?;
        let cols = self.columns(cx).await?;
        let zone = cx.zone().await;
        let mut edits = Vec::with_capacity(values.len());
        for (name, v) in &values {
            let col = find_col(self.name, &cols, name)?;
            if col.ro {
                return Err(Fault::invalid(format!("Job.{name} is read-only")));
            }
            edits.push(job_edit(&col.name, v, zone)?);
        }
        edit_order(&cx.state, cx.principal.account_id, id, move |_, doc, _| {
            for e in edits {
                e(doc);
            }
            Ok(())
        })
        .await?;
        Ok(id)
    }

    async fn delete(&self, cx: &Cx, id: i64) -> XResult<bool> {
        if !matches!(self.kind, Kind::Job | Kind::Invoice) {
            return Err(self.refuse_write());
        }
        cx.require_write()?;
        cx.rest(Method::DELETE, &format!("/orders/{id}"), None)
            .await?;
        Ok(true)
    }

    async fn load(&self, cx: &Cx, id: i64) -> XResult<Row> {
        let hints = Hints {
            ids: Some(vec![id]),
            eq: Vec::new(),
        };
        self.scan(cx, &hints)
            .await?
            .into_iter()
            .find(|r| {
                r.iter()
                    .any(|(n, v)| n == "Id" && matches!(v, XValue::Int(i) if *i == id))
            })
            .ok_or_else(Fault::not_found)
    }

    async fn scan(&self, cx: &Cx, hints: &Hints) -> XResult<Vec<Row>> {
        let zone = cx.zone().await;
        let today = cx.state.clock.now().date();
        let mut out = Vec::new();
        for r in self.records(cx, hints).await? {
            out.extend(self.rows_of(&r, zone, today)?);
        }
        Ok(out)
    }
}
