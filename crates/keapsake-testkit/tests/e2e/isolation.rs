//! The tenant-isolation matrix of SECURITY.md §5, **generated**: every operation (path × method)
//! of Keap's REST v1 OpenAPI document (`shared/keap/openapi-v1.json`, paths `/v1/…` under
//! `/crm/rest`) and of the v2 document (`keapsake_server::rest::v2::operations`, generated from
//! `openapi-v2.yml`, paths `/v2/…`) is probed at run time with a valid token (anything but
//! `404 {"message":"Not Found"}`, a 405 or a 501 counts as implemented), then every implemented
//! operation runs under every credential variant:
//!
//! | variant | sent as | expected (`keap/oauth.md` §5–§6) |
//! |---|---|---|
//! | none | — | 401 `Invalid access token` / `oauth.v2.InvalidAccessToken` |
//! | malformed bearer | `Authorization: Bearer <garbage>` | 401 `Invalid Access Token` / `keymanagement.service.invalid_access_token` |
//! | malformed basic | `Authorization: Basic x` | 401 `Invalid access token` / `oauth.v2.InvalidAccessToken` |
//! | invalid first | `Authorization: Bearer <garbage>` + A's valid PAT and token later in the order | 401 invalid (the first credential decides) |
//! | expired | A's token, clock past the access-token lifetime | 401 `Access Token expired` |
//! | revoked | A's token of a family revoked via `/oauth/revoke` | 401 invalid |
//! | other OAuth | B's token as Bearer | like a never-existing id |
//! | other OAuth, query | B's token as `?access_token=` | like a never-existing id |
//! | other PAT | B's PAT as `X-Keap-API-Key` | like a never-existing id |
//! | restricted PAT | A's read-only PAT as Bearer, write methods only | 403 `{"message"}` (v2: `PERMISSION_DENIED`) |
//!
//! Account A is seeded through the API with one record of each kind (contact, tag, tag category,
//! company, note, task, opportunity, e-mail, product with a plan, order with an item and a payment,
//! subscription, credit card, contact and note custom fields, the account profile), all carrying
//! [`MARKER`]; account B with its own records. Path parameters and the ids inside query strings and
//! bodies (`@contact@` … in [`probes`]) are substituted with A's ids; for the other account's
//! credentials the same request is also sent with ids that exist nowhere, and the two answers must
//! be identical (status and body, after mapping the never-existing ids back to A's). Requests
//! naming several ids are also sent varying one id at a time, the others being B's own (B applying
//! its own tag to A's contact, B's contact with A's company, …). No response to another account's
//! credential may contain [`MARKER`] or A's user's e-mail, and a snapshot of every implemented GET
//! with A's token (every seeded record, every list) must be unchanged after each variant.
//! Unimplemented operations (404/405/501) are checked to authenticate first: every unauthenticated
//! variant gets the same 401.

use keapsake_core::oauth::Lifetimes;
use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_core::{Clock, Secret};
use keapsake_testkit::{Backend, TestServer, TestUser};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// In every text of account A's records and in nothing another credential sends: a response to
/// another account's credential containing it is a cross-account read.
const MARKER: &str = "Zq7xIsoSecret";
/// E-mail of A's seeded contact (e-mail addresses are per account: B may upsert with it).
const A_EMAIL: &str = "iso-owner@example.com";
/// Stage of the default pipeline (static, the same in every account).
const STAGE: i64 = 1;

const BODY_MISSING: &str = r#"{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}"#;
const BODY_INVALID: &str = r#"{"fault":{"faultstring":"Invalid Access Token","detail":{"errorcode":"keymanagement.service.invalid_access_token"}}}"#;
const BODY_EXPIRED: &str = r#"{"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"keymanagement.service.access_token_expired"}}}"#;
const WWW_AUTHENTICATE: &str = r#"Bearer realm="keapsake", error="invalid_token""#;

// ---------------------------------------------------------------------------------------------
// The operations, from the spec
// ---------------------------------------------------------------------------------------------

/// Keap's v1 OpenAPI document: `$KEAPSAKE_SHARED/keap/openapi-v1.json`, or the first
/// `shared/keap/openapi-v1.json` found walking up from this crate.
fn spec_path() -> PathBuf {
    if let Ok(dir) = std::env::var("KEAPSAKE_SHARED") {
        for p in [
            Path::new(&dir).join("keap/openapi-v1.json"),
            Path::new(&dir).join("openapi-v1.json"),
        ] {
            if p.is_file() {
                return p;
            }
        }
        panic!("KEAPSAKE_SHARED={dir} holds no keap/openapi-v1.json");
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let p = d.join("shared/keap/openapi-v1.json");
        if p.is_file() {
            return p;
        }
        dir = d.parent();
    }
    panic!(
        "no shared/keap/openapi-v1.json above {}; set KEAPSAKE_SHARED",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// One operation: a method on a path template relative to `/crm/rest` (`/v1/contacts/{id}`).
#[derive(Debug, Clone)]
struct Op {
    method: Method,
    template: String,
}

impl Op {
    fn is_write(&self) -> bool {
        self.method != Method::GET
    }
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// Every operation of the v1 document, then every operation of the v2 document.
fn operations() -> Vec<Op> {
    let path = spec_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let paths = spec["paths"].as_object().expect("the spec has paths");
    let mut ops = Vec::new();
    for (template, item) in paths {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                ops.push(Op {
                    method: Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap(),
                    template: template.clone(),
                });
            }
        }
    }
    assert!(
        ops.len() >= 100,
        "{}: only {} operations",
        path.display(),
        ops.len()
    );
    for (m, p, _) in keapsake_server::rest::v2::operations::OPERATIONS {
        ops.push(Op {
            method: Method::from_bytes(m.as_bytes()).unwrap(),
            template: format!("/v2{p}"),
        });
    }
    ops
}

// ---------------------------------------------------------------------------------------------
// Ids, placeholders and probes
// ---------------------------------------------------------------------------------------------

/// What an id in a request refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Contact,
    Tag,
    Category,
    Company,
    Note,
    Task,
    Opportunity,
    ContactField,
    User,
    Email,
    Hook,
    Product,
    Plan,
    Order,
    OrderItem,
    Transaction,
    CreditCard,
}

impl Kind {
    const ALL: [Kind; 17] = [
        Kind::Contact,
        Kind::Tag,
        Kind::Category,
        Kind::Company,
        Kind::Note,
        Kind::Task,
        Kind::Opportunity,
        Kind::ContactField,
        Kind::User,
        Kind::Email,
        Kind::Hook,
        Kind::Product,
        Kind::Plan,
        Kind::Order,
        Kind::OrderItem,
        Kind::Transaction,
        Kind::CreditCard,
    ];

    /// How a probe names the id (in a query string, or as a whole JSON string in a body).
    fn placeholder(self) -> &'static str {
        match self {
            Kind::Contact => "@contact@",
            Kind::Tag => "@tag@",
            Kind::Category => "@category@",
            Kind::Company => "@company@",
            Kind::Note => "@note@",
            Kind::Task => "@task@",
            Kind::Opportunity => "@opportunity@",
            Kind::ContactField => "@contact_field@",
            Kind::User => "@user@",
            Kind::Email => "@email@",
            Kind::Hook => "@hook@",
            Kind::Product => "@product@",
            Kind::Plan => "@plan@",
            Kind::Order => "@order@",
            Kind::OrderItem => "@order_item@",
            Kind::Transaction => "@transaction@",
            Kind::CreditCard => "@credit_card@",
        }
    }

    fn of_placeholder(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.placeholder() == s)
    }

    /// An id that exists in no account: ten digits each, so none is a substring of another.
    fn ghost(self) -> i64 {
        9_990_000_000 + 11 * (self as i64 + 1)
    }
}

/// A path parameter: an id of a seeded kind, or a fixed value (locale codes; resources keapsake
/// has no records of).
#[derive(Debug, Clone, Copy)]
enum Slot {
    Ref(Kind),
    Lit(&'static str),
}

fn path_slot(template: &str, name: &str) -> Slot {
    match name {
        "contactId" | "contact_id" => Slot::Ref(Kind::Contact),
        "tagId" | "tag_id" => Slot::Ref(Kind::Tag),
        "tag_category_id" => Slot::Ref(Kind::Category),
        "companyId" | "company_id" => Slot::Ref(Kind::Company),
        "noteId" => Slot::Ref(Kind::Note),
        "taskId" => Slot::Ref(Kind::Task),
        "opportunityId" => Slot::Ref(Kind::Opportunity),
        "userId" => Slot::Ref(Kind::User),
        "productId" | "product_id" => Slot::Ref(Kind::Product),
        "subscriptionId" => Slot::Ref(Kind::Plan),
        "orderId" | "order_id" => Slot::Ref(Kind::Order),
        "orderItemId" | "order_item_id" => Slot::Ref(Kind::OrderItem),
        "transactionId" => Slot::Ref(Kind::Transaction),
        "countryCode" => Slot::Lit("USA"),
        "email" => Slot::Lit("nobody%40example.com"),
        "key" if template.starts_with("/v1/hooks/") => Slot::Ref(Kind::Hook),
        "key" | "integration" | "callName" => Slot::Lit("x"),
        "id" => {
            let before = template.split("/{id}").next().unwrap_or("");
            match before.rsplit('/').next() {
                Some("contacts") => Slot::Ref(Kind::Contact),
                Some("tags") => Slot::Ref(Kind::Tag),
                Some("emails") => Slot::Ref(Kind::Email),
                _ => Slot::Lit("1"),
            }
        }
        _ => Slot::Lit("1"),
    }
}

/// A `{name}` segment, possibly followed by a v2 colon verb (`{product_id}:adjustInventory`):
/// the name and the suffix.
fn param_segment(seg: &str) -> Option<(&str, &str)> {
    seg.strip_prefix('{')?.split_once('}')
}

/// The `{name}` parameters of a template, in order.
fn path_params(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter_map(param_segment)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// One request shape of an operation: a query string and a body, with placeholders.
#[derive(Debug, Clone)]
struct Probe {
    query: String,
    body: Option<Value>,
    /// Whether the body was written for this operation (not the `{}` fallback).
    tailored: bool,
}

/// The request shapes of an operation: minimal valid bodies for the resources keapsake
/// implements (each naming every id it can refer to), list filters by id, `{}` for other
/// writes.
fn probes(op: &Op) -> Vec<Probe> {
    let q = |s: &str| Probe {
        query: s.to_owned(),
        body: None,
        tailored: true,
    };
    let b = |v: Value| Probe {
        query: String::new(),
        body: Some(v),
        tailored: true,
    };
    let contact_refs = json!({"given_name": "Intruder", "company": {"id": "@company@"}, "owner_id": "@user@",
                              "custom_fields": [{"id": "@contact_field@", "content": "intruded"}]});
    let mut new_contact = contact_refs.clone();
    new_contact["email_addresses"] = json!([{"email": "intruder@example.com", "field": "EMAIL1"}]);
    match (op.method.as_str(), op.template.as_str()) {
        ("GET", "/v1/contacts") => vec![q(""), q(&format!("email={A_EMAIL}"))],
        ("GET", "/v1/notes" | "/v1/tasks" | "/v1/emails") => {
            vec![q(""), q("contact_id=@contact@")]
        }
        ("POST", "/v1/emails") => vec![b(
            json!({"sent_to_address": "intruder@example.com", "contact_id": "@contact@"}),
        )],
        ("POST", "/v1/emails/unsync") => vec![b(json!({"ids": ["@email@"]}))],
        ("POST", "/v1/emails/queue") => vec![b(
            json!({"contacts": ["@contact@"], "user_id": "@user@", "subject": "Intruder", "plain_content": "aGk="}),
        )],
        ("GET", "/v1/opportunities") => vec![q(""), q("user_id=@user@")],
        ("GET", "/v1/tags") => vec![q(""), q("category=@category@")],
        ("POST", "/v1/contacts") => vec![b(new_contact)],
        ("PUT", "/v1/contacts") => vec![b(
            json!({"duplicate_option": "Email", "given_name": "Intruder",
                                                 "email_addresses": [{"email": A_EMAIL, "field": "EMAIL1"}]}),
        )],
        ("PATCH", "/v1/contacts/{contactId}") => vec![b(contact_refs)],
        ("POST", "/v1/contacts/model/customFields") => {
            vec![b(json!({"label": "Intruder field", "field_type": "Text"}))]
        }
        ("POST", "/v1/contacts/{contactId}/tags") => vec![b(json!({"tagIds": ["@tag@"]}))],
        ("DELETE", "/v1/contacts/{contactId}/tags") => vec![q("ids=@tag@")],
        ("POST", "/v1/companies") => vec![b(json!({"company_name": "Intruder Co"}))],
        ("PATCH", "/v1/companies/{companyId}") => vec![b(
            json!({"company_name": "Intruder Co", "website": "intruder.test"}),
        )],
        ("POST", "/v1/notes") => vec![b(
            json!({"contact_id": "@contact@", "user_id": "@user@", "title": "Intruder"}),
        )],
        ("PUT", "/v1/notes/{noteId}") => {
            vec![b(json!({"contact_id": "@contact@", "title": "Intruder"}))]
        }
        ("PATCH", "/v1/notes/{noteId}") => {
            vec![b(json!({"title": "Intruder", "user_id": "@user@"}))]
        }
        ("POST", "/v1/notes/model/customFields" | "/v1/tasks/model/customFields") => {
            vec![b(
                json!({"label": "Intruder note field", "field_type": "Text"}),
            )]
        }
        ("POST", "/v1/tasks") => vec![b(json!({"title": "Intruder", "due_date": "2024-12-01",
                                               "contact": {"id": "@contact@"}, "user_id": "@user@"}))],
        ("PUT", "/v1/tasks/{taskId}") => vec![b(
            json!({"title": "Intruder", "due_date": "2024-12-01", "contact": {"id": "@contact@"}}),
        )],
        ("PATCH", "/v1/tasks/{taskId}") => vec![b(
            json!({"title": "Intruder", "completed": true, "user_id": "@user@"}),
        )],
        ("POST", "/v1/opportunities") => vec![b(
            json!({"opportunity_title": "Intruder", "contact": {"id": "@contact@"},
                                                       "stage": {"id": STAGE}, "user": {"id": "@user@"}}),
        )],
        ("PUT", "/v1/opportunities") => vec![b(
            json!({"id": "@opportunity@", "opportunity_title": "Intruder",
                                                      "contact": {"id": "@contact@"}, "stage": {"id": STAGE}}),
        )],
        ("PATCH", "/v1/opportunities/{opportunityId}") => {
            vec![b(
                json!({"opportunity_title": "Intruder", "contact": {"id": "@contact@"}}),
            )]
        }
        ("POST", "/v1/tags") => vec![b(
            json!({"name": "Intruder tag", "category": {"id": "@category@"}}),
        )],
        ("POST", "/v1/tags/categories") => vec![b(json!({"name": "Intruder category"}))],
        ("POST", "/v1/tags/{tagId}/contacts") => vec![b(json!({"ids": ["@contact@"]}))],
        ("DELETE", "/v1/tags/{tagId}/contacts") => vec![q("ids=@contact@")],
        ("GET", "/v1/orders") => vec![q(""), q("contact_id=@contact@"), q("product_id=@product@")],
        ("GET", "/v1/transactions" | "/v1/orders/{orderId}/transactions") => {
            vec![q(""), q("contact_id=@contact@")]
        }
        ("POST", "/v1/products") => vec![b(json!({"product_name": "Intruder product"}))],
        ("PATCH", "/v1/products/{productId}") => {
            vec![b(json!({"product_name": "Intruder", "product_price": 1}))]
        }
        ("POST", "/v1/products/{productId}/subscriptions") => {
            vec![b(json!({"cycle_type": "MONTH", "plan_price": "1.00"}))]
        }
        ("POST", "/v1/products/{productId}/image") => vec![b(
            json!({"file_name": "intruder.gif", "file_data": "R0lGODlhAQABAAAAACw="}),
        )],
        ("POST", "/v1/orders") => vec![b(
            json!({"contact_id": "@contact@", "order_date": "2024-05-21T14:30:00Z", "order_title": "Intruder",
                   "order_type": "Online", "order_items": [{"product_id": "@product@", "quantity": 1}]}),
        )],
        ("GET", "/v1/subscriptions") => vec![q(""), q("contact_id=@contact@")],
        ("POST", "/v1/subscriptions") => vec![b(
            json!({"contact_id": "@contact@", "subscription_plan_id": "@plan@", "allow_duplicate": true}),
        )],
        ("POST", "/v1/orders/{orderId}/items") => {
            vec![b(json!({"product_id": "@product@", "quantity": 1}))]
        }
        ("POST", "/v1/orders/{orderId}/payments") => vec![
            b(json!({"payment_amount": "0.01", "payment_method_type": "CASH"})),
            b(
                json!({"payment_amount": "0.01", "payment_method_type": "CREDIT_CARD", "charge_now": true,
                       "credit_card_id": "@credit_card@"}),
            ),
        ],
        ("POST", "/v1/contacts/{contactId}/creditCards") => vec![b(
            json!({"card_number": "4111111111111111", "expiration_month": "12", "expiration_year": "2099",
                   "name_on_card": "Intruder"}),
        )],
        ("PUT", "/v1/orders/{orderId}/paymentPlan") => vec![b(
            json!({"days_between_payments": 30, "number_of_payments": 2, "plan_start_date": "2024-07-01"}),
        )],
        ("PUT", "/v1/account/profile") => vec![b(
            json!({"name": "Intruder Inc", "email": "intruder@example.com"}),
        )],
        // REST v2 (ids in bodies are sent as JSON numbers, which v2 accepts like strings).
        ("GET", "/v2/contacts") => vec![
            q(""),
            q(&format!("filter=email%3D%3D{A_EMAIL}")),
            q("filter=ids%3D%3D@contact@"),
            q("filter=company_id%3D%3D@company@"),
        ],
        ("POST", "/v2/contacts") => vec![
            b(new_contact),
            Probe {
                query: "duplicate_option=Email".to_owned(),
                body: Some(json!({"given_name": "Intruder",
                                  "email_addresses": [{"email": A_EMAIL, "field": "EMAIL1"}]})),
                tailored: true,
            },
        ],
        ("PATCH", "/v2/contacts/{contact_id}") => vec![b(contact_refs)],
        ("GET", "/v2/tags") => vec![q(""), q("filter=category_id%3D%3D@category@")],
        ("POST", "/v2/tags") => vec![b(
            json!({"name": "Intruder tag", "category": {"id": "@category@"}}),
        )],
        ("PATCH", "/v2/tags/{tag_id}") => vec![b(
            json!({"description": "Intruder", "category": {"id": "@category@"}}),
        )],
        (
            "POST",
            "/v2/tags/{tag_id}/contacts:applyTags" | "/v2/tags/{tag_id}/contacts:removeTags",
        ) => {
            vec![b(json!({"contact_ids": ["@contact@"]}))]
        }
        ("POST", "/v2/tags/categories") => vec![b(json!({"name": "Intruder category"}))],
        ("PATCH", "/v2/tags/categories/{tag_category_id}") => {
            vec![b(json!({"name": "Intruder category"}))]
        }
        ("GET", "/v2/companies") => vec![q(""), q("filter=company_id%3D%3D@company@")],
        ("POST", "/v2/companies") => vec![b(json!({"company_name": "Intruder Co"}))],
        ("PATCH", "/v2/companies/{company_id}") => vec![b(
            json!({"company_name": "Intruder Co", "website": "intruder.test"}),
        )],
        ("GET", "/v2/products") => vec![q(""), q("filter=product_ids%3D%3D@product@")],
        ("POST", "/v2/products") => vec![b(
            json!({"name": "Intruder product", "price": 100, "short_description": "Intruder"}),
        )],
        ("PATCH", "/v2/products/{product_id}") => vec![b(json!({"name": "Intruder", "price": 1}))],
        ("POST", "/v2/products/{product_id}:adjustInventory") => {
            vec![b(json!({"type": "INCREASE", "quantity": 1}))]
        }
        ("GET", "/v2/orders") => vec![
            q(""),
            q("filter=contact_id%3D%3D@contact@"),
            q("filter=product_id%3D%3D@product@"),
            q("filter=id%3D%3D@order@"),
        ],
        ("POST", "/v2/orders") => vec![b(
            json!({"contact_id": "@contact@", "order_time": "2024-05-21T14:30:00Z", "order_title": "Intruder",
                   "order_type": "ONLINE", "order_items": [{"product_id": "@product@", "quantity": 1}]}),
        )],
        ("POST", "/v2/orders/{order_id}/items") => {
            vec![b(json!({"product_id": "@product@", "quantity": 1}))]
        }
        ("PATCH", "/v2/orders/{order_id}/items/{order_item_id}") => {
            vec![b(json!({"quantity": 2, "product_id": "@product@"}))]
        }
        ("POST", "/v2/orders/{order_id}/payments") => vec![b(
            json!({"payment_amount": 0.01, "apply_to_commissions": false, "payment_method_type": "CASH"}),
        )],
        ("POST" | "PUT" | "PATCH", _) => vec![Probe {
            query: String::new(),
            body: Some(json!({})),
            tailored: false,
        }],
        _ => vec![q("")],
    }
}

/// The kinds of id a probe of `op` names (path, query and body).
fn kinds(op: &Op, probe: &Probe) -> BTreeSet<Kind> {
    fn walk(v: &Value, out: &mut BTreeSet<Kind>) {
        match v {
            Value::String(s) => out.extend(Kind::of_placeholder(s)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for p in path_params(&op.template) {
        if let Slot::Ref(k) = path_slot(&op.template, &p) {
            out.insert(k);
        }
    }
    out.extend(
        Kind::ALL
            .into_iter()
            .filter(|k| probe.query.contains(k.placeholder())),
    );
    if let Some(b) = &probe.body {
        walk(b, &mut out);
    }
    out
}

/// A concrete request.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    /// From `/crm/rest`, e.g. `/v1/contacts/2/tags`.
    path: String,
    query: String,
    body: Option<String>,
}

impl Req {
    fn describe(&self) -> String {
        let mut s = format!("{} /crm/rest{}", self.method, self.path);
        if !self.query.is_empty() {
            let _ = write!(s, "?{}", self.query);
        }
        if let Some(b) = &self.body {
            let _ = write!(s, " {b}");
        }
        s
    }
}

/// Substitutes every id of `probe` with `id(kind)`.
fn build(op: &Op, probe: &Probe, id: &dyn Fn(Kind) -> i64) -> Req {
    fn subst(v: &Value, id: &dyn Fn(Kind) -> i64) -> Value {
        match v {
            Value::String(s) => Kind::of_placeholder(s).map_or_else(|| v.clone(), |k| json!(id(k))),
            Value::Array(a) => Value::Array(a.iter().map(|x| subst(x, id)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), subst(x, id))).collect())
            }
            _ => v.clone(),
        }
    }
    let path = op
        .template
        .split('/')
        .map(|seg| match param_segment(seg) {
            Some((name, verb)) => match path_slot(&op.template, name) {
                Slot::Ref(k) => format!("{}{verb}", id(k)),
                Slot::Lit(l) => format!("{l}{verb}"),
            },
            None => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut query = probe.query.clone();
    for k in Kind::ALL {
        query = query.replace(k.placeholder(), &id(k).to_string());
    }
    Req {
        method: op.method.clone(),
        path,
        query,
        body: probe.body.as_ref().map(|b| subst(b, id).to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// How a request presents its credential.
#[derive(Debug, Clone, Default)]
struct Cred {
    headers: Vec<(&'static str, String)>,
    query_token: Option<String>,
}

impl Cred {
    fn bearer(token: &str) -> Cred {
        Cred {
            headers: vec![("authorization", format!("Bearer {token}"))],
            query_token: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Resp {
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    raw: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.raw).unwrap_or(Value::Null)
    }
    fn short(&self) -> String {
        let mut raw: String = self.raw.chars().take(400).collect();
        if raw.len() < self.raw.len() {
            raw.push('…');
        }
        format!("{} {raw}", self.status)
    }
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct Http {
    client: reqwest::Client,
    /// `http://127.0.0.1:<port>/crm/rest`.
    base: String,
}

impl Http {
    async fn send(&self, req: &Req, cred: &Cred) -> Resp {
        let mut query = req.query.clone();
        if let Some(t) = &cred.query_token {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str("access_token=");
            query.push_str(&pct(t));
        }
        let url = if query.is_empty() {
            format!("{}{}", self.base, req.path)
        } else {
            format!("{}{}?{query}", self.base, req.path)
        };
        // The PHP SDK sends this on every request, GET and DELETE included.
        let mut rb = self
            .client
            .request(req.method.clone(), &url)
            .header("content-type", "application/json");
        for (k, v) in &cred.headers {
            rb = rb.header(*k, v);
        }
        if let Some(b) = &req.body {
            rb = rb.body(b.clone());
        }
        let r = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", req.describe()));
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let content_type = header("content-type").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let status = r.status().as_u16();
        let raw = r
            .text()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", req.describe()));
        Resp {
            status,
            content_type,
            www_authenticate,
            raw,
        }
    }

    /// Sends a seeding request that must succeed; returns the body.
    async fn must(&self, cred: &Cred, method: Method, path: &str, body: Value) -> Value {
        let body = if method == Method::GET {
            None
        } else {
            Some(body.to_string())
        };
        let req = Req {
            method,
            path: path.to_owned(),
            query: String::new(),
            body,
        };
        let r = self.send(&req, cred).await;
        assert!(
            matches!(r.status, 200 | 201 | 204),
            "seeding {}: {r:?}",
            req.describe()
        );
        r.json()
    }

    async fn create(&self, cred: &Cred, path: &str, body: Value) -> i64 {
        let v = self.must(cred, Method::POST, path, body).await;
        v["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("seeding POST {path}: no id in {v}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------

/// One record of each kind in an account, created through the API; returns the ids.
async fn seed(
    http: &Http,
    cred: &Cred,
    user: &TestUser,
    label: &str,
    email: &str,
) -> BTreeMap<Kind, i64> {
    let mut ids = BTreeMap::new();
    let category = http
        .create(
            cred,
            "/v1/tags/categories",
            json!({"name": format!("{label} category"), "description": label}),
        )
        .await;
    let tag = http
        .create(cred, "/v1/tags", json!({"name": format!("{label} tag"), "description": label, "category": {"id": category}}))
        .await;
    let company = http
        .create(
            cred,
            "/v1/companies",
            json!({"company_name": format!("{label} company"), "notes": label}),
        )
        .await;
    let field = http
        .create(
            cred,
            "/v1/contacts/model/customFields",
            json!({"label": format!("{label} field"), "field_type": "Text"}),
        )
        .await;
    let contact = http
        .create(
            cred,
            "/v1/contacts",
            json!({"given_name": label, "family_name": format!("{label} family"),
                   "email_addresses": [{"email": email, "field": "EMAIL1"}],
                   "company": {"id": company}, "custom_fields": [{"id": field, "content": format!("{label} value")}]}),
        )
        .await;
    http.must(
        cred,
        Method::POST,
        &format!("/v1/contacts/{contact}/tags"),
        json!({"tagIds": [tag]}),
    )
    .await;
    let note = http
        .create(
            cred,
            "/v1/notes",
            json!({"contact_id": contact, "title": format!("{label} note"), "body": label}),
        )
        .await;
    let task = http
        .create(
            cred,
            "/v1/tasks",
            json!({"title": format!("{label} task"), "description": label, "due_date": "2024-12-01", "contact": {"id": contact}}),
        )
        .await;
    let opportunity = http
        .create(
            cred,
            "/v1/opportunities",
            json!({"opportunity_title": format!("{label} opportunity"), "opportunity_notes": label,
                   "contact": {"id": contact}, "stage": {"id": STAGE}}),
        )
        .await;
    let product = http
        .create(
            cred,
            "/v1/products",
            json!({"product_name": format!("{label} product"), "product_desc": label, "product_price": "10.00"}),
        )
        .await;
    let plan = http
        .create(
            cred,
            &format!("/v1/products/{product}/subscriptions"),
            json!({"cycle_type": "MONTH", "plan_price": "5.00"}),
        )
        .await;
    let order = http
        .must(
            cred,
            Method::POST,
            "/v1/orders",
            json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z",
                   "order_title": format!("{label} order"), "order_type": "Online",
                   "order_items": [{"product_id": product, "quantity": 2, "description": label}]}),
        )
        .await;
    let transaction = http
        .create(
            cred,
            &format!("/v1/orders/{}/payments", order["id"]),
            json!({"payment_amount": "5.00", "payment_method_type": "CASH", "notes": label}),
        )
        .await;
    http.create(
        cred,
        "/v1/subscriptions",
        json!({"contact_id": contact, "subscription_plan_id": plan}),
    )
    .await;
    let card = http
        .create(
            cred,
            &format!("/v1/contacts/{contact}/creditCards"),
            json!({"card_number": "5555555555554444", "expiration_month": "12", "expiration_year": "2099",
                   "name_on_card": label, "email_address": email}),
        )
        .await;
    ids.insert(Kind::CreditCard, card);
    ids.insert(Kind::Product, product);
    ids.insert(Kind::Plan, plan);
    ids.insert(Kind::Order, order["id"].as_i64().expect("an order id"));
    ids.insert(
        Kind::OrderItem,
        order["order_items"][0]["id"].as_i64().expect("an item id"),
    );
    ids.insert(Kind::Transaction, transaction);
    ids.insert(Kind::Category, category);
    ids.insert(Kind::Tag, tag);
    ids.insert(Kind::Company, company);
    ids.insert(Kind::ContactField, field);
    ids.insert(Kind::Contact, contact);
    ids.insert(Kind::Note, note);
    ids.insert(Kind::Task, task);
    ids.insert(Kind::Opportunity, opportunity);
    ids.insert(Kind::User, user.id.0);
    let email_record = http
        .create(
            cred,
            "/v1/emails",
            json!({"sent_to_address": email, "contact_id": contact, "subject": format!("{label} email"),
                   "sent_from_address": "iso-sender@example.com"}),
        )
        .await;
    ids.insert(Kind::Email, email_record);
    // A REST hook whose receiver refuses (port 9), so it stays Unverified and nothing is sent.
    let hook = http
        .must(
            cred,
            Method::POST,
            "/v1/hooks",
            json!({"eventKey": "contact.add", "hookUrl": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let key = hook["key"]
        .as_str()
        .and_then(|k| k.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("seeding POST /v1/hooks: no numeric key in {hook}"));
    ids.insert(Kind::Hook, key);
    ids
}

/// A user in a new account, with an OAuth access token for it.
async fn oauth_token(srv: &TestServer, user: &TestUser) -> String {
    let code = srv.authorize(&srv.app, user).await;
    let (status, tok) = srv.exchange(&srv.app, &code).await;
    assert_eq!(status, 200, "{tok}");
    tok["access_token"].as_str().unwrap().to_owned()
}

async fn api_key(
    srv: &TestServer,
    account: keapsake_core::AccountId,
    user: &TestUser,
    read_only: bool,
) -> String {
    api_key_of(srv, account, user, read_only, KeyKind::Pat).await
}

async fn api_key_of(
    srv: &TestServer,
    account: keapsake_core::AccountId,
    user: &TestUser,
    read_only: bool,
    kind: KeyKind,
) -> String {
    let key = Secret::generate_hex("KeapAK-", 25);
    srv.store
        .create_api_key(NewApiKey {
            hash: key.hash(),
            display_prefix: format!("{}…", &key.expose()[..11]),
            name: if read_only {
                "isolation read-only".into()
            } else {
                "isolation".into()
            },
            kind,
            account_id: account,
            user_id: Some(user.id),
            read_only,
            created_at: srv.clock.now(),
            expires_at: None,
        })
        .await
        .unwrap();
    key.expose().to_owned()
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    CrossRead,
    CrossWrite,
    Unauthenticated,
    ReadOnly,
    ServerError,
    Detection,
}

#[derive(Debug)]
struct Violation {
    class: Class,
    variant: String,
    request: String,
    expected: String,
    actual: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 401 with exactly this body.
    Unauthorized(&'static str),
    /// Another account's credential: like a never-existing id.
    LikeMissing,
    /// A's read-only key: 403 `{"message"}`, write methods only.
    Forbidden,
}

struct Variant {
    name: &'static str,
    cred: Cred,
    expect: Expect,
    /// Run with the clock past the access-token lifetime.
    expired: bool,
}

#[derive(Default)]
struct Tally {
    /// Requests on implemented operations.
    requests: usize,
    /// Requests on unimplemented operations (401 before routing).
    unimplemented_requests: usize,
    five_xx: usize,
    violations: Vec<Violation>,
}

impl Tally {
    fn violation(
        &mut self,
        class: Class,
        variant: &str,
        req: &Req,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        self.violations.push(Violation {
            class,
            variant: variant.to_owned(),
            request: req.describe(),
            expected: expected.into(),
            actual: actual.into(),
        });
    }

    /// Counts a 5xx other than the deliberate 501 of an unimplemented route.
    fn server_error(&mut self, variant: &str, req: &Req, r: &Resp) {
        if r.status >= 500 && r.status != 501 {
            self.five_xx += 1;
            self.violation(Class::ServerError, variant, req, "no 5xx", r.short());
        }
    }

    fn count(&self, class: Class) -> usize {
        self.violations.iter().filter(|v| v.class == class).count()
    }
}

/// What a valid token says about an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Support {
    Implemented,
    /// A deliberate 501.
    NotImplemented,
    /// 404 `Not Found` or 405: no route.
    Absent,
}

/// Every implemented GET request with A's ids and A's token: status and body by request.
async fn snapshot(http: &Http, cred: &Cred, reqs: &[Req]) -> BTreeMap<String, (u16, String)> {
    let mut out = BTreeMap::new();
    for req in reqs {
        let r = http.send(req, cred).await;
        out.insert(req.describe(), (r.status, r.raw));
    }
    out
}

fn changed(
    before: &BTreeMap<String, (u16, String)>,
    after: &BTreeMap<String, (u16, String)>,
) -> Vec<(String, String, String)> {
    before
        .iter()
        .filter_map(|(k, b)| {
            let a = after.get(k)?;
            (a != b).then(|| {
                (
                    k.clone(),
                    format!("{} {}", b.0, b.1),
                    format!("{} {}", a.0, a.1),
                )
            })
        })
        .collect()
}

fn check_unauthorized(tally: &mut Tally, variant: &str, req: &Req, r: &Resp, body: &str) {
    let ok = r.status == 401
        && r.raw == body
        && r.content_type.starts_with("application/json")
        && r.www_authenticate.as_deref() == Some(WWW_AUTHENTICATE);
    if !ok {
        tally.violation(
            Class::Unauthenticated,
            variant,
            req,
            format!("401 {body} (application/json, WWW-Authenticate: {WWW_AUTHENTICATE})"),
            format!(
                "{} ({}, WWW-Authenticate: {:?})",
                r.short(),
                r.content_type,
                r.www_authenticate
            ),
        );
    }
}

/// A response to another account's credential must not contain A's data, and must not refuse
/// the credential itself (two 401s would compare equal and prove nothing).
fn check_no_leak(tally: &mut Tally, variant: &str, req: &Req, r: &Resp, a_user_email: &str) {
    if matches!(r.status, 401 | 403) {
        tally.violation(
            Class::Detection,
            variant,
            req,
            "B's valid credential is accepted",
            r.short(),
        );
    }
    for secret in [MARKER, a_user_email] {
        if r.raw.contains(secret) {
            tally.violation(
                Class::CrossRead,
                variant,
                req,
                format!("nothing of account A ({secret:?})"),
                r.short(),
            );
        }
    }
}

async fn every_spec_operation_under_every_credential_keeps_accounts_apart(backend: Backend) {
    let started = Instant::now();
    let srv = TestServer::start(backend).await;
    let http = Http {
        client: reqwest::Client::new(),
        base: srv.at("crm/rest"),
    };

    // Credentials: A (the demo user on the demo account), B (a user of another account).
    let a_token = oauth_token(&srv, &srv.user).await;
    let a_revoked = oauth_token(&srv, &srv.user).await;
    let a = Cred::bearer(&a_token);
    let b_email = format!(
        "isolation-b-{}@example.com",
        keapsake_testkit::unique_suffix()
    );
    let (b_user, b_accounts) = srv.add_user_with_accounts(&b_email, 1).await;
    let b_token = oauth_token(&srv, &b_user).await;
    let b = Cred::bearer(&b_token);
    let b_pat = api_key(&srv, b_accounts[0].id, &b_user, false).await;
    let a_pat = api_key(&srv, srv.account.id, &srv.user, false).await;
    let a_read_only = api_key(&srv, srv.account.id, &srv.user, true).await;
    let r = reqwest::Client::new()
        .post(srv.at("oauth/revoke"))
        .form(&[
            ("token", a_revoked.as_str()),
            ("client_id", &srv.app.client_id),
            ("client_secret", &srv.app.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "revoke: {}",
        r.text().await.unwrap_or_default()
    );

    // A first takes id 1 of every kind with fillers (which carry the marker too), so that its
    // seeded records have ids B's account does not use.
    let filler = format!("{MARKER} filler");
    http.create(&a, "/v1/tags/categories", json!({"name": filler}))
        .await;
    http.create(&a, "/v1/tags", json!({"name": filler})).await;
    http.create(&a, "/v1/companies", json!({"company_name": filler}))
        .await;
    http.create(
        &a,
        "/v1/contacts/model/customFields",
        json!({"label": filler, "field_type": "Text"}),
    )
    .await;
    http.must(
        &a,
        Method::POST,
        "/v1/hooks",
        json!({"eventKey": "contact.edit", "hookUrl": "http://127.0.0.1:9/filler"}),
    )
    .await;
    let fc = http.create(&a, "/v1/contacts", json!({"given_name": filler, "email_addresses": [{"email": "iso-filler@example.com", "field": "EMAIL1"}]})).await;
    http.create(&a, "/v1/notes", json!({"contact_id": fc, "title": filler}))
        .await;
    http.create(
        &a,
        "/v1/tasks",
        json!({"title": filler, "due_date": "2024-11-30"}),
    )
    .await;
    http.create(
        &a,
        "/v1/opportunities",
        json!({"opportunity_title": filler, "contact": {"id": fc}, "stage": {"id": STAGE}}),
    )
    .await;
    http.create(
        &a,
        &format!("/v1/contacts/{fc}/creditCards"),
        json!({"card_number": "4111111111111111", "expiration_month": "12", "expiration_year": "2099",
               "name_on_card": filler}),
    )
    .await;
    let fp = http
        .create(&a, "/v1/products", json!({"product_name": filler}))
        .await;
    http.create(
        &a,
        "/v1/orders",
        json!({"contact_id": fc, "order_date": "2024-05-21T14:30:00Z", "order_title": filler,
               "order_type": "Online", "order_items": [{"product_id": fp, "quantity": 1}]}),
    )
    .await;
    http.create(
        &a,
        "/v1/emails",
        json!({"sent_to_address": "iso-filler@example.com", "subject": filler}),
    )
    .await;
    let a_ids = seed(&http, &a, &srv.user, MARKER, A_EMAIL).await;
    http.create(
        &a,
        "/v1/notes/model/customFields",
        json!({"label": format!("{MARKER} note field"), "field_type": "Text"}),
    )
    .await;
    http.must(
        &a,
        Method::PUT,
        "/v1/account/profile",
        json!({"name": format!("{MARKER} Inc"), "email": "iso-owner-biz@example.com"}),
    )
    .await;
    let b_ids = seed(&http, &b, &b_user, "Bee", "iso-bee@example.com").await;
    for k in Kind::ALL {
        assert_ne!(
            a_ids[&k], b_ids[&k],
            "{k:?}: A's id must not exist in B's account"
        );
    }
    let a_id = |k: Kind| a_ids[&k];
    let b_id = |k: Kind| b_ids[&k];

    // Which operations keapsake implements: a valid token, ids that exist nowhere (so nothing
    // changes), and a body no handler accepts.
    let mut tally = Tally::default();
    let mut support: Vec<(Op, Support)> = Vec::new();
    for op in operations() {
        let probe = probes(&op).remove(0);
        let mut req = build(&op, &probe, &Kind::ghost);
        if op.is_write() && req.body.is_some() {
            req.body = Some("[]".to_owned());
        }
        let r = http.send(&req, &a).await;
        tally.server_error("detection (A's token)", &req, &r);
        let s = match r.status {
            404 if r.json()["message"] == "Not Found" => Support::Absent,
            405 => Support::Absent,
            501 => Support::NotImplemented,
            401 => {
                tally.violation(
                    Class::Detection,
                    "detection (A's token)",
                    &req,
                    "a valid token is accepted",
                    r.short(),
                );
                Support::Implemented
            }
            _ => Support::Implemented,
        };
        support.push((op, s));
    }
    let implemented: Vec<(Op, Vec<Probe>)> = support
        .iter()
        .filter(|(_, s)| *s == Support::Implemented)
        .map(|(op, _)| (op.clone(), probes(op)))
        .collect();
    let unimplemented: Vec<&Op> = support
        .iter()
        .filter(|(_, s)| *s != Support::Implemented)
        .map(|(op, _)| op)
        .collect();

    // A's view of everything: every implemented GET, every probe, A's ids.
    let snap_reqs: Vec<Req> = implemented
        .iter()
        .filter(|(op, _)| !op.is_write())
        .flat_map(|(op, ps)| ps.iter().map(|p| build(op, p, &a_id)).collect::<Vec<_>>())
        .collect();
    let baseline = snapshot(&http, &a, &snap_reqs).await;
    for (k, (status, _)) in &baseline {
        assert!(
            *status < 300,
            "A's own GET failed before the matrix: {k} → {status}"
        );
    }
    let again = snapshot(&http, &a, &snap_reqs).await;
    let unstable = changed(&baseline, &again);
    assert!(
        unstable.is_empty(),
        "A's snapshot is not stable without any write: {unstable:#?}"
    );
    // The substitution reaches A's records: A's own token reads something different with A's
    // ids than with ids that exist nowhere (else comparing B's answers would prove nothing).
    for (op, ps) in implemented.iter().filter(|(op, _)| !op.is_write()) {
        for p in ps.iter().filter(|p| !kinds(op, p).is_empty()) {
            let mine = http.send(&build(op, p, &a_id), &a).await;
            let nowhere = build(op, p, &Kind::ghost);
            let r = http.send(&nowhere, &a).await;
            assert_ne!(
                (mine.status, &mine.raw),
                (r.status, &r.raw),
                "{}: A's ids read like missing ones",
                nowhere.describe()
            );
        }
    }

    let garbage = format!("garbage-{}", keapsake_testkit::unique_suffix());
    let variants = vec![
        Variant {
            name: "none",
            cred: Cred::default(),
            expect: Expect::Unauthorized(BODY_MISSING),
            expired: false,
        },
        Variant {
            name: "malformed: Bearer garbage",
            cred: Cred::bearer(&garbage),
            expect: Expect::Unauthorized(BODY_INVALID),
            expired: false,
        },
        Variant {
            name: "malformed: Basic x",
            cred: Cred {
                headers: vec![("authorization", "Basic x".to_owned())],
                query_token: None,
            },
            expect: Expect::Unauthorized(BODY_MISSING),
            expired: false,
        },
        Variant {
            name: "invalid Bearer before A's valid X-Keap-API-Key and ?access_token=",
            cred: Cred {
                headers: vec![
                    ("authorization", format!("Bearer {garbage}")),
                    ("x-keap-api-key", a_pat.clone()),
                ],
                query_token: Some(a_token.clone()),
            },
            expect: Expect::Unauthorized(BODY_INVALID),
            expired: false,
        },
        Variant {
            name: "expired (A's token)",
            cred: a.clone(),
            expect: Expect::Unauthorized(BODY_EXPIRED),
            expired: true,
        },
        Variant {
            name: "revoked (A's token, family revoked)",
            cred: Cred::bearer(&a_revoked),
            expect: Expect::Unauthorized(BODY_INVALID),
            expired: false,
        },
        Variant {
            name: "B's OAuth token (Bearer)",
            cred: b.clone(),
            expect: Expect::LikeMissing,
            expired: false,
        },
        Variant {
            name: "B's OAuth token (?access_token=)",
            cred: Cred {
                headers: vec![],
                query_token: Some(b_token.clone()),
            },
            expect: Expect::LikeMissing,
            expired: false,
        },
        Variant {
            name: "B's PAT (X-Keap-API-Key)",
            cred: Cred {
                headers: vec![("x-keap-api-key", b_pat.clone())],
                query_token: None,
            },
            expect: Expect::LikeMissing,
            expired: false,
        },
        Variant {
            name: "A's read-only PAT (Bearer)",
            cred: Cred::bearer(&a_read_only),
            expect: Expect::Forbidden,
            expired: false,
        },
    ];

    let lifetime = Lifetimes::default().access + time::Duration::seconds(1);
    let mut previous = baseline;
    let mut after_variant =
        |tally: &mut Tally, name: &str, class: Class, now: BTreeMap<String, (u16, String)>| {
            for (k, before, after) in changed(&previous, &now) {
                tally.violations.push(Violation {
                    class,
                    variant: name.to_owned(),
                    request: format!("(A's snapshot) {k}"),
                    expected: before,
                    actual: after,
                });
            }
            previous = now;
        };

    // 1. Credentials that must not authenticate, on every operation (implemented or not).
    for v in &variants {
        let Expect::Unauthorized(body) = v.expect else {
            continue;
        };
        if v.expired {
            srv.clock.advance(lifetime);
        }
        for (op, ps) in &implemented {
            for p in ps {
                let req = build(op, p, &a_id);
                let r = http.send(&req, &v.cred).await;
                tally.requests += 1;
                tally.server_error(v.name, &req, &r);
                check_unauthorized(&mut tally, v.name, &req, &r, body);
            }
        }
        for op in &unimplemented {
            let req = build(op, &probes(op)[0], &a_id);
            let r = http.send(&req, &v.cred).await;
            tally.unimplemented_requests += 1;
            tally.server_error(v.name, &req, &r);
            check_unauthorized(&mut tally, v.name, &req, &r, body);
        }
        if v.expired {
            srv.clock.advance(-lifetime);
        }
        let now = snapshot(&http, &a, &snap_reqs).await;
        after_variant(&mut tally, v.name, Class::Unauthenticated, now);
    }

    let a_user_email = srv.user.email.clone();
    // 1b. The XML-RPC column: the same accounts and records through `/crm/xmlrpc/v1`, before
    // B creates anything (B's later records may take A's ids, which would compare unequal).
    let b_legacy = api_key_of(&srv, b_accounts[0].id, &b_user, false, KeyKind::Legacy).await;
    let a_legacy = api_key_of(&srv, srv.account.id, &srv.user, false, KeyKind::Legacy).await;
    let x = xmlrpc_column(
        &srv,
        &mut tally,
        &XKeys {
            a_legacy,
            a_revoked: a_revoked.clone(),
            b_legacy,
            b_pat: b_pat.clone(),
            b_token: b_token.clone(),
            garbage: garbage.clone(),
        },
        &a_id,
        &b_id,
        &a_user_email,
    )
    .await;
    let now = snapshot(&http, &a, &snap_reqs).await;
    after_variant(&mut tally, "XML-RPC column", Class::CrossWrite, now);

    // 2. Another account's credentials. First every request naming ids (B has records only
    // with its own ids while these run), then the rest (creates in B's account, lists).
    for naming_ids in [true, false] {
        for v in variants.iter().filter(|v| v.expect == Expect::LikeMissing) {
            for (op, ps) in &implemented {
                for p in ps {
                    let ks = kinds(op, p);
                    if ks.is_empty() == naming_ids {
                        continue;
                    }
                    if ks.is_empty() {
                        let req = build(op, p, &a_id);
                        let r = http.send(&req, &v.cred).await;
                        tally.requests += 1;
                        tally.server_error(v.name, &req, &r);
                        check_no_leak(&mut tally, v.name, &req, &r, &a_user_email);
                        continue;
                    }
                    // Vary every id at once, then (with several) one at a time, the others B's own.
                    let mut sets: Vec<BTreeSet<Kind>> = vec![ks.clone()];
                    if ks.len() > 1 {
                        sets.extend(ks.iter().map(|k| BTreeSet::from([*k])));
                    }
                    for varied in sets {
                        let theirs = build(op, p, &|k| {
                            if varied.contains(&k) {
                                a_id(k)
                            } else {
                                b_id(k)
                            }
                        });
                        let nowhere = build(op, p, &|k| {
                            if varied.contains(&k) {
                                k.ghost()
                            } else {
                                b_id(k)
                            }
                        });
                        let r_theirs = http.send(&theirs, &v.cred).await;
                        let r_nowhere = http.send(&nowhere, &v.cred).await;
                        tally.requests += 2;
                        tally.server_error(v.name, &theirs, &r_theirs);
                        tally.server_error(v.name, &nowhere, &r_nowhere);
                        check_no_leak(&mut tally, v.name, &theirs, &r_theirs, &a_user_email);
                        check_no_leak(&mut tally, v.name, &nowhere, &r_nowhere, &a_user_email);
                        // Normalise nothing but the ids of the request: the never-existing ones
                        // read as A's.
                        let mut normalised = r_nowhere.raw.clone();
                        for k in &varied {
                            normalised =
                                normalised.replace(&k.ghost().to_string(), &a_id(*k).to_string());
                        }
                        if (r_theirs.status, &r_theirs.raw) != (r_nowhere.status, &normalised) {
                            let class = if op.is_write() {
                                Class::CrossWrite
                            } else {
                                Class::CrossRead
                            };
                            tally.violation(
                                class,
                                v.name,
                                &theirs,
                                format!(
                                    "like {} → {} {normalised}",
                                    nowhere.describe(),
                                    r_nowhere.status
                                ),
                                r_theirs.short(),
                            );
                        }
                    }
                }
            }
            let now = snapshot(&http, &a, &snap_reqs).await;
            after_variant(&mut tally, v.name, Class::CrossWrite, now);
        }
    }

    // 3. A's read-only key on every write (it reads: its 403s are about writing).
    for v in variants.iter().filter(|v| v.expect == Expect::Forbidden) {
        let probe = Req {
            method: Method::GET,
            path: format!("/v1/contacts/{}", a_id(Kind::Contact)),
            query: String::new(),
            body: None,
        };
        let r = http.send(&probe, &v.cred).await;
        assert_eq!(
            r.status,
            200,
            "{}: {} → {}",
            v.name,
            probe.describe(),
            r.short()
        );
        for (op, ps) in implemented.iter().filter(|(op, _)| op.is_write()) {
            for p in ps {
                let req = build(op, p, &a_id);
                let r = http.send(&req, &v.cred).await;
                tally.requests += 1;
                tally.server_error(v.name, &req, &r);
                let body = r.json();
                let v2 = op.template.starts_with("/v2/");
                let ok = r.status == 403
                    && if v2 {
                        body["code"] == 403 && body["status"] == "PERMISSION_DENIED"
                    } else {
                        body.as_object().is_some_and(|o| o.len() == 1)
                    }
                    && body["message"].as_str().is_some_and(|m| !m.is_empty());
                if !ok {
                    let class = if r.status < 300 {
                        Class::ReadOnly
                    } else {
                        Class::Unauthenticated
                    };
                    let want = if v2 {
                        "403 {\"code\":403,\"status\":\"PERMISSION_DENIED\",…}"
                    } else {
                        "403 {\"message\":…}"
                    };
                    tally.violation(class, v.name, &req, want, r.short());
                }
            }
        }
        let now = snapshot(&http, &a, &snap_reqs).await;
        after_variant(&mut tally, v.name, Class::ReadOnly, now);
    }

    // Report.
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let list = |s: Support| -> Vec<String> {
        support
            .iter()
            .filter(|(_, x)| *x == s)
            .map(|(op, _)| op.name())
            .collect()
    };
    let untailored: Vec<String> = implemented
        .iter()
        .filter(|(op, ps)| op.is_write() && ps.iter().any(|p| !p.tailored))
        .map(|(op, _)| op.name())
        .collect();
    println!(
        "[{backend_name}] {} operations in the v1 and v2 specs",
        support.len()
    );
    println!(
        "[{backend_name}] implemented ({}): {}",
        implemented.len(),
        implemented
            .iter()
            .map(|(op, _)| op.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "[{backend_name}] deliberate 501 ({}): {}",
        list(Support::NotImplemented).len(),
        list(Support::NotImplemented).join(", ")
    );
    println!(
        "[{backend_name}] absent, 404/405 ({}): {}",
        list(Support::Absent).len(),
        list(Support::Absent).join(", ")
    );
    if !untailored.is_empty() {
        println!(
            "[{backend_name}] implemented writes probed with the fallback body {{}}: {}",
            untailored.join(", ")
        );
    }
    println!(
        "[{backend_name}] unimplemented operations: {} × {} unauthenticated variants = {} requests, all expected 401 before routing",
        unimplemented.len(),
        variants
            .iter()
            .filter(|v| matches!(v.expect, Expect::Unauthorized(_)))
            .count(),
        tally.unimplemented_requests
    );
    println!(
        "FIGURE [{backend_name}] tenant-isolation matrix: {} operations × {} credential variants = {} requests, \
         {} cross-account reads, {} cross-account writes, {} 5xx",
        implemented.len(),
        variants.len(),
        tally.requests,
        tally.count(Class::CrossRead),
        tally.count(Class::CrossWrite),
        tally.five_xx,
    );
    println!(
        "FIGURE [{backend_name}] tenant-isolation matrix, XML-RPC column: {} calls × {} credential variants = {} requests, \
         {} cross-account reads, {} cross-account writes, {} 5xx",
        x.calls,
        x.variants,
        x.requests,
        tally
            .violations
            .iter()
            .filter(|v| v.class == Class::CrossRead && v.request.starts_with("XML-RPC"))
            .count(),
        tally
            .violations
            .iter()
            .filter(|v| v.class == Class::CrossWrite
                && (v.request.starts_with("XML-RPC") || v.variant == "XML-RPC column"))
            .count(),
        x.five_xx,
    );
    println!(
        "[{backend_name}] {} violations in all, {:.1} s",
        tally.violations.len(),
        started.elapsed().as_secs_f64()
    );
    let mut report = String::new();
    let mut sorted: Vec<&Violation> = tally.violations.iter().collect();
    sorted.sort_by_key(|v| v.class);
    for v in &sorted {
        let _ = writeln!(
            report,
            "  [{:?}] {}\n      request:  {}\n      expected: {}\n      actual:   {}",
            v.class, v.variant, v.request, v.expected, v.actual
        );
    }
    assert!(
        tally.violations.is_empty(),
        "[{backend_name}] {} tenant-isolation violations:\n{report}",
        tally.violations.len()
    );
}
on_both_stores!(every_spec_operation_under_every_credential_keeps_accounts_apart);

// ---------------------------------------------------------------------------------------------
// The XML-RPC column
// ---------------------------------------------------------------------------------------------

use keapsake_server::xmlrpc::codec::{XValue, decode_response, encode_call};

/// The keys of the XML-RPC column.
struct XKeys {
    a_legacy: String,
    a_revoked: String,
    b_legacy: String,
    b_pat: String,
    b_token: String,
    garbage: String,
}

/// What the XML-RPC column counted.
struct XFigure {
    calls: usize,
    variants: usize,
    requests: usize,
    five_xx: usize,
}

/// How an XML-RPC credential is sent.
#[derive(Clone)]
enum XCred {
    /// As the first parameter (legacy key, PAT, or anything).
    Param(String),
    /// `Authorization: Bearer` (the first parameter is then ignored).
    Bearer(String),
    /// `?access_token=`.
    Query(String),
}

/// One XML-RPC call naming A's (or B's, or nobody's) ids.
struct XCall {
    method: &'static str,
    params: Vec<XValue>,
    write: bool,
}

fn xs(v: &str) -> XValue {
    XValue::Str(v.to_owned())
}
fn xfields(names: &[&str]) -> XValue {
    XValue::Array(names.iter().map(|n| xs(n)).collect())
}
fn xst(members: &[(&str, XValue)]) -> XValue {
    XValue::Struct(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// The `DataService` tables and the kind of id each takes (`ContactAction` encodes note `n`
/// as `2n` and task `t` as `2t + 1`).
const XTABLES: &[(&str, Kind, &str, &[&str])] = &[
    (
        "Contact",
        Kind::Contact,
        "LastName",
        &["Id", "FirstName", "LastName", "Email", "Company", "Groups"],
    ),
    (
        "Company",
        Kind::Company,
        "Website",
        &["Id", "Company", "ContactNotes"],
    ),
    (
        "ContactGroup",
        Kind::Tag,
        "GroupDescription",
        &["Id", "GroupName", "GroupDescription"],
    ),
    (
        "ContactGroupCategory",
        Kind::Category,
        "CategoryDescription",
        &["Id", "CategoryName", "CategoryDescription"],
    ),
    (
        "Lead",
        Kind::Opportunity,
        "NextActionNotes",
        &["Id", "OpportunityTitle", "OpportunityNotes", "ContactID"],
    ),
    (
        "ContactAction",
        Kind::Note,
        "CreationNotes",
        &["Id", "ActionDescription", "CreationNotes", "ContactId"],
    ),
    (
        "ContactAction",
        Kind::Task,
        "CreationNotes",
        &["Id", "ActionDescription", "CreationNotes", "ContactId"],
    ),
    (
        "Product",
        Kind::Product,
        "ShortDescription",
        &["Id", "ProductName", "Description"],
    ),
    (
        "Job",
        Kind::Order,
        "JobNotes",
        &["Id", "JobTitle", "ContactId"],
    ),
    (
        "Invoice",
        Kind::Order,
        "Description",
        &["Id", "Description", "ContactId", "InvoiceTotal"],
    ),
    (
        "OrderItem",
        Kind::OrderItem,
        "Notes",
        &["Id", "ItemName", "ItemDescription", "OrderId"],
    ),
    (
        "InvoiceItem",
        Kind::OrderItem,
        "Description",
        &["Id", "Description", "InvoiceId"],
    ),
    (
        "Payment",
        Kind::Transaction,
        "PayNote",
        &["Id", "PayNote", "PayAmt", "InvoiceId"],
    ),
];

/// Reads whose answer holds no text of the record (a count, an amount): detected by differing
/// from a missing id's answer, not by [`MARKER`].
const XNUMERIC: &[&str] = &[
    "ProductService.getInventory",
    "InvoiceService.calculateAmountOwed",
];

fn xid(kind: Kind, id: i64) -> i64 {
    match kind {
        Kind::Note => 2 * id,
        Kind::Task => 2 * id + 1,
        _ => id,
    }
}

/// The calls of the column for an id mapping: each returns the kinds of ids it names.
fn xcalls(id: &dyn Fn(Kind) -> i64) -> Vec<(XCall, Vec<Kind>)> {
    let c = id(Kind::Contact);
    let mut out = vec![
        (
            XCall {
                method: "ContactService.load",
                params: vec![
                    XValue::Int(c),
                    xfields(&["Id", "FirstName", "LastName", "Email", "Groups"]),
                ],
                write: false,
            },
            vec![Kind::Contact],
        ),
        (
            XCall {
                method: "ContactService.update",
                params: vec![XValue::Int(c), xst(&[("LastName", xs("Overwritten"))])],
                write: true,
            },
            vec![Kind::Contact],
        ),
        (
            XCall {
                method: "ContactService.addToGroup",
                params: vec![XValue::Int(c), XValue::Int(id(Kind::Tag))],
                write: true,
            },
            vec![Kind::Contact, Kind::Tag],
        ),
        (
            XCall {
                method: "ContactService.removeFromGroup",
                params: vec![XValue::Int(c), XValue::Int(id(Kind::Tag))],
                write: true,
            },
            vec![Kind::Contact, Kind::Tag],
        ),
    ];
    for (table, kind, writable, fields) in XTABLES {
        let rid = xid(*kind, id(*kind));
        out.push((
            XCall {
                method: "DataService.load",
                params: vec![xs(table), XValue::Int(rid), xfields(fields)],
                write: false,
            },
            vec![*kind],
        ));
        out.push((
            XCall {
                method: "DataService.query",
                params: vec![
                    xs(table),
                    XValue::Int(1000),
                    XValue::Int(0),
                    xst(&[("Id", XValue::Int(rid))]),
                    xfields(fields),
                ],
                write: false,
            },
            vec![*kind],
        ));
        out.push((
            XCall {
                method: "DataService.update",
                params: vec![
                    xs(table),
                    XValue::Int(rid),
                    xst(&[(writable, xs("Overwritten"))]),
                ],
                write: true,
            },
            vec![*kind],
        ));
        out.push((
            XCall {
                method: "DataService.delete",
                params: vec![xs(table), XValue::Int(rid)],
                write: true,
            },
            vec![*kind],
        ));
    }
    // No ids: lists of every table (B's own rows only).
    for (table, _, _, fields) in XTABLES.iter().filter(|t| t.1 != Kind::Task) {
        out.push((
            XCall {
                method: "DataService.query",
                params: vec![
                    xs(table),
                    XValue::Int(1000),
                    XValue::Int(0),
                    xst(&[("Id", xs("%"))]),
                    xfields(fields),
                ],
                write: false,
            },
            vec![],
        ));
    }
    // Commerce services (`keap/xmlrpc.md` §4.4–§4.6) on A's order, product and contact.
    let (o, p) = (id(Kind::Order), id(Kind::Product));
    let when = XValue::Str("2026-03-01 09:00:00".to_owned());
    let commerce: Vec<(&'static str, Vec<XValue>, bool, Vec<Kind>)> = vec![
        (
            "InvoiceService.calculateAmountOwed",
            vec![XValue::Int(o)],
            false,
            vec![Kind::Order],
        ),
        (
            "InvoiceService.getPayments",
            vec![XValue::Int(o)],
            false,
            vec![Kind::Order],
        ),
        (
            "InvoiceService.addOrderItem",
            vec![
                XValue::Int(o),
                XValue::Int(p),
                XValue::Int(4),
                XValue::Double(1.0),
                XValue::Int(1),
                xs("intruder"),
                xs(""),
            ],
            true,
            vec![Kind::Order, Kind::Product],
        ),
        (
            "InvoiceService.addManualPayment",
            vec![
                XValue::Int(o),
                XValue::Double(0.01),
                when.clone(),
                xs("Cash"),
                xs("intruder"),
                XValue::Bool(false),
            ],
            true,
            vec![Kind::Order],
        ),
        (
            "InvoiceService.chargeInvoice",
            vec![
                XValue::Int(o),
                xs("intruder"),
                XValue::Int(0),
                XValue::Int(0),
                XValue::Bool(false),
            ],
            true,
            vec![Kind::Order],
        ),
        (
            "InvoiceService.recalculateTax",
            vec![XValue::Int(o)],
            true,
            vec![Kind::Order],
        ),
        (
            "InvoiceService.deleteInvoice",
            vec![XValue::Int(o)],
            true,
            vec![Kind::Order],
        ),
        (
            "InvoiceService.createBlankOrder",
            vec![
                XValue::Int(c),
                xs("intruder"),
                when,
                XValue::Int(0),
                XValue::Int(0),
            ],
            true,
            vec![Kind::Contact],
        ),
        (
            "OrderService.placeOrder",
            vec![
                XValue::Int(c),
                XValue::Int(0),
                XValue::Int(0),
                XValue::Array(vec![XValue::Int(p)]),
                XValue::Array(vec![]),
                XValue::Bool(false),
                XValue::Array(vec![]),
            ],
            true,
            vec![Kind::Contact, Kind::Product],
        ),
        (
            "ProductService.getInventory",
            vec![XValue::Int(p)],
            false,
            vec![Kind::Product],
        ),
        (
            "ProductService.increaseInventory",
            vec![XValue::Int(p), XValue::Int(3)],
            true,
            vec![Kind::Product],
        ),
        (
            "ProductService.decrementInventory",
            vec![XValue::Int(p)],
            true,
            vec![Kind::Product],
        ),
    ];
    for (method, params, write, kinds) in commerce {
        out.push((
            XCall {
                method,
                params,
                write,
            },
            kinds,
        ));
    }
    out.push((
        XCall {
            method: "ContactService.findByEmail",
            params: vec![xs(A_EMAIL), xfields(&["Id", "FirstName"])],
            write: false,
        },
        vec![],
    ));
    out
}

/// Sends a call; status and raw body.
async fn xsend(client: &reqwest::Client, url: &str, cred: &XCred, call: &XCall) -> (u16, String) {
    let mut params = Vec::with_capacity(call.params.len() + 1);
    let mut url = url.to_owned();
    let mut rb_headers: Vec<(&str, String)> = Vec::new();
    match cred {
        XCred::Param(k) => params.push(xs(k)),
        XCred::Bearer(t) => {
            params.push(xs("ignored"));
            rb_headers.push(("authorization", format!("Bearer {t}")));
        }
        XCred::Query(t) => {
            params.push(xs("ignored"));
            url = format!("{url}?access_token={}", pct(t));
        }
    }
    params.extend(call.params.iter().cloned());
    let mut rb = client
        .post(&url)
        .header("content-type", "text/xml")
        .body(encode_call(call.method, &params));
    for (k, v) in rb_headers {
        rb = rb.header(k, v);
    }
    let r = rb
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", call.method));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

fn xdescribe(call: &XCall) -> String {
    let ids: Vec<String> = call
        .params
        .iter()
        .filter_map(|p| match p {
            XValue::Int(i) => Some(i.to_string()),
            XValue::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    format!("XML-RPC {}({})", call.method, ids.join(", "))
}

/// Every call with other-account and unauthenticated XML-RPC credentials.
async fn xmlrpc_column(
    srv: &TestServer,
    tally: &mut Tally,
    keys: &XKeys,
    a_id: &dyn Fn(Kind) -> i64,
    b_id: &dyn Fn(Kind) -> i64,
    a_user_email: &str,
) -> XFigure {
    let client = reqwest::Client::new();
    let url = srv.at("crm/xmlrpc/v1");
    let mut fig = XFigure {
        calls: xcalls(a_id).len(),
        variants: 0,
        requests: 0,
        five_xx: 0,
    };
    let dummy = Req {
        method: Method::POST,
        path: "/crm/xmlrpc/v1".to_owned(),
        query: String::new(),
        body: None,
    };
    let record = |tally: &mut Tally,
                  fig: &mut XFigure,
                  variant: &str,
                  what: &str,
                  status: u16,
                  raw: &str| {
        fig.requests += 1;
        if status >= 500 {
            fig.five_xx += 1;
            tally.violation(
                Class::ServerError,
                variant,
                &dummy,
                "no 5xx",
                format!("{what} → {status} {raw}"),
            );
        }
    };

    // Detection: A's own legacy key reads A's records differently from ids that exist nowhere
    // (else comparing B's answers would prove nothing).
    let a_cred = XCred::Param(keys.a_legacy.clone());
    for ((mine, ks), (nowhere, _)) in xcalls(a_id).into_iter().zip(xcalls(&Kind::ghost)) {
        if mine.write || ks.is_empty() {
            continue;
        }
        let (s1, r1) = xsend(&client, &url, &a_cred, &mine).await;
        let (s2, r2) = xsend(&client, &url, &a_cred, &nowhere).await;
        assert_eq!((s1, s2), (200, 200), "{}", xdescribe(&mine));
        assert!(
            r1.contains(MARKER) || XNUMERIC.contains(&mine.method),
            "{}: A's own key reads A's record: {r1}",
            xdescribe(&mine)
        );
        assert_ne!(
            r1,
            r2,
            "{}: A's ids read like missing ones",
            xdescribe(&mine)
        );
    }

    // Other-account credentials: like ids that exist nowhere, and never A's data.
    let others = [
        (
            "XML-RPC B's legacy key (first param)",
            XCred::Param(keys.b_legacy.clone()),
        ),
        (
            "XML-RPC B's PAT (first param)",
            XCred::Param(keys.b_pat.clone()),
        ),
        (
            "XML-RPC B's OAuth token (Bearer)",
            XCred::Bearer(keys.b_token.clone()),
        ),
        (
            "XML-RPC B's OAuth token (?access_token=)",
            XCred::Query(keys.b_token.clone()),
        ),
    ];
    for (name, cred) in &others {
        fig.variants += 1;
        let template = xcalls(a_id);
        for (i, (_, ks)) in template.iter().enumerate() {
            let mut sets: Vec<Vec<Kind>> = vec![ks.clone()];
            if ks.len() > 1 {
                sets.extend(ks.iter().map(|k| vec![*k]));
            }
            for varied in sets {
                let theirs = xcalls(&|k| {
                    if varied.contains(&k) {
                        a_id(k)
                    } else {
                        b_id(k)
                    }
                })
                .swap_remove(i)
                .0;
                let nowhere = xcalls(&|k| {
                    if varied.contains(&k) {
                        k.ghost()
                    } else {
                        b_id(k)
                    }
                })
                .swap_remove(i)
                .0;
                let (s1, r1) = xsend(&client, &url, cred, &theirs).await;
                let (s2, r2) = xsend(&client, &url, cred, &nowhere).await;
                record(tally, &mut fig, name, &xdescribe(&theirs), s1, &r1);
                record(tally, &mut fig, name, &xdescribe(&nowhere), s2, &r2);
                for secret in [MARKER, a_user_email] {
                    if r1.contains(secret) || r2.contains(secret) {
                        tally.violation(
                            Class::CrossRead,
                            name,
                            &dummy,
                            format!("{}: nothing of account A", xdescribe(&theirs)),
                            r1.clone(),
                        );
                    }
                }
                if r1.contains("InvalidKey") || s1 == 401 {
                    tally.violation(
                        Class::Detection,
                        name,
                        &dummy,
                        format!("{}: B's valid credential is accepted", xdescribe(&theirs)),
                        r1.clone(),
                    );
                }
                let mut normalised = r2.clone();
                for k in &varied {
                    normalised = normalised.replace(
                        &xid(*k, k.ghost()).to_string(),
                        &xid(*k, a_id(*k)).to_string(),
                    );
                }
                if (s1, &r1) != (s2, &normalised) {
                    let class = if theirs.write {
                        Class::CrossWrite
                    } else {
                        Class::CrossRead
                    };
                    tally.violations.push(Violation {
                        class,
                        variant: (*name).to_owned(),
                        request: xdescribe(&theirs),
                        expected: format!("like {} → {s2} {normalised}", xdescribe(&nowhere)),
                        actual: format!("{s1} {r1}"),
                    });
                }
            }
        }
    }

    // Credentials that must not authenticate: a fault [InvalidKey] (key parameter) or the REST
    // 401 (header/query credential), on every call with A's ids.
    let refused = [
        (
            "XML-RPC revoked (A's token, Bearer)",
            XCred::Bearer(keys.a_revoked.clone()),
            true,
        ),
        (
            "XML-RPC revoked (A's token, first param)",
            XCred::Param(keys.a_revoked.clone()),
            false,
        ),
        (
            "XML-RPC garbage key (first param)",
            XCred::Param(keys.garbage.clone()),
            false,
        ),
        (
            "XML-RPC none (empty key)",
            XCred::Param(String::new()),
            false,
        ),
    ];
    for (name, cred, http401) in &refused {
        fig.variants += 1;
        for (call, _) in xcalls(a_id) {
            let (status, raw) = xsend(&client, &url, cred, &call).await;
            record(tally, &mut fig, name, &xdescribe(&call), status, &raw);
            let ok = if *http401 {
                status == 401 && raw == BODY_INVALID
            } else {
                status == 200
                    && matches!(decode_response(raw.as_bytes()), Ok(Err((_, ref m))) if m.starts_with("[InvalidKey]"))
            };
            if !ok {
                tally.violations.push(Violation {
                    class: Class::Unauthenticated,
                    variant: (*name).to_owned(),
                    request: xdescribe(&call),
                    expected: if *http401 {
                        format!("401 {BODY_INVALID}")
                    } else {
                        "fault [InvalidKey]".to_owned()
                    },
                    actual: format!("{status} {raw}"),
                });
            }
        }
    }
    fig
}
