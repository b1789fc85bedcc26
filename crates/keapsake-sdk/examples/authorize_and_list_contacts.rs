//! Authorize once (in the browser), then list every contact of the account.
//!
//! ```text
//! KEAP_CLIENT_ID=... KEAP_CLIENT_SECRET=... \
//! KEAP_REDIRECT_URI=http://127.0.0.1:8976/callback \
//! KEAP_BASE_URL=http://127.0.0.1:8080 \
//! cargo run -p keapsake-sdk --example authorize_and_list_contacts
//! ```
//!
//! `KEAP_BASE_URL` points at a keapsake server; leave it out to talk to Keap itself. With a
//! loopback redirect URI the example catches the redirect itself; otherwise it prints the
//! authorization URL and asks for the `code` from the redirect. The token is kept in
//! `KEAP_TOKEN_FILE` (default `./keap-token.json`, mode 0600), so the next run skips the browser.

use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use keapsake_sdk::login::LoopbackLogin;
use keapsake_sdk::{FileTokenStore, Keap, OAuthApp};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = OAuthApp::new(
        env("KEAP_CLIENT_ID")?,
        env("KEAP_CLIENT_SECRET")?,
        env("KEAP_REDIRECT_URI")?,
    );
    let token_file = std::env::var("KEAP_TOKEN_FILE").unwrap_or_else(|_| "keap-token.json".into());
    let mut builder = Keap::builder()
        .oauth(app)
        .token_store(FileTokenStore::new(token_file));
    if let Ok(base) = std::env::var("KEAP_BASE_URL") {
        builder = builder.base_url(base);
    }
    let client = builder.build()?;

    if client.token().await?.is_none() {
        match LoopbackLogin::start(&client).await {
            Ok(login) => {
                println!("Open this URL to sign in:\n\n  {}\n", login.authorize_url());
                login.finish().await?;
            }
            // Not a loopback redirect URI: do the redirect by hand.
            Err(keapsake_sdk::Error::Config(_)) => {
                let state = keapsake_sdk::oauth::generate_state()?;
                let (url, verifier) = client.authorization_url_with_pkce(&state)?;
                println!("Open this URL to sign in:\n\n  {url}\n");
                print!("Paste the `code` parameter of the page you were redirected to: ");
                std::io::stdout().flush()?;
                let mut code = String::new();
                std::io::stdin().lock().read_line(&mut code)?;
                client
                    .exchange_code_with_pkce(code.trim(), &verifier)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }

    let me = client.userinfo().send().await?;
    println!(
        "Signed in as {} ({})",
        me.preferred_name.unwrap_or_default(),
        me.email.unwrap_or_default()
    );

    let mut contacts = client.contacts().list().limit(100).stream();
    let mut n = 0;
    while let Some(c) = contacts.try_next().await? {
        n += 1;
        println!(
            "{:>8}  {:<30} {}",
            c.id,
            format!(
                "{} {}",
                c.given_name.as_deref().unwrap_or(""),
                c.family_name.as_deref().unwrap_or("")
            )
            .trim(),
            c.primary_email().unwrap_or("-")
        );
    }
    println!("{n} contacts");

    if let Some(q) = client.last_quota() {
        println!(
            "quota: {:?} requests left in the tightest bucket",
            q.min_available()
        );
    }
    Ok(())
}
