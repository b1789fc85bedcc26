//! Typed ids, so a tag id cannot be passed where a contact id is expected.
//!
//! Keap ids are JSON integers (int64, `keap/rest-v1.md` §0.1); each newtype (de)serialises as the
//! bare integer and converts from and to `i64`.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// The id of a contact.
    ContactId
);
id_type!(
    /// The id of a tag.
    TagId
);
id_type!(
    /// The id of a tag category.
    TagCategoryId
);
id_type!(
    /// The id of a user of the account (e.g. a contact's `owner_id`).
    UserId
);
id_type!(
    /// The id of a company.
    CompanyId
);
id_type!(
    /// The id of a custom field.
    CustomFieldId
);
id_type!(
    /// The id of a note.
    NoteId
);
id_type!(
    /// The id of a task.
    TaskId
);
id_type!(
    /// The id of an opportunity.
    OpportunityId
);
id_type!(
    /// The id of a stage of the opportunity pipeline.
    StageId
);
id_type!(
    /// The id of a merchant account (payment gateway).
    MerchantId
);
id_type!(
    /// The id of an e-mail record (`/emails`).
    EmailId
);
id_type!(
    /// The id of a product.
    ProductId
);
id_type!(
    /// The id of a product's subscription plan.
    SubscriptionPlanId
);
id_type!(
    /// The id of an order (Keap's invoice).
    OrderId
);
id_type!(
    /// The id of an item of an order.
    OrderItemId
);
id_type!(
    /// The id of a payment of an order (also its transaction id in keapsake).
    PaymentId
);
id_type!(
    /// The id of a transaction (`/transactions`).
    TransactionId
);
id_type!(
    /// The id of a contact's subscription (`/subscriptions`).
    SubscriptionId
);
id_type!(
    /// The id of a credit card on file (`/contacts/{id}/creditCards`; a payment's
    /// `credit_card_id`).
    CreditCardId
);
