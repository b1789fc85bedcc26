//! E-commerce (`keap/rest-v1.md` §7–§8): products with their subscription plans, image and
//! inventory count; orders with their items and payments; exact money ([`money`]).
//!
//! Same split as [`crate::crm_more`]: nothing here does I/O. The server parses a body into a
//! `*Body`, turns it into validated input, looks up what needs the store (the contact, the
//! products), and hands the pure functions here to the store's atomic edit closures. An order,
//! its items and its payments are one document, so every change to an order (a payment above
//! all) is one atomic read-modify-write.
//!
//! Ids of things inside a document (a product's plans, an order's items and payments) are
//! [`child_id`]s: `parent id × 10 000 + n` with `n` from a counter in the document that never
//! goes back. They are unique in the account (a transaction is found from its id alone) and
//! never reused, without a record of their own.

pub mod card;
pub mod money;
pub mod order;
pub mod product;
pub mod subscription;

use serde_json::Value;

/// Most children (plans, items, payments) one document ever gets.
pub const MAX_CHILDREN: i64 = 9_999;

/// The id of the `n`th child (from 1) of `parent`; `None` past [`MAX_CHILDREN`] or beyond int64.
pub fn child_id(parent: i64, n: i64) -> Option<i64> {
    if !(1..=MAX_CHILDREN).contains(&n) {
        return None;
    }
    parent.checked_mul(MAX_CHILDREN + 1)?.checked_add(n)
}

/// The parent of a [`child_id`] (`None` for ids no parent can have).
pub fn parent_of(child: i64) -> Option<i64> {
    let parent = child / (MAX_CHILDREN + 1);
    let n = child % (MAX_CHILDREN + 1);
    (parent > 0 && n > 0).then_some(parent)
}

/// An int32 member: a JSON integer (or a string of digits) within int32.
pub(crate) fn int32(v: &Value, name: &str) -> Result<i64, String> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| format!("{name} must be a 32-bit integer"))
}

/// An int64 id member: a JSON integer or a string of digits.
pub(crate) fn int64(v: &Value, name: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{name} must be an integer"))
}

/// A boolean member: `true`/`false`, `"true"`/`"false"` or `0`/`1`.
pub(crate) fn boolean(v: &Value, name: &str) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => crate::crm_more::parse_bool(s),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| format!("{name} must be true or false"))
}

/// A text member: a string (or a number, as some clients send zip codes), trimmed, checked;
/// empty is `None`.
pub(crate) fn text(v: &Value, name: &str, max: usize) -> Result<Option<String>, String> {
    let s = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(format!("{name} must be a string")),
    };
    crate::crm::check_text(name, &s, max)?;
    Ok((!s.is_empty()).then_some(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn child_ids_are_unique_and_point_back() {
        assert_eq!(child_id(1, 1), Some(10_001));
        assert_eq!(child_id(12, 9_999), Some(129_999));
        assert_eq!(child_id(1, 10_000), None);
        assert_eq!(child_id(1, 0), None);
        assert_eq!(child_id(i64::MAX, 1), None);
        assert_eq!(parent_of(129_999), Some(12));
        assert_eq!(parent_of(120_000), None);
        assert_eq!(parent_of(5), None);
        assert_eq!(parent_of(-10_001), None);
    }

    #[test]
    fn members_take_the_forms_clients_send() {
        assert_eq!(int32(&json!("7"), "q"), Ok(7));
        assert!(int32(&json!(1u64 << 40), "q").is_err());
        assert!(int32(&json!(1.5), "q").is_err());
        assert_eq!(boolean(&json!("TRUE"), "b"), Ok(true));
        assert!(boolean(&json!("yes"), "b").is_err());
        assert_eq!(text(&json!(" x "), "t", 5), Ok(Some("x".into())));
        assert_eq!(text(&json!(""), "t", 5), Ok(None));
        assert!(text(&json!("toolong"), "t", 5).is_err());
        assert!(text(&json!([]), "t", 5).is_err());
    }
}
