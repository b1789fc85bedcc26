//! Typed resources: request shapes, response decoding, pagination, quota.

use futures_util::TryStreamExt;
use keapsake_sdk::model::{AccountProfile, ApplyOutcome, ContactInput, DuplicateOption, NewTag};
use keapsake_sdk::resources::{ContactOrder, OrderDirection};
use keapsake_sdk::{ContactId, Keap, TagId};
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn client(server: &MockServer) -> Keap {
    Keap::builder()
        .base_url(server.uri())
        .api_key("KeapAK-test")
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

fn contact(id: i64) -> serde_json::Value {
    json!({
        "id": id, "given_name": format!("C{id}"), "family_name": null,
        "email_addresses": [{"email": format!("c{id}@example.com"), "field": "EMAIL1"}],
        "phone_numbers": [], "addresses": [], "tag_ids": [], "ScoreValue": "0",
        "date_created": "2024-11-07T20:35:13.000+0000", "last_updated": "2024-11-07T20:35:13.000+0000",
        "last_updated_utc_millis": 1731011713000i64, "email_status": "UnengagedMarketable", "email_opted_in": false
    })
}

#[tokio::test]
async fn listing_contacts_sends_the_filters_and_reads_the_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts"))
        .and(query_param("email", "a@b.c"))
        .and(query_param("limit", "50"))
        .and(query_param("order", "date_created"))
        .and(query_param("order_direction", "DESCENDING"))
        .and(query_param("optional_properties", "custom_fields,job_title"))
        .and(query_param("since", "2024-01-01T00:00:00.000Z"))
        .and(query_param_is_missing("offset"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-keap-tenant-throttle-limit", "10000|250000")
                .insert_header("x-keap-tenant-throttle-available", "9999|249999")
                .insert_header("x-keap-tenant-throttle-time-unit", "minute|day")
                .set_body_json(json!({
                    "contacts": [contact(22)],
                    "count": 1,
                    "next": format!("{}/crm/rest/v1/contacts/?limit=50&offset=50&email=a%40b.c", server.uri()),
                    "previous": format!("{}/crm/rest/v1/contacts/?limit=50&offset=0&email=a%40b.c", server.uri()),
                })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let page = client
        .contacts()
        .list()
        .email("a@b.c")
        .limit(50)
        .order(ContactOrder::DateCreated)
        .order_direction(OrderDirection::Descending)
        .optional_properties(["custom_fields", "job_title"])
        .since(time::macros::datetime!(2024-01-01 0:00 UTC))
        .send()
        .await
        .unwrap();

    assert_eq!(page.count(), Some(1));
    let c = &page.items()[0];
    assert_eq!(c.id, ContactId(22));
    assert_eq!(c.primary_email(), Some("c22@example.com"));
    assert_eq!(
        c.date_created,
        Some(time::macros::datetime!(2024-11-07 20:35:13 UTC))
    );
    // Keap's next link is present past the end; the count says there is nothing more.
    assert!(page.next_url().is_some());
    assert!(!page.has_next());
    assert!(page.next_page().await.unwrap().is_none());
    // Quota headers reach the caller, piped form split into windows.
    assert_eq!(page.quota().tenant_throttle.len(), 2);
    assert_eq!(page.quota().tenant_throttle[1].limit, Some(250_000));
    assert_eq!(client.last_quota().unwrap().min_available(), Some(9999));
    server.verify().await;
}

#[tokio::test]
async fn pages_follow_the_servers_absolute_next_link_and_stream_every_item() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts"))
        .and(query_param("limit", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "contacts": [contact(1), contact(2)], "count": 5,
            "next": format!("{base}/crm/rest/v1/contacts/?limit=2&offset=2&order=id"),
            "previous": format!("{base}/crm/rest/v1/contacts/?limit=2&offset=0&order=id"),
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/"))
        .and(query_param("offset", "2"))
        .and(query_param("order", "id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "contacts": [contact(3), contact(4)], "count": 5,
            "next": format!("{base}/crm/rest/v1/contacts/?limit=2&offset=4&order=id"),
            "previous": format!("{base}/crm/rest/v1/contacts/?limit=2&offset=0&order=id"),
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/"))
        .and(query_param("offset", "4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "contacts": [contact(5)], "count": 5,
            "next": format!("{base}/crm/rest/v1/contacts/?limit=2&offset=6&order=id"),
            "previous": format!("{base}/crm/rest/v1/contacts/?limit=2&offset=2&order=id"),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/"))
        .and(query_param("offset", "6"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);

    // By hand: page 1 → page 2.
    let first = client.contacts().list().limit(2).send().await.unwrap();
    let second = first.next_page().await.unwrap().unwrap();
    assert_eq!(
        second
            .items()
            .iter()
            .map(|c| c.id.get())
            .collect::<Vec<_>>(),
        vec![3, 4]
    );

    // As a stream: all five, and no request past the end.
    let all: Vec<_> = client
        .contacts()
        .list()
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        all.iter().map(|c| c.id.get()).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    // Pages 1 and 2 were fetched twice (by hand, then by the stream); page 3 once; none after.
    server.verify().await;
}

#[tokio::test]
async fn a_next_link_naming_another_host_is_moved_onto_the_api_origin() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"id": 1, "name": "A"}], "count": 2,
            "next": "https://api.infusionsoft.com/crm/rest/v1/tags/?limit=1&offset=1",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags/"))
        .and(query_param("offset", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"id": 2, "name": "B", "category": {"id": 10, "name": "Newsletter"}}], "count": 2,
            "next": "https://api.infusionsoft.com/crm/rest/v1/tags/?limit=1&offset=2",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let tags: Vec<_> = client
        .tags()
        .list()
        .limit(1)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(
        tags.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![TagId(1), TagId(2)]
    );
    assert_eq!(
        tags[1].category.as_ref().unwrap().name.as_deref(),
        Some("Newsletter")
    );
    server.verify().await;
}

#[tokio::test]
async fn without_a_count_paging_stops_at_an_empty_page() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"id": 1}], "next": format!("{base}/crm/rest/v1/tags/?limit=1&offset=1"),
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [], "next": format!("{base}/crm/rest/v1/tags/?limit=1&offset=2"),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let tags: Vec<_> = client
        .tags()
        .list()
        .limit(1)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(tags.len(), 1);
    server.verify().await;
}

#[tokio::test]
async fn contact_crud_request_shapes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .and(query_param("optional_properties", "custom_fields"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 22, "given_name": "Ada", "custom_fields": [{"id": 7, "content": "blue"}],
            "anniversary": "2001-02-03", "birthday": "1990-05-04T00:00:00.000+0000", "company": {"id": 3, "company_name": "ACME"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/contacts"))
        .and(body_json(json!({
            "given_name": "Ada", "family_name": "Lovelace",
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
            "phone_numbers": [{"number": "555-0100", "field": "PHONE1"}],
            "opt_in_reason": "Signed up on website"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(contact(23)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/crm/rest/v1/contacts/23"))
        .and(query_param("update_mask", "family_name"))
        .and(body_json(
            json!({"family_name": "Byron", "given_name": "ignored by the mask"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(contact(23)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/crm/rest/v1/contacts"))
        .and(body_json(json!({
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
            "job_title": "Analyst", "duplicate_option": "EmailAndName"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(contact(23)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/crm/rest/v1/contacts/23"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let contacts = client.contacts();

    let got = contacts
        .get(22)
        .optional_properties(["custom_fields"])
        .send()
        .await
        .unwrap();
    assert_eq!(got.custom_fields[0].content, json!("blue"));
    assert_eq!(got.anniversary, Some(time::macros::date!(2001 - 02 - 03)));
    assert_eq!(got.company.unwrap().company_name.as_deref(), Some("ACME"));

    let created = contacts
        .create(
            ContactInput::new()
                .given_name("Ada")
                .family_name("Lovelace")
                .email("ada@example.com")
                .phone("555-0100")
                .opt_in_reason("Signed up on website"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.id, ContactId(23));

    contacts
        .update(
            created.id,
            ContactInput::new()
                .family_name("Byron")
                .given_name("ignored by the mask"),
        )
        .update_mask(["family_name"])
        .send()
        .await
        .unwrap();
    contacts
        .upsert(
            ContactInput::new()
                .email("ada@example.com")
                .job_title("Analyst"),
            DuplicateOption::EmailAndName,
        )
        .send()
        .await
        .unwrap();
    contacts.delete(created.id).send().await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn contact_tags_list_apply_and_remove() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"tag": {"id": 91, "name": "Nurture Subscriber", "category": "Newsletter"},
                      "date_applied": "2024-11-07T20:35:13.000+0000"}],
            "count": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/contacts/22/tags"))
        .and(body_json(json!({"tagIds": [91, 92]})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"91": "DUPLICATE", "92": "TAG_ID_NOT_FOUND"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/crm/rest/v1/contacts/22/tags"))
        .and(query_param("ids", "91,92"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let page = client.contacts().tags(22).send().await.unwrap();
    let applied = &page.items()[0];
    assert_eq!(applied.tag.id, TagId(91));
    assert_eq!(applied.tag.category.as_deref(), Some("Newsletter"));
    assert!(applied.date_applied.is_some());

    let results = client
        .contacts()
        .apply_tags(22, [91, 92])
        .send()
        .await
        .unwrap();
    assert_eq!(results[&TagId(91)], ApplyOutcome::Duplicate);
    assert_eq!(results[&TagId(92)], ApplyOutcome::TagNotFound);

    client
        .contacts()
        .remove_tags(22, [91, 92])
        .send()
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn tags_list_get_create_apply_remove() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags"))
        .and(query_param("category", "10"))
        .and(query_param("name", "VIP"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"tags": [{"id": 5, "name": "VIP"}], "count": 1})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 5, "name": "VIP", "description": "", "category": {"id": 10, "name": "Segments", "description": ""}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/tags"))
        .and(body_json(
            json!({"name": "VIP", "description": "Big spenders", "category": {"id": 10}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 5, "name": "VIP"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/tags/5/contacts"))
        .and(body_json(json!({"ids": [1, 2, 3]})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"1": "SUCCESS", "2": "DUPLICATE", "3": "CONTACT_NOT_FOUND"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/crm/rest/v1/tags/5/contacts"))
        .and(query_param("ids", "1,2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/tags/5/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "contacts": [{"contact": {"id": 1, "email": "a@b.c", "first_name": "A", "last_name": "B"},
                          "date_applied": "2024-11-07T20:35:13.000+0000"}], "count": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let tags = client.tags();

    let page = tags.list().category(10).name("VIP").send().await.unwrap();
    assert_eq!(page.items()[0].name.as_deref(), Some("VIP"));
    let tag = tags.get(5).send().await.unwrap();
    assert_eq!(tag.category.unwrap().id.get(), 10);
    let created = tags
        .create(NewTag::new("VIP").description("Big spenders").category(10))
        .send()
        .await
        .unwrap();
    assert_eq!(created.id, TagId(5));
    let results = tags.apply(5, [1, 2, 3]).send().await.unwrap();
    assert!(results[&ContactId(1)].is_applied() && results[&ContactId(2)].is_applied());
    assert_eq!(results[&ContactId(3)], ApplyOutcome::ContactNotFound);
    tags.remove(5, [ContactId(1), ContactId(2)])
        .send()
        .await
        .unwrap();
    let tagged = tags.contacts(5).send().await.unwrap();
    assert_eq!(tagged.items()[0].contact.first_name.as_deref(), Some("A"));
    server.verify().await;
}

#[tokio::test]
async fn account_profile_get_and_put() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/account/profile"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "Demo Co", "email": "owner@example.com", "time_zone": "America/New_York",
            "business_goals": null, "address": {"line1": "1 Main St", "country_code": "USA"}, "unknown": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/crm/rest/v1/account/profile"))
        .and(body_json(
            json!({"name": "Renamed Co", "website": "https://example.com"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "Renamed Co", "website": "https://example.com"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let p = client.account().profile().send().await.unwrap();
    assert_eq!(p.name.as_deref(), Some("Demo Co"));
    assert_eq!(p.address.unwrap().country_code.as_deref(), Some("USA"));

    let updated = client
        .account()
        .update_profile(AccountProfile {
            name: Some("Renamed Co".into()),
            website: Some("https://example.com".into()),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Renamed Co"));
    server.verify().await;
}
