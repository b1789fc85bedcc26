//! [`CounterStore`](keapsake_core::counters::CounterStore) conformance: windowed counters shared
//! by every node (SECURITY.md §9–§10).
//!
//! What the cases pin down, beyond the doc comments of `keapsake_core::counters`:
//! - a hit is atomic: 100 truly parallel hits of one counter count exactly 100 and hand out each
//!   count from 1 to 100 once; parallel `hit_all`s naming the same counters in opposite orders
//!   lose nothing and never fail (no deadlock on PostgreSQL);
//! - windows and keys are separate counters; keys compare byte for byte (`%`, `_` and case are
//!   literal);
//! - `peek` and `recent` never write; `recent` ignores windows before `since` and windows whose
//!   count was given back to 0;
//! - `purge_expired` deletes exactly the counters whose `window_start + window` has passed.
//!
//! Every case uses keys with a random suffix, so cases can share one database. The purge case
//! works in the year 2000, where no other case has counters, because a purge deletes expired
//! counters of every key (so it is also the only case that purges).
//!
//! A store crate runs these with [`counters_conformance!`](crate::counters_conformance), which
//! takes the same factory forms as [`store_conformance!`](crate::store_conformance).

use crate::races::overlap;
use crate::support::{now, suffix};
use keapsake_core::counters::{Hit, Recent, Unit};
use keapsake_core::store::Store;
use time::{Duration, OffsetDateTime};

/// A key no other case (or run) uses.
fn key(name: &str) -> String {
    format!("conformance:{name}:{}", suffix())
}

/// The start of the current minute.
fn minute() -> OffsetDateTime {
    Unit::Minute.start(now())
}

/// Hits count up from 0 and return the count after adding; negative hits give counts back.
pub async fn hit_counts_up_and_returns_the_new_count(store: &dyn Store) {
    // Arrange
    let k = key("count");
    let w = minute();
    // Act
    let first = store
        .hit(&k, w, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    let second = store
        .hit(&k, w, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    let big = store
        .hit(&k, w, Duration::MINUTE, 40)
        .await
        .expect("the store answers");
    let back = store
        .hit(&k, w, Duration::MINUTE, -2)
        .await
        .expect("the store answers");
    // Assert
    assert_eq!((first, second, big, back), (1, 2, 42, 40));
    assert_eq!(store.peek(&k, w).await.expect("the store answers"), 40);
}

/// Another window or another key is another counter, starting at 0.
pub async fn windows_and_keys_are_separate_counters(store: &dyn Store) {
    // Arrange
    let (k, other) = (key("window"), key("window"));
    let w = minute();
    let next = w + Duration::MINUTE;
    // Act
    for _ in 0..3 {
        store
            .hit(&k, w, Duration::MINUTE, 1)
            .await
            .expect("the store answers");
    }
    let in_next = store
        .hit(&k, next, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    let other_key = store
        .hit(&other, w, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    // Assert
    assert_eq!(in_next, 1, "a new window starts at 0");
    assert_eq!(other_key, 1, "another key starts at 0");
    assert_eq!(store.peek(&k, w).await.expect("the store answers"), 3);
    assert_eq!(store.peek(&k, next).await.expect("the store answers"), 1);
    assert_eq!(
        store
            .peek(&k, w + Duration::milliseconds(1))
            .await
            .expect("the store answers"),
        0,
        "window starts are exact to the millisecond"
    );
}

/// Keys compare byte for byte: no case folding, `%` and `_` are literal, prefixes differ.
pub async fn keys_compare_byte_for_byte(store: &dyn Store) {
    // Arrange
    let s = suffix();
    let w = minute();
    let exact = format!("bf:login:10.0.0.1:ada_%@example.com:{s}");
    // Act
    store
        .hit(&exact, w, Duration::MINUTE, 5)
        .await
        .expect("the store answers");
    // Assert
    assert_eq!(store.peek(&exact, w).await.expect("the store answers"), 5);
    for near in [
        format!("bf:login:10.0.0.1:ADA_%@example.com:{s}"),
        format!("bf:login:10.0.0.1:adax%@example.com:{s}"),
        format!("bf:login:10.0.0.1:ada_%@example.com:{s}:"),
        "bf:login:10.0.0.1:ada_%@example.com".to_owned(),
    ] {
        assert_eq!(
            store.peek(&near, w).await.expect("the store answers"),
            0,
            "{near}"
        );
        let r = store
            .recent(&near, w - Duration::HOUR)
            .await
            .expect("the store answers");
        assert_eq!(r, Recent::default(), "{near}");
    }
}

/// `peek` reads 0 for a counter never hit and never creates or changes one.
pub async fn peek_never_writes(store: &dyn Store) {
    // Arrange
    let k = key("peek");
    let w = minute();
    // Act
    let before = store.peek(&k, w).await.expect("the store answers");
    let again = store.peek(&k, w).await.expect("the store answers");
    let first_hit = store
        .hit(&k, w, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    // Assert
    assert_eq!((before, again, first_hit), (0, 0, 1));
    assert_eq!(store.peek(&k, w).await.expect("the store answers"), 1);
    assert_eq!(store.peek(&k, w).await.expect("the store answers"), 1);
}

/// `hit_all` answers in the order given, sums hits of one counter, and applies nothing when
/// given nothing.
pub async fn hit_all_answers_in_order_and_merges_duplicates(store: &dyn Store) {
    // Arrange
    let (a, b) = (key("all-a"), key("all-b"));
    let w = minute();
    fn hit(key: &str, window_start: OffsetDateTime, by: i64) -> Hit<'_> {
        Hit {
            key,
            window_start,
            window: Duration::MINUTE,
            by,
        }
    }
    store
        .hit(&b, w, Duration::MINUTE, 10)
        .await
        .expect("the store answers");
    // Act
    let counts = store
        .hit_all(&[
            hit(&b, w, 1),
            hit(&a, w, 1),
            hit(&b, w + Duration::MINUTE, 3),
            hit(&a, w, 2),
        ])
        .await
        .expect("the store answers");
    let none = store.hit_all(&[]).await.expect("the store answers");
    // Assert
    assert_eq!(counts, vec![11, 3, 3, 3]);
    assert!(none.is_empty());
    assert_eq!(store.peek(&a, w).await.expect("the store answers"), 3);
    assert_eq!(store.peek(&b, w).await.expect("the store answers"), 11);
    assert_eq!(
        store
            .peek(&b, w + Duration::MINUTE)
            .await
            .expect("the store answers"),
        3
    );
}

/// `recent` sums the positive windows started at or after `since` and names the latest.
pub async fn recent_sums_windows_since_and_names_the_latest(store: &dyn Store) {
    // Arrange: failures in one-second windows at -20 s, -10 s (×2), -5 s (given back), and one
    // before `since`.
    let k = key("recent");
    let t = Unit::Second.start(now());
    let sec = |s: i64| t + Duration::seconds(s);
    let keep = Duration::minutes(15);
    store
        .hit(&k, sec(-100), keep, 1)
        .await
        .expect("the store answers");
    store
        .hit(&k, sec(-20), keep, 1)
        .await
        .expect("the store answers");
    store
        .hit(&k, sec(-10), keep, 2)
        .await
        .expect("the store answers");
    store
        .hit(&k, sec(-5), keep, 1)
        .await
        .expect("the store answers");
    store
        .hit(&k, sec(-5), keep, -1)
        .await
        .expect("the store answers");
    // Act
    let r = store.recent(&k, sec(-20)).await.expect("the store answers");
    let none = store.recent(&k, sec(-4)).await.expect("the store answers");
    let all = store
        .recent(&k, sec(-1000))
        .await
        .expect("the store answers");
    // Assert
    assert_eq!(
        r,
        Recent {
            total: 3,
            latest: Some((sec(-10), 2))
        },
        "since is inclusive; a window given back to 0 is not the latest"
    );
    assert_eq!(none, Recent::default());
    assert_eq!(all.total, 4);
    assert_eq!(
        store.peek(&k, sec(-5)).await.expect("the store answers"),
        0,
        "recent never writes"
    );
}

/// `purge_expired(now)` deletes counters whose `window_start + window <= now`, of every key,
/// and keeps the rest; of several windows given for one counter, the longest counts.
pub async fn purge_expired_deletes_only_expired_counters(store: &dyn Store) {
    // Arrange: the year 2000, where only this case has counters.
    let k = key("purge");
    let t0 = time::macros::datetime!(2000-01-01 0:00 UTC);
    let short = t0; // expires t0 + 1 min
    let long = t0 + Duration::SECOND; // expires t0 + 1 s + 15 min
    let later = t0 + Duration::MINUTE; // expires t0 + 2 min
    let stretched = t0 + Duration::seconds(2); // hit with 1 s, 1 h, 1 min: expires t0 + 2 s + 1 h
    store
        .hit(&k, short, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    store
        .hit(&k, long, Duration::minutes(15), 1)
        .await
        .expect("the store answers");
    store
        .hit(&k, later, Duration::MINUTE, 1)
        .await
        .expect("the store answers");
    for window in [Duration::SECOND, Duration::HOUR, Duration::MINUTE] {
        store
            .hit(&k, stretched, window, 1)
            .await
            .expect("the store answers");
    }
    // Act: exactly at the first expiry, then again.
    let purged = store
        .purge_expired(t0 + Duration::MINUTE)
        .await
        .expect("the store answers");
    let again = store
        .purge_expired(t0 + Duration::MINUTE)
        .await
        .expect("the store answers");
    // Assert
    assert!(purged >= 1, "the expired counter was deleted");
    assert_eq!(again, 0, "purging twice is harmless");
    assert_eq!(store.peek(&k, short).await.expect("the store answers"), 0);
    assert_eq!(store.peek(&k, long).await.expect("the store answers"), 1);
    assert_eq!(store.peek(&k, later).await.expect("the store answers"), 1);
    // A purged counter starts again at 0.
    assert_eq!(
        store
            .hit(&k, short, Duration::MINUTE, 1)
            .await
            .expect("the store answers"),
        1
    );
    // The longer-lived counter goes once its own window has passed.
    store
        .purge_expired(t0 + Duration::SECOND + Duration::minutes(15))
        .await
        .expect("the store answers");
    assert_eq!(store.peek(&k, long).await.expect("the store answers"), 0);
    assert_eq!(store.peek(&k, later).await.expect("the store answers"), 0);
    // The latest expiry given by any hit wins.
    assert_eq!(
        store.peek(&k, stretched).await.expect("the store answers"),
        3
    );
    store
        .purge_expired(stretched + Duration::HOUR)
        .await
        .expect("the store answers");
    assert_eq!(
        store.peek(&k, stretched).await.expect("the store answers"),
        0
    );
}

/// 100 truly parallel hits of one counter: the count is exactly 100 and each of 1..=100 was
/// returned once (SECURITY.md §10: several nodes share counters).
pub async fn concurrent_hits_count_exactly(store: &dyn Store) {
    // Arrange
    const N: usize = 100;
    let k = key("race");
    let w = minute();
    // Act
    let mut counts: Vec<i64> = overlap(N, |_| {
        let k = k.clone();
        async move {
            store
                .hit(&k, w, Duration::MINUTE, 1)
                .await
                .expect("the store answers")
        }
    });
    // Assert
    counts.sort_unstable();
    let expected: Vec<i64> = (1..=100).collect();
    assert_eq!(counts, expected);
    assert_eq!(store.peek(&k, w).await.expect("the store answers"), 100);
}

/// Parallel `hit_all`s naming the same two counters in opposite orders lose nothing and never
/// fail (a store locking rows in call order could deadlock here).
pub async fn concurrent_hit_alls_in_opposite_orders_count_exactly(store: &dyn Store) {
    // Arrange
    const N: usize = 50;
    let (a, b) = (key("order-a"), key("order-b"));
    let w = minute();
    // Act
    let results = overlap(N, |i| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let hit = |key| Hit {
                key,
                window_start: w,
                window: Duration::MINUTE,
                by: 1,
            };
            let pair = if i % 2 == 0 {
                [hit(a.as_str()), hit(b.as_str())]
            } else {
                [hit(b.as_str()), hit(a.as_str())]
            };
            store.hit_all(&pair).await
        }
    });
    // Assert
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "call {i}: {r:?}");
    }
    assert_eq!(store.peek(&a, w).await.expect("the store answers"), 50);
    assert_eq!(store.peek(&b, w).await.expect("the store answers"), 50);
}

// ---------------------------------------------------------------------------------------------
// The macro
// ---------------------------------------------------------------------------------------------

/// Stamps out every [`counters`](crate::counters) case as a
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` in a module `counters`.
///
/// `$factory` takes the same forms as in [`store_conformance!`](crate::store_conformance): a path
/// or closure called as `($factory)().await`, or an `async { … }` / `async move { … }` block. The
/// store it yields dereferences to a `Store`.
#[macro_export]
macro_rules! counters_conformance {
    (async move $body:block $(,)?) => {
        $crate::__counters_conformance_cases!([$crate::__stamp_cases] (async move $body));
    };
    (async $body:block $(,)?) => {
        $crate::__counters_conformance_cases!([$crate::__stamp_cases] (async $body));
    };
    ($factory:expr $(,)?) => {
        $crate::__counters_conformance_cases!([$crate::__stamp_cases] (($factory)()));
    };
}

/// The list of every counters case; hands it to `$callback!` with `$make`.
#[doc(hidden)]
#[macro_export]
macro_rules! __counters_conformance_cases {
    ([$($callback:tt)*] $make:tt) => {
        $($callback)*! { $make;
            counters {
                hit_counts_up_and_returns_the_new_count,
                windows_and_keys_are_separate_counters,
                keys_compare_byte_for_byte,
                peek_never_writes,
                hit_all_answers_in_order_and_merges_duplicates,
                recent_sums_windows_since_and_names_the_latest,
                purge_expired_deletes_only_expired_counters,
                concurrent_hits_count_exactly,
                concurrent_hit_alls_in_opposite_orders_count_exactly,
            }
        }
    };
}

/// How many cases [`counters_conformance!`](crate::counters_conformance) stamps out.
pub const CASE_COUNT: usize = {
    macro_rules! __count {
        ($make:tt; $( $group:ident { $( $case:ident ),* $(,)? } )*) => {
            0 $( $( + { let _ = stringify!($case); 1 } )* )*
        };
    }
    __counters_conformance_cases!([__count]())
};
