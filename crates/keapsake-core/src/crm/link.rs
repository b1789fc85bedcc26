//! Contact links (XML-RPC `ContactService.linkContacts`/`unlinkContacts`/`listLinkedContacts`,
//! `keap/xmlrpc.md` §4.1; REST v2 `contacts:link`, `contacts:unlink`, `/contacts/{id}/links`,
//! `/contacts/links/types`): two contacts joined by a link type the account defines (`Spouse`,
//! at most 1 per contact; …).
//!
//! A link is a record of its own ([`LinkDoc`]) whose unique key is the unordered pair and the
//! type, so the same two contacts are linked once per type whichever way round they are named.
//! The per-contact limit of a type (`max_links`) is checked by the caller against the contact's
//! current links before the insert.
//!
//! Index layout: links `n0` first contact, `n1` second contact, `n2` type; types `k0` the folded
//! name (unique).

use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Integer key of a link's first contact.
pub const CONTACT1_KEY: usize = 0;
/// Integer key of a link's second contact.
pub const CONTACT2_KEY: usize = 1;
/// Integer key of a link's type.
pub const TYPE_KEY: usize = 2;
/// Text key of a type's folded name.
pub const NAME_KEY: usize = 0;

/// Longest type name.
pub const MAX_NAME: usize = 255;

/// A link type as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkTypeDoc {
    /// Name (unique in the account, ASCII case-insensitively).
    pub name: String,
    /// How many links of this type one contact may have (≥ 1).
    pub max_links: i64,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LinkTypeDoc {
    /// A type from a name and a limit, validated.
    ///
    /// # Errors
    /// A message for the client.
    pub fn new(name: &str, max_links: i64) -> Result<LinkTypeDoc, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("name is required".to_owned());
        }
        super::check_text("name", name, MAX_NAME)?;
        if max_links < 1 {
            return Err("max_links must be greater than 0".to_owned());
        }
        Ok(LinkTypeDoc {
            name: name.to_owned(),
            max_links,
            extra: Map::new(),
        })
    }

    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a link type.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored link type is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The indexed keys (the folded name is unique).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.text[NAME_KEY] = Some(super::fold(&self.name));
        keys.unique = Some(super::fold(&self.name));
        keys
    }
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkDoc {
    /// The contact named first.
    pub contact1_id: i64,
    /// The contact named second.
    pub contact2_id: i64,
    /// The type.
    pub link_type_id: i64,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LinkDoc {
    /// A link between two different contacts.
    ///
    /// # Errors
    /// A contact linked to itself; ids that are not positive.
    pub fn new(contact1_id: i64, contact2_id: i64, link_type_id: i64) -> Result<LinkDoc, String> {
        if contact1_id <= 0 || contact2_id <= 0 || link_type_id <= 0 {
            return Err("contact and link type ids must be positive".to_owned());
        }
        if contact1_id == contact2_id {
            return Err("A contact cannot be linked to itself".to_owned());
        }
        Ok(LinkDoc {
            contact1_id,
            contact2_id,
            link_type_id,
            extra: Map::new(),
        })
    }

    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a link.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored contact link is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The unique key of the unordered pair and the type.
    pub fn pair_key(contact1_id: i64, contact2_id: i64, link_type_id: i64) -> String {
        let (a, b) = if contact1_id <= contact2_id {
            (contact1_id, contact2_id)
        } else {
            (contact2_id, contact1_id)
        };
        format!("{a}:{b}:{link_type_id}")
    }

    /// The indexed keys.
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT1_KEY] = Some(self.contact1_id);
        keys.int[CONTACT2_KEY] = Some(self.contact2_id);
        keys.int[TYPE_KEY] = Some(self.link_type_id);
        keys.unique = Some(Self::pair_key(
            self.contact1_id,
            self.contact2_id,
            self.link_type_id,
        ));
        keys
    }

    /// Whether this link joins `a` and `b` (either way round) with `link_type_id`.
    pub fn joins(&self, a: i64, b: i64, link_type_id: i64) -> bool {
        self.link_type_id == link_type_id
            && ((self.contact1_id, self.contact2_id) == (a, b)
                || (self.contact1_id, self.contact2_id) == (b, a))
    }

    /// The contact at the other end from `contact`.
    pub fn other(&self, contact: i64) -> i64 {
        if self.contact1_id == contact {
            self.contact2_id
        } else {
            self.contact1_id
        }
    }

    /// The v2 `ContactLink` shape (string ids).
    pub fn render_v2(&self, type_name: Option<&str>) -> Value {
        json!({
            "contact1_id": self.contact1_id.to_string(),
            "contact2_id": self.contact2_id.to_string(),
            "link_type_id": self.link_type_id.to_string(),
            "link_type_name": type_name,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_pair_is_one_link_per_type_whichever_way_round() {
        let a = LinkDoc::new(3, 9, 1).unwrap();
        let b = LinkDoc::new(9, 3, 1).unwrap();
        assert_eq!(a.keys().unique, b.keys().unique);
        assert_ne!(
            a.keys().unique,
            LinkDoc::new(3, 9, 2).unwrap().keys().unique
        );
        assert!(a.joins(9, 3, 1));
        assert!(!a.joins(9, 3, 2));
        assert_eq!(a.other(3), 9);
        assert_eq!(a.other(9), 3);
        assert!(LinkDoc::new(4, 4, 1).is_err());
        assert!(LinkDoc::new(0, 4, 1).is_err());
        assert_eq!(LinkDoc::from_value(&a.to_value()).unwrap(), a);
    }

    #[test]
    fn types_need_a_name_and_a_positive_limit() {
        let t = LinkTypeDoc::new(" Spouse ", 1).unwrap();
        assert_eq!(t.name, "Spouse");
        assert_eq!(t.keys().unique.as_deref(), Some("spouse"));
        assert!(LinkTypeDoc::new("", 1).is_err());
        assert!(LinkTypeDoc::new("Friend", 0).is_err());
        assert!(LinkTypeDoc::new(&"x".repeat(256), 1).is_err());
    }
}
