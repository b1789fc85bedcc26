//! REST v1 bodies, as the SDK reads and writes them (`keap/rest-v1.md` §1–§6, §11).
//!
//! Deserialisation is tolerant, because the SDK must keep working when Keap adds fields or
//! leaves some out: unknown fields are ignored, every field the server may omit is an `Option`
//! (lists default to empty, and `null` lists read as empty), and dates accept Keap's
//! `2024-11-07T20:35:13.000+0000` as well as RFC 3339 (see [`crate::date`]). Enumerations whose
//! value set Keap may extend (`email_status`, `source_type`…) are plain strings; closed ones
//! ([`NoteType`]) keep values the SDK does not know instead of failing.
//!
//! Request bodies ([`ContactInput`], [`CompanyInput`], [`NoteInput`], [`TaskInput`],
//! [`OpportunityInput`], [`NewTag`], [`AccountProfile`] for `PUT`) serialise only the fields
//! that are set, so a `PATCH` changes exactly what the caller filled in. (A `PUT` replace
//! clears every writable field the body leaves out.) References to other objects are sent as
//! Keap wants them, e.g. a task's contact as `{"id": …}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use time::{Date, OffsetDateTime};

use crate::ids::{CompanyId, ContactId, CustomFieldId, TagCategoryId, TagId, UserId};

mod card;
mod commerce;
mod company;
mod email;
mod hook;
mod locale;
mod merchant;
mod money;
mod note;
mod opportunity;
mod settings;
mod task;
mod user;

pub use card::{ContactCreditCard, CreditCardAdded, NewCreditCard};
pub use commerce::{
    NewOrder, NewPayment, Order, OrderContact, OrderItem, OrderItemInput, OrderProduct, Payment,
    PaymentGateway, PaymentPlan, PaymentResult, Product, ProductInput, ProductStatus,
    ShippingAddress, SubscriptionPlan, SubscriptionPlanInput, Transaction,
};
pub use commerce::{NewSubscription, Subscription};
pub use company::{Company, CompanyFax, CompanyInput, CompanyPhone};
pub use email::{
    Email, EmailAddressStatus, EmailAttachment, EmailInput, EmailSyncError, EmailSyncResult,
    SendEmail,
};
pub(crate) use hook::HookInput;
pub use hook::{EventKey, HookKey, HookStatus, HookSubscription};
pub use locale::DefaultOptions;
pub use merchant::{MerchantAccount, MerchantAccounts};
pub use money::{Money, MoneyError};
pub use note::{Note, NoteInput, NoteType, NoteUser};
pub use opportunity::{
    CheckListItem, Opportunity, OpportunityContact, OpportunityInput, OpportunityStage,
    OpportunityUser, PipelineStage, StageDetails,
};
pub use settings::{
    ApplicationConfiguration, ConfigAddressLabels, ConfigAffiliate, ConfigAffiliateCommission,
    ConfigApplication, ConfigAppointmentTypes, ConfigCompany, ConfigContact, ConfigEcommerce,
    ConfigEmail, ConfigFeatures, ConfigForms, ConfigFulfillment, ConfigInvoice, ConfigOpportunity,
    ConfigOpportunityStates, ConfigStageEnd, ConfigStages, ConfigTemplate,
};
pub use task::{Task, TaskContact, TaskInput};
pub use user::User;

pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Reads `null` (or a missing field, with `#[serde(default)]`) as the type's default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Writes an id as Keap's reference object `{"id": …}` (a task's `contact`, an opportunity's
/// `stage`…).
fn id_ref<S: serde::Serializer, T: Serialize>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Ref<'a, T> {
        id: &'a T,
    }
    match v {
        Some(id) => Ref { id }.serialize(s),
        None => s.serialize_none(),
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// `GET /crm/rest/v1/oauth/connect/userinfo`: who the credential acts as (`keap/oauth.md` §9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Subject: the user id, as a string.
    #[serde(default)]
    pub sub: Option<String>,
    /// The user's e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Middle name.
    #[serde(default)]
    pub middle_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub preferred_name: Option<String>,
    /// Keap's global user id (an integer).
    #[serde(default)]
    pub global_user_id: Option<i64>,
    /// The login (e-mail), as a string.
    #[serde(default, deserialize_with = "string_or_number")]
    pub infusionsoft_id: Option<String>,
    /// Whether the user administers the account the credential is for.
    #[serde(default)]
    pub is_admin: Option<bool>,
}

/// A postal address (`ContactAddress` in Keap's spec), used by contacts, the account profile,
/// companies (`CompanyAddress`: no `field`, no `postal_code`) and users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Slot: `BILLING`, `SHIPPING` or `OTHER` (contacts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Street, first line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Street, second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or province. Keap requires `country_code` when this is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code (non-US).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ZIP code (US, instead of `postal_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    /// ZIP+4 extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_four: Option<String>,
    /// ISO 3166-1 alpha-3 country, e.g. `USA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// `GET`/`PUT /crm/rest/v1/account/profile`: the account's business profile.
///
/// On `PUT`, fields left `None` are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProfile {
    /// Business name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Business e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Phone extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_ext: Option<String>,
    /// Website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// IANA time zone, e.g. `America/New_York`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// ISO 4217 currency, e.g. `USD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// Language tag, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_tag: Option<String>,
    /// Logo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// Business type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_type: Option<String>,
    /// Business goals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_goals: Option<Vec<String>>,
    /// Primary brand colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_primary_color: Option<String>,
    /// Secondary brand colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_secondary_color: Option<String>,
    /// Business address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// An e-mail address of a contact, in one of the slots `EMAIL1`…`EMAIL3`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAddress {
    /// The address.
    #[serde(default)]
    pub email: String,
    /// Slot: `EMAIL1`, `EMAIL2` or `EMAIL3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl EmailAddress {
    /// An address in the given slot (`EMAIL1`…).
    pub fn new(email: impl Into<String>, field: impl Into<String>) -> Self {
        EmailAddress {
            email: email.into(),
            field: Some(field.into()),
        }
    }
}

/// A phone number of a contact, in one of the slots `PHONE1`…`PHONE5`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// The number as entered.
    #[serde(default)]
    pub number: String,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Free text, e.g. `Work`, `Mobile`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Slot: `PHONE1`…`PHONE5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The number in E.164 form (read-only; never sent).
    #[serde(default, skip_serializing)]
    pub number_e164: Option<String>,
}

impl PhoneNumber {
    /// A number in the given slot (`PHONE1`…).
    pub fn new(number: impl Into<String>, field: impl Into<String>) -> Self {
        PhoneNumber {
            number: number.into(),
            field: Some(field.into()),
            ..Default::default()
        }
    }
}

/// A fax number of a contact (`FAX1`, `FAX2`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaxNumber {
    /// The number.
    #[serde(default)]
    pub number: String,
    /// Free text type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Slot: `FAX1` or `FAX2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The company a contact belongs to. On write only `id` is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyReference {
    /// Company id.
    pub id: CompanyId,
    /// Company name (read-only).
    #[serde(default, skip_serializing)]
    pub company_name: Option<String>,
}

/// A custom field value: its field id and any JSON content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    /// The custom field's id.
    pub id: CustomFieldId,
    /// The value: string, number, bool, date string, or a list for multi-select. `null` clears.
    #[serde(default)]
    pub content: serde_json::Value,
}

/// A social network account of a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialAccount {
    /// The account name or URL.
    #[serde(default)]
    pub name: String,
    /// `Facebook`, `Twitter`, `LinkedIn`, `Instagram`, `Snapchat`, `YouTube`, `Pinterest`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Where and when a contact was created (`origin`, an optional property).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// When (read-only).
    #[serde(default, with = "crate::date::option_datetime", skip_serializing)]
    pub date: Option<OffsetDateTime>,
    /// IP address the contact came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// A link between two contacts (`relationships`, an optional property; read-only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    /// Relationship id.
    #[serde(default)]
    pub id: Option<i64>,
    /// The other contact.
    #[serde(default)]
    pub linked_contact_id: Option<ContactId>,
    /// Relationship type id.
    #[serde(default)]
    pub relationship_type_id: Option<i64>,
}

/// A contact as Keap returns it (`keap/rest-v1.md` §1.1).
///
/// Lists carry fewer fields than `GET /contacts/{id}`; optional properties (`custom_fields`,
/// `job_title`, …) appear only when requested with `optional_properties`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Contact id.
    pub id: ContactId,
    /// First name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Middle name.
    #[serde(default)]
    pub middle_name: Option<String>,
    /// E-mail addresses by slot.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub email_addresses: Vec<EmailAddress>,
    /// Phone numbers by slot.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phone_numbers: Vec<PhoneNumber>,
    /// Fax numbers by slot.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub fax_numbers: Vec<FaxNumber>,
    /// Addresses by slot.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub addresses: Vec<Address>,
    /// The contact's company.
    #[serde(default)]
    pub company: Option<CompanyReference>,
    /// The company's name.
    #[serde(default)]
    pub company_name: Option<String>,
    /// The user who owns the contact.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    /// Ids of the tags applied.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tag_ids: Vec<TagId>,
    /// Whether EMAIL1 is opted in.
    #[serde(default)]
    pub email_opted_in: Option<bool>,
    /// EMAIL1's status, e.g. `UnengagedMarketable`, `SingleOptIn`, `NonMarketable`.
    #[serde(default)]
    pub email_status: Option<String>,
    /// Creation time.
    #[serde(default, with = "crate::date::option_datetime")]
    pub date_created: Option<OffsetDateTime>,
    /// Last change.
    #[serde(default, with = "crate::date::option_datetime")]
    pub last_updated: Option<OffsetDateTime>,
    /// Last change in epoch milliseconds (sent by Keap although not in its spec).
    #[serde(default)]
    pub last_updated_utc_millis: Option<i64>,
    /// Lead score (Keap's capitalised `ScoreValue`, a string such as `"0"`).
    #[serde(default, rename = "ScoreValue", deserialize_with = "string_or_number")]
    pub score_value: Option<String>,
    /// Birthday.
    #[serde(default, with = "crate::date::option_datetime")]
    pub birthday: Option<OffsetDateTime>,
    /// Anniversary (`yyyy-MM-dd`).
    #[serde(default, with = "crate::date::option_date")]
    pub anniversary: Option<Date>,
    /// Contact type from the app's settings (`Lead`, `Customer`, …).
    #[serde(default)]
    pub contact_type: Option<String>,
    /// Name prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Name suffix.
    #[serde(default)]
    pub suffix: Option<String>,
    /// Preferred name.
    #[serde(default)]
    pub preferred_name: Option<String>,
    /// Spouse's name.
    #[serde(default)]
    pub spouse_name: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Locale, e.g. `en_US`.
    #[serde(default)]
    pub preferred_locale: Option<String>,
    /// How the contact was created: `API`, `WEBFORM`, `MANUAL`, …
    #[serde(default)]
    pub source_type: Option<String>,
    /// Job title (optional property).
    #[serde(default)]
    pub job_title: Option<String>,
    /// Lead source id (optional property).
    #[serde(default)]
    pub lead_source_id: Option<i64>,
    /// Custom field values (optional property).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_fields: Vec<CustomFieldValue>,
    /// Social accounts (optional property).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub social_accounts: Vec<SocialAccount>,
    /// Origin (optional property).
    #[serde(default)]
    pub origin: Option<Origin>,
    /// Relationships (optional property).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub relationships: Vec<Relationship>,
}

impl Contact {
    /// The address in slot `EMAIL1`, or else the first address.
    pub fn primary_email(&self) -> Option<&str> {
        self.email_addresses
            .iter()
            .find(|e| e.field.as_deref() == Some("EMAIL1"))
            .or_else(|| self.email_addresses.first())
            .map(|e| e.email.as_str())
    }
}

/// The writable fields of a contact, for create, update (`PATCH`) and upsert (`PUT`).
///
/// Only fields that are set are sent. Chain the setters, or fill the public fields:
///
/// ```
/// use keapsake_sdk::model::ContactInput;
/// let ada = ContactInput::new()
///     .given_name("Ada")
///     .family_name("Lovelace")
///     .email("ada@example.com")
///     .opt_in_reason("Signed up on website");
/// assert_eq!(ada.email_addresses.as_ref().unwrap()[0].field.as_deref(), Some("EMAIL1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContactInput {
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Middle name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// E-mail addresses by slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_addresses: Option<Vec<EmailAddress>>,
    /// Phone numbers by slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_numbers: Option<Vec<PhoneNumber>>,
    /// Fax numbers by slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax_numbers: Option<Vec<FaxNumber>>,
    /// Addresses by slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Address>>,
    /// Company, sent as `{"id": …}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<CompanyReference>,
    /// Owner (a user id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Birthday.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::date::option_datetime::serialize"
    )]
    pub birthday: Option<OffsetDateTime>,
    /// Anniversary.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::date::option_date::serialize"
    )]
    pub anniversary: Option<Date>,
    /// Contact type.
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
    /// Locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_locale: Option<String>,
    /// Source type (`API`, `WEBFORM`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Write-only: opts EMAIL1 in, giving the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_reason: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Lead source id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_source_id: Option<i64>,
    /// Custom field values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldValue>>,
    /// Social accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub social_accounts: Option<Vec<SocialAccount>>,
    /// Origin (`ip_address`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl ContactInput {
    /// An empty input: nothing will be sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the first name.
    pub fn given_name(mut self, v: impl Into<String>) -> Self {
        self.given_name = Some(v.into());
        self
    }

    /// Sets the last name.
    pub fn family_name(mut self, v: impl Into<String>) -> Self {
        self.family_name = Some(v.into());
        self
    }

    /// Sets the middle name.
    pub fn middle_name(mut self, v: impl Into<String>) -> Self {
        self.middle_name = Some(v.into());
        self
    }

    /// Adds an e-mail address in the next free slot (`EMAIL1`, then `EMAIL2`, `EMAIL3`).
    pub fn email(mut self, v: impl Into<String>) -> Self {
        let list = self.email_addresses.get_or_insert_with(Vec::new);
        let field = format!("EMAIL{}", list.len() + 1);
        list.push(EmailAddress::new(v, field));
        self
    }

    /// Adds a phone number in the next free slot (`PHONE1`…).
    pub fn phone(mut self, v: impl Into<String>) -> Self {
        let list = self.phone_numbers.get_or_insert_with(Vec::new);
        let field = format!("PHONE{}", list.len() + 1);
        list.push(PhoneNumber::new(v, field));
        self
    }

    /// Adds an address.
    pub fn address(mut self, v: Address) -> Self {
        self.addresses.get_or_insert_with(Vec::new).push(v);
        self
    }

    /// Sets the company.
    pub fn company(mut self, id: impl Into<CompanyId>) -> Self {
        self.company = Some(CompanyReference {
            id: id.into(),
            company_name: None,
        });
        self
    }

    /// Sets the owner.
    pub fn owner(mut self, id: impl Into<UserId>) -> Self {
        self.owner_id = Some(id.into());
        self
    }

    /// Sets the contact type (`Lead`, `Customer`, …).
    pub fn contact_type(mut self, v: impl Into<String>) -> Self {
        self.contact_type = Some(v.into());
        self
    }

    /// Opts EMAIL1 in, with the reason Keap records.
    pub fn opt_in_reason(mut self, v: impl Into<String>) -> Self {
        self.opt_in_reason = Some(v.into());
        self
    }

    /// Sets the job title.
    pub fn job_title(mut self, v: impl Into<String>) -> Self {
        self.job_title = Some(v.into());
        self
    }

    /// Sets a custom field value (`serde_json::Value::Null` clears it).
    pub fn custom_field(
        mut self,
        id: impl Into<CustomFieldId>,
        content: impl Into<serde_json::Value>,
    ) -> Self {
        self.custom_fields
            .get_or_insert_with(Vec::new)
            .push(CustomFieldValue {
                id: id.into(),
                content: content.into(),
            });
        self
    }
}

/// How `PUT /contacts` (upsert) decides an existing contact matches (`keap/rest-v1.md` §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DuplicateOption {
    /// Same e-mail address.
    Email,
    /// Same e-mail address, first and last name.
    EmailAndName,
    /// Same e-mail address, names and company (v2 and XML-RPC; keapsake accepts it on v1).
    EmailAndNameAndCompany,
}

/// A tag category. On tag creation only `id` is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCategory {
    /// Category id.
    pub id: TagCategoryId,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A tag (`keap/rest-v1.md` §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag id.
    pub id: TagId,
    /// Name, unique in the account.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Category, if any.
    #[serde(default)]
    pub category: Option<TagCategory>,
}

/// The body of `POST /tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTag {
    /// Name (required).
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "category_ref"
    )]
    pub category: Option<TagCategoryId>,
}

fn category_ref<S: serde::Serializer>(v: &Option<TagCategoryId>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Ref {
        id: TagCategoryId,
    }
    match v {
        Some(id) => Ref { id: *id }.serialize(s),
        None => s.serialize_none(),
    }
}

impl NewTag {
    /// A tag with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        NewTag {
            name: name.into(),
            description: None,
            category: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, v: impl Into<String>) -> Self {
        self.description = Some(v.into());
        self
    }

    /// Puts the tag in a category.
    pub fn category(mut self, id: impl Into<TagCategoryId>) -> Self {
        self.category = Some(id.into());
        self
    }
}

/// The body of `POST /tags/categories`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTagCategory {
    /// Name (required).
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A tag as listed under a contact: here `category` is the category's **name** (Keap's
/// `SimpleTag`), not an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleTag {
    /// Tag id.
    pub id: TagId,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Category name.
    #[serde(default)]
    pub category: Option<String>,
}

/// An item of `GET /contacts/{id}/tags`: a tag and when it was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedTag {
    /// The tag.
    pub tag: SimpleTag,
    /// When it was applied.
    #[serde(default, with = "crate::date::option_datetime")]
    pub date_applied: Option<OffsetDateTime>,
}

/// The short contact shape in `GET /tags/{id}/contacts` (note `first_name`/`last_name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaggedContactSummary {
    /// Contact id.
    pub id: ContactId,
    /// Primary e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
}

/// An item of `GET /tags/{id}/contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaggedContact {
    /// The contact.
    pub contact: TaggedContactSummary,
    /// When the tag was applied.
    #[serde(default, with = "crate::date::option_datetime")]
    pub date_applied: Option<OffsetDateTime>,
}

/// What happened to one id when applying tags (`keap/rest-v1.md` §2.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApplyOutcome {
    /// Applied now.
    Success,
    /// Was already applied (the original `date_applied` is kept).
    Duplicate,
    /// No such contact.
    ContactNotFound,
    /// No such tag.
    TagNotFound,
    /// Failed for another reason.
    Failure,
    /// The credential may not do this.
    NoPermission,
    /// A value this SDK does not know.
    Other(String),
}

impl ApplyOutcome {
    /// True for [`ApplyOutcome::Success`] and [`ApplyOutcome::Duplicate`]: the tag is on the
    /// contact now.
    pub fn is_applied(&self) -> bool {
        matches!(self, ApplyOutcome::Success | ApplyOutcome::Duplicate)
    }
}

impl<'de> Deserialize<'de> for ApplyOutcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "SUCCESS" => ApplyOutcome::Success,
            "DUPLICATE" => ApplyOutcome::Duplicate,
            "CONTACT_NOT_FOUND" => ApplyOutcome::ContactNotFound,
            "TAG_ID_NOT_FOUND" => ApplyOutcome::TagNotFound,
            "FAILURE" => ApplyOutcome::Failure,
            "NO_PERMISSION" => ApplyOutcome::NoPermission,
            _ => ApplyOutcome::Other(s),
        })
    }
}

impl Serialize for ApplyOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            ApplyOutcome::Success => "SUCCESS",
            ApplyOutcome::Duplicate => "DUPLICATE",
            ApplyOutcome::ContactNotFound => "CONTACT_NOT_FOUND",
            ApplyOutcome::TagNotFound => "TAG_ID_NOT_FOUND",
            ApplyOutcome::Failure => "FAILURE",
            ApplyOutcome::NoPermission => "NO_PERMISSION",
            ApplyOutcome::Other(s) => s,
        })
    }
}

/// Result of applying one tag to contacts: outcome per contact id.
pub type TagApplyResults = BTreeMap<ContactId, ApplyOutcome>;

/// Result of applying tags to one contact: outcome per tag id.
pub type ContactTagResults = BTreeMap<TagId, ApplyOutcome>;

/// `GET /<resource>/model` (`ObjectModel`): the account's custom fields of that record type and
/// the names `optional_properties` accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectModel {
    /// The custom fields defined for this record type.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_fields: Vec<CustomFieldMetadata>,
    /// Fields left out of responses unless named in `optional_properties`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub optional_properties: Vec<String>,
}

/// A custom field definition (`CustomFieldMetaData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldMetadata {
    /// Field id: the `id` of a [`CustomFieldValue`].
    pub id: CustomFieldId,
    /// Label shown in Keap.
    #[serde(default)]
    pub label: Option<String>,
    /// Database name derived from the label.
    #[serde(default)]
    pub field_name: Option<String>,
    /// Type: `Text`, `Dropdown`, `Date`, `WholeNumber`…
    #[serde(default)]
    pub field_type: Option<String>,
    /// Record type: `CONTACT`, `COMPANY`, `OPPORTUNITY`, `TASK_NOTE_APPOINTMENT`…
    #[serde(default)]
    pub record_type: Option<String>,
    /// Default value, as text.
    #[serde(default, deserialize_with = "string_or_number")]
    pub default_value: Option<String>,
    /// Choices of a list-type field (nested for `Drilldown`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<CustomFieldOption>,
}

/// A choice of a list-type custom field (`CustomFieldOption`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldOption {
    /// Option id (a string in Keap's spec).
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Nested choices (`Drilldown`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<CustomFieldOption>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn contact_tolerates_nulls_unknown_fields_and_keap_dates() {
        let c: Contact = serde_json::from_value(json!({
            "id": 22, "given_name": "Ada", "family_name": null,
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
            "phone_numbers": null, "addresses": [], "tag_ids": [91],
            "date_created": "2024-11-07T20:35:13.000+0000",
            "last_updated": "2024-11-07T20:35:13Z",
            "ScoreValue": 7, "anniversary": "2001-02-03",
            "brand_new_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(c.id, ContactId(22));
        assert_eq!(c.primary_email(), Some("ada@example.com"));
        assert!(c.phone_numbers.is_empty());
        assert_eq!(c.tag_ids, vec![TagId(91)]);
        assert_eq!(c.score_value.as_deref(), Some("7"));
        assert_eq!(c.date_created, c.last_updated);
        assert!(c.anniversary.is_some());
    }

    #[test]
    fn contact_input_sends_only_what_is_set() {
        let body = serde_json::to_value(
            ContactInput::new()
                .given_name("Ada")
                .email("a@b.c")
                .company(5),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"given_name":"Ada","email_addresses":[{"email":"a@b.c","field":"EMAIL1"}],"company":{"id":5}})
        );
    }

    #[test]
    fn new_tag_category_is_an_id_object() {
        let body = serde_json::to_value(NewTag::new("VIP").category(10)).unwrap();
        assert_eq!(body, json!({"name":"VIP","category":{"id":10}}));
    }

    #[test]
    fn apply_results_keyed_by_id() {
        let r: TagApplyResults =
            serde_json::from_value(json!({"123":"SUCCESS","456":"DUPLICATE","789":"WHATEVER"}))
                .unwrap();
        assert_eq!(r[&ContactId(123)], ApplyOutcome::Success);
        assert!(r[&ContactId(456)].is_applied());
        assert_eq!(r[&ContactId(789)], ApplyOutcome::Other("WHATEVER".into()));
    }

    #[test]
    fn new_resources_tolerate_nulls_unknown_values_and_fields() {
        let n: Note = serde_json::from_value(json!({
            "id": 3, "contact_id": 22, "user_id": null, "title": null, "body": "b", "type": "Meeting",
            "date_created": "2024-11-07T20:35:13.000+0000", "last_updated_by": null, "new": [1]
        }))
        .unwrap();
        assert_eq!(n.kind, Some(NoteType::Unknown("Meeting".into())));
        assert_eq!(serde_json::to_value(&n.kind).unwrap(), json!("Meeting"));
        assert_eq!(n.contact_id, Some(ContactId(22)));

        let c: Company = serde_json::from_value(json!({
            "id": 5, "company_name": "AE", "phone_number": {"number": null, "type": "Work"},
            "custom_fields": null, "address": {"line1": "x", "country_code": "USA"}
        }))
        .unwrap();
        assert_eq!(c.phone_number.unwrap().number, "");
        assert!(c.custom_fields.is_empty());
        assert_eq!(c.address.unwrap().country_code.as_deref(), Some("USA"));

        let o: Opportunity = serde_json::from_value(json!({
            "id": 1, "opportunity_title": "t", "contact": {"id": 2},
            "stage": {"id": 3, "name": "Won", "details": null, "reasons": null},
            "user": null, "projected_revenue_high": 10, "custom_fields": [{"id": 4, "content": {"a": 1}}]
        }))
        .unwrap();
        assert_eq!(o.stage.as_ref().map(|s| s.id), Some(crate::StageId(3)));
        assert!(o.stage.unwrap().reasons.is_empty());
        assert_eq!(o.projected_revenue_high, Some(10.0));
        assert_eq!(o.custom_fields[0].content, json!({"a": 1}));

        let t: Task = serde_json::from_value(json!({
            "id": 9, "title": "t", "due_date": "2024-12-01", "completed": null, "contact": null, "jgraph_id": 4
        }))
        .unwrap();
        assert_eq!(
            t.due_date,
            Some(time::macros::datetime!(2024-12-01 0:00 UTC))
        );
        assert!(!t.is_completed());

        let u: User = serde_json::from_value(
            json!({"id": 1, "infusionsoft_id": 77, "phone_numbers": null, "status": "Invited"}),
        )
        .unwrap();
        assert_eq!(u.infusionsoft_id.as_deref(), Some("77"));
        assert!(!u.is_active());

        let m: MerchantAccounts = serde_json::from_value(json!({
            "default_merchant_account": 2,
            "merchant_accounts": [{"id": 1, "type": "Stripe"}, {"id": 2, "account_name": "Main", "is_test": false}]
        }))
        .unwrap();
        assert_eq!(
            m.default_account().and_then(|a| a.account_name.as_deref()),
            Some("Main")
        );

        let cfg: ApplicationConfiguration = serde_json::from_value(json!({
            "contact": {"contact_types": " Lead, Customer ,,Other", "unknown": true},
            "brand_new_module": {"x": 1}, "invoice": null
        }))
        .unwrap();
        assert_eq!(
            cfg.contact.unwrap().contact_types_list(),
            ["Lead", "Customer", "Other"]
        );
        assert!(cfg.invoice.is_none() && cfg.application.is_none());

        let model: ObjectModel = serde_json::from_value(json!({
            "custom_fields": [{"id": 8, "label": "Colour", "default_value": 3, "options": [{"id": 1, "label": "Red", "options": null}]}],
            "optional_properties": null
        }))
        .unwrap();
        assert_eq!(model.custom_fields[0].default_value.as_deref(), Some("3"));
        assert_eq!(model.custom_fields[0].options[0].id.as_deref(), Some("1"));
        assert!(model.optional_properties.is_empty());
    }

    #[test]
    fn new_inputs_send_only_what_is_set_and_references_as_id_objects() {
        assert_eq!(serde_json::to_value(TaskInput::new()).unwrap(), json!({}));
        assert_eq!(
            serde_json::to_value(NoteInput::new().user(4)).unwrap(),
            json!({"user_id": 4})
        );
        assert_eq!(
            serde_json::to_value(OpportunityInput::new().user(4).include_in_forecast(false))
                .unwrap(),
            json!({"user": {"id": 4}, "include_in_forecast": 0})
        );
        assert_eq!(
            serde_json::to_value(
                CompanyInput::new()
                    .company_name("AE")
                    .phone("1")
                    .fax("2")
                    .custom_field(3, true)
            )
            .unwrap(),
            json!({"company_name": "AE", "phone_number": {"number": "1"}, "fax_number": {"number": "2"},
                   "custom_fields": [{"id": 3, "content": true}]})
        );
        let t = TaskInput::new()
            .completed(true)
            .completion_date(time::macros::datetime!(2024-12-01 10:00 +01:00));
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            json!({"completed": true, "completion_date": "2024-12-01T09:00:00.000Z"})
        );
    }
}
