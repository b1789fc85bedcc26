//! A Keap API client for Rust, for real Keap and for keapsake alike.
//!
//! - **OAuth 2.0** exactly as Keap speaks it: [`Keap::authorization_url`] (optionally with PKCE),
//!   [`Keap::exchange_code`] (client credentials in the form body), [`Keap::refresh`] (HTTP
//!   Basic). Refresh tokens rotate on every refresh; each new pair is saved to a [`TokenStore`]
//!   **before** the new access token is used ([`MemoryTokenStore`], or [`FileTokenStore`]: an
//!   atomic, mode-0600 JSON file).
//! - **Automatic refresh** shortly before expiry and once on a 401 `access_token_expired`,
//!   single-flight: concurrent callers share one refresh, and a refresh token is never presented
//!   twice.
//! - **API keys**: Personal Access Tokens and Service Account Keys, sent as `X-Keap-API-Key`.
//!   Secrets print redacted.
//! - **Retries** with exponential backoff on 429 (honouring `Retry-After`) and, for idempotent
//!   methods, on 5xx ([`RetryPolicy`]); request timeouts.
//! - **Quota headers** of every response ([`Quota`]: `x-keap-product-*`, `x-keap-tenant-*`,
//!   scalar or `10000|250000` piped forms), via [`Keap::last_quota`], [`Page::quota`] and
//!   [`RawResponse::quota`].
//! - **One [`Error`]** telling apart transport, OAuth (with the RFC code), authentication (with
//!   Apigee's `errorcode`), rate limiting (with the wait), not found, validation (with Keap's
//!   `message`) and unreadable responses.
//! - **Typed REST v1 resources** with builders ending in `.send()`: [`Keap::userinfo`],
//!   [`Keap::account`], [`Keap::contacts`] (with their tags and credit cards on file),
//!   [`Keap::tags`], [`Keap::companies`],
//!   [`Keap::notes`], [`Keap::tasks`] (list, `/tasks/search` and the `sync_token`),
//!   [`Keap::opportunities`] (with the stage pipeline), [`Keap::products`] (plans, image and
//!   the `sync_token`), [`Keap::orders`] (items, payments, transactions, payment plan),
//!   [`Keap::subscriptions`], [`Keap::emails`] (records, sync, queue, opt-in/out), [`Keap::hooks`] (subscriptions and
//!   verification), [`Keap::settings`], [`Keap::users`],
//!   [`Keap::locales`] and [`Keap::merchants`]; lists return a [`Page`] that follows the
//!   server's `next` link, or a `Stream` over every item. Bodies are in [`model`], ids are
//!   typed ([`ContactId`], [`TagId`], [`NoteId`], [`TaskId`], [`OpportunityId`], [`StageId`]…),
//!   and Keap's date format is parsed ([`date`]). Money is [`model::Money`], exact decimal
//!   text, never a float. Hook receivers read deliveries with [`hooks::HookDelivery`]. Each call accepts the success status Keap
//!   documents for it (`POST /tasks` and `POST /opportunities` answer 200, `POST /notes` and
//!   `POST /companies` 201, deletes 204).
//! - **Raw calls** to any path with [`Keap::request`], and an interactive loopback login for
//!   command-line tools ([`login::LoopbackLogin`]).
//!
//! By default the client talks to Keap's hosts ([`KEAP_AUTHORIZE_URL`], [`KEAP_TOKEN_URL`],
//! [`KEAP_API_URL`]). One call, [`KeapBuilder::base_url`], points it at a keapsake server, which
//! serves all of them on one origin.
//!
//! # Example
//!
//! Authorize once, then list contacts. The token file keeps the grant across runs; later runs
//! skip straight to the API calls.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use keapsake_sdk::{FileTokenStore, Keap, OAuthApp};
//!
//! # async fn run() -> Result<(), keapsake_sdk::Error> {
//! let client = Keap::builder()
//!     .base_url("http://127.0.0.1:8080") // leave out to talk to Keap itself
//!     .oauth(OAuthApp::new("my-client-id", "my-client-secret", "https://app.example.com/callback"))
//!     .token_store(FileTokenStore::new("/home/me/.config/myapp/keap-token.json"))
//!     .build()?;
//!
//! if client.token().await?.is_none() {
//!     let state = keapsake_sdk::oauth::generate_state()?;
//!     let (url, verifier) = client.authorization_url_with_pkce(&state)?;
//!     println!("Open {url}");
//!     // ... the browser comes back to the redirect URI with ?code=…&state=…;
//!     // check that state matches, then:
//!     let code = "the code from the redirect";
//!     client.exchange_code_with_pkce(code, &verifier).await?;
//! }
//!
//! let me = client.userinfo().send().await?;
//! println!("signed in as {:?}", me.email);
//!
//! // One page, filtered.
//! let page = client.contacts().list().email("ada@example.com").limit(50).send().await?;
//! println!("{} match", page.count().unwrap_or(0));
//!
//! // Every contact, page after page.
//! let mut all = client.contacts().list().limit(200).stream();
//! while let Some(contact) = all.try_next().await? {
//!     println!("{} {:?}", contact.id, contact.primary_email());
//! }
//!
//! if let Some(q) = client.last_quota() {
//!     println!("requests left before a bucket runs dry: {:?}", q.min_available());
//! }
//! # Ok(()) }
//! ```
//!
//! With a Personal Access Token or Service Account Key instead of OAuth:
//!
//! ```no_run
//! # async fn run() -> Result<(), keapsake_sdk::Error> {
//! use keapsake_sdk::{Keap, model::ContactInput};
//!
//! let client = Keap::builder().api_key("KeapAK-...").build()?;
//! let ada = client
//!     .contacts()
//!     .create(ContactInput::new().given_name("Ada").email("ada@example.com"))
//!     .send()
//!     .await?;
//! client.tags().apply(91, [ada.id]).send().await?;
//! # Ok(()) }
//! ```
//!
//! Tasks with their `sync_token`, and an opportunity in the pipeline's default stage:
//!
//! ```no_run
//! # async fn run(client: keapsake_sdk::Keap, ada: keapsake_sdk::ContactId) -> Result<(), keapsake_sdk::Error> {
//! use keapsake_sdk::model::{OpportunityInput, TaskInput};
//!
//! let due = time::OffsetDateTime::now_utc() + time::Duration::days(1);
//! let task = client.tasks().create(TaskInput::new().title("Call Ada").due_date(due).contact(ada)).send().await?;
//! let open = client.tasks().list().completed(false).send().await?;
//! let token = open.sync_token().map(str::to_owned);
//! client.tasks().update(task.id, TaskInput::new().completed(true)).send().await?;
//! if let Some(token) = token {
//!     let changed = client.tasks().list().sync_token(token).send().await?;
//!     assert!(changed.iter().any(|t| t.id == task.id));
//! }
//!
//! let pipeline = client.opportunities().stage_pipeline().send().await?;
//! if let Some(stage) = pipeline.iter().find(|s| s.is_default == Some(true)) {
//!     let opp = OpportunityInput::new().title("Analytical Engine").contact(ada).stage(stage.stage_id);
//!     client.opportunities().create(opp).send().await?;
//! }
//! # Ok(()) }
//! ```
//!
//! An order, paid in part, with exact amounts:
//!
//! ```no_run
//! # async fn run(client: keapsake_sdk::Keap, ada: keapsake_sdk::ContactId) -> Result<(), Box<dyn std::error::Error>> {
//! use keapsake_sdk::model::{NewOrder, NewPayment, OrderItemInput, ProductInput};
//!
//! let gear = client.products().create(ProductInput::new().name("Gear").price("19.99".parse()?)).send().await?;
//! let order = client
//!     .orders()
//!     .create(NewOrder::new(ada, "Gears", time::OffsetDateTime::now_utc()).item(OrderItemInput::new(gear.id, 3)))
//!     .send()
//!     .await?;
//! client.orders().create_payment(order.id, NewPayment::cash("50.00".parse()?)).send().await?;
//! let after = client.orders().get(order.id).send().await?;
//! println!("due: {:?}", after.total_due.map(|m| m.padded(2).to_string()));
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! ```no_run
//! # async fn run(client: keapsake_sdk::Keap) {
//! use keapsake_sdk::Error;
//! match client.contacts().get(22).send().await {
//!     Ok(c) => println!("{:?}", c.given_name),
//!     Err(Error::NotFound { .. }) => println!("no such contact"),
//!     Err(e) if e.requires_reauthorization() => println!("log in again: {e}"),
//!     Err(Error::RateLimited { retry_after, .. }) => println!("slow down: {retry_after:?}"),
//!     Err(e) => println!("failed: {e}"),
//! }
//! # }
//! ```

pub mod date;
pub mod error;
pub mod hooks;
pub mod ids;
pub mod login;
pub mod model;
pub mod oauth;
pub mod quota;
pub mod resources;
pub mod token;

mod client;
mod page;
mod request;

pub use client::{
    Endpoints, KEAP_API_URL, KEAP_AUTHORIZE_URL, KEAP_TOKEN_URL, Keap, KeapBuilder, RetryPolicy,
};
pub use error::{Error, Result};
pub use ids::{
    CompanyId, ContactId, CreditCardId, CustomFieldId, EmailId, MerchantId, NoteId, OpportunityId,
    OrderId, OrderItemId, PaymentId, ProductId, StageId, SubscriptionId, SubscriptionPlanId,
    TagCategoryId, TagId, TaskId, TransactionId, UserId,
};
pub use oauth::{OAuthApp, PkceVerifier};
pub use page::Page;
pub use quota::{Quota, QuotaWindow};
pub use request::{RawResponse, RequestBuilder};
pub use token::{FileTokenStore, MemoryTokenStore, Token, TokenStore, TokenStoreError};

/// Re-exported for [`hooks::verification_echo`].
pub use reqwest::header::HeaderMap;
/// Re-exported so callers can name HTTP methods and statuses without depending on `reqwest`.
pub use reqwest::{Method, StatusCode};
/// Re-exported for [`Keap::authorization_url`] and [`Page::next_url`].
pub use url::Url;
