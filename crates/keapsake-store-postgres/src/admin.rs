//! [`AdminStore`] on PostgreSQL: users, accounts and their profiles, memberships, apps.

use crate::PgStore;
use crate::error::{Fail, backend, retry};
use async_trait::async_trait;
use keapsake_core::StoreError;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::ids::{AccountId, AppId, UserId};
use keapsake_core::store::{
    Account, AdminStore, App, Membership, NewAccount, NewApp, NewUser, StoreResult, User,
    fold_email,
};
use keapsake_types::AccountProfile;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    given_name: String,
    family_name: String,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            email: r.email,
            given_name: r.given_name,
            family_name: r.family_name,
            created_at: from_millis(r.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct UserWithPasswordRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    alias: String,
    name: String,
    created_at: i64,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: AccountId(r.id),
            alias: r.alias,
            name: r.name,
            created_at: from_millis(r.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    #[sqlx(flatten)]
    account: AccountRow,
    is_admin: bool,
}

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Self {
        Membership {
            account: r.account.into(),
            is_admin: r.is_admin,
        }
    }
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: i64,
    client_id: String,
    secret_hash: String,
    name: String,
    redirect_uris: String,
    enabled: bool,
    created_at: i64,
}

impl TryFrom<AppRow> for App {
    type Error = StoreError;

    fn try_from(r: AppRow) -> Result<Self, StoreError> {
        let redirect_uris: Vec<String> = serde_json::from_str(&r.redirect_uris).map_err(|e| {
            backend(format!(
                "apps.redirect_uris of app {} is not a JSON array: {e}",
                r.id
            ))
        })?;
        Ok(App {
            id: AppId(r.id),
            client_id: r.client_id,
            secret_hash: r.secret_hash,
            name: r.name,
            redirect_uris,
            enabled: r.enabled,
            created_at: from_millis(r.created_at),
        })
    }
}

fn uris_json(uris: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(uris).map_err(|e| backend(format!("encoding redirect URIs: {e}")))
}

fn profile_json(profile: &AccountProfile) -> Result<String, StoreError> {
    serde_json::to_string(profile).map_err(|e| backend(format!("encoding account profile: {e}")))
}

/// `NotFound` unless exactly one row was touched.
fn one_row(affected: u64) -> Result<(), Fail> {
    if affected == 0 {
        Err(StoreError::NotFound.into())
    } else {
        Ok(())
    }
}

#[async_trait]
impl AdminStore for PgStore {
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User> {
        let pool = &self.pool;
        let user = &user;
        let folded = fold_email(&user.email);
        let folded = &folded;
        retry("create_user", move || async move {
            let row: UserRow = sqlx::query_as(
                "INSERT INTO users (email, email_folded, password_hash, given_name, family_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 RETURNING id, email, given_name, family_name, created_at",
            )
            .bind(&user.email)
            .bind(folded)
            .bind(&user.password_hash)
            .bind(&user.given_name)
            .bind(&user.family_name)
            .bind(to_millis(now))
            .fetch_one(pool)
            .await?;
            Ok::<_, Fail>(row.into())
        })
        .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let pool = &self.pool;
        // ASCII-only folding in Rust, equality in SQL: never lower()/ILIKE (SECURITY.md §6).
        let folded = fold_email(email);
        let folded = &folded;
        retry("find_user_by_email", move || async move {
            let row: Option<UserWithPasswordRow> = sqlx::query_as(
                "SELECT id, email, given_name, family_name, created_at, password_hash \
                 FROM users WHERE email_folded = $1",
            )
            .bind(folded)
            .fetch_optional(pool)
            .await?;
            Ok::<_, Fail>(row.map(|r| (r.user.into(), r.password_hash)))
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        let pool = &self.pool;
        retry("get_user", move || async move {
            let row: Option<UserRow> = sqlx::query_as(
                "SELECT id, email, given_name, family_name, created_at FROM users WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await?;
            row.map(User::from).ok_or(Fail::Store(StoreError::NotFound))
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let pool = &self.pool;
        retry("list_users", move || async move {
            let rows: Vec<UserRow> = sqlx::query_as(
                "SELECT id, email, given_name, family_name, created_at FROM users ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, Fail>(rows.into_iter().map(User::from).collect())
        })
        .await
    }

    async fn create_account(
        &self,
        account: NewAccount,
        now: OffsetDateTime,
    ) -> StoreResult<Account> {
        let pool = &self.pool;
        let account = &account;
        let profile = profile_json(&AccountProfile::default())?;
        let profile = &profile;
        retry("create_account", move || async move {
            let row: AccountRow = sqlx::query_as(
                "INSERT INTO accounts (alias, name, profile, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING id, alias, name, created_at",
            )
            .bind(&account.alias)
            .bind(&account.name)
            .bind(profile)
            .bind(to_millis(now))
            .fetch_one(pool)
            .await?;
            Ok::<_, Fail>(row.into())
        })
        .await
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Account> {
        let pool = &self.pool;
        retry("get_account", move || async move {
            let row: Option<AccountRow> =
                sqlx::query_as("SELECT id, alias, name, created_at FROM accounts WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(pool)
                    .await?;
            row.map(Account::from)
                .ok_or(Fail::Store(StoreError::NotFound))
        })
        .await
    }

    async fn find_account_by_alias(&self, alias: &str) -> StoreResult<Option<Account>> {
        let pool = &self.pool;
        retry("find_account_by_alias", move || async move {
            let row: Option<AccountRow> =
                sqlx::query_as("SELECT id, alias, name, created_at FROM accounts WHERE alias = $1")
                    .bind(alias)
                    .fetch_optional(pool)
                    .await?;
            Ok::<_, Fail>(row.map(Account::from))
        })
        .await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let pool = &self.pool;
        retry("list_accounts", move || async move {
            let rows: Vec<AccountRow> =
                sqlx::query_as("SELECT id, alias, name, created_at FROM accounts ORDER BY id")
                    .fetch_all(pool)
                    .await?;
            Ok::<_, Fail>(rows.into_iter().map(Account::from).collect())
        })
        .await
    }

    async fn get_profile(&self, account: AccountId) -> StoreResult<AccountProfile> {
        let pool = &self.pool;
        retry("get_profile", move || async move {
            let json: Option<String> =
                sqlx::query_scalar("SELECT profile FROM accounts WHERE id = $1")
                    .bind(account.0)
                    .fetch_optional(pool)
                    .await?;
            let json = json.ok_or(Fail::Store(StoreError::NotFound))?;
            serde_json::from_str(&json).map_err(|e| {
                Fail::Store(backend(format!(
                    "accounts.profile of account {account} is not a profile: {e}"
                )))
            })
        })
        .await
    }

    async fn put_profile(&self, account: AccountId, profile: &AccountProfile) -> StoreResult<()> {
        let pool = &self.pool;
        let json = profile_json(profile)?;
        let json = &json;
        retry("put_profile", move || async move {
            let done = sqlx::query("UPDATE accounts SET profile = $2 WHERE id = $1")
                .bind(account.0)
                .bind(json)
                .execute(pool)
                .await?;
            one_row(done.rows_affected())
        })
        .await
    }

    async fn add_member(
        &self,
        account: AccountId,
        user: UserId,
        is_admin: bool,
    ) -> StoreResult<()> {
        let pool = &self.pool;
        retry("add_member", move || async move {
            // A missing account or user fails the foreign key, which maps to NotFound.
            sqlx::query(
                "INSERT INTO memberships (account_id, user_id, is_admin) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, user_id) DO UPDATE SET is_admin = EXCLUDED.is_admin",
            )
            .bind(account.0)
            .bind(user.0)
            .bind(is_admin)
            .execute(pool)
            .await?;
            Ok::<_, Fail>(())
        })
        .await
    }

    async fn memberships(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        let pool = &self.pool;
        retry("memberships", move || async move {
            let rows: Vec<MembershipRow> = sqlx::query_as(
                "SELECT a.id, a.alias, a.name, a.created_at, m.is_admin \
                 FROM memberships m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.user_id = $1 ORDER BY a.id",
            )
            .bind(user.0)
            .fetch_all(pool)
            .await?;
            Ok::<_, Fail>(rows.into_iter().map(Membership::from).collect())
        })
        .await
    }

    async fn membership(
        &self,
        account: AccountId,
        user: UserId,
    ) -> StoreResult<Option<Membership>> {
        let pool = &self.pool;
        retry("membership", move || async move {
            let row: Option<MembershipRow> = sqlx::query_as(
                "SELECT a.id, a.alias, a.name, a.created_at, m.is_admin \
                 FROM memberships m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.account_id = $1 AND m.user_id = $2",
            )
            .bind(account.0)
            .bind(user.0)
            .fetch_optional(pool)
            .await?;
            Ok::<_, Fail>(row.map(Membership::from))
        })
        .await
    }

    async fn create_app(&self, app: NewApp, now: OffsetDateTime) -> StoreResult<App> {
        let pool = &self.pool;
        let app = &app;
        let uris = uris_json(&app.redirect_uris)?;
        let uris = &uris;
        retry("create_app", move || async move {
            let row: AppRow = sqlx::query_as(
                "INSERT INTO apps (client_id, secret_hash, name, redirect_uris, enabled, created_at) \
                 VALUES ($1, $2, $3, $4, TRUE, $5) \
                 RETURNING id, client_id, secret_hash, name, redirect_uris, enabled, created_at",
            )
            .bind(&app.client_id)
            .bind(&app.secret_hash)
            .bind(&app.name)
            .bind(uris)
            .bind(to_millis(now))
            .fetch_one(pool)
            .await?;
            Ok::<_, Fail>(App::try_from(row)?)
        })
        .await
    }

    async fn find_app(&self, client_id: &str) -> StoreResult<Option<App>> {
        let pool = &self.pool;
        retry("find_app", move || async move {
            let row: Option<AppRow> = sqlx::query_as(
                "SELECT id, client_id, secret_hash, name, redirect_uris, enabled, created_at \
                 FROM apps WHERE client_id = $1",
            )
            .bind(client_id)
            .fetch_optional(pool)
            .await?;
            Ok::<_, Fail>(row.map(App::try_from).transpose()?)
        })
        .await
    }

    async fn get_app(&self, id: AppId) -> StoreResult<App> {
        let pool = &self.pool;
        retry("get_app", move || async move {
            let row: Option<AppRow> = sqlx::query_as(
                "SELECT id, client_id, secret_hash, name, redirect_uris, enabled, created_at \
                 FROM apps WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await?;
            let row = row.ok_or(Fail::Store(StoreError::NotFound))?;
            Ok::<_, Fail>(App::try_from(row)?)
        })
        .await
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        let pool = &self.pool;
        retry("list_apps", move || async move {
            let rows: Vec<AppRow> = sqlx::query_as(
                "SELECT id, client_id, secret_hash, name, redirect_uris, enabled, created_at \
                 FROM apps ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, Fail>(
                rows.into_iter()
                    .map(App::try_from)
                    .collect::<Result<Vec<_>, _>>()?,
            )
        })
        .await
    }

    async fn set_app_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<()> {
        let pool = &self.pool;
        retry("set_app_secret", move || async move {
            let done = sqlx::query("UPDATE apps SET secret_hash = $2 WHERE client_id = $1")
                .bind(client_id)
                .bind(secret_hash)
                .execute(pool)
                .await?;
            one_row(done.rows_affected())
        })
        .await
    }

    async fn set_app_enabled(&self, client_id: &str, enabled: bool) -> StoreResult<()> {
        let pool = &self.pool;
        retry("set_app_enabled", move || async move {
            let done = sqlx::query("UPDATE apps SET enabled = $2 WHERE client_id = $1")
                .bind(client_id)
                .bind(enabled)
                .execute(pool)
                .await?;
            one_row(done.rows_affected())
        })
        .await
    }

    async fn set_app_redirect_uris(&self, client_id: &str, uris: &[String]) -> StoreResult<()> {
        let pool = &self.pool;
        let json = uris_json(uris)?;
        let json = &json;
        retry("set_app_redirect_uris", move || async move {
            let done = sqlx::query("UPDATE apps SET redirect_uris = $2 WHERE client_id = $1")
                .bind(client_id)
                .bind(json)
                .execute(pool)
                .await?;
            one_row(done.rows_affected())
        })
        .await
    }
}
