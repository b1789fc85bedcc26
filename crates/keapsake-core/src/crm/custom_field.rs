//! Custom-field definitions (`POST /contacts/model/customFields`, `GET /contacts/model`;
//! `keap/rest-v1.md` §1.2): the stored document of a
//! [`crate::records::RecordKind::CustomField`] record, create validation and the
//! `CustomFieldMetaData` shape.
//!
//! Index layout: `k0` = record type (`CONTACT`, `COMPANY`, …) so each model lists its own
//! fields; `unique` = `<record type>:<field_name>`, so one record type never has two fields
//! with one database name.

use super::{check_text, wire_enum};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Longest label, in characters.
pub const MAX_LABEL: usize = 255;
/// Most options (counted over every nesting level).
pub const MAX_OPTIONS: usize = 1000;
/// Deepest option nesting (Drilldown fields nest; nothing else does).
pub const MAX_OPTION_DEPTH: usize = 4;
/// Text key of the record type.
pub const RECORD_TYPE_KEY: usize = 0;

wire_enum!(
    /// The type of a custom field (`field_type`).
    FieldType {
        /// Currency.
        Currency = "Currency",
        /// Date.
        Date = "Date",
        /// Date and time.
        DateTime = "DateTime",
        /// Day of week.
        DayOfWeek = "DayOfWeek",
        /// Nested options.
        Drilldown = "Drilldown",
        /// E-mail.
        Email = "Email",
        /// Month.
        Month = "Month",
        /// Multi-select list.
        ListBox = "ListBox",
        /// Name.
        Name = "Name",
        /// Whole number.
        WholeNumber = "WholeNumber",
        /// Decimal number.
        DecimalNumber = "DecimalNumber",
        /// Percent.
        Percent = "Percent",
        /// Phone number.
        PhoneNumber = "PhoneNumber",
        /// Radio buttons.
        Radio = "Radio",
        /// Drop-down.
        Dropdown = "Dropdown",
        /// Social security number.
        SocialSecurityNumber = "SocialSecurityNumber",
        /// State.
        State = "State",
        /// Single-line text.
        Text = "Text",
        /// Multi-line text.
        TextArea = "TextArea",
        /// A user.
        User = "User",
        /// Several users.
        UserListBox = "UserListBox",
        /// Website.
        Website = "Website",
        /// Year.
        Year = "Year",
        /// Yes/no.
        YesNo = "YesNo",
    }
);

wire_enum!(
    /// Which object a custom field belongs to (`record_type`).
    RecordType {
        /// Contacts.
        Contact = "CONTACT",
        /// Referral partners.
        ReferralPartner = "REFERRAL_PARTNER",
        /// Opportunities.
        Opportunity = "OPPORTUNITY",
        /// Tasks, notes and appointments.
        TaskNoteAppointment = "TASK_NOTE_APPOINTMENT",
        /// Companies.
        Company = "COMPANY",
        /// Orders.
        Order = "ORDER",
        /// Subscriptions.
        Subscription = "SUBSCRIPTION",
    }
);

/// An option of a list-type field, as stored and shown (`CustomFieldOption`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionDoc {
    /// Option id: Keap's are strings; keapsake uses the label.
    pub id: String,
    /// Label.
    pub label: String,
    /// Nested options (Drilldown).
    #[serde(default)]
    pub options: Vec<OptionDoc>,
}

/// A custom-field definition as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldDoc {
    /// Label shown in the UI.
    pub label: String,
    /// Database name derived from the label (lower-case ASCII letters and digits).
    pub field_name: String,
    /// Type.
    pub field_type: FieldType,
    /// Object it belongs to.
    pub record_type: RecordType,
    /// Options (list types).
    #[serde(default)]
    pub options: Vec<OptionDoc>,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    /// UI tab group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// User group for User/UserListBox fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_group_id: Option<i64>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An option as sent (`CreateRestCustomFieldOption`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OptionBody {
    /// Label (required).
    pub label: Option<String>,
    /// Nested options.
    pub options: Vec<OptionBody>,
}

/// The body of `POST /contacts/model/customFields` (`CreateRestCustomField`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewCustomFieldBody {
    /// Label (required).
    pub label: Option<String>,
    /// Type (required).
    pub field_type: Option<String>,
    /// Options.
    pub options: Vec<OptionBody>,
    /// UI tab group.
    pub group_id: Option<super::LenientI64>,
    /// User group.
    pub user_group_id: Option<super::LenientI64>,
}

/// The database name Keap derives from a label: its ASCII letters and digits, lower-cased
/// (captured: label `job_description` → `jobdescription`).
pub fn field_name(label: &str) -> String {
    label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn options(
    list: Vec<OptionBody>,
    depth: usize,
    count: &mut usize,
) -> Result<Vec<OptionDoc>, String> {
    if depth > MAX_OPTION_DEPTH && !list.is_empty() {
        return Err(format!("options nest at most {MAX_OPTION_DEPTH} levels"));
    }
    let mut out: Vec<OptionDoc> = Vec::with_capacity(list.len());
    for o in list {
        *count += 1;
        if *count > MAX_OPTIONS {
            return Err(format!("at most {MAX_OPTIONS} options"));
        }
        let label = o.label.map(|s| s.trim().to_owned()).unwrap_or_default();
        if label.is_empty() {
            return Err("options[].label is required".to_owned());
        }
        check_text("options[].label", &label, MAX_LABEL)?;
        if out.iter().any(|x| x.label == label) {
            return Err(format!("option {label:?} appears more than once"));
        }
        out.push(OptionDoc {
            id: label.clone(),
            label,
            options: options(o.options, depth + 1, count)?,
        });
    }
    Ok(out)
}

impl NewCustomFieldBody {
    /// Validates the body into a definition of `record_type`.
    ///
    /// # Errors
    /// A message for the first invalid field.
    pub fn into_doc(self, record_type: RecordType) -> Result<CustomFieldDoc, String> {
        let label = self.label.map(|s| s.trim().to_owned()).unwrap_or_default();
        if label.is_empty() {
            return Err("label is required".to_owned());
        }
        check_text("label", &label, MAX_LABEL)?;
        let name = field_name(&label);
        if name.is_empty() {
            return Err("label must contain at least one ASCII letter or digit".to_owned());
        }
        let ft = self
            .field_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| "field_type is required".to_owned())?;
        let field_type = FieldType::parse(ft).ok_or_else(|| {
            let all: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
            format!(
                "Invalid field_type {ft:?}; expected one of {}",
                all.join(", ")
            )
        })?;
        let mut count = 0;
        Ok(CustomFieldDoc {
            label,
            field_name: name,
            field_type,
            record_type,
            options: options(self.options, 1, &mut count)?,
            default_value: None,
            group_id: self.group_id.map(|g| g.0),
            user_group_id: self.user_group_id.map(|g| g.0),
            extra: Map::new(),
        })
    }
}

impl CustomFieldDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a custom-field definition (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored custom field is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The indexed keys.
    pub fn keys(&self) -> Keys {
        let mut k = Keys::default();
        k.text[RECORD_TYPE_KEY] = Some(self.record_type.as_str().to_owned());
        k.unique = Some(format!("{}:{}", self.record_type.as_str(), self.field_name));
        k
    }

    /// The v1 `CustomFieldMetaData`.
    pub fn render(&self, id: i64) -> Value {
        json!({
            "id": id,
            "label": self.label,
            "options": self.options,
            "record_type": self.record_type.as_str(),
            "field_type": self.field_type.as_str(),
            "field_name": self.field_name,
            "default_value": self.default_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> NewCustomFieldBody {
        serde_json::from_value(v).expect("a body")
    }

    #[test]
    fn creates_a_definition_like_keap_shows_it() {
        let doc = body(json!({"label": "job_description", "field_type": "text"}))
            .into_doc(RecordType::Contact)
            .expect("valid");
        assert_eq!(
            doc.render(8),
            json!({"id": 8, "label": "job_description", "options": [], "record_type": "CONTACT",
                   "field_type": "Text", "field_name": "jobdescription", "default_value": null})
        );
        assert_eq!(doc.keys().unique.as_deref(), Some("CONTACT:jobdescription"));
        assert_eq!(doc.keys().text[0].as_deref(), Some("CONTACT"));
    }

    #[test]
    fn options_get_ids_and_nest() {
        let doc = body(json!({"label": "Colour", "field_type": "Drilldown",
            "options": [{"label": "Red", "options": [{"label": "Dark"}]}, {"label": "Blue"}]}))
        .into_doc(RecordType::Contact)
        .expect("valid");
        assert_eq!(doc.options[0].id, "Red");
        assert_eq!(doc.options[0].options[0].label, "Dark");
    }

    #[test]
    fn refuses_bad_bodies() {
        for (v, needle) in [
            (json!({"field_type": "Text"}), "label is required"),
            (json!({"label": "x"}), "field_type is required"),
            (
                json!({"label": "x", "field_type": "Blob"}),
                "Invalid field_type",
            ),
            (
                json!({"label": "---", "field_type": "Text"}),
                "ASCII letter",
            ),
            (
                json!({"label": "x", "field_type": "Radio", "options": [{}]}),
                "label is required",
            ),
            (
                json!({"label": "x", "field_type": "Radio", "options": [{"label": "a"}, {"label": "a"}]}),
                "more than once",
            ),
            (
                json!({"label": "x", "field_type": "Drilldown", "options": [{"label": "1", "options": [{"label": "2", "options": [{"label": "3", "options": [{"label": "4", "options": [{"label": "5"}]}]}]}]}]}),
                "nest",
            ),
        ] {
            let err = body(v.clone())
                .into_doc(RecordType::Contact)
                .expect_err("refused");
            assert!(err.contains(needle), "{v}: {err}");
        }
    }
}
