//! The SDK's typed contact and tag calls against a real keapsake (`keapsake_testkit::TestServer`)
//! on both storage backends: every builder of `client.contacts()` and `client.tags()` sends what
//! the server understands and reads back what it answers (`keap/rest-v1.md` §1–§2).

use futures_util::TryStreamExt;
use keapsake_sdk::model::{Address, ApplyOutcome, ContactInput, DuplicateOption, NewTag};
use keapsake_sdk::resources::{ContactOrder, OrderDirection};
use keapsake_sdk::{ContactId, Error, Keap, MemoryTokenStore, OAuthApp, TagId};
use keapsake_testkit::{Backend, TestServer};
use time::macros::{date, datetime};

/// A client holding an OAuth token of the demo user, got through the server's HTML flow.
pub(crate) async fn client(srv: &TestServer) -> Keap {
    let code = srv.authorize(&srv.app, &srv.user).await;
    let client = Keap::builder()
        .base_url(srv.url())
        .oauth(OAuthApp::new(
            &srv.app.client_id,
            &srv.app.client_secret,
            &srv.app.redirect_uri,
        ))
        .token_store(MemoryTokenStore::new())
        .retry_policy(crate::support::fast_retries())
        .build()
        .unwrap();
    client.exchange_code(&code).await.unwrap();
    client
}

async fn contacts_round_trip(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = client(&srv).await;
    let contacts = client.contacts();

    // Create with most writable fields.
    let mut input = ContactInput::new()
        .given_name("Ada")
        .family_name("Lovelace")
        .email("ada@example.com")
        .email("ada@work.example")
        .phone("555-0100")
        .address(Address {
            field: Some("BILLING".into()),
            line1: Some("12 St James's Square".into()),
            region: Some("London".into()),
            country_code: Some("GBR".into()),
            ..Address::default()
        })
        .owner(srv.user.id.0)
        .contact_type("Lead")
        .opt_in_reason("Signed up on website")
        .job_title("Countess");
    input.birthday = Some(datetime!(1815-12-10 0:00 UTC));
    input.anniversary = Some(date!(1835 - 07 - 08));
    input.source_type = Some("WEBFORM".into());
    let created = contacts
        .create(input)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    assert_eq!(created.given_name.as_deref(), Some("Ada"));
    assert_eq!(created.primary_email(), Some("ada@example.com"));
    assert_eq!(created.email_addresses.len(), 2);
    assert_eq!(created.phone_numbers[0].field.as_deref(), Some("PHONE1"));
    assert_eq!(created.addresses[0].country_code.as_deref(), Some("GBR"));
    assert_eq!(created.owner_id.map(|u| u.get()), Some(srv.user.id.0));
    assert_eq!(created.email_opted_in, Some(true));
    assert_eq!(created.email_status.as_deref(), Some("SingleOptIn"));
    assert_eq!(created.birthday, Some(datetime!(1815-12-10 0:00 UTC)));
    assert_eq!(created.anniversary, Some(date!(1835 - 07 - 08)));
    assert_eq!(created.source_type.as_deref(), Some("WEBFORM"));
    assert!(created.date_created.is_some() && created.last_updated.is_some());
    assert!(created.last_updated_utc_millis.is_some());
    assert!(created.tag_ids.is_empty());
    let id = created.id;

    // Get, with optional properties.
    let got = contacts
        .get(id)
        .optional_properties(["job_title", "custom_fields"])
        .send()
        .await
        .unwrap();
    assert_eq!(got.job_title.as_deref(), Some("Countess"));
    assert_eq!(got.given_name, created.given_name);

    // Update with a mask: only the named field changes.
    let updated = contacts
        .update(
            id,
            ContactInput::new()
                .family_name("Byron")
                .given_name("ignored by the mask"),
        )
        .update_mask(["family_name"])
        .send()
        .await
        .unwrap();
    assert_eq!(updated.family_name.as_deref(), Some("Byron"));
    assert_eq!(updated.given_name.as_deref(), Some("Ada"));

    // Upsert by e-mail finds it; by e-mail and name with another name does not.
    let same = contacts
        .upsert(
            ContactInput::new()
                .email("ADA@example.com")
                .middle_name("King"),
            DuplicateOption::Email,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(same.id, id);
    assert_eq!(same.middle_name.as_deref(), Some("King"));
    let other = contacts
        .upsert(
            ContactInput::new()
                .email("ada@example.com")
                .given_name("Other"),
            DuplicateOption::EmailAndName,
        )
        .send()
        .await
        .unwrap();
    assert_ne!(other.id, id);

    // Validation and not-found errors carry Keap's messages.
    let err = contacts
        .create(ContactInput::new().given_name("Nobody"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { status: 400, message } if message == "Contact must contain an e-mail address or phone number"),
        "{err:?}"
    );
    let err = contacts.get(ContactId(424_242)).send().await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { message } if message == "Unable to find this Contact"),
        "{err:?}"
    );

    // Lists: filters, order, paging through `next`.
    for i in 0..5 {
        contacts
            .create(
                ContactInput::new()
                    .given_name(format!("P{i}"))
                    .phone(format!("555-01{i:02}")),
            )
            .send()
            .await
            .unwrap();
    }
    let page = contacts
        .list()
        .email("ada@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(page.count(), Some(2));
    let page = contacts
        .list()
        .given_name("ADA")
        .family_name("byron")
        .send()
        .await
        .unwrap();
    assert_eq!(page.items().iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    let page = contacts
        .list()
        .limit(3)
        .order(ContactOrder::Id)
        .order_direction(OrderDirection::Descending)
        .send()
        .await
        .unwrap();
    assert_eq!(page.count(), Some(7));
    assert_eq!(page.len(), 3);
    assert!(page.has_next());
    let next = page.next_page().await.unwrap().unwrap();
    assert_eq!(next.len(), 3);
    assert!(next.items()[0].id < page.items()[2].id);
    let all: Vec<_> = contacts
        .list()
        .limit(2)
        .order(ContactOrder::Name)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    let since = contacts
        .list()
        .since(datetime!(2000-01-01 0:00 UTC))
        .until(datetime!(2999-01-01 0:00 UTC))
        .send()
        .await
        .unwrap();
    assert_eq!(since.count(), Some(7));
    let with_props = contacts
        .list()
        .limit(1)
        .optional_properties(["job_title"])
        .send()
        .await
        .unwrap();
    assert_eq!(with_props.items()[0].job_title.as_deref(), Some("Countess"));

    // Delete: then it is gone.
    contacts.delete(other.id).send().await.unwrap();
    let err = contacts.delete(other.id).send().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

async fn tags_round_trip(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = client(&srv).await;
    let tags = client.tags();
    let contacts = client.contacts();
    let ada = contacts
        .create(
            ContactInput::new()
                .given_name("Ada")
                .family_name("Lovelace")
                .email("ada@example.com"),
        )
        .send()
        .await
        .unwrap();
    let grace = contacts
        .create(ContactInput::new().given_name("Grace").phone("555-0199"))
        .send()
        .await
        .unwrap();

    let cat = tags
        .create_category("Newsletter")
        .description("Monthly")
        .send()
        .await
        .unwrap();
    assert_eq!(cat.name.as_deref(), Some("Newsletter"));
    assert_eq!(cat.description.as_deref(), Some("Monthly"));
    let nurture = tags
        .create(NewTag::new("Nurture").description("d").category(cat.id))
        .send()
        .await
        .unwrap();
    assert_eq!(nurture.category.as_ref().map(|c| c.id), Some(cat.id));
    assert_eq!(
        nurture.category.as_ref().and_then(|c| c.name.as_deref()),
        Some("Newsletter")
    );
    let vip = tags.create(NewTag::new("VIP")).send().await.unwrap();
    assert!(vip.category.is_none());
    let err = tags.create(NewTag::new("vip")).send().await.unwrap_err();
    assert!(
        matches!(err, Error::Validation { status: 400, .. }),
        "{err:?}"
    );

    assert_eq!(tags.get(vip.id).send().await.unwrap(), vip);
    let err = tags.get(TagId(999)).send().await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { message } if message == "Unable to find this Tag"),
        "{err:?}"
    );
    let listed = tags.list().category(cat.id).send().await.unwrap();
    assert_eq!(listed.items(), std::slice::from_ref(&nurture));
    let listed = tags.list().name("VIP").send().await.unwrap();
    assert_eq!(listed.items(), std::slice::from_ref(&vip));
    let all: Vec<_> = tags.list().limit(1).stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 2);

    // Apply one tag to contacts.
    let results = tags
        .apply(nurture.id, [ada.id, grace.id, ContactId(999)])
        .send()
        .await
        .unwrap();
    assert_eq!(results[&ada.id], ApplyOutcome::Success);
    assert_eq!(results[&grace.id], ApplyOutcome::Success);
    assert_eq!(results[&ContactId(999)], ApplyOutcome::ContactNotFound);
    let again = tags.apply(nurture.id, [ada.id]).send().await.unwrap();
    assert_eq!(again[&ada.id], ApplyOutcome::Duplicate);
    let tagged = tags.contacts(nurture.id).send().await.unwrap();
    assert_eq!(tagged.count(), Some(2));
    let first = &tagged.items()[0];
    assert_eq!(first.contact.id, ada.id);
    assert_eq!(first.contact.email.as_deref(), Some("ada@example.com"));
    assert_eq!(first.contact.first_name.as_deref(), Some("Ada"));
    assert_eq!(first.contact.last_name.as_deref(), Some("Lovelace"));
    assert!(first.date_applied.is_some());
    let streamed: Vec<_> = tags
        .contacts(nurture.id)
        .limit(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 2);

    // Apply tags to one contact.
    let results = contacts
        .apply_tags(ada.id, [vip.id, TagId(4242)])
        .send()
        .await
        .unwrap();
    assert_eq!(results[&vip.id], ApplyOutcome::Success);
    assert_eq!(results[&TagId(4242)], ApplyOutcome::TagNotFound);
    let applied = contacts.tags(ada.id).send().await.unwrap();
    assert_eq!(applied.count(), Some(2));
    assert_eq!(applied.items()[0].tag.id, nurture.id);
    assert_eq!(
        applied.items()[0].tag.category.as_deref(),
        Some("Newsletter")
    );
    assert_eq!(applied.items()[1].tag.category, None);
    let got = contacts.get(ada.id).send().await.unwrap();
    assert_eq!(got.tag_ids, [nurture.id, vip.id]);

    // Remove.
    contacts
        .remove_tags(ada.id, [vip.id, nurture.id])
        .send()
        .await
        .unwrap();
    assert!(
        contacts
            .get(ada.id)
            .send()
            .await
            .unwrap()
            .tag_ids
            .is_empty()
    );
    tags.remove(nurture.id, [grace.id, ada.id])
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.contacts(nurture.id).send().await.unwrap().count(),
        Some(0)
    );
    let err = contacts
        .apply_tags(ContactId(31337), [vip.id])
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_contact_calls_against_keapsake_on_both_backends() {
    for backend in Backend::ALL {
        contacts_round_trip(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_tag_calls_against_keapsake_on_both_backends() {
    for backend in Backend::ALL {
        tags_round_trip(backend).await;
    }
}
