//! Cases for [`OAuthStore`](keapsake_core::store::OAuthStore): codes are single use and bound to
//! their app, replays revoke, refresh tokens rotate with a grace window, reuse after the window
//! revokes the whole family, and revocation (RFC 7009) is per app (SECURITY.md §2).

use crate::support::{
    self, assert_access, assert_not_stored, assert_refresh, expected_grant, hash, issue, new_code,
    now, tokens, world,
};
use keapsake_core::store::{
    AccessRecord, CodeExchange, CodeRecord, RefreshRecord, Rotation, Store,
};
use time::Duration;

/// The grace window most cases use (oauth.md §4.3 suggests 60 s by default).
const GRACE: Duration = Duration::seconds(60);

/// `peek_code` returns every binding of a stored code without consuming it; after the exchange it
/// reports `used`. An unknown code peeks as `None`.
pub async fn peek_code_reads_every_binding(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let mut code = new_code(&w, t0);
    code.redirect_uri = w.app.redirect_uris[1].clone();
    code.code_challenge = Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned());
    code.code_challenge_method = Some("S256".to_owned());
    let h = code.hash;
    store.insert_code(code.clone()).await.expect("insert_code");
    // Act
    let peeked = store.peek_code(&h).await.expect("peek_code");
    // Assert
    let expected = CodeRecord {
        app_id: w.app.id,
        user_id: w.user.id,
        account_id: w.account.id,
        redirect_uri: code.redirect_uri.clone(),
        scope: code.scope.clone(),
        code_challenge: code.code_challenge.clone(),
        code_challenge_method: code.code_challenge_method.clone(),
        expires_at: code.expires_at,
        used: false,
    };
    assert_eq!(peeked, Some(expected.clone()));
    assert_eq!(
        store.peek_code(&h).await.expect("peek_code"),
        Some(expected.clone()),
        "peeking twice consumes nothing"
    );
    assert!(matches!(
        store
            .exchange_code(&h, w.app.id, tokens(t0))
            .await
            .expect("exchange_code"),
        CodeExchange::Issued(_)
    ));
    assert_eq!(
        store.peek_code(&h).await.expect("peek_code"),
        Some(CodeRecord {
            used: true,
            ..expected
        })
    );
    assert_eq!(store.peek_code(&hash()).await.expect("peek_code"), None);
}

/// The first exchange of a code returns `Issued` with the code's grant, and stores both tokens:
/// unrevoked, unrotated, with their expiries, in one family.
pub async fn exchange_code_issues_once(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let code = new_code(&w, t0);
    let h = code.hash;
    store.insert_code(code).await.expect("insert_code");
    let t = tokens(t0);
    // Act
    let result = store
        .exchange_code(&h, w.app.id, t)
        .await
        .expect("exchange_code");
    // Assert
    let CodeExchange::Issued(grant) = result else {
        panic!("first exchange must be Issued, got {result:?}");
    };
    assert_eq!(grant, expected_grant(&w, grant.family_id));
    let access = store
        .find_access_token(&t.access_hash)
        .await
        .expect("find_access_token");
    assert_eq!(
        access,
        Some(AccessRecord {
            grant: grant.clone(),
            expires_at: t.access_expires_at,
            revoked: false,
            app_enabled: true,
        })
    );
    let refresh = store
        .find_refresh_token(&t.refresh_hash)
        .await
        .expect("find_refresh_token");
    assert_eq!(
        refresh,
        Some(RefreshRecord {
            grant,
            expires_at: t.refresh_expires_at,
            revoked: false,
            rotated: false,
        })
    );
}

/// A second exchange of a used code by its app is `Replayed`, stores nothing, and has revoked
/// every token the first exchange issued (RFC 6749 §4.1.2). A third call is `Replayed` again.
pub async fn code_replay_revokes_issued_tokens(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let code = new_code(&w, t0);
    let h = code.hash;
    store.insert_code(code).await.expect("insert_code");
    let t = tokens(t0);
    assert!(matches!(
        store
            .exchange_code(&h, w.app.id, t)
            .await
            .expect("exchange_code"),
        CodeExchange::Issued(_)
    ));
    assert_access(store, &t.access_hash, false, "before the replay").await;
    // Act
    let t1 = t0 + Duration::seconds(5);
    let replay_tokens = tokens(t1);
    let replay = store
        .exchange_code(&h, w.app.id, replay_tokens)
        .await
        .expect("exchange_code (replay)");
    // Assert
    assert_eq!(replay, CodeExchange::Replayed);
    assert_access(store, &t.access_hash, true, "after the replay").await;
    assert_refresh(store, &t.refresh_hash, true, false, "after the replay").await;
    assert_not_stored(store, &replay_tokens, "the replay").await;
    assert_eq!(
        store
            .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, tokens(t1))
            .await
            .expect("rotate_refresh"),
        Rotation::Invalid,
        "the refresh token of a replayed code no longer works"
    );
    let third = tokens(t1 + Duration::seconds(1));
    assert_eq!(
        store
            .exchange_code(&h, w.app.id, third)
            .await
            .expect("exchange_code (third)"),
        CodeExchange::Replayed
    );
    assert_not_stored(store, &third, "the third exchange").await;
}

/// Another app's code is `Invalid`: nothing is stored, the code stays unused, and its own app can
/// still exchange it.
pub async fn code_of_another_app_is_invalid_and_still_usable(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let thief = support::app(store).await;
    let t0 = now();
    let code = new_code(&w, t0);
    let h = code.hash;
    store.insert_code(code).await.expect("insert_code");
    let stolen = tokens(t0);
    // Act
    let result = store
        .exchange_code(&h, thief.id, stolen)
        .await
        .expect("exchange_code (other app)");
    // Assert
    assert_eq!(result, CodeExchange::Invalid);
    assert_not_stored(store, &stolen, "another app's exchange").await;
    assert!(
        !store
            .peek_code(&h)
            .await
            .expect("peek_code")
            .expect("code exists")
            .used,
        "the code is still unused"
    );
    assert_eq!(
        store
            .count_active_families(thief.id, t0)
            .await
            .expect("count"),
        0
    );
    let own = store
        .exchange_code(&h, w.app.id, tokens(t0))
        .await
        .expect("exchange_code (owner)");
    assert!(
        matches!(own, CodeExchange::Issued(_)),
        "the owner can still exchange it: {own:?}"
    );
}

/// A code exchanged at or after `expires_at` is `Invalid` and stays unused; one millisecond before
/// expiry it still works.
pub async fn expired_code_is_invalid(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let code = new_code(&w, t0);
    let (h, exp) = (code.hash, code.expires_at);
    store.insert_code(code).await.expect("insert_code");
    // Act + Assert
    for at in [exp, exp + Duration::days(1)] {
        let t = tokens(at);
        assert_eq!(
            store
                .exchange_code(&h, w.app.id, t)
                .await
                .expect("exchange_code"),
            CodeExchange::Invalid,
            "a code exchanged at {at} (expires {exp}) is expired"
        );
        assert_not_stored(store, &t, "an expired exchange").await;
    }
    assert!(
        !store
            .peek_code(&h)
            .await
            .expect("peek_code")
            .expect("code exists")
            .used
    );
    let last_moment = store
        .exchange_code(&h, w.app.id, tokens(exp - Duration::milliseconds(1)))
        .await
        .expect("exchange_code");
    assert!(
        matches!(last_moment, CodeExchange::Issued(_)),
        "1 ms before expiry the code still works: {last_moment:?}"
    );
}

/// A code that was never stored is `Invalid` and stores nothing.
pub async fn unknown_code_is_invalid(store: &dyn Store) {
    let w = world(store).await;
    let t = tokens(now());
    assert_eq!(
        store
            .exchange_code(&hash(), w.app.id, t)
            .await
            .expect("exchange_code"),
        CodeExchange::Invalid
    );
    assert_not_stored(store, &t, "an unknown code").await;
}

/// A refresh rotates: `Rotated` with the same grant and family; the old refresh token is rotated
/// (not revoked), the new pair is stored, the old access token stays valid, and the new refresh
/// token rotates in turn.
pub async fn rotate_refresh_rotates(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let (grant, t) = issue(store, &w, t0).await;
    let t1 = t0 + Duration::minutes(1);
    let next = tokens(t1);
    // Act
    let result = store
        .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, next)
        .await
        .expect("rotate_refresh");
    // Assert
    assert_eq!(result, Rotation::Rotated(grant.clone()));
    assert_refresh(store, &t.refresh_hash, false, true, "the rotated token").await;
    assert_access(store, &t.access_hash, false, "the old access token").await;
    assert_eq!(
        store
            .find_refresh_token(&next.refresh_hash)
            .await
            .expect("find_refresh_token"),
        Some(RefreshRecord {
            grant: grant.clone(),
            expires_at: next.refresh_expires_at,
            revoked: false,
            rotated: false,
        })
    );
    assert_eq!(
        store
            .find_access_token(&next.access_hash)
            .await
            .expect("find_access_token"),
        Some(AccessRecord {
            grant: grant.clone(),
            expires_at: next.access_expires_at,
            revoked: false,
            app_enabled: true,
        })
    );
    let after = tokens(t1 + Duration::minutes(1));
    assert_eq!(
        store
            .rotate_refresh(&next.refresh_hash, w.app.id, GRACE, after)
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(grant),
        "the new refresh token rotates in turn"
    );
}

/// Presenting a rotated token again within the grace window (boundary included:
/// `now - rotated_at <= grace`) is `RejectedInGrace`: nothing is stored, nothing is revoked, and
/// the winner's new tokens keep working.
pub async fn rotated_token_in_grace_is_rejected_without_revoking(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let (grant, t) = issue(store, &w, t0).await;
    let t1 = t0 + Duration::minutes(1);
    let winner = tokens(t1);
    assert_eq!(
        store
            .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, winner)
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(grant.clone())
    );
    // Act + Assert
    for at in [t1, t1 + Duration::seconds(1), t1 + GRACE] {
        let late = tokens(at);
        assert_eq!(
            store
                .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, late)
                .await
                .expect("rotate_refresh (in grace)"),
            Rotation::RejectedInGrace,
            "replay {} after rotation, grace {GRACE}",
            at - t1
        );
        assert_not_stored(store, &late, "a rejected replay").await;
    }
    assert_access(store, &winner.access_hash, false, "winner's access").await;
    assert_refresh(
        store,
        &winner.refresh_hash,
        false,
        false,
        "winner's refresh",
    )
    .await;
    assert_access(store, &t.access_hash, false, "first access").await;
    assert_eq!(
        store
            .count_active_families(w.app.id, t1)
            .await
            .expect("count_active_families"),
        1,
        "the family is not revoked"
    );
    assert_eq!(
        store
            .rotate_refresh(&winner.refresh_hash, w.app.id, GRACE, tokens(t1 + GRACE))
            .await
            .expect("rotate_refresh (winner)"),
        Rotation::Rotated(grant),
        "the winner's refresh token still rotates"
    );
}

/// Presenting a rotated token after the grace window is `Reused` and revokes the whole family:
/// the first pair and the winner's new access and refresh token. Grace zero works the same.
pub async fn rotated_token_after_grace_revokes_the_whole_family(store: &dyn Store) {
    for grace in [GRACE, Duration::ZERO] {
        // Arrange
        let w = world(store).await;
        let t0 = now();
        let (_, t) = issue(store, &w, t0).await;
        let t1 = t0 + Duration::minutes(1);
        let winner = tokens(t1);
        assert!(matches!(
            store
                .rotate_refresh(&t.refresh_hash, w.app.id, grace, winner)
                .await
                .expect("rotate_refresh"),
            Rotation::Rotated(_)
        ));
        // Act
        let late = tokens(t1 + grace + Duration::milliseconds(1));
        let result = store
            .rotate_refresh(&t.refresh_hash, w.app.id, grace, late)
            .await
            .expect("rotate_refresh (reuse)");
        // Assert
        assert_eq!(result, Rotation::Reused, "grace {grace}");
        assert_not_stored(store, &late, "a reuse").await;
        assert_access(store, &t.access_hash, true, "first access").await;
        assert_refresh(store, &t.refresh_hash, true, true, "first refresh").await;
        assert_access(store, &winner.access_hash, true, "winner's access").await;
        assert_refresh(store, &winner.refresh_hash, true, false, "winner's refresh").await;
        let after = tokens(t1 + Duration::minutes(5));
        assert_eq!(
            store
                .rotate_refresh(&winner.refresh_hash, w.app.id, grace, after)
                .await
                .expect("rotate_refresh (winner after reuse)"),
            Rotation::Invalid,
            "the winner's refresh token died with its family"
        );
        assert_not_stored(store, &after, "a refresh of a revoked family").await;
        assert_eq!(
            store
                .count_active_families(w.app.id, t1)
                .await
                .expect("count_active_families"),
            0
        );
    }
}

/// Another app presenting a refresh token gets `Invalid`; the token is untouched and its owner can
/// still rotate it.
pub async fn refresh_of_another_app_is_invalid_and_untouched(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let thief = support::app(store).await;
    let t0 = now();
    let (grant, t) = issue(store, &w, t0).await;
    let stolen = tokens(t0 + Duration::minutes(1));
    // Act
    let result = store
        .rotate_refresh(&t.refresh_hash, thief.id, GRACE, stolen)
        .await
        .expect("rotate_refresh (other app)");
    // Assert
    assert_eq!(result, Rotation::Invalid);
    assert_not_stored(store, &stolen, "another app's refresh").await;
    assert_refresh(
        store,
        &t.refresh_hash,
        false,
        false,
        "after another app tried",
    )
    .await;
    assert_eq!(
        store
            .rotate_refresh(
                &t.refresh_hash,
                w.app.id,
                GRACE,
                tokens(t0 + Duration::minutes(2))
            )
            .await
            .expect("rotate_refresh (owner)"),
        Rotation::Rotated(grant)
    );
}

/// A refresh token presented at or after its `expires_at` is `Invalid` and untouched; 1 ms before,
/// it rotates.
pub async fn expired_refresh_is_invalid(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let (grant, t) = issue(store, &w, t0).await;
    let exp = t.refresh_expires_at;
    // Act + Assert
    for at in [exp, exp + Duration::days(1)] {
        let late = tokens(at);
        assert_eq!(
            store
                .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, late)
                .await
                .expect("rotate_refresh (expired)"),
            Rotation::Invalid,
            "refresh at {at}, expiring {exp}"
        );
        assert_not_stored(store, &late, "an expired refresh").await;
    }
    assert_refresh(store, &t.refresh_hash, false, false, "an expired token").await;
    assert_eq!(
        store
            .rotate_refresh(
                &t.refresh_hash,
                w.app.id,
                GRACE,
                tokens(exp - Duration::milliseconds(1))
            )
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(grant)
    );
}

/// A refresh token whose family was revoked is `Invalid` and stores nothing.
pub async fn refresh_of_revoked_family_is_invalid(store: &dyn Store) {
    let w = world(store).await;
    let t0 = now();
    let (_, t) = issue(store, &w, t0).await;
    assert!(
        store
            .revoke_token(&t.access_hash, w.app.id, t0)
            .await
            .expect("revoke_token")
    );
    let next = tokens(t0 + Duration::minutes(1));
    assert_eq!(
        store
            .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, next)
            .await
            .expect("rotate_refresh"),
        Rotation::Invalid
    );
    assert_not_stored(store, &next, "a refresh of a revoked family").await;
    assert_refresh(
        store,
        &t.refresh_hash,
        true,
        false,
        "revoked, never rotated",
    )
    .await;
}

/// An unknown hash, or an access token's hash presented as a refresh token, is `Invalid` and
/// changes nothing.
pub async fn unknown_or_access_hash_refresh_is_invalid(store: &dyn Store) {
    let w = world(store).await;
    let t0 = now();
    let (_, t) = issue(store, &w, t0).await;
    for (presented, what) in [
        (hash(), "an unknown hash"),
        (t.access_hash, "an access token"),
    ] {
        let next = tokens(t0 + Duration::minutes(1));
        assert_eq!(
            store
                .rotate_refresh(&presented, w.app.id, GRACE, next)
                .await
                .expect("rotate_refresh"),
            Rotation::Invalid,
            "{what} is not a refresh token"
        );
        assert_not_stored(store, &next, what).await;
    }
    assert_access(store, &t.access_hash, false, "untouched access").await;
    assert_refresh(store, &t.refresh_hash, false, false, "untouched refresh").await;
}

/// `find_access_token` finds only access tokens and `find_refresh_token` only refresh tokens
/// (SECURITY.md §2: an RT sent as Bearer fails); unknown hashes are `None`.
pub async fn find_tokens_are_kind_specific(store: &dyn Store) {
    let w = world(store).await;
    let (_, t) = issue(store, &w, now()).await;
    assert_eq!(
        store
            .find_access_token(&t.refresh_hash)
            .await
            .expect("find_access_token"),
        None,
        "a refresh token is not an access token"
    );
    assert_eq!(
        store
            .find_refresh_token(&t.access_hash)
            .await
            .expect("find_refresh_token"),
        None,
        "an access token is not a refresh token"
    );
    assert_eq!(
        store
            .find_access_token(&hash())
            .await
            .expect("find_access_token"),
        None
    );
    assert_eq!(
        store
            .find_refresh_token(&hash())
            .await
            .expect("find_refresh_token"),
        None
    );
}

/// `find_access_token` reports whether the token's app is enabled, live.
pub async fn find_access_token_reports_disabled_app(store: &dyn Store) {
    let w = world(store).await;
    let (_, t) = issue(store, &w, now()).await;
    store
        .set_app_enabled(&w.app.client_id, false)
        .await
        .expect("set_app_enabled");
    let rec = store
        .find_access_token(&t.access_hash)
        .await
        .expect("find_access_token")
        .expect("the token still exists");
    assert!(!rec.app_enabled, "{rec:?}");
    assert!(!rec.revoked, "disabling an app does not revoke: {rec:?}");
    store
        .set_app_enabled(&w.app.client_id, true)
        .await
        .expect("set_app_enabled");
    let rec = store
        .find_access_token(&t.access_hash)
        .await
        .expect("find_access_token")
        .expect("the token still exists");
    assert!(rec.app_enabled, "{rec:?}");
}

/// `revoke_token` by access or refresh hash revokes that family only and returns `true`; a second
/// call returns `false`; a rotated refresh token still names its family; unknown hashes are
/// `false`.
pub async fn revoke_token_revokes_the_family(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let t0 = now();
    let (_, a) = issue(store, &w, t0).await;
    let (_, b) = issue(store, &w, t0).await;
    let (_, c) = issue(store, &w, t0).await;
    let c2 = tokens(t0 + Duration::minutes(1));
    assert!(matches!(
        store
            .rotate_refresh(&c.refresh_hash, w.app.id, GRACE, c2)
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(_)
    ));
    // Act + Assert: by access token.
    assert!(
        store
            .revoke_token(&a.access_hash, w.app.id, t0)
            .await
            .expect("revoke_token")
    );
    assert_access(store, &a.access_hash, true, "a's access").await;
    assert_refresh(store, &a.refresh_hash, true, false, "a's refresh").await;
    assert_access(store, &b.access_hash, false, "b untouched").await;
    assert_refresh(store, &b.refresh_hash, false, false, "b untouched").await;
    assert!(
        !store
            .revoke_token(&a.refresh_hash, w.app.id, t0)
            .await
            .expect("revoke_token (again)"),
        "revoking a revoked family again returns false"
    );
    // By refresh token.
    assert!(
        store
            .revoke_token(&b.refresh_hash, w.app.id, t0)
            .await
            .expect("revoke_token")
    );
    assert_access(store, &b.access_hash, true, "b's access").await;
    // By a rotated refresh token: the whole family, new pair included.
    assert!(
        store
            .revoke_token(&c.refresh_hash, w.app.id, t0)
            .await
            .expect("revoke_token")
    );
    assert_access(store, &c2.access_hash, true, "c's new access").await;
    assert_refresh(store, &c2.refresh_hash, true, false, "c's new refresh").await;
    assert!(
        !store
            .revoke_token(&hash(), w.app.id, t0)
            .await
            .expect("revoke_token (unknown)")
    );
}

/// `revoke_token` with another app's token returns `false` and revokes nothing.
pub async fn revoke_token_of_another_app_is_refused(store: &dyn Store) {
    let w = world(store).await;
    let other = support::app(store).await;
    let t0 = now();
    let (_, t) = issue(store, &w, t0).await;
    for h in [t.access_hash, t.refresh_hash] {
        assert!(
            !store
                .revoke_token(&h, other.id, t0)
                .await
                .expect("revoke_token (other app)"),
            "another app cannot revoke"
        );
    }
    assert_access(store, &t.access_hash, false, "untouched").await;
    assert_refresh(store, &t.refresh_hash, false, false, "untouched").await;
}

/// `count_active_families` counts one app's unrevoked families: exchanges add one each, revocation
/// and code replay remove one, rotation does not add one, and other apps do not count.
pub async fn count_active_families_counts_unrevoked(store: &dyn Store) {
    // Arrange
    let w = world(store).await;
    let other = world(store).await;
    let t0 = now();
    let t1 = t0 + Duration::minutes(1);
    let count = |app| async move {
        store
            .count_active_families(app, t1)
            .await
            .expect("count_active_families")
    };
    assert_eq!(count(w.app.id).await, 0, "a new app has no families");
    // Act + Assert
    let (_, a) = issue(store, &w, t0).await;
    let (_, b) = issue(store, &w, t0).await;
    let code = new_code(&w, t0);
    let code_hash = code.hash;
    store.insert_code(code).await.expect("insert_code");
    assert!(matches!(
        store
            .exchange_code(&code_hash, w.app.id, tokens(t0))
            .await
            .expect("exchange_code"),
        CodeExchange::Issued(_)
    ));
    issue(store, &other, t0).await;
    assert_eq!(count(w.app.id).await, 3);
    assert_eq!(count(other.app.id).await, 1);
    assert!(matches!(
        store
            .rotate_refresh(&b.refresh_hash, w.app.id, GRACE, tokens(t0))
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(_)
    ));
    assert_eq!(count(w.app.id).await, 3, "rotation keeps the family");
    assert!(
        store
            .revoke_token(&a.access_hash, w.app.id, t0)
            .await
            .expect("revoke_token")
    );
    assert_eq!(count(w.app.id).await, 2);
    assert_eq!(
        store
            .exchange_code(&code_hash, w.app.id, tokens(t0))
            .await
            .expect("exchange_code (replay)"),
        CodeExchange::Replayed
    );
    assert_eq!(count(w.app.id).await, 1);
    assert_eq!(count(other.app.id).await, 1);
}

/// `count_active_families` counts a family only while it still holds a token unexpired at `now`:
/// an unexpired access token or an unrotated, unexpired refresh token.
pub async fn count_active_families_ignores_expired_families(store: &dyn Store) {
    // Arrange: access tokens live 24 h, refresh tokens 45 days (support::tokens).
    let w = world(store).await;
    let t0 = now();
    let (_, t) = issue(store, &w, t0).await;
    let count = |at| async move {
        store
            .count_active_families(w.app.id, at)
            .await
            .expect("count_active_families")
    };
    // Act + Assert
    assert_eq!(count(t0 + Duration::hours(1)).await, 1, "both tokens live");
    assert_eq!(
        count(t0 + Duration::days(2)).await,
        1,
        "the access token expired, the refresh token lives"
    );
    assert_eq!(count(t.refresh_expires_at).await, 0, "everything expired");
    // After a rotation the rotated token no longer counts, its successor does.
    let next = tokens(t0 + Duration::days(40));
    assert!(matches!(
        store
            .rotate_refresh(&t.refresh_hash, w.app.id, GRACE, next)
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(_)
    ));
    assert_eq!(count(t.refresh_expires_at).await, 1, "the new pair lives");
    assert_eq!(count(next.refresh_expires_at).await, 0);
}
