//! Keap's REST v1 date formats (`keap/rest-v1.md` §0.2).
//!
//! Keap writes date-times as `2024-11-07T20:35:13.000+0000`: milliseconds and a numeric offset
//! **without** a colon, which RFC 3339 parsers reject. [`parse_datetime`] reads that form, RFC 3339
//! (`…Z`, `…+00:00`), both with or without fractional seconds, and a bare `yyyy-MM-dd` (midnight
//! UTC). [`format_datetime`] writes RFC 3339 in UTC with milliseconds (`2024-11-07T20:35:13.000Z`),
//! the form Keap's own examples send. Date-only fields (`anniversary`) use `yyyy-MM-dd`.

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A date or date-time string Keap sent that none of the accepted forms matches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Keap date-time: {0:?}")]
pub struct DateParseError(pub String);

/// Parses a REST v1 date-time: Keap's `2024-11-07T20:35:13.000+0000`, RFC 3339, either with or
/// without fractional seconds, or a plain `2024-11-07` (taken as midnight UTC).
///
/// # Errors
///
/// [`DateParseError`] when the text matches none of these forms.
///
/// ```
/// use keapsake_sdk::date::parse_datetime;
/// let t = parse_datetime("2024-11-07T20:35:13.000+0000").unwrap();
/// assert_eq!(t.unix_timestamp(), 1_731_011_713);
/// assert_eq!(t, parse_datetime("2024-11-07T20:35:13Z").unwrap());
/// ```
pub fn parse_datetime(s: &str) -> Result<OffsetDateTime, DateParseError> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let keap_millis = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    let keap_plain = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    for fd in [keap_millis, keap_plain] {
        if let Ok(t) = OffsetDateTime::parse(s, &fd) {
            return Ok(t);
        }
    }
    // No offset at all: Keap's responses are UTC.
    let local_millis =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    let local_plain = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    for fd in [local_millis, local_plain] {
        if let Ok(t) = PrimitiveDateTime::parse(s, &fd) {
            return Ok(t.assume_offset(UtcOffset::UTC));
        }
    }
    if let Ok(d) = parse_date(s) {
        return Ok(d.midnight().assume_offset(UtcOffset::UTC));
    }
    Err(DateParseError(s.to_owned()))
}

/// Formats a date-time the way Keap's examples send one: RFC 3339, UTC, milliseconds.
///
/// ```
/// use keapsake_sdk::date::format_datetime;
/// let t = time::macros::datetime!(2024-11-07 20:35:13.5 +01:00);
/// assert_eq!(format_datetime(t), "2024-11-07T19:35:13.500Z");
/// ```
pub fn format_datetime(t: OffsetDateTime) -> String {
    let fd =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fd)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses a `yyyy-MM-dd` date. A full date-time is accepted too and cut to its date part.
///
/// # Errors
///
/// [`DateParseError`] when the first ten characters are not a date.
pub fn parse_date(s: &str) -> Result<Date, DateParseError> {
    let fd = format_description!("[year]-[month]-[day]");
    let head = s.trim().get(..10).unwrap_or(s);
    Date::parse(head, &fd).map_err(|_| DateParseError(s.to_owned()))
}

/// Formats a date as `yyyy-MM-dd`.
pub fn format_date(d: Date) -> String {
    let fd = format_description!("[year]-[month]-[day]");
    d.format(&fd).unwrap_or_default()
}

/// serde helpers for `Option<OffsetDateTime>` fields in Keap's v1 format
/// (use with `#[serde(default, with = "keapsake_sdk::date::option_datetime")]`).
pub mod option_datetime {
    use super::*;

    /// Deserialises `null`, a missing field, an empty string or a Keap date-time.
    ///
    /// # Errors
    ///
    /// When the string is not a date-time in any accepted form.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_datetime(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }

    /// Serialises as RFC 3339 UTC with milliseconds, or `null`.
    ///
    /// # Errors
    ///
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(v: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&format_datetime(*t)),
            None => s.serialize_none(),
        }
    }
}

/// serde helpers for `Option<Date>` fields (`yyyy-MM-dd`).
pub mod option_date {
    use super::*;

    /// Deserialises `null`, a missing field, an empty string or a `yyyy-MM-dd` date.
    ///
    /// # Errors
    ///
    /// When the string is not a date.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_date(&s).map(Some).map_err(serde::de::Error::custom),
        }
    }

    /// Serialises as `yyyy-MM-dd`, or `null`.
    ///
    /// # Errors
    ///
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(v: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&format_date(*d)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn reads_keaps_offset_without_colon() {
        assert_eq!(
            parse_datetime("2024-11-07T20:35:13.000+0000").unwrap(),
            datetime!(2024-11-07 20:35:13 UTC)
        );
        assert_eq!(
            parse_datetime("2024-11-07T15:35:13-0500").unwrap(),
            datetime!(2024-11-07 20:35:13 UTC)
        );
    }

    #[test]
    fn reads_rfc3339_and_bare_forms() {
        let want = datetime!(2017-01-01 22:17:59.039 UTC);
        assert_eq!(parse_datetime("2017-01-01T22:17:59.039Z").unwrap(), want);
        assert_eq!(
            parse_datetime("2017-01-01T22:17:59.039+00:00").unwrap(),
            want
        );
        assert_eq!(parse_datetime("2017-01-01T22:17:59.039").unwrap(), want);
        assert_eq!(
            parse_datetime("2017-01-01").unwrap(),
            datetime!(2017-01-01 0:00 UTC)
        );
        assert!(parse_datetime("yesterday").is_err());
    }

    #[test]
    fn dates_cut_date_times() {
        assert_eq!(parse_date("1990-05-04").unwrap(), date!(1990 - 05 - 04));
        assert_eq!(
            parse_date("1990-05-04T00:00:00.000+0000").unwrap(),
            date!(1990 - 05 - 04)
        );
        assert_eq!(format_date(date!(1990 - 05 - 04)), "1990-05-04");
    }

    #[test]
    fn formats_utc_millis() {
        assert_eq!(
            format_datetime(datetime!(2024-11-07 20:35:13 UTC)),
            "2024-11-07T20:35:13.000Z"
        );
    }
}
