//! REST hook subscriptions (`keap/rest-v1.md` §10.1). The delivery payload a receiver gets is
//! in [`crate::hooks`].

use serde::{Deserialize, Deserializer, Serialize};

/// The opaque key of a hook subscription (`key`): a string, not an integer id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HookKey(pub String);

impl HookKey {
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl From<String> for HookKey {
    fn from(s: String) -> Self {
        HookKey(s)
    }
}

impl From<&str> for HookKey {
    fn from(s: &str) -> Self {
        HookKey(s.to_owned())
    }
}

impl From<&HookKey> for HookKey {
    fn from(k: &HookKey) -> Self {
        k.clone()
    }
}

/// An event key such as `contact.add` (`GET /hooks/event_keys` lists them). A string, because
/// Keap's list is open; the constants name the common ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventKey(pub String);

impl EventKey {
    /// `contact.add`.
    pub const CONTACT_ADD: &'static str = "contact.add";
    /// `contact.edit`.
    pub const CONTACT_EDIT: &'static str = "contact.edit";
    /// `contact.delete`.
    pub const CONTACT_DELETE: &'static str = "contact.delete";
    /// `contactGroup.applied` (a tag applied to contacts).
    pub const TAG_APPLIED: &'static str = "contactGroup.applied";
    /// `contactGroup.removed` (a tag removed from contacts).
    pub const TAG_REMOVED: &'static str = "contactGroup.removed";
    /// `company.add`.
    pub const COMPANY_ADD: &'static str = "company.add";
    /// `note.add`.
    pub const NOTE_ADD: &'static str = "note.add";
    /// `task.add`.
    pub const TASK_ADD: &'static str = "task.add";
    /// `opportunity.add`.
    pub const OPPORTUNITY_ADD: &'static str = "opportunity.add";
    /// `order.add`.
    pub const ORDER_ADD: &'static str = "order.add";
    /// `invoice.payment.add`.
    pub const INVOICE_PAYMENT_ADD: &'static str = "invoice.payment.add";
    /// `product.add`.
    pub const PRODUCT_ADD: &'static str = "product.add";

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object type of the event: the key up to its first `.` (`contact`, `contactGroup`…),
    /// as a delivery's `object_type`.
    pub fn object_type(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl From<&str> for EventKey {
    fn from(s: &str) -> Self {
        EventKey(s.to_owned())
    }
}

impl From<String> for EventKey {
    fn from(s: String) -> Self {
        EventKey(s)
    }
}

impl PartialEq<&str> for EventKey {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A subscription's status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HookStatus {
    /// Created but not confirmed by the receiver: nothing is delivered.
    Unverified,
    /// Confirmed: events are delivered.
    Verified,
    /// Turned off after a 410 or repeated failures; [`verify`](crate::resources::Hooks::verify)
    /// reactivates it.
    Inactive,
    /// A value this SDK does not know, kept as sent.
    Unknown(String),
}

impl HookStatus {
    /// Keap's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            HookStatus::Unverified => "Unverified",
            HookStatus::Verified => "Verified",
            HookStatus::Inactive => "Inactive",
            HookStatus::Unknown(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for HookStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Unverified" => HookStatus::Unverified,
            "Verified" => HookStatus::Verified,
            "Inactive" => HookStatus::Inactive,
            _ => HookStatus::Unknown(s),
        })
    }
}

impl Serialize for HookStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A hook subscription (camelCase on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSubscription {
    /// The subscription's key.
    pub key: HookKey,
    /// The event listened for.
    #[serde(rename = "eventKey")]
    pub event_key: EventKey,
    /// Where deliveries go.
    #[serde(rename = "hookUrl")]
    pub hook_url: String,
    /// Whether deliveries flow.
    pub status: HookStatus,
}

/// The body of `POST /hooks` and `PUT /hooks/{key}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct HookInput {
    #[serde(rename = "eventKey")]
    pub event_key: EventKey,
    #[serde(rename = "hookUrl")]
    pub hook_url: String,
}
