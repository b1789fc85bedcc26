//! The one suite every [`Store`] must pass (STYLE.md "Storage: one trait, two backends, one
//! suite").
//!
//! Each case is a `pub async fn case(store: &dyn Store)` in one of the modules [`admin`],
//! [`oauth`], [`sessions`], [`keys`] and [`races`]. A case panics (via `assert!`) when the store
//! breaks the contract written on the trait method in `keapsake_core::store`.
//!
//! Every case creates its own users, accounts and apps with a random suffix, so one database can
//! be shared by every case of a run (the PostgreSQL suite does that) and cases can run in
//! parallel. Times are passed in, as the contract requires; no case sleeps.
//!
//! A store crate runs the whole suite from its `tests/conformance.rs`:
//!
//! ```ignore
//! #![allow(clippy::unwrap_used)]
//! //! Runs the shared conformance suite against a fresh temp-file SQLite store per test.
//! struct Fresh { store: SqliteStore, _dir: tempfile::TempDir }
//! impl std::ops::Deref for Fresh { type Target = SqliteStore; fn deref(&self) -> &SqliteStore { &self.store } }
//! async fn fresh_store() -> Fresh { /* open in a new temp dir */ }
//! keapsake_store_conformance::store_conformance!(fresh_store);
//! ```
//!
//! The crate using the macro must depend on `tokio` (with `macros` and `rt-multi-thread`).

pub mod admin;
pub mod counters;
pub mod hooks;
pub mod keys;
pub mod oauth;
pub mod races;
pub mod records;
pub mod sessions;
pub mod support;

pub use keapsake_core::store::Store;

/// Stamps out every conformance case as a
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`, one module per group
/// (`admin::…`, `oauth::…`, `sessions::…`, `keys::…`, `races::…`).
///
/// `$factory` makes a fresh store for each test. It may be
/// - a path to an `async fn() -> S`, or a closure `|| async { … }` / `async || { … }`: it is
///   called as `($factory)().await`;
/// - an `async { … }` or `async move { … }` block: it is pasted into each test and awaited.
///
/// `S` is anything that dereferences to a `Store` (`Arc<dyn Store>`, `Arc<SqliteStore>`, or a
/// guard struct that also owns a temp directory). It is dropped when its test ends.
///
/// The expansion's test modules `use super::*`, so the factory may name items of the module that
/// invokes the macro.
#[macro_export]
macro_rules! store_conformance {
    (async move $body:block $(,)?) => {
        $crate::__store_conformance_cases!([$crate::__stamp_cases] (async move $body));
    };
    (async $body:block $(,)?) => {
        $crate::__store_conformance_cases!([$crate::__stamp_cases] (async $body));
    };
    ($factory:expr $(,)?) => {
        $crate::__store_conformance_cases!([$crate::__stamp_cases] (($factory)()));
    };
}

/// The list of every case, by group. It is the single place a new case is registered; it hands
/// the list to `$callback!` together with `$make` (an expression that, awaited, yields a store).
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ([$($callback:tt)*] $make:tt) => {
        $($callback)*! { $make;
            admin {
                user_round_trip,
                get_unknown_user_is_not_found,
                email_conflict_folds_ascii_case,
                email_folding_is_ascii_only,
                list_users_is_ordered_by_id,
                account_round_trip,
                alias_conflict,
                list_accounts_is_ordered_by_id,
                new_account_has_an_empty_profile,
                profile_round_trip,
                profile_of_unknown_account_is_not_found,
                memberships_round_trip,
                add_member_is_idempotent_and_updates_admin,
                add_member_needs_both_sides,
                app_round_trip,
                client_id_conflict,
                list_apps_is_ordered_by_id,
                app_setters_change_only_their_app,
                app_setters_on_unknown_client_are_not_found,
            }
            oauth {
                peek_code_reads_every_binding,
                exchange_code_issues_once,
                code_replay_revokes_issued_tokens,
                code_of_another_app_is_invalid_and_still_usable,
                expired_code_is_invalid,
                unknown_code_is_invalid,
                rotate_refresh_rotates,
                rotated_token_in_grace_is_rejected_without_revoking,
                rotated_token_after_grace_revokes_the_whole_family,
                refresh_of_another_app_is_invalid_and_untouched,
                expired_refresh_is_invalid,
                refresh_of_revoked_family_is_invalid,
                unknown_or_access_hash_refresh_is_invalid,
                find_tokens_are_kind_specific,
                find_access_token_reports_disabled_app,
                revoke_token_revokes_the_family,
                revoke_token_of_another_app_is_refused,
                count_active_families_counts_unrevoked,
                count_active_families_ignores_expired_families,
            }
            sessions {
                session_round_trip,
                touch_session_records_activity,
                delete_session_is_idempotent,
                purge_sessions_by_age_and_idleness,
            }
            keys {
                api_key_round_trip,
                api_key_for_unknown_account_is_not_found,
                list_api_keys_is_per_account,
                revoke_api_key_sets_revoked_at,
                revoke_api_key_of_another_account_is_not_found,
            }
            races {
                concurrent_code_exchange_issues_once,
                concurrent_rotation_rotates_once,
                concurrent_replay_and_rotation_leave_nothing_alive,
                concurrent_create_user_same_email_creates_one,
                concurrent_create_account_same_alias_creates_one,
                concurrent_add_member_is_idempotent,
            }
        }
    };
}

/// Turns the case list into test modules and functions.
#[doc(hidden)]
#[macro_export]
macro_rules! __stamp_cases {
    ($make:tt; $( $group:ident { $( $case:ident ),* $(,)? } )*) => {
        $(
            mod $group {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        let store = $make.await;
                        let store: &dyn $crate::Store = &*store;
                        $crate::$group::$case(store).await;
                    }
                )*
            }
        )*
    };
}

/// How many cases [`store_conformance!`] stamps out, so a store crate can assert it ran them all.
pub const CASE_COUNT: usize = {
    macro_rules! __count {
        ($make:tt; $( $group:ident { $( $case:ident ),* $(,)? } )*) => {
            0 $( $( + { let _ = stringify!($case); 1 } )* )*
        };
    }
    __store_conformance_cases!([__count]())
};
