//! Orders (`keap/rest-v1.md` §8): the stored document ([`OrderDoc`]) holding the order, its
//! items and its payments; what a client may send ([`NewOrder`], [`NewItem`], [`NewPayment`],
//! [`PaymentPlan`]); the totals and status rules of §8.4 ([`Totals`]); the keys; and the v1
//! shapes (the `GET` shape `EcommerceReportingOrder`, the create shape `Order`, `OrderItem`,
//! `InvoicePayment`, `PaymentResult`, `EcommerceReportingTransaction`).
//!
//! Payments live in the document as a JSON array under `"payments"` (the hooks trigger sees an
//! `invoice.payment.add` by that array growing) and are added by one atomic edit
//! ([`OrderDoc::add_payment`] inside the store's `update_record`), which is what makes the
//! "no more than is due" rule hold under concurrent payments. Transactions are the payments
//! seen from the other side: a transaction's id is its payment's id.
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `n0` | contact id | `contact_id=`, transactions by contact |
//! | `n1` | 1 paid (status `PAID`), 0 not | `paid=` |
//! | `k0` | order date, v1 form (sorts as time) | `order=order_date` |

use super::money::{Money, sum};
use super::product::ProductSummary;
use super::{MAX_CHILDREN, boolean, child_id, int32, int64, text};
use crate::crm::date::{self, format_date, format_datetime, parse_date, parse_datetime};
use crate::crm_more::ContactSummary;
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::{Date, OffsetDateTime};

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Integer key of the paid flag.
pub const PAID_KEY: usize = 1;
/// Text key of the order date.
pub const ORDER_DATE_KEY: usize = 0;

/// Longest title, name, address line.
pub const MAX_TEXT: usize = 255;
/// Longest description or note.
pub const MAX_NOTE: usize = 65_535;
/// Most items one `POST /orders` may carry.
pub const MAX_ITEMS_PER_REQUEST: usize = 1000;
/// Most promo codes.
pub const MAX_PROMO_CODES: usize = 100;

/// The 400 message for a payment on an order that is being deleted.
pub const DELETING: &str = "This order is being deleted";

/// `item_type` (`keap/rest-v1.md` §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs, reason = "Keap's enum names speak for themselves")]
pub enum ItemType {
    Unknown,
    Shipping,
    Tax,
    Service,
    Product,
    Upsell,
    FinanceCharge,
    Special,
    Program,
    Subscription,
    SpecialFreeTrialDays,
    SpecialOrderTotal,
    SpecialProduct,
    SpecialCategory,
    SpecialShipping,
    Tip,
    Other,
}

const ITEM_TYPES: &str = "UNKNOWN, SHIPPING, TAX, SERVICE, PRODUCT, UPSELL, FINANCE_CHARGE, SPECIAL, PROGRAM, SUBSCRIPTION, SPECIAL_FREE_TRIAL_DAYS, SPECIAL_ORDER_TOTAL, SPECIAL_PRODUCT, SPECIAL_CATEGORY, SPECIAL_SHIPPING, TIP, OTHER";

impl ItemType {
    /// Parses the wire name (any ASCII case).
    pub fn parse(s: &str) -> Option<ItemType> {
        serde_json::from_value(Value::String(s.trim().to_ascii_uppercase())).ok()
    }

    /// The wire name.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The legacy (XML-RPC `addOrderItem`, `OrderItem.ItemType`) code: 0 Unknown, 1 Shipping,
    /// 2 Tax, 3 Service & Misc, 4 Product, 5 Upsell, 6 Finance Charge, 7 Special, 8 Program,
    /// 9 Subscription Plan, 10–14 the specials; `TIP` and `OTHER` have none and read as 3.
    pub fn code(self) -> i64 {
        match self {
            ItemType::Unknown => 0,
            ItemType::Shipping => 1,
            ItemType::Tax => 2,
            ItemType::Service | ItemType::Tip | ItemType::Other => 3,
            ItemType::Product => 4,
            ItemType::Upsell => 5,
            ItemType::FinanceCharge => 6,
            ItemType::Special => 7,
            ItemType::Program => 8,
            ItemType::Subscription => 9,
            ItemType::SpecialFreeTrialDays => 10,
            ItemType::SpecialOrderTotal => 11,
            ItemType::SpecialProduct => 12,
            ItemType::SpecialCategory => 13,
            ItemType::SpecialShipping => 14,
        }
    }

    /// The type of a legacy code (see [`ItemType::code`]).
    pub fn from_code(code: i64) -> Option<ItemType> {
        Some(match code {
            0 => ItemType::Unknown,
            1 => ItemType::Shipping,
            2 => ItemType::Tax,
            3 => ItemType::Service,
            4 => ItemType::Product,
            5 => ItemType::Upsell,
            6 => ItemType::FinanceCharge,
            7 => ItemType::Special,
            8 => ItemType::Program,
            9 => ItemType::Subscription,
            10 => ItemType::SpecialFreeTrialDays,
            11 => ItemType::SpecialOrderTotal,
            12 => ItemType::SpecialProduct,
            13 => ItemType::SpecialCategory,
            14 => ItemType::SpecialShipping,
            _ => return None,
        })
    }

    /// Discounts: every `SPECIAL*` type counts against the total (§8.4).
    pub fn is_discount(self) -> bool {
        matches!(
            self,
            ItemType::Special
                | ItemType::SpecialFreeTrialDays
                | ItemType::SpecialOrderTotal
                | ItemType::SpecialProduct
                | ItemType::SpecialCategory
                | ItemType::SpecialShipping
        )
    }
}

/// An order item as sent (`CreateOrderItem`), validated; the product is looked up by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Product.
    pub product_id: i64,
    /// Quantity (≥ 1).
    pub quantity: i64,
    /// Price overriding the product's.
    pub price: Option<Money>,
    /// Description.
    pub description: Option<String>,
    /// Type (default `PRODUCT`).
    pub item_type: ItemType,
}

fn obj<'a>(v: &'a Value, name: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{name} must be an object"))
}

fn present<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

impl NewItem {
    /// Validates one item; `at` names it in messages (`order_items[0]`).
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(v: &Value, at: &str) -> Result<NewItem, String> {
        let m = obj(v, if at.is_empty() { "the item" } else { at })?;
        let at = if at.is_empty() {
            String::new()
        } else {
            format!("{at}.")
        };
        let product_id = int64(
            present(m, "product_id").ok_or_else(|| format!("{at}product_id is required"))?,
            &format!("{at}product_id"),
        )?;
        let quantity = int32(
            present(m, "quantity").ok_or_else(|| format!("{at}quantity is required"))?,
            &format!("{at}quantity"),
        )?;
        if quantity < 1 {
            return Err(format!("{at}quantity must be at least 1"));
        }
        let price = present(m, "price")
            .filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()))
            .map(|v| Money::non_negative(v, &format!("{at}price")))
            .transpose()
            .map_err(|e| e.to_string())?;
        let description = match m.get("description") {
            None => None,
            Some(v) => text(v, &format!("{at}description"), MAX_NOTE)?,
        };
        let item_type = match present(m, "item_type") {
            None => ItemType::Product,
            Some(Value::String(s)) => ItemType::parse(s)
                .ok_or_else(|| format!("{at}item_type must be one of {ITEM_TYPES}"))?,
            Some(_) => return Err(format!("{at}item_type must be one of {ITEM_TYPES}")),
        };
        Ok(NewItem {
            product_id,
            quantity,
            price,
            description,
            item_type,
        })
    }
}

/// A shipping address (`RestV1AddressInformation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs, reason = "Keap's member names")]
pub struct Address {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub zip_code: Option<String>,
    pub zip_four: Option<String>,
    pub country_code: Option<String>,
    pub is_invoice_to_company: bool,
}

impl Address {
    fn parse(v: &Value) -> Result<Address, String> {
        let m = obj(v, "shipping_address")?;
        let t = |k: &str| match m.get(k) {
            None => Ok(None),
            Some(v) => text(v, &format!("shipping_address.{k}"), MAX_TEXT),
        };
        Ok(Address {
            first_name: t("first_name")?,
            middle_name: t("middle_name")?,
            last_name: t("last_name")?,
            company: t("company")?,
            phone: t("phone")?,
            line1: t("line1")?,
            line2: t("line2")?,
            locality: t("locality")?,
            region: t("region")?,
            zip_code: t("zip_code")?,
            zip_four: t("zip_four")?,
            country_code: t("country_code")?,
            is_invoice_to_company: present(m, "is_invoice_to_company")
                .map(|v| boolean(v, "shipping_address.is_invoice_to_company"))
                .transpose()?
                .unwrap_or(false),
        })
    }

    /// As sent (`RestV1AddressInformation`), the create shape.
    fn render(&self) -> Value {
        json!({
            "first_name": self.first_name, "middle_name": self.middle_name,
            "last_name": self.last_name, "company": self.company, "phone": self.phone,
            "line1": self.line1, "line2": self.line2, "locality": self.locality,
            "region": self.region, "zip_code": self.zip_code, "zip_four": self.zip_four,
            "country_code": self.country_code, "is_invoice_to_company": self.is_invoice_to_company,
        })
    }

    /// `EcommerceReportingShippingInformation`, the `GET` shape.
    fn render_reporting(&self, id: i64) -> Value {
        let zip = match (&self.zip_code, &self.zip_four) {
            (Some(z), Some(f)) => Some(format!("{z}-{f}")),
            (z, _) => z.clone(),
        };
        json!({
            "id": id, "first_name": self.first_name, "middle_name": self.middle_name,
            "last_name": self.last_name, "company": self.company, "phone": self.phone,
            "street1": self.line1, "street2": self.line2, "city": self.locality,
            "state": self.region, "zip": zip, "country": self.country_code,
            "invoiceToCompany": self.is_invoice_to_company,
        })
    }
}

/// An order as sent to `POST /orders` (`CreateOrder`), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Contact (checked to exist by the caller).
    pub contact_id: i64,
    /// Order date.
    pub order_date: OffsetDateTime,
    /// Title.
    pub title: String,
    /// `Online` or `Offline`.
    pub order_type: String,
    /// Items (at least one).
    pub items: Vec<NewItem>,
    /// Promo codes, kept (keapsake has no promotions to apply: they discount nothing).
    pub promo_codes: Vec<String>,
    /// Lead affiliate.
    pub lead_affiliate_id: Option<i64>,
    /// Sales affiliate.
    pub sales_affiliate_id: Option<i64>,
    /// Shipping address.
    pub shipping: Option<Address>,
}

fn opt_id(m: &Map<String, Value>, k: &str) -> Result<Option<i64>, String> {
    Ok(present(m, k)
        .map(|v| int64(v, k))
        .transpose()?
        .filter(|i| *i > 0))
}

impl NewOrder {
    /// Validates a `CreateOrder` body.
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(m: &Map<String, Value>) -> Result<NewOrder, String> {
        let contact_id = int64(
            present(m, "contact_id").ok_or("contact_id is required")?,
            "contact_id",
        )?;
        let order_date = match present(m, "order_date") {
            None => return Err("order_date is required".to_owned()),
            Some(Value::String(s)) => parse_datetime(s).ok(),
            Some(_) => None,
        }
        .ok_or("order_date must be a date-time, e.g. 2024-05-21T14:30:00.000Z")?;
        let title = match m.get("order_title") {
            None => None,
            Some(v) => text(v, "order_title", MAX_TEXT)?,
        }
        .ok_or("order_title is required")?;
        let order_type = match present(m, "order_type") {
            None => return Err("order_type is required".to_owned()),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("online") => "Online",
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("offline") => "Offline",
            Some(_) => return Err("order_type must be Online or Offline".to_owned()),
        };
        let items = match present(m, "order_items") {
            None => return Err("order_items is required".to_owned()),
            Some(Value::Array(a)) if a.is_empty() => {
                return Err("order_items must have at least one item".to_owned());
            }
            Some(Value::Array(a)) if a.len() > MAX_ITEMS_PER_REQUEST => {
                return Err(format!(
                    "order_items takes at most {MAX_ITEMS_PER_REQUEST} items"
                ));
            }
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| NewItem::parse(v, &format!("order_items[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err("order_items must be an array".to_owned()),
        };
        let promo_codes = match present(m, "promo_codes") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() <= MAX_PROMO_CODES => a
                .iter()
                .map(|v| text(v, "promo_codes[]", MAX_TEXT))
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()?,
            Some(Value::Array(_)) => {
                return Err(format!("promo_codes takes at most {MAX_PROMO_CODES} codes"));
            }
            Some(_) => return Err("promo_codes must be an array of strings".to_owned()),
        };
        let shipping = present(m, "shipping_address")
            .map(Address::parse)
            .transpose()?;
        Ok(NewOrder {
            contact_id,
            order_date,
            title,
            order_type: order_type.to_owned(),
            items,
            promo_codes,
            lead_affiliate_id: opt_id(m, "lead_affiliate_id")?,
            sales_affiliate_id: opt_id(m, "sales_affiliate_id")?,
            shipping,
        })
    }

    /// Every product the items name, once each.
    pub fn product_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.items.iter().map(|i| i.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// An order's item, inside the order document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// A [`child_id`] of the order.
    pub id: i64,
    /// The product as it was when the item was added.
    pub product: ProductSummary,
    /// Name (the product's).
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unit price (≥ 0).
    pub price: Money,
    /// Quantity (≥ 1).
    pub quantity: i64,
    /// Type.
    pub item_type: ItemType,
    /// Notes (XML-RPC `addOrderItem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The subscription plan sold, for a `SUBSCRIPTION` line (XML-RPC `placeOrder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<i64>,
}

impl Item {
    /// The line amount: `price × quantity`, negative for discounts (§8.4); exact, unrounded.
    pub fn amount(&self) -> Option<Money> {
        let line = self.price.times(self.quantity)?;
        Some(if self.item_type.is_discount() {
            line.negated()
        } else {
            line
        })
    }

    fn render_product_simple(&self) -> Value {
        json!({
            "id": self.product.id,
            "name": self.product.name,
            "sku": self.product.sku,
            "description": self.product.short_desc.as_ref().or(self.product.desc.as_ref()),
            "shippable": false,
            "taxable": false,
        })
    }

    fn render_product_full(&self) -> Value {
        json!({
            "id": self.product.id,
            "product_name": self.product.name,
            "product_desc": self.product.desc,
            "product_short_desc": self.product.short_desc,
            "sku": self.product.sku,
            "product_price": self.product.price.to_json(),
            "status": i64::from(self.product.active),
            "subscription_only": self.product.subscription_only,
            "url": Value::Null,
            "product_options": [],
            "subscription_plans": [],
        })
    }

    /// `EcommerceReportingOrderItem` (the `GET /orders` shape, mixed case).
    pub fn render_reporting(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "notes": self.notes,
            "price": self.price.to_json(),
            "cost": 0.0,
            "discount": 0.0,
            "quantity": self.quantity,
            "type": self.item_type.as_str(),
            "product": self.render_product_simple(),
            "subscriptionPlan": Value::Null,
            "jobRecurringId": Value::Null,
            "specialId": Value::Null,
            "specialAmount": Value::Null,
            "specialPctOrAmt": Value::Null,
        })
    }

    /// `OrderItem` (the create shape: the full product, taxes, recurring members).
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "notes": self.notes,
            "price": self.price.to_json(),
            "cost": 0.0,
            "discount": 0.0,
            "quantity": self.quantity,
            "type": self.item_type.as_str(),
            "product": self.render_product_full(),
            "orderItemTaxes": [],
            "billingCycle": Value::Null,
            "frequency": Value::Null,
            "numberOfPayments": Value::Null,
            "recurringBilling": false,
            "jobRecurringId": Value::Null,
            "specialId": Value::Null,
            "specialAmount": Value::Null,
            "specialPctOrAmt": Value::Null,
        })
    }
}

/// `payment_method_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs, reason = "Keap's enum names")]
pub enum PaymentMethod {
    CreditCard,
    Cash,
    Check,
    Token,
}

impl PaymentMethod {
    fn parse(s: &str) -> Option<PaymentMethod> {
        serde_json::from_value(Value::String(s.trim().to_ascii_uppercase())).ok()
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::CreditCard => "CREDIT_CARD",
            PaymentMethod::Cash => "CASH",
            PaymentMethod::Check => "CHECK",
            PaymentMethod::Token => "TOKEN",
        }
    }
}

/// A payment as sent to `POST /orders/{id}/payments` (`CreatePayment`), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPayment {
    /// Amount in cents precision (> 0).
    pub amount: Money,
    /// Method.
    pub method: PaymentMethod,
    /// Charge through the (fake) gateway now.
    pub charge_now: bool,
    /// When paid (default: now).
    pub date: Option<OffsetDateTime>,
    /// Note.
    pub notes: Option<String>,
    /// Whether affiliates earn commission on it.
    pub apply_to_commissions: bool,
    /// Card charged.
    pub credit_card_id: Option<i64>,
    /// Gateway chosen.
    pub payment_gateway_id: Option<String>,
    /// The legacy payment type (XML-RPC), kept on the payment.
    pub pay_type: Option<String>,
}

impl NewPayment {
    /// Validates a `CreatePayment` body. `payment_amount` is required, a string or a number,
    /// positive, at most two decimals; `payment_method_type` defaults to `CASH`.
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(m: &Map<String, Value>) -> Result<NewPayment, String> {
        let amount = Money::from_json(
            present(m, "payment_amount").ok_or("payment_amount is required")?,
            "payment_amount",
        )
        .map_err(|e| e.to_string())?;
        if !amount.is_positive() {
            return Err("payment_amount must be greater than 0".to_owned());
        }
        if amount.decimal().scale() > 2 {
            return Err("payment_amount must have at most two decimals".to_owned());
        }
        let method = match present(m, "payment_method_type") {
            None => PaymentMethod::Cash,
            Some(Value::String(s)) => PaymentMethod::parse(s)
                .ok_or("payment_method_type must be one of CREDIT_CARD, CASH, CHECK, TOKEN")?,
            Some(_) => {
                return Err(
                    "payment_method_type must be one of CREDIT_CARD, CASH, CHECK, TOKEN".to_owned(),
                );
            }
        };
        let flag = |k: &str, default: bool| {
            present(m, k)
                .map(|v| boolean(v, k))
                .transpose()
                .map(|b| b.unwrap_or(default))
        };
        let date = match present(m, "date") {
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(
                parse_datetime(s)
                    .map_err(|_| "date must be a date-time, e.g. 2017-01-01T22:17:59.039Z")?,
            ),
            Some(_) => return Err("date must be a date-time".to_owned()),
        };
        Ok(NewPayment {
            amount,
            method,
            charge_now: flag("charge_now", false)?,
            date,
            notes: match m.get("notes") {
                None => None,
                Some(v) => text(v, "notes", MAX_NOTE)?,
            },
            apply_to_commissions: flag("apply_to_commissions", false)?,
            credit_card_id: opt_id(m, "credit_card_id")?,
            payment_gateway_id: match m.get("payment_gateway_id") {
                None => None,
                Some(v) => text(v, "payment_gateway_id", MAX_TEXT)?,
            },
            pay_type: None,
        })
    }

    /// Whether this goes through the gateway (a card or token charged now) rather than
    /// recording a manual payment.
    pub fn is_charge(&self) -> bool {
        self.charge_now
            && matches!(
                self.method,
                PaymentMethod::CreditCard | PaymentMethod::Token
            )
    }
}

/// A payment, inside the order document (`"payments"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// A [`child_id`] of the order; also the transaction id.
    pub id: i64,
    /// Amount.
    pub amount: Money,
    /// Method.
    pub method: PaymentMethod,
    /// Charged through the gateway (else a manual record).
    pub charged: bool,
    /// When paid.
    #[serde(with = "ser_datetime")]
    pub pay_date: OffsetDateTime,
    /// When recorded or last changed.
    #[serde(with = "ser_datetime")]
    pub last_updated: OffsetDateTime,
    /// Note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Commission applies.
    #[serde(default)]
    pub apply_to_commissions: bool,
    /// Card charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_card_id: Option<i64>,
    /// Refunded (counts in `refund_total`, not in `total_paid`).
    #[serde(default)]
    pub refunded: bool,
    /// The legacy payment type as recorded by XML-RPC `addManualPayment` (`Cash`, `Check`,
    /// `Money Order`, `PayPal`, …); `None` for REST payments, which read as the method's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_type: Option<String>,
}

impl Payment {
    /// The legacy payment type (`Payment.PayType`): as recorded by XML-RPC, else the method's
    /// (`Cash`, `Check`, `Credit Card`, `Token`).
    pub fn legacy_type(&self) -> &str {
        match (&self.pay_type, self.method) {
            (Some(t), _) => t,
            (None, PaymentMethod::Cash) => "Cash",
            (None, PaymentMethod::Check) => "Check",
            (None, PaymentMethod::CreditCard) => "Credit Card",
            (None, PaymentMethod::Token) => "Token",
        }
    }

    /// `PAID`, `REFUNDED`, … of the payment.
    pub fn status(&self) -> &'static str {
        if self.refunded {
            "REFUNDED"
        } else {
            "APPROVED"
        }
    }

    fn gateway(&self) -> &'static str {
        if self.charged {
            "KEAPSAKE_TEST"
        } else {
            "MANUAL"
        }
    }

    /// `InvoicePayment` (an item of `GET /orders/{id}/payments`).
    pub fn render(&self, order_id: i64) -> Value {
        json!({
            "id": self.id,
            "invoice_id": order_id,
            "payment_id": self.id,
            "amount": self.amount.to_json(),
            "pay_date": format_datetime(self.pay_date),
            "pay_status": self.status(),
            "note": self.notes,
            "last_updated": format_datetime(self.last_updated),
            "skip_commission": !self.apply_to_commissions,
            "refund_invoice_payment_id": Value::Null,
        })
    }

    /// `PaymentResult` (the 201 of `POST /orders/{id}/payments`).
    pub fn render_result(&self, order_id: i64) -> Value {
        json!({
            "id": self.id,
            "invoice_id": order_id,
            "payment_amount": self.amount.to_json(),
            "payment_status": self.status(),
            "transaction_id": self.id,
        })
    }

    /// `EcommerceReportingTransaction`, with the order in its `GET` shape.
    pub fn render_transaction(&self, order_id: i64, contact_id: i64, order: Value) -> Value {
        json!({
            "id": self.id,
            "amount": self.amount.to_json(),
            "collection_method": if self.charged { "AUTOMATIC" } else { "MANUAL" },
            "contact_id": contact_id,
            "currency": "USD",
            "errors": Value::Null,
            "gateway": self.gateway(),
            "gateway_account_name": if self.charged { "keapsake test gateway" } else { "Manual payment" },
            "order_ids": order_id.to_string(),
            "orders": [order],
            "paymentDate": format_datetime(self.pay_date),
            "transaction_date": format_datetime(self.last_updated),
            "status": self.status(),
            "test": self.charged,
            "type": "SALE",
        })
    }
}

/// A payment plan (`RestPaymentPlan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs, reason = "Keap's member names")]
pub struct PaymentPlan {
    pub auto_charge: bool,
    pub credit_card_id: Option<i64>,
    pub days_between_payments: i64,
    pub initial_payment_amount: Option<Money>,
    #[serde(with = "date::opt_date")]
    pub initial_payment_date: Option<Date>,
    pub number_of_payments: i64,
    pub merchant_account_id: Option<i64>,
    pub use_default: bool,
    #[serde(with = "ser_date")]
    pub plan_start_date: Date,
}

impl PaymentPlan {
    /// Validates a `RestPaymentPlan` body (`days_between_payments`, `number_of_payments` and
    /// `plan_start_date` required).
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(m: &Map<String, Value>) -> Result<PaymentPlan, String> {
        let days = int32(
            present(m, "days_between_payments").ok_or("days_between_payments is required")?,
            "days_between_payments",
        )?;
        if days < 1 {
            return Err("days_between_payments must be at least 1".to_owned());
        }
        let n = int32(
            present(m, "number_of_payments").ok_or("number_of_payments is required")?,
            "number_of_payments",
        )?;
        if n < 1 {
            return Err("number_of_payments must be at least 1".to_owned());
        }
        let date_of = |k: &str| -> Result<Option<Date>, String> {
            match present(m, k) {
                None => Ok(None),
                Some(Value::String(s)) => parse_date(s)
                    .map(Some)
                    .map_err(|_| format!("{k} must be a date, e.g. 2024-05-21")),
                Some(_) => Err(format!("{k} must be a date, e.g. 2024-05-21")),
            }
        };
        let plan_start_date = date_of("plan_start_date")?.ok_or("plan_start_date is required")?;
        let initial_payment_amount = present(m, "initial_payment_amount")
            .map(|v| Money::non_negative(v, "initial_payment_amount"))
            .transpose()
            .map_err(|e| e.to_string())?;
        let gateway = match present(m, "payment_gateway") {
            None => None,
            Some(v) => Some(obj(v, "payment_gateway")?),
        };
        Ok(PaymentPlan {
            auto_charge: present(m, "auto_charge")
                .map(|v| boolean(v, "auto_charge"))
                .transpose()?
                .unwrap_or(false),
            credit_card_id: opt_id(m, "credit_card_id")?,
            days_between_payments: days,
            initial_payment_amount,
            initial_payment_date: date_of("initial_payment_date")?,
            number_of_payments: n,
            merchant_account_id: gateway
                .map(|g| opt_id(g, "merchant_account_id"))
                .transpose()?
                .flatten(),
            use_default: gateway
                .and_then(|g| present(g, "use_default"))
                .map(|v| boolean(v, "payment_gateway.use_default"))
                .transpose()?
                .unwrap_or(true),
            plan_start_date,
        })
    }

    /// `RestPaymentPlan`.
    pub fn render(&self) -> Value {
        json!({
            "auto_charge": self.auto_charge,
            "credit_card_id": self.credit_card_id,
            "days_between_payments": self.days_between_payments,
            "initial_payment_amount": self.initial_payment_amount.map(Money::to_json),
            "initial_payment_date": self.initial_payment_date.map(format_date),
            "number_of_payments": self.number_of_payments,
            "payment_gateway": {"merchant_account_id": self.merchant_account_id, "use_default": self.use_default},
            "plan_start_date": format_date(self.plan_start_date),
        })
    }

    /// `EcommerceReportingPaymentPlan` (the `GET` shape).
    fn render_reporting(&self) -> Value {
        json!({
            "auto_charge": self.auto_charge,
            "credit_card_id": self.credit_card_id,
            "days_between_payments": self.days_between_payments,
            "days_between_retries": Value::Null,
            "initial_payment_amount": self.initial_payment_amount.map(Money::to_json),
            "initial_payment_date": self.initial_payment_date.map(format_date),
            "initial_payment_percent": Value::Null,
            "max_charge_attempts": Value::Null,
            "number_of_payments": self.number_of_payments,
            "payment_gateway": {"merchant_account_id": self.merchant_account_id,
                                "merchant_account_name": Value::Null, "use_default": self.use_default},
            "payment_method_id": Value::Null,
            "plan_start_date": format_date(self.plan_start_date),
        })
    }
}

/// The money of an order (§8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Σ line amounts, rounded half-up to cents, never below 0.
    pub total: Money,
    /// Σ payments not refunded.
    pub total_paid: Money,
    /// `total − total_paid`, never below 0.
    pub total_due: Money,
    /// Σ refunded payments.
    pub refund_total: Money,
    /// `PAID` or `DRAFT`.
    pub paid: bool,
}

impl Totals {
    /// The status name.
    pub fn status(&self) -> &'static str {
        if self.paid { "PAID" } else { "DRAFT" }
    }
}

/// An order as stored (the `data` of a [`crate::records::RecordKind::Order`] record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDoc {
    /// Title.
    pub title: String,
    /// Contact.
    pub contact_id: i64,
    /// Order date.
    #[serde(with = "ser_datetime")]
    pub order_date: OffsetDateTime,
    /// `Online` / `Offline`.
    pub order_type: String,
    /// How it was made (`API` for REST v1).
    pub source_type: String,
    /// Promo codes as sent.
    #[serde(default)]
    pub promo_codes: Vec<String>,
    /// Lead affiliate.
    #[serde(default)]
    pub lead_affiliate_id: Option<i64>,
    /// Sales affiliate.
    #[serde(default)]
    pub sales_affiliate_id: Option<i64>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Terms.
    #[serde(default)]
    pub terms: Option<String>,
    /// Shipping address.
    #[serde(default)]
    pub shipping_address: Option<Address>,
    /// Payment plan.
    #[serde(default)]
    pub payment_plan: Option<PaymentPlan>,
    /// Items.
    #[serde(default)]
    pub order_items: Vec<Item>,
    /// Items ever added.
    #[serde(default)]
    pub items_created: i64,
    /// Payments (this key is watched by the hooks trigger: keep it).
    #[serde(default)]
    pub payments: Vec<Payment>,
    /// Payments ever recorded.
    #[serde(default)]
    pub payments_created: i64,
    /// Set by a delete that found no payments, just before the record goes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn next_child(parent: i64, created: &mut i64, what: &str) -> Result<i64, String> {
    let n = *created + 1;
    let id =
        child_id(parent, n).ok_or_else(|| format!("an order has at most {MAX_CHILDREN} {what}"))?;
    *created = n;
    Ok(id)
}

impl OrderDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not an order (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored order is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The order `id` built from a validated body and its products (every id of
    /// [`NewOrder::product_ids`] must be in `products`).
    ///
    /// # Errors
    /// A product missing from `products`; totals out of range.
    pub fn create(
        id: i64,
        new: &NewOrder,
        products: &[ProductSummary],
    ) -> Result<OrderDoc, String> {
        let mut doc = OrderDoc {
            title: new.title.clone(),
            contact_id: new.contact_id,
            order_date: new.order_date,
            order_type: new.order_type.clone(),
            source_type: "API".to_owned(),
            promo_codes: new.promo_codes.clone(),
            lead_affiliate_id: new.lead_affiliate_id,
            sales_affiliate_id: new.sales_affiliate_id,
            notes: None,
            terms: None,
            shipping_address: new.shipping.clone(),
            payment_plan: None,
            order_items: Vec::with_capacity(new.items.len()),
            items_created: 0,
            payments: Vec::new(),
            payments_created: 0,
            deleting: false,
            extra: Map::new(),
        };
        for item in &new.items {
            let product = products
                .iter()
                .find(|p| p.id == item.product_id)
                .ok_or_else(|| format!("Product {} does not exist", item.product_id))?;
            doc.add_item(id, item, product)?;
        }
        Ok(doc)
    }

    /// Adds an item (price: the item's, else the product's) and returns it.
    ///
    /// # Errors
    /// Too many items; totals out of range (nothing changed then).
    pub fn add_item(
        &mut self,
        order_id: i64,
        new: &NewItem,
        product: &ProductSummary,
    ) -> Result<Item, String> {
        let id = next_child(order_id, &mut self.items_created, "items")?;
        let item = Item {
            id,
            product: product.clone(),
            name: product.name.clone(),
            description: new
                .description
                .clone()
                .or_else(|| product.short_desc.clone()),
            price: new.price.unwrap_or(product.price),
            quantity: new.quantity,
            item_type: new.item_type,
            notes: None,
            plan_id: None,
        };
        self.order_items.push(item.clone());
        if let Err(e) = self.totals() {
            self.order_items.pop();
            return Err(e);
        }
        Ok(item)
    }

    /// Removes an item; `Ok(false)` when there is none with this id.
    ///
    /// # Errors
    /// When the remaining total would be less than what was paid (refund first).
    pub fn remove_item(&mut self, item_id: i64) -> Result<bool, String> {
        let Some(pos) = self.order_items.iter().position(|i| i.id == item_id) else {
            return Ok(false);
        };
        let removed = self.order_items.remove(pos);
        let t = self.totals()?;
        if t.total < t.total_paid {
            self.order_items.insert(pos, removed);
            return Err(
                "Removing this item would leave the order's total below what has been paid"
                    .to_owned(),
            );
        }
        Ok(true)
    }

    /// The totals and status (§8.4).
    ///
    /// # Errors
    /// Amounts out of range (cannot happen within the input limits).
    pub fn totals(&self) -> Result<Totals, String> {
        let lines = self
            .order_items
            .iter()
            .map(|i| {
                i.amount()
                    .ok_or_else(|| "order total out of range".to_owned())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let total = sum(lines, "total")
            .map_err(|e| e.to_string())?
            .round_cents()
            .at_least_zero();
        let total_paid = sum(
            self.payments
                .iter()
                .filter(|p| !p.refunded)
                .map(|p| p.amount),
            "total_paid",
        )
        .map_err(|e| e.to_string())?;
        let refund_total = sum(
            self.payments
                .iter()
                .filter(|p| p.refunded)
                .map(|p| p.amount),
            "refund_total",
        )
        .map_err(|e| e.to_string())?;
        let total_due = total
            .minus(total_paid)
            .ok_or("order total out of range")?
            .at_least_zero();
        let paid = total_due.is_zero() && (total.is_positive() || total_paid.is_positive());
        Ok(Totals {
            total,
            total_paid,
            total_due,
            refund_total,
            paid,
        })
    }

    /// Records a payment (§8.4): refused when above what is due, or on an order being
    /// deleted. Call it inside the store's atomic edit, so concurrent payments see each other.
    ///
    /// # Errors
    /// A message for the client (nothing changed then).
    pub fn add_payment(
        &mut self,
        order_id: i64,
        new: &NewPayment,
        now: OffsetDateTime,
    ) -> Result<Payment, String> {
        if self.deleting {
            return Err(DELETING.to_owned());
        }
        let due = self.totals()?.total_due;
        if new.amount > due {
            return Err(format!(
                "payment_amount {} is more than the {} due on this order",
                new.amount.round_cents(),
                due.round_cents()
            ));
        }
        let mut created = self.payments_created;
        let id = next_child(order_id, &mut created, "payments")?;
        let payment = Payment {
            id,
            amount: new.amount,
            method: new.method,
            charged: new.is_charge(),
            pay_date: new.date.unwrap_or(now),
            last_updated: now,
            notes: new.notes.clone(),
            apply_to_commissions: new.apply_to_commissions,
            credit_card_id: new.credit_card_id,
            refunded: false,
            pay_type: new.pay_type.clone(),
        };
        self.payments_created = created;
        self.payments.push(payment.clone());
        Ok(payment)
    }

    /// Marks a payment refunded (for XML-RPC and later refund endpoints).
    ///
    /// # Errors
    /// No such payment, or already refunded.
    pub fn refund_payment(&mut self, payment_id: i64, now: OffsetDateTime) -> Result<(), String> {
        let p = self
            .payments
            .iter_mut()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| format!("Payment {payment_id} does not exist"))?;
        if p.refunded {
            return Err(format!("Payment {payment_id} is already refunded"));
        }
        p.refunded = true;
        p.last_updated = now;
        Ok(())
    }

    /// Marks the order as being deleted, which only an order without payments may be.
    ///
    /// # Errors
    /// The 400 message for an order with payments.
    pub fn mark_deleting(&mut self) -> Result<(), String> {
        if !self.payments.is_empty() {
            return Err(format!(
                "An order with payments cannot be deleted (this one has {})",
                self.payments.len()
            ));
        }
        self.deleting = true;
        Ok(())
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = Some(self.contact_id);
        keys.int[PAID_KEY] = Some(i64::from(self.totals().is_ok_and(|t| t.paid)));
        keys.text[ORDER_DATE_KEY] = Some(format_datetime(self.order_date));
        keys
    }

    /// Whether an item is of this product.
    pub fn has_product(&self, product_id: i64) -> bool {
        self.order_items.iter().any(|i| i.product.id == product_id)
    }

    fn contact_json(&self, contact: Option<&ContactSummary>) -> Value {
        match contact {
            Some(c) if c.id == self.contact_id => json!({
                "id": c.id, "first_name": c.first_name, "last_name": c.last_name,
                "email": c.email, "company_name": c.company_name, "job_title": c.job_title,
            }),
            _ => json!({
                "id": self.contact_id, "first_name": null, "last_name": null, "email": null,
                "company_name": null, "job_title": null,
            }),
        }
    }

    /// The `GET /orders` shape (`EcommerceReportingOrder`): string-typed `contact_id` and
    /// `product_id` (the first item's product), `shipping_information`, mixed-case items.
    ///
    /// # Errors
    /// Totals out of range.
    pub fn render(
        &self,
        id: i64,
        created: OffsetDateTime,
        updated: OffsetDateTime,
        contact: Option<&ContactSummary>,
    ) -> Result<Value, String> {
        let t = self.totals()?;
        Ok(json!({
            "id": id,
            "title": self.title,
            "status": t.status(),
            "order_type": self.order_type,
            "source_type": self.source_type,
            "contact": self.contact_json(contact),
            "contact_id": self.contact_id.to_string(),
            "product_id": self.order_items.first().map(|i| i.product.id.to_string()),
            "order_date": format_datetime(self.order_date),
            "creation_date": format_datetime(created),
            "modification_date": format_datetime(updated),
            "total": t.total.to_json(),
            "total_paid": t.total_paid.to_json(),
            "total_due": t.total_due.to_json(),
            "refund_total": t.refund_total.to_json(),
            "invoice_number": id,
            "lead_affiliate_id": self.lead_affiliate_id,
            "sales_affiliate_id": self.sales_affiliate_id,
            "notes": self.notes,
            "terms": self.terms,
            "recurring": false,
            "allow_payment": !t.paid,
            "allow_paypal": false,
            "shipping_information": self.shipping_address.as_ref().map(|a| a.render_reporting(id)),
            "payment_plan": self.payment_plan.as_ref().map(PaymentPlan::render_reporting),
            "order_items": self.order_items.iter().map(Item::render_reporting).collect::<Vec<_>>(),
        }))
    }

    /// The 201 shape of `POST /orders` (`Order`/`RestOrder`).
    ///
    /// # Errors
    /// Totals out of range.
    pub fn render_created(
        &self,
        id: i64,
        created: OffsetDateTime,
        updated: OffsetDateTime,
        contact: Option<&ContactSummary>,
    ) -> Result<Value, String> {
        let t = self.totals()?;
        Ok(json!({
            "id": id,
            "title": self.title,
            "status": t.status(),
            "contact": self.contact_json(contact),
            "order_date": format_datetime(self.order_date),
            "creation_date": format_datetime(created),
            "modification_date": format_datetime(updated),
            "lead_affiliate_id": self.lead_affiliate_id,
            "sales_affiliate_id": self.sales_affiliate_id,
            "notes": self.notes,
            "total": t.total.to_json(),
            "total_due": t.total_due.to_json(),
            "total_paid": t.total_paid.to_json(),
            "refund_total": t.refund_total.to_json(),
            "shipping_information": self.shipping_address.as_ref().map(Address::render),
            "payment_plan": self.payment_plan.as_ref().map(PaymentPlan::render),
            "order_items": self.order_items.iter().map(Item::render).collect::<Vec<_>>(),
        }))
    }
}

/// Serde for a required date-time in a document (the v1 form, like `date::opt_datetime`).
mod ser_datetime {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(v: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        crate::crm::date::opt_datetime::serialize(&Some(*v), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        crate::crm::date::parse_datetime(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde for a required date in a document (`yyyy-MM-dd`).
mod ser_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(v: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::crm::date::format_date(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        crate::crm::date::parse_date(&s).map_err(serde::de::Error::custom)
    }
}

/// How `GET /orders` orders: `order_date` (default) or `update_date`, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    /// By order date.
    OrderDate,
    /// By last change.
    UpdateDate,
}

/// Parses `order` (any ASCII case; `id` is taken as the order date, Keap's default).
pub fn order_by(s: &str) -> Option<OrderBy> {
    match s.trim().to_ascii_lowercase().as_str() {
        "order_date" | "id" => Some(OrderBy::OrderDate),
        "update_date" | "modification_date" => Some(OrderBy::UpdateDate),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-11-07 20:35:13 UTC);

    fn m(s: &str) -> Money {
        Money::parse(s, "x").expect("a number")
    }

    fn product(id: i64, price: &str) -> ProductSummary {
        ProductSummary {
            id,
            name: format!("P{id}"),
            desc: None,
            short_desc: None,
            sku: None,
            price: m(price),
            active: true,
            subscription_only: false,
        }
    }

    fn order(items: Value) -> Result<OrderDoc, String> {
        let body = json!({"contact_id": 3, "order_date": "2024-05-21T14:30:00.000Z",
                          "order_title": "T", "order_type": "online", "order_items": items});
        let new = NewOrder::parse(body.as_object().expect("obj"))?;
        OrderDoc::create(
            7,
            &new,
            &[product(1, "19.99"), product(2, "33.335"), product(3, "0.1")],
        )
    }

    fn pay(doc: &mut OrderDoc, amount: &str) -> Result<Payment, String> {
        let body = json!({"payment_amount": amount, "payment_method_type": "CASH"});
        let p = NewPayment::parse(body.as_object().expect("obj"))?;
        doc.add_payment(7, &p, NOW)
    }

    #[test]
    fn totals_are_exact_and_rounded_half_up() {
        // 3 × 33.335 = 100.005 exactly → 100.01 (doubles give 100.00499… → 100.00).
        let doc = order(json!([{"product_id": 2, "quantity": 3}])).expect("valid");
        assert_eq!(doc.totals().expect("ok").total, m("100.01"));
        // 0.1 + 0.2 as three lines of 0.1: exactly 0.3.
        let doc =
            order(json!([{"product_id": 3, "quantity": 1}, {"product_id": 3, "quantity": 2}]))
                .expect("valid");
        assert_eq!(doc.totals().expect("ok").total, m("0.3"));
        assert_eq!(
            doc.render(7, NOW, NOW, None).expect("ok")["total"],
            json!(0.3)
        );
    }

    #[test]
    fn price_overrides_specials_subtract_tax_and_shipping_add() {
        let doc = order(json!([
            {"product_id": 1, "quantity": 2},                                   // 39.98
            {"product_id": 1, "quantity": 1, "price": "5.005"},                 // 5.005
            {"product_id": 3, "quantity": 1, "price": "3.50", "item_type": "TAX"},
            {"product_id": 3, "quantity": 1, "price": "4", "item_type": "SHIPPING"},
            {"product_id": 3, "quantity": 2, "price": "1.25", "item_type": "SPECIAL_PRODUCT"}, // -2.5
        ]))
        .expect("valid");
        // 39.98 + 5.005 + 3.5 + 4 − 2.5 = 49.985 exactly → 49.99 half-up.
        let t = doc.totals().expect("ok");
        assert_eq!(t.total, m("49.99"));
        assert_eq!(doc.order_items[0].id, 70_001);
        assert_eq!(doc.order_items[4].id, 70_005);
        // Discounts larger than the rest leave a total of 0, not a negative one.
        let doc =
            order(json!([{"product_id": 3, "quantity": 1, "price": "9", "item_type": "SPECIAL"}]))
                .expect("valid");
        assert_eq!(doc.totals().expect("ok").total, Money::ZERO);
    }

    #[test]
    fn payments_settle_the_order_and_never_exceed_what_is_due() {
        let mut doc = order(json!([{"product_id": 1, "quantity": 3}])).expect("valid"); // 59.97
        assert_eq!(doc.totals().expect("ok").status(), "DRAFT");
        assert_eq!(
            pay(&mut doc, "60"),
            Err("payment_amount 60 is more than the 59.97 due on this order".to_owned())
        );
        let p = pay(&mut doc, "20.00").expect("room");
        assert_eq!(p.id, 70_001);
        let t = doc.totals().expect("ok");
        assert_eq!((t.total_paid, t.total_due), (m("20"), m("39.97")));
        assert!(pay(&mut doc, "39.98").is_err());
        pay(&mut doc, "39.97").expect("exactly what is due");
        let t = doc.totals().expect("ok");
        assert_eq!((t.total_due, t.status()), (Money::ZERO, "PAID"));
        assert_eq!(doc.keys().int[PAID_KEY], Some(1));
        assert!(pay(&mut doc, "0.01").is_err());
        // A refund moves the money from total_paid to refund_total.
        doc.refund_payment(70_001, NOW).expect("exists");
        let t = doc.totals().expect("ok");
        assert_eq!(
            (t.total_paid, t.refund_total, t.total_due),
            (m("39.97"), m("20"), m("20"))
        );
        assert_eq!(t.status(), "DRAFT");
        // Items cannot go below what is paid; an order with payments cannot be deleted.
        assert!(doc.remove_item(70_001).is_err());
        assert!(doc.mark_deleting().is_err());
        assert_eq!(doc.remove_item(99), Ok(false));
    }

    #[test]
    fn payment_bodies_are_validated() {
        for (body, msg) in [
            (json!({}), "payment_amount is required"),
            (
                json!({"payment_amount": "0"}),
                "payment_amount must be greater than 0",
            ),
            (
                json!({"payment_amount": "-5"}),
                "payment_amount must be greater than 0",
            ),
            (
                json!({"payment_amount": "1.005"}),
                "payment_amount must have at most two decimals",
            ),
            (
                json!({"payment_amount": "1", "payment_method_type": "GOLD"}),
                "payment_method_type must be one of CREDIT_CARD, CASH, CHECK, TOKEN",
            ),
            (
                json!({"payment_amount": "1", "date": "yesterday"}),
                "date must be a date-time, e.g. 2017-01-01T22:17:59.039Z",
            ),
        ] {
            assert_eq!(
                NewPayment::parse(body.as_object().expect("obj")),
                Err(msg.to_owned())
            );
        }
        let card = NewPayment::parse(
            json!({"payment_amount": 25, "payment_method_type": "credit_card", "charge_now": true})
                .as_object()
                .expect("obj"),
        )
        .expect("valid");
        assert!(card.is_charge());
        let manual = NewPayment::parse(
            json!({"payment_amount": "25.00", "payment_method_type": "CREDIT_CARD", "charge_now": false})
                .as_object()
                .expect("obj"),
        )
        .expect("valid");
        assert!(!manual.is_charge());
    }

    #[test]
    fn order_bodies_are_validated() {
        for (items, msg) in [
            (json!([]), "order_items must have at least one item"),
            (
                json!([{"quantity": 1}]),
                "order_items[0].product_id is required",
            ),
            (
                json!([{"product_id": 1, "quantity": 0}]),
                "order_items[0].quantity must be at least 1",
            ),
            (
                json!([{"product_id": 1, "quantity": 1, "price": "-1"}]),
                "order_items[0].price must not be negative",
            ),
            (
                json!([{"product_id": 1, "quantity": 1, "price": "x"}]),
                "order_items[0].price must be a decimal number, e.g. \"19.99\"",
            ),
            (
                json!([{"product_id": 1, "quantity": 1, "item_type": "GIFT"}]),
                &format!("order_items[0].item_type must be one of {ITEM_TYPES}"),
            ),
            (
                json!([{"product_id": 9, "quantity": 1}]),
                "Product 9 does not exist",
            ),
        ] {
            assert_eq!(order(items), Err(msg.to_owned()));
        }
        let base = json!({"contact_id": 3, "order_date": "2024-05-21T14:30:00Z", "order_title": "T",
                          "order_type": "Online", "order_items": [{"product_id": 1, "quantity": 1}]});
        for (drop, msg) in [
            ("contact_id", "contact_id is required"),
            ("order_date", "order_date is required"),
            ("order_title", "order_title is required"),
            ("order_type", "order_type is required"),
            ("order_items", "order_items is required"),
        ] {
            let mut b = base.clone();
            b.as_object_mut().expect("obj").remove(drop);
            assert_eq!(
                NewOrder::parse(b.as_object().expect("obj")),
                Err(msg.to_owned())
            );
        }
    }

    #[test]
    fn shapes_have_keaps_members() {
        let mut body = json!({"contact_id": 3, "order_date": "2024-05-21T14:30:00Z", "order_title": "T",
                              "order_type": "Offline", "order_items": [{"product_id": 1, "quantity": 2, "price": "19.99"}],
                              "shipping_address": {"line1": "1 Main St", "locality": "Springfield", "zip_code": "12345", "zip_four": "6789"}});
        let new = NewOrder::parse(body.as_object_mut().expect("obj")).expect("valid");
        let mut doc = OrderDoc::create(7, &new, &[product(1, "5")]).expect("valid");
        let c = ContactSummary {
            id: 3,
            first_name: Some("Ada".into()),
            ..ContactSummary::default()
        };
        let v = doc.render(7, NOW, NOW, Some(&c)).expect("ok");
        assert_eq!(v["contact_id"], "3");
        assert_eq!(v["product_id"], "1");
        assert_eq!(v["contact"]["first_name"], "Ada");
        assert_eq!(v["total"], 39.98);
        assert_eq!(v["shipping_information"]["street1"], "1 Main St");
        assert_eq!(v["shipping_information"]["zip"], "12345-6789");
        assert_eq!(v["order_items"][0]["product"]["name"], "P1");
        assert!(v["order_items"][0].get("subscriptionPlan").is_some());
        let c201 = doc.render_created(7, NOW, NOW, Some(&c)).expect("ok");
        assert!(c201.get("contact_id").is_none());
        assert_eq!(c201["shipping_information"]["line1"], "1 Main St");
        assert_eq!(c201["order_items"][0]["product"]["product_price"], 5.0);
        assert_eq!(c201["order_items"][0]["orderItemTaxes"], json!([]));
        let p = pay(&mut doc, "10").expect("room");
        assert_eq!(
            p.render_result(7),
            json!({"id": 70_001, "invoice_id": 7, "payment_amount": 10.0,
                   "payment_status": "APPROVED", "transaction_id": 70_001})
        );
        // The stored document keeps the payments under "payments".
        assert_eq!(doc.to_value()["payments"][0]["amount"], "10");
        let back = OrderDoc::from_value(&doc.to_value()).expect("readable");
        assert_eq!(back, doc);
    }

    #[test]
    fn payment_plans_are_validated() {
        let ok = PaymentPlan::parse(
            json!({"days_between_payments": 30, "number_of_payments": 3, "plan_start_date": "2024-06-01",
                   "payment_gateway": {"merchant_account_id": 4}})
            .as_object()
            .expect("obj"),
        )
        .expect("valid");
        assert_eq!(ok.render()["plan_start_date"], "2024-06-01");
        assert_eq!(ok.render()["payment_gateway"]["merchant_account_id"], 4);
        assert_eq!(
            PaymentPlan::parse(json!({"number_of_payments": 3}).as_object().expect("obj")),
            Err("days_between_payments is required".to_owned())
        );
    }
}
