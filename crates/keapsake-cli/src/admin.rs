//! Admin commands: they open the store directly (the same database the server uses) and print
//! a human summary or, with `--json`, one JSON document for scripts.

use crate::DbArgs;
use crate::output::{emit, ts};
use anyhow::{Context as _, anyhow, bail};
use keapsake_core::oauth::{self, Lifetimes};
use keapsake_core::store::{
    CodeExchange, KeyKind, NewAccount, NewApiKey, NewApp, NewCode, NewTokens, NewUser,
};
use keapsake_core::{Clock, Secret, Store, SystemClock, password};
use serde_json::json;
use std::io::Read as _;
use std::sync::Arc;

/// Opens the store named by `--database`.
pub async fn open(db: &DbArgs) -> anyhow::Result<Arc<dyn Store>> {
    keapsake_server::open_store(&db.database, Default::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                crate::serve::redact_url(&db.database)
            )
        })
}

fn now() -> time::OffsetDateTime {
    SystemClock.now()
}

// ------------------------------------------------------------------------------------------ users

/// `keapsake user …`
#[derive(Debug, clap::Subcommand)]
pub enum UserCmd {
    /// Create a user who can log in on the authorize page.
    #[command(
        after_help = "Example:\n  keapsake user add --email ann@example.com --password-stdin <<< 'a long passphrase'"
    )]
    Add {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Password (prefer --password-stdin or KEAPSAKE_USER_PASSWORD: flags show up in `ps`).
        #[arg(
            long,
            env = "KEAPSAKE_USER_PASSWORD",
            hide_env_values = true,
            conflicts_with = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// First name.
        #[arg(long, default_value = "")]
        given_name: String,
        /// Last name.
        #[arg(long, default_value = "")]
        family_name: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `user` command.
pub async fn user(cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            email,
            password,
            password_stdin,
            given_name,
            family_name,
            db,
            json,
        } => {
            let pw = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("cannot read the password from stdin")?;
                    s.trim_end_matches(['\r', '\n']).to_string()
                }
                (None, false) => bail!(
                    "give a password with --password-stdin, --password or KEAPSAKE_USER_PASSWORD"
                ),
            };
            if pw.len() < 8 {
                bail!("the password must have at least 8 characters");
            }
            if !email.contains('@') {
                bail!("`{email}` is not an e-mail address");
            }
            let store = open(&db).await?;
            let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw)).await??;
            let u = store
                .create_user(
                    NewUser {
                        email,
                        password_hash: hash,
                        given_name,
                        family_name,
                    },
                    now(),
                )
                .await
                .map_err(|e| store_err(e, "user"))?;
            emit(
                json,
                &json!({"id": u.id.0, "email": u.email, "given_name": u.given_name, "family_name": u.family_name, "created_at": ts(u.created_at)}),
                || format!("user {} created (id {})", u.email, u.id),
            );
        }
        UserCmd::List { db, json } => {
            let store = open(&db).await?;
            let users = store.list_users().await?;
            let v: Vec<_> = users.iter().map(|u| json!({"id": u.id.0, "email": u.email, "given_name": u.given_name, "family_name": u.family_name})).collect();
            emit(json, &json!(v), || {
                let mut s = format!("{:<6} {:<32} NAME", "ID", "EMAIL");
                for u in &users {
                    s.push_str(&format!(
                        "\n{:<6} {:<32} {} {}",
                        u.id, u.email, u.given_name, u.family_name
                    ));
                }
                s
            });
        }
    }
    Ok(())
}

// --------------------------------------------------------------------------------------- accounts

/// `keapsake account …`
#[derive(Debug, clap::Subcommand)]
pub enum AccountCmd {
    /// Create an account (a Keap app / tenant).
    #[command(after_help = "Example:\n  keapsake account add --alias ab123 --name 'Acme Inc'")]
    Add {
        /// App name as in Keap (`ab123`): 2–32 lower-case letters and digits. Appears in the token scope.
        #[arg(long)]
        alias: String,
        /// Business name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `account` command.
pub async fn account(cmd: AccountCmd) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Add {
            alias,
            name,
            db,
            json,
        } => {
            if !(2..=32).contains(&alias.len())
                || !alias
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                bail!("the alias must be 2–32 lower-case letters and digits, like `ab123`");
            }
            let store = open(&db).await?;
            let a = store
                .create_account(NewAccount { alias, name }, now())
                .await
                .map_err(|e| store_err(e, "account"))?;
            emit(
                json,
                &json!({"id": a.id.0, "alias": a.alias, "name": a.name, "created_at": ts(a.created_at)}),
                || format!("account {} ({}) created (id {})", a.alias, a.name, a.id),
            );
        }
        AccountCmd::List { db, json } => {
            let store = open(&db).await?;
            let accounts = store.list_accounts().await?;
            let v: Vec<_> = accounts
                .iter()
                .map(|a| json!({"id": a.id.0, "alias": a.alias, "name": a.name}))
                .collect();
            emit(json, &json!(v), || {
                let mut s = format!("{:<6} {:<12} NAME", "ID", "ALIAS");
                for a in &accounts {
                    s.push_str(&format!("\n{:<6} {:<12} {}", a.id, a.alias, a.name));
                }
                s
            });
        }
    }
    Ok(())
}

/// `keapsake member …`
#[derive(Debug, clap::Subcommand)]
pub enum MemberCmd {
    /// Let a user choose an account on the authorize page.
    #[command(
        after_help = "Example:\n  keapsake member add --account ab123 --user ann@example.com --admin"
    )]
    Add {
        /// Account alias.
        #[arg(long)]
        account: String,
        /// User e-mail.
        #[arg(long)]
        user: String,
        /// Make the user an administrator of the account.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `member` command.
pub async fn member(cmd: MemberCmd) -> anyhow::Result<()> {
    let MemberCmd::Add {
        account,
        user,
        admin,
        db,
        json,
    } = cmd;
    let store = open(&db).await?;
    let a = find_account(store.as_ref(), &account).await?;
    let u = find_user(store.as_ref(), &user).await?;
    store.add_member(a.id, u.id, admin).await?;
    emit(
        json,
        &json!({"account": a.alias, "user": u.email, "is_admin": admin}),
        || {
            format!(
                "{} is now a{} member of {}",
                u.email,
                if admin { "n admin" } else { "" },
                a.alias
            )
        },
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------- apps

/// `keapsake app …`
#[derive(Debug, clap::Subcommand)]
pub enum AppCmd {
    /// Register an OAuth app; its secret is printed once.
    #[command(
        after_help = "Example:\n  keapsake app add --name 'My integration' --redirect-uri https://myapp.example.com/callback --redirect-uri http://localhost:3000/cb"
    )]
    Add {
        /// Name shown on the consent page.
        #[arg(long)]
        name: String,
        /// Redirect URI (repeatable): https, or http on localhost/127.0.0.1/[::1]. Matched byte for byte.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Client id (default: generated).
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// List apps (never their secrets).
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace an app's secret; the new one is printed once. Issued tokens stay valid.
    RotateSecret {
        /// Client id.
        client_id: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable an app: it can no longer authorize, exchange, refresh, or use its tokens.
    Disable {
        /// Client id.
        client_id: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled app.
    Enable {
        /// Client id.
        client_id: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `app` command.
pub async fn app(cmd: AppCmd) -> anyhow::Result<()> {
    match cmd {
        AppCmd::Add {
            name,
            redirect_uris,
            client_id,
            db,
            json,
        } => {
            for u in &redirect_uris {
                oauth::validate_redirect_registration(u)?;
            }
            let store = open(&db).await?;
            let client_id =
                client_id.unwrap_or_else(|| Secret::generate_hex("", 12).expose().to_string());
            let secret = Secret::generate();
            let app = store
                .create_app(
                    NewApp {
                        client_id,
                        secret_hash: oauth::hash_client_secret(secret.expose(), true)?,
                        name,
                        redirect_uris,
                    },
                    now(),
                )
                .await
                .map_err(|e| store_err(e, "app"))?;
            emit(
                json,
                &json!({"client_id": app.client_id, "client_secret": secret.expose(), "name": app.name, "redirect_uris": app.redirect_uris}),
                || {
                    format!(
                        "app `{}` registered\n  client_id      {}\n  client_secret  {}   (shown once: store it now)\n  redirect_uris  {}",
                        app.name,
                        app.client_id,
                        secret.expose(),
                        app.redirect_uris.join(" ")
                    )
                },
            );
        }
        AppCmd::List { db, json } => {
            let store = open(&db).await?;
            let apps = store.list_apps().await?;
            let v: Vec<_> = apps
                .iter()
                .map(|a| json!({"client_id": a.client_id, "name": a.name, "redirect_uris": a.redirect_uris, "enabled": a.enabled, "created_at": ts(a.created_at)}))
                .collect();
            emit(json, &json!(v), || {
                let mut s = format!(
                    "{:<26} {:<8} {:<24} REDIRECT URIS",
                    "CLIENT ID", "ENABLED", "NAME"
                );
                for a in &apps {
                    s.push_str(&format!(
                        "\n{:<26} {:<8} {:<24} {}",
                        a.client_id,
                        a.enabled,
                        a.name,
                        a.redirect_uris.join(" ")
                    ));
                }
                s
            });
        }
        AppCmd::RotateSecret {
            client_id,
            db,
            json,
        } => {
            let store = open(&db).await?;
            let secret = Secret::generate();
            store
                .set_app_secret(
                    &client_id,
                    &oauth::hash_client_secret(secret.expose(), true)?,
                )
                .await
                .map_err(|e| store_err(e, &format!("app `{client_id}`")))?;
            emit(
                json,
                &json!({"client_id": client_id, "client_secret": secret.expose()}),
                || {
                    format!(
                        "new secret for {client_id}: {}   (shown once)",
                        secret.expose()
                    )
                },
            );
        }
        AppCmd::Disable {
            client_id,
            db,
            json,
        } => set_enabled(client_id, db, json, false).await?,
        AppCmd::Enable {
            client_id,
            db,
            json,
        } => set_enabled(client_id, db, json, true).await?,
    }
    Ok(())
}

async fn set_enabled(
    client_id: String,
    db: DbArgs,
    json: bool,
    enabled: bool,
) -> anyhow::Result<()> {
    let store = open(&db).await?;
    store
        .set_app_enabled(&client_id, enabled)
        .await
        .map_err(|e| store_err(e, &format!("app `{client_id}`")))?;
    emit(
        json,
        &json!({"client_id": client_id, "enabled": enabled}),
        || {
            format!(
                "app {client_id} {}",
                if enabled { "enabled" } else { "disabled" }
            )
        },
    );
    Ok(())
}

// ----------------------------------------------------------------------------------------- tokens

/// `keapsake token …`
#[derive(Debug, clap::Subcommand)]
pub enum TokenCmd {
    /// Mint an access + refresh token pair (as `POST /token` would return it) without a browser.
    #[command(
        after_help = "Examples:\n  keapsake token mint --app keapsake-demo-app --user demo@keapsake.test --account demo1 --json\n  # or just a code, to test your own code-exchange path:\n  keapsake token mint --app keapsake-demo-app --user demo@keapsake.test --account demo1 --code-only"
    )]
    Mint {
        /// Client id of the app.
        #[arg(long)]
        app: String,
        /// E-mail of the user the tokens act as.
        #[arg(long)]
        user: String,
        /// Alias of the account (the user must be a member).
        #[arg(long)]
        account: String,
        /// Print an unused authorization code instead (for the app's first redirect URI, or --redirect-uri).
        #[arg(long)]
        code_only: bool,
        /// Redirect URI to bind the code to (default: the app's first).
        #[arg(long, requires = "code_only")]
        redirect_uri: Option<String>,
        /// Access-token lifetime in seconds.
        #[arg(long, env = "KEAPSAKE_ACCESS_TOKEN_TTL", default_value_t = 3600)]
        access_token_ttl: i64,
        /// Refresh-token lifetime in seconds.
        #[arg(long, env = "KEAPSAKE_REFRESH_TOKEN_TTL", default_value_t = 45 * 86400)]
        refresh_token_ttl: i64,
        /// Domain in the scope string.
        #[arg(long, env = "KEAPSAKE_APP_DOMAIN", default_value = "infusionsoft.com")]
        app_domain: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON (the /token response body).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `token` command.
pub async fn token(cmd: TokenCmd) -> anyhow::Result<()> {
    let TokenCmd::Mint {
        app,
        user,
        account,
        code_only,
        redirect_uri,
        access_token_ttl,
        refresh_token_ttl,
        app_domain,
        db,
        json,
    } = cmd;
    let store = open(&db).await?;
    let a = store
        .find_app(&app)
        .await?
        .ok_or_else(|| anyhow!("no app with client id `{app}`"))?;
    if !a.enabled {
        bail!("app `{app}` is disabled");
    }
    let u = find_user(store.as_ref(), &user).await?;
    let acct = find_account(store.as_ref(), &account).await?;
    if store.membership(acct.id, u.id).await?.is_none() {
        bail!(
            "{} is not a member of {} (keapsake member add --account {} --user {})",
            u.email,
            acct.alias,
            acct.alias,
            u.email
        );
    }
    let redirect_uri = match redirect_uri {
        Some(r) if oauth::redirect_matches(&a.redirect_uris, &r) => r,
        Some(r) => bail!("`{r}` is not a registered redirect URI of {app}"),
        None => a
            .redirect_uris
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("app `{app}` has no redirect URI"))?,
    };
    let now = now();
    let lifetimes = Lifetimes::default();
    let code = Secret::generate();
    store
        .insert_code(NewCode {
            hash: code.hash(),
            app_id: a.id,
            user_id: u.id,
            account_id: acct.id,
            redirect_uri: redirect_uri.clone(),
            scope: oauth::SCOPE_FULL.to_string(),
            code_challenge: None,
            code_challenge_method: None,
            created_at: now,
            expires_at: now + lifetimes.code,
        })
        .await?;
    if code_only {
        emit(
            json,
            &json!({"code": code.expose(), "redirect_uri": redirect_uri, "expires_in": lifetimes.code.whole_seconds()}),
            || code.expose().to_string(),
        );
        return Ok(());
    }
    let access = Secret::generate();
    let refresh = Secret::generate();
    let tokens = NewTokens {
        access_hash: access.hash(),
        access_expires_at: now + time::Duration::seconds(access_token_ttl),
        refresh_hash: refresh.hash(),
        refresh_expires_at: now + time::Duration::seconds(refresh_token_ttl),
        now,
    };
    match store.exchange_code(&code.hash(), a.id, tokens).await? {
        CodeExchange::Issued(_) => {}
        other => bail!("could not mint tokens ({other:?})"),
    }
    if json {
        // Exactly the `/token` body, field order included (keapsake_types::TokenResponse).
        let body = keapsake_types::TokenResponse {
            access_token: access.expose().to_string(),
            token_type: "bearer".to_string(),
            expires_in: access_token_ttl,
            refresh_token: refresh.expose().to_string(),
            scope: oauth::scope_for(&acct.alias, &app_domain),
        };
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    emit(false, &serde_json::Value::Null, || {
        format!(
            "access_token   {}\nrefresh_token  {}\nexpires_in     {}\nscope          {}",
            access.expose(),
            refresh.expose(),
            access_token_ttl,
            oauth::scope_for(&acct.alias, &app_domain)
        )
    });
    Ok(())
}

// ------------------------------------------------------------------------------------------- keys

/// `keapsake key …`
#[derive(Debug, clap::Subcommand)]
pub enum KeyCmd {
    /// Create an API key (printed once), or import an existing legacy key string.
    #[command(
        after_help = "Examples:\n  keapsake key add --account demo1 --kind pat --user demo@keapsake.test --name 'local scripts'\n  keapsake key add --account demo1 --kind sak --name ci\n  keapsake key add --account demo1 --kind legacy --import 0123456789abcdef0123456789abcdef"
    )]
    Add {
        /// Account alias.
        #[arg(long)]
        account: String,
        /// `pat` (acts as --user), `sak` (account admin) or `legacy` (XML-RPC API key).
        #[arg(long, value_parser = ["pat", "sak", "legacy"])]
        kind: String,
        /// User the key acts as (required for pat).
        #[arg(long)]
        user: Option<String>,
        /// A name to recognise it by.
        #[arg(long, default_value = "")]
        name: String,
        /// Import this existing key string instead of generating one (legacy keys being migrated).
        #[arg(long, env = "KEAPSAKE_IMPORT_KEY", hide_env_values = true)]
        import: Option<String>,
        /// Refuse writes with 403.
        #[arg(long)]
        read_only: bool,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import an existing legacy (XML-RPC) key string: `key add --kind legacy --import KEY`.
    #[command(
        after_help = "Examples:\n  keapsake key import --account demo1 --kind legacy 0123456789abcdef0123456789abcdef\n  KEAPSAKE_IMPORT_KEY=0123456789abcdef0123456789abcdef keapsake key import --account demo1 --kind legacy"
    )]
    Import {
        /// Account alias.
        #[arg(long)]
        account: String,
        /// Only `legacy` (PATs and SAKs are minted by keapsake, never imported).
        #[arg(long, value_parser = ["legacy"], default_value = "legacy")]
        kind: String,
        /// The existing key (or $KEAPSAKE_IMPORT_KEY, which keeps it out of shell history).
        #[arg(env = "KEAPSAKE_IMPORT_KEY", hide_env_values = true)]
        key: String,
        /// User the key acts as (optional).
        #[arg(long)]
        user: Option<String>,
        /// A name to recognise it by.
        #[arg(long, default_value = "")]
        name: String,
        /// Refuse writes with 403.
        #[arg(long)]
        read_only: bool,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an account's keys (never the keys themselves).
    List {
        /// Account alias.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key; it stops working on the next request.
    Revoke {
        /// Account alias.
        #[arg(long)]
        account: String,
        /// Key id (from `key list`).
        id: i64,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `key` command.
pub async fn key(cmd: KeyCmd) -> anyhow::Result<()> {
    let cmd = match cmd {
        KeyCmd::Import {
            account,
            kind,
            key,
            user,
            name,
            read_only,
            db,
            json,
        } => KeyCmd::Add {
            account,
            kind,
            user,
            name,
            import: Some(key),
            read_only,
            db,
            json,
        },
        other => other,
    };
    match cmd {
        KeyCmd::Import { .. } => bail!("key import is handled as key add --import"),
        KeyCmd::Add {
            account,
            kind,
            user,
            name,
            import,
            read_only,
            db,
            json,
        } => {
            let kind = KeyKind::parse(&kind).ok_or_else(|| anyhow!("unknown key kind `{kind}`"))?;
            let store = open(&db).await?;
            let acct = find_account(store.as_ref(), &account).await?;
            let user = match user {
                Some(e) => Some(find_user(store.as_ref(), &e).await?),
                None if kind == KeyKind::Pat => bail!("a personal access token needs --user"),
                None => None,
            };
            if let Some(u) = &user
                && store.membership(acct.id, u.id).await?.is_none()
            {
                bail!("{} is not a member of {}", u.email, acct.alias);
            }
            let secret = match (import, kind) {
                (Some(k), _) if k.len() < 16 => {
                    bail!("an imported key must have at least 16 characters")
                }
                (Some(k), _) => Secret::new(k),
                // 256 bits (SECURITY.md §3). Keap's own legacy keys are 32 hex characters; clients treat
                // keys as opaque strings, so the longer form works wherever theirs does.
                (None, KeyKind::Legacy) => Secret::generate_hex("", 32),
                (None, _) => Secret::generate_hex("KeapAK-", 32),
            };
            let display_prefix: String = secret
                .expose()
                .chars()
                .take(if kind == KeyKind::Legacy { 4 } else { 11 })
                .collect();
            let k = store
                .create_api_key(NewApiKey {
                    hash: secret.hash(),
                    display_prefix: format!("{display_prefix}…"),
                    name,
                    kind,
                    account_id: acct.id,
                    user_id: user.as_ref().map(|u| u.id),
                    read_only,
                    created_at: now(),
                    expires_at: None,
                })
                .await
                .map_err(|e| store_err(e, "key"))?;
            emit(
                json,
                &json!({"id": k.id, "kind": kind.as_str(), "account": acct.alias, "key": secret.expose(), "read_only": read_only}),
                || {
                    format!(
                        "{} key {} created for {}: {}   (shown once)",
                        kind.as_str(),
                        k.id,
                        acct.alias,
                        secret.expose()
                    )
                },
            );
        }
        KeyCmd::List { account, db, json } => {
            let store = open(&db).await?;
            let acct = find_account(store.as_ref(), &account).await?;
            let keys = store.list_api_keys(acct.id).await?;
            let v: Vec<_> = keys
                .iter()
                .map(|k| json!({"id": k.id, "kind": k.kind.as_str(), "name": k.name, "prefix": k.display_prefix, "read_only": k.read_only, "created_at": ts(k.created_at), "revoked": k.revoked_at.is_some()}))
                .collect();
            emit(json, &json!(v), || {
                let mut s = format!(
                    "{:<6} {:<7} {:<16} {:<8} NAME",
                    "ID", "KIND", "PREFIX", "REVOKED"
                );
                for k in &keys {
                    s.push_str(&format!(
                        "\n{:<6} {:<7} {:<16} {:<8} {}",
                        k.id,
                        k.kind.as_str(),
                        k.display_prefix,
                        k.revoked_at.is_some(),
                        k.name
                    ));
                }
                s
            });
        }
        KeyCmd::Revoke {
            account,
            id,
            db,
            json,
        } => {
            let store = open(&db).await?;
            let acct = find_account(store.as_ref(), &account).await?;
            store
                .revoke_api_key(acct.id, id, now())
                .await
                .map_err(|e| store_err(e, &format!("key {id} of {}", acct.alias)))?;
            emit(json, &json!({"id": id, "revoked": true}), || {
                format!("key {id} revoked")
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------- helpers

async fn find_account(
    store: &dyn Store,
    alias: &str,
) -> anyhow::Result<keapsake_core::store::Account> {
    store
        .find_account_by_alias(alias)
        .await?
        .ok_or_else(|| anyhow!("no account with alias `{alias}` (see `keapsake account list`)"))
}

async fn find_user(store: &dyn Store, email: &str) -> anyhow::Result<keapsake_core::store::User> {
    Ok(store
        .find_user_by_email(email)
        .await?
        .ok_or_else(|| anyhow!("no user with e-mail `{email}` (see `keapsake user list`)"))?
        .0)
}

fn store_err(e: keapsake_core::StoreError, what: &str) -> anyhow::Error {
    match e {
        keapsake_core::StoreError::Conflict { what: field } => {
            anyhow!("a {what} with this {field} already exists")
        }
        keapsake_core::StoreError::NotFound => anyhow!("{what} not found"),
        other => anyhow::Error::new(other),
    }
}
