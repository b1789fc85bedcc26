//! Subscriptions (`GET|POST /subscriptions`, `keap/rest-v1.md` §11 "subscriptions"): a contact
//! subscribed to one of a product's plans. The stored document ([`SubscriptionDoc`]) keeps the
//! plan's cycle and price as they were when subscribing; what a client may send
//! ([`NewSubscription::parse`]); the keys; the v1 `Subscription` shape. keapsake bills nothing:
//! `next_bill_date` is the first bill date and never advances.
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `n0` | contact id | `contact_id=`, the duplicate check |
//! | `n1` | plan id | the duplicate check |
//! | `n2` | product id | — (XML-RPC `RecurringOrder.ProductId`) |

use super::money::Money;
use super::product::{Cycle, Plan};
use super::{boolean, int32, int64};
use crate::crm::date::{format_date, parse_date};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::{Date, Month};

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Integer key of the plan id.
pub const PLAN_KEY: usize = 1;
/// Integer key of the product id.
pub const PRODUCT_KEY: usize = 2;

/// A subscription as sent to `POST /subscriptions` (`CreateSubscription`), validated; the
/// contact and the plan are checked by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    /// Contact.
    pub contact_id: i64,
    /// Plan (a product's plan id).
    pub plan_id: i64,
    /// Quantity (≥ 1, default 1).
    pub quantity: i64,
    /// Amount per bill (default: plan price × quantity).
    pub billing_amount: Option<Money>,
    /// First bill (default: today).
    pub first_bill_date: Option<Date>,
    /// Whether a second active subscription of the contact to the plan is allowed.
    pub allow_duplicate: bool,
    /// Tax applies.
    pub allow_tax: bool,
    /// Charge automatically.
    pub auto_charge: bool,
    /// Card.
    pub credit_card_id: Option<i64>,
    /// Gateway.
    pub payment_gateway_id: Option<i64>,
    /// Affiliate.
    pub sale_affiliate_id: Option<i64>,
}

fn present<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

fn opt_id(m: &Map<String, Value>, k: &str) -> Result<Option<i64>, String> {
    Ok(present(m, k)
        .map(|v| int64(v, k))
        .transpose()?
        .filter(|i| *i > 0))
}

impl NewSubscription {
    /// Validates a `CreateSubscription` body (`contact_id` and `subscription_plan_id` required).
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(m: &Map<String, Value>) -> Result<NewSubscription, String> {
        let contact_id = int64(
            present(m, "contact_id").ok_or("contact_id is required")?,
            "contact_id",
        )?;
        let plan_id = int64(
            present(m, "subscription_plan_id").ok_or("subscription_plan_id is required")?,
            "subscription_plan_id",
        )?;
        let quantity = present(m, "quantity")
            .map(|v| int32(v, "quantity"))
            .transpose()?
            .unwrap_or(1);
        if quantity < 1 {
            return Err("quantity must be at least 1".to_owned());
        }
        let billing_amount = present(m, "billing_amount")
            .map(|v| Money::non_negative(v, "billing_amount"))
            .transpose()
            .map_err(|e| e.to_string())?;
        let first_bill_date = match present(m, "first_bill_date") {
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => {
                Some(parse_date(s).map_err(|_| "first_bill_date must be a date, e.g. 2024-05-21")?)
            }
            Some(_) => return Err("first_bill_date must be a date, e.g. 2024-05-21".to_owned()),
        };
        let flag = |k: &str, default: bool| -> Result<bool, String> {
            Ok(present(m, k)
                .map(|v| boolean(v, k))
                .transpose()?
                .unwrap_or(default))
        };
        Ok(NewSubscription {
            contact_id,
            plan_id,
            quantity,
            billing_amount,
            first_bill_date,
            allow_duplicate: flag("allow_duplicate", false)?,
            allow_tax: flag("allow_tax", false)?,
            auto_charge: flag("auto_charge", true)?,
            credit_card_id: opt_id(m, "credit_card_id")?,
            payment_gateway_id: opt_id(m, "payment_gateway_id")?,
            sale_affiliate_id: opt_id(m, "sale_affiliate_id")?,
        })
    }
}

/// A subscription as stored (the `data` of a
/// [`crate::records::RecordKind::Subscription`] record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionDoc {
    /// Contact.
    pub contact_id: i64,
    /// Product.
    pub product_id: i64,
    /// Plan.
    pub plan_id: i64,
    /// Cycle (the plan's then).
    pub cycle: Cycle,
    /// Cycles between bills (the plan's then).
    pub frequency: i64,
    /// Quantity.
    pub quantity: i64,
    /// Amount per bill.
    pub billing_amount: Money,
    /// First bill.
    #[serde(with = "ser_date")]
    pub start_date: Date,
    /// Last bill, when the plan has a number of cycles.
    #[serde(default, with = "opt_date")]
    pub end_date: Option<Date>,
    /// Active.
    pub active: bool,
    /// Tax applies.
    #[serde(default)]
    pub allow_tax: bool,
    /// Charge automatically.
    #[serde(default)]
    pub auto_charge: bool,
    /// Card.
    #[serde(default)]
    pub credit_card_id: Option<i64>,
    /// Gateway.
    #[serde(default)]
    pub payment_gateway_id: Option<i64>,
    /// Affiliate.
    #[serde(default)]
    pub sale_affiliate_id: Option<i64>,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

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

use crate::crm::date::opt_date;

/// `d` plus `n` calendar months, the day clamped to the target month's length.
fn add_months(d: Date, n: i64) -> Option<Date> {
    let months = i64::from(d.year())
        .checked_mul(12)?
        .checked_add(i64::from(u8::from(d.month())) - 1)?
        .checked_add(n)?;
    let year = i32::try_from(months.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(months.rem_euclid(12) + 1).ok()?).ok()?;
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, d.day().min(last)).ok()
}

/// The date `cycles × frequency` cycles after `start` (`None` past the calendar's end).
pub fn after_cycles(start: Date, cycle: Cycle, frequency: i64, cycles: i64) -> Option<Date> {
    let n = frequency.checked_mul(cycles)?;
    match cycle {
        Cycle::Year => add_months(start, n.checked_mul(12)?),
        Cycle::Month => add_months(start, n),
        Cycle::Week => start.checked_add(time::Duration::weeks(n)),
        Cycle::Day => start.checked_add(time::Duration::days(n)),
    }
}

impl SubscriptionDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a subscription (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored subscription is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// A new subscription of `product_id`'s `plan`, starting `today` unless a first bill date
    /// was sent.
    ///
    /// # Errors
    /// An amount out of range, or an end date past the calendar.
    pub fn create(
        new: &NewSubscription,
        product_id: i64,
        plan: &Plan,
        today: Date,
    ) -> Result<SubscriptionDoc, String> {
        let billing_amount = match new.billing_amount {
            Some(a) => a,
            None => plan
                .plan_price
                .times(new.quantity)
                .ok_or("billing_amount out of range")?,
        };
        let start_date = new.first_bill_date.unwrap_or(today);
        let end_date = if plan.number_of_cycles > 0 {
            Some(
                after_cycles(
                    start_date,
                    plan.cycle,
                    plan.frequency,
                    plan.number_of_cycles - 1,
                )
                .ok_or("the subscription would end past the calendar")?,
            )
        } else {
            None
        };
        Ok(SubscriptionDoc {
            contact_id: new.contact_id,
            product_id,
            plan_id: plan.id,
            cycle: plan.cycle,
            frequency: plan.frequency,
            quantity: new.quantity,
            billing_amount,
            start_date,
            end_date,
            active: true,
            allow_tax: new.allow_tax,
            auto_charge: new.auto_charge,
            credit_card_id: new.credit_card_id,
            payment_gateway_id: new.payment_gateway_id,
            sale_affiliate_id: new.sale_affiliate_id,
            extra: Map::new(),
        })
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = Some(self.contact_id);
        keys.int[PLAN_KEY] = Some(self.plan_id);
        keys.int[PRODUCT_KEY] = Some(self.product_id);
        keys
    }

    /// The v1 `Subscription` shape.
    pub fn render(&self, id: i64) -> Value {
        json!({
            "id": id,
            "active": self.active,
            "allow_tax": self.allow_tax,
            "auto_charge": self.auto_charge,
            "billing_amount": self.billing_amount.round_cents().to_json(),
            "billing_cycle": self.cycle.as_str(),
            "billing_frequency": self.frequency,
            "contact_id": self.contact_id,
            "credit_card_id": self.credit_card_id,
            "end_date": self.end_date.map(format_date),
            "next_bill_date": format_date(self.start_date),
            "payment_gateway_id": self.payment_gateway_id,
            "product_id": self.product_id,
            "quantity": self.quantity,
            "sale_affiliate_id": self.sale_affiliate_id,
            "start_date": format_date(self.start_date),
            "subscription_plan_id": self.plan_id,
            "use_default_payment_gateway": self.payment_gateway_id.is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn plan(cycle: Cycle, frequency: i64, cycles: i64) -> Plan {
        Plan {
            id: 70_001,
            cycle,
            frequency,
            number_of_cycles: cycles,
            plan_price: Money::parse("9.995", "p").expect("ok"),
            subscription_plan_index: 0,
            active: true,
        }
    }

    fn new(v: Value) -> Result<NewSubscription, String> {
        NewSubscription::parse(v.as_object().expect("object"))
    }

    #[test]
    fn bodies_are_validated() {
        assert_eq!(
            new(json!({"subscription_plan_id": 1})),
            Err("contact_id is required".into())
        );
        assert_eq!(
            new(json!({"contact_id": 1})),
            Err("subscription_plan_id is required".into())
        );
        assert_eq!(
            new(json!({"contact_id": 1, "subscription_plan_id": 2, "quantity": 0})),
            Err("quantity must be at least 1".into())
        );
        assert_eq!(
            new(json!({"contact_id": 1, "subscription_plan_id": 2, "first_bill_date": "soon"})),
            Err("first_bill_date must be a date, e.g. 2024-05-21".into())
        );
        let ok = new(json!({"contact_id": 1, "subscription_plan_id": 2})).expect("valid");
        assert!(ok.auto_charge && !ok.allow_duplicate);
    }

    #[test]
    fn amounts_and_dates_follow_the_plan() {
        let n = new(
            json!({"contact_id": 3, "subscription_plan_id": 70_001, "quantity": 3,
                           "first_bill_date": "2024-01-31"}),
        )
        .expect("valid");
        let doc = SubscriptionDoc::create(&n, 7, &plan(Cycle::Month, 1, 3), date!(2024 - 06 - 01))
            .expect("valid");
        // 3 × 9.995 = 29.985 exactly → 29.99 half-up.
        let v = doc.render(1);
        assert_eq!(v["billing_amount"], 29.99);
        assert_eq!(v["billing_cycle"], "MONTH");
        assert_eq!(v["start_date"], "2024-01-31");
        // Three monthly bills: Jan 31, Feb 29 (clamped, leap year), Mar 31.
        assert_eq!(v["end_date"], "2024-03-31");
        assert_eq!(doc.keys().int, [Some(3), Some(70_001), Some(7)]);
        let back = SubscriptionDoc::from_value(&doc.to_value()).expect("readable");
        assert_eq!(back, doc);
        let open = SubscriptionDoc::create(&n, 7, &plan(Cycle::Week, 2, 0), date!(2024 - 06 - 01))
            .expect("valid");
        assert_eq!(open.render(1)["end_date"], Value::Null);
    }

    #[test]
    fn cycles_add_calendar_time() {
        let d = date!(2024 - 01 - 31);
        assert_eq!(
            after_cycles(d, Cycle::Month, 1, 1),
            Some(date!(2024 - 02 - 29))
        );
        assert_eq!(
            after_cycles(d, Cycle::Year, 1, 1),
            Some(date!(2025 - 01 - 31))
        );
        assert_eq!(
            after_cycles(d, Cycle::Week, 2, 1),
            Some(date!(2024 - 02 - 14))
        );
        assert_eq!(
            after_cycles(d, Cycle::Day, 1, 366),
            Some(date!(2025 - 01 - 31))
        );
        assert_eq!(after_cycles(d, Cycle::Year, 1, i64::MAX), None);
    }
}
