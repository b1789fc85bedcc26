//! CRM objects beyond contacts and tags (`keap/rest-v1.md` §3–§6, §11): companies, notes,
//! tasks and opportunities as stored documents, what a client may send for each, how a change
//! is applied, their indexed keys and their v1 shapes; plus the static locale and option data
//! of `/locales/*` and `/setting/*`.
//!
//! Same split as [`crate::crm`]: nothing here does I/O. The server parses a body into a
//! `*Body`, turns it into validated `*Changes`, checks what needs the store (does the contact
//! exist? is the user a member?), and hands the pure functions here to the store's atomic edit
//! closures. Documents keep fields this version does not know (`extra`), so a document written
//! by a newer API survives an edit through an older one.

pub mod company;
pub mod locale;
pub mod note;
pub mod opportunity;
pub mod task;

use crate::crm::contact::{ContactDoc, CustomFieldEntry, CustomFieldItem, PhoneField};
use crate::crm::{Field, LenientI64, check_text};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Longest name-like value (titles, names, types), in characters.
pub const MAX_NAME: usize = 255;
/// Longest short free text (website, url, next action notes), in characters.
pub const MAX_TEXT: usize = 1024;
/// Longest long free text (note bodies, descriptions, company and opportunity notes).
pub const MAX_BODY: usize = 65_535;
/// Most values in one `custom_fields` list.
pub const MAX_CUSTOM_FIELDS: usize = 1000;

/// How a body is applied: a create, a `PUT` that replaces every writable field, or a `PATCH`
/// that changes only what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `POST`: a new record; fields not sent are empty.
    Create,
    /// `PUT`: the body is the whole object; fields not sent are cleared.
    Replace,
    /// `PATCH`: fields not sent stay as they are.
    Patch,
}

impl Mode {
    /// A field not sent: kept on `PATCH`, cleared on create and replace.
    pub(crate) fn absent<T>(self, f: Field<T>) -> Field<T> {
        match (self, f) {
            (Mode::Patch, f) => f,
            (_, Field::Absent) => Field::Null,
            (_, f) => f,
        }
    }
}

/// The user a write was made by (`last_updated_by` of a note), with the names they had then.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// User id.
    pub user_id: i64,
    /// First name.
    #[serde(default)]
    pub given_name: String,
    /// Last name.
    #[serde(default)]
    pub family_name: String,
}

/// What a task or an opportunity shows of its contact, read from the contact's current
/// document (`keap/rest-v1.md` §5, §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactSummary {
    /// Contact id.
    pub id: i64,
    /// `EMAIL1`, else the first address.
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Name of the contact's company, when it exists.
    pub company_name: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// `PHONE1`, else the first number.
    pub phone_number: Option<String>,
}

impl ContactSummary {
    /// The summary of a stored contact; `company_name` is the name of the company the contact
    /// points at (looked up by the caller).
    pub fn of(id: i64, doc: &ContactDoc, company_name: Option<String>) -> Self {
        let phone = doc
            .phone_numbers
            .iter()
            .find(|p| p.field == PhoneField::Phone1)
            .or_else(|| doc.phone_numbers.first())
            .map(|p| p.number.clone());
        Self {
            id,
            email: doc.primary_email().map(str::to_owned),
            first_name: doc.given_name.clone(),
            last_name: doc.family_name.clone(),
            company_name: doc.company_id.and(company_name),
            job_title: doc.job_title.clone(),
            phone_number: phone,
        }
    }
}

/// `{"id": N}` references as sent (`contact`, `stage`, `user`); other members (names read back
/// by the PHP SDK) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RefItem {
    /// The id.
    pub id: Option<LenientI64>,
}

/// A string that some clients send as a number (phone numbers, zip codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientString(pub String);

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Self(s)),
            Value::Number(n) => Ok(Self(n.to_string())),
            _ => Err(serde::de::Error::custom("expected a string")),
        }
    }
}

/// A number sent as a JSON number or a numeric string (money fields, `keap/rest-v1.md` §0.1).
/// Non-finite values are refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LenientF64(pub f64);

impl<'de> Deserialize<'de> for LenientF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = match Value::deserialize(d)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        v.filter(|f| f.is_finite())
            .map(Self)
            .ok_or_else(|| D::Error::custom("expected a number"))
    }
}

/// A boolean sent as `true`/`false`, as the strings `"true"`/`"false"` (any ASCII case), or as
/// `0`/`1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientBool(pub bool);

impl<'de> Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(Self(b)),
            Value::String(s) => parse_bool(&s)
                .map(Self)
                .ok_or_else(|| D::Error::custom("expected a boolean")),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Ok(Self(false)),
                Some(1) => Ok(Self(true)),
                _ => Err(D::Error::custom("expected a boolean")),
            },
            _ => Err(D::Error::custom("expected a boolean")),
        }
    }
}

/// `true`/`false` in any ASCII case (query parameters, `keap/rest-v1.md` §0.1).
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A free-text field: trimmed and checked; an empty string clears, like `null`.
pub(crate) fn text(f: Field<String>, name: &str, max: usize) -> Result<Field<String>, String> {
    match f.try_map(|s| {
        let s = s.trim().to_owned();
        check_text(name, &s, max)?;
        Ok::<_, String>(s)
    })? {
        Field::Set(s) if s.is_empty() => Ok(Field::Null),
        other => Ok(other),
    }
}

/// Like [`text`] for a value that may arrive as a number.
pub(crate) fn lenient_text(
    f: Field<LenientString>,
    name: &str,
    max: usize,
) -> Result<Field<String>, String> {
    text(
        match f {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Set(s) => Field::Set(s.0),
        },
        name,
        max,
    )
}

/// An optional item string: trimmed, checked, empty → `None`.
pub(crate) fn opt_text(
    v: Option<LenientString>,
    name: &str,
    max: usize,
) -> Result<Option<String>, String> {
    match v.map(|s| s.0.trim().to_owned()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            check_text(name, &s, max)?;
            Ok(Some(s))
        }
    }
}

/// An id reference: ≤ 0 (Keap's "none") clears.
pub(crate) fn id_field(f: Field<LenientI64>) -> Field<i64> {
    match f {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(LenientI64(i)) if i > 0 => Field::Set(i),
        Field::Set(_) => Field::Null,
    }
}

/// A `{"id": N}` reference: a missing id or one ≤ 0 clears.
pub(crate) fn ref_field(f: Field<RefItem>) -> Field<i64> {
    match f {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(r) => id_field(r.id.map_or(Field::Null, Field::Set)),
    }
}

/// A date-time field in any form `crate::crm::date::parse_datetime` accepts; empty clears.
pub(crate) fn datetime(f: Field<String>, name: &str) -> Result<Field<OffsetDateTime>, String> {
    match f {
        Field::Set(s) if s.trim().is_empty() => Ok(Field::Null),
        f => f.try_map(|s| {
            crate::crm::date::parse_datetime(&s).map_err(|_| {
                format!("{name} must be a date-time, e.g. 2024-11-07T20:35:13.000+0000")
            })
        }),
    }
}

/// An int32 field (`priority`, `include_in_forecast`).
pub(crate) fn int32(f: Field<LenientI64>, name: &str) -> Result<Field<i64>, String> {
    f.try_map(|LenientI64(i)| {
        if i32::try_from(i).is_ok() {
            Ok(i)
        } else {
            Err(format!("{name} must be a 32-bit integer"))
        }
    })
}

/// Validated `custom_fields` values: `(custom field id, content)`, the last value of an id
/// winning; `Value::Null` clears. `None` when the list was not sent.
///
/// # Errors
/// Too many values, or an item without an id.
pub(crate) fn custom_values(
    f: Field<Vec<CustomFieldItem>>,
) -> Result<Option<Vec<(i64, Value)>>, String> {
    let Field::Set(items) = f else {
        return Ok(None);
    };
    if items.len() > MAX_CUSTOM_FIELDS {
        return Err(format!(
            "custom_fields takes at most {MAX_CUSTOM_FIELDS} values"
        ));
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
    Ok(Some(out))
}

/// Merges custom-field values by id: `null` clears, anything else sets.
pub(crate) fn merge_custom_fields(list: &mut Vec<CustomFieldEntry>, values: &[(i64, Value)]) {
    for (id, content) in values {
        let pos = list.iter().position(|c| c.id == *id);
        match (pos, content.is_null()) {
            (Some(i), true) => {
                list.remove(i);
            }
            (Some(i), false) => list[i].content = content.clone(),
            (None, true) => {}
            (None, false) => list.push(CustomFieldEntry {
                id: *id,
                content: content.clone(),
            }),
        }
    }
}

/// `Some(v)` as a JSON string, `None` as `null`.
pub(crate) fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// An optional date-time in Keap's v1 output form, or `null`.
pub(crate) fn opt_datetime(v: Option<OffsetDateTime>) -> Value {
    v.map_or(Value::Null, |t| {
        Value::String(crate::crm::date::format_datetime(t))
    })
}

/// Whether `haystack` contains `needle` ignoring ASCII case (`needle` already folded).
pub(crate) fn contains_folded(haystack: Option<&str>, needle: &str) -> bool {
    haystack.is_some_and(|h| crate::crm::fold(h).contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct B {
        s: Field<LenientString>,
        f: Option<LenientF64>,
        b: Option<LenientBool>,
    }

    #[test]
    fn lenient_values_take_the_forms_clients_send() {
        let b: B = serde_json::from_str(r#"{"s": 12345, "f": "19.99", "b": "TRUE"}"#).expect("ok");
        assert_eq!(b.s, Field::Set(LenientString("12345".into())));
        assert_eq!(b.f, Some(LenientF64(19.99)));
        assert_eq!(b.b, Some(LenientBool(true)));
        for bad in [
            r#"{"f": "NaN"}"#,
            r#"{"f": true}"#,
            r#"{"b": "yes"}"#,
            r#"{"b": 2}"#,
            r#"{"s": []}"#,
        ] {
            assert!(serde_json::from_str::<B>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_trims_checks_and_treats_empty_as_clear() {
        assert_eq!(
            text(Field::Set("  x ".into()), "t", 5),
            Ok(Field::Set("x".into()))
        );
        assert_eq!(text(Field::Set("   ".into()), "t", 5), Ok(Field::Null));
        assert!(text(Field::Set("toolong".into()), "t", 5).is_err());
        assert!(text(Field::Set("a\0".into()), "t", 5).is_err());
        assert_eq!(text(Field::Absent, "t", 5), Ok(Field::Absent));
    }

    #[test]
    fn modes_clear_or_keep_what_was_not_sent() {
        assert_eq!(Mode::Patch.absent::<i64>(Field::Absent), Field::Absent);
        assert_eq!(Mode::Replace.absent::<i64>(Field::Absent), Field::Null);
        assert_eq!(Mode::Create.absent(Field::Set(1)), Field::Set(1));
    }

    #[test]
    fn references_below_one_clear() {
        assert_eq!(id_field(Field::Set(LenientI64(0))), Field::Null);
        assert_eq!(id_field(Field::Set(LenientI64(7))), Field::Set(7));
        assert_eq!(ref_field(Field::Set(RefItem { id: None })), Field::Null);
    }

    #[test]
    fn custom_values_merge_by_id() {
        let mut list = vec![CustomFieldEntry {
            id: 1,
            content: Value::from("a"),
        }];
        merge_custom_fields(
            &mut list,
            &[(1, Value::Null), (2, Value::from(3)), (3, Value::Null)],
        );
        assert_eq!(
            list,
            vec![CustomFieldEntry {
                id: 2,
                content: Value::from(3)
            }]
        );
    }

    #[test]
    fn int32_refuses_wider_values() {
        assert!(int32(Field::Set(LenientI64(1 << 40)), "p").is_err());
        assert_eq!(int32(Field::Set(LenientI64(3)), "p"), Ok(Field::Set(3)));
    }
}
