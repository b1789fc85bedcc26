//! REST v2 query conventions (`keap/rest-v2.md` §2), as pure functions: the `filter` grammar
//! ([`filter`]), paging, sorting and projections ([`paging`]), string ids, and the v2 forms of
//! times. The server parses a request with these once, at the edge, and hands typed values on.
//!
//! Nothing here does I/O; every function is total (bad input is an error value, never a panic),
//! so the parsers can be fuzzed.

pub mod filter;
pub mod paging;

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Parses a v2 string id (`"1001"`, path or body): ASCII digits only, within int64. Anything
/// else (`"abc"`, `"-1"`, `"+1"`, `" 1"`, 20 digits) is `None`; the caller answers 400
/// `INVALID_ARGUMENT` (`keap/rest-v2.md` §1: never 500).
pub fn parse_id(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A v2 date-time: RFC 3339 in UTC with milliseconds, `2024-03-15T10:30:00.000Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let fd =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fd)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Splits list parameters (`fields`, `update_mask`) sent as repeated keys, comma-separated, or
/// both (`keap/rest-v2.md` §2.2): items trimmed, empty ones skipped, duplicates dropped, order
/// kept.
pub fn split_list<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !out.iter().any(|o| o == item) {
                out.push(item.to_owned());
            }
        }
    }
    out
}

/// Checks list items (`fields`, `update_mask`) against the names an operation accepts.
///
/// # Errors
/// A message naming the first unknown item and listing the accepted ones.
pub fn check_names(param: &str, items: &[String], allowed: &[&str]) -> Result<(), String> {
    match items.iter().find(|i| !allowed.contains(&i.as_str())) {
        None => Ok(()),
        Some(bad) => Err(format!(
            "Invalid {param} value {bad:?}; expected any of {}",
            allowed.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_are_plain_digit_strings_within_int64() {
        assert_eq!(parse_id("1001"), Some(1001));
        assert_eq!(parse_id("0"), Some(0));
        assert_eq!(parse_id("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "abc",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "9223372036854775808",
            "１",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_are_rfc3339_utc_with_millis() {
        assert_eq!(
            format_time(datetime!(2024-03-15 10:30:00.5 +02:00)),
            "2024-03-15T08:30:00.500Z"
        );
    }

    #[test]
    fn lists_take_repeats_and_commas() {
        assert_eq!(
            split_list(["a,b", " c ", "a", ",,", "d,"]),
            vec!["a", "b", "c", "d"]
        );
        assert!(check_names("fields", &split_list(["a,b"]), &["a", "b"]).is_ok());
        let err = check_names("fields", &split_list(["a,x"]), &["a", "b"]).expect_err("x");
        assert!(err.contains("\"x\""), "{err}");
    }
}
