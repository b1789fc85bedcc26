//! Credit cards on file (`GET|POST /contacts/{id}/creditCards`, `keap/rest-v1.md` §1.2; XML-RPC
//! `ProductService.deactivateCreditCard` and the charges of `InvoiceService.chargeInvoice` and
//! `OrderService.placeOrder`) and keapsake's test gateway.
//!
//! keapsake never keeps a card number: [`NewCard::parse`] checks it (digits only, 12–19 of
//! them, Luhn) and the stored [`CardDoc`] holds its last four digits, the brand, the expiry and
//! the name. The verification code is checked for shape and dropped.
//!
//! **Test gateway.** Like a payment provider's test mode, the number decides the answer of
//! every later charge ([`CardDoc::charge`]): any valid number is approved except the decline
//! numbers of [`DECLINE_NUMBERS`] (`4000000000000002` generic decline, `4000000000009995`
//! insufficient funds, `4000000000000069` expired card). A deactivated card, an expired one, or
//! the card of another contact is refused too.
//!
//! Index layout: `n0` contact id (a contact's cards).

use super::{int64, text};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::Date;

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;

/// Longest name, e-mail address, address line.
pub const MAX_TEXT: usize = 255;

/// Test numbers the gateway declines, with the reason it gives.
pub const DECLINE_NUMBERS: &[(&str, &str)] = &[
    ("4000000000000002", "The card was declined"),
    ("4000000000009995", "The card has insufficient funds"),
    ("4000000000000069", "The card has expired"),
];

/// What a card is allowed to do at the gateway, fixed when it is added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum Outcome {
    /// Charges are approved.
    Approve,
    /// Charges are declined with this reason.
    Decline(String),
}

/// A card as sent to `POST /contacts/{id}/creditCards` (`CreditCard`), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCard {
    /// Last four digits.
    pub last4: String,
    /// Brand (as sent, else detected from the number).
    pub card_type: String,
    /// Expiry month (1–12).
    pub exp_month: u8,
    /// Expiry year (four digits).
    pub exp_year: i32,
    /// Name on the card.
    pub name_on_card: Option<String>,
    /// E-mail address.
    pub email_address: Option<String>,
    /// Billing address as sent (`ContactAddress`).
    pub address: Option<Value>,
    /// What the gateway will answer.
    pub outcome: Outcome,
}

fn present<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

/// Luhn check of a string of ASCII digits.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// The brand of a card number by its prefix.
pub fn brand(digits: &str) -> &'static str {
    let p = |n: usize| {
        digits
            .get(..n)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match () {
        () if digits.starts_with('4') => "Visa",
        () if (51..=55).contains(&p(2)) || (2221..=2720).contains(&p(4)) => "MasterCard",
        () if matches!(p(2), 34 | 37) => "American Express",
        () if p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3)) => "Discover",
        () => "Unknown",
    }
}

fn digits_of(v: &Value, name: &str) -> Result<String, String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(format!("{name} must be a string of digits")),
    };
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} must be a string of digits"));
    }
    Ok(digits)
}

/// The members of a `ContactAddress` besides `field`.
const ADDRESS_MEMBERS: &[&str] = &[
    "line1",
    "line2",
    "locality",
    "region",
    "postal_code",
    "zip_code",
    "zip_four",
    "country_code",
];

/// A card's billing address (`ContactAddress`) as it is kept and echoed: `field` one of
/// `BILLING` (the default), `SHIPPING`, `OTHER` (any ASCII case), the other members as text
/// (numbers, as some clients send zip codes, become strings), empty ones and unknown ones left
/// out. Echoing the body as sent would answer numbers, unknown enum values or no `field` where
/// Keap's `CreditCardAdded` promises strings and a required `field`.
fn billing_address(a: &Map<String, Value>) -> Result<Value, String> {
    let field = match present(a, "field") {
        None => "BILLING".to_owned(),
        Some(Value::String(f)) => ["BILLING", "SHIPPING", "OTHER"]
            .into_iter()
            .find(|x| f.trim().eq_ignore_ascii_case(x))
            .ok_or("address.field must be one of BILLING, SHIPPING, OTHER")?
            .to_owned(),
        Some(_) => return Err("address.field must be one of BILLING, SHIPPING, OTHER".to_owned()),
    };
    let mut out = Map::new();
    out.insert("field".to_owned(), Value::String(field));
    for k in ADDRESS_MEMBERS {
        if let Some(v) = a.get(*k)
            && let Some(t) = text(v, &format!("address.{k}"), MAX_TEXT)?
        {
            out.insert((*k).to_owned(), Value::String(t));
        }
    }
    Ok(Value::Object(out))
}

impl NewCard {
    /// Validates a `CreditCard` body; `today` is the date cards must not have expired by.
    ///
    /// # Errors
    /// A message for the client (never containing the card number).
    pub fn parse(m: &Map<String, Value>, today: Date) -> Result<NewCard, String> {
        let number = digits_of(
            present(m, "card_number").ok_or("card_number is required")?,
            "card_number",
        )?;
        if !(12..=19).contains(&number.len()) {
            return Err("card_number must have 12 to 19 digits".to_owned());
        }
        if !luhn(&number) {
            return Err("card_number is not a valid card number (check digit)".to_owned());
        }
        let exp_month = int64(
            present(m, "expiration_month").ok_or("expiration_month is required")?,
            "expiration_month",
        )?;
        let exp_month = u8::try_from(exp_month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or("expiration_month must be 1 to 12")?;
        let year = int64(
            present(m, "expiration_year").ok_or("expiration_year is required")?,
            "expiration_year",
        )?;
        let exp_year = match year {
            0..=99 => 2000 + year,
            2000..=2199 => year,
            _ => return Err("expiration_year must be a year, e.g. 2030".to_owned()),
        };
        let exp_year = i32::try_from(exp_year).map_err(|_| "expiration_year is out of range")?;
        if (exp_year, exp_month) < (today.year(), u8::from(today.month())) {
            return Err("The card has expired".to_owned());
        }
        if let Some(v) = present(m, "verification_code") {
            let code = digits_of(v, "verification_code")?;
            if !(3..=4).contains(&code.len()) {
                return Err("verification_code must have 3 or 4 digits".to_owned());
            }
        }
        let card_type = match m.get("card_type") {
            None => None,
            Some(v) => text(v, "card_type", 40)?,
        }
        .unwrap_or_else(|| brand(&number).to_owned());
        let address = match present(m, "address") {
            None => None,
            Some(Value::Object(a)) => Some(billing_address(a)?),
            Some(_) => return Err("address must be an object".to_owned()),
        };
        let outcome = DECLINE_NUMBERS
            .iter()
            .find(|(n, _)| *n == number)
            .map_or(Outcome::Approve, |(_, why)| {
                Outcome::Decline((*why).to_owned())
            });
        let last4 = number[number.len() - 4..].to_owned();
        Ok(NewCard {
            last4,
            card_type,
            exp_month,
            exp_year,
            name_on_card: match m.get("name_on_card") {
                None => None,
                Some(v) => text(v, "name_on_card", MAX_TEXT)?,
            },
            email_address: match m.get("email_address") {
                None => None,
                Some(v) => text(v, "email_address", MAX_TEXT)?,
            },
            address,
            outcome,
        })
    }
}

/// Why the gateway refused a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The card cannot be used for this charge (`ERROR`: another contact's, deactivated).
    Error(String),
    /// The issuer said no (`DECLINED`).
    Declined(String),
}

impl Refusal {
    /// Keap's result code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Error(_) => "ERROR",
            Refusal::Declined(_) => "DECLINED",
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Refusal::Error(m) | Refusal::Declined(m) => m,
        }
    }
}

/// A card as stored (the `data` of a [`crate::records::RecordKind::CreditCard`] record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardDoc {
    /// Owner.
    pub contact_id: i64,
    /// Last four digits.
    pub last4: String,
    /// Brand.
    pub card_type: String,
    /// Expiry month.
    pub exp_month: u8,
    /// Expiry year.
    pub exp_year: i32,
    /// Name on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_on_card: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Billing address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Value>,
    /// Usable (false once deactivated).
    pub active: bool,
    /// The test gateway's answer.
    pub outcome: Outcome,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CardDoc {
    /// A new card of `contact_id`.
    pub fn create(contact_id: i64, new: &NewCard) -> CardDoc {
        CardDoc {
            contact_id,
            last4: new.last4.clone(),
            card_type: new.card_type.clone(),
            exp_month: new.exp_month,
            exp_year: new.exp_year,
            name_on_card: new.name_on_card.clone(),
            email_address: new.email_address.clone(),
            address: new.address.clone(),
            active: true,
            outcome: new.outcome.clone(),
            extra: Map::new(),
        }
    }

    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a card (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored credit card is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The indexed keys.
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = Some(self.contact_id);
        keys
    }

    /// The number as shown: the last four digits behind asterisks.
    pub fn masked(&self) -> String {
        format!("************{}", self.last4)
    }

    /// `Valid`, `Inactive` or `Expired` on `today`.
    pub fn status(&self, today: Date) -> &'static str {
        if !self.active {
            "Inactive"
        } else if self.expired(today) {
            "Expired"
        } else {
            "Valid"
        }
    }

    fn expired(&self, today: Date) -> bool {
        (self.exp_year, self.exp_month) < (today.year(), u8::from(today.month()))
    }

    /// Stops the card from being charged again. Returns whether it was active.
    pub fn deactivate(&mut self) -> bool {
        std::mem::replace(&mut self.active, false)
    }

    /// Asks the test gateway to charge this card for `contact_id`'s order on `today`.
    ///
    /// # Errors
    /// The refusal: another contact's card, deactivated, expired, or a decline number.
    pub fn charge(&self, contact_id: i64, today: Date) -> Result<(), Refusal> {
        if self.contact_id != contact_id {
            return Err(Refusal::Error(
                "This credit card does not belong to the order's contact".to_owned(),
            ));
        }
        if !self.active {
            return Err(Refusal::Error(
                "This credit card has been deactivated".to_owned(),
            ));
        }
        if self.expired(today) {
            return Err(Refusal::Declined("The card has expired".to_owned()));
        }
        match &self.outcome {
            Outcome::Approve => Ok(()),
            Outcome::Decline(why) => Err(Refusal::Declined(why.clone())),
        }
    }

    /// `CreditCardAdded` (the 201 of `POST /contacts/{id}/creditCards`).
    pub fn render_added(&self, id: i64, today: Date) -> Value {
        json!({
            "id": id,
            "contact_id": self.contact_id,
            "card_type": self.card_type,
            "expiration_month": format!("{:02}", self.exp_month),
            "expiration_year": self.exp_year.to_string(),
            "name_on_card": self.name_on_card,
            "email_address": self.email_address,
            "address": self.address,
            "maestro_issue_number": Value::Null,
            "maestro_start_date_month": Value::Null,
            "maestro_start_date_year": Value::Null,
            "validation_status": self.status(today),
            "validation_message": Value::Null,
        })
    }

    /// `ContactCreditCard` (an item of `GET /contacts/{id}/creditCards`).
    pub fn render_listed(&self, id: i64, today: Date) -> Value {
        json!({
            "id": id,
            "card_type": self.card_type,
            "card_number": self.masked(),
            "payment_method_id": id.to_string(),
            "validation_status": self.status(today),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 29);

    fn card(number: &str) -> Result<NewCard, String> {
        let v = json!({"card_number": number, "expiration_month": "12", "expiration_year": "2030",
            "verification_code": "123", "name_on_card": "Ada Lovelace"});
        NewCard::parse(v.as_object().unwrap(), TODAY)
    }

    #[test]
    fn numbers_are_checked_and_never_kept() {
        let c = card("4111 1111 1111 1111").unwrap();
        assert_eq!(c.last4, "1111");
        assert_eq!(c.card_type, "Visa");
        assert_eq!(c.outcome, Outcome::Approve);
        let doc = CardDoc::create(7, &c);
        let stored = doc.to_value().to_string();
        assert!(!stored.contains("4111111111111111"), "{stored}");
        assert!(
            !stored.contains("123"),
            "the verification code is dropped: {stored}"
        );
        assert!(
            card("4111111111111112")
                .unwrap_err()
                .contains("check digit")
        );
        assert!(card("41111").unwrap_err().contains("12 to 19"));
        assert!(card("4111-1111-abcd-1111").unwrap_err().contains("digits"));
        let err = card("4111111111111112").unwrap_err();
        assert!(!err.contains("4111111111111112"), "{err}");
    }

    #[test]
    fn brands_by_prefix() {
        assert_eq!(brand("5555555555554444"), "MasterCard");
        assert_eq!(brand("2223003122003222"), "MasterCard");
        assert_eq!(brand("378282246310005"), "American Express");
        assert_eq!(brand("6011111111111117"), "Discover");
        assert_eq!(brand("3056930009020004"), "Unknown");
        for n in ["5555555555554444", "378282246310005", "6011111111111117"] {
            assert!(luhn(n), "{n}");
        }
    }

    #[test]
    fn expiry_is_checked_on_add_and_on_charge() {
        let v = json!({"card_number": "4111111111111111", "expiration_month": 10, "expiration_year": 26});
        let err = NewCard::parse(v.as_object().unwrap(), TODAY).unwrap_err();
        assert_eq!(err, "The card has expired");
        let v = json!({"card_number": "4111111111111111", "expiration_month": 11, "expiration_year": 26});
        let c = NewCard::parse(v.as_object().unwrap(), TODAY).unwrap();
        let doc = CardDoc::create(1, &c);
        assert_eq!(doc.charge(1, TODAY), Ok(()));
        let later = date!(2026 - 12 - 01);
        assert_eq!(doc.status(later), "Expired");
        assert_eq!(doc.charge(1, later).unwrap_err().code(), "DECLINED");
    }

    #[test]
    fn the_gateway_answers_by_number_owner_and_state() {
        let mut ok = CardDoc::create(1, &card("4111111111111111").unwrap());
        assert_eq!(ok.charge(1, TODAY), Ok(()));
        assert_eq!(ok.charge(2, TODAY).unwrap_err().code(), "ERROR");
        assert!(ok.deactivate());
        assert!(!ok.deactivate());
        assert_eq!(ok.status(TODAY), "Inactive");
        assert_eq!(ok.charge(1, TODAY).unwrap_err().code(), "ERROR");
        let no = CardDoc::create(1, &card("4000000000009995").unwrap());
        let r = no.charge(1, TODAY).unwrap_err();
        assert_eq!(
            (r.code(), r.message()),
            ("DECLINED", "The card has insufficient funds")
        );
        for (n, _) in DECLINE_NUMBERS {
            assert!(luhn(n), "{n}");
        }
        let back = CardDoc::from_value(&no.to_value()).unwrap();
        assert_eq!(back, no);
    }

    #[test]
    fn the_billing_address_is_kept_in_keaps_shape() {
        let v = json!({"card_number": "4111111111111111", "expiration_month": "12",
            "expiration_year": "2030", "address": {"line1": " 1 Main St ", "zip_code": 85001,
            "region": "", "extra": {"nested": true}}});
        let c = NewCard::parse(v.as_object().unwrap(), TODAY).unwrap();
        assert_eq!(
            c.address,
            Some(json!({"field": "BILLING", "line1": "1 Main St", "zip_code": "85001"}))
        );
        let v = json!({"card_number": "4111111111111111", "expiration_month": "12",
            "expiration_year": "2030", "address": {"field": "shipping"}});
        let c = NewCard::parse(v.as_object().unwrap(), TODAY).unwrap();
        assert_eq!(c.address, Some(json!({"field": "SHIPPING"})));
        for (address, err) in [
            (
                json!({"field": "HOME"}),
                "address.field must be one of BILLING, SHIPPING, OTHER",
            ),
            (json!({"line1": ["x"]}), "address.line1 must be a string"),
            (json!("1 Main St"), "address must be an object"),
        ] {
            let v = json!({"card_number": "4111111111111111", "expiration_month": "12",
                "expiration_year": "2030", "address": address});
            assert_eq!(
                NewCard::parse(v.as_object().unwrap(), TODAY).unwrap_err(),
                err
            );
        }
    }

    #[test]
    fn listed_shape_masks_the_number() {
        let doc = CardDoc::create(3, &card("5555555555554444").unwrap());
        let v = doc.render_listed(9, TODAY);
        assert_eq!(v["card_number"], "************4444");
        assert_eq!(v["validation_status"], "Valid");
        assert_eq!(v["card_type"], "MasterCard");
        let a = doc.render_added(9, TODAY);
        assert_eq!(a["expiration_month"], "12");
        assert_eq!(a["contact_id"], 3);
    }
}
