//! REST v2 and REST v1 over one store (`keap/rest-v2.md` §3–§4), over real TCP on both stores:
//! a contact created over v2 is the same record over v1 (compared field by field for every
//! field the two shapes share), fires the v1 `contact.add` hook, takes edits from either API,
//! carries tags applied over v2 into v1, and its v2 deletion fires `contact.delete`.

use keapsake_core::Clock;
use keapsake_core::crm::date::parse_datetime;
use keapsake_server::quota::Profile;
use keapsake_server::webhooks::{HookConfig, deliver_due};
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::{Backend, TestOptions, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(srv: &TestServer) -> Api {
        let code = srv.authorize(&srv.app, &srv.user).await;
        let (s, tok) = srv.exchange(&srv.app, &code).await;
        assert_eq!(s, 200, "{tok}");
        Api {
            http: reqwest::Client::new(),
            base: srv.at("crm/rest/"),
            token: tok["access_token"].as_str().expect("a token").to_owned(),
        }
    }

    /// Calls `<base>/<path>` (`v1/…` or `v2/…`); returns the status and the JSON body.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("the server answers");
        let status = r.status().as_u16();
        let text = r.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }
}

/// The item of a slot list (`email_addresses`, …) in `field`.
fn slot<'a>(doc: &'a Value, list: &str, field: &str) -> &'a Value {
    doc[list]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["field"] == field))
        .unwrap_or(&Value::Null)
}

/// A v2 string or absent ↔ a v1 string or null.
fn same_text(v2: &Value, v1: &Value, what: &str) {
    let a = v2.as_str().filter(|s| !s.is_empty());
    let b = v1.as_str().filter(|s| !s.is_empty());
    assert_eq!(a, b, "{what}: v2 {v2} vs v1 {v1}");
}

/// A v2 string id or absent ↔ a v1 integer or null.
fn same_id(v2: &Value, v1: &Value, what: &str) {
    let a = v2.as_str().map(|s| s.parse::<i64>().expect("a numeric id"));
    assert_eq!(a, v1.as_i64(), "{what}: v2 {v2} vs v1 {v1}");
}

/// Compares every field v1 and v2 share.
fn agree(v2: &Value, v1: &Value) {
    same_id(&v2["id"], &v1["id"], "id");
    for f in [
        "given_name",
        "family_name",
        "middle_name",
        "prefix",
        "suffix",
        "preferred_name",
        "job_title",
        "contact_type",
        "spouse_name",
        "time_zone",
        "preferred_locale",
        "website",
    ] {
        same_text(&v2[f], &v1[f], f);
    }
    same_id(&v2["owner_id"], &v1["owner_id"], "owner_id");
    same_id(&v2["leadsource_id"], &v1["lead_source_id"], "leadsource_id");
    same_id(&v2["company"]["id"], &v1["company"]["id"], "company.id");
    same_text(
        &v2["company"]["company_name"],
        &v1["company"]["company_name"],
        "company.company_name",
    );
    let tags = |v: &Value| -> Vec<i64> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t.as_i64().or_else(|| t.as_str()?.parse().ok()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(tags(&v2["tag_ids"]), tags(&v1["tag_ids"]), "tag_ids");
    for field in ["EMAIL1", "EMAIL2", "EMAIL3"] {
        let (a, b) = (
            slot(v2, "email_addresses", field),
            slot(v1, "email_addresses", field),
        );
        same_text(&a["email"], &b["email"], field);
    }
    // EMAIL1's status is the contact's: v2's per-address form of v1's email_status.
    let status_v1 = v1["email_status"].as_str().unwrap_or("");
    let status_v2 = slot(v2, "email_addresses", "EMAIL1")["email_opt_status"]
        .as_str()
        .unwrap_or("");
    assert_eq!(
        status_v2.replace('_', "").to_ascii_lowercase(),
        status_v1.to_ascii_lowercase(),
        "EMAIL1 status"
    );
    assert_eq!(
        slot(v2, "email_addresses", "EMAIL1")["is_opt_in"].as_bool(),
        v1["email_opted_in"]
            .as_bool()
            .filter(|_| !status_v1.is_empty()),
        "is_opt_in"
    );
    for field in ["PHONE1", "PHONE2", "PHONE3", "PHONE4", "PHONE5"] {
        let (a, b) = (
            slot(v2, "phone_numbers", field),
            slot(v1, "phone_numbers", field),
        );
        for k in ["number", "extension", "type", "number_e164"] {
            same_text(&a[k], &b[k], &format!("{field}.{k}"));
        }
    }
    for field in ["FAX1", "FAX2"] {
        let (a, b) = (
            slot(v2, "fax_numbers", field),
            slot(v1, "fax_numbers", field),
        );
        for k in ["number", "type"] {
            same_text(&a[k], &b[k], &format!("{field}.{k}"));
        }
    }
    for field in ["BILLING", "SHIPPING", "OTHER"] {
        let (a, b) = (slot(v2, "addresses", field), slot(v1, "addresses", field));
        for k in [
            "line1",
            "line2",
            "locality",
            "region",
            "postal_code",
            "zip_code",
            "zip_four",
            "country_code",
        ] {
            same_text(&a[k], &b[k], &format!("{field}.{k}"));
        }
    }
    // Dates: v2's birth_date is v1's birthday's date; anniversaries are the same date.
    same_text(
        &v2["birth_date"],
        &json!(v1["birthday"].as_str().map(|b| b[..10].to_owned())),
        "birth_date",
    );
    same_text(&v2["anniversary_date"], &v1["anniversary"], "anniversary");
    // Source type: v2's UPPER_SNAKE of v1's value.
    assert_eq!(
        v2["source_type"]
            .as_str()
            .map(|s| s.replace('_', "").to_ascii_uppercase()),
        v1["source_type"].as_str().map(str::to_ascii_uppercase),
        "source_type"
    );
    // Custom fields, social accounts, origin.
    let cf = |v: &Value| -> Vec<(i64, Value)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["id"]
                                .as_i64()
                                .or_else(|| c["id"].as_str()?.parse().ok())
                                .unwrap(),
                            c["content"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        cf(&v2["custom_fields"]),
        cf(&v1["custom_fields"]),
        "custom_fields"
    );
    let socials = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["name"].as_str().unwrap_or("").to_owned(),
                            s["type"]
                                .as_str()
                                .unwrap_or("")
                                .replace('_', "")
                                .to_ascii_lowercase(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        socials(&v2["social_accounts"]),
        socials(&v1["social_accounts"]),
        "social_accounts"
    );
    same_text(
        &v2["origin"]["ip_address"],
        &v1["origin"]["ip_address"],
        "origin.ip_address",
    );
    // The same instants, in each API's form.
    let t = |v: &Value| parse_datetime(v.as_str().expect("a time")).expect("a valid time");
    assert_eq!(t(&v2["create_time"]), t(&v1["date_created"]), "created");
    assert_eq!(t(&v2["update_time"]), t(&v1["last_updated"]), "updated");
}

const V1_ALL: &str =
    "optional_properties=job_title,lead_source_id,custom_fields,social_accounts,origin";
const V2_ALL: &str = "fields=id,given_name,family_name,middle_name,prefix,suffix,preferred_name,job_title,contact_type,spouse_name,time_zone,preferred_locale,website,owner_id,leadsource_id,company,tag_ids,email_addresses,phone_numbers,fax_numbers,addresses,birth_date,anniversary_date,source_type,custom_fields,social_accounts,origin,create_time,update_time";

async fn both(api: &Api, id: &str) -> (Value, Value) {
    let v2 = api
        .ok(Method::GET, &format!("v2/contacts/{id}?{V2_ALL}"), None)
        .await;
    let v1 = api
        .ok(Method::GET, &format!("v1/contacts/{id}?{V1_ALL}"), None)
        .await;
    agree(&v2, &v1);
    (v2, v1)
}

/// The ids the deliveries of `event` named.
fn delivered(rx: &HookReceiver, event: &str) -> Vec<i64> {
    rx.deliveries()
        .iter()
        .filter(|d| d.json["event_key"] == event)
        .flat_map(|d| {
            d.json["object_keys"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|k| k["id"].as_i64())
        .collect()
}

async fn one_contact_through_v2_and_v1(backend: Backend) {
    // Arrange: hooks delivered by hand (worker off); contact.add and contact.delete subscribed
    // over v1 (hooks stay on v1).
    let srv = TestServer::start_with(
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
    .await;
    let api = Api::new(&srv).await;
    let rx = HookReceiver::start(Mode::Echo).await;
    for key in ["contact.add", "contact.delete"] {
        let sub = api
            .ok(
                Method::POST,
                "v1/hooks",
                Some(json!({"eventKey": key, "hookUrl": rx.url})),
            )
            .await;
        assert_eq!(sub["status"], "Verified", "{sub}");
    }
    rx.clear();
    let company = api
        .ok(
            Method::POST,
            "v1/companies",
            Some(json!({"company_name": "Analytical Engines Ltd"})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let field = api
        .ok(
            Method::POST,
            "v1/contacts/model/customFields",
            Some(json!({"label": "Favourite", "field_type": "Text"})),
        )
        .await["id"]
        .as_i64()
        .unwrap();

    // Act 1: create over v2 with every kind of field.
    let (status, created) = api
        .call(
            Method::POST,
            "v2/contacts",
            Some(json!({
                "given_name": "Ada", "family_name": "Lovelace", "middle_name": "Augusta",
                "prefix": "Lady", "suffix": "II", "preferred_name": "Ada", "job_title": "Countess",
                "contact_type": "Lead", "spouse_name": "William", "time_zone": "Europe/London",
                "preferred_locale": "en_GB", "website": "https://ada.example",
                "owner_id": srv.user.id.0.to_string(),
                "company": {"id": company.to_string()},
                "email_addresses": [
                    {"email": "ada@example.com", "field": "EMAIL1", "opt_in_reason": "Signed up"},
                    {"email": "countess@example.com", "field": "EMAIL2"}
                ],
                "phone_numbers": [{"number": "+44 20 7946 0000", "extension": "12", "type": "Work", "field": "PHONE1"}],
                "fax_numbers": [{"number": "020 7946 0001", "type": "Home", "field": "FAX1"}],
                "addresses": [
                    {"field": "BILLING", "line1": "12 St James's Square", "locality": "London",
                     "postal_code": "SW1Y 4JH", "country_code": "GBR"},
                    {"field": "SHIPPING", "line1": "1 Main St", "locality": "Phoenix", "region_code": "US-AZ",
                     "country_code": "USA", "zip_code": "85001", "zip_four": "1234"}
                ],
                "birth_date": "1815-12-10", "anniversary_date": "1835-07-08",
                "source_type": "LANDING_PAGE",
                "custom_fields": [{"id": field.to_string(), "content": "tea"}],
                "social_accounts": [{"name": "ada", "type": "LINKED_IN"}],
                "origin": {"ip_address": "192.0.2.7"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // Assert: the contact.add hook fires for the v2 create, naming it.
    let report = deliver_due(&srv.state, srv.clock.now()).await;
    assert!(report.delivered >= 1, "{report:?}");
    assert_eq!(
        delivered(&rx, "contact.add"),
        vec![id.parse::<i64>().unwrap()],
        "one contact.add for the v2 contact"
    );
    // Both views agree field by field.
    let (v2, v1) = both(&api, &id).await;
    assert_eq!(v1["given_name"], "Ada");
    assert_eq!(v1["email_status"], "SingleOptIn");
    assert_eq!(v1["addresses"][1]["region"], "Arizona");
    assert_eq!(v2["addresses"][1]["region_code"], "US-AZ");
    assert_eq!(v2["company"]["company_name"], "Analytical Engines Ltd");

    // Act 2: tag over v2, edit over v1; both show it.
    let tag = api
        .ok(Method::POST, "v2/tags", Some(json!({"name": "VIP"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = api
        .ok(
            Method::POST,
            &format!("v2/tags/{tag}/contacts:applyTags"),
            Some(json!({"contact_ids": [id]})),
        )
        .await;
    assert_eq!(res["results"][&id], "SUCCESS");
    srv.clock.advance(time::Duration::seconds(2));
    api.ok(
        Method::PATCH,
        &format!("v1/contacts/{id}"),
        Some(json!({"family_name": "King", "phone_numbers": [{"number": "555-0199", "field": "PHONE2"}]})),
    )
    .await;
    let (v2, v1) = both(&api, &id).await;
    assert_eq!(v2["family_name"], "King");
    assert_eq!(v2["tag_ids"], json!([tag]));
    assert_eq!(v1["phone_numbers"].as_array().unwrap().len(), 2);

    // Act 3: PATCH over v2 (the list sent replaces the stored one); v1 sees it.
    srv.clock.advance(time::Duration::seconds(2));
    let res = api
        .ok(
            Method::PATCH,
            &format!("v2/contacts/{id}?update_mask=phone_numbers&update_mask=given_name"),
            Some(json!({"given_name": "Augusta", "family_name": "ignored",
                        "phone_numbers": [{"number": "555-0300", "field": "PHONE3"}]})),
        )
        .await;
    assert_eq!(res["given_name"], "Augusta");
    let (_, v1) = both(&api, &id).await;
    assert_eq!(v1["family_name"], "King");
    assert_eq!(v1["phone_numbers"].as_array().unwrap().len(), 1);
    assert_eq!(v1["phone_numbers"][0]["field"], "PHONE3");

    // Act 4: delete over v2: gone from v1, contact.delete fires.
    rx.clear();
    let (s, _) = api
        .call(Method::DELETE, &format!("v2/contacts/{id}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, body) = api
        .call(Method::GET, &format!("v1/contacts/{id}"), None)
        .await;
    assert_eq!(s, 404, "{body}");
    deliver_due(&srv.state, srv.clock.now()).await;
    assert_eq!(
        delivered(&rx, "contact.delete"),
        vec![id.parse::<i64>().unwrap()]
    );
}

on_both_stores!(one_contact_through_v2_and_v1);
