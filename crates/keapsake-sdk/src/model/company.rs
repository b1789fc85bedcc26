//! Companies (`keap/rest-v1.md` §3).

use serde::{Deserialize, Serialize};

use super::{Address, CustomFieldValue, null_as_default, null_as_empty};
use crate::ids::{CompanyId, CustomFieldId};

/// A company's phone number (`CompanyPhoneNumber`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyPhone {
    /// The number as entered.
    #[serde(default, deserialize_with = "null_as_default")]
    pub number: String,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Free text, e.g. `Work`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl CompanyPhone {
    /// A number with no extension or type.
    pub fn new(number: impl Into<String>) -> Self {
        CompanyPhone {
            number: number.into(),
            ..Default::default()
        }
    }
}

/// A company's fax number (`CompanyFaxNumber`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyFax {
    /// The number.
    #[serde(default, deserialize_with = "null_as_default")]
    pub number: String,
    /// Free text type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A company as Keap returns it (`keap/rest-v1.md` §3).
///
/// `notes`, `fax_number` and `custom_fields` are optional properties: lists and
/// `GET /companies/{id}` include them only when named in `optional_properties`; create and
/// update answer with all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Company id.
    pub id: CompanyId,
    /// Name.
    #[serde(default)]
    pub company_name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email_address: Option<String>,
    /// Whether the e-mail address is opted in.
    #[serde(default)]
    pub email_opted_in: Option<bool>,
    /// The address's marketing status, e.g. `SingleOptIn`, `NonMarketable`.
    #[serde(default)]
    pub email_status: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone_number: Option<CompanyPhone>,
    /// Fax (optional property).
    #[serde(default)]
    pub fax_number: Option<CompanyFax>,
    /// Address (Keap's `CompanyAddress`: no `field`, no `postal_code`).
    #[serde(default)]
    pub address: Option<Address>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// Notes (optional property).
    #[serde(default)]
    pub notes: Option<String>,
    /// Custom field values (optional property).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_fields: Vec<CustomFieldValue>,
}

/// The writable fields of a company, for create (`POST`, `company_name` required) and update
/// (`PATCH`). Only fields that are set are sent.
///
/// ```
/// use keapsake_sdk::model::CompanyInput;
/// let body = CompanyInput::new()
///     .company_name("Analytical Engines")
///     .email("info@ae.example")
///     .phone("555-0100")
///     .opt_in_reason("Asked for the newsletter");
/// assert_eq!(body.company_name.as_deref(), Some("Analytical Engines"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompanyInput {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<CompanyPhone>,
    /// Fax.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax_number: Option<CompanyFax>,
    /// Address (`field` and `postal_code` are not company fields; leave them `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Custom field values (merged by id on update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldValue>>,
    /// Write-only: opts the e-mail address in, giving the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_reason: Option<String>,
}

impl CompanyInput {
    /// An empty input: nothing will be sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name.
    pub fn company_name(mut self, v: impl Into<String>) -> Self {
        self.company_name = Some(v.into());
        self
    }

    /// Sets the e-mail address.
    pub fn email(mut self, v: impl Into<String>) -> Self {
        self.email_address = Some(v.into());
        self
    }

    /// Sets the phone number (no extension or type; fill [`CompanyPhone`] for those).
    pub fn phone(mut self, number: impl Into<String>) -> Self {
        self.phone_number = Some(CompanyPhone::new(number));
        self
    }

    /// Sets the fax number.
    pub fn fax(mut self, number: impl Into<String>) -> Self {
        self.fax_number = Some(CompanyFax {
            number: number.into(),
            kind: None,
        });
        self
    }

    /// Sets the address.
    pub fn address(mut self, v: Address) -> Self {
        self.address = Some(v);
        self
    }

    /// Sets the website.
    pub fn website(mut self, v: impl Into<String>) -> Self {
        self.website = Some(v.into());
        self
    }

    /// Sets the notes.
    pub fn notes(mut self, v: impl Into<String>) -> Self {
        self.notes = Some(v.into());
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

    /// Opts the e-mail address in, with the reason Keap records.
    pub fn opt_in_reason(mut self, v: impl Into<String>) -> Self {
        self.opt_in_reason = Some(v.into());
        self
    }
}
