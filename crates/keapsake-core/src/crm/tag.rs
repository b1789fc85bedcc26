//! Tags and tag categories (`keap/rest-v1.md` §2): stored documents, create validation, keys,
//! the apply-result values (§2.4) and the v1 shapes.
//!
//! Index layout. Tag: `k0` = the name exactly as stored (the `name=` filter is an exact,
//! full-string match), `n0` = category id, `unique` = the folded name (a tag name is unique per
//! account, ignoring ASCII case). Category: `k0` = the name.

use super::{check_text, fold};
use crate::records::{Keys, LinkOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Longest tag or category name, in characters.
pub const MAX_NAME: usize = 255;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 1024;
/// Most ids one apply or remove request may carry.
pub const MAX_IDS: usize = 1000;

/// Text key of the exact tag name.
pub const NAME_KEY: usize = 0;
/// Integer key of the tag's category.
pub const CATEGORY_KEY: usize = 0;

/// A tag as stored (the `data` of a [`crate::records::RecordKind::Tag`] record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagDoc {
    /// Name, unique per account ignoring ASCII case.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category ([`crate::records::RecordKind::TagCategory`] id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<i64>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tag category as stored (the `data` of a [`crate::records::RecordKind::TagCategory`]
/// record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagCategoryDoc {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `category` of `POST /tags`: `{"id": N}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CategoryRef {
    /// Category id.
    pub id: Option<super::LenientI64>,
}

/// The body of `POST /tags`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewTagBody {
    /// Name (required).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Category reference.
    pub category: Option<CategoryRef>,
}

/// The body of `POST /tags/categories`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewCategoryBody {
    /// Name (required).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
}

fn required_name(name: Option<String>, what: &str) -> Result<String, String> {
    let name = name.map(|s| s.trim().to_owned()).unwrap_or_default();
    if name.is_empty() {
        return Err(format!("{what} name is required"));
    }
    check_text("name", &name, MAX_NAME)?;
    Ok(name)
}

fn description(d: Option<String>) -> Result<Option<String>, String> {
    match d {
        None => Ok(None),
        Some(d) => {
            check_text("description", &d, MAX_DESCRIPTION)?;
            Ok(Some(d))
        }
    }
}

impl NewTagBody {
    /// Validates the body into a document. A category id ≤ 0 means none; whether a positive
    /// one exists is for the caller to check.
    ///
    /// # Errors
    /// A message for the first invalid field.
    pub fn into_doc(self) -> Result<TagDoc, String> {
        Ok(TagDoc {
            name: required_name(self.name, "Tag")?,
            description: description(self.description)?,
            category_id: self
                .category
                .and_then(|c| c.id)
                .map(|i| i.0)
                .filter(|i| *i > 0),
            extra: Map::new(),
        })
    }
}

impl NewCategoryBody {
    /// Validates the body into a document.
    ///
    /// # Errors
    /// A message for the first invalid field.
    pub fn into_doc(self) -> Result<TagCategoryDoc, String> {
        Ok(TagCategoryDoc {
            name: required_name(self.name, "Tag category")?,
            description: description(self.description)?,
            extra: Map::new(),
        })
    }
}

impl TagDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a tag (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored tag is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The indexed keys.
    pub fn keys(&self) -> Keys {
        let mut k = Keys::default();
        k.text[NAME_KEY] = Some(self.name.clone());
        k.int[CATEGORY_KEY] = self.category_id;
        k.unique = Some(fold(&self.name));
        k
    }

    /// The v1 `Tag`: `{"id","name","description","category"}`, `category` being the full
    /// category object or `null`.
    pub fn render(&self, id: i64, category: Option<(i64, &TagCategoryDoc)>) -> Value {
        json!({
            "id": id,
            "name": self.name,
            "description": self.description,
            "category": category.map(|(cid, c)| c.render(cid)),
        })
    }

    /// The v1 `SimpleTag` of `GET /contacts/{id}/tags`: `category` is the category's **name**.
    pub fn render_simple(&self, id: i64, category: Option<&TagCategoryDoc>) -> Value {
        json!({
            "id": id,
            "name": self.name,
            "category": category.map(|c| c.name.as_str()),
        })
    }
}

impl TagCategoryDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a category (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored tag category is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The indexed keys.
    pub fn keys(&self) -> Keys {
        let mut k = Keys::default();
        k.text[NAME_KEY] = Some(self.name.clone());
        k
    }

    /// The v1 `TagCategory`: `{"id","name","description"}`.
    pub fn render(&self, id: i64) -> Value {
        json!({"id": id, "name": self.name, "description": self.description})
    }
}

/// The value of one id in an apply-result map (`keap/rest-v1.md` §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyResult {
    /// Applied now.
    Success,
    /// Was already applied (its original `date_applied` kept).
    Duplicate,
    /// No such contact in this account.
    ContactNotFound,
    /// No such tag in this account.
    TagIdNotFound,
    /// Anything else.
    Failure,
    /// Not allowed.
    NoPermission,
}

impl ApplyResult {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Duplicate => "DUPLICATE",
            Self::ContactNotFound => "CONTACT_NOT_FOUND",
            Self::TagIdNotFound => "TAG_ID_NOT_FOUND",
            Self::Failure => "FAILURE",
            Self::NoPermission => "NO_PERMISSION",
        }
    }

    /// The result for a store outcome of a `(contact, tag)` link.
    pub fn of(outcome: LinkOutcome) -> Self {
        match outcome {
            LinkOutcome::Linked => Self::Success,
            LinkOutcome::AlreadyLinked => Self::Duplicate,
            LinkOutcome::MissingA => Self::ContactNotFound,
            LinkOutcome::MissingB => Self::TagIdNotFound,
        }
    }
}

/// Builds the apply-result map, keyed by the ids the client sent, in ascending order: a JSON
/// object `{"<id>":"<RESULT>"}`.
pub fn result_map(results: impl IntoIterator<Item = (i64, ApplyResult)>) -> Value {
    let sorted: std::collections::BTreeMap<i64, &'static str> = results
        .into_iter()
        .map(|(id, r)| (id, r.as_str()))
        .collect();
    Value::Object(
        sorted
            .into_iter()
            .map(|(id, r)| (id.to_string(), Value::String(r.to_owned())))
            .collect(),
    )
}

/// De-duplicates ids, keeping the first occurrence.
///
/// # Errors
/// More than [`MAX_IDS`] distinct ids.
pub fn distinct_ids(ids: impl IntoIterator<Item = i64>) -> Result<Vec<i64>, String> {
    let mut seen = std::collections::HashSet::new();
    let out: Vec<i64> = ids.into_iter().filter(|i| seen.insert(*i)).collect();
    if out.len() > MAX_IDS {
        return Err(format!("At most {MAX_IDS} ids per request"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_needs_a_name_and_keeps_a_positive_category() {
        let err = NewTagBody::default().into_doc().expect_err("refused");
        assert_eq!(err, "Tag name is required");
        let b: NewTagBody =
            serde_json::from_value(json!({"name": "  VIP ", "category": {"id": 10}}))
                .expect("body");
        let doc = b.into_doc().expect("valid");
        assert_eq!(doc.name, "VIP");
        assert_eq!(doc.category_id, Some(10));
        let b: NewTagBody =
            serde_json::from_value(json!({"name": "x", "category": {"id": 0}})).expect("body");
        assert_eq!(b.into_doc().expect("valid").category_id, None);
        let b: NewTagBody = serde_json::from_value(json!({"name": "a\u{0}"})).expect("body");
        assert!(b.into_doc().is_err());
    }

    #[test]
    fn keys_make_names_unique_ignoring_ascii_case() {
        let doc = TagDoc {
            name: "Nurture Subscriber".into(),
            category_id: Some(3),
            ..TagDoc::default()
        };
        let k = doc.keys();
        assert_eq!(k.text[0].as_deref(), Some("Nurture Subscriber"));
        assert_eq!(k.int[0], Some(3));
        assert_eq!(k.unique.as_deref(), Some("nurture subscriber"));
    }

    #[test]
    fn shapes() {
        let cat = TagCategoryDoc {
            name: "Newsletter".into(),
            description: Some(String::new()),
            ..Default::default()
        };
        let tag = TagDoc {
            name: "Nurture".into(),
            description: None,
            category_id: Some(10),
            ..Default::default()
        };
        assert_eq!(
            tag.render(91, Some((10, &cat))),
            json!({"id": 91, "name": "Nurture", "description": null, "category": {"id": 10, "name": "Newsletter", "description": ""}})
        );
        assert_eq!(tag.render(91, None)["category"], Value::Null);
        assert_eq!(
            tag.render_simple(91, Some(&cat)),
            json!({"id": 91, "name": "Nurture", "category": "Newsletter"})
        );
    }

    #[test]
    fn result_map_is_an_object_keyed_by_id() {
        let m = result_map([
            (456, ApplyResult::of(LinkOutcome::AlreadyLinked)),
            (123, ApplyResult::of(LinkOutcome::Linked)),
            (789, ApplyResult::of(LinkOutcome::MissingA)),
            (5, ApplyResult::of(LinkOutcome::MissingB)),
        ]);
        assert_eq!(
            m,
            json!({"123": "SUCCESS", "456": "DUPLICATE", "789": "CONTACT_NOT_FOUND", "5": "TAG_ID_NOT_FOUND"})
        );
    }

    #[test]
    fn ids_are_deduplicated_and_capped() {
        assert_eq!(distinct_ids([3, 1, 3, 2, 1]), Ok(vec![3, 1, 2]));
        assert!(distinct_ids(0..=i64::try_from(MAX_IDS).expect("small")).is_err());
    }
}
