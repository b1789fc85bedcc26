//! Rate counters: the storage contract ([`CounterStore`]), the fixed windows quotas are counted in
//! ([`Unit`]), and the brute-force policy of SECURITY.md §9 ([`BruteForce`]).
//!
//! A counter is a number per (`key`, `window_start`). Callers pick the windows: a quota counts
//! requests in the current calendar minute or UTC day (`window_start` = the start of that minute
//! or day), brute-force limits count failures in one-second windows and sum the last 15 minutes
//! of them. Counters live in the database so several nodes share them (SECURITY.md §10); each
//! row carries its expiry (`window_start + window`) and [`CounterStore::purge_expired`] deletes
//! what has passed it. Times come from the caller's clock, like every other store timestamp.
//!
//! Keys never contain secrets: they are built from client ids, account ids, key ids, IP
//! addresses and folded user names.

use crate::store::StoreResult;
use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

/// One increment for [`CounterStore::hit_all`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// What is counted, e.g. `quota:app:7:minute`. Compared byte for byte.
    pub key: &'a str,
    /// Start of the window counted in (whole milliseconds are kept).
    pub window_start: OffsetDateTime,
    /// How long the counter must be kept: it expires at `window_start + window`.
    pub window: Duration,
    /// Added to the count; negative to give back an earlier increment.
    pub by: i64,
}

/// What [`CounterStore::recent`] sums up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    /// Sum of the positive counts of the windows started at or after `since`.
    pub total: i64,
    /// The latest such window with a positive count, and that count.
    pub latest: Option<(OffsetDateTime, i64)>,
}

impl Recent {
    /// Sums `(window_start, count)` rows the way [`CounterStore::recent`] specifies: windows with
    /// a count of zero or less are ignored. For store implementations.
    pub fn from_rows(rows: impl IntoIterator<Item = (OffsetDateTime, i64)>) -> Self {
        rows.into_iter()
            .filter(|(_, n)| *n > 0)
            .fold(Recent::default(), |acc, (start, n)| Recent {
                total: acc.total.saturating_add(n),
                latest: match acc.latest {
                    Some((s, c)) if s >= start => Some((s, c)),
                    _ => Some((start, n)),
                },
            })
    }
}

/// Counters shared by every node (SECURITY.md §9–§10).
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds `by` to the counter of (`key`, `window_start`), creating it at 0 first, and returns
    /// the count after adding. The counter expires at `window_start + window` (if hits give
    /// different windows, the latest expiry is kept).
    ///
    /// Contract: atomic. Of `n` concurrent hits of one counter by 1, the returned counts are
    /// exactly `1..=n` in some order (on PostgreSQL across every node sharing the database).
    /// Windows are separate counters: another `window_start` or another key starts again at 0.
    /// Counts are plain sums; a negative `by` may take a count to 0 or below.
    async fn hit(
        &self,
        key: &str,
        window_start: OffsetDateTime,
        window: Duration,
        by: i64,
    ) -> StoreResult<i64>;

    /// Applies several [`Hit`]s in one atomic operation (one round trip) and returns the count of
    /// each after adding, in the order given. Hits naming the same (`key`, `window_start`) are
    /// added together and each answers the count after all of them. Either every hit is applied
    /// or none is (the call failed). An empty slice returns an empty vector.
    async fn hit_all(&self, hits: &[Hit<'_>]) -> StoreResult<Vec<i64>>;

    /// The count of (`key`, `window_start`) without changing it: 0 for a counter never hit (or
    /// purged).
    async fn peek(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<i64>;

    /// Sums the windows of `key` that started at or after `since` and whose count is positive,
    /// and names the latest of them (see [`Recent`]). Read only.
    async fn recent(&self, key: &str, since: OffsetDateTime) -> StoreResult<Recent>;

    /// Deletes every counter whose expiry (`window_start + window`) is at or before `now`, of
    /// every key; returns how many. Deleting twice is harmless.
    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Merges the hits of one [`CounterStore::hit_all`] call that name the same counter, for store
/// implementations: returns the distinct hits (sorted by key, then window start, the order
/// PostgreSQL locks rows in so concurrent calls cannot deadlock; `by` summed, longest window
/// kept) and, for each input hit, the index of its merged hit.
pub fn merge_hits<'a>(hits: &[Hit<'a>]) -> (Vec<Hit<'a>>, Vec<usize>) {
    let mut merged: Vec<Hit<'a>> = hits.to_vec();
    merged.sort_by(|a, b| (a.key, a.window_start).cmp(&(b.key, b.window_start)));
    merged.dedup_by(|later, kept| {
        let same = later.key == kept.key && later.window_start == kept.window_start;
        if same {
            kept.by = kept.by.saturating_add(later.by);
            kept.window = kept.window.max(later.window);
        }
        same
    });
    let index = hits
        .iter()
        .map(|h| {
            merged
                .binary_search_by(|m| (m.key, m.window_start).cmp(&(h.key, h.window_start)))
                .unwrap_or_default()
        })
        .collect();
    (merged, index)
}

// ---------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------

/// A fixed window length of the Keap quotas (`keap/oauth.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// One second (spike arrest).
    Second,
    /// One calendar minute.
    Minute,
    /// One UTC day, from 00:00 UTC ("resets 00:00 UTC").
    Day,
}

impl Unit {
    /// The window's length.
    pub fn length(self) -> Duration {
        match self {
            Self::Second => Duration::SECOND,
            Self::Minute => Duration::MINUTE,
            Self::Day => Duration::DAY,
        }
    }

    /// The name used in keys and in the `*-time-unit` headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Day => "day",
        }
    }

    /// Start of the window holding `now` (Unix time is UTC, so day windows start at 00:00 UTC).
    pub fn start(self, now: OffsetDateTime) -> OffsetDateTime {
        floor(now, self.length())
    }

    /// End of the window holding `now` (the next window's start).
    pub fn end(self, now: OffsetDateTime) -> OffsetDateTime {
        self.start(now) + self.length()
    }
}

/// `now` rounded down to a multiple of `len` since the Unix epoch (UTC). `len` ≤ 0 returns `now`.
pub fn floor(now: OffsetDateTime, len: Duration) -> OffsetDateTime {
    let len_ns = len.whole_nanoseconds();
    if len_ns <= 0 {
        return now;
    }
    let ns = now.unix_timestamp_nanos();
    OffsetDateTime::from_unix_timestamp_nanos(ns - ns.rem_euclid(len_ns)).unwrap_or(now)
}

/// Whole seconds from `now` until `at`, rounded up, at least 1: a `Retry-After` value.
pub fn seconds_until(now: OffsetDateTime, at: OffsetDateTime) -> u64 {
    let ms = (at - now).whole_milliseconds();
    let secs = (ms + 999).div_euclid(1000);
    u64::try_from(secs).unwrap_or(0).max(1)
}

// ---------------------------------------------------------------------------------------------
// Brute force (SECURITY.md §9)
// ---------------------------------------------------------------------------------------------

/// How failed sign-ins and client authentications are slowed down (SECURITY.md §9), per counter
/// key: per (user name or client id, IP) and per IP.
///
/// Failures are counted in one-second windows, each kept for [`lookback`](Self::lookback)
/// (15 minutes). With `F` failures in the last 15 minutes, the next attempt is free while
/// `F < free_failures`; afterwards it must wait `base_delay × 2^(F − free_failures)`, at most
/// `max_delay` (60 s), after the latest failure. Refusals answer 429 with that wait as
/// `Retry-After`. Nothing is ever locked for good: every failure is forgotten after 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BruteForce {
    /// Failures allowed in the lookback before delays start (5).
    pub free_failures: i64,
    /// The first delay (1 s); each further failure doubles it.
    pub base_delay: Duration,
    /// The longest delay (60 s).
    pub max_delay: Duration,
    /// How long a failure counts (15 min).
    pub lookback: Duration,
}

impl BruteForce {
    /// The window failures are counted in.
    pub const BUCKET: Duration = Duration::SECOND;

    /// Per (user name or client id, IP): after 5 failures in 15 minutes, 1 s, 2 s, 4 s … 60 s.
    pub const PER_ACCOUNT: BruteForce = BruteForce {
        free_failures: 5,
        base_delay: Duration::SECOND,
        max_delay: Duration::seconds(60),
        lookback: Duration::minutes(15),
    };

    /// Per IP (any user name or client id). SECURITY.md §9 names 5 for both counters; with 5
    /// here, one person's typos would lock every colleague behind the same NAT out after five, so
    /// an address gets 20 free failures (four accounts' worth) before the same delays start.
    pub const PER_IP: BruteForce = BruteForce {
        free_failures: 20,
        ..Self::PER_ACCOUNT
    };

    /// Where to start summing failures at `now` ([`CounterStore::recent`]'s `since`): a failure
    /// in the one-second window `s` counts while `now < s + lookback`.
    pub fn since(&self, now: OffsetDateTime) -> OffsetDateTime {
        floor(now, Self::BUCKET) - self.lookback + Self::BUCKET
    }

    /// The wait after the latest of `failures` failures, or `None` while they are free.
    pub fn delay(&self, failures: i64) -> Option<Duration> {
        let over = failures.checked_sub(self.free_failures)?;
        if over < 0 {
            return None;
        }
        let doublings = u32::try_from(over).unwrap_or(u32::MAX).min(62);
        let factor = 1_i64.checked_shl(doublings).unwrap_or(i64::MAX);
        let delay = self
            .base_delay
            .checked_mul(i32::try_from(factor).unwrap_or(i32::MAX))
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }

    /// When the next attempt may run, given the failures counted since [`since`](Self::since):
    /// `None` if now, else the instant to retry at.
    pub fn blocked_until(&self, recent: &Recent, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let delay = self.delay(recent.total)?;
        let (latest, _) = recent.latest?;
        let until = latest + delay;
        (now < until).then_some(until)
    }

    /// The most attempts an attacker can have evaluated in `span`, starting cold (no failure in
    /// the lookback) and retrying at the first instant allowed, every attempt failing. This is
    /// the SECURITY.md §9 figure "guesses per account per IP".
    pub fn max_guesses(&self, span: Duration) -> u64 {
        self.guesses_between(Duration::ZERO, span)
    }

    /// Like [`max_guesses`](Self::max_guesses) but counts only the attempts made in
    /// `[from, to)`, the attacker having started at 0: `from` = 1 h, `to` = 2 h gives the
    /// steady-state rate per hour once the first burst is over.
    pub fn guesses_between(&self, from: Duration, to: Duration) -> u64 {
        let start = OffsetDateTime::UNIX_EPOCH;
        let mut failures: Vec<OffsetDateTime> = Vec::new();
        let mut now = start;
        let mut counted = 0_u64;
        while now < start + to {
            let since = self.since(now);
            let recent = Recent::from_rows(
                failures
                    .iter()
                    .filter(|t| **t >= since)
                    .map(|t| (floor(*t, Self::BUCKET), 1)),
            );
            match self.blocked_until(&recent, now) {
                Some(until) => now = until,
                None => {
                    if now >= start + from {
                        counted += 1;
                    }
                    failures.push(now);
                }
            }
        }
        counted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_are_calendar_aligned_in_utc() {
        let t = datetime!(2026-03-01 12:34:56.789 UTC);
        assert_eq!(Unit::Second.start(t), datetime!(2026-03-01 12:34:56 UTC));
        assert_eq!(Unit::Minute.start(t), datetime!(2026-03-01 12:34 UTC));
        assert_eq!(Unit::Day.start(t), datetime!(2026-03-01 0:00 UTC));
        assert_eq!(Unit::Day.end(t), datetime!(2026-03-02 0:00 UTC));
        let offset = datetime!(2026-03-01 23:30 -05:00);
        assert_eq!(Unit::Day.start(offset), datetime!(2026-03-02 0:00 UTC));
    }

    #[test]
    fn seconds_until_rounds_up_and_is_at_least_one() {
        let t = datetime!(2026-03-01 12:00:00 UTC);
        assert_eq!(seconds_until(t, t), 1);
        assert_eq!(seconds_until(t, t + Duration::milliseconds(1)), 1);
        assert_eq!(seconds_until(t, t + Duration::milliseconds(1001)), 2);
        assert_eq!(seconds_until(t, t + Duration::seconds(60)), 60);
        assert_eq!(seconds_until(t, t - Duration::seconds(5)), 1);
    }

    #[test]
    fn merge_hits_sums_duplicates_sorts_and_maps_each_input() {
        let t = datetime!(2026-03-01 12:00 UTC);
        let hit = |key, by| Hit {
            key,
            window_start: t,
            window: Duration::MINUTE,
            by,
        };
        let (merged, index) = merge_hits(&[hit("b", 1), hit("a", 2), hit("b", 3)]);
        assert_eq!(merged, vec![hit("a", 2), hit("b", 4)]);
        assert_eq!(index, vec![1, 0, 1]);
    }

    #[test]
    fn recent_ignores_non_positive_windows() {
        let t = datetime!(2026-03-01 12:00 UTC);
        let r = Recent::from_rows([(t, 2), (t + Duration::SECOND, 0), (t - Duration::SECOND, 1)]);
        assert_eq!(
            r,
            Recent {
                total: 3,
                latest: Some((t, 2))
            }
        );
    }

    #[test]
    fn delays_start_after_five_double_and_stop_at_sixty_seconds() {
        let p = BruteForce::PER_ACCOUNT;
        assert_eq!(p.delay(4), None);
        let secs: Vec<i64> = (5..13)
            .map(|f| p.delay(f).map_or(0, |d| d.whole_seconds()))
            .collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(p.delay(i64::MAX), Some(Duration::seconds(60)));
    }

    #[test]
    fn a_failure_counts_for_exactly_fifteen_minutes() {
        let p = BruteForce::PER_ACCOUNT;
        let failed = datetime!(2026-03-01 12:00:00.500 UTC);
        let counts = |now| floor(failed, BruteForce::BUCKET) >= p.since(now);
        assert!(counts(failed + Duration::minutes(15) - Duration::SECOND));
        assert!(!counts(failed + Duration::minutes(15)));
    }

    #[test]
    fn the_sixth_attempt_waits_and_nothing_is_locked_for_good() {
        let p = BruteForce::PER_ACCOUNT;
        let t = datetime!(2026-03-01 12:00 UTC);
        let five = Recent {
            total: 5,
            latest: Some((t, 5)),
        };
        assert_eq!(p.blocked_until(&five, t), Some(t + Duration::SECOND));
        assert_eq!(p.blocked_until(&five, t + Duration::SECOND), None);
        let many = Recent {
            total: 1_000,
            latest: Some((t, 1)),
        };
        assert_eq!(p.blocked_until(&many, t), Some(t + Duration::seconds(60)));
        assert_eq!(p.blocked_until(&Recent::default(), t), None);
    }

    #[test]
    fn guesses_per_hour_follow_from_the_policy() {
        let p = BruteForce::PER_ACCOUNT;
        // 5 free at 0 s; 1, 2, 4, 8, 16, 32 s waits (6 more by 63 s); then one per 60 s.
        assert_eq!(p.max_guesses(Duration::HOUR), 5 + 6 + 58);
        assert_eq!(p.guesses_between(Duration::HOUR, 2 * Duration::HOUR), 60);
    }
}
