//! Contacts (`keap/rest-v1.md` §1): the stored document ([`ContactDoc`]), what a client may send
//! ([`ContactBody`] → [`ContactChanges`]), how a change is applied (create, `PATCH` merge by
//! slot, upsert), the opt-in rule, the indexed keys, and the v1 response shape.
//!
//! Index layout of a contact record (every key folded with [`super::fold`], ASCII only):
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `k0`, `k1`, `k2` | `EMAIL1`, `EMAIL2`, `EMAIL3` | `email=` filter (any slot), upsert match, `order=email` (`k0`) |
//! | `k3` | given name, trimmed (`""` when none) | `given_name=`, `order=firstName`, upsert `EmailAndName` |
//! | `k4` | family name, trimmed (`""` when none) | `family_name=`, upsert `EmailAndName` |
//! | `k5` | family name, U+0001, given name | `order=name` |
//! | `n0` | company id | upsert `EmailAndNameAndCompany` |
//! | `n1` | owner id | |

use super::date;
use super::{Field, LenientI64, check_text, fold, wire_enum};
use crate::records::{Cond, Keys};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use time::{Date, OffsetDateTime};

/// Longest name (given, family, middle, prefix, …), in characters. Names are indexed, and an
/// index entry must stay well under PostgreSQL's B-tree limit.
pub const MAX_NAME: usize = 255;
/// Longest e-mail address (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;
/// Longest other free-text value.
pub const MAX_TEXT: usize = 1024;
/// Most items in `custom_fields` or `social_accounts`.
pub const MAX_ITEMS: usize = 1000;

/// The 400 message when a contact would have neither an e-mail address nor a phone number
/// (Keap's exact text, `keap/rest-v1.md` §1.4).
pub const NEEDS_EMAIL_OR_PHONE: &str = "Contact must contain an e-mail address or phone number";

/// The 400 message when a v2 write would leave a contact without an e-mail address, a phone
/// number and a postal address (`keap/rest-v2.md` §3.2: v2 accepts any one of the three).
pub const NEEDS_EMAIL_PHONE_OR_ADDRESS: &str =
    "Contact must contain an e-mail address, a phone number or an address";

wire_enum!(
    /// E-mail slot.
    EmailField {
        /// `EMAIL1`, the primary address.
        Email1 = "EMAIL1",
        /// `EMAIL2`.
        Email2 = "EMAIL2",
        /// `EMAIL3`.
        Email3 = "EMAIL3",
    }
);

wire_enum!(
    /// Phone slot.
    PhoneField {
        /// `PHONE1`.
        Phone1 = "PHONE1",
        /// `PHONE2`.
        Phone2 = "PHONE2",
        /// `PHONE3`.
        Phone3 = "PHONE3",
        /// `PHONE4`.
        Phone4 = "PHONE4",
        /// `PHONE5`.
        Phone5 = "PHONE5",
    }
);

wire_enum!(
    /// Fax slot.
    FaxField {
        /// `FAX1`.
        Fax1 = "FAX1",
        /// `FAX2`.
        Fax2 = "FAX2",
    }
);

wire_enum!(
    /// Address slot.
    AddressField {
        /// `BILLING`.
        Billing = "BILLING",
        /// `SHIPPING`.
        Shipping = "SHIPPING",
        /// `OTHER`.
        Other = "OTHER",
    }
);

wire_enum!(
    /// How the contact came to be (`source_type`).
    SourceType {
        /// `APPOINTMENT`.
        Appointment = "APPOINTMENT",
        /// `FORMAPIHOSTED`.
        FormApiHosted = "FORMAPIHOSTED",
        /// `FORMAPIINTERNAL`.
        FormApiInternal = "FORMAPIINTERNAL",
        /// `WEBFORM`.
        Webform = "WEBFORM",
        /// `INTERNALFORM`.
        InternalForm = "INTERNALFORM",
        /// `LANDINGPAGE`.
        LandingPage = "LANDINGPAGE",
        /// `IMPORT`.
        Import = "IMPORT",
        /// `MANUAL`.
        Manual = "MANUAL",
        /// `API`.
        Api = "API",
        /// `OTHER`.
        Other = "OTHER",
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
    }
);

wire_enum!(
    /// Social network of a social account.
    SocialType {
        /// Facebook.
        Facebook = "Facebook",
        /// Twitter.
        Twitter = "Twitter",
        /// LinkedIn.
        LinkedIn = "LinkedIn",
        /// Instagram.
        Instagram = "Instagram",
        /// Snapchat.
        Snapchat = "Snapchat",
        /// YouTube.
        YouTube = "YouTube",
        /// Pinterest.
        Pinterest = "Pinterest",
    }
);

wire_enum!(
    /// Marketing status of `EMAIL1` (`email_status`).
    EmailStatus {
        /// Opted in, never engaged.
        UnengagedMarketable = "UnengagedMarketable",
        /// Opted in once, unconfirmed.
        SingleOptIn = "SingleOptIn",
        /// Opted in twice.
        DoubleOptin = "DoubleOptin",
        /// Confirmed.
        Confirmed = "Confirmed",
        /// Not marketable, never engaged.
        UnengagedNonMarketable = "UnengagedNonMarketable",
        /// No consent (the status of an address added without `opt_in_reason`).
        NonMarketable = "NonMarketable",
        /// Locked down.
        Lockdown = "Lockdown",
        /// Soft bounce.
        Bounce = "Bounce",
        /// Hard bounce.
        HardBounce = "HardBounce",
        /// Opted out manually.
        Manual = "Manual",
        /// Opted out by an admin.
        Admin = "Admin",
        /// Opted out by the system.
        System = "System",
        /// Unsubscribed through List-Unsubscribe.
        ListUnsubscribe = "ListUnsubscribe",
        /// Complained (feedback loop).
        Feedback = "Feedback",
        /// Reported as spam.
        Spam = "Spam",
        /// Invalid address.
        Invalid = "Invalid",
        /// Deactivated.
        Deactivated = "Deactivated",
    }
);

impl EmailStatus {
    /// Whether e-mail marketing may be sent (`email_opted_in`).
    pub fn is_opted_in(self) -> bool {
        matches!(
            self,
            Self::UnengagedMarketable | Self::SingleOptIn | Self::DoubleOptin | Self::Confirmed
        )
    }

    /// Whether `opt_in_reason` may move this status to opted in (`keap/rest-v1.md` §1.6):
    /// only the unengaged and non-marketable states and a manual opt-out; bounces, spam
    /// complaints, lockdowns and the like stay.
    pub fn can_opt_in(self) -> bool {
        matches!(
            self,
            Self::UnengagedMarketable
                | Self::UnengagedNonMarketable
                | Self::NonMarketable
                | Self::Manual
        )
    }
}

wire_enum!(
    /// How `PUT /contacts` finds the contact to update (`keap/rest-v1.md` §1.5).
    DuplicateOption {
        /// Same e-mail address (any slot).
        Email = "Email",
        /// Same e-mail address and same given and family name.
        EmailAndName = "EmailAndName",
        /// Same e-mail, names and company (v2/XML-RPC option, accepted on v1 too).
        EmailAndNameAndCompany = "EmailAndNameAndCompany",
    }
);

// ---------------------------------------------------------------------------------------------
// The stored document
// ---------------------------------------------------------------------------------------------

/// An e-mail address in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailEntry {
    /// The address as sent (trimmed).
    pub email: String,
    /// The slot.
    pub field: EmailField,
}

/// A phone number in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneEntry {
    /// The number as entered.
    pub number: String,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Free-text type (`Work`, `MOBILE`, …).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The slot.
    pub field: PhoneField,
}

/// A fax number in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaxEntry {
    /// The number.
    pub number: String,
    /// Free-text type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The slot.
    pub field: FaxField,
}

/// A postal address in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressEntry {
    /// The slot.
    pub field: AddressField,
    /// Street, first line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Street, second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code (non-US).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ZIP code (US).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    /// ZIP+4 extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_four: Option<String>,
    /// ISO 3166-1 alpha-3, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// A custom field value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldEntry {
    /// The custom field's id (a [`crate::records::RecordKind::CustomField`] record).
    pub id: i64,
    /// Any JSON value.
    pub content: Value,
}

/// A social network account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialAccountEntry {
    /// Account name or URL.
    pub name: String,
    /// Network.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<SocialType>,
}

/// Where the contact came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginEntry {
    /// When the origin was recorded.
    #[serde(
        default,
        with = "date::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<OffsetDateTime>,
    /// The IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// A contact as stored (the `data` of a [`crate::records::RecordKind::Contact`] record). The
/// id, creation and update times live on the record; applied tags are links. Fields this
/// version does not know are kept as they are ([`ContactDoc::extra`]), so a document written by
/// a newer API survives an edit through an older one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactDoc {
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Middle name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// E-mail addresses, in slot order, at most one per slot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<EmailEntry>,
    /// Phone numbers, in slot order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<PhoneEntry>,
    /// Fax numbers, in slot order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fax_numbers: Vec<FaxEntry>,
    /// Addresses, in slot order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<AddressEntry>,
    /// Company id (a [`crate::records::RecordKind::Company`] record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    /// Owner (a user id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
    /// Birthday.
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub birthday: Option<OffsetDateTime>,
    /// Anniversary.
    #[serde(with = "date::opt_date", skip_serializing_if = "Option::is_none")]
    pub anniversary: Option<Date>,
    /// Contact type (`Lead`, `Customer`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_type: Option<String>,
    /// Name prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Name suffix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Preferred name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<String>,
    /// Spouse's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spouse_name: Option<String>,
    /// Website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Locale, e.g. `en_US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_locale: Option<String>,
    /// Source type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<SourceType>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Lead source id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_source_id: Option<i64>,
    /// Custom field values, at most one per id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomFieldEntry>,
    /// Social accounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub social_accounts: Vec<SocialAccountEntry>,
    /// Origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginEntry>,
    /// Marketing status of `EMAIL1` (`None` when there is no `EMAIL1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_status: Option<EmailStatus>,
    /// The last opt-in reason given (write-only on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_reason: Option<String>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ContactDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a contact document (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored contact is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The address in `EMAIL1`.
    pub fn email1(&self) -> Option<&str> {
        self.email_addresses
            .iter()
            .find(|e| e.field == EmailField::Email1)
            .map(|e| e.email.as_str())
    }

    /// `EMAIL1`, else the first address: the contact's e-mail where only one is shown.
    pub fn primary_email(&self) -> Option<&str> {
        self.email1()
            .or_else(|| self.email_addresses.first().map(|e| e.email.as_str()))
    }

    /// The `email_status` to show: the stored one, or `NonMarketable` for an `EMAIL1` that
    /// never had one recorded.
    pub fn effective_email_status(&self) -> Option<EmailStatus> {
        self.email1()
            .map(|_| self.email_status.unwrap_or(EmailStatus::NonMarketable))
    }

    /// A new contact from a create request (`POST /contacts`, or an upsert that matched
    /// nothing). `source_type` defaults to `API`.
    ///
    /// # Errors
    /// [`NEEDS_EMAIL_OR_PHONE`] when the result has neither.
    pub fn create(changes: &ContactChanges, now: OffsetDateTime) -> Result<Self, String> {
        let mut doc = ContactDoc::default();
        doc.apply(changes, now);
        if doc.source_type.is_none() {
            doc.source_type = Some(SourceType::Api);
        }
        if changes.replace_lists {
            doc.validate_v2()?;
        } else {
            doc.validate()?;
        }
        Ok(doc)
    }

    /// Applies a `PATCH` (or a matched upsert) and checks the result.
    ///
    /// # Errors
    /// [`NEEDS_EMAIL_OR_PHONE`] when the change would leave neither; the document is then
    /// partly changed and must be discarded.
    pub fn update(&mut self, changes: &ContactChanges, now: OffsetDateTime) -> Result<(), String> {
        // A contact created over v2 with only an address stays editable over v1 as long as it
        // keeps a way to reach it.
        let address_only = self.email_addresses.is_empty() && self.phone_numbers.is_empty();
        self.apply(changes, now);
        if changes.replace_lists || address_only {
            self.validate_v2()
        } else {
            self.validate()
        }
    }

    /// Applies a change: scalar fields are replaced (`null` clears), slot lists merge by slot
    /// (an entry with an empty value clears its slot, slots not mentioned stay), custom fields
    /// merge by id (`content: null` clears), and the opt-in rule runs last.
    pub fn apply(&mut self, ch: &ContactChanges, now: OffsetDateTime) {
        let old_email1 = self.email1().map(fold);
        ch.given_name.apply_to(&mut self.given_name);
        ch.family_name.apply_to(&mut self.family_name);
        ch.middle_name.apply_to(&mut self.middle_name);
        if let Some(list) = &ch.email_addresses {
            if ch.replace_lists {
                self.email_addresses.clear();
            }
            merge_slots(&mut self.email_addresses, list, |e| e.field);
        }
        if let Some(list) = &ch.phone_numbers {
            if ch.replace_lists {
                self.phone_numbers.clear();
            }
            merge_slots(&mut self.phone_numbers, list, |e| e.field);
        }
        if let Some(list) = &ch.fax_numbers {
            if ch.replace_lists {
                self.fax_numbers.clear();
            }
            merge_slots(&mut self.fax_numbers, list, |e| e.field);
        }
        if let Some(list) = &ch.addresses {
            if ch.replace_lists {
                self.addresses.clear();
            }
            merge_slots(&mut self.addresses, list, |e| e.field);
        }
        ch.company_id.apply_to(&mut self.company_id);
        ch.owner_id.apply_to(&mut self.owner_id);
        ch.birthday.apply_to(&mut self.birthday);
        ch.anniversary.apply_to(&mut self.anniversary);
        ch.contact_type.apply_to(&mut self.contact_type);
        ch.prefix.apply_to(&mut self.prefix);
        ch.suffix.apply_to(&mut self.suffix);
        ch.preferred_name.apply_to(&mut self.preferred_name);
        ch.spouse_name.apply_to(&mut self.spouse_name);
        ch.website.apply_to(&mut self.website);
        ch.time_zone.apply_to(&mut self.time_zone);
        ch.preferred_locale.apply_to(&mut self.preferred_locale);
        ch.source_type.apply_to(&mut self.source_type);
        ch.job_title.apply_to(&mut self.job_title);
        ch.lead_source_id.apply_to(&mut self.lead_source_id);
        if let Some(values) = &ch.custom_fields {
            if ch.replace_lists {
                self.custom_fields.clear();
            }
            for (id, content) in values {
                let pos = self.custom_fields.iter().position(|c| c.id == *id);
                match (pos, content.is_null()) {
                    (Some(i), true) => {
                        self.custom_fields.remove(i);
                    }
                    (Some(i), false) => self.custom_fields[i].content = content.clone(),
                    (None, true) => {}
                    (None, false) => self.custom_fields.push(CustomFieldEntry {
                        id: *id,
                        content: content.clone(),
                    }),
                }
            }
        }
        match &ch.social_accounts {
            Field::Absent => {}
            Field::Null => self.social_accounts.clear(),
            Field::Set(list) => self.social_accounts.clone_from(list),
        }
        if let Some(ip) = &ch.origin_ip {
            let date = self.origin.as_ref().and_then(|o| o.date).or(Some(now));
            self.origin = Some(OriginEntry {
                date,
                ip_address: Some(ip.clone()),
            });
        }

        // A new EMAIL1 address starts without consent; no EMAIL1, no status.
        let new_email1 = self.email1().map(fold);
        if new_email1.is_none() {
            self.email_status = None;
        } else if new_email1 != old_email1 {
            let known = ch
                .address_status
                .as_ref()
                .filter(|(a, _)| Some(a) == new_email1.as_ref())
                .map(|(_, st)| *st);
            self.email_status = Some(known.unwrap_or(EmailStatus::NonMarketable));
        }
        if let Some(reason) = &ch.opt_in_reason
            && self.email1().is_some()
            && self
                .effective_email_status()
                .is_some_and(EmailStatus::can_opt_in)
        {
            self.email_status = Some(EmailStatus::SingleOptIn);
            self.opt_in_reason = Some(reason.clone());
        }
    }

    /// The invariant every stored contact keeps.
    ///
    /// # Errors
    /// [`NEEDS_EMAIL_OR_PHONE`].
    pub fn validate(&self) -> Result<(), String> {
        if self.email_addresses.is_empty() && self.phone_numbers.is_empty() {
            return Err(NEEDS_EMAIL_OR_PHONE.to_owned());
        }
        Ok(())
    }

    /// The REST v2 invariant (`keap/rest-v2.md` §3.2): at least one e-mail address, phone
    /// number or postal address.
    ///
    /// # Errors
    /// [`NEEDS_EMAIL_PHONE_OR_ADDRESS`].
    pub fn validate_v2(&self) -> Result<(), String> {
        if self.email_addresses.is_empty()
            && self.phone_numbers.is_empty()
            && self.addresses.is_empty()
        {
            return Err(NEEDS_EMAIL_PHONE_OR_ADDRESS.to_owned());
        }
        Ok(())
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        for e in &self.email_addresses {
            let i = match e.field {
                EmailField::Email1 => 0,
                EmailField::Email2 => 1,
                EmailField::Email3 => 2,
            };
            keys.text[i] = Some(fold(e.email.trim()));
        }
        let given = name_key(self.given_name.as_deref());
        let family = name_key(self.family_name.as_deref());
        keys.text[5] = Some(format!("{family}\u{1}{given}"));
        keys.text[3] = Some(given);
        keys.text[4] = Some(family);
        keys.int[0] = self.company_id;
        keys.int[1] = self.owner_id;
        keys
    }
}

/// A name as indexed: trimmed and folded, `""` when absent.
pub fn name_key(name: Option<&str>) -> String {
    fold(name.unwrap_or("").trim())
}

/// Text key of each e-mail slot, for the `email=` filter.
pub const EMAIL_KEYS: [usize; 3] = [0, 1, 2];
/// Text key of the folded given name.
pub const GIVEN_NAME_KEY: usize = 3;
/// Text key of the folded family name.
pub const FAMILY_NAME_KEY: usize = 4;
/// Text key of the `order=name` sort key.
pub const NAME_ORDER_KEY: usize = 5;
/// Integer key of the company id.
pub const COMPANY_KEY: usize = 0;
/// Integer key of the owner id.
pub const OWNER_KEY: usize = 1;

fn merge_slots<T: Clone, S: Copy + Ord>(
    list: &mut Vec<T>,
    changes: &[(S, Option<T>)],
    slot: impl Fn(&T) -> S,
) {
    for (s, v) in changes {
        list.retain(|e| slot(e) != *s);
        if let Some(v) = v {
            list.push(v.clone());
        }
    }
    list.sort_by_key(|e| slot(e));
}

// ---------------------------------------------------------------------------------------------
// What a client sends
// ---------------------------------------------------------------------------------------------

/// A string field of a body item that clients sometimes send as a number (phone numbers, zip
/// codes).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(serde::de::Error::custom("expected a string")),
    }
}

/// An `email_addresses` item as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EmailItem {
    /// The address; empty clears the slot.
    pub email: Option<String>,
    /// The slot.
    pub field: Option<String>,
}

/// A `phone_numbers` item as sent (`number_e164` is read-only and ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhoneItem {
    /// The number; empty clears the slot.
    #[serde(deserialize_with = "string_or_number")]
    pub number: Option<String>,
    /// Extension.
    #[serde(deserialize_with = "string_or_number")]
    pub extension: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The slot.
    pub field: Option<String>,
}

/// A `fax_numbers` item as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FaxItem {
    /// The number; empty clears the slot.
    #[serde(deserialize_with = "string_or_number")]
    pub number: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The slot.
    pub field: Option<String>,
}

/// An `addresses` item as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AddressItem {
    /// The slot.
    pub field: Option<String>,
    /// Street, first line.
    pub line1: Option<String>,
    /// Street, second line.
    pub line2: Option<String>,
    /// City.
    pub locality: Option<String>,
    /// State or province.
    pub region: Option<String>,
    /// Postal code.
    #[serde(deserialize_with = "string_or_number")]
    pub postal_code: Option<String>,
    /// ZIP code.
    #[serde(deserialize_with = "string_or_number")]
    pub zip_code: Option<String>,
    /// ZIP+4.
    #[serde(deserialize_with = "string_or_number")]
    pub zip_four: Option<String>,
    /// Country, ISO 3166-1 alpha-3.
    pub country_code: Option<String>,
}

/// `company` as sent: `{"id": N}` (`company_name` from a read is ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompanyItem {
    /// Company id; missing or ≤ 0 clears.
    pub id: Option<LenientI64>,
}

/// A `custom_fields` item as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomFieldItem {
    /// The custom field id (required).
    pub id: Option<LenientI64>,
    /// Any JSON; `null` or missing clears.
    pub content: Value,
}

/// A `social_accounts` item as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SocialItem {
    /// Account name; an empty one drops the item.
    pub name: Option<String>,
    /// Network.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `origin` as sent: only `ip_address` is writable (`date` from a read is ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OriginItem {
    /// IPv4 or IPv6 address.
    pub ip_address: Option<String>,
}

/// A contact body for create, `PATCH` and upsert, as sent. Unknown and read-only fields (`id`,
/// `date_created`, `email_status`, `ScoreValue`, `tag_ids`, …) are ignored, because the PHP SDK
/// saves a model by sending back the whole object it read (`keap/rest-v1.md` §0.1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §1.1)"
)]
pub struct ContactBody {
    pub given_name: Field<String>,
    pub family_name: Field<String>,
    pub middle_name: Field<String>,
    pub email_addresses: Field<Vec<EmailItem>>,
    pub phone_numbers: Field<Vec<PhoneItem>>,
    pub fax_numbers: Field<Vec<FaxItem>>,
    pub addresses: Field<Vec<AddressItem>>,
    pub company: Field<CompanyItem>,
    pub owner_id: Field<LenientI64>,
    pub birthday: Field<String>,
    pub anniversary: Field<String>,
    pub contact_type: Field<String>,
    pub prefix: Field<String>,
    pub suffix: Field<String>,
    pub preferred_name: Field<String>,
    pub spouse_name: Field<String>,
    pub website: Field<String>,
    pub time_zone: Field<String>,
    pub preferred_locale: Field<String>,
    pub source_type: Field<String>,
    pub opt_in_reason: Field<String>,
    pub job_title: Field<String>,
    pub lead_source_id: Field<LenientI64>,
    pub custom_fields: Field<Vec<CustomFieldItem>>,
    pub social_accounts: Field<Vec<SocialItem>>,
    pub origin: Field<OriginItem>,
    pub duplicate_option: Field<String>,
}

/// The field names `update_mask` accepts (the spec's enum, `keap/rest-v1.md` §1.6). `notes` is
/// accepted and has nothing to apply.
pub const UPDATE_MASK_FIELDS: &[&str] = &[
    "addresses",
    "anniversary",
    "birthday",
    "company",
    "contact_type",
    "custom_fields",
    "email_addresses",
    "family_name",
    "fax_numbers",
    "given_name",
    "job_title",
    "lead_source_id",
    "middle_name",
    "notes",
    "opt_in_reason",
    "origin",
    "owner_id",
    "phone_numbers",
    "preferred_locale",
    "preferred_name",
    "prefix",
    "social_accounts",
    "source_type",
    "spouse_name",
    "suffix",
    "time_zone",
    "website",
];

/// Checks `update_mask` names.
///
/// # Errors
/// The first name outside [`UPDATE_MASK_FIELDS`].
pub fn parse_update_mask<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for n in names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        if !UPDATE_MASK_FIELDS.contains(&n) {
            return Err(format!(
                "Invalid update_mask field {n:?}; expected any of {}",
                UPDATE_MASK_FIELDS.join(", ")
            ));
        }
        out.push(n.to_owned());
    }
    Ok(out)
}

/// A validated change to a contact: what [`ContactDoc::apply`] consumes. Slot lists are
/// `(slot, Some(entry))` to set and `(slot, None)` to clear; `None` for a list means "not sent".
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §1.1)"
)]
pub struct ContactChanges {
    pub given_name: Field<String>,
    pub family_name: Field<String>,
    pub middle_name: Field<String>,
    pub email_addresses: Option<Vec<(EmailField, Option<EmailEntry>)>>,
    pub phone_numbers: Option<Vec<(PhoneField, Option<PhoneEntry>)>>,
    pub fax_numbers: Option<Vec<(FaxField, Option<FaxEntry>)>>,
    pub addresses: Option<Vec<(AddressField, Option<AddressEntry>)>>,
    pub company_id: Field<i64>,
    pub owner_id: Field<i64>,
    pub birthday: Field<OffsetDateTime>,
    pub anniversary: Field<Date>,
    pub contact_type: Field<String>,
    pub prefix: Field<String>,
    pub suffix: Field<String>,
    pub preferred_name: Field<String>,
    pub spouse_name: Field<String>,
    pub website: Field<String>,
    pub time_zone: Field<String>,
    pub preferred_locale: Field<String>,
    pub source_type: Field<SourceType>,
    /// A non-empty reason: opt `EMAIL1` in (see [`EmailStatus::can_opt_in`]).
    pub opt_in_reason: Option<String>,
    pub job_title: Field<String>,
    pub lead_source_id: Field<i64>,
    /// `(custom field id, content)`; `Value::Null` clears.
    pub custom_fields: Option<Vec<(i64, Value)>>,
    pub social_accounts: Field<Vec<SocialAccountEntry>>,
    /// A new `origin.ip_address`.
    pub origin_ip: Option<String>,
    /// The status the account already holds for an address (folded), from
    /// `PUT /emailAddresses/{email}`: a contact whose `EMAIL1` becomes that address starts in it
    /// instead of `NonMarketable` (so an opted-out address stays opted out on a new contact).
    pub address_status: Option<(String, EmailStatus)>,
    /// REST v2 semantics (`keap/rest-v2.md` §1): a list that is sent replaces the stored list
    /// wholesale (items not sent are removed; `[]` clears) instead of merging by slot or id.
    pub replace_lists: bool,
}

impl ContactBody {
    /// The `duplicate_option` of an upsert: `None` when absent, `null` or empty.
    ///
    /// # Errors
    /// An unknown option.
    pub fn duplicate_option(&self) -> Result<Option<DuplicateOption>, String> {
        match self.duplicate_option.value().map(|s| s.trim()) {
            None | Some("") => Ok(None),
            Some(s) => DuplicateOption::parse(s).map(Some).ok_or_else(|| {
                format!("Invalid duplicate_option {s:?}; expected Email, EmailAndName or EmailAndNameAndCompany")
            }),
        }
    }

    /// Validates the body. With `mask`, only the named fields are kept (`update_mask`).
    ///
    /// # Errors
    /// A message for the first invalid field (400).
    pub fn into_changes(self, mask: Option<&[String]>) -> Result<ContactChanges, String> {
        let keep = |name: &str| mask.is_none_or(|m| m.iter().any(|f| f == name));
        let b = self;
        let mut ch = ContactChanges::default();
        if keep("given_name") {
            ch.given_name = text(b.given_name, "given_name", MAX_NAME)?;
        }
        if keep("family_name") {
            ch.family_name = text(b.family_name, "family_name", MAX_NAME)?;
        }
        if keep("middle_name") {
            ch.middle_name = text(b.middle_name, "middle_name", MAX_NAME)?;
        }
        if keep("email_addresses")
            && let Field::Set(items) = b.email_addresses
        {
            ch.email_addresses = Some(emails(items)?);
        }
        if keep("phone_numbers")
            && let Field::Set(items) = b.phone_numbers
        {
            ch.phone_numbers = Some(phones(items)?);
        }
        if keep("fax_numbers")
            && let Field::Set(items) = b.fax_numbers
        {
            ch.fax_numbers = Some(faxes(items)?);
        }
        if keep("addresses")
            && let Field::Set(items) = b.addresses
        {
            ch.addresses = Some(addresses(items)?);
        }
        if keep("company") {
            ch.company_id = match b.company {
                Field::Absent => Field::Absent,
                Field::Null => Field::Null,
                Field::Set(c) => positive(c.id.map(|i| i.0)),
            };
        }
        if keep("owner_id") {
            ch.owner_id = id_field(b.owner_id);
        }
        if keep("lead_source_id") {
            ch.lead_source_id = id_field(b.lead_source_id);
        }
        if keep("birthday") {
            ch.birthday = nonempty(b.birthday).try_map(|s| {
                date::parse_datetime(&s).map_err(|_| {
                    "birthday must be a date-time, e.g. 2024-11-07T20:35:13.000+0000".to_owned()
                })
            })?;
        }
        if keep("anniversary") {
            ch.anniversary = nonempty(b.anniversary).try_map(|s| {
                date::parse_date(&s)
                    .map_err(|_| "anniversary must be a date, e.g. 2024-11-07".to_owned())
            })?;
        }
        if keep("contact_type") {
            ch.contact_type = text(b.contact_type, "contact_type", MAX_NAME)?;
        }
        if keep("prefix") {
            ch.prefix = text(b.prefix, "prefix", MAX_NAME)?;
        }
        if keep("suffix") {
            ch.suffix = text(b.suffix, "suffix", MAX_NAME)?;
        }
        if keep("preferred_name") {
            ch.preferred_name = text(b.preferred_name, "preferred_name", MAX_NAME)?;
        }
        if keep("spouse_name") {
            ch.spouse_name = text(b.spouse_name, "spouse_name", MAX_NAME)?;
        }
        if keep("website") {
            ch.website = text(b.website, "website", MAX_TEXT)?;
        }
        if keep("job_title") {
            ch.job_title = text(b.job_title, "job_title", MAX_NAME)?;
        }
        if keep("time_zone") {
            ch.time_zone = nonempty(text(b.time_zone, "time_zone", 64)?).try_map(|tz| {
                if tz
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'+'))
                {
                    Ok(tz)
                } else {
                    Err("time_zone must be an IANA time zone, e.g. America/New_York".to_owned())
                }
            })?;
        }
        if keep("preferred_locale") {
            ch.preferred_locale = nonempty(text(b.preferred_locale, "preferred_locale", 35)?)
                .try_map(|l| {
                    if l.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                    {
                        Ok(l)
                    } else {
                        Err("preferred_locale must be a locale, e.g. en_US".to_owned())
                    }
                })?;
        }
        if keep("source_type") {
            ch.source_type = nonempty(b.source_type).try_map(|s| {
                SourceType::parse(&s).ok_or_else(|| {
                    format!(
                        "Invalid source_type {s:?}; expected one of {}",
                        names(SourceType::ALL, SourceType::as_str)
                    )
                })
            })?;
        }
        if keep("opt_in_reason")
            && let Field::Set(r) = b.opt_in_reason
        {
            let r = r.trim();
            check_text("opt_in_reason", r, MAX_TEXT)?;
            if !r.is_empty() {
                ch.opt_in_reason = Some(r.to_owned());
            }
        }
        if keep("custom_fields")
            && let Field::Set(items) = b.custom_fields
        {
            if items.len() > MAX_ITEMS {
                return Err(format!("custom_fields takes at most {MAX_ITEMS} values"));
            }
            let mut out: Vec<(i64, Value)> = Vec::new();
            for item in items {
                let id = item
                    .id
                    .ok_or_else(|| "custom_fields[].id is required".to_owned())?
                    .0;
                out.retain(|(i, _)| *i != id);
                out.push((id, item.content));
            }
            ch.custom_fields = Some(out);
        }
        if keep("social_accounts") {
            // Like the slot lists, a `null` list is "not sent" (a read-back of an empty list).
            ch.social_accounts = match b.social_accounts {
                Field::Absent | Field::Null => Field::Absent,
                Field::Set(items) => Field::Set(socials(items)?),
            };
        }
        if keep("origin")
            && let Field::Set(o) = b.origin
            && let Some(ip) = o
                .ip_address
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err("origin.ip_address must be an IPv4 or IPv6 address".to_owned());
            }
            ch.origin_ip = Some(ip);
        }
        Ok(ch)
    }
}

impl ContactChanges {
    /// Every company id the change refers to (for an existence check before storing).
    pub fn company(&self) -> Option<i64> {
        self.company_id.value().copied()
    }

    /// Every custom field id the change sets (for an existence check before storing).
    pub fn custom_field_ids(&self) -> Vec<i64> {
        self.custom_fields
            .iter()
            .flatten()
            .map(|(id, _)| *id)
            .collect()
    }

    /// The `EMAIL1` address this change sets, if any.
    pub fn email1(&self) -> Option<&str> {
        self.email_addresses
            .as_ref()?
            .iter()
            .find_map(|(f, e)| (*f == EmailField::Email1).then_some(e.as_ref()?.email.as_str()))
    }

    /// The e-mail an upsert matches on: the `EMAIL1` sent, else the first address sent.
    pub fn match_email(&self) -> Option<&str> {
        let list = self.email_addresses.as_ref()?;
        let set = |want: Option<EmailField>| {
            list.iter().find_map(|(f, e)| {
                let e = e.as_ref()?;
                (want.is_none_or(|w| w == *f)).then_some(e.email.as_str())
            })
        };
        set(Some(EmailField::Email1)).or_else(|| set(None))
    }

    /// How `PUT /contacts` finds the contact to update: the lock key serialising upserts of one
    /// address, and the conditions a match must meet (`keap/rest-v1.md` §1.5). `None` when
    /// nothing can match (no e-mail sent), so the upsert creates.
    pub fn upsert_match(&self, option: DuplicateOption) -> Option<UpsertMatch> {
        let email = fold(self.match_email()?.trim());
        let mut conds = vec![Cond::AnyTextEq(EMAIL_KEYS.to_vec(), email.clone())];
        if matches!(
            option,
            DuplicateOption::EmailAndName | DuplicateOption::EmailAndNameAndCompany
        ) {
            conds.push(Cond::TextEq(
                GIVEN_NAME_KEY,
                name_key(self.given_name.value().map(String::as_str)),
            ));
            conds.push(Cond::TextEq(
                FAMILY_NAME_KEY,
                name_key(self.family_name.value().map(String::as_str)),
            ));
        }
        if option == DuplicateOption::EmailAndNameAndCompany {
            conds.push(match self.company_id.value() {
                Some(id) => Cond::IntEq(COMPANY_KEY, *id),
                None => Cond::IntIsNull(COMPANY_KEY),
            });
        }
        Some(UpsertMatch {
            lock_key: format!("contact-email:{email}"),
            conds,
        })
    }
}

/// What an upsert matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertMatch {
    /// Serialises concurrent upserts of one e-mail address.
    pub lock_key: String,
    /// Conditions of a match (the oldest match wins).
    pub conds: Vec<Cond>,
}

/// `A, B, C` for messages.
fn names<T: Copy>(all: &[T], wire: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|v| wire(*v)).collect::<Vec<_>>().join(", ")
}

/// A free-text field: trimmed, checked, `null` kept as clear.
fn text(f: Field<String>, name: &str, max: usize) -> Result<Field<String>, String> {
    f.try_map(|s| {
        let s = s.trim().to_owned();
        check_text(name, &s, max)?;
        Ok(s)
    })
}

/// An empty string means "clear".
fn nonempty(f: Field<String>) -> Field<String> {
    match f {
        Field::Set(s) if s.trim().is_empty() => Field::Null,
        other => other,
    }
}

/// An id reference: ≤ 0 (Keap's "none") clears.
fn positive(id: Option<i64>) -> Field<i64> {
    match id {
        Some(i) if i > 0 => Field::Set(i),
        _ => Field::Null,
    }
}

fn id_field(f: Field<LenientI64>) -> Field<i64> {
    match f {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(i) => positive(Some(i.0)),
    }
}

fn opt_text(v: Option<String>, name: &str, max: usize) -> Result<Option<String>, String> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            check_text(name, &s, max)?;
            Ok(Some(s))
        }
    }
}

/// Assigns slots: explicit ones must be valid and unique; items without `field` take the
/// lowest slot not named in the list.
fn assign_slots<S: Copy + Eq>(
    list: &str,
    all: &[S],
    explicit: Vec<Option<String>>,
    parse: impl Fn(&str) -> Option<S>,
    wire: impl Fn(S) -> &'static str,
) -> Result<Vec<S>, String> {
    let mut named: Vec<Option<S>> = Vec::with_capacity(explicit.len());
    for f in explicit {
        match f.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => named.push(None),
            Some(s) => {
                let slot = parse(s).ok_or_else(|| {
                    let all: Vec<&str> = all.iter().map(|s| wire(*s)).collect();
                    format!(
                        "Invalid {list} field {s:?}; expected one of {}",
                        all.join(", ")
                    )
                })?;
                if named.contains(&Some(slot)) {
                    return Err(format!(
                        "{list}: field {} appears more than once",
                        wire(slot)
                    ));
                }
                named.push(Some(slot));
            }
        }
    }
    let free_slots: Vec<S> = all
        .iter()
        .copied()
        .filter(|s| !named.contains(&Some(*s)))
        .collect();
    let mut free = free_slots.into_iter();
    named
        .into_iter()
        .map(|n| match n {
            Some(s) => Ok(s),
            None => free
                .next()
                .ok_or_else(|| format!("{list}: at most {} entries", all.len())),
        })
        .collect()
}

/// Sanity check of an e-mail address: one `@`, a non-empty local part of at most 64
/// characters, a dotted domain without empty labels, no whitespace or control characters.
pub fn is_valid_email(e: &str) -> bool {
    if e.chars().count() > MAX_EMAIL || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.chars().count() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

fn emails(items: Vec<EmailItem>) -> Result<Vec<(EmailField, Option<EmailEntry>)>, String> {
    let slots = assign_slots(
        "email_addresses",
        EmailField::ALL,
        items.iter().map(|i| i.field.clone()).collect(),
        EmailField::parse,
        EmailField::as_str,
    )?;
    items
        .into_iter()
        .zip(slots)
        .map(|(item, field)| {
            let email = item.email.map(|s| s.trim().to_owned()).unwrap_or_default();
            if email.is_empty() {
                return Ok((field, None));
            }
            if !is_valid_email(&email) {
                return Err(format!(
                    "email_addresses: {} is not a valid e-mail address",
                    field.as_str()
                ));
            }
            Ok((field, Some(EmailEntry { email, field })))
        })
        .collect()
}

fn phones(items: Vec<PhoneItem>) -> Result<Vec<(PhoneField, Option<PhoneEntry>)>, String> {
    let slots = assign_slots(
        "phone_numbers",
        PhoneField::ALL,
        items.iter().map(|i| i.field.clone()).collect(),
        PhoneField::parse,
        PhoneField::as_str,
    )?;
    items
        .into_iter()
        .zip(slots)
        .map(|(item, field)| {
            let Some(number) = opt_text(item.number, "phone_numbers.number", MAX_NAME)? else {
                return Ok((field, None));
            };
            Ok((
                field,
                Some(PhoneEntry {
                    number,
                    extension: opt_text(item.extension, "phone_numbers.extension", MAX_NAME)?,
                    kind: opt_text(item.kind, "phone_numbers.type", MAX_NAME)?,
                    field,
                }),
            ))
        })
        .collect()
}

fn faxes(items: Vec<FaxItem>) -> Result<Vec<(FaxField, Option<FaxEntry>)>, String> {
    let slots = assign_slots(
        "fax_numbers",
        FaxField::ALL,
        items.iter().map(|i| i.field.clone()).collect(),
        FaxField::parse,
        FaxField::as_str,
    )?;
    items
        .into_iter()
        .zip(slots)
        .map(|(item, field)| {
            let Some(number) = opt_text(item.number, "fax_numbers.number", MAX_NAME)? else {
                return Ok((field, None));
            };
            Ok((
                field,
                Some(FaxEntry {
                    number,
                    kind: opt_text(item.kind, "fax_numbers.type", MAX_NAME)?,
                    field,
                }),
            ))
        })
        .collect()
}

fn addresses(items: Vec<AddressItem>) -> Result<Vec<(AddressField, Option<AddressEntry>)>, String> {
    let slots = assign_slots(
        "addresses",
        AddressField::ALL,
        items.iter().map(|i| i.field.clone()).collect(),
        AddressField::parse,
        AddressField::as_str,
    )?;
    items
        .into_iter()
        .zip(slots)
        .map(|(item, field)| {
            let t = |v: Option<String>, name: &str| opt_text(v, name, MAX_TEXT);
            let mut a = AddressEntry {
                field,
                line1: t(item.line1, "addresses.line1")?,
                line2: t(item.line2, "addresses.line2")?,
                locality: t(item.locality, "addresses.locality")?,
                region: t(item.region, "addresses.region")?,
                postal_code: t(item.postal_code, "addresses.postal_code")?,
                zip_code: t(item.zip_code, "addresses.zip_code")?,
                zip_four: t(item.zip_four, "addresses.zip_four")?,
                country_code: t(item.country_code, "addresses.country_code")?,
            };
            // zip_four only supplements zip_code (the spec: "otherwise will be ignored").
            if a.zip_code.is_none() {
                a.zip_four = None;
            }
            let empty = [
                &a.line1,
                &a.line2,
                &a.locality,
                &a.region,
                &a.postal_code,
                &a.zip_code,
                &a.country_code,
            ]
            .iter()
            .all(|v| v.is_none());
            if empty {
                return Ok((field, None));
            }
            if let Some(cc) = a.country_code.as_mut() {
                if cc.len() != 3 || !cc.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(
                        "addresses.country_code must be an ISO 3166-1 alpha-3 code, e.g. USA"
                            .to_owned(),
                    );
                }
                cc.make_ascii_uppercase();
            }
            if a.region.is_some() && a.country_code.is_none() {
                return Err("addresses.country_code is required when region is set".to_owned());
            }
            Ok((field, Some(a)))
        })
        .collect()
}

fn socials(items: Vec<SocialItem>) -> Result<Vec<SocialAccountEntry>, String> {
    if items.len() > MAX_ITEMS {
        return Err(format!("social_accounts takes at most {MAX_ITEMS} entries"));
    }
    let mut out = Vec::new();
    for item in items {
        let Some(name) = opt_text(item.name, "social_accounts.name", MAX_TEXT)? else {
            continue;
        };
        let kind = match item
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(k) => Some(SocialType::parse(k).ok_or_else(|| {
                format!(
                    "Invalid social_accounts type {k:?}; expected one of {}",
                    names(SocialType::ALL, SocialType::as_str)
                )
            })?),
        };
        out.push(SocialAccountEntry { name, kind });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The v1 response
// ---------------------------------------------------------------------------------------------

/// Which default field set a response carries (`keap/rest-v1.md` §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `GET /contacts` items.
    List,
    /// `GET /contacts/{id}` and every write response.
    Single,
}

/// Fields of a list item by default.
pub const LIST_FIELDS: &[&str] = &[
    "id",
    "given_name",
    "family_name",
    "middle_name",
    "email_addresses",
    "phone_numbers",
    "addresses",
    "company",
    "owner_id",
    "tag_ids",
    "email_opted_in",
    "email_status",
    "date_created",
    "last_updated",
    "last_updated_utc_millis",
    "ScoreValue",
];

/// Fields a single contact adds to [`LIST_FIELDS`] by default.
pub const SINGLE_EXTRA_FIELDS: &[&str] = &[
    "company_name",
    "fax_numbers",
    "birthday",
    "anniversary",
    "contact_type",
    "prefix",
    "suffix",
    "preferred_name",
    "spouse_name",
    "website",
    "time_zone",
    "preferred_locale",
    "source_type",
];

/// Fields shown only when named in `optional_properties` (what `GET /contacts/model` lists).
pub const OPTIONAL_PROPERTIES: &[&str] = &[
    "job_title",
    "lead_source_id",
    "custom_fields",
    "social_accounts",
    "origin",
    "relationships",
];

/// What a response needs besides the document.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactMeta<'a> {
    /// Record id.
    pub id: i64,
    /// Record creation time.
    pub created_at: OffsetDateTime,
    /// Record update time.
    pub updated_at: OffsetDateTime,
    /// Applied tag ids, ascending.
    pub tag_ids: &'a [i64],
    /// Name of the company `company_id` points at, if it exists.
    pub company_name: Option<&'a str>,
}

/// A best-effort E.164 form: only for numbers written with a leading `+` and 8–15 digits.
fn e164(number: &str) -> Option<String> {
    let t = number.trim();
    let rest = t.strip_prefix('+')?;
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (8..=15)
        .contains(&digits.len())
        .then(|| format!("+{digits}"))
}

fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

impl ContactDoc {
    /// One v1 field by name, or `None` for a name that is not a contact field.
    fn wire_field(&self, name: &str, meta: &ContactMeta<'_>) -> Option<Value> {
        Some(match name {
            "id" => json!(meta.id),
            "given_name" => opt_str(self.given_name.as_deref()),
            "family_name" => opt_str(self.family_name.as_deref()),
            "middle_name" => opt_str(self.middle_name.as_deref()),
            "email_addresses" => json!(self.email_addresses),
            "phone_numbers" => Value::Array(
                self.phone_numbers
                    .iter()
                    .map(|p| {
                        json!({
                            "number": p.number,
                            "extension": p.extension,
                            "type": p.kind,
                            "field": p.field,
                            "number_e164": e164(&p.number),
                        })
                    })
                    .collect(),
            ),
            "fax_numbers" => Value::Array(
                self.fax_numbers
                    .iter()
                    .map(|f| json!({"number": f.number, "type": f.kind, "field": f.field}))
                    .collect(),
            ),
            "addresses" => Value::Array(
                self.addresses
                    .iter()
                    .map(|a| {
                        json!({
                            "field": a.field,
                            "line1": a.line1,
                            "line2": a.line2,
                            "locality": a.locality,
                            "region": a.region,
                            "postal_code": a.postal_code,
                            "zip_code": a.zip_code,
                            "zip_four": a.zip_four,
                            "country_code": a.country_code,
                        })
                    })
                    .collect(),
            ),
            "company" => match self.company_id {
                Some(id) => json!({"id": id, "company_name": meta.company_name}),
                None => Value::Null,
            },
            "company_name" => opt_str(self.company_id.and(meta.company_name)),
            "owner_id" => json!(self.owner_id),
            "tag_ids" => json!(meta.tag_ids),
            "email_opted_in" => json!(
                self.effective_email_status()
                    .is_some_and(EmailStatus::is_opted_in)
            ),
            "email_status" => json!(self.effective_email_status()),
            "date_created" => json!(date::format_datetime(meta.created_at)),
            "last_updated" => json!(date::format_datetime(meta.updated_at)),
            "last_updated_utc_millis" => json!(crate::clock::to_millis(meta.updated_at)),
            // keapsake does no lead scoring; Keap shows null for contacts never scored.
            "ScoreValue" => Value::Null,
            "birthday" => json!(self.birthday.map(date::format_datetime)),
            "anniversary" => json!(self.anniversary.map(date::format_date)),
            "contact_type" => opt_str(self.contact_type.as_deref()),
            "prefix" => opt_str(self.prefix.as_deref()),
            "suffix" => opt_str(self.suffix.as_deref()),
            "preferred_name" => opt_str(self.preferred_name.as_deref()),
            "spouse_name" => opt_str(self.spouse_name.as_deref()),
            "website" => opt_str(self.website.as_deref()),
            "time_zone" => opt_str(self.time_zone.as_deref()),
            "preferred_locale" => opt_str(self.preferred_locale.as_deref()),
            "source_type" => json!(self.source_type),
            "job_title" => opt_str(self.job_title.as_deref()),
            "lead_source_id" => json!(self.lead_source_id),
            "custom_fields" => json!(self.custom_fields),
            "social_accounts" => Value::Array(
                self.social_accounts
                    .iter()
                    .map(|s| json!({"name": s.name, "type": s.kind}))
                    .collect(),
            ),
            "origin" => match &self.origin {
                Some(o) => json!({
                    "date": o.date.map(date::format_datetime),
                    "ip_address": o.ip_address,
                }),
                None => Value::Null,
            },
            // keapsake stores no contact relationships yet.
            "relationships" => json!([]),
            _ => return None,
        })
    }

    /// The v1 JSON of this contact: the view's default fields plus any known field named in
    /// `optional_properties` (unknown names are ignored).
    pub fn render(&self, meta: &ContactMeta<'_>, view: View, optional: &[String]) -> Value {
        let mut out = Map::new();
        let defaults = LIST_FIELDS.iter().chain(match view {
            View::List => [].iter(),
            View::Single => SINGLE_EXTRA_FIELDS.iter(),
        });
        for name in defaults.copied().chain(optional.iter().map(String::as_str)) {
            if out.contains_key(name) {
                continue;
            }
            if let Some(v) = self.wire_field(name, meta) {
                out.insert(name.to_owned(), v);
            }
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-11-07 20:35:13.217 UTC);

    fn body(v: Value) -> ContactBody {
        serde_json::from_value(v).expect("a contact body")
    }

    fn changes(v: Value) -> ContactChanges {
        body(v).into_changes(None).expect("valid changes")
    }

    fn created(v: Value) -> ContactDoc {
        ContactDoc::create(&changes(v), NOW).expect("created")
    }

    fn meta() -> ContactMeta<'static> {
        ContactMeta {
            id: 22,
            created_at: NOW,
            updated_at: NOW,
            tag_ids: &[],
            company_name: None,
        }
    }

    #[test]
    fn create_needs_an_email_or_a_phone() {
        let err =
            ContactDoc::create(&changes(json!({"given_name": "Ada"})), NOW).expect_err("refused");
        assert_eq!(err, NEEDS_EMAIL_OR_PHONE);
        // Empty values do not count.
        let err = ContactDoc::create(
            &changes(json!({"email_addresses": [{"email": " ", "field": "EMAIL1"}]})),
            NOW,
        )
        .expect_err("refused");
        assert_eq!(err, NEEDS_EMAIL_OR_PHONE);
        assert!(
            ContactDoc::create(
                &changes(json!({"phone_numbers": [{"number": "555-0100"}]})),
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn create_defaults_source_and_status() {
        let doc =
            created(json!({"email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]}));
        assert_eq!(doc.source_type, Some(SourceType::Api));
        assert_eq!(doc.email_status, Some(EmailStatus::NonMarketable));
        let v = doc.render(&meta(), View::Single, &[]);
        assert_eq!(v["email_opted_in"], false);
        assert_eq!(v["email_status"], "NonMarketable");
        assert_eq!(v["source_type"], "API");
    }

    #[test]
    fn opt_in_reason_on_create_opts_email1_in() {
        let doc = created(json!({
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
            "opt_in_reason": "Signed up on website"
        }));
        assert_eq!(doc.email_status, Some(EmailStatus::SingleOptIn));
        assert_eq!(doc.opt_in_reason.as_deref(), Some("Signed up on website"));
        let v = doc.render(&meta(), View::List, &[]);
        assert_eq!(v["email_opted_in"], true);
        assert!(v.get("opt_in_reason").is_none(), "write-only");
    }

    #[test]
    fn opt_in_on_patch_only_from_the_allowed_statuses() {
        for (status, moves) in [
            (EmailStatus::NonMarketable, true),
            (EmailStatus::UnengagedNonMarketable, true),
            (EmailStatus::UnengagedMarketable, true),
            (EmailStatus::Manual, true),
            (EmailStatus::HardBounce, false),
            (EmailStatus::Spam, false),
            (EmailStatus::Lockdown, false),
            (EmailStatus::Confirmed, false),
        ] {
            let mut doc =
                created(json!({"email_addresses": [{"email": "a@b.co", "field": "EMAIL1"}]}));
            doc.email_status = Some(status);
            doc.update(&changes(json!({"opt_in_reason": "asked"})), NOW)
                .expect("updated");
            let want = if moves {
                EmailStatus::SingleOptIn
            } else {
                status
            };
            assert_eq!(doc.email_status, Some(want), "{status:?}");
        }
    }

    #[test]
    fn a_new_email1_takes_the_status_the_account_holds_for_the_address() {
        let mut ch = changes(json!({
            "email_addresses": [{"email": "Out@B.co", "field": "EMAIL1"}],
            "opt_in_reason": "signed up again"
        }));
        assert_eq!(ch.email1(), Some("Out@B.co"));
        ch.address_status = Some(("out@b.co".to_owned(), EmailStatus::Admin));
        let doc = ContactDoc::create(&ch, NOW).expect("created");
        assert_eq!(
            doc.email_status,
            Some(EmailStatus::Admin),
            "an opt-out is not undone"
        );
        // A status held for another address does not apply.
        let mut ch = changes(json!({"email_addresses": [{"email": "x@b.co", "field": "EMAIL1"}]}));
        ch.address_status = Some(("out@b.co".to_owned(), EmailStatus::Admin));
        let mut doc = ContactDoc::create(&ch, NOW).expect("created");
        assert_eq!(doc.email_status, Some(EmailStatus::NonMarketable));
        // Changing EMAIL1 to the held address takes its status.
        let mut ch =
            changes(json!({"email_addresses": [{"email": "out@b.co", "field": "EMAIL1"}]}));
        ch.address_status = Some(("out@b.co".to_owned(), EmailStatus::Admin));
        doc.update(&ch, NOW).expect("updated");
        assert_eq!(doc.email_status, Some(EmailStatus::Admin));
    }

    #[test]
    fn a_new_email1_resets_its_status_but_a_case_change_does_not() {
        let mut doc = created(json!({
            "email_addresses": [{"email": "a@b.co", "field": "EMAIL1"}],
            "opt_in_reason": "yes"
        }));
        doc.update(
            &changes(json!({"email_addresses": [{"email": "A@B.CO", "field": "EMAIL1"}]})),
            NOW,
        )
        .expect("updated");
        assert_eq!(doc.email_status, Some(EmailStatus::SingleOptIn));
        doc.update(
            &changes(json!({"email_addresses": [{"email": "c@d.co", "field": "EMAIL1"}]})),
            NOW,
        )
        .expect("updated");
        assert_eq!(doc.email_status, Some(EmailStatus::NonMarketable));
        // Clearing EMAIL1 (a phone keeps the contact valid) clears the status.
        doc.update(
            &changes(json!({
                "phone_numbers": [{"number": "1", "field": "PHONE1"}],
                "email_addresses": [{"email": "", "field": "EMAIL1"}]
            })),
            NOW,
        )
        .expect("updated");
        assert_eq!(doc.email_status, None);
        assert_eq!(
            doc.render(&meta(), View::List, &[])["email_status"],
            Value::Null
        );
    }

    #[test]
    fn patch_merges_slots() {
        let mut doc = created(json!({
            "email_addresses": [
                {"email": "one@x.io", "field": "EMAIL1"},
                {"email": "two@x.io", "field": "EMAIL2"}
            ],
            "phone_numbers": [{"number": "1", "field": "PHONE1"}, {"number": "2", "field": "PHONE2"}]
        }));
        doc.update(
            &changes(json!({
                "email_addresses": [{"email": "three@x.io", "field": "email3"}, {"email": "", "field": "EMAIL2"}],
                "phone_numbers": [{"number": "22", "field": "PHONE2", "type": "Work"}]
            })),
            NOW,
        )
        .expect("updated");
        let emails: Vec<(&str, EmailField)> = doc
            .email_addresses
            .iter()
            .map(|e| (e.email.as_str(), e.field))
            .collect();
        assert_eq!(
            emails,
            [
                ("one@x.io", EmailField::Email1),
                ("three@x.io", EmailField::Email3)
            ]
        );
        assert_eq!(doc.phone_numbers.len(), 2);
        assert_eq!(doc.phone_numbers[1].number, "22");
        assert_eq!(doc.phone_numbers[1].kind.as_deref(), Some("Work"));
    }

    #[test]
    fn patch_that_leaves_neither_email_nor_phone_is_refused() {
        let mut doc = created(json!({"email_addresses": [{"email": "a@b.co", "field": "EMAIL1"}]}));
        let err = doc
            .update(
                &changes(json!({"email_addresses": [{"email": "", "field": "EMAIL1"}]})),
                NOW,
            )
            .expect_err("refused");
        assert_eq!(err, NEEDS_EMAIL_OR_PHONE);
    }

    #[test]
    fn scalars_absent_keep_null_clears_value_sets() {
        let mut doc = created(json!({
            "email_addresses": [{"email": "a@b.co"}],
            "given_name": "Ada", "family_name": "Lovelace", "owner_id": 3
        }));
        doc.update(
            &changes(json!({"given_name": null, "owner_id": 0, "middle_name": " K "})),
            NOW,
        )
        .expect("updated");
        assert_eq!(doc.given_name, None);
        assert_eq!(doc.family_name.as_deref(), Some("Lovelace"));
        assert_eq!(doc.owner_id, None);
        assert_eq!(doc.middle_name.as_deref(), Some("K"));
    }

    #[test]
    fn custom_fields_merge_by_id_and_null_clears() {
        let mut doc = created(json!({
            "phone_numbers": [{"number": "1"}],
            "custom_fields": [{"id": 6, "content": "red"}, {"id": 8, "content": 3}]
        }));
        doc.update(
            &changes(json!({"custom_fields": [{"id": 6, "content": null}, {"id": 8, "content": [1, 2]}, {"id": "9", "content": true}]})),
            NOW,
        )
        .expect("updated");
        assert_eq!(
            doc.custom_fields,
            vec![
                CustomFieldEntry {
                    id: 8,
                    content: json!([1, 2])
                },
                CustomFieldEntry {
                    id: 9,
                    content: json!(true)
                }
            ]
        );
    }

    #[test]
    fn update_mask_applies_only_listed_fields() {
        let mask = vec!["family_name".to_owned()];
        let ch =
            body(json!({"given_name": "ignored", "family_name": "Byron", "opt_in_reason": "x"}))
                .into_changes(Some(&mask))
                .expect("valid");
        assert_eq!(ch.given_name, Field::Absent);
        assert_eq!(ch.family_name, Field::Set("Byron".into()));
        assert_eq!(ch.opt_in_reason, None);
        assert!(parse_update_mask(["family_name", "notes", ""]).is_ok());
        assert!(parse_update_mask(["ScoreValue"]).is_err());
    }

    #[test]
    fn reading_back_a_rendered_contact_changes_nothing() {
        // The PHP SDK saves by PATCHing back everything it read, read-only fields included.
        let doc = created(json!({
            "given_name": "Ada",
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
            "phone_numbers": [{"number": "+44 20 7946 0000", "field": "PHONE1", "type": "Work"}],
            "addresses": [{"field": "BILLING", "line1": "1 St", "region": "London", "country_code": "gbr"}],
            "birthday": "1815-12-10T00:00:00Z",
            "anniversary": "1835-07-08",
            "social_accounts": [{"name": "ada", "type": "twitter"}],
            "origin": {"ip_address": "192.0.2.1"},
            "custom_fields": [{"id": 6, "content": "x"}]
        }));
        let optional: Vec<String> = OPTIONAL_PROPERTIES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let read = doc.render(&meta(), View::Single, &optional);
        let mut again = doc.clone();
        again
            .update(&changes(read.clone()), NOW)
            .expect("the read-back is valid");
        assert_eq!(again, doc);
        assert_eq!(read["phone_numbers"][0]["number_e164"], "+442079460000");
        assert_eq!(read["addresses"][0]["country_code"], "GBR");
        assert_eq!(read["birthday"], "1815-12-10T00:00:00.000+0000");
        assert_eq!(read["anniversary"], "1835-07-08");
        assert_eq!(read["social_accounts"][0]["type"], "Twitter");
        assert_eq!(read["origin"]["date"], "2024-11-07T20:35:13.217+0000");
    }

    #[test]
    fn bad_input_is_a_message_not_a_panic() {
        for (v, needle) in [
            (
                json!({"email_addresses": [{"email": "nope", "field": "EMAIL1"}]}),
                "not a valid e-mail",
            ),
            (
                json!({"email_addresses": [{"email": "a@b.co", "field": "EMAIL4"}]}),
                "Invalid email_addresses field",
            ),
            (
                json!({"email_addresses": [{"email": "a@b.co", "field": "EMAIL1"}, {"email": "c@d.co", "field": "EMAIL1"}]}),
                "more than once",
            ),
            (
                json!({"phone_numbers": [{}, {}, {}, {}, {}, {"number": "6"}]}),
                "at most 5",
            ),
            (
                json!({"addresses": [{"field": "BILLING", "region": "CA"}]}),
                "required when region",
            ),
            (
                json!({"addresses": [{"field": "BILLING", "country_code": "US"}]}),
                "alpha-3",
            ),
            (json!({"source_type": "FAX"}), "Invalid source_type"),
            (json!({"birthday": "yesterday"}), "birthday"),
            (json!({"anniversary": "07/08/1835"}), "anniversary"),
            (json!({"given_name": "a\u{0}b"}), "NUL"),
            (json!({"given_name": "x".repeat(256)}), "at most 255"),
            (json!({"time_zone": "<script>"}), "time_zone"),
            (
                json!({"social_accounts": [{"name": "a", "type": "MySpace"}]}),
                "social_accounts",
            ),
            (json!({"origin": {"ip_address": "999.1.1.1"}}), "ip_address"),
            (json!({"custom_fields": [{"content": 1}]}), "id is required"),
        ] {
            let err = body(v.clone()).into_changes(None).expect_err("refused");
            assert!(err.contains(needle), "{v}: {err}");
        }
        assert!(serde_json::from_value::<ContactBody>(json!({"owner_id": 1e40})).is_err());
        assert!(serde_json::from_value::<ContactBody>(json!({"given_name": 5})).is_err());
    }

    #[test]
    fn slots_without_field_take_the_lowest_free_slot() {
        let ch = changes(
            json!({"email_addresses": [{"email": "a@b.co"}, {"email": "c@d.co", "field": "EMAIL1"}]}),
        );
        let slots: Vec<EmailField> = ch
            .email_addresses
            .expect("sent")
            .iter()
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(slots, [EmailField::Email2, EmailField::Email1]);
    }

    #[test]
    fn email_sanity() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "ü@exämple.de"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a@b.",
            "a@.b",
            "a@b..co",
            "a b@c.de",
            "a@b@c.de",
            "a\u{7}@b.co",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn keys_fold_ascii_only_and_order_names_family_first() {
        let doc = created(json!({
            "given_name": " Ada ", "family_name": "LOVELACE", "company": {"id": 4}, "owner_id": 7,
            "email_addresses": [{"email": "Ada@Example.COM", "field": "EMAIL1"}, {"email": "\u{212A}@x.io", "field": "EMAIL3"}]
        }));
        let k = doc.keys();
        assert_eq!(k.text[0].as_deref(), Some("ada@example.com"));
        assert_eq!(k.text[1], None);
        assert_eq!(k.text[2].as_deref(), Some("\u{212A}@x.io"));
        assert_eq!(k.text[3].as_deref(), Some("ada"));
        assert_eq!(k.text[4].as_deref(), Some("lovelace"));
        assert_eq!(k.text[5].as_deref(), Some("lovelace\u{1}ada"));
        assert_eq!(k.int, [Some(4), Some(7), None]);
        assert_eq!(k.unique, None);
    }

    #[test]
    fn upsert_matching_keys() {
        let ch = changes(json!({
            "given_name": "Ada",
            "email_addresses": [{"email": "two@x.io", "field": "EMAIL2"}, {"email": "One@X.io", "field": "EMAIL1"}]
        }));
        let m = ch
            .upsert_match(DuplicateOption::Email)
            .expect("has an email");
        assert_eq!(
            m.conds,
            vec![Cond::AnyTextEq(vec![0, 1, 2], "one@x.io".into())]
        );
        let m = ch
            .upsert_match(DuplicateOption::EmailAndName)
            .expect("has an email");
        assert_eq!(
            m.conds[1..],
            [
                Cond::TextEq(3, "ada".into()),
                Cond::TextEq(4, String::new())
            ]
        );
        let m = ch
            .upsert_match(DuplicateOption::EmailAndNameAndCompany)
            .expect("has an email");
        assert_eq!(m.conds[3], Cond::IntIsNull(0));
        assert_eq!(m.lock_key, "contact-email:one@x.io");
        assert!(
            changes(json!({"phone_numbers": [{"number": "1"}]}))
                .upsert_match(DuplicateOption::Email)
                .is_none()
        );
        assert_eq!(
            body(json!({"duplicate_option": "emailandname"})).duplicate_option(),
            Ok(Some(DuplicateOption::EmailAndName))
        );
        assert!(
            body(json!({"duplicate_option": "Phone"}))
                .duplicate_option()
                .is_err()
        );
        assert_eq!(
            body(json!({"duplicate_option": null})).duplicate_option(),
            Ok(None)
        );
    }

    #[test]
    fn render_shapes() {
        let doc = created(
            json!({"email_addresses": [{"email": "a@b.co"}], "job_title": "Countess", "company": {"id": 4}}),
        );
        let m = ContactMeta {
            tag_ids: &[3, 9],
            company_name: Some("Acme"),
            ..meta()
        };
        let list = doc.render(&m, View::List, &[]);
        for f in LIST_FIELDS {
            assert!(list.get(*f).is_some(), "{f}");
        }
        assert!(list.get("fax_numbers").is_none());
        assert!(list.get("job_title").is_none());
        assert_eq!(list["company"], json!({"id": 4, "company_name": "Acme"}));
        assert_eq!(list["tag_ids"], json!([3, 9]));
        assert_eq!(list["last_updated_utc_millis"], 1_731_011_713_217_i64);
        assert_eq!(list["date_created"], "2024-11-07T20:35:13.217+0000");
        let single = doc.render(
            &m,
            View::Single,
            &["job_title".into(), "nonsense".into(), "fax_numbers".into()],
        );
        assert_eq!(single["job_title"], "Countess");
        assert_eq!(single["company_name"], "Acme");
        assert!(single.get("nonsense").is_none());
        assert_eq!(single["fax_numbers"], json!([]));
        assert!(single.get("custom_fields").is_none());
    }

    #[test]
    fn unknown_stored_fields_survive_an_edit() {
        let mut stored = created(json!({"phone_numbers": [{"number": "1"}]})).to_value();
        stored["v2_only"] = json!({"x": 1});
        let mut doc = ContactDoc::from_value(&stored).expect("readable");
        doc.update(&changes(json!({"given_name": "A"})), NOW)
            .expect("updated");
        assert_eq!(doc.to_value()["v2_only"], json!({"x": 1}));
    }
}
