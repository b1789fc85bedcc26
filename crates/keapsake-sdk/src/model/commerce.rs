//! Products, orders, payments and transactions (`keap/rest-v1.md` §7–§8). Every amount is a
//! [`Money`] (exact decimal text), never a float.

use serde::{Deserialize, Deserializer, Serialize};
use time::{Date, OffsetDateTime};

use super::Money;
use crate::ids::{
    ContactId, OrderId, OrderItemId, PaymentId, ProductId, SubscriptionPlanId, TransactionId,
};

/// Reads an id sent as a number or as a numeric string (`GET /orders` writes `contact_id` as
/// text).
fn lenient_id<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<i64>,
{
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_i64().map(T::from),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok().map(T::from),
        _ => None,
    })
}

/// A subscription plan of a product. `GET /products/{id}` names the cycle in `cycle_type`
/// (`MONTH`…); lists give a numeric `cycle` code instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionPlan {
    /// Plan id.
    pub id: SubscriptionPlanId,
    /// Whether it can be bought.
    #[serde(default)]
    pub active: Option<bool>,
    /// `DAY`, `WEEK`, `MONTH` or `YEAR` (single-product shape).
    #[serde(default)]
    pub cycle_type: Option<String>,
    /// Keap's numeric cycle code (list shape).
    #[serde(default)]
    pub cycle: Option<i64>,
    /// Cycles between charges.
    #[serde(default)]
    pub frequency: Option<i64>,
    /// How many charges (0: until cancelled).
    #[serde(default)]
    pub number_of_cycles: Option<i64>,
    /// Price per charge.
    #[serde(default)]
    pub plan_price: Option<Money>,
    /// Position among the product's plans.
    #[serde(default)]
    pub subscription_plan_index: Option<i64>,
    /// Display name.
    #[serde(default)]
    pub subscription_plan_name: Option<String>,
}

/// A product. Lists (`GET /products`) say whether it is active in `status` (1/0), a single
/// product in `active`; [`Product::is_active`] reads either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Product id.
    pub id: ProductId,
    /// Name.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Price.
    #[serde(default)]
    pub product_price: Option<Money>,
    /// Description.
    #[serde(default)]
    pub product_desc: Option<String>,
    /// Short description.
    #[serde(default)]
    pub product_short_desc: Option<String>,
    /// SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// Active (single-product shape).
    #[serde(default)]
    pub active: Option<bool>,
    /// 1 active, 0 not (list shape).
    #[serde(default)]
    pub status: Option<i64>,
    /// Sold only through its plans.
    #[serde(default)]
    pub subscription_only: Option<bool>,
    /// Storefront URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Plans.
    #[serde(default, deserialize_with = "super::null_as_empty")]
    pub subscription_plans: Vec<SubscriptionPlan>,
}

impl Product {
    /// Whether the product is active, from whichever member the shape has.
    pub fn is_active(&self) -> Option<bool> {
        self.active.or(self.status.map(|s| s != 0))
    }
}

/// The writable fields of a product, for create (`product_name` required) and update
/// (`PATCH`: only what is set changes).
///
/// ```
/// use keapsake_sdk::model::{Money, ProductInput};
/// let p = ProductInput::new().name("Widget").price(Money::from_cents(1999)).sku("W-1");
/// assert_eq!(
///     serde_json::to_value(&p).unwrap(),
///     serde_json::json!({"product_name": "Widget", "product_price": "19.99", "sku": "W-1"})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProductInput {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_price: Option<Money>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_desc: Option<String>,
    /// Short description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_short_desc: Option<String>,
    /// SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Sold only through its plans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_only: Option<bool>,
}

impl ProductInput {
    /// Nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Name.
    pub fn name(mut self, v: impl Into<String>) -> Self {
        self.product_name = Some(v.into());
        self
    }

    /// Price.
    pub fn price(mut self, v: Money) -> Self {
        self.product_price = Some(v);
        self
    }

    /// Description.
    pub fn description(mut self, v: impl Into<String>) -> Self {
        self.product_desc = Some(v.into());
        self
    }

    /// Short description.
    pub fn short_description(mut self, v: impl Into<String>) -> Self {
        self.product_short_desc = Some(v.into());
        self
    }

    /// SKU.
    pub fn sku(mut self, v: impl Into<String>) -> Self {
        self.sku = Some(v.into());
        self
    }

    /// Active or not.
    pub fn active(mut self, v: bool) -> Self {
        self.active = Some(v);
        self
    }
}

/// A new subscription plan (`POST /products/{id}/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionPlanInput {
    /// `DAY`, `WEEK`, `MONTH` or `YEAR`.
    pub cycle_type: String,
    /// Price per charge.
    pub plan_price: Money,
    /// Cycles between charges (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<i64>,
    /// How many charges (0: until cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_cycles: Option<i64>,
    /// Position among the product's plans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_plan_index: Option<i64>,
    /// Whether it can be bought.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl SubscriptionPlanInput {
    /// A plan charging `price` every `cycle_type` (`MONTH`…).
    pub fn new(cycle_type: impl Into<String>, price: Money) -> Self {
        SubscriptionPlanInput {
            cycle_type: cycle_type.into(),
            plan_price: price,
            frequency: None,
            number_of_cycles: None,
            subscription_plan_index: None,
            active: None,
        }
    }
}

/// One entry of `GET /products/sync`: a product and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductStatus {
    /// The product (for `DELETED`, what keapsake still knows of it).
    pub product: Product,
    /// `CREATED`, `UPDATED` or `DELETED`.
    pub status: String,
}

/// The contact of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderContact {
    /// Contact id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<ContactId>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
}

/// The product of an order item (the list shape says `name`, the create shape
/// `product_name`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProduct {
    /// Product id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<ProductId>,
    /// Name (list shape).
    #[serde(default)]
    pub name: Option<String>,
    /// Name (create shape).
    #[serde(default)]
    pub product_name: Option<String>,
    /// SKU.
    #[serde(default)]
    pub sku: Option<String>,
}

/// An item of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// Item id.
    pub id: OrderItemId,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Unit price.
    #[serde(default)]
    pub price: Option<Money>,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// Item type (`Product`…).
    #[serde(default, rename = "type")]
    pub item_type: Option<String>,
    /// The product.
    #[serde(default)]
    pub product: Option<OrderProduct>,
}

/// An order (Keap's invoice). `POST /orders` and `GET /orders/{id}` answer slightly
/// different shapes; the members both share are here, the others are `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Order id.
    pub id: OrderId,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// `DRAFT` (money due) or `PAID`.
    #[serde(default)]
    pub status: Option<String>,
    /// `Online` or `Offline`.
    #[serde(default)]
    pub order_type: Option<String>,
    /// The contact.
    #[serde(default)]
    pub contact: Option<OrderContact>,
    /// The contact's id (list and get shape; text on the wire).
    #[serde(default, deserialize_with = "lenient_id")]
    pub contact_id: Option<ContactId>,
    /// Order date.
    #[serde(default, with = "crate::date::option_datetime")]
    pub order_date: Option<OffsetDateTime>,
    /// Created.
    #[serde(default, with = "crate::date::option_datetime")]
    pub creation_date: Option<OffsetDateTime>,
    /// Last changed.
    #[serde(default, with = "crate::date::option_datetime")]
    pub modification_date: Option<OffsetDateTime>,
    /// Σ items.
    #[serde(default)]
    pub total: Option<Money>,
    /// Σ payments.
    #[serde(default)]
    pub total_paid: Option<Money>,
    /// Still owed.
    #[serde(default)]
    pub total_due: Option<Money>,
    /// Σ refunds.
    #[serde(default)]
    pub refund_total: Option<Money>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Items.
    #[serde(default, deserialize_with = "super::null_as_empty")]
    pub order_items: Vec<OrderItem>,
    /// The payment plan, as sent (two shapes; see [`PaymentPlan`] for the writable one).
    #[serde(default)]
    pub payment_plan: Option<serde_json::Value>,
    /// Shipping address, as sent.
    #[serde(default)]
    pub shipping_information: Option<serde_json::Value>,
}

/// An item to order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderItemInput {
    /// The product.
    pub product_id: ProductId,
    /// How many (at least 1).
    pub quantity: i64,
    /// Unit price; the product's price when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Item type (`PRODUCT` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
}

impl OrderItemInput {
    /// `quantity` of `product` at its price.
    pub fn new(product: impl Into<ProductId>, quantity: i64) -> Self {
        OrderItemInput {
            product_id: product.into(),
            quantity,
            price: None,
            description: None,
            item_type: None,
        }
    }

    /// A unit price other than the product's.
    pub fn price(mut self, p: Money) -> Self {
        self.price = Some(p);
        self
    }

    /// Description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
}

/// A shipping address of a new order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs, reason = "each field is Keap's member of the same name")]
pub struct ShippingAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// A new order (`POST /orders`): a contact, a title, a date and at least one item.
///
/// ```
/// use keapsake_sdk::model::{Money, NewOrder, OrderItemInput};
/// let at = time::macros::datetime!(2026-01-02 10:00 UTC);
/// let o = NewOrder::new(22, "Spring order", at)
///     .item(OrderItemInput::new(7, 3))
///     .item(OrderItemInput::new(8, 1).price(Money::from_cents(500)));
/// let v = serde_json::to_value(&o).unwrap();
/// assert_eq!(v["order_items"][1]["price"], "5.00");
/// assert_eq!(v["order_type"], "Online");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOrder {
    /// The buyer.
    pub contact_id: ContactId,
    /// Title.
    pub order_title: String,
    /// Order date.
    #[serde(with = "crate::date::option_datetime")]
    pub order_date: Option<OffsetDateTime>,
    /// `Online` (default) or `Offline`.
    pub order_type: String,
    /// Items.
    pub order_items: Vec<OrderItemInput>,
    /// Promo codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promo_codes: Vec<String>,
    /// Lead affiliate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_affiliate_id: Option<i64>,
    /// Sales affiliate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_affiliate_id: Option<i64>,
    /// Shipping address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<ShippingAddress>,
}

impl NewOrder {
    /// An online order with no items yet.
    pub fn new(
        contact: impl Into<ContactId>,
        title: impl Into<String>,
        date: OffsetDateTime,
    ) -> Self {
        NewOrder {
            contact_id: contact.into(),
            order_title: title.into(),
            order_date: Some(date),
            order_type: "Online".into(),
            order_items: Vec::new(),
            promo_codes: Vec::new(),
            lead_affiliate_id: None,
            sales_affiliate_id: None,
            shipping_address: None,
        }
    }

    /// Adds an item.
    pub fn item(mut self, item: OrderItemInput) -> Self {
        self.order_items.push(item);
        self
    }

    /// `Offline` instead of `Online`.
    pub fn offline(mut self) -> Self {
        self.order_type = "Offline".into();
        self
    }

    /// Shipping address.
    pub fn ship_to(mut self, a: ShippingAddress) -> Self {
        self.shipping_address = Some(a);
        self
    }
}

/// A payment to record (`POST /orders/{id}/payments`).
///
/// ```
/// use keapsake_sdk::model::{Money, NewPayment};
/// let p = NewPayment::cash(Money::from_cents(1000)).notes("at the counter");
/// assert_eq!(
///     serde_json::to_value(&p).unwrap(),
///     serde_json::json!({"payment_amount": "10.00", "payment_method_type": "CASH", "notes": "at the counter"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewPayment {
    /// Amount.
    pub payment_amount: Money,
    /// `CASH`, `CHECK`, `CREDIT_CARD` or `TOKEN`.
    pub payment_method_type: String,
    /// When paid (now when `None`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_datetime"
    )]
    pub date: Option<OffsetDateTime>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Charge a card now (`CREDIT_CARD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_now: Option<bool>,
    /// Count the payment towards commissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_to_commissions: Option<bool>,
    /// The card, for `CREDIT_CARD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_card_id: Option<i64>,
    /// The merchant account, for `CREDIT_CARD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_gateway_id: Option<String>,
}

impl NewPayment {
    /// A payment of `amount` by `method`.
    pub fn new(amount: Money, method: impl Into<String>) -> Self {
        NewPayment {
            payment_amount: amount,
            payment_method_type: method.into(),
            date: None,
            notes: None,
            charge_now: None,
            apply_to_commissions: None,
            credit_card_id: None,
            payment_gateway_id: None,
        }
    }

    /// Cash.
    pub fn cash(amount: Money) -> Self {
        Self::new(amount, "CASH")
    }

    /// Cheque.
    pub fn check(amount: Money) -> Self {
        Self::new(amount, "CHECK")
    }

    /// A charge of a card on file, now (`CREDIT_CARD`, `charge_now`). The card must belong
    /// to the order's contact; a decline is an [`Error::Validation`](crate::Error::Validation)
    /// with the gateway's reason, and nothing is recorded.
    ///
    /// ```
    /// use keapsake_sdk::model::NewPayment;
    /// let p = NewPayment::charge_card("25.00".parse().unwrap(), 7);
    /// assert_eq!(
    ///     serde_json::to_value(&p).unwrap(),
    ///     serde_json::json!({"payment_amount": "25.00", "payment_method_type": "CREDIT_CARD",
    ///         "charge_now": true, "credit_card_id": 7})
    /// );
    /// ```
    pub fn charge_card(amount: Money, card: impl Into<crate::ids::CreditCardId>) -> Self {
        let mut p = Self::new(amount, "CREDIT_CARD");
        p.charge_now = Some(true);
        p.credit_card_id = Some(card.into().get());
        p
    }

    /// Notes.
    pub fn notes(mut self, n: impl Into<String>) -> Self {
        self.notes = Some(n.into());
        self
    }

    /// When paid.
    pub fn date(mut self, t: OffsetDateTime) -> Self {
        self.date = Some(t);
        self
    }
}

/// The answer of `POST /orders/{id}/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// Payment id.
    pub id: PaymentId,
    /// The order.
    #[serde(default)]
    pub invoice_id: Option<OrderId>,
    /// Amount.
    #[serde(default)]
    pub payment_amount: Option<Money>,
    /// Status.
    #[serde(default)]
    pub payment_status: Option<String>,
    /// Its transaction.
    #[serde(default)]
    pub transaction_id: Option<TransactionId>,
}

/// A payment of an order (`GET /orders/{id}/payments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Payment id.
    pub id: PaymentId,
    /// The order.
    #[serde(default)]
    pub invoice_id: Option<OrderId>,
    /// Amount.
    #[serde(default)]
    pub amount: Option<Money>,
    /// When paid.
    #[serde(default, with = "crate::date::option_datetime")]
    pub pay_date: Option<OffsetDateTime>,
    /// Status.
    #[serde(default)]
    pub pay_status: Option<String>,
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
    /// Last change.
    #[serde(default, with = "crate::date::option_datetime")]
    pub last_updated: Option<OffsetDateTime>,
    /// Left out of commissions.
    #[serde(default)]
    pub skip_commission: Option<bool>,
}

/// A transaction (`GET /transactions`, `GET /orders/{id}/transactions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Transaction id.
    pub id: TransactionId,
    /// Amount.
    #[serde(default)]
    pub amount: Option<Money>,
    /// `AUTOMATIC` or `MANUAL`.
    #[serde(default)]
    pub collection_method: Option<String>,
    /// The contact.
    #[serde(default, deserialize_with = "lenient_id")]
    pub contact_id: Option<ContactId>,
    /// Currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Gateway.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The orders it pays, comma-separated ids.
    #[serde(default)]
    pub order_ids: Option<String>,
    /// When paid.
    #[serde(default, rename = "paymentDate", with = "crate::date::option_datetime")]
    pub payment_date: Option<OffsetDateTime>,
    /// When recorded.
    #[serde(default, with = "crate::date::option_datetime")]
    pub transaction_date: Option<OffsetDateTime>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Test transaction.
    #[serde(default)]
    pub test: Option<bool>,
    /// `SALE`…
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// The gateway of a payment plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentGateway {
    /// Merchant account.
    #[serde(default)]
    pub merchant_account_id: Option<i64>,
    /// Use the account's default.
    #[serde(default)]
    pub use_default: Option<bool>,
}

/// An order's payment plan (`PUT /orders/{id}/paymentPlan`, and its answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPlan {
    /// Charge automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_charge: Option<bool>,
    /// Card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_card_id: Option<i64>,
    /// Days between payments.
    pub days_between_payments: i64,
    /// First payment amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_payment_amount: Option<Money>,
    /// First payment date.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_date"
    )]
    pub initial_payment_date: Option<Date>,
    /// Number of payments.
    pub number_of_payments: i64,
    /// Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_gateway: Option<PaymentGateway>,
    /// Start date.
    #[serde(with = "crate::date::option_date")]
    pub plan_start_date: Option<Date>,
}

impl PaymentPlan {
    /// `number_of_payments` payments `days_between_payments` days apart from `start`.
    pub fn new(number_of_payments: i64, days_between_payments: i64, start: Date) -> Self {
        PaymentPlan {
            auto_charge: None,
            credit_card_id: None,
            days_between_payments,
            initial_payment_amount: None,
            initial_payment_date: None,
            number_of_payments,
            payment_gateway: None,
            plan_start_date: Some(start),
        }
    }
}

/// A contact's subscription to a product's plan (`/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Subscription id.
    pub id: crate::ids::SubscriptionId,
    /// Active.
    #[serde(default)]
    pub active: Option<bool>,
    /// Charged automatically.
    #[serde(default)]
    pub auto_charge: Option<bool>,
    /// Amount per bill.
    #[serde(default)]
    pub billing_amount: Option<Money>,
    /// `DAY`, `WEEK`, `MONTH` or `YEAR`.
    #[serde(default)]
    pub billing_cycle: Option<String>,
    /// Cycles between bills.
    #[serde(default)]
    pub billing_frequency: Option<i64>,
    /// The subscriber.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// When it ends (if it does).
    #[serde(default, with = "crate::date::option_date")]
    pub end_date: Option<Date>,
    /// Next bill.
    #[serde(default, with = "crate::date::option_date")]
    pub next_bill_date: Option<Date>,
    /// The product.
    #[serde(default)]
    pub product_id: Option<ProductId>,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// Start.
    #[serde(default, with = "crate::date::option_date")]
    pub start_date: Option<Date>,
    /// The plan.
    #[serde(default)]
    pub subscription_plan_id: Option<SubscriptionPlanId>,
}

/// A new subscription (`POST /subscriptions`): a contact and an active plan.
///
/// ```
/// use keapsake_sdk::model::NewSubscription;
/// let s = NewSubscription::new(22, 70001).quantity(2);
/// assert_eq!(
///     serde_json::to_value(&s).unwrap(),
///     serde_json::json!({"contact_id": 22, "subscription_plan_id": 70001, "quantity": 2})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSubscription {
    /// The subscriber.
    pub contact_id: ContactId,
    /// The plan.
    pub subscription_plan_id: SubscriptionPlanId,
    /// Quantity (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// Amount per bill (default: plan price × quantity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_amount: Option<Money>,
    /// First bill (default: today).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::date::option_date"
    )]
    pub first_bill_date: Option<Date>,
    /// Allow a second subscription of the contact to the same plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_duplicate: Option<bool>,
    /// Charge automatically (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_charge: Option<bool>,
}

impl NewSubscription {
    /// `contact` subscribes to `plan`.
    pub fn new(contact: impl Into<ContactId>, plan: impl Into<SubscriptionPlanId>) -> Self {
        NewSubscription {
            contact_id: contact.into(),
            subscription_plan_id: plan.into(),
            quantity: None,
            billing_amount: None,
            first_bill_date: None,
            allow_duplicate: None,
            auto_charge: None,
        }
    }

    /// Quantity.
    pub fn quantity(mut self, n: i64) -> Self {
        self.quantity = Some(n);
        self
    }

    /// First bill date.
    pub fn first_bill_date(mut self, d: Date) -> Self {
        self.first_bill_date = Some(d);
        self
    }
}
