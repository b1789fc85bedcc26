//! Keap's REST v1 date forms (`keap/rest-v1.md` §0.2).
//!
//! Responses write date-times as `2024-11-07T20:35:13.000+0000` (milliseconds, UTC, numeric
//! offset without a colon) and dates as `yyyy-MM-dd`. Requests may send RFC 3339 (`…Z`,
//! `…+00:00`), Keap's own output form, either with or without fractional seconds; a bare date is
//! taken as midnight UTC. Parsers never panic: every failure is a [`DateError`].

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A date or date-time a client sent that none of the accepted forms matches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid date: {0:?}")]
pub struct DateError(pub String);

/// Longest input worth trying to parse (the longest valid form is ~35 characters).
const MAX_INPUT: usize = 64;

/// Formats a date-time the way Keap's v1 responses do: `2024-11-07T20:35:13.000+0000`, in UTC.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let fd = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    t.to_offset(UtcOffset::UTC)
        .format(&fd)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Formats a date as `yyyy-MM-dd`.
pub fn format_date(d: Date) -> String {
    let fd = format_description!("[year]-[month]-[day]");
    d.format(&fd).unwrap_or_default()
}

/// Parses a request date-time: RFC 3339, Keap's `…+0000` form, with or without fractional
/// seconds, a local time (taken as UTC), or a bare `yyyy-MM-dd` (midnight UTC).
///
/// # Errors
/// [`DateError`] when the text matches none of these forms.
pub fn parse_datetime(s: &str) -> Result<OffsetDateTime, DateError> {
    let s = s.trim();
    let err = || DateError(s.chars().take(MAX_INPUT).collect());
    if s.is_empty() || s.len() > MAX_INPUT {
        return Err(err());
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let keap_fraction = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    let keap_plain = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    for fd in [keap_fraction, keap_plain] {
        if let Ok(t) = OffsetDateTime::parse(s, &fd) {
            return Ok(t);
        }
    }
    let local_fraction =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    let local_plain = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    for fd in [local_fraction, local_plain] {
        if let Ok(t) = PrimitiveDateTime::parse(s, &fd) {
            return Ok(t.assume_offset(UtcOffset::UTC));
        }
    }
    if let Ok(d) = Date::parse(s, &format_description!("[year]-[month]-[day]")) {
        return Ok(d.midnight().assume_offset(UtcOffset::UTC));
    }
    Err(err())
}

/// Parses a request date (`anniversary`): `yyyy-MM-dd`, or any date-time [`parse_datetime`]
/// accepts, cut to its UTC date.
///
/// # Errors
/// [`DateError`] when the text is neither.
pub fn parse_date(s: &str) -> Result<Date, DateError> {
    let t = s.trim();
    if let Ok(d) = Date::parse(t, &format_description!("[year]-[month]-[day]")) {
        return Ok(d);
    }
    parse_datetime(t).map(|dt| dt.to_offset(UtcOffset::UTC).date())
}

/// Serde for an optional date-time stored in a document, in the v1 output form.
pub mod opt_datetime {
    use super::{format_datetime, parse_datetime};
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Serialises as Keap's v1 string, or `null`.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&format_datetime(*t)),
            None => s.serialize_none(),
        }
    }

    /// Reads any form [`parse_datetime`] accepts, or `null`.
    ///
    /// # Errors
    /// An unparseable date.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_datetime(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Serde for an optional date stored in a document, as `yyyy-MM-dd`.
pub mod opt_date {
    use super::{format_date, parse_date};
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    /// Serialises as `yyyy-MM-dd`, or `null`.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&format_date(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads `yyyy-MM-dd` (or a date-time, cut to its date), or `null`.
    ///
    /// # Errors
    /// An unparseable date.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_date(&s).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn formats_like_keap() {
        let t = datetime!(2024-11-07 21:35:13.217 +01:00);
        assert_eq!(format_datetime(t), "2024-11-07T20:35:13.217+0000");
        assert_eq!(
            format_datetime(datetime!(2024-11-07 20:35:13 UTC)),
            "2024-11-07T20:35:13.000+0000"
        );
        assert_eq!(format_date(date!(2024 - 02 - 09)), "2024-02-09");
    }

    #[test]
    fn parses_every_accepted_form() {
        let want = datetime!(2017-01-01 22:17:59.039 UTC);
        for s in [
            "2017-01-01T22:17:59.039Z",
            "2017-01-01T22:17:59.039+00:00",
            "2017-01-01T22:17:59.039+0000",
            "2017-01-01T23:17:59.039+0100",
            " 2017-01-01T22:17:59.039 ",
        ] {
            assert_eq!(parse_datetime(s), Ok(want), "{s}");
        }
        let whole = datetime!(2017-01-01 22:17:59 UTC);
        for s in [
            "2017-01-01T22:17:59Z",
            "2017-01-01T22:17:59+0000",
            "2017-01-01T22:17:59",
        ] {
            assert_eq!(parse_datetime(s), Ok(whole), "{s}");
        }
        assert_eq!(
            parse_datetime("2017-01-01"),
            Ok(datetime!(2017-01-01 0:00 UTC))
        );
        // Round trip of our own output.
        let t = datetime!(2024-11-07 20:35:13.217 UTC);
        assert_eq!(parse_datetime(&format_datetime(t)), Ok(t));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for s in [
            "",
            "yesterday",
            "2017-13-01",
            "2017-02-30T00:00:00Z",
            "2017-01-01T25:00:00Z",
            "١٢٣٤-01-01",
            "2017-01-01T22:17:59.039+99:99",
            &"9".repeat(10_000),
        ] {
            assert!(parse_datetime(s).is_err(), "{s}");
        }
    }

    #[test]
    fn dates_accept_a_date_time_too() {
        assert_eq!(parse_date("1990-05-01"), Ok(date!(1990 - 05 - 01)));
        assert_eq!(
            parse_date("1990-05-01T23:30:00-0200"),
            Ok(date!(1990 - 05 - 02))
        );
        assert!(parse_date("05/01/1990").is_err());
    }
}
