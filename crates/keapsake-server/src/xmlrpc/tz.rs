//! The account's local time (`keap/xmlrpc.md` §1.1): XML-RPC date-times carry no zone and are
//! read and written in the account's time zone (its profile's `time_zone`, default
//! `America/New_York` as Keap's historical default).
//!
//! keapsake ships no time-zone database: it knows the rules of the zones Keap accounts use most
//! (North American zones with the US/Canada DST rule since 2007, European zones with the EU
//! rule, fixed-offset zones) and treats any other name as UTC.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// A time zone rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Standard offset in minutes, with the US/Canada DST rule.
    NorthAmerica(i32),
    /// Standard offset in minutes, with the EU DST rule.
    Europe(i32),
    /// Fixed offset in minutes.
    Fixed(i32),
}

/// The default zone.
pub const DEFAULT: Zone = Zone::NorthAmerica(-300);

impl Zone {
    /// The rule of an IANA name (unknown names: UTC).
    pub fn of(name: Option<&str>) -> Zone {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return DEFAULT;
        };
        match name {
            "America/New_York"
            | "America/Detroit"
            | "America/Toronto"
            | "US/Eastern"
            | "America/Indiana/Indianapolis" => Zone::NorthAmerica(-300),
            "America/Chicago" | "US/Central" | "America/Winnipeg" => Zone::NorthAmerica(-360),
            "America/Denver" | "US/Mountain" | "America/Edmonton" | "America/Boise" => {
                Zone::NorthAmerica(-420)
            }
            "America/Phoenix" | "US/Arizona" => Zone::Fixed(-420),
            "America/Los_Angeles" | "US/Pacific" | "America/Vancouver" => Zone::NorthAmerica(-480),
            "America/Anchorage" | "US/Alaska" => Zone::NorthAmerica(-540),
            "Pacific/Honolulu" | "US/Hawaii" => Zone::Fixed(-600),
            "America/Halifax" => Zone::NorthAmerica(-240),
            "Europe/London" | "Europe/Dublin" | "Europe/Lisbon" => Zone::Europe(0),
            "Europe/Berlin" | "Europe/Paris" | "Europe/Madrid" | "Europe/Rome"
            | "Europe/Amsterdam" | "Europe/Brussels" | "Europe/Vienna" | "Europe/Zurich"
            | "Europe/Stockholm" | "Europe/Oslo" | "Europe/Copenhagen" | "Europe/Warsaw"
            | "Europe/Prague" => Zone::Europe(60),
            "Europe/Athens" | "Europe/Helsinki" | "Europe/Kiev" | "Europe/Bucharest" => {
                Zone::Europe(120)
            }
            "Asia/Kolkata" => Zone::Fixed(330),
            "Asia/Tokyo" => Zone::Fixed(540),
            "Asia/Shanghai" | "Asia/Singapore" | "Australia/Perth" => Zone::Fixed(480),
            _ => Zone::Fixed(0),
        }
    }

    fn standard(self) -> i32 {
        match self {
            Zone::NorthAmerica(m) | Zone::Europe(m) | Zone::Fixed(m) => m,
        }
    }

    /// Whether DST is in force at the UTC instant `t`.
    fn dst_at(self, t: OffsetDateTime) -> bool {
        let t = t.to_offset(UtcOffset::UTC);
        let year = t.year();
        match self {
            Zone::Fixed(_) => false,
            Zone::NorthAmerica(std) => {
                // Second Sunday of March 02:00 local standard → first Sunday of November
                // 02:00 local daylight.
                let (Some(start), Some(end)) = (
                    nth_sunday(year, Month::March, 2),
                    nth_sunday(year, Month::November, 1),
                ) else {
                    return false;
                };
                let start = PrimitiveDateTime::new(
                    start,
                    Time::from_hms(2, 0, 0).unwrap_or(Time::MIDNIGHT),
                )
                .assume_offset(offset(std));
                let end =
                    PrimitiveDateTime::new(end, Time::from_hms(2, 0, 0).unwrap_or(Time::MIDNIGHT))
                        .assume_offset(offset(std + 60));
                t >= start && t < end
            }
            Zone::Europe(_) => {
                // Last Sunday of March 01:00 UTC → last Sunday of October 01:00 UTC.
                let (Some(start), Some(end)) = (
                    last_sunday(year, Month::March),
                    last_sunday(year, Month::October),
                ) else {
                    return false;
                };
                let one = Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT);
                let start = PrimitiveDateTime::new(start, one).assume_utc();
                let end = PrimitiveDateTime::new(end, one).assume_utc();
                t >= start && t < end
            }
        }
    }

    /// The offset in force at the UTC instant `t`.
    pub fn offset_at(self, t: OffsetDateTime) -> UtcOffset {
        let dst = if self.dst_at(t) { 60 } else { 0 };
        offset(self.standard() + dst)
    }

    /// An instant as local wall time.
    pub fn to_local(self, t: OffsetDateTime) -> PrimitiveDateTime {
        let l = t.to_offset(self.offset_at(t));
        PrimitiveDateTime::new(l.date(), l.time())
    }

    /// Local wall time as an instant (in a DST gap or overlap, the standard-time reading wins).
    pub fn from_local(self, t: PrimitiveDateTime) -> OffsetDateTime {
        let std = t.assume_offset(offset(self.standard()));
        let dst = t.assume_offset(offset(self.standard() + 60));
        if self.dst_at(dst) && !matches!(self, Zone::Fixed(_)) {
            dst
        } else {
            std
        }
    }
}

fn offset(minutes: i32) -> UtcOffset {
    UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC)
}

fn nth_sunday(year: i32, month: Month, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = (7 - first.weekday().number_days_from_sunday()) % 7;
    first.checked_add(time::Duration::days(
        i64::from(to_sunday) + 7 * i64::from(n - 1),
    ))
}

fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let next = if month == Month::December {
        Date::from_calendar_date(year + 1, Month::January, 1)
    } else {
        Date::from_calendar_date(year, month.next(), 1)
    }
    .ok()?;
    let mut d = next.previous_day()?;
    while d.weekday() != Weekday::Sunday {
        d = d.previous_day()?;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn new_york_switches_on_the_us_dates() {
        let z = Zone::of(Some("America/New_York"));
        assert_eq!(
            z.to_local(datetime!(2024-01-15 12:00 UTC)),
            datetime!(2024-01-15 07:00)
        );
        assert_eq!(
            z.to_local(datetime!(2024-07-15 12:00 UTC)),
            datetime!(2024-07-15 08:00)
        );
        // 2024-03-10 07:00 UTC = 03:00 EDT (the switch at 02:00 EST).
        assert_eq!(
            z.to_local(datetime!(2024-03-10 07:00 UTC)),
            datetime!(2024-03-10 03:00)
        );
        assert_eq!(
            z.to_local(datetime!(2024-03-10 06:59 UTC)),
            datetime!(2024-03-10 01:59)
        );
        assert_eq!(
            z.from_local(datetime!(2024-07-15 08:00)),
            datetime!(2024-07-15 12:00 UTC)
        );
        assert_eq!(
            z.from_local(datetime!(2024-01-15 07:00)),
            datetime!(2024-01-15 12:00 UTC)
        );
    }

    #[test]
    fn europe_and_unknown_zones() {
        let z = Zone::of(Some("Europe/Berlin"));
        assert_eq!(
            z.to_local(datetime!(2024-07-01 10:00 UTC)),
            datetime!(2024-07-01 12:00)
        );
        assert_eq!(
            Zone::of(Some("Mars/Olympus")).to_local(datetime!(2024-07-01 10:00 UTC)),
            datetime!(2024-07-01 10:00)
        );
        assert_eq!(Zone::of(None), DEFAULT);
    }
}
