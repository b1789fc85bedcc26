//! The SDK's typed hooks and e-mails calls against a real keapsake (`keapsake_testkit`) on both
//! storage backends (`keap/rest-v1.md` §9–§10): subscribe a local receiver, change a contact
//! through the SDK, run the delivery pass, and read the delivery as a `HookDelivery`; e-mail
//! records written, read, listed, synced, unsynced, queued and opted out.

use keapsake_core::Clock;
use keapsake_sdk::hooks::{HookDelivery, verification_echo};
use keapsake_sdk::model::{ContactInput, EmailInput, EventKey, HookStatus, SendEmail};
use keapsake_sdk::{EmailId, Error, HeaderMap};
use keapsake_server::quota::Profile;
use keapsake_server::webhooks::{HookConfig, deliver_due};
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::{Backend, TestOptions, TestServer};
use time::macros::datetime;

use crate::crm::client;

/// A sandbox server whose hook worker is off: the test runs the delivery pass itself.
async fn hook_server(backend: Backend) -> TestServer {
    TestServer::start_with(
        backend,
        TestOptions {
            hooks: Some(HookConfig {
                worker: false,
                timeout: std::time::Duration::from_secs(5),
                connect_timeout: std::time::Duration::from_secs(2),
                ..HookConfig::default()
            }),
            profile: Some(Profile::Sandbox),
            ..TestOptions::default()
        },
    )
    .await
}

async fn hooks_round_trip(backend: Backend) {
    let srv = hook_server(backend).await;
    let client = client(&srv).await;
    let hooks = client.hooks();
    let rx = HookReceiver::start(Mode::Echo).await;

    let keys = hooks.event_keys().send().await.unwrap();
    assert!(keys.iter().any(|k| *k == EventKey::CONTACT_ADD), "{keys:?}");
    assert!(keys.iter().any(|k| *k == "order.add"));

    // Subscribe: the receiver echoes the secret, so the subscription is verified at once.
    let sub = hooks
        .create(EventKey::CONTACT_ADD, rx.url.as_str())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    assert_eq!(sub.status, HookStatus::Verified);
    assert_eq!(sub.event_key, "contact.add");
    assert_eq!(sub.hook_url, rx.url);
    let handshake = &rx.received()[0];
    let (name, value) = verification_echo(&handshake.headers).expect("the handshake header");
    assert_eq!(name.as_str(), "x-hook-secret");
    assert!(value.len() >= 32);
    assert!(verification_echo(&HeaderMap::new()).is_none());

    let listed = hooks.list().send().await.unwrap();
    assert_eq!(listed, vec![sub.clone()]);
    assert_eq!(hooks.get(&sub.key).send().await.unwrap(), sub);

    // A contact created through the SDK is delivered, and parses as a HookDelivery.
    rx.clear();
    let ada = client
        .contacts()
        .create(
            ContactInput::new()
                .given_name("Ada")
                .email("ada@example.com"),
        )
        .send()
        .await
        .unwrap();
    let report = deliver_due(&srv.state, srv.clock.now()).await;
    assert_eq!(report.delivered, 1, "{report:?}");
    let got = rx.deliveries();
    assert_eq!(got.len(), 1);
    let delivery: HookDelivery = serde_json::from_value(got[0].json.clone()).unwrap();
    assert_eq!(delivery.event_key, EventKey::CONTACT_ADD);
    assert_eq!(delivery.object_type, "contact");
    assert_eq!(delivery.ids(), vec![ada.id.get()]);
    let key = &delivery.object_keys[0];
    assert!(
        key.api_url
            .ends_with(&format!("/crm/rest/v1/contacts/{}", ada.id)),
        "{}",
        key.api_url
    );
    assert!(key.timestamp.is_some());
    assert!(key.contact_ids.is_empty());

    // Update (PUT), verify again, and the errors.
    let edited = hooks
        .update(&sub.key, EventKey::CONTACT_EDIT, rx.url.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (edited.key.clone(), edited.event_key.as_str()),
        (sub.key.clone(), "contact.edit")
    );
    assert_eq!(
        edited.status,
        HookStatus::Verified,
        "same URL: still verified"
    );
    let verified = hooks.verify(&sub.key).send().await.unwrap();
    assert_eq!(verified.status, HookStatus::Verified);
    match hooks
        .create("contact.explode", rx.url.as_str())
        .send()
        .await
    {
        Err(Error::Validation { message, .. }) => assert_eq!(message, "Invalid eventKey"),
        other => panic!("expected a 400, got {other:?}"),
    }

    // A receiver that does not echo: Unverified, until delayedVerify brings the secret.
    let quiet = HookReceiver::start(Mode::NoEcho).await;
    let pending = hooks
        .create(EventKey::CONTACT_DELETE, quiet.url.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status, HookStatus::Unverified);
    let secret = quiet.received()[0].header("x-hook-secret").unwrap();
    let wrong = hooks
        .delayed_verify(&pending.key, "not-the-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status, HookStatus::Unverified);
    let right = hooks
        .delayed_verify(&pending.key, secret)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status, HookStatus::Verified);
    assert_eq!(hooks.list().send().await.unwrap().len(), 2);

    // Delete.
    hooks.delete(&pending.key).send().await.unwrap();
    assert!(matches!(
        hooks.get(&pending.key).send().await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        hooks.delete(&pending.key).send().await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(hooks.list().send().await.unwrap(), vec![verified]);
    srv.stop().await;
}

async fn emails_round_trip(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = client(&srv).await;
    let emails = client.emails();
    let grace = client
        .contacts()
        .create(
            ContactInput::new()
                .given_name("Grace")
                .email("grace@x.example"),
        )
        .send()
        .await
        .unwrap()
        .id;

    // Create with contents (base64 on the wire) and read them back decoded.
    let sent = datetime!(2026-03-01 09:30 UTC);
    let rec = emails
        .create(
            EmailInput::new("grace@x.example")
                .contact(grace)
                .subject("Minutes")
                .from("me@example.com")
                .sent_date(sent)
                .html("<p>Héllo</p>")
                .plain("Héllo"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    assert_eq!(rec.contact_id, Some(grace));
    assert_eq!(rec.sent_date, Some(sent));
    assert_eq!(rec.html().as_deref(), Some("<p>Héllo</p>"));
    let got = emails.get(rec.id).send().await.unwrap();
    assert_eq!(got.plain().as_deref(), Some("Héllo"));
    assert_eq!(got.subject.as_deref(), Some("Minutes"));

    // Lists: without contents; filters; the contact's own list.
    let page = emails.list().contact(grace).send().await.unwrap();
    assert_eq!(page.count(), Some(1));
    assert_eq!(page.items()[0].id, rec.id);
    assert_eq!(page.items()[0].html_content, None);
    assert_eq!(
        emails
            .list()
            .email("nobody@x.example")
            .send()
            .await
            .unwrap()
            .len(),
        0
    );
    let since = emails
        .list()
        .since_sent_date(datetime!(2026-02-01 0:00 UTC))
        .until_sent_date(datetime!(2026-04-01 0:00 UTC))
        .send()
        .await
        .unwrap();
    assert_eq!(since.len(), 1);
    let later = emails
        .list()
        .since_sent_date(datetime!(2026-03-02 0:00 UTC))
        .send()
        .await
        .unwrap();
    assert_eq!(later.len(), 0);
    let own = emails.list_for_contact(grace).send().await.unwrap();
    assert_eq!(own.len(), 1);
    let on_contact = emails
        .create_for_contact(grace, EmailInput::new("grace@x.example").subject("Second"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_contact.contact_id, Some(grace));
    assert!(matches!(
        emails.list_for_contact(999_999).send().await,
        Err(Error::NotFound { .. })
    ));

    // Sync: each record stands alone.
    let synced = emails
        .sync(vec![
            EmailInput::new("a@x.example").subject("one"),
            EmailInput::new("   "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(synced.emails.len(), 1);
    assert_eq!(synced.errors.len(), 1);
    assert_eq!(
        synced.errors[0].error_message.as_deref(),
        Some("sent_to_address is required")
    );
    emails
        .unsync([synced.emails[0].id, EmailId(987_654)])
        .send()
        .await
        .unwrap();
    assert!(matches!(
        emails.get(synced.emails[0].id).send().await,
        Err(Error::NotFound { .. })
    ));
    emails.delete(on_contact.id).send().await.unwrap();
    assert!(matches!(
        emails.delete(on_contact.id).send().await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(emails.list().send().await.unwrap().count(), Some(1));

    // Queue a message: its record appears on the contact, with Keap as the provider.
    emails
        .send(SendEmail::new([grace], srv.user.id.0, "Hello ~Contact.FirstName~").html("<p>Hi</p>"))
        .send()
        .await
        .unwrap();
    let queued = emails.list_for_contact(grace).send().await.unwrap();
    assert!(
        queued
            .iter()
            .any(|e| e.original_provider.as_deref() == Some("INFUSIONSOFT")),
        "{queued:?}"
    );
    match emails
        .send(SendEmail::new([grace], srv.user.id.0, "no body"))
        .send()
        .await
    {
        Err(Error::Validation { .. }) => {}
        other => panic!("expected a 400 for a message without content, got {other:?}"),
    }
    // Opt out (permanent for the API: opting in again does not make the address marketable).
    let out = emails
        .opt_out("grace@x.example", "asked to stop")
        .send()
        .await
        .unwrap();
    assert_eq!(out.opted_in, Some(false));
    assert_eq!(out.status.as_deref(), Some("Opt-Out: Admin"));
    let back = emails
        .opt_in("grace@x.example", "form")
        .send()
        .await
        .unwrap();
    assert_eq!(back.email, "grace@x.example");
    assert!(matches!(
        emails.opt_out("nobody@x.example", "x").send().await,
        Err(Error::NotFound { .. })
    ));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_hook_calls_and_deliveries_on_both_backends() {
    for backend in Backend::ALL {
        hooks_round_trip(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_email_calls_against_keapsake_on_both_backends() {
    for backend in Backend::ALL {
        emails_round_trip(backend).await;
    }
}
