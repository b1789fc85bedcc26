//! Subscribe a receiver to `contact.add`, then create a contact so it gets a delivery.
//!
//! ```text
//! keapsake serve --demo &
//! keapsake hooks listen &          # prints every delivery; answers the handshake
//! export KEAP_ACCESS_TOKEN=$(keapsake token mint --app keapsake-demo-app \
//!     --user demo@keapsake.test --account demo1 --json | jq -r .access_token)
//! KEAP_BASE_URL=http://127.0.0.1:8080 \
//! cargo run -p keapsake-sdk --example subscribe_a_hook -- http://127.0.0.1:8765/hook
//! ```
//!
//! `KEAP_ACCESS_TOKEN` is an OAuth access token (`KEAP_REFRESH_TOKEN`, `KEAP_CLIENT_ID` and
//! `KEAP_CLIENT_SECRET` let the client refresh it). `KEAP_BASE_URL` points at keapsake; leave
//! it out to talk to Keap (whose receivers must be HTTPS). Pass `--delete` after the URL to
//! remove the subscription again at the end.

use keapsake_sdk::model::{ContactInput, EventKey, HookStatus};
use keapsake_sdk::{Keap, MemoryTokenStore, OAuthApp, Token};

fn client() -> Result<Keap, Box<dyn std::error::Error>> {
    let access = std::env::var("KEAP_ACCESS_TOKEN").map_err(|_| "set KEAP_ACCESS_TOKEN")?;
    let refresh = std::env::var("KEAP_REFRESH_TOKEN").ok();
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let app = OAuthApp::new(
        var("KEAP_CLIENT_ID", "keapsake-demo-app"),
        var("KEAP_CLIENT_SECRET", "keapsake-demo-secret"),
        var("KEAP_REDIRECT_URI", "http://127.0.0.1:8765/callback"),
    );
    let mut b = Keap::builder()
        .oauth(app)
        .token_store(MemoryTokenStore::with_token(Token::new(
            access, refresh, None,
        )));
    if let Ok(base) = std::env::var("KEAP_BASE_URL") {
        b = b.base_url(base);
    }
    Ok(b.build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let hook_url = args
        .next()
        .ok_or("usage: subscribe_a_hook <hookUrl> [--delete]")?;
    let delete = args.next().as_deref() == Some("--delete");
    let client = client()?;

    let sub = client
        .hooks()
        .create(EventKey::CONTACT_ADD, hook_url.as_str())
        .send()
        .await?;
    println!(
        "subscribed {} to {} -> key {}, status {}",
        sub.hook_url,
        sub.event_key,
        sub.key,
        sub.status.as_str()
    );
    if sub.status != HookStatus::Verified {
        println!(
            "the receiver did not echo X-Hook-Secret: nothing is delivered until it is verified \
             (POST /hooks/{}/delayedVerify with the secret it got)",
            sub.key
        );
    }

    let suffix = time::OffsetDateTime::now_utc().unix_timestamp();
    let email = format!("hook-demo-{suffix}@example.com");
    let contact = client
        .contacts()
        .create(
            ContactInput::new()
                .given_name("Hook")
                .family_name("Demo")
                .email(&email),
        )
        .send()
        .await?;
    println!("created contact {} <{email}>", contact.id);
    println!(
        "watch the listener: a contact.add delivery naming id {} arrives",
        contact.id
    );

    let all = client.hooks().list().send().await?;
    println!("{} subscription(s) for this client:", all.len());
    for h in &all {
        println!(
            "  {}  {:<14} {:<10} {}",
            h.key,
            h.event_key,
            h.status.as_str(),
            h.hook_url
        );
    }
    if delete {
        client.hooks().delete(&sub.key).send().await?;
        println!("deleted {}", sub.key);
    }
    Ok(())
}
