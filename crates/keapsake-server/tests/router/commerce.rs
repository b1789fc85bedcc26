//! Products, orders, payments and transactions (`keap/rest-v1.md` §7–§8): every endpoint's
//! success shape and its error bodies, exactly.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use keapsake_core::Clock;
use keapsake_core::store::KeyKind;
use serde_json::{Value, json};
use sha2::Digest as _;

struct Api {
    h: Harness,
    key: String,
}

impl Api {
    async fn new() -> Api {
        let h = Harness::new().await;
        let (key, _) = h.api_key(KeyKind::Pat, false, None).await;
        Api { h, key }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(format!("/crm/rest/v1/{path}"))
            .header("x-keap-api-key", &self.key)
            .header("content-type", "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.h.send(req.body(body).expect("request")).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    fn now(&self) -> String {
        keapsake_core::crm::date::format_datetime(self.h.clock.now())
    }

    fn base(&self) -> String {
        format!("{}crm/rest/v1/", self.h.state.base_url())
    }

    async fn contact(&self) -> i64 {
        let r = self
            .post(
                "contacts",
                json!({"given_name": "Ada", "family_name": "Lovelace", "job_title": "Engineer",
                       "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]}),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        r.json()["id"].as_i64().expect("id")
    }

    async fn product(&self, name: &str, price: Value) -> i64 {
        let r = self
            .post(
                "products",
                json!({"product_name": name, "product_price": price}),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        r.json()["id"].as_i64().expect("id")
    }
}

#[track_caller]
fn assert_error(r: &Resp, status: StatusCode, message: &str) {
    r.assert_status(status);
    assert_eq!(r.json(), json!({"message": message}));
}

#[tokio::test]
async fn products_have_a_single_and_a_list_shape() {
    let api = Api::new().await;
    let r = api
        .post(
            "products",
            json!({"product_name": " Widget ", "product_price": "19.99", "product_desc": "Long",
                   "product_short_desc": "Short", "sku": "W-1", "subscription_only": false,
                   "id": 999, "status": 0, "url": "ignored"}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let single = json!({"id": 1, "product_name": "Widget", "product_price": 19.99,
        "product_desc": "Long", "product_short_desc": "Short", "sku": "W-1", "active": true,
        "subscription_only": false, "url": null, "subscription_plans": []});
    assert_eq!(r.json(), single);
    let r = api.get("products/1").await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json(), single);
    let listed = json!({"id": 1, "product_name": "Widget", "product_price": 19.99,
        "product_desc": "Long", "product_short_desc": "Short", "sku": "W-1", "status": 1,
        "subscription_only": false, "url": null, "product_options": [], "subscription_plans": []});
    let r = api.get("products?limit=5").await;
    r.assert_status(StatusCode::OK);
    let base = api.base();
    assert_eq!(
        r.json(),
        json!({"products": [listed], "count": 1,
               "next": format!("{base}products/?limit=5&offset=5"),
               "previous": format!("{base}products/?limit=5&offset=0")})
    );
    // The PHP SDK's alias.
    let r = api.get("products/search").await;
    assert_eq!(r.json()["products"], json!([listed]));
    assert_eq!(
        r.json()["next"],
        format!("{base}products/search/?limit=1000&offset=1000")
    );
    // PATCH changes only what is sent; `active` filters lists.
    let r = api
        .patch("products/1", json!({"active": false, "product_price": 5}))
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json()["active"], false);
    assert_eq!(r.json()["product_price"], 5.0);
    assert_eq!(r.json()["sku"], "W-1");
    api.product("Gadget", json!(1.5)).await;
    let r = api.get("products?active=true").await;
    assert_eq!(r.json()["count"], 1);
    assert_eq!(r.json()["products"][0]["product_name"], "Gadget");
    let r = api.get("products?active=FALSE").await;
    assert_eq!(r.json()["products"][0]["status"], 0);
}

#[tokio::test]
async fn product_errors_have_keaps_shape() {
    let api = Api::new().await;
    assert_error(
        &api.post("products", json!({"product_price": 1})).await,
        StatusCode::BAD_REQUEST,
        "product_name is required",
    );
    assert_error(
        &api.post(
            "products",
            json!({"product_name": "x", "product_price": "abc"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "product_price must be a decimal number, e.g. \"19.99\"",
    );
    assert_error(
        &api.post(
            "products",
            json!({"product_name": "x", "product_price": -1}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "product_price must not be negative",
    );
    assert_error(
        &api.post("products", json!(["x"])).await,
        StatusCode::BAD_REQUEST,
        "Input could not be converted to a valid request",
    );
    for path in ["products/7", "products/7/subscriptions/70001"] {
        assert_error(
            &api.get(path).await,
            StatusCode::NOT_FOUND,
            "Unable to find this Product",
        );
    }
    assert_error(
        &api.patch("products/7", json!({"sku": "x"})).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Product",
    );
    assert_error(
        &api.delete("products/7").await,
        StatusCode::NOT_FOUND,
        "Unable to find this Product",
    );
    assert_error(
        &api.get("products?active=maybe").await,
        StatusCode::BAD_REQUEST,
        "active must be true or false",
    );
    assert_error(
        &api.get("products/sync?sync_token=nonsense").await,
        StatusCode::BAD_REQUEST,
        "Invalid sync_token",
    );
    // A read-only key cannot write.
    let (ro, _) = api.h.api_key(KeyKind::Pat, true, None).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/crm/rest/v1/products")
        .header("x-keap-api-key", ro)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"product_name":"x"}"#))
        .expect("request");
    assert_error(
        &api.h.send(req).await,
        StatusCode::FORBIDDEN,
        "This credential is read-only",
    );
}

#[tokio::test]
async fn subscription_plans_live_in_their_product() {
    let api = Api::new().await;
    let p = api.product("Box", json!("10")).await;
    let r = api
        .post(
            &format!("products/{p}/subscriptions"),
            json!({"cycle_type": "MONTH", "plan_price": "9.99", "frequency": 1, "number_of_cycles": 12}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let plan = json!({"id": 10_001, "active": true, "cycle_type": "MONTH", "frequency": 1,
        "number_of_cycles": 12, "plan_price": 9.99, "subscription_plan_index": 0,
        "subscription_plan_name": "Box (every month)", "url": null});
    assert_eq!(r.json(), plan);
    let r = api.get(&format!("products/{p}/subscriptions/10001")).await;
    assert_eq!(r.json(), plan);
    assert_eq!(
        api.get(&format!("products/{p}")).await.json()["subscription_plans"],
        json!([plan])
    );
    let listed = &api.get("products").await.json()["products"][0]["subscription_plans"][0];
    assert_eq!(listed["cycle"], 2);
    assert!(listed.get("cycle_type").is_none());
    assert_error(
        &api.post(
            &format!("products/{p}/subscriptions"),
            json!({"plan_price": 1}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "cycle_type is required",
    );
    api.delete(&format!("products/{p}/subscriptions/10001"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_error(
        &api.get(&format!("products/{p}/subscriptions/10001")).await,
        StatusCode::NOT_FOUND,
        "Unable to find this ProductSubscription",
    );
    assert_error(
        &api.delete(&format!("products/{p}/subscriptions/10001"))
            .await,
        StatusCode::NOT_FOUND,
        "Unable to find this ProductSubscription",
    );
}

#[tokio::test]
async fn product_images_are_validated_and_stored() {
    let api = Api::new().await;
    let p = api.product("Pic", json!(1)).await;
    let bytes = b"\x89PNG\r\n\x1a\n0000";
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    let sum: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = format!("products/{p}/image");
    let r = api
        .post(
            &path,
            json!({"file_name": "a.png", "file_data": data, "checksum": sum}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert!(r.body.is_empty());
    let stored = api
        .h
        .store
        .get_record(
            api.h.account.id,
            keapsake_core::records::RecordKind::Product,
            p,
        )
        .await
        .expect("stored");
    assert_eq!(stored.data["image"]["file_name"], "a.png");
    assert_eq!(stored.data["image"]["sha256"], sum);
    for (body, msg) in [
        (
            json!({"file_name": "a.bmp", "file_data": data}),
            "file_name must end in .png, .gif, .jpg or .jpeg",
        ),
        (
            json!({"file_name": "a.png", "file_data": data, "checksum": "ab"}),
            "checksum does not match the SHA-256 of file_data",
        ),
        (
            json!({"file_name": "a.png", "file_data": "%%%"}),
            "file_data must be base64",
        ),
        (
            json!({"file_name": "a.gif", "file_data": data}),
            "file_data is not a GIF image, as file_name says",
        ),
        (json!({"file_name": "a.png"}), "file_data is required"),
    ] {
        assert_error(&api.post(&path, body).await, StatusCode::BAD_REQUEST, msg);
    }
    assert_error(
        &api.post(
            "products/99/image",
            json!({"file_name": "a.png", "file_data": data}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "Unable to find this Product",
    );
    api.delete(&path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let stored = api
        .h
        .store
        .get_record(
            api.h.account.id,
            keapsake_core::records::RecordKind::Product,
            p,
        )
        .await
        .expect("stored");
    assert!(stored.data.get("image").is_none());
}

#[tokio::test]
async fn product_sync_reports_creations_updates_and_deletions() {
    let api = Api::new().await;
    let a = api.product("A", json!(1)).await;
    let b = api.product("B", json!(2)).await;
    api.h.clock.advance(time::Duration::seconds(1));
    let r = api.get("products/sync").await;
    r.assert_status(StatusCode::OK);
    let first = r.json();
    assert_eq!(first["count"], 2);
    assert_eq!(
        first["product_statuses"]
            .as_array()
            .expect("array")
            .iter()
            .map(|s| (
                s["product"]["id"].as_i64().expect("id"),
                s["status"].as_str().expect("s").to_owned()
            ))
            .collect::<Vec<_>>(),
        vec![(a, "CREATED".to_owned()), (b, "CREATED".to_owned())]
    );
    let token = first["sync_token"].as_str().expect("token").to_owned();
    assert!(
        first["next"]
            .as_str()
            .expect("next")
            .contains("products/sync/?limit=1000&offset=1000")
    );
    api.h.clock.advance(time::Duration::seconds(5));
    api.patch(&format!("products/{a}"), json!({"sku": "A1"}))
        .await
        .assert_status(StatusCode::OK);
    api.delete(&format!("products/{b}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let c = api.product("C", json!(3)).await;
    api.h.clock.advance(time::Duration::seconds(1));
    let r = api.get(&format!("products/sync?sync_token={token}")).await;
    let next = r.json();
    let statuses: Vec<(i64, String)> = next["product_statuses"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["product"]["id"].as_i64().expect("id"),
                s["status"].as_str().expect("s").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (a, "UPDATED".into()),
            (b, "DELETED".into()),
            (c, "CREATED".into())
        ]
    );
    // The tombstone carries the deleted product's last list shape.
    assert_eq!(next["product_statuses"][1]["product"]["product_name"], "B");
    assert_eq!(next["product_statuses"][1]["product"]["status"], 1);
    assert_ne!(next["sync_token"], first["sync_token"]);
    // Nothing new since the latest token.
    let t2 = next["sync_token"].as_str().expect("token");
    api.h.clock.advance(time::Duration::seconds(5));
    let r = api.get(&format!("products/sync?sync_token={t2}")).await;
    assert_eq!(r.json()["count"], 0);
    // A change in the very millisecond a token was issued shows again under it (at least
    // once, never lost).
    let t3 = r.json()["sync_token"].as_str().expect("token").to_owned();
    api.patch(&format!("products/{c}"), json!({"sku": "C1"}))
        .await
        .assert_status(StatusCode::OK);
    let r = api.get(&format!("products/sync?sync_token={t3}")).await;
    assert_eq!(r.json()["product_statuses"][0]["status"], "UPDATED");
    // Deleted products are gone everywhere else.
    assert_error(
        &api.get(&format!("products/{b}")).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Product",
    );
    assert_eq!(api.get("products").await.json()["count"], 2);
}

async fn order_fixture(api: &Api) -> (i64, i64, i64) {
    let contact = api.contact().await;
    let p1 = api.product("Widget", json!("19.99")).await;
    let p2 = api.product("Gizmo", json!(33.335)).await;
    (contact, p1, p2)
}

#[tokio::test]
async fn orders_are_created_with_keaps_create_shape_and_read_with_the_get_shape() {
    let api = Api::new().await;
    let (contact, p1, p2) = order_fixture(&api).await;
    let r = api
        .post(
            "orders",
            json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00.000Z",
                   "order_title": "Widget order", "order_type": "Online",
                   "order_items": [{"product_id": p1, "quantity": 2, "price": "19.99"},
                                   {"product_id": p2, "quantity": 3, "description": "three"}],
                   "promo_codes": ["SAVE"], "lead_affiliate_id": 0,
                   "shipping_address": {"first_name": "Ada", "line1": "1 Main St", "locality": "Town",
                                        "region": "CA", "zip_code": "90210", "country_code": "USA"}}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let now = api.now();
    let product = |id: i64, name: &str, price: f64| {
        json!({"id": id, "product_name": name, "product_desc": null, "product_short_desc": null,
               "sku": null, "product_price": price, "status": 1, "subscription_only": false,
               "url": null, "product_options": [], "subscription_plans": []})
    };
    let item = |id: i64, name: &str, desc: Value, price: f64, qty: i64, product: Value| {
        json!({"id": id, "name": name, "description": desc, "notes": null, "price": price,
               "cost": 0.0, "discount": 0.0, "quantity": qty, "type": "PRODUCT", "product": product,
               "orderItemTaxes": [], "billingCycle": null, "frequency": null, "numberOfPayments": null,
               "recurringBilling": false, "jobRecurringId": null, "specialId": null,
               "specialAmount": null, "specialPctOrAmt": null})
    };
    let contact_json = json!({"id": contact, "first_name": "Ada", "last_name": "Lovelace",
        "email": "ada@example.com", "company_name": null, "job_title": "Engineer"});
    // 2 × 19.99 + 3 × 33.335 = 39.98 + 100.005 = 139.985 exactly, half-up to cents 139.99
    // (in doubles the sum is 139.98499999999999 and rounds to 139.98).
    assert_eq!(
        r.json(),
        json!({"id": 1, "title": "Widget order", "status": "DRAFT", "contact": contact_json,
        "order_date": "2024-05-21T14:30:00.000+0000", "creation_date": now,
        "modification_date": now, "lead_affiliate_id": null, "sales_affiliate_id": null,
        "notes": null, "total": 139.99, "total_due": 139.99, "total_paid": 0.0,
        "refund_total": 0.0,
        "shipping_information": {"first_name": "Ada", "middle_name": null, "last_name": null,
            "company": null, "phone": null, "line1": "1 Main St", "line2": null,
            "locality": "Town", "region": "CA", "zip_code": "90210", "zip_four": null,
            "country_code": "USA", "is_invoice_to_company": false},
        "payment_plan": null,
        "order_items": [
            item(10_001, "Widget", Value::Null, 19.99, 2, product(p1, "Widget", 19.99)),
            item(10_002, "Gizmo", json!("three"), 33.335, 3, product(p2, "Gizmo", 33.335)),
        ]})
    );
    let got = api.get("orders/1").await;
    got.assert_status(StatusCode::OK);
    let simple = |id: i64, name: &str| json!({"id": id, "name": name, "sku": null, "description": null, "shippable": false, "taxable": false});
    let ritem = |id: i64, name: &str, desc: Value, price: f64, qty: i64, product: Value| {
        json!({"id": id, "name": name, "description": desc, "notes": null, "price": price,
               "cost": 0.0, "discount": 0.0, "quantity": qty, "type": "PRODUCT", "product": product,
               "subscriptionPlan": null, "jobRecurringId": null, "specialId": null,
               "specialAmount": null, "specialPctOrAmt": null})
    };
    let get_shape = json!({"id": 1, "title": "Widget order", "status": "DRAFT", "order_type": "Online",
        "source_type": "API", "contact": contact_json, "contact_id": contact.to_string(),
        "product_id": p1.to_string(), "order_date": "2024-05-21T14:30:00.000+0000",
        "creation_date": now, "modification_date": now, "total": 139.99, "total_paid": 0.0,
        "total_due": 139.99, "refund_total": 0.0, "invoice_number": 1, "lead_affiliate_id": null,
        "sales_affiliate_id": null, "notes": null, "terms": null, "recurring": false,
        "allow_payment": true, "allow_paypal": false,
        "shipping_information": {"id": 1, "first_name": "Ada", "middle_name": null, "last_name": null,
            "company": null, "phone": null, "street1": "1 Main St", "street2": null, "city": "Town",
            "state": "CA", "zip": "90210", "country": "USA", "invoiceToCompany": false},
        "payment_plan": null,
        "order_items": [ritem(10_001, "Widget", Value::Null, 19.99, 2, simple(p1, "Widget")),
                        ritem(10_002, "Gizmo", json!("three"), 33.335, 3, simple(p2, "Gizmo"))]});
    assert_eq!(got.json(), get_shape);
    let base = api.base();
    assert_eq!(
        api.get("orders").await.json(),
        json!({"orders": [get_shape], "count": 1, "next": format!("{base}orders/?limit=1000&offset=1000"),
               "previous": format!("{base}orders/?limit=1000&offset=0")})
    );
}

#[tokio::test]
async fn order_create_errors_have_keaps_shape() {
    let api = Api::new().await;
    let (contact, p1, _) = order_fixture(&api).await;
    let body = |contact: i64, items: Value| {
        json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "T",
               "order_type": "Offline", "order_items": items})
    };
    for (b, msg) in [
        (body(999, json!([{"product_id": p1, "quantity": 1}])), "Contact 999 does not exist".to_owned()),
        (body(contact, json!([{"product_id": 999, "quantity": 1}])), "Product 999 does not exist".to_owned()),
        (body(contact, json!([{"product_id": p1, "quantity": 0}])), "order_items[0].quantity must be at least 1".to_owned()),
        (body(contact, json!([{"product_id": p1, "quantity": 1, "price": "-0.01"}])), "order_items[0].price must not be negative".to_owned()),
        (body(contact, json!([{"product_id": p1, "quantity": 1, "item_type": "FREEBIE"}])), "order_items[0].item_type must be one of UNKNOWN, SHIPPING, TAX, SERVICE, PRODUCT, UPSELL, FINANCE_CHARGE, SPECIAL, PROGRAM, SUBSCRIPTION, SPECIAL_FREE_TRIAL_DAYS, SPECIAL_ORDER_TOTAL, SPECIAL_PRODUCT, SPECIAL_CATEGORY, SPECIAL_SHIPPING, TIP, OTHER".to_owned()),
        (body(contact, json!([])), "order_items must have at least one item".to_owned()),
        (json!({"contact_id": contact}), "order_date is required".to_owned()),
    ] {
        assert_error(&api.post("orders", b).await, StatusCode::BAD_REQUEST, &msg);
    }
    // Nothing was stored by the refused requests.
    assert_eq!(api.get("orders").await.json()["count"], 0);
    assert_error(
        &api.get("orders/5").await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
    assert_error(
        &api.get("orders/abc").await,
        StatusCode::BAD_REQUEST,
        "Invalid id in path: ids are integers within int64",
    );
    assert_error(
        &api.get("orders?order=price").await,
        StatusCode::BAD_REQUEST,
        "order must be order_date or update_date",
    );
    // PUT /orders/{id} (the PHP SDK's save()) has no Keap endpoint.
    let r = api.put("orders/1", json!({"order_title": "x"})).await;
    assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    assert!(
        r.header("allow")
            .is_some_and(|a| a.contains("GET") && a.contains("DELETE"))
    );
}

async fn make_order(api: &Api, contact: i64, items: Value) -> i64 {
    let r = api
        .post(
            "orders",
            json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "T",
                   "order_type": "Online", "order_items": items}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    r.json()["id"].as_i64().expect("id")
}

#[tokio::test]
async fn payments_settle_orders_and_show_as_transactions() {
    let api = Api::new().await;
    let (contact, p1, _) = order_fixture(&api).await;
    let id = make_order(&api, contact, json!([{"product_id": p1, "quantity": 3}])).await; // 59.97
    let pay = format!("orders/{id}/payments");
    assert_error(
        &api.post(
            &pay,
            json!({"payment_amount": "60.00", "payment_method_type": "CASH"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "payment_amount 60 is more than the 59.97 due on this order",
    );
    assert_error(
        &api.post(&pay, json!({})).await,
        StatusCode::BAD_REQUEST,
        "payment_amount is required",
    );
    let r = api
        .post(
            &pay,
            json!({"payment_amount": "20.00", "payment_method_type": "CASH", "notes": "cash",
                           "date": "2024-06-01T10:00:00Z"}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(
        r.json(),
        json!({"id": 10_001, "invoice_id": id, "payment_amount": 20.0, "payment_status": "APPROVED", "transaction_id": 10_001})
    );
    let o = api.get(&format!("orders/{id}")).await.json();
    assert_eq!(
        (
            o["total_paid"].clone(),
            o["total_due"].clone(),
            o["status"].clone()
        ),
        (json!(20.0), json!(39.97), json!("DRAFT"))
    );
    assert_eq!(api.get("orders?paid=true").await.json()["count"], 0);
    // A charge names a card on file of the order's contact (`tests/router/cards.rs`).
    let card = api
        .post(
            &format!("contacts/{contact}/creditCards"),
            json!({"card_number": "4111111111111111", "expiration_month": "12", "expiration_year": "2030"}),
        )
        .await;
    card.assert_status(StatusCode::CREATED);
    let card = card.json()["id"].as_i64().expect("id");
    let r = api
        .post(&pay, json!({"payment_amount": 39.97, "payment_method_type": "CREDIT_CARD", "charge_now": true, "credit_card_id": card}))
        .await;
    r.assert_status(StatusCode::CREATED);
    let o = api.get(&format!("orders/{id}")).await.json();
    assert_eq!(
        (
            o["total_paid"].clone(),
            o["total_due"].clone(),
            o["status"].clone()
        ),
        (json!(59.97), json!(0.0), json!("PAID"))
    );
    assert_eq!(
        api.get("orders?paid=true").await.json()["orders"][0]["id"],
        id
    );
    assert_eq!(api.get("orders?paid=false").await.json()["count"], 0);
    // The payments, a bare array.
    let now = api.now();
    assert_eq!(
        api.get(&pay).await.json(),
        json!([
            {"id": 10_001, "invoice_id": id, "payment_id": 10_001, "amount": 20.0,
             "pay_date": "2024-06-01T10:00:00.000+0000", "pay_status": "APPROVED", "note": "cash",
             "last_updated": now, "skip_commission": true, "refund_invoice_payment_id": null},
            {"id": 10_002, "invoice_id": id, "payment_id": 10_002, "amount": 39.97,
             "pay_date": now, "pay_status": "APPROVED", "note": null,
             "last_updated": now, "skip_commission": true, "refund_invoice_payment_id": null},
        ])
    );
    // Transactions: the order's, the account's, one by id.
    let order_json = api.get(&format!("orders/{id}")).await.json();
    let tx1 = json!({"id": 10_001, "amount": 20.0, "collection_method": "MANUAL", "contact_id": contact,
        "currency": "USD", "errors": null, "gateway": "MANUAL", "gateway_account_name": "Manual payment",
        "order_ids": id.to_string(), "orders": [order_json], "paymentDate": "2024-06-01T10:00:00.000+0000",
        "transaction_date": now, "status": "APPROVED", "test": false, "type": "SALE"});
    assert_eq!(api.get("transactions/10001").await.json(), tx1);
    let all = api.get("transactions").await.json();
    assert_eq!(all["count"], 2);
    assert_eq!(all["transactions"][0], tx1);
    assert_eq!(all["transactions"][1]["gateway"], "KEAPSAKE_TEST");
    assert_eq!(all["transactions"][1]["collection_method"], "AUTOMATIC");
    let base = api.base();
    assert_eq!(
        all["next"],
        format!("{base}transactions/?limit=1000&offset=1000")
    );
    let mine = api
        .get(&format!("orders/{id}/transactions?limit=1&offset=1"))
        .await
        .json();
    assert_eq!(mine["count"], 2);
    assert_eq!(mine["transactions"][0]["id"], 10_002);
    assert_eq!(
        mine["next"],
        format!("{base}orders/{id}/transactions/?limit=1&offset=2")
    );
    assert_eq!(
        api.get("transactions?contact_id=999").await.json()["count"],
        0
    );
    assert_eq!(
        api.get("transactions?until=2024-06-02T00:00:00Z")
            .await
            .json()["count"],
        1
    );
    assert_eq!(
        api.get(&format!(
            "transactions?contact_id={contact}&since=2024-06-02T00:00:00Z"
        ))
        .await
        .json()["count"],
        1
    );
    for missing in [
        "transactions/10003",
        "transactions/5",
        "transactions/990001",
    ] {
        assert_error(
            &api.get(missing).await,
            StatusCode::NOT_FOUND,
            "Unable to find this Transaction",
        );
    }
    // A paid order takes no more money, and cannot be deleted.
    assert_error(
        &api.post(&pay, json!({"payment_amount": "0.01"})).await,
        StatusCode::BAD_REQUEST,
        "payment_amount 0.01 is more than the 0.00 due on this order",
    );
    assert_error(
        &api.delete(&format!("orders/{id}")).await,
        StatusCode::BAD_REQUEST,
        "An order with payments cannot be deleted (this one has 2)",
    );
    assert_error(
        &api.get("orders/77/payments").await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
    assert_error(
        &api.post("orders/77/payments", json!({"payment_amount": "1"}))
            .await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
}

#[tokio::test]
async fn items_can_be_added_and_removed_and_unpaid_orders_deleted() {
    let api = Api::new().await;
    let (contact, p1, p2) = order_fixture(&api).await;
    let id = make_order(&api, contact, json!([{"product_id": p1, "quantity": 1}])).await;
    let items = format!("orders/{id}/items");
    let r = api
        .post(
            &items,
            json!({"product_id": p2, "quantity": 2, "price": "0.10", "item_type": "SHIPPING"}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["id"], 10_002);
    assert_eq!(r.json()["type"], "SHIPPING");
    assert_eq!(r.json()["price"], 0.1);
    assert_eq!(r.json()["product"]["product_name"], "Gizmo");
    assert_eq!(
        api.get(&format!("orders/{id}")).await.json()["total"],
        20.19
    );
    assert_error(
        &api.post(&items, json!({"product_id": 404, "quantity": 1}))
            .await,
        StatusCode::BAD_REQUEST,
        "Product 404 does not exist",
    );
    assert_error(
        &api.post(&items, json!({"quantity": 1})).await,
        StatusCode::BAD_REQUEST,
        "product_id is required",
    );
    assert_error(
        &api.post("orders/77/items", json!({"product_id": p1, "quantity": 1}))
            .await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
    api.delete(&format!("{items}/10001"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(api.get(&format!("orders/{id}")).await.json()["total"], 0.2);
    assert_error(
        &api.delete(&format!("{items}/10001")).await,
        StatusCode::NOT_FOUND,
        "Unable to find this OrderItem",
    );
    // Paid items cannot be removed below what was paid.
    api.post(
        &format!("orders/{id}/payments"),
        json!({"payment_amount": "0.20"}),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_error(
        &api.delete(&format!("{items}/10002")).await,
        StatusCode::BAD_REQUEST,
        "Removing this item would leave the order's total below what has been paid",
    );
    // An order without payments goes.
    let other = make_order(&api, contact, json!([{"product_id": p1, "quantity": 1}])).await;
    api.delete(&format!("orders/{other}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_error(
        &api.get(&format!("orders/{other}")).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
    assert_error(
        &api.delete(&format!("orders/{other}")).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
}

#[tokio::test]
async fn order_lists_filter_and_sort_newest_first() {
    let api = Api::new().await;
    let (contact, p1, p2) = order_fixture(&api).await;
    let mk = |date: &'static str, product: i64| {
        json!({"contact_id": contact, "order_date": date, "order_title": "T", "order_type": "Online",
               "order_items": [{"product_id": product, "quantity": 1}]})
    };
    let mut ids = Vec::new();
    for (date, product) in [
        ("2024-01-01T00:00:00Z", p1),
        ("2024-03-01T00:00:00Z", p2),
        ("2024-02-01T00:00:00Z", p1),
    ] {
        api.h.clock.advance(time::Duration::seconds(1));
        let r = api.post("orders", mk(date, product)).await;
        ids.push(r.json()["id"].as_i64().expect("id"));
    }
    let order_ids = |v: Value| -> Vec<i64> {
        v["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| o["id"].as_i64().expect("id"))
            .collect()
    };
    assert_eq!(
        order_ids(api.get("orders").await.json()),
        vec![ids[1], ids[2], ids[0]]
    );
    assert_eq!(
        order_ids(api.get("orders?order=update_date").await.json()),
        vec![ids[2], ids[1], ids[0]]
    );
    let r = api
        .get(&format!("orders?product_id={p1}&limit=1"))
        .await
        .json();
    assert_eq!(
        (order_ids(r.clone()), r["count"].clone()),
        (vec![ids[2]], json!(2))
    );
    assert_eq!(
        order_ids(
            api.get(&format!("orders?contact_id={contact}&product_id={p2}"))
                .await
                .json()
        ),
        vec![ids[1]]
    );
    assert_eq!(api.get("orders?contact_id=999").await.json()["count"], 0);
    assert_eq!(
        api.get("orders/model").await.json(),
        json!({"custom_fields": [], "optional_properties": []})
    );
}

#[tokio::test]
async fn payment_plans_are_replaced() {
    let api = Api::new().await;
    let (contact, p1, _) = order_fixture(&api).await;
    let id = make_order(&api, contact, json!([{"product_id": p1, "quantity": 1}])).await;
    let r = api
        .put(
            &format!("orders/{id}/paymentPlan"),
            json!({"days_between_payments": 30, "number_of_payments": 3, "plan_start_date": "2024-07-01",
                   "auto_charge": true, "initial_payment_amount": "5.00", "payment_gateway": {"merchant_account_id": 2}}),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let plan = json!({"auto_charge": true, "credit_card_id": null, "days_between_payments": 30,
        "initial_payment_amount": 5.0, "initial_payment_date": null, "number_of_payments": 3,
        "payment_gateway": {"merchant_account_id": 2, "use_default": true}, "plan_start_date": "2024-07-01"});
    assert_eq!(r.json(), plan);
    let o = api.get(&format!("orders/{id}")).await.json();
    assert_eq!(o["payment_plan"]["plan_start_date"], "2024-07-01");
    assert_eq!(
        o["payment_plan"]["payment_gateway"]["merchant_account_name"],
        Value::Null
    );
    assert_error(
        &api.put(
            &format!("orders/{id}/paymentPlan"),
            json!({"days_between_payments": 30}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "number_of_payments is required",
    );
    assert_error(
        &api.put("orders/99/paymentPlan", json!({"days_between_payments": 30, "number_of_payments": 1, "plan_start_date": "2024-07-01"})).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
}

#[tokio::test]
async fn concurrent_payments_never_pay_more_than_the_total() {
    let api = Api::new().await;
    let (contact, p1, _) = order_fixture(&api).await;
    let id = make_order(
        &api,
        contact,
        json!([{"product_id": p1, "quantity": 1, "price": "100.00"}]),
    )
    .await;
    // 20 payments of 7.00 = 140 against a total of 100: at most 14 fit.
    let api = std::sync::Arc::new(api);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let api = std::sync::Arc::clone(&api);
        tasks.push(tokio::spawn(async move {
            api.post(
                &format!("orders/{id}/payments"),
                json!({"payment_amount": "7.00"}),
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            StatusCode::CREATED => ok += 1,
            StatusCode::BAD_REQUEST => {}
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(ok, 14);
    let o = api.get(&format!("orders/{id}")).await.json();
    assert_eq!(o["total_paid"], 98.0);
    assert_eq!(o["total_due"], 2.0);
    assert_eq!(
        api.get(&format!("orders/{id}/payments"))
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(14)
    );
}

#[tokio::test]
async fn subscriptions_subscribe_contacts_to_active_plans() {
    let api = Api::new().await;
    let contact = api.contact().await;
    let p = api.product("Box", json!("10")).await;
    let plan = api
        .post(
            &format!("products/{p}/subscriptions"),
            json!({"cycle_type": "MONTH", "plan_price": "9.995", "number_of_cycles": 3}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("plan id");
    let r = api
        .post(
            "subscriptions",
            json!({"contact_id": contact, "subscription_plan_id": plan, "quantity": 3,
                   "first_bill_date": "2024-01-31", "credit_card_id": 0}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let sub = json!({"id": 1, "active": true, "allow_tax": false, "auto_charge": true,
        "billing_amount": 29.99, "billing_cycle": "MONTH", "billing_frequency": 1,
        "contact_id": contact, "credit_card_id": null, "end_date": "2024-03-31",
        "next_bill_date": "2024-01-31", "payment_gateway_id": null, "product_id": p,
        "quantity": 3, "sale_affiliate_id": null, "start_date": "2024-01-31",
        "subscription_plan_id": plan, "use_default_payment_gateway": true});
    assert_eq!(r.json(), sub);
    let base = api.base();
    assert_eq!(
        api.get(&format!("subscriptions?contact_id={contact}"))
            .await
            .json(),
        json!({"subscriptions": [sub], "count": 1,
               "next": format!("{base}subscriptions/?limit=1000&offset=1000&contact_id={contact}"),
               "previous": format!("{base}subscriptions/?limit=1000&offset=0&contact_id={contact}")})
    );
    assert_eq!(
        api.get("subscriptions?contact_id=999").await.json()["count"],
        0
    );
    let body = |plan: i64| json!({"contact_id": contact, "subscription_plan_id": plan});
    assert_error(
        &api.post("subscriptions", body(plan)).await,
        StatusCode::BAD_REQUEST,
        &format!(
            "Contact {contact} already has a subscription to plan {plan} (send allow_duplicate: true to add another)"
        ),
    );
    let mut dup = body(plan);
    dup["allow_duplicate"] = json!(true);
    api.post("subscriptions", dup)
        .await
        .assert_status(StatusCode::CREATED);
    for missing in [plan + 1, 5, 999_990_001] {
        assert_error(
            &api.post("subscriptions", body(missing)).await,
            StatusCode::BAD_REQUEST,
            &format!("Subscription plan {missing} does not exist"),
        );
    }
    api.patch(&format!("products/{p}"), json!({"active": false}))
        .await
        .assert_status(StatusCode::OK);
    let mut dup = body(plan);
    dup["allow_duplicate"] = json!(true);
    assert_error(
        &api.post("subscriptions", dup).await,
        StatusCode::BAD_REQUEST,
        &format!("Subscription plan {plan} is not active"),
    );
    assert_error(
        &api.post(
            "subscriptions",
            json!({"contact_id": 999, "subscription_plan_id": plan}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Contact 999 does not exist",
    );
    assert_error(
        &api.post("subscriptions", json!({"contact_id": contact}))
            .await,
        StatusCode::BAD_REQUEST,
        "subscription_plan_id is required",
    );
    assert_eq!(
        api.get("subscriptions/model").await.json(),
        json!({"custom_fields": [], "optional_properties": []})
    );
}
