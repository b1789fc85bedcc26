//! Companies (`keap/rest-v1.md` §3): the stored document ([`CompanyDoc`]), what a client may
//! send ([`CompanyBody`] → [`CompanyChanges`]), create and `PATCH`, the e-mail opt-in rule
//! (the contacts' one), the indexed keys and the v1 shape.
//!
//! Contacts point at companies by id (`company.id`) and read the name from the stored
//! document's top-level `company_name`, so that key is part of the storage contract.
//!
//! Index layout (every key folded with [`crate::crm::fold`], ASCII only):
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `k0` | company name, trimmed | `company_name=` (exact, case-insensitive), `order=name` |
//! | `k1` | e-mail address | `order=email` |

use super::{
    LenientString, MAX_BODY, MAX_CUSTOM_FIELDS, MAX_NAME, MAX_TEXT, custom_values, lenient_text,
    merge_custom_fields, opt_str, opt_text, text,
};
use crate::crm::contact::{CustomFieldEntry, CustomFieldItem, EmailStatus, is_valid_email};
use crate::crm::{Field, check_text, fold};
use crate::records::{Column, Keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Text key of the folded name.
pub const NAME_KEY: usize = 0;
/// Text key of the folded e-mail address.
pub const EMAIL_KEY: usize = 1;

/// The 400 message when a company would have no name.
pub const NAME_REQUIRED: &str = "company_name is required";

/// A company's phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyPhone {
    /// The number.
    pub number: String,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Free-text type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A company's fax number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyFax {
    /// The number.
    pub number: String,
    /// Free-text type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A company's address (`CompanyAddress`: no `field`, no `postal_code`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs, reason = "each field is the v1 field of the same name")]
pub struct CompanyAddress {
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
    pub zip_four: Option<String>,
    /// ISO 3166-1 alpha-3, upper case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// A company as stored (the `data` of a [`crate::records::RecordKind::Company`] record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompanyDoc {
    /// Name (never empty). Contacts read this key.
    pub company_name: String,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Marketing status of the address (`None` without an address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_status: Option<EmailStatus>,
    /// The last opt-in reason given (write-only on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_reason: Option<String>,
    /// Phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<CompanyPhone>,
    /// Fax.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax_number: Option<CompanyFax>,
    /// Address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<CompanyAddress>,
    /// Website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Custom field values, at most one per id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomFieldEntry>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `phone_number` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(missing_docs, reason = "the v1 fields of the same name")]
pub struct PhoneItem {
    pub number: Option<LenientString>,
    pub extension: Option<LenientString>,
    #[serde(rename = "type")]
    pub kind: Option<LenientString>,
}

/// `fax_number` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(missing_docs, reason = "the v1 fields of the same name")]
pub struct FaxItem {
    pub number: Option<LenientString>,
    #[serde(rename = "type")]
    pub kind: Option<LenientString>,
}

/// `address` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(missing_docs, reason = "the v1 fields of the same name")]
pub struct AddressItem {
    pub line1: Option<LenientString>,
    pub line2: Option<LenientString>,
    pub locality: Option<LenientString>,
    pub region: Option<LenientString>,
    pub zip_code: Option<LenientString>,
    pub zip_four: Option<LenientString>,
    pub country_code: Option<LenientString>,
}

/// A company body for create and `PATCH` (`CreateOrPatchCompany`), as sent. Unknown and
/// read-only fields (`id`, `email_status`, `email_opted_in`, …) are ignored: the PHP SDK saves
/// by sending back what it read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §3)"
)]
pub struct CompanyBody {
    pub company_name: Field<LenientString>,
    pub email_address: Field<String>,
    pub phone_number: Field<PhoneItem>,
    pub fax_number: Field<FaxItem>,
    pub address: Field<AddressItem>,
    pub website: Field<String>,
    pub notes: Field<String>,
    pub custom_fields: Field<Vec<CustomFieldItem>>,
    pub opt_in_reason: Field<String>,
}

/// A validated change to a company: what [`CompanyDoc::apply`] consumes.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §3)"
)]
pub struct CompanyChanges {
    pub company_name: Field<String>,
    pub email_address: Field<String>,
    pub phone_number: Field<CompanyPhone>,
    pub fax_number: Field<CompanyFax>,
    pub address: Field<CompanyAddress>,
    pub website: Field<String>,
    pub notes: Field<String>,
    /// `(custom field id, content)`; `Value::Null` clears.
    pub custom_fields: Option<Vec<(i64, Value)>>,
    /// A non-empty reason: opt the address in.
    pub opt_in_reason: Option<String>,
}

fn phone(f: Field<PhoneItem>) -> Result<Field<CompanyPhone>, String> {
    Ok(match f {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(p) => match opt_text(p.number, "phone_number.number", MAX_NAME)? {
            None => Field::Null,
            Some(number) => Field::Set(CompanyPhone {
                number,
                extension: opt_text(p.extension, "phone_number.extension", MAX_NAME)?,
                kind: opt_text(p.kind, "phone_number.type", MAX_NAME)?,
            }),
        },
    })
}

fn fax(f: Field<FaxItem>) -> Result<Field<CompanyFax>, String> {
    Ok(match f {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(p) => match opt_text(p.number, "fax_number.number", MAX_NAME)? {
            None => Field::Null,
            Some(number) => Field::Set(CompanyFax {
                number,
                kind: opt_text(p.kind, "fax_number.type", MAX_NAME)?,
            }),
        },
    })
}

fn address(f: Field<AddressItem>) -> Result<Field<CompanyAddress>, String> {
    let item = match f {
        Field::Absent => return Ok(Field::Absent),
        Field::Null => return Ok(Field::Null),
        Field::Set(a) => a,
    };
    let t = |v: Option<LenientString>, name: &str| opt_text(v, name, MAX_TEXT);
    let mut a = CompanyAddress {
        line1: t(item.line1, "address.line1")?,
        line2: t(item.line2, "address.line2")?,
        locality: t(item.locality, "address.locality")?,
        region: t(item.region, "address.region")?,
        zip_code: t(item.zip_code, "address.zip_code")?,
        zip_four: t(item.zip_four, "address.zip_four")?,
        country_code: t(item.country_code, "address.country_code")?,
    };
    if a.zip_code.is_none() {
        a.zip_four = None;
    }
    if a == CompanyAddress::default() {
        return Ok(Field::Null);
    }
    if let Some(cc) = a.country_code.as_mut() {
        if cc.len() != 3 || !cc.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(
                "address.country_code must be an ISO 3166-1 alpha-3 code, e.g. USA".to_owned(),
            );
        }
        cc.make_ascii_uppercase();
    }
    if a.region.is_some() && a.country_code.is_none() {
        return Err("address.country_code is required when region is set".to_owned());
    }
    Ok(Field::Set(a))
}

impl CompanyBody {
    /// Validates the body.
    ///
    /// # Errors
    /// A message for the first invalid field (400).
    pub fn into_changes(self) -> Result<CompanyChanges, String> {
        let b = self;
        let email_address = text(
            b.email_address,
            "email_address",
            crate::crm::contact::MAX_EMAIL,
        )?;
        if let Field::Set(e) = &email_address
            && !is_valid_email(e)
        {
            return Err("email_address is not a valid e-mail address".to_owned());
        }
        let opt_in_reason = match b.opt_in_reason {
            Field::Set(r) => {
                let r = r.trim().to_owned();
                check_text("opt_in_reason", &r, MAX_TEXT)?;
                (!r.is_empty()).then_some(r)
            }
            _ => None,
        };
        Ok(CompanyChanges {
            company_name: lenient_text(b.company_name, "company_name", MAX_NAME)?,
            email_address,
            phone_number: phone(b.phone_number)?,
            fax_number: fax(b.fax_number)?,
            address: address(b.address)?,
            website: text(b.website, "website", MAX_TEXT)?,
            notes: text(b.notes, "notes", MAX_BODY)?,
            custom_fields: custom_values(b.custom_fields)?,
            opt_in_reason,
        })
    }
}

impl CompanyChanges {
    /// Every custom field id the change sets (for an existence check before storing).
    pub fn custom_field_ids(&self) -> Vec<i64> {
        self.custom_fields
            .iter()
            .flatten()
            .map(|(id, _)| *id)
            .collect()
    }
}

impl CompanyDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a company document (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored company is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// A new company (`POST /companies`).
    ///
    /// # Errors
    /// [`NAME_REQUIRED`].
    pub fn create(changes: &CompanyChanges) -> Result<Self, String> {
        let mut doc = CompanyDoc::default();
        doc.update(changes)?;
        Ok(doc)
    }

    /// Applies a `PATCH` (`company_name` not required, but it cannot be cleared).
    ///
    /// # Errors
    /// [`NAME_REQUIRED`] when the change would leave no name, or too many custom fields; the
    /// document is then partly changed and must be discarded.
    pub fn update(&mut self, changes: &CompanyChanges) -> Result<(), String> {
        self.apply(changes);
        if self.company_name.is_empty() {
            return Err(NAME_REQUIRED.to_owned());
        }
        if self.custom_fields.len() > MAX_CUSTOM_FIELDS {
            return Err(format!(
                "a company has at most {MAX_CUSTOM_FIELDS} custom field values"
            ));
        }
        Ok(())
    }

    /// Applies a change: fields sent replace (`null` or empty clears), custom fields merge by
    /// id, and the opt-in rule runs last: a new address starts `NonMarketable`, and
    /// `opt_in_reason` opts it in when its status allows (the contacts' rule, §1.6).
    fn apply(&mut self, ch: &CompanyChanges) {
        let mut name = (!self.company_name.is_empty()).then(|| self.company_name.clone());
        ch.company_name.apply_to(&mut name);
        self.company_name = name.unwrap_or_default();
        let old_email = self.email_address.as_deref().map(fold);
        ch.email_address.apply_to(&mut self.email_address);
        ch.phone_number.apply_to(&mut self.phone_number);
        ch.fax_number.apply_to(&mut self.fax_number);
        ch.address.apply_to(&mut self.address);
        ch.website.apply_to(&mut self.website);
        ch.notes.apply_to(&mut self.notes);
        if let Some(values) = &ch.custom_fields {
            merge_custom_fields(&mut self.custom_fields, values);
        }
        let new_email = self.email_address.as_deref().map(fold);
        if new_email.is_none() {
            self.email_status = None;
        } else if new_email != old_email {
            self.email_status = Some(EmailStatus::NonMarketable);
        }
        if let Some(reason) = &ch.opt_in_reason
            && self.email_address.is_some()
            && self
                .effective_email_status()
                .is_some_and(EmailStatus::can_opt_in)
        {
            self.email_status = Some(EmailStatus::SingleOptIn);
            self.opt_in_reason = Some(reason.clone());
        }
    }

    /// The `email_status` to show: the stored one, or `NonMarketable` for an address that
    /// never had one recorded.
    pub fn effective_email_status(&self) -> Option<EmailStatus> {
        self.email_address
            .as_ref()
            .map(|_| self.email_status.unwrap_or(EmailStatus::NonMarketable))
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.text[NAME_KEY] = Some(fold(self.company_name.trim()));
        keys.text[EMAIL_KEY] = self.email_address.as_deref().map(|e| fold(e.trim()));
        keys
    }

    /// One v1 field by name, or `None` for a name that is not a company field.
    fn wire_field(&self, name: &str, id: i64) -> Option<Value> {
        Some(match name {
            "id" => json!(id),
            "company_name" => json!(self.company_name),
            "email_address" => opt_str(self.email_address.as_deref()),
            "email_opted_in" => json!(
                self.effective_email_status()
                    .is_some_and(EmailStatus::is_opted_in)
            ),
            "email_status" => json!(self.effective_email_status()),
            "phone_number" => match &self.phone_number {
                Some(p) => json!({"number": p.number, "extension": p.extension, "type": p.kind}),
                None => Value::Null,
            },
            "fax_number" => match &self.fax_number {
                Some(f) => json!({"number": f.number, "type": f.kind}),
                None => Value::Null,
            },
            "address" => match &self.address {
                Some(a) => json!({
                    "line1": a.line1,
                    "line2": a.line2,
                    "locality": a.locality,
                    "region": a.region,
                    "zip_code": a.zip_code,
                    "zip_four": a.zip_four,
                    "country_code": a.country_code,
                }),
                None => Value::Null,
            },
            "website" => opt_str(self.website.as_deref()),
            "notes" => opt_str(self.notes.as_deref()),
            "custom_fields" => json!(self.custom_fields),
            _ => return None,
        })
    }

    /// The v1 JSON of this company: the default fields plus any known field named in
    /// `optional` (unknown names are ignored); `all` adds every optional field (write
    /// responses echo the whole company).
    pub fn render(&self, id: i64, optional: &[String], all: bool) -> Value {
        let mut out = Map::new();
        let extra: Vec<&str> = if all {
            OPTIONAL_PROPERTIES.to_vec()
        } else {
            optional.iter().map(String::as_str).collect()
        };
        for name in DEFAULT_FIELDS.iter().copied().chain(extra) {
            if out.contains_key(name) {
                continue;
            }
            if let Some(v) = self.wire_field(name, id) {
                out.insert(name.to_owned(), v);
            }
        }
        Value::Object(out)
    }
}

/// Fields of a company by default, in list and single responses alike.
pub const DEFAULT_FIELDS: &[&str] = &[
    "id",
    "company_name",
    "email_address",
    "email_opted_in",
    "email_status",
    "phone_number",
    "address",
    "website",
];

/// Fields shown only when named in `optional_properties` (`keap/rest-v1.md` §3).
pub const OPTIONAL_PROPERTIES: &[&str] = &["notes", "fax_number", "custom_fields"];

/// The `order` values of `GET /companies` (any ASCII case).
pub fn order_column(order: &str) -> Option<Column> {
    Some(match order.trim().to_ascii_lowercase().as_str() {
        "id" => Column::Id,
        "date_created" | "datecreated" => Column::CreatedAt,
        "name" | "company_name" => Column::Text(NAME_KEY),
        "email" | "email_address" => Column::Text(EMAIL_KEY),
        _ => return None,
    })
}

/// The `company_name=` filter value: exact, ASCII case ignored.
pub fn name_filter(name: &str) -> String {
    fold(name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(v: Value) -> Result<CompanyChanges, String> {
        serde_json::from_value::<CompanyBody>(v)
            .map_err(|e| e.to_string())?
            .into_changes()
    }

    #[test]
    fn create_needs_a_name_and_renders_like_keap() {
        assert_eq!(
            CompanyDoc::create(&changes(json!({"website": "x"})).expect("valid")),
            Err(NAME_REQUIRED.to_owned())
        );
        assert_eq!(
            CompanyDoc::create(&changes(json!({"company_name": "  "})).expect("valid")),
            Err(NAME_REQUIRED.to_owned())
        );
        let doc = CompanyDoc::create(
            &changes(json!({
                "company_name": " Acme ",
                "email_address": "info@acme.test",
                "phone_number": {"number": 5550100, "type": "Work"},
                "address": {"line1": "1 Main", "region": "CA", "country_code": "usa", "zip_code": 94016},
                "notes": "big",
                "id": 99, "email_status": "Confirmed"
            }))
            .expect("valid"),
        )
        .expect("valid");
        let v = doc.render(4, &[], false);
        assert_eq!(v["id"], 4);
        assert_eq!(v["company_name"], "Acme");
        assert_eq!(v["email_status"], "NonMarketable");
        assert_eq!(v["email_opted_in"], false);
        assert_eq!(
            v["phone_number"],
            json!({"number": "5550100", "extension": null, "type": "Work"})
        );
        assert_eq!(v["address"]["country_code"], "USA");
        assert_eq!(v["address"]["zip_code"], "94016");
        assert!(v.get("notes").is_none());
        let v = doc.render(4, &["notes".into(), "bogus".into()], false);
        assert_eq!(v["notes"], "big");
        assert!(v.get("bogus").is_none());
        let all = doc.render(4, &[], true);
        assert_eq!(all["fax_number"], Value::Null);
        assert_eq!(all["custom_fields"], json!([]));
        assert_eq!(doc.keys().text[NAME_KEY].as_deref(), Some("acme"));
    }

    #[test]
    fn patch_keeps_what_was_not_sent_and_cannot_clear_the_name() {
        let mut doc = CompanyDoc::create(
            &changes(json!({"company_name": "Acme", "website": "acme.test"})).expect("valid"),
        )
        .expect("valid");
        doc.update(&changes(json!({"notes": "n"})).expect("valid"))
            .expect("valid");
        assert_eq!(doc.company_name, "Acme");
        assert_eq!(doc.website.as_deref(), Some("acme.test"));
        assert_eq!(doc.notes.as_deref(), Some("n"));
        let mut d2 = doc.clone();
        assert!(
            d2.update(&changes(json!({"company_name": null})).expect("valid"))
                .is_err()
        );
        doc.update(&changes(json!({"website": null, "address": {}})).expect("valid"))
            .expect("valid");
        assert_eq!(doc.website, None);
        assert_eq!(doc.address, None);
    }

    #[test]
    fn opt_in_follows_the_contact_rule() {
        let mut doc = CompanyDoc::create(
            &changes(
                json!({"company_name": "A", "email_address": "a@b.co", "opt_in_reason": "asked"}),
            )
            .expect("valid"),
        )
        .expect("valid");
        assert_eq!(doc.email_status, Some(EmailStatus::SingleOptIn));
        assert_eq!(doc.render(1, &[], false)["email_opted_in"], true);
        // A new address starts over.
        doc.update(&changes(json!({"email_address": "other@b.co"})).expect("valid"))
            .expect("valid");
        assert_eq!(doc.email_status, Some(EmailStatus::NonMarketable));
        // A hard bounce stays.
        doc.email_status = Some(EmailStatus::HardBounce);
        doc.update(&changes(json!({"opt_in_reason": "again"})).expect("valid"))
            .expect("valid");
        assert_eq!(doc.email_status, Some(EmailStatus::HardBounce));
        doc.update(&changes(json!({"email_address": ""})).expect("valid"))
            .expect("valid");
        assert_eq!(doc.render(1, &[], false)["email_status"], Value::Null);
    }

    #[test]
    fn bad_fields_are_refused_with_a_message() {
        for bad in [
            json!({"company_name": "A", "email_address": "nope"}),
            json!({"company_name": "A", "address": {"region": "CA"}}),
            json!({"company_name": "A", "address": {"country_code": "US"}}),
            json!({"company_name": "x".repeat(300)}),
            json!({"company_name": "A", "custom_fields": [{"content": 1}]}),
        ] {
            assert!(changes(bad.clone()).is_err(), "{bad}");
        }
        assert!(changes(json!({"company_name": ["x"]})).is_err());
    }

    #[test]
    fn orders_by_known_columns_only() {
        assert_eq!(order_column("NAME"), Some(Column::Text(NAME_KEY)));
        assert_eq!(order_column("date_created"), Some(Column::CreatedAt));
        assert_eq!(order_column("x"), None);
    }
}
