//! Cases for [`SessionStore`](keapsake_core::store::SessionStore): browser sessions are stored by
//! the hash of their cookie, touched, deleted, and purged by age or idleness.

use crate::support::{self, hash, now};
use keapsake_core::clock::from_millis;
use keapsake_core::secret::random_bytes;
use keapsake_core::store::{Session, Store};
use time::{Duration, OffsetDateTime};

fn session(user: Option<keapsake_core::UserId>, at: OffsetDateTime) -> Session {
    Session {
        id_hash: hash(),
        user_id: user,
        csrf_key: random_bytes::<32>().to_vec(),
        created_at: at,
        last_seen_at: at,
    }
}

/// A logged-in and a pre-login session both round-trip exactly; an unknown hash is `None`.
pub async fn session_round_trip(store: &dyn Store) {
    // Arrange
    let user = support::user(store).await;
    let t0 = now();
    let logged_in = Session {
        last_seen_at: t0 + Duration::seconds(3),
        ..session(Some(user.id), t0)
    };
    let anonymous = session(None, t0);
    // Act
    store
        .create_session(logged_in.clone())
        .await
        .expect("create_session");
    store
        .create_session(anonymous.clone())
        .await
        .expect("create_session (pre-login)");
    // Assert
    assert_eq!(
        store
            .get_session(&logged_in.id_hash)
            .await
            .expect("get_session"),
        Some(logged_in)
    );
    assert_eq!(
        store
            .get_session(&anonymous.id_hash)
            .await
            .expect("get_session"),
        Some(anonymous)
    );
    assert_eq!(store.get_session(&hash()).await.expect("get_session"), None);
}

/// `touch_session` moves `last_seen_at` and nothing else; touching an unknown session creates
/// nothing.
pub async fn touch_session_records_activity(store: &dyn Store) {
    let user = support::user(store).await;
    let t0 = now();
    let s = session(Some(user.id), t0);
    let other = session(Some(user.id), t0);
    store
        .create_session(s.clone())
        .await
        .expect("create_session");
    store
        .create_session(other.clone())
        .await
        .expect("create_session");
    let later = t0 + Duration::minutes(7);
    store
        .touch_session(&s.id_hash, later)
        .await
        .expect("touch_session");
    assert_eq!(
        store.get_session(&s.id_hash).await.expect("get_session"),
        Some(Session {
            last_seen_at: later,
            ..s
        })
    );
    assert_eq!(
        store
            .get_session(&other.id_hash)
            .await
            .expect("get_session"),
        Some(other),
        "another session is untouched"
    );
    let unknown = hash();
    // The contract does not say whether touching an unknown session is an error; it must not
    // create one.
    let _ = store.touch_session(&unknown, later).await;
    assert_eq!(
        store.get_session(&unknown).await.expect("get_session"),
        None
    );
}

/// `delete_session` removes the session; deleting it again (or an unknown one) is harmless.
pub async fn delete_session_is_idempotent(store: &dyn Store) {
    let t0 = now();
    let s = session(None, t0);
    let keep = session(None, t0);
    store
        .create_session(s.clone())
        .await
        .expect("create_session");
    store
        .create_session(keep.clone())
        .await
        .expect("create_session");
    store
        .delete_session(&s.id_hash)
        .await
        .expect("delete_session");
    assert_eq!(
        store.get_session(&s.id_hash).await.expect("get_session"),
        None
    );
    store
        .delete_session(&s.id_hash)
        .await
        .expect("deleting twice is harmless");
    store
        .delete_session(&hash())
        .await
        .expect("deleting an unknown session is harmless");
    assert_eq!(
        store.get_session(&keep.id_hash).await.expect("get_session"),
        Some(keep)
    );
}

/// `purge_sessions` deletes sessions created strictly before `created_before` or last seen
/// strictly before `idle_before`, and returns how many it deleted.
///
/// The sessions live at a random instant in the 1990s, so concurrent cases sharing the database
/// (whose sessions are dated now) are never purged by this case.
pub async fn purge_sessions_by_age_and_idleness(store: &dyn Store) {
    // Arrange
    let offset = i64::from(u32::from_le_bytes(random_bytes::<4>()));
    let base = from_millis(631_152_000_000 + offset * 64); // 1990-01-01 + up to ~8.7 years
    let at = |s: i64| base + Duration::seconds(s);
    let old = Session {
        created_at: at(0),
        last_seen_at: at(500),
        ..session(None, at(0))
    };
    let boundary = Session {
        created_at: at(10),
        last_seen_at: at(100),
        ..session(None, at(0))
    };
    let idle = Session {
        created_at: at(20),
        last_seen_at: at(50),
        ..session(None, at(0))
    };
    let fresh = Session {
        created_at: at(30),
        last_seen_at: at(1000),
        ..session(None, at(0))
    };
    for s in [&old, &boundary, &idle, &fresh] {
        store
            .create_session(s.clone())
            .await
            .expect("create_session");
    }
    // Act: created before at(10) (old), idle before at(100) (idle); boundary sits on both cutoffs.
    let purged = store
        .purge_sessions(at(10), at(100))
        .await
        .expect("purge_sessions");
    // Assert
    assert_eq!(
        purged, 2,
        "old and idle are purged, boundary and fresh kept"
    );
    let present = |s: &Session| {
        let h = s.id_hash;
        async move { store.get_session(&h).await.expect("get_session").is_some() }
    };
    assert!(!present(&old).await, "created before the cutoff");
    assert!(!present(&idle).await, "idle since before the cutoff");
    assert!(present(&boundary).await, "cutoffs are exclusive");
    assert!(present(&fresh).await);
    let again = store
        .purge_sessions(at(10), at(100))
        .await
        .expect("purge_sessions");
    assert_eq!(again, 0, "a second purge finds nothing");
    let by_idle = store
        .purge_sessions(at(0), at(101))
        .await
        .expect("purge_sessions");
    assert_eq!(by_idle, 1, "boundary is now idle");
    assert!(present(&fresh).await);
    store
        .delete_session(&fresh.id_hash)
        .await
        .expect("delete_session");
}
