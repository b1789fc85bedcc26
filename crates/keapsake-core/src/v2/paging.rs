//! v2 paging and sorting (`keap/rest-v2.md` §2.2): `page_size` (0 or absent → 100, at most
//! 1000), the opaque `page_token` / `next_page_token` pair, and `order_by=<field> [asc|desc]`.
//!
//! A page token carries the offset of the next page and a short hash of everything that shapes
//! the result (the operation, its path ids, `filter`, `order_by`): a token presented with a
//! different filter or order is refused instead of silently paging through another result.
//! Tokens are not secrets and are not signed; a hand-made token can only skip ahead in a result
//! the caller may read anyway.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `page_size` when absent or 0.
pub const DEFAULT_PAGE_SIZE: i64 = 100;
/// Largest `page_size` (the spec's maximum).
pub const MAX_PAGE_SIZE: i64 = 1000;

/// A paging parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PagingError(pub String);

/// Parses `page_size`: absent, empty or 0 → [`DEFAULT_PAGE_SIZE`]; 1…[`MAX_PAGE_SIZE`] as is.
///
/// # Errors
/// A negative value, a value above the maximum, or something that is not an integer.
pub fn page_size(raw: Option<&str>) -> Result<i64, PagingError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    match s.parse::<i64>() {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Ok(n) if n < 0 => Err(PagingError("page_size must not be negative".to_owned())),
        _ if s.bytes().all(|b| b.is_ascii_digit()) => Err(PagingError(format!(
            "page_size must be at most {MAX_PAGE_SIZE}"
        ))),
        _ => Err(PagingError("page_size must be an integer".to_owned())),
    }
}

/// What a page token is bound to: a hash of the parts that shape a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding(String);

impl Binding {
    /// Binds to these parts (operation name, path ids, decoded `filter`, `order_by`), in order.
    pub fn of(parts: &[&str]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        let digest = h.finalize();
        Self(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
    }
}

/// The `next_page_token` of a page that ends at `offset` (the index of the first item of the
/// next page).
pub fn encode_token(offset: i64, binding: &Binding) -> String {
    URL_SAFE_NO_PAD.encode(format!("p1:{offset}:{}", binding.0))
}

/// Reads a `page_token`: absent or empty → offset 0. A full URL carrying a `page_token`
/// parameter is accepted too (Keap once put a URL into `next_page_token`).
///
/// # Errors
/// A token that is not one of ours, or one bound to another filter/order.
pub fn decode_token(raw: Option<&str>, binding: &Binding) -> Result<i64, PagingError> {
    let Some(mut token) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(0);
    };
    if let Some((_, rest)) = token.split_once("page_token=") {
        token = rest.split('&').next().unwrap_or("");
    }
    let malformed = || PagingError("page_token is not valid".to_owned());
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let mut parts = text.splitn(3, ':');
    let (Some("p1"), Some(offset), Some(bound)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed());
    };
    let offset: i64 = offset.parse().map_err(|_| malformed())?;
    if offset < 0 {
        return Err(malformed());
    }
    if bound != binding.0 {
        return Err(PagingError(
            "page_token was issued for another filter or order_by; repeat the same filter and \
             order_by with it"
                .to_owned(),
        ));
    }
    Ok(offset)
}

/// A parsed `order_by`: a field the operation allows and the direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The field, as the spec spells it.
    pub field: &'static str,
    /// `desc`.
    pub descending: bool,
}

/// Parses `order_by` (already form-decoded, so `%20` and `+` are spaces): `<field>` or
/// `<field> asc|desc` (direction in any ASCII case). Absent or empty → `None`.
///
/// # Errors
/// A field outside `allowed`, an unknown direction, or extra words.
pub fn order_by(
    raw: Option<&str>,
    allowed: &[&'static str],
) -> Result<Option<OrderBy>, PagingError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let mut words = s.split_whitespace();
    let name = words.next().unwrap_or("");
    let descending = match words.next() {
        None => false,
        Some(d) if d.eq_ignore_ascii_case("asc") => false,
        Some(d) if d.eq_ignore_ascii_case("desc") => true,
        Some(d) => {
            return Err(PagingError(format!(
                "Invalid order_by direction {d:?}; expected asc or desc"
            )));
        }
    };
    if words.next().is_some() {
        return Err(PagingError(format!(
            "Invalid order_by {s:?}; expected <field> [asc|desc]"
        )));
    }
    let field = allowed.iter().find(|f| **f == name).ok_or_else(|| {
        PagingError(format!(
            "Invalid order_by field {name:?}; expected one of {}",
            allowed.join(", ")
        ))
    })?;
    Ok(Some(OrderBy { field, descending }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_and_limits() {
        assert_eq!(page_size(None), Ok(100));
        assert_eq!(page_size(Some("")), Ok(100));
        assert_eq!(page_size(Some("0")), Ok(100));
        assert_eq!(page_size(Some("1")), Ok(1));
        assert_eq!(page_size(Some("1000")), Ok(1000));
        for bad in ["1001", "-1", "abc", "1.5", "99999999999999999999999"] {
            assert!(page_size(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let b = Binding::of(&["listContacts", "email==a*", "id desc"]);
        let t = encode_token(200, &b);
        assert_eq!(decode_token(Some(&t), &b), Ok(200));
        assert_eq!(decode_token(None, &b), Ok(0));
        assert_eq!(decode_token(Some(""), &b), Ok(0));
        let other = Binding::of(&["listContacts", "email==b*", "id desc"]);
        let err = decode_token(Some(&t), &other).expect_err("mismatch");
        assert!(err.0.contains("another filter"), "{err}");
        // Parts are length-prefixed: moving a character between parts changes the binding.
        assert_ne!(Binding::of(&["ab", "c"]), Binding::of(&["a", "bc"]));
        for junk in ["x", "!!!", "cDE6LTE6YWJj", "cDI6MTphYmM"] {
            assert!(decode_token(Some(junk), &b).is_err(), "{junk}");
        }
        let url =
            format!("https://api.keap.com/crm/rest/v2/contacts?page_size=5&page_token={t}&x=1");
        assert_eq!(decode_token(Some(&url), &b), Ok(200));
    }

    #[test]
    fn order_by_takes_a_field_and_a_direction() {
        const F: &[&str] = &["id", "create_time"];
        assert_eq!(order_by(None, F), Ok(None));
        assert_eq!(
            order_by(Some("id"), F),
            Ok(Some(OrderBy {
                field: "id",
                descending: false
            }))
        );
        assert_eq!(
            order_by(Some(" create_time  DESC "), F),
            Ok(Some(OrderBy {
                field: "create_time",
                descending: true
            }))
        );
        assert!(order_by(Some("name"), F).is_err());
        assert!(order_by(Some("id up"), F).is_err());
        assert!(order_by(Some("id asc x"), F).is_err());
    }
}
