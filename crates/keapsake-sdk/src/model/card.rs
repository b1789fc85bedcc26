//! Credit cards on file (`GET`/`POST /contacts/{id}/creditCards`, `keap/rest-v1.md` §1.2).
//!
//! A card number goes out once, in [`NewCreditCard`], and never comes back: the add answers
//! [`CreditCardAdded`] (no number) and the list [`ContactCreditCard`]s with the number masked to
//! its last four digits. `NewCreditCard`'s `Debug` redacts the number and the verification code,
//! so logging a request body does not log them.

use serde::{Deserialize, Serialize};

use super::Address;
use crate::ids::{ContactId, CreditCardId};

/// A card to put on file (`CreditCard`). Expiry members are sent as strings, as Keap's spec
/// types them.
///
/// ```
/// use keapsake_sdk::model::NewCreditCard;
/// let card = NewCreditCard::new("4111111111111111", 12, 2030)
///     .verification_code("123")
///     .name_on_card("Ada Lovelace");
/// assert_eq!(
///     serde_json::to_value(&card).unwrap(),
///     serde_json::json!({"card_number": "4111111111111111", "expiration_month": "12",
///         "expiration_year": "2030", "verification_code": "123", "name_on_card": "Ada Lovelace"})
/// );
/// assert!(!format!("{card:?}").contains("4111111111111111"));
/// assert!(!format!("{card:?}").contains("123"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct NewCreditCard {
    /// The full number (digits; spaces and dashes are accepted by Keap and keapsake).
    pub card_number: String,
    /// Expiry month, `1`–`12`.
    pub expiration_month: String,
    /// Expiry year, four digits.
    pub expiration_year: String,
    /// CVV/CVC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    /// Brand (`Visa`…); keapsake detects it from the number when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    /// Name on the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_on_card: Option<String>,
    /// E-mail address of the card holder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Billing address (`field` `BILLING` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// `RECURRING_CONSENT`, `IMPLICIT_CONSENT`, `EXPLICIT_CONSENT` or `NO_CONSENT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_type: Option<String>,
}

impl std::fmt::Debug for NewCreditCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCreditCard")
            .field("card_number", &"[redacted]")
            .field("expiration_month", &self.expiration_month)
            .field("expiration_year", &self.expiration_year)
            .field(
                "verification_code",
                &self.verification_code.as_ref().map(|_| "[redacted]"),
            )
            .field("card_type", &self.card_type)
            .field("name_on_card", &self.name_on_card)
            .field("email_address", &self.email_address)
            .field("address", &self.address)
            .field("consent_type", &self.consent_type)
            .finish()
    }
}

impl NewCreditCard {
    /// A card number valid until the end of `month`/`year`.
    pub fn new(card_number: impl Into<String>, month: u8, year: u16) -> Self {
        NewCreditCard {
            card_number: card_number.into(),
            expiration_month: month.to_string(),
            expiration_year: year.to_string(),
            verification_code: None,
            card_type: None,
            name_on_card: None,
            email_address: None,
            address: None,
            consent_type: None,
        }
    }

    /// The verification code (3 or 4 digits).
    pub fn verification_code(mut self, code: impl Into<String>) -> Self {
        self.verification_code = Some(code.into());
        self
    }

    /// The name on the card.
    pub fn name_on_card(mut self, name: impl Into<String>) -> Self {
        self.name_on_card = Some(name.into());
        self
    }

    /// The card holder's e-mail address.
    pub fn email_address(mut self, email: impl Into<String>) -> Self {
        self.email_address = Some(email.into());
        self
    }

    /// The billing address.
    pub fn address(mut self, address: Address) -> Self {
        self.address = Some(address);
        self
    }
}

/// The answer of `POST /contacts/{id}/creditCards` (`CreditCardAdded`): everything but the
/// number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditCardAdded {
    /// The card's id (use it as a payment's `credit_card_id`).
    pub id: CreditCardId,
    /// The contact.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// Brand.
    #[serde(default)]
    pub card_type: Option<String>,
    /// Expiry month, two digits (`"07"`).
    #[serde(default)]
    pub expiration_month: Option<String>,
    /// Expiry year (`"2030"`).
    #[serde(default)]
    pub expiration_year: Option<String>,
    /// Name on the card.
    #[serde(default)]
    pub name_on_card: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email_address: Option<String>,
    /// Billing address.
    #[serde(default)]
    pub address: Option<Address>,
    /// `Valid`, `Expired`, `Inactive`…
    #[serde(default)]
    pub validation_status: Option<String>,
    /// Why it is not valid, if Keap says.
    #[serde(default)]
    pub validation_message: Option<String>,
}

/// A card of a contact (`GET /contacts/{id}/creditCards`, `ContactCreditCard`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCreditCard {
    /// The card's id.
    pub id: CreditCardId,
    /// Brand.
    #[serde(default)]
    pub card_type: Option<String>,
    /// The number, masked: `************1111`.
    #[serde(default)]
    pub card_number: Option<String>,
    /// The payment method id (the card id as text in keapsake).
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// `Valid`, `Expired`, `Inactive`…
    #[serde(default)]
    pub validation_status: Option<String>,
}
