//! Cases for [`AdminStore`](keapsake_core::store::AdminStore): users (e-mail uniqueness folding
//! ASCII case only), accounts and their profiles, memberships, and apps.

use crate::support::{
    self, assert_conflict, assert_not_found, assert_strictly_increasing, missing_account,
    missing_user, new_account, new_app, new_user, now, suffix,
};
use keapsake_core::store::{NewAccount, NewApp, NewUser, Store};
use keapsake_types::{AccountProfile, ContactAddress};

/// `create_user` returns the user as stored; `get_user`, `find_user_by_email` (with the password
/// hash) and `list_users` see the same thing.
pub async fn user_round_trip(store: &dyn Store) {
    // Arrange
    let new = new_user();
    let at = now();
    // Act
    let user = store
        .create_user(new.clone(), at)
        .await
        .expect("create_user succeeds");
    // Assert
    assert_eq!(user.email, new.email);
    assert_eq!(user.given_name, new.given_name);
    assert_eq!(user.family_name, new.family_name);
    assert_eq!(
        user.created_at, at,
        "created_at is stored to the millisecond"
    );
    assert_eq!(store.get_user(user.id).await.expect("get_user"), user);
    let (found, hash) = store
        .find_user_by_email(&new.email)
        .await
        .expect("find_user_by_email")
        .expect("the user is found by the e-mail it registered with");
    assert_eq!(found, user);
    assert_eq!(hash, new.password_hash, "the password hash round-trips");
    let all = store.list_users().await.expect("list_users");
    assert!(all.contains(&user), "list_users includes the new user");
}

/// `get_user` of an id that does not exist is `NotFound`; `find_user_by_email` of an unknown
/// e-mail is `None`.
pub async fn get_unknown_user_is_not_found(store: &dyn Store) {
    assert_not_found(store.get_user(missing_user()).await, "get_user(unknown)");
    let none = store
        .find_user_by_email(&format!("nobody-{}@example.com", suffix()))
        .await
        .expect("find_user_by_email");
    assert!(none.is_none(), "an unknown e-mail finds nobody");
}

/// E-mails are unique after folding ASCII case: a second user whose e-mail differs only in ASCII
/// case is `Conflict { what: "email" }`, and lookups fold ASCII case.
pub async fn email_conflict_folds_ascii_case(store: &dyn Store) {
    // Arrange
    let s = suffix();
    let first = NewUser {
        email: format!("Mixed.Case-{s}@Example.COM"),
        ..new_user()
    };
    let user = store
        .create_user(first.clone(), now())
        .await
        .expect("create_user succeeds");
    // Act
    let again = store
        .create_user(
            NewUser {
                email: format!("mixed.case-{s}@example.com"),
                ..new_user()
            },
            now(),
        )
        .await;
    let exact_again = store.create_user(first.clone(), now()).await;
    // Assert
    assert_conflict(again, "email");
    assert_conflict(exact_again, "email");
    for probe in [
        format!("MIXED.CASE-{s}@EXAMPLE.COM"),
        format!("mixed.case-{s}@example.com"),
    ] {
        let (found, _) = store
            .find_user_by_email(&probe)
            .await
            .expect("find_user_by_email")
            .unwrap_or_else(|| panic!("{probe} must find the user (ASCII case folds)"));
        assert_eq!(found.id, user.id);
        assert_eq!(found.email, first.email, "the e-mail is kept as registered");
    }
}

/// Only ASCII case folds (SECURITY.md §6): the Kelvin sign `K` (U+212A), long s `ſ` (U+017F),
/// `ß` and fullwidth letters never collide with, or find, the ASCII address.
pub async fn email_folding_is_ascii_only(store: &dyn Store) {
    // Arrange
    let s = suffix();
    let ascii = store
        .create_user(
            NewUser {
                email: format!("kis-{s}@example.com"),
                ..new_user()
            },
            now(),
        )
        .await
        .expect("create_user (ASCII)");
    // Act + Assert: every look-alike is a different, creatable address.
    let lookalikes = [
        format!("\u{212A}is-{s}@example.com"), // KELVIN SIGN
        format!("ki\u{17F}-{s}@example.com"),  // LATIN SMALL LETTER LONG S
        format!("\u{FF4B}is-{s}@example.com"), // FULLWIDTH LATIN SMALL LETTER K
    ];
    for email in &lookalikes {
        let before = store
            .find_user_by_email(email)
            .await
            .expect("find_user_by_email");
        assert!(
            before.is_none(),
            "{email:?} must not find the ASCII user {:?}",
            ascii.email
        );
        let other = store
            .create_user(
                NewUser {
                    email: email.clone(),
                    ..new_user()
                },
                now(),
            )
            .await
            .unwrap_or_else(|e| panic!("{email:?} must not collide with the ASCII address: {e}"));
        assert_ne!(other.id, ascii.id);
        let (found, _) = store
            .find_user_by_email(email)
            .await
            .expect("find_user_by_email")
            .unwrap_or_else(|| panic!("{email:?} finds its own user"));
        assert_eq!(found.id, other.id);
    }
    // ß and "ss" are different addresses too (Unicode full case folding would equate them).
    let sharp = store
        .create_user(
            NewUser {
                email: format!("stra\u{DF}e-{s}@example.com"),
                ..new_user()
            },
            now(),
        )
        .await
        .expect("create_user (ß)");
    let ss = store
        .create_user(
            NewUser {
                email: format!("STRASSE-{s}@example.com"),
                ..new_user()
            },
            now(),
        )
        .await
        .expect("STRASSE must not collide with straße");
    assert_ne!(sharp.id, ss.id);
    // The Kelvin address itself still folds its ASCII letters.
    let (found, _) = store
        .find_user_by_email(&format!("\u{212A}IS-{s}@EXAMPLE.com"))
        .await
        .expect("find_user_by_email")
        .expect("ASCII letters around the Kelvin sign fold");
    assert_eq!(found.email, lookalikes[0]);
    let (found, _) = store
        .find_user_by_email(&format!("KIS-{s}@example.com"))
        .await
        .expect("find_user_by_email")
        .expect("the ASCII address is found in upper case");
    assert_eq!(found.id, ascii.id);
}

/// `list_users` is ordered by id and includes users created later, after those created earlier.
pub async fn list_users_is_ordered_by_id(store: &dyn Store) {
    let a = support::user(store).await;
    let b = support::user(store).await;
    let ids: Vec<i64> = store
        .list_users()
        .await
        .expect("list_users")
        .iter()
        .map(|u| u.id.0)
        .collect();
    assert_strictly_increasing(&ids, "list_users");
    assert!(a.id < b.id, "ids grow");
    assert!(ids.contains(&a.id.0) && ids.contains(&b.id.0));
}

/// `create_account` returns the account as stored; `get_account`, `find_account_by_alias` and
/// `list_accounts` agree. Unknown ids are `NotFound`, unknown aliases `None`.
pub async fn account_round_trip(store: &dyn Store) {
    // Arrange
    let new = new_account();
    let at = now();
    // Act
    let account = store
        .create_account(new.clone(), at)
        .await
        .expect("create_account");
    // Assert
    assert_eq!(account.alias, new.alias);
    assert_eq!(account.name, new.name);
    assert_eq!(account.created_at, at);
    assert_eq!(
        store.get_account(account.id).await.expect("get_account"),
        account
    );
    assert_eq!(
        store
            .find_account_by_alias(&new.alias)
            .await
            .expect("find_account_by_alias"),
        Some(account.clone())
    );
    assert!(
        store
            .list_accounts()
            .await
            .expect("list_accounts")
            .contains(&account)
    );
    assert_not_found(
        store.get_account(missing_account()).await,
        "get_account(unknown)",
    );
    assert_eq!(
        store
            .find_account_by_alias(&format!("zz{}", suffix()))
            .await
            .expect("find_account_by_alias"),
        None
    );
}

/// A second account with the same alias is `Conflict { what: "alias" }`, even with another name.
pub async fn alias_conflict(store: &dyn Store) {
    let first = support::account(store).await;
    let again = store
        .create_account(
            NewAccount {
                alias: first.alias.clone(),
                name: "Someone else".to_owned(),
            },
            now(),
        )
        .await;
    assert_conflict(again, "alias");
    assert_eq!(
        store.get_account(first.id).await.expect("get_account").name,
        first.name,
        "the existing account is untouched"
    );
}

/// `list_accounts` is ordered by id.
pub async fn list_accounts_is_ordered_by_id(store: &dyn Store) {
    let a = support::account(store).await;
    let b = support::account(store).await;
    let ids: Vec<i64> = store
        .list_accounts()
        .await
        .expect("list_accounts")
        .iter()
        .map(|a| a.id.0)
        .collect();
    assert_strictly_increasing(&ids, "list_accounts");
    assert!(ids.contains(&a.id.0) && ids.contains(&b.id.0));
}

/// A new account's profile is empty (`AccountProfile::default()`).
pub async fn new_account_has_an_empty_profile(store: &dyn Store) {
    let account = support::account(store).await;
    assert_eq!(
        store.get_profile(account.id).await.expect("get_profile"),
        AccountProfile::default()
    );
}

/// `put_profile` replaces the whole profile and `get_profile` returns it unchanged; another
/// account's profile is untouched.
pub async fn profile_round_trip(store: &dyn Store) {
    // Arrange
    let account = support::account(store).await;
    let other = support::account(store).await;
    let profile = AccountProfile {
        name: Some("Ünïcode & Sons \"Ltd\"".to_owned()),
        email: Some("office@example.com".to_owned()),
        phone: Some("+1 555 0100".to_owned()),
        phone_ext: Some("42".to_owned()),
        website: Some("https://example.com/".to_owned()),
        time_zone: Some("America/New_York".to_owned()),
        currency_code: Some("USD".to_owned()),
        language_tag: Some("en-US".to_owned()),
        logo_url: Some("https://example.com/logo.png".to_owned()),
        business_type: Some("Consulting".to_owned()),
        business_goals: vec!["grow".to_owned(), "automate".to_owned()],
        business_primary_color: Some("#112233".to_owned()),
        business_secondary_color: Some("#445566".to_owned()),
        address: Some(ContactAddress {
            line1: Some("1 Main St".to_owned()),
            locality: Some("Springfield".to_owned()),
            country_code: Some("USA".to_owned()),
            ..ContactAddress::default()
        }),
    };
    // Act
    store
        .put_profile(account.id, &profile)
        .await
        .expect("put_profile");
    // Assert
    assert_eq!(
        store.get_profile(account.id).await.expect("get_profile"),
        profile
    );
    assert_eq!(
        store.get_profile(other.id).await.expect("get_profile"),
        AccountProfile::default(),
        "another account's profile is untouched"
    );
    // A second put replaces, it does not merge.
    let smaller = AccountProfile {
        name: Some("Renamed".to_owned()),
        ..AccountProfile::default()
    };
    store
        .put_profile(account.id, &smaller)
        .await
        .expect("put_profile");
    assert_eq!(
        store.get_profile(account.id).await.expect("get_profile"),
        smaller
    );
}

/// `get_profile` and `put_profile` of an unknown account are `NotFound`.
pub async fn profile_of_unknown_account_is_not_found(store: &dyn Store) {
    assert_not_found(
        store.get_profile(missing_account()).await,
        "get_profile(unknown)",
    );
    assert_not_found(
        store
            .put_profile(missing_account(), &AccountProfile::default())
            .await,
        "put_profile(unknown)",
    );
}

/// `memberships` lists a user's accounts by account id with their admin flag; `membership` answers
/// for one account, `None` for a non-member; a user with no memberships gets an empty list.
pub async fn memberships_round_trip(store: &dyn Store) {
    // Arrange
    let user = support::user(store).await;
    let loner = support::user(store).await;
    let a = support::account(store).await;
    let b = support::account(store).await;
    let not_mine = support::account(store).await;
    // Act: add in reverse id order, to see the list sorted by account id.
    store
        .add_member(b.id, user.id, false)
        .await
        .expect("add_member");
    store
        .add_member(a.id, user.id, true)
        .await
        .expect("add_member");
    // Assert
    let list = store.memberships(user.id).await.expect("memberships");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0].account, a);
    assert!(list[0].is_admin);
    assert_eq!(list[1].account, b);
    assert!(!list[1].is_admin);
    let one = store
        .membership(b.id, user.id)
        .await
        .expect("membership")
        .expect("the user is a member of b");
    assert_eq!(one.account, b);
    assert!(!one.is_admin);
    assert_eq!(
        store
            .membership(not_mine.id, user.id)
            .await
            .expect("membership"),
        None
    );
    assert!(
        store
            .memberships(loner.id)
            .await
            .expect("memberships")
            .is_empty()
    );
}

/// A second `add_member` for the same pair updates `is_admin` and does not duplicate the row.
pub async fn add_member_is_idempotent_and_updates_admin(store: &dyn Store) {
    let user = support::user(store).await;
    let account = support::account(store).await;
    store
        .add_member(account.id, user.id, false)
        .await
        .expect("add_member");
    store
        .add_member(account.id, user.id, true)
        .await
        .expect("second add_member succeeds");
    let list = store.memberships(user.id).await.expect("memberships");
    assert_eq!(list.len(), 1, "no duplicate membership: {list:?}");
    assert!(list[0].is_admin, "the second call updated is_admin");
    store
        .add_member(account.id, user.id, false)
        .await
        .expect("third add_member succeeds");
    let m = store
        .membership(account.id, user.id)
        .await
        .expect("membership")
        .expect("still a member");
    assert!(!m.is_admin, "the third call demoted the member");
}

/// `add_member` with an unknown account or user is `NotFound` and creates nothing.
pub async fn add_member_needs_both_sides(store: &dyn Store) {
    let user = support::user(store).await;
    let account = support::account(store).await;
    assert_not_found(
        store.add_member(missing_account(), user.id, false).await,
        "add_member(unknown account)",
    );
    assert_not_found(
        store.add_member(account.id, missing_user(), false).await,
        "add_member(unknown user)",
    );
    assert!(
        store
            .memberships(user.id)
            .await
            .expect("memberships")
            .is_empty()
    );
}

/// `create_app` returns the app as stored (enabled, redirect URIs in order); `find_app`,
/// `get_app` and `list_apps` agree; unknown ones are `None` / `NotFound`.
pub async fn app_round_trip(store: &dyn Store) {
    // Arrange
    let new = new_app();
    let at = now();
    // Act
    let app = store.create_app(new.clone(), at).await.expect("create_app");
    // Assert
    assert_eq!(app.client_id, new.client_id);
    assert_eq!(app.secret_hash, new.secret_hash);
    assert_eq!(app.name, new.name);
    assert_eq!(app.redirect_uris, new.redirect_uris, "order is kept");
    assert!(app.enabled, "a new app is enabled");
    assert_eq!(app.created_at, at);
    assert_eq!(
        store.find_app(&new.client_id).await.expect("find_app"),
        Some(app.clone())
    );
    assert_eq!(store.get_app(app.id).await.expect("get_app"), app);
    assert!(store.list_apps().await.expect("list_apps").contains(&app));
    assert_eq!(
        store
            .find_app(&format!("client-{}", suffix()))
            .await
            .expect("find_app"),
        None
    );
    assert_not_found(
        store.get_app(support::missing_app()).await,
        "get_app(unknown)",
    );
    // Client ids are exact: another case is another client.
    assert_eq!(
        store
            .find_app(&new.client_id.to_ascii_uppercase())
            .await
            .expect("find_app"),
        None,
        "client_id lookups are byte-exact"
    );
}

/// A second app with the same client id is `Conflict { what: "client_id" }`.
pub async fn client_id_conflict(store: &dyn Store) {
    let first = support::app(store).await;
    let again = store
        .create_app(
            NewApp {
                client_id: first.client_id.clone(),
                ..new_app()
            },
            now(),
        )
        .await;
    assert_conflict(again, "client_id");
    assert_eq!(store.get_app(first.id).await.expect("get_app"), first);
}

/// `list_apps` is ordered by id.
pub async fn list_apps_is_ordered_by_id(store: &dyn Store) {
    let a = support::app(store).await;
    let b = support::app(store).await;
    let ids: Vec<i64> = store
        .list_apps()
        .await
        .expect("list_apps")
        .iter()
        .map(|a| a.id.0)
        .collect();
    assert_strictly_increasing(&ids, "list_apps");
    assert!(ids.contains(&a.id.0) && ids.contains(&b.id.0));
}

/// `set_app_secret`, `set_app_enabled` and `set_app_redirect_uris` change their app only.
pub async fn app_setters_change_only_their_app(store: &dyn Store) {
    // Arrange
    let app = support::app(store).await;
    let bystander = support::app(store).await;
    let uris = vec![
        "https://new.example.com/b".to_owned(),
        "https://new.example.com/a".to_owned(),
        "http://127.0.0.1:9/x".to_owned(),
    ];
    // Act
    store
        .set_app_secret(&app.client_id, "rotated-secret-hash")
        .await
        .expect("set_app_secret");
    store
        .set_app_enabled(&app.client_id, false)
        .await
        .expect("set_app_enabled");
    store
        .set_app_redirect_uris(&app.client_id, &uris)
        .await
        .expect("set_app_redirect_uris");
    // Assert
    let changed = store.get_app(app.id).await.expect("get_app");
    assert_eq!(changed.secret_hash, "rotated-secret-hash");
    assert!(!changed.enabled);
    assert_eq!(changed.redirect_uris, uris);
    assert_eq!(changed.client_id, app.client_id);
    assert_eq!(changed.name, app.name);
    assert_eq!(changed.created_at, app.created_at);
    assert_eq!(
        store.get_app(bystander.id).await.expect("get_app"),
        bystander,
        "another app is untouched"
    );
    store
        .set_app_enabled(&app.client_id, true)
        .await
        .expect("set_app_enabled");
    assert!(store.get_app(app.id).await.expect("get_app").enabled);
    store
        .set_app_redirect_uris(&app.client_id, &[])
        .await
        .expect("set_app_redirect_uris(empty)");
    assert!(
        store
            .get_app(app.id)
            .await
            .expect("get_app")
            .redirect_uris
            .is_empty()
    );
}

/// Every app setter on an unknown client id is `NotFound`.
pub async fn app_setters_on_unknown_client_are_not_found(store: &dyn Store) {
    let unknown = format!("client-{}", suffix());
    assert_not_found(
        store.set_app_secret(&unknown, "x").await,
        "set_app_secret(unknown)",
    );
    assert_not_found(
        store.set_app_enabled(&unknown, false).await,
        "set_app_enabled(unknown)",
    );
    assert_not_found(
        store.set_app_redirect_uris(&unknown, &[]).await,
        "set_app_redirect_uris(unknown)",
    );
    assert_eq!(store.find_app(&unknown).await.expect("find_app"), None);
}
