//! REST hook subscriptions (`keap/rest-v1.md` §10). Receivers: see [`crate::hooks`].

use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::model::{EventKey, HookInput, HookKey, HookSubscription};

/// The hooks handler. From [`Keap::hooks`].
#[derive(Debug, Clone)]
pub struct Hooks {
    client: Keap,
}

fn path(key: &HookKey) -> String {
    // Keys are opaque; keep any reserved character inside the path segment.
    format!("rest/v1/hooks/{}", super::path_segment(key.as_str()))
}

impl Hooks {
    pub(crate) fn new(client: Keap) -> Self {
        Hooks { client }
    }

    /// `GET /hooks`: this client's subscriptions (a bare array, not a page).
    pub fn list(&self) -> ListHooks {
        ListHooks {
            client: self.client.clone(),
        }
    }

    /// `GET /hooks/event_keys`: the event keys one may subscribe to.
    pub fn event_keys(&self) -> ListEventKeys {
        ListEventKeys {
            client: self.client.clone(),
        }
    }

    /// `POST /hooks`: subscribes `hook_url` to `event_key`. The server runs the verification
    /// handshake before answering (200); the returned status says whether the receiver echoed
    /// the secret (`Verified`) or not (`Unverified`).
    pub fn create(
        &self,
        event_key: impl Into<EventKey>,
        hook_url: impl Into<String>,
    ) -> CreateHook {
        CreateHook {
            client: self.client.clone(),
            method: Method::POST,
            target: "rest/v1/hooks".into(),
            body: HookInput {
                event_key: event_key.into(),
                hook_url: hook_url.into(),
            },
        }
    }

    /// `GET /hooks/{key}`.
    pub fn get(&self, key: impl Into<HookKey>) -> HookCall {
        HookCall::new(self.client.clone(), Method::GET, path(&key.into()))
    }

    /// `PUT /hooks/{key}`: replaces the event key and URL; a changed URL is verified again.
    pub fn update(
        &self,
        key: impl Into<HookKey>,
        event_key: impl Into<EventKey>,
        hook_url: impl Into<String>,
    ) -> CreateHook {
        CreateHook {
            client: self.client.clone(),
            method: Method::PUT,
            target: path(&key.into()),
            body: HookInput {
                event_key: event_key.into(),
                hook_url: hook_url.into(),
            },
        }
    }

    /// `DELETE /hooks/{key}` (204).
    pub fn delete(&self, key: impl Into<HookKey>) -> DeleteHook {
        DeleteHook {
            client: self.client.clone(),
            key: key.into(),
        }
    }

    /// `POST /hooks/{key}/verify`: runs the immediate handshake again; success verifies (and
    /// reactivates an `Inactive` subscription).
    pub fn verify(&self, key: impl Into<HookKey>) -> HookCall {
        let key = key.into();
        HookCall::new(
            self.client.clone(),
            Method::POST,
            format!("{}/verify", path(&key)),
        )
    }

    /// `POST /hooks/{key}/delayedVerify` with `X-Hook-Secret: secret`: verifies a subscription
    /// whose receiver did not echo the secret at once but got it. The server answers 200
    /// either way; the status shows the result.
    pub fn delayed_verify(&self, key: impl Into<HookKey>, secret: impl Into<String>) -> HookCall {
        let key = key.into();
        let mut call = HookCall::new(
            self.client.clone(),
            Method::POST,
            format!("{}/delayedVerify", path(&key)),
        );
        call.secret = Some(secret.into());
        call
    }
}

/// `GET /hooks`. From [`Hooks::list`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ListHooks {
    client: Keap,
}

impl ListHooks {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<Vec<HookSubscription>> {
        self.client
            .request(Method::GET, "rest/v1/hooks")
            .send_json()
            .await
    }
}

/// `GET /hooks/event_keys`. From [`Hooks::event_keys`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ListEventKeys {
    client: Keap,
}

impl ListEventKeys {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<Vec<EventKey>> {
        self.client
            .request(Method::GET, "rest/v1/hooks/event_keys")
            .send_json()
            .await
    }
}

/// `POST /hooks` or `PUT /hooks/{key}`. From [`Hooks::create`] and [`Hooks::update`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct CreateHook {
    client: Keap,
    method: Method,
    target: String,
    body: HookInput,
}

impl CreateHook {
    /// Sends the request; returns the subscription after the verification attempt.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) (`Invalid eventKey`, `Invalid hookUrl:
    /// …`), [`Error::NotFound`](crate::Error::NotFound) for an unknown key, or any request
    /// error.
    pub async fn send(self) -> Result<HookSubscription> {
        self.client
            .request(self.method, self.target)
            .json(&self.body)
            .send_json()
            .await
    }
}

/// `GET /hooks/{key}`, `POST …/verify`, `POST …/delayedVerify`. From [`Hooks::get`],
/// [`Hooks::verify`], [`Hooks::delayed_verify`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct HookCall {
    client: Keap,
    method: Method,
    target: String,
    secret: Option<String>,
}

impl HookCall {
    fn new(client: Keap, method: Method, target: String) -> Self {
        HookCall {
            client,
            method,
            target,
            secret: None,
        }
    }

    /// Sends the request; returns the subscription.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown key, or any request error.
    pub async fn send(self) -> Result<HookSubscription> {
        let mut req = self.client.request(self.method, self.target);
        if let Some(secret) = &self.secret {
            req = req.header("X-Hook-Secret", secret);
        }
        req.send_json().await
    }
}

/// `DELETE /hooks/{key}`. From [`Hooks::delete`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct DeleteHook {
    client: Keap,
    key: HookKey,
}

impl DeleteHook {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown key, or any request error.
    pub async fn send(self) -> Result<()> {
        self.client
            .request(Method::DELETE, path(&self.key))
            .send_empty()
            .await
    }
}
