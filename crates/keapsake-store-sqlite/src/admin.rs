//! [`AdminStore`] on SQLite: users (unique on the ASCII-folded e-mail), accounts and their JSON
//! profile, memberships, and apps (redirect URIs as a JSON array).

use crate::SqliteStore;
use crate::error::{self, map, map_fk_not_found};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::store::{
    Account, AdminStore, App, Membership, NewAccount, NewApp, NewUser, StoreError, StoreResult,
    User, fold_email,
};
use keapsake_core::{AccountId, AppId, UserId};
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
struct UserWithHashRow {
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
    fn try_from(r: AppRow) -> StoreResult<Self> {
        Ok(App {
            id: AppId(r.id),
            redirect_uris: serde_json::from_str(&r.redirect_uris)
                .map_err(|_| error::corrupt("apps.redirect_uris"))?,
            client_id: r.client_id,
            secret_hash: r.secret_hash,
            name: r.name,
            enabled: r.enabled,
            created_at: from_millis(r.created_at),
        })
    }
}

fn profile_json(profile: &AccountProfile) -> StoreResult<String> {
    serde_json::to_string(profile).map_err(|_| error::corrupt("account profile to store"))
}

fn uris_json(uris: &[String]) -> StoreResult<String> {
    serde_json::to_string(uris).map_err(|_| error::corrupt("redirect URIs to store"))
}

/// Turns "0 rows changed" into `NotFound`.
fn one_row(affected: u64) -> StoreResult<()> {
    if affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User> {
        let created_at = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO users \
                     (email, email_folded, password_hash, given_name, family_name, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&user.email)
                .bind(fold_email(&user.email))
                .bind(&user.password_hash)
                .bind(&user.given_name)
                .bind(&user.family_name)
                .bind(created_at)
                .fetch_one(&mut *conn)
                .await
                .map_err(map)?;
                Ok(User {
                    id: UserId(id),
                    email: user.email,
                    given_name: user.given_name,
                    family_name: user.family_name,
                    created_at: from_millis(created_at),
                })
            })
        })
        .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let row: Option<UserWithHashRow> = sqlx::query_as(
            "SELECT id, email, given_name, family_name, created_at, password_hash \
             FROM users WHERE email_folded = $1",
        )
        .bind(fold_email(email))
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, given_name, family_name, created_at FROM users WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        row.map(User::from).ok_or(StoreError::NotFound)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, email, given_name, family_name, created_at FROM users ORDER BY id",
        )
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn create_account(
        &self,
        account: NewAccount,
        now: OffsetDateTime,
    ) -> StoreResult<Account> {
        let created_at = to_millis(now);
        let profile = profile_json(&AccountProfile::default())?;
        self.write(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO accounts (alias, name, profile, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(&account.alias)
                .bind(&account.name)
                .bind(profile)
                .bind(created_at)
                .fetch_one(&mut *conn)
                .await
                .map_err(map)?;
                Ok(Account {
                    id: AccountId(id),
                    alias: account.alias,
                    name: account.name,
                    created_at: from_millis(created_at),
                })
            })
        })
        .await
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Account> {
        let row: Option<AccountRow> =
            sqlx::query_as("SELECT id, alias, name, created_at FROM accounts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.read())
                .await
                .map_err(map)?;
        row.map(Account::from).ok_or(StoreError::NotFound)
    }

    async fn find_account_by_alias(&self, alias: &str) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> =
            sqlx::query_as("SELECT id, alias, name, created_at FROM accounts WHERE alias = $1")
                .bind(alias)
                .fetch_optional(self.read())
                .await
                .map_err(map)?;
        Ok(row.map(Account::from))
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let rows: Vec<AccountRow> =
            sqlx::query_as("SELECT id, alias, name, created_at FROM accounts ORDER BY id")
                .fetch_all(self.read())
                .await
                .map_err(map)?;
        Ok(rows.into_iter().map(Account::from).collect())
    }

    async fn get_profile(&self, account: AccountId) -> StoreResult<AccountProfile> {
        let json: Option<String> = sqlx::query_scalar("SELECT profile FROM accounts WHERE id = $1")
            .bind(account.0)
            .fetch_optional(self.read())
            .await
            .map_err(map)?;
        let json = json.ok_or(StoreError::NotFound)?;
        serde_json::from_str(&json).map_err(|_| error::corrupt("accounts.profile"))
    }

    async fn put_profile(&self, account: AccountId, profile: &AccountProfile) -> StoreResult<()> {
        let json = profile_json(profile)?;
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE accounts SET profile = $2 WHERE id = $1")
                    .bind(account.0)
                    .bind(json)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                one_row(done.rows_affected())
            })
        })
        .await
    }

    async fn add_member(
        &self,
        account: AccountId,
        user: UserId,
        is_admin: bool,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO memberships (account_id, user_id, is_admin) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id, user_id) DO UPDATE SET is_admin = excluded.is_admin",
                )
                .bind(account.0)
                .bind(user.0)
                .bind(is_admin)
                .execute(&mut *conn)
                .await
                .map_err(map_fk_not_found)?;
                Ok(())
            })
        })
        .await
    }

    async fn memberships(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT a.id, a.alias, a.name, a.created_at, m.is_admin \
             FROM memberships m JOIN accounts a ON a.id = m.account_id \
             WHERE m.user_id = $1 ORDER BY a.id",
        )
        .bind(user.0)
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        Ok(rows.into_iter().map(Membership::from).collect())
    }

    async fn membership(
        &self,
        account: AccountId,
        user: UserId,
    ) -> StoreResult<Option<Membership>> {
        let row: Option<MembershipRow> = sqlx::query_as(
            "SELECT a.id, a.alias, a.name, a.created_at, m.is_admin \
             FROM memberships m JOIN accounts a ON a.id = m.account_id \
             WHERE m.account_id = $1 AND m.user_id = $2",
        )
        .bind(account.0)
        .bind(user.0)
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        Ok(row.map(Membership::from))
    }

    async fn create_app(&self, app: NewApp, now: OffsetDateTime) -> StoreResult<App> {
        let created_at = to_millis(now);
        let uris = uris_json(&app.redirect_uris)?;
        self.write(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO apps \
                     (client_id, secret_hash, name, redirect_uris, enabled, created_at) \
                     VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
                )
                .bind(&app.client_id)
                .bind(&app.secret_hash)
                .bind(&app.name)
                .bind(uris)
                .bind(created_at)
                .fetch_one(&mut *conn)
                .await
                .map_err(map)?;
                Ok(App {
                    id: AppId(id),
                    client_id: app.client_id,
                    secret_hash: app.secret_hash,
                    name: app.name,
                    redirect_uris: app.redirect_uris,
                    enabled: true,
                    created_at: from_millis(created_at),
                })
            })
        })
        .await
    }

    async fn find_app(&self, client_id: &str) -> StoreResult<Option<App>> {
        let row: Option<AppRow> = sqlx::query_as(
            "SELECT id, client_id, secret_hash, name, redirect_uris, enabled, created_at \
             FROM apps WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        row.map(App::try_from).transpose()
    }

    async fn get_app(&self, id: AppId) -> StoreResult<App> {
        let row: Option<AppRow> = sqlx::query_as(
            "SELECT id, client_id, secret_hash, name, redirect_uris, enabled, created_at \
             FROM apps WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        row.map(App::try_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        let rows: Vec<AppRow> = sqlx::query_as(
            "SELECT id, client_id, secret_hash, name, redirect_uris, enabled, created_at \
             FROM apps ORDER BY id",
        )
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        rows.into_iter().map(App::try_from).collect()
    }

    async fn set_app_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<()> {
        let (client_id, secret_hash) = (client_id.to_owned(), secret_hash.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE apps SET secret_hash = $2 WHERE client_id = $1")
                    .bind(client_id)
                    .bind(secret_hash)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                one_row(done.rows_affected())
            })
        })
        .await
    }

    async fn set_app_enabled(&self, client_id: &str, enabled: bool) -> StoreResult<()> {
        let client_id = client_id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE apps SET enabled = $2 WHERE client_id = $1")
                    .bind(client_id)
                    .bind(enabled)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                one_row(done.rows_affected())
            })
        })
        .await
    }

    async fn set_app_redirect_uris(&self, client_id: &str, uris: &[String]) -> StoreResult<()> {
        let client_id = client_id.to_owned();
        let uris = uris_json(uris)?;
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE apps SET redirect_uris = $2 WHERE client_id = $1")
                    .bind(client_id)
                    .bind(uris)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                one_row(done.rows_affected())
            })
        })
        .await
    }
}
