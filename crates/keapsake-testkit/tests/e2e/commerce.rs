//! REST v1 products, orders, payments and transactions end to end (`keap/rest-v1.md` §7–§8):
//! the real server over TCP with OAuth tokens, on SQLite and PostgreSQL. A product and an order
//! of three items paid in two payments until `PAID`; the delete rules; product sync tokens
//! with tombstones; concurrent payments that together exceed the total (never overpaid);
//! cards on file charged through the test gateway; another account's ids answering like
//! missing ones.

use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};

#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

#[derive(Debug)]
struct Res {
    status: u16,
    body: Value,
}

impl Api {
    async fn new(srv: &TestServer) -> Api {
        let code = srv.authorize(&srv.app, &srv.user).await;
        Self::with_code(srv, &code).await
    }

    async fn other_account(srv: &TestServer) -> Api {
        let email = format!("shop-{}@example.com", keapsake_testkit::unique_suffix());
        let (user, _) = srv.add_user_with_accounts(&email, 1).await;
        let code = srv.authorize(&srv.app, &user).await;
        Self::with_code(srv, &code).await
    }

    async fn with_code(srv: &TestServer, code: &str) -> Api {
        let (s, tok) = srv.exchange(&srv.app, code).await;
        assert_eq!(s, 200, "{tok}");
        Api {
            base: srv.at("crm/rest/v1/"),
            token: tok["access_token"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Res {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json");
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let raw = r.text().await.unwrap();
        assert!(status < 500, "{path}: a 5xx: {raw}");
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {raw}"))
        };
        Res { status, body }
    }

    async fn get(&self, path: &str) -> Res {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: &Value) -> Res {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: &Value) -> Res {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> Res {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn created(&self, path: &str, body: &Value) -> i64 {
        let r = self.post(path, body).await;
        assert_eq!(r.status, 201, "{path}: {r:?}");
        r.body["id"].as_i64().unwrap()
    }

    async fn contact(&self, email: &str) -> i64 {
        self.created(
            "contacts",
            &json!({"given_name": "Grace", "family_name": "Hopper",
                    "email_addresses": [{"email": email, "field": "EMAIL1"}]}),
        )
        .await
    }
}

fn msg(r: &Res) -> &str {
    r.body["message"].as_str().unwrap_or("")
}

async fn order_to_paid(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let contact = api.contact("grace@example.com").await;
    let widget = api
        .created(
            "products",
            &json!({"product_name": "Widget", "product_price": "19.99", "sku": "W"}),
        )
        .await;
    let gizmo = api
        .created(
            "products",
            &json!({"product_name": "Gizmo", "product_price": 0.1}),
        )
        .await;
    let order = api
        .post(
            "orders",
            &json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00.000Z",
                    "order_title": "Three things", "order_type": "Online",
                    "order_items": [
                        {"product_id": widget, "quantity": 2},
                        {"product_id": gizmo, "quantity": 3, "price": "33.335"},
                        {"product_id": gizmo, "quantity": 1, "price": "0.2", "item_type": "SHIPPING"}]}),
        )
        .await;
    assert_eq!(order.status, 201, "{order:?}");
    // 39.98 + 100.005 + 0.2 = 140.185 → 140.19 (half-up, exact).
    assert_eq!(order.body["total"], 140.19);
    assert_eq!(order.body["status"], "DRAFT");
    assert_eq!(order.body["order_items"].as_array().unwrap().len(), 3);
    let id = order.body["id"].as_i64().unwrap();
    let pay = format!("orders/{id}/payments");
    let r = api
        .post(
            &pay,
            &json!({"payment_amount": "100.00", "payment_method_type": "CHECK"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = api.post(&pay, &json!({"payment_amount": "40.20"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        msg(&r),
        "payment_amount 40.2 is more than the 40.19 due on this order"
    );
    let r = api
        .post(&pay, &json!({"payment_amount": "40.19", "payment_method_type": "CREDIT_CARD", "charge_now": true}))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let got = api.get(&format!("orders/{id}")).await.body;
    assert_eq!(
        (
            &got["status"],
            &got["total_paid"],
            &got["total_due"],
            &got["contact_id"]
        ),
        (
            &json!("PAID"),
            &json!(140.19),
            &json!(0.0),
            &json!(contact.to_string())
        )
    );
    assert_eq!(got["contact"]["first_name"], "Grace");
    assert_eq!(api.get(&pay).await.body.as_array().unwrap().len(), 2);
    let tx = api.get("transactions").await.body;
    assert_eq!(tx["count"], 2);
    let tx_id = tx["transactions"][1]["id"].as_i64().unwrap();
    assert_eq!(
        api.get(&format!("transactions/{tx_id}")).await.body["amount"],
        40.19
    );
    assert_eq!(api.get("orders?paid=true").await.body["count"], 1);
    assert_eq!(
        api.get(&format!("orders?product_id={gizmo}")).await.body["count"],
        1
    );

    // Delete rules: an order with payments stays; one without goes; products go with their
    // plans, and the orders keep what they bought.
    let r = api.delete(&format!("orders/{id}")).await;
    assert_eq!(
        (r.status, msg(&r)),
        (
            400,
            "An order with payments cannot be deleted (this one has 2)"
        )
    );
    let unpaid = api
        .created(
            "orders",
            &json!({"contact_id": contact, "order_date": "2024-05-22T00:00:00Z", "order_title": "x",
                    "order_type": "Offline", "order_items": [{"product_id": widget, "quantity": 1}]}),
        )
        .await;
    assert_eq!(api.delete(&format!("orders/{unpaid}")).await.status, 204);
    assert_eq!(api.get(&format!("orders/{unpaid}")).await.status, 404);
    let plan = api
        .created(
            &format!("products/{widget}/subscriptions"),
            &json!({"cycle_type": "YEAR", "plan_price": 99}),
        )
        .await;
    assert_eq!(api.delete(&format!("products/{widget}")).await.status, 204);
    let r = api
        .get(&format!("products/{widget}/subscriptions/{plan}"))
        .await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Product"));
    assert_eq!(
        api.get(&format!("orders/{id}")).await.body["order_items"][0]["name"],
        "Widget"
    );

    // Another account sees none of it and changes none of it.
    let other = Api::other_account(&srv).await;
    for path in [
        format!("orders/{id}"),
        format!("products/{gizmo}"),
        format!("transactions/{tx_id}"),
        pay.clone(),
    ] {
        let r = other.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
    }
    assert_eq!(other.get("orders").await.body["count"], 0);
    assert_eq!(other.get("transactions").await.body["count"], 0);
    let r = other.post(&pay, &json!({"payment_amount": "1"})).await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Order"));
    let oc = other.contact("mine@example.com").await;
    let r = other
        .post(
            "orders",
            &json!({"contact_id": oc, "order_date": "2024-05-22T00:00:00Z", "order_title": "x",
                    "order_type": "Online", "order_items": [{"product_id": gizmo, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        (r.status, msg(&r)),
        (400, format!("Product {gizmo} does not exist").as_str())
    );
    srv.stop().await;
}
on_both_stores!(order_to_paid);

async fn product_sync_tokens(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let a = api.created("products", &json!({"product_name": "A"})).await;
    let b = api.created("products", &json!({"product_name": "B"})).await;
    srv.clock.advance(time::Duration::milliseconds(5));
    let first = api.get("products/sync").await.body;
    assert_eq!(first["count"], 2);
    let token = first["sync_token"].as_str().unwrap().to_owned();
    // Tokens have millisecond resolution and repeat changes made in their own millisecond.
    srv.clock.advance(time::Duration::milliseconds(5));
    assert_eq!(
        api.get(&format!("products/sync?sync_token={token}"))
            .await
            .body["count"],
        0
    );
    assert_eq!(
        api.patch(&format!("products/{a}"), &json!({"active": false}))
            .await
            .status,
        200
    );
    assert_eq!(api.delete(&format!("products/{b}")).await.status, 204);
    let c = api.created("products", &json!({"product_name": "C"})).await;
    srv.clock.advance(time::Duration::milliseconds(5));
    let next = api
        .get(&format!("products/sync?sync_token={token}"))
        .await
        .body;
    let got: Vec<(i64, &str)> = next["product_statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["product"]["id"].as_i64().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![(a, "UPDATED"), (b, "DELETED"), (c, "CREATED")]);
    assert_eq!(next["product_statuses"][0]["product"]["status"], 0);
    // Paging through a sync keeps the filter.
    let page = api
        .get(&format!(
            "products/sync?sync_token={token}&limit=1&offset=1"
        ))
        .await
        .body;
    assert_eq!(page["count"], 3);
    assert_eq!(page["product_statuses"][0]["status"], "DELETED");
    assert!(
        page["next"]
            .as_str()
            .unwrap()
            .ends_with(&format!("limit=1&offset=2&sync_token={token}"))
    );
    srv.stop().await;
}
on_both_stores!(product_sync_tokens);

async fn parallel_payments_never_overpay(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let contact = api.contact("race@example.com").await;
    let p = api
        .created(
            "products",
            &json!({"product_name": "P", "product_price": "10.00"}),
        )
        .await;
    let id = api
        .created(
            "orders",
            &json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "race",
                    "order_type": "Online", "order_items": [{"product_id": p, "quantity": 10}]}),
        )
        .await;
    // 20 parallel payments of 6.50 (130.00) against a total of 100.00: 15 fit (97.50).
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.post(
                &format!("orders/{id}/payments"),
                &json!({"payment_amount": "6.50"}),
            )
            .await
            .status
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            400 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(created, 15);
    let o = api.get(&format!("orders/{id}")).await.body;
    assert_eq!(
        (&o["total_paid"], &o["total_due"], &o["status"]),
        (&json!(97.5), &json!(2.5), &json!("DRAFT"))
    );
    let payments = api.get(&format!("orders/{id}/payments")).await.body;
    let ids: std::collections::BTreeSet<i64> = payments
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 15, "payment ids are unique");
    srv.stop().await;
}
on_both_stores!(parallel_payments_never_overpay);

async fn subscriptions_to_plans(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let contact = api.contact("sub@example.com").await;
    let p = api
        .created(
            "products",
            &json!({"product_name": "Box", "product_price": "10"}),
        )
        .await;
    let plan = api
        .created(
            &format!("products/{p}/subscriptions"),
            &json!({"cycle_type": "WEEK", "plan_price": "2.50", "frequency": 2}),
        )
        .await;
    let sub = api
        .post(
            "subscriptions",
            &json!({"contact_id": contact, "subscription_plan_id": plan, "quantity": 2, "first_bill_date": "2030-01-01"}),
        )
        .await;
    assert_eq!(sub.status, 201, "{sub:?}");
    assert_eq!(
        (
            &sub.body["billing_amount"],
            &sub.body["billing_cycle"],
            &sub.body["billing_frequency"],
            &sub.body["product_id"]
        ),
        (&json!(5.0), &json!("WEEK"), &json!(2), &json!(p))
    );
    let page = api
        .get(&format!("subscriptions?contact_id={contact}"))
        .await
        .body;
    assert_eq!(page["subscriptions"][0]["id"], sub.body["id"]);
    let r = api
        .post(
            "subscriptions",
            &json!({"contact_id": contact, "subscription_plan_id": plan}),
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    // Another account neither sees it nor can subscribe its contacts to this account's plan.
    let other = Api::other_account(&srv).await;
    assert_eq!(other.get("subscriptions").await.body["count"], 0);
    let oc = other.contact("o@example.com").await;
    let r = other
        .post(
            "subscriptions",
            &json!({"contact_id": oc, "subscription_plan_id": plan}),
        )
        .await;
    assert_eq!(
        (r.status, msg(&r)),
        (
            400,
            format!("Subscription plan {plan} does not exist").as_str()
        )
    );
    srv.stop().await;
}
on_both_stores!(subscriptions_to_plans);

/// Cards on file (`/contacts/{id}/creditCards`) charged by `POST /orders/{id}/payments`: the
/// number is kept as its last four digits, a decline number fails the payment and records
/// nothing, an approved card pays, another account's contact is a 404.
async fn cards_on_file_pay_through_the_test_gateway(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let other = Api::other_account(&srv).await;
    let contact = api
        .created(
            "contacts",
            &json!({"given_name": "Grace", "email_addresses": [{"email": "grace@example.com", "field": "EMAIL1"}]}),
        )
        .await;
    let product = api
        .created(
            "products",
            &json!({"product_name": "Gear", "product_price": "12.50"}),
        )
        .await;
    let order = api
        .created(
            "orders",
            &json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "Gear",
                    "order_type": "Online", "order_items": [{"product_id": product, "quantity": 2}]}),
        )
        .await;
    let cards = format!("contacts/{contact}/creditCards");
    let card = |number: &str| {
        json!({"card_number": number, "expiration_month": "12", "expiration_year": "2099",
               "verification_code": "737", "name_on_card": "Grace Hopper"})
    };
    let approved = api.created(&cards, &card("4111111111111111")).await;
    let declined = api.created(&cards, &card("4000000000009995")).await;
    let r = api.get(&cards).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        json!([
            {"id": approved, "card_type": "Visa", "card_number": "************1111",
             "payment_method_id": approved.to_string(), "validation_status": "Valid"},
            {"id": declined, "card_type": "Visa", "card_number": "************9995",
             "payment_method_id": declined.to_string(), "validation_status": "Valid"},
        ])
    );
    let pay = format!("orders/{order}/payments");
    let charge = |card: i64| {
        json!({"payment_amount": "25.00", "payment_method_type": "CREDIT_CARD",
               "charge_now": true, "credit_card_id": card})
    };
    let r = api.post(&pay, &charge(declined)).await;
    assert_eq!(
        (r.status, r.body),
        (400, json!({"message": "The card has insufficient funds"}))
    );
    assert_eq!(api.get(&pay).await.body, json!([]));
    let r = api.post(&pay, &charge(approved)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["payment_status"], "APPROVED");
    let got = api.get(&format!("orders/{order}")).await.body;
    assert_eq!(
        (&got["status"], &got["total_paid"]),
        (&json!("PAID"), &json!(25.0))
    );
    // Another account sees no such contact and adds nothing to it.
    for r in [
        other.get(&cards).await,
        other.post(&cards, &card("4111111111111111")).await,
    ] {
        assert_eq!(
            (r.status, r.body),
            (404, json!({"message": "Unable to find this Contact"}))
        );
    }
    assert_eq!(api.get(&cards).await.body.as_array().unwrap().len(), 2);
}
on_both_stores!(cards_on_file_pay_through_the_test_gateway);
