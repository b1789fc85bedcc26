//! REST hook delivery (`keap/rest-v1.md` §10.3–§10.4, SECURITY.md §8).
//!
//! Events are written to the outbox by the stores' triggers in the transaction of each change
//! (`keapsake_core::hooks`). [`deliver_due`] does one pass: it claims batches (one subscription
//! and event key, up to 1000 objects) under a lease, POSTs Keap's payload, and deletes the rows
//! on success or reschedules them per Keap's policy (+30–60 s, +5 min, +30 min; the 4th failure,
//! or a 410, turns the subscription `Inactive` and drops its rows). [`run_worker`] calls it
//! every [`HookConfig::interval`]; tests call it directly with an injected clock.
//!
//! Delivery is at-least-once: a node that dies after the receiver answered but before the rows
//! were deleted leaves them to be delivered again when the lease expires. Each request carries
//! `X-Keapsake-Delivery` (stable for the same rows) so a receiver can drop such repeats.

pub mod ssrf;

use crate::state::AppState;
use keapsake_core::hooks::{
    ClaimedBatch, HookStatus, MAX_ATTEMPTS, Subscription, object_path, object_type, retry_delay,
};
use keapsake_core::records::{Edit, Edited, RecordKind};
use keapsake_core::secret::Secret;
use serde_json::{Value, json};
use ssrf::{GuardedResolver, HookResolver, NetPolicy, SystemResolver, UrlError};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Most objects in one delivery (§10.4).
pub const MAX_BATCH: usize = 1000;
/// Largest response body read from a receiver (SECURITY.md §8).
pub const MAX_RESPONSE: usize = 64 * 1024;
/// Header carrying the verification secret (§10.3).
pub const SECRET_HEADER: &str = "X-Hook-Secret";
/// Header naming a delivery, stable across redeliveries of the same rows.
pub const DELIVERY_HEADER: &str = "X-Keapsake-Delivery";

/// Hook delivery settings.
#[derive(Clone)]
pub struct HookConfig {
    /// Run the background delivery worker (tests that drive [`deliver_due`] themselves turn it
    /// off).
    pub worker: bool,
    /// How often the worker looks for due events: the delay between a change and its first
    /// delivery attempt is at most this (Keap: 30–60 s; the sandbox default is 1 s).
    pub interval: Duration,
    /// Connect timeout (SECURITY.md §8: 10 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout (§10.4: 30 s).
    pub timeout: Duration,
    /// How long claimed rows stay reserved for a node; must exceed `timeout`. A node that dies
    /// holding rows releases them after this.
    pub lease: Duration,
    /// Deliveries one pass has in flight at a time (a sliding window): receivers that hang
    /// hold only their own slots, so as many may hang as there are slots before anyone else
    /// waits.
    pub concurrency: usize,
    /// Ranges allowed in the production profile although internal.
    pub allow: Vec<ssrf::Cidr>,
    /// Name resolution (tests inject a rebinding stub).
    pub resolver: Arc<dyn HookResolver>,
}

impl Default for HookConfig {
    fn default() -> Self {
        Self {
            worker: true,
            interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            lease: Duration::from_secs(60),
            concurrency: DEFAULT_CONCURRENCY,
            allow: Vec::new(),
            resolver: Arc::new(SystemResolver),
        }
    }
}

impl std::fmt::Debug for HookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookConfig")
            .field("worker", &self.worker)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("lease", &self.lease)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

/// The outbound side: policy, guarded resolver and HTTP client. The client is built on first
/// use (not on the start-up path), and never replaced by a default one: a client without the
/// guarded resolver and the no-redirect policy would bypass the SSRF checks.
pub(crate) struct Outbound {
    pub policy: Arc<NetPolicy>,
    pub resolver: GuardedResolver,
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    connect_timeout: Duration,
    timeout: Duration,
    /// This process's lease owner name.
    pub owner: String,
    /// Production profile: hook URLs must be https (unless allow-listed).
    pub https_only: bool,
}

impl Outbound {
    pub(crate) fn new(cfg: &HookConfig, production: bool) -> Self {
        let policy = Arc::new(NetPolicy {
            allow_internal: !production,
            allow: cfg.allow.clone(),
        });
        let resolver = GuardedResolver {
            inner: cfg.resolver.clone(),
            policy: policy.clone(),
        };
        Self {
            policy,
            resolver,
            client: std::sync::OnceLock::new(),
            connect_timeout: cfg.connect_timeout,
            timeout: cfg.timeout,
            owner: format!("node-{}", Secret::generate_hex("", 8).expose()),
            https_only: production,
        }
    }

    /// The HTTP client, built on first use.
    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .dns_resolver(Arc::new(self.resolver.clone()))
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.timeout)
                    .user_agent(concat!("keapsake-hooks/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the hook HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Checks a URL as a subscription would: literal addresses and (by resolving it) names.
    pub(crate) async fn check(&self, raw: &str) -> Result<url::Url, UrlError> {
        let url = ssrf::check_url(raw, &self.policy, self.https_only)?;
        if let Some(url::Host::Domain(d)) = url.host() {
            self.resolver.checked(d).await?;
        }
        Ok(url)
    }

    /// POSTs `body` to `url` with `headers`; the literal-address check is repeated (the policy
    /// may have changed since the subscription), names are checked by the resolver.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<reqwest::Response, String> {
        let url = ssrf::check_url(url, &self.policy, self.https_only).map_err(|e| e.to_string())?;
        let mut req = self
            .client()?
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        req.send().await.map_err(|e| describe(&e))
    }
}

/// A reqwest error without the URL (which a user may consider private) and with its cause.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    if cause.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {cause}")
    }
}

/// Result of a verification handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The receiver echoed the secret with a 200.
    pub verified: bool,
    /// SHA-256 (hex) of the secret sent, kept for `delayedVerify`.
    pub secret_sha256: String,
}

/// Lower-case hex of a secret's SHA-256.
pub fn secret_digest(secret: &str) -> String {
    let hash = keapsake_core::TokenHash::of(secret);
    hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `POST <hookUrl>` with a fresh `X-Hook-Secret` and an empty body; verified when the
/// answer is 200 and echoes the header (§10.3).
pub(crate) async fn handshake(state: &AppState, hook_url: &str) -> Handshake {
    let secret = Secret::generate_hex("", 32);
    let digest = secret_digest(secret.expose());
    let out = state.outbound();
    let verified = match out
        .post(
            hook_url,
            &[(SECRET_HEADER, secret.expose().to_owned())],
            Vec::new(),
        )
        .await
    {
        Ok(res) => {
            res.status() == reqwest::StatusCode::OK
                && res
                    .headers()
                    .get(SECRET_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| secret.ct_eq(v.trim()))
        }
        Err(e) => {
            tracing::info!(error = %e, "hook verification request failed");
            false
        }
    };
    Handshake {
        verified,
        secret_sha256: digest,
    }
}

/// What one [`deliver_due`] pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Requests the receivers accepted.
    pub delivered: usize,
    /// Objects in those requests.
    pub objects: usize,
    /// Requests that failed (rescheduled or, on the last attempt, dropped).
    pub failed: usize,
    /// Batches dropped without a request (subscription gone or not verified).
    pub dropped: usize,
}

/// The payload of one delivery (§10.4).
pub fn payload(state: &AppState, batch: &ClaimedBatch) -> Value {
    let base = state.base_url();
    let url_of = |id: i64| {
        object_path(&batch.event_key, id)
            .map(|p| format!("{base}crm/rest/v1{p}"))
            .unwrap_or_default()
    };
    let ts = rfc3339_millis;
    let keys: Vec<Value> = if batch.items.iter().any(|i| i.contact_id.is_some()) {
        // Tag application events: one entry per tag with the contacts it was applied to (or
        // removed from), in order of first appearance.
        let mut order: Vec<i64> = Vec::new();
        let mut by_tag: std::collections::HashMap<i64, (Vec<i64>, OffsetDateTime)> =
            std::collections::HashMap::new();
        for i in &batch.items {
            let e = by_tag.entry(i.object_id).or_insert_with(|| {
                order.push(i.object_id);
                (Vec::new(), i.changed_at)
            });
            if let Some(c) = i.contact_id {
                e.0.push(c);
            }
            e.1 = e.1.max(i.changed_at);
        }
        order
            .into_iter()
            .map(|tag| {
                let (contacts, at) = &by_tag[&tag];
                json!({"id": tag, "apiUrl": url_of(tag), "timestamp": ts(*at), "contact_ids": contacts})
            })
            .collect()
    } else {
        batch
            .items
            .iter()
            .map(|i| json!({"id": i.object_id, "apiUrl": url_of(i.object_id), "timestamp": ts(i.changed_at)}))
            .collect()
    };
    json!({
        "event_key": batch.event_key,
        "object_type": object_type(&batch.event_key),
        "object_keys": keys,
    })
}

/// `2024-05-21T14:30:00.000Z` (§10.4: RFC 3339, UTC, milliseconds).
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    let fd = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fd)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Loads a subscription record.
async fn subscription(state: &AppState, batch: &ClaimedBatch) -> Option<Subscription> {
    let rec = state
        .store
        .get_record(batch.account, RecordKind::Hook, batch.hook_id)
        .await
        .ok()?;
    serde_json::from_value(rec.data).ok()
}

/// Sets a subscription's status in one atomic edit of its record; a failure is logged (the
/// caller has already finished with the rows, so there is nothing to roll back).
pub(crate) async fn set_status(
    state: &AppState,
    account: keapsake_core::AccountId,
    hook_id: i64,
    status: HookStatus,
) {
    let edit: Edit = Box::new(move |_, data| {
        let mut sub: Subscription =
            serde_json::from_value(data.clone()).map_err(|e| e.to_string())?;
        sub.status = status;
        *data = serde_json::to_value(&sub).map_err(|e| e.to_string())?;
        Ok(sub.keys())
    });
    let now = state.clock.now();
    match state
        .store
        .update_record(account, RecordKind::Hook, hook_id, edit, now)
        .await
    {
        Ok(Edited::Updated(_)) => {}
        other => tracing::warn!(?other, hook_id, "could not change a hook's status"),
    }
}

/// Delivers one claimed batch and records the outcome.
async fn deliver(state: &AppState, batch: ClaimedBatch, report: &mut PassReport) {
    let out = state.outbound();
    let seqs = batch.seqs();
    let store = &state.store;
    let sub = match subscription(state, &batch).await {
        Some(s) if s.status == HookStatus::Verified && s.event_key == batch.event_key => s,
        _ => {
            // Deleted, unverified or re-pointed subscription: these rows have no receiver.
            let _ = store.finish_hook_items(&out.owner, &seqs).await;
            report.dropped += 1;
            return;
        }
    };
    let body = payload(state, &batch);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let delivery = format!(
        "{}-{}-{}",
        batch.hook_id,
        seqs.first().copied().unwrap_or_default(),
        seqs.last().copied().unwrap_or_default()
    );
    let attempt = batch.attempts() + 1;
    let outcome = out
        .post(
            &sub.hook_url,
            &[
                (DELIVERY_HEADER, delivery),
                ("X-Keapsake-Attempt", attempt.to_string()),
            ],
            bytes,
        )
        .await;
    let status = outcome.as_ref().map(reqwest::Response::status);
    match status {
        Ok(s) if s.as_u16() >= 200 && s.as_u16() < 400 => {
            let _ = store.finish_hook_items(&out.owner, &seqs).await;
            report.delivered += 1;
            report.objects += seqs.len();
            tracing::debug!(hook = batch.hook_id, event = %batch.event_key, objects = seqs.len(), "hook delivered");
        }
        Ok(s) if s == reqwest::StatusCode::GONE => {
            tracing::info!(
                hook = batch.hook_id,
                "receiver answered 410 Gone; hook inactive"
            );
            set_status(state, batch.account, batch.hook_id, HookStatus::Inactive).await;
            let _ = store.drop_hook_items(batch.account, batch.hook_id).await;
            report.failed += 1;
        }
        other => {
            let why = match other {
                Ok(s) => format!("status {s}"),
                Err(e) => e.clone(),
            };
            report.failed += 1;
            let spread = seqs.first().copied().unwrap_or_default();
            match retry_delay(attempt, spread) {
                Some(delay) if attempt < MAX_ATTEMPTS => {
                    let next = state.clock.now() + delay;
                    tracing::info!(hook = batch.hook_id, attempt, error = %why, retry_in_s = delay.whole_seconds(), "hook delivery failed; will retry");
                    let _ = store.retry_hook_items(&out.owner, &seqs, next).await;
                }
                _ => {
                    tracing::warn!(hook = batch.hook_id, attempt, error = %why, "hook delivery failed for the last time; hook inactive");
                    set_status(state, batch.account, batch.hook_id, HookStatus::Inactive).await;
                    let _ = store.drop_hook_items(batch.account, batch.hook_id).await;
                }
            }
        }
    }
}

/// Default of [`HookConfig::concurrency`]: deliveries wait on the network, not the CPU.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// One delivery pass at `now`: claims and delivers batches until nothing is due. Batches of
/// different subscriptions go out concurrently, up to [`HookConfig::concurrency`] at a time, in a sliding
/// window: a slot freed by one delivery is refilled at once, so receivers that hang (each up to
/// the timeout) hold only their own slots, not a whole round of everyone else's deliveries.
/// One subscription's batches go out in order: a batch claimed while its subscription has one
/// in flight waits behind it, and no more is claimed until it has started (so a subscription
/// with more than [`MAX_BATCH`] events waiting behind a hanging receiver still delays the rest
/// of the pass by up to one timeout).
pub async fn deliver_due(state: &AppState, now: OffsetDateTime) -> PassReport {
    use futures_util::StreamExt as _;
    type Key = (keapsake_core::AccountId, i64);
    let mut report = PassReport::default();
    let out = state.outbound();
    let lease =
        time::Duration::try_from(state.config.hooks.lease).unwrap_or(time::Duration::seconds(60));
    let run = |b: ClaimedBatch| async move {
        let key: Key = (b.account, b.hook_id);
        let mut r = PassReport::default();
        deliver(state, b, &mut r).await;
        (key, r)
    };
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut in_flight: std::collections::HashSet<Key> = std::collections::HashSet::new();
    let mut waiting: std::collections::HashMap<Key, ClaimedBatch> =
        std::collections::HashMap::new();
    let mut exhausted = false;
    let width = state.config.hooks.concurrency.max(1);
    loop {
        // Fill free slots, unless a batch waits: the next claim would likely be its
        // subscription's again (the oldest rows), and a claimed batch must not be held longer.
        while !exhausted && waiting.is_empty() && running.len() < width {
            match state
                .store
                .claim_hook_batch(&out.owner, None, now, lease, MAX_BATCH)
                .await
            {
                Ok(Some(b)) => {
                    let key: Key = (b.account, b.hook_id);
                    if !in_flight.contains(&key) {
                        in_flight.insert(key);
                        running.push(run(b));
                    } else {
                        waiting.insert(key, b);
                    }
                }
                Ok(None) => exhausted = true,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming hook events failed");
                    exhausted = true;
                }
            }
        }
        let Some((key, r)) = running.next().await else {
            return report;
        };
        report.delivered += r.delivered;
        report.objects += r.objects;
        report.failed += r.failed;
        report.dropped += r.dropped;
        match waiting.remove(&key) {
            Some(next) => running.push(run(next)),
            None => {
                in_flight.remove(&key);
            }
        }
    }
}

/// Runs [`deliver_due`] every [`HookConfig::interval`] until `stop` turns true.
pub async fn run_worker(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = state.config.hooks.interval.max(Duration::from_millis(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let now = state.clock.now();
        let r = deliver_due(&state, now).await;
        if r != PassReport::default() {
            tracing::debug!(?r, "hook delivery pass");
        }
    }
}
