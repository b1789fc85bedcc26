//! Credit cards on file (`/contacts/{id}/creditCards`, `keap/rest-v1.md` §1.2) and the test
//! gateway that charges them from `POST /orders/{id}/payments` (§8.4): validation with Keap's
//! error shape, the `CreditCardAdded` and `ContactCreditCard` shapes, masking, account
//! isolation, read-only keys, and what a charge leaves behind when it is approved or refused.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_core::{AccountId, Clock, Secret};
use serde_json::{Value, json};

const VISA: &str = "4111111111111111";

/// A key-authenticated client of one account.
struct Api<'a> {
    h: &'a Harness,
    key: String,
}

impl<'a> Api<'a> {
    async fn of(h: &'a Harness, account: AccountId, read_only: bool) -> Api<'a> {
        let key = Secret::generate_hex("KeapAK-", 25);
        let now = h.clock.now();
        h.store
            .create_api_key(NewApiKey {
                hash: key.hash(),
                display_prefix: key.expose()[..11].to_owned(),
                name: "cards test key".into(),
                kind: KeyKind::Pat,
                account_id: account,
                user_id: Some(h.multi_user.id),
                read_only,
                created_at: now,
                expires_at: None,
            })
            .await
            .expect("api key");
        Api {
            h,
            key: key.expose().to_owned(),
        }
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

    async fn contact(&self, email: &str) -> i64 {
        let r = self
            .post(
                "contacts",
                json!({"given_name": "Ada", "email_addresses": [{"email": email, "field": "EMAIL1"}]}),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        r.json()["id"].as_i64().expect("id")
    }

    /// Adds a card valid until December 2030; returns its id.
    async fn card(&self, contact: i64, number: &str) -> i64 {
        let r = self.post(&cards(contact), card_body(number)).await;
        r.assert_status(StatusCode::CREATED);
        r.json()["id"].as_i64().expect("id")
    }

    /// An order of `contact` totalling 25.00; returns its id.
    async fn order(&self, contact: i64) -> i64 {
        let r = self
            .post(
                "products",
                json!({"product_name": "Gear", "product_price": "25.00"}),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        let product = r.json()["id"].as_i64().expect("id");
        let r = self
            .post(
                "orders",
                json!({"contact_id": contact, "order_date": "2026-02-27T10:00:00Z",
                       "order_title": "Gears", "order_type": "Online",
                       "order_items": [{"product_id": product, "quantity": 1}]}),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        r.json()["id"].as_i64().expect("id")
    }

    /// Charges `card` for 10.00 on `order`.
    async fn charge(&self, order: i64, card: i64) -> Resp {
        self.post(
            &format!("orders/{order}/payments"),
            json!({"payment_amount": "10.00", "payment_method_type": "CREDIT_CARD",
                   "charge_now": true, "credit_card_id": card}),
        )
        .await
    }

    /// (payments of the order, its `total_paid`, transactions of the account).
    async fn paid(&self, order: i64) -> (Value, Value, Value) {
        let payments = self.get(&format!("orders/{order}/payments")).await;
        payments.assert_status(StatusCode::OK);
        let o = self.get(&format!("orders/{order}")).await;
        o.assert_status(StatusCode::OK);
        let tx = self.get("transactions").await;
        tx.assert_status(StatusCode::OK);
        (
            payments.json(),
            o.json()["total_paid"].clone(),
            tx.json()["count"].clone(),
        )
    }
}

fn cards(contact: i64) -> String {
    format!("contacts/{contact}/creditCards")
}

fn card_body(number: &str) -> Value {
    json!({"card_number": number, "expiration_month": "12", "expiration_year": "2030",
           "verification_code": "123", "name_on_card": "Ada Lovelace"})
}

#[track_caller]
fn assert_error(r: &Resp, status: StatusCode, message: &str) {
    r.assert_status(status);
    assert_eq!(r.json(), json!({"message": message}));
}

#[tokio::test]
async fn invalid_cards_are_refused_with_keaps_error_shape_and_nothing_is_stored() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let ada = api.contact("ada@example.com").await;
    // The harness's clock says 2026-03-01.
    let with = |m: Value| {
        let mut b = card_body(VISA);
        for (k, v) in m.as_object().expect("object") {
            b[k] = v.clone();
        }
        b
    };
    for (body, message) in [
        (
            with(json!({"card_number": "4111111111111112"})),
            "card_number is not a valid card number (check digit)",
        ),
        (
            with(json!({"card_number": "41111111"})),
            "card_number must have 12 to 19 digits",
        ),
        (
            with(json!({"card_number": "4111-1111-abcd-1111"})),
            "card_number must be a string of digits",
        ),
        (
            with(json!({"expiration_month": "2", "expiration_year": "2026"})),
            "The card has expired",
        ),
        (
            with(json!({"expiration_month": "13"})),
            "expiration_month must be 1 to 12",
        ),
        (
            with(json!({"expiration_month": "0"})),
            "expiration_month must be 1 to 12",
        ),
        (
            with(json!({"verification_code": "12"})),
            "verification_code must have 3 or 4 digits",
        ),
        (
            with(json!({"address": {"field": "HOME"}})),
            "address.field must be one of BILLING, SHIPPING, OTHER",
        ),
        (
            json!({"expiration_month": "12", "expiration_year": "2030"}),
            "card_number is required",
        ),
        (
            json!([VISA]),
            "Input could not be converted to a valid request",
        ),
    ] {
        let r = api.post(&cards(ada), body.clone()).await;
        assert_error(&r, StatusCode::BAD_REQUEST, message);
        assert!(!r.text().contains("41111111"), "{body} → {}", r.text());
    }
    // March 2026 itself has not expired.
    let r = api
        .post(
            &cards(ada),
            with(json!({"expiration_month": 3, "expiration_year": 26})),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let listed = api.get(&cards(ada)).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_added_card_answers_credit_card_added_and_lists_masked_oldest_first() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let ada = api.contact("ada@example.com").await;
    assert_eq!(api.get(&cards(ada)).await.json(), json!([]));
    let r = api
        .post(
            &cards(ada),
            json!({"card_number": "4111 1111 1111 1111", "expiration_month": "7",
                   "expiration_year": "2031", "verification_code": "123",
                   "name_on_card": "Ada Lovelace", "email_address": "ada@example.com",
                   "address": {"field": "billing", "line1": "1 Main St", "zip_code": 85001,
                               "country_code": "USA"},
                   "consent_type": "EXPLICIT_CONSENT", "id": 99}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(
        r.json(),
        json!({"id": 1, "contact_id": ada, "card_type": "Visa", "expiration_month": "07",
               "expiration_year": "2031", "name_on_card": "Ada Lovelace",
               "email_address": "ada@example.com",
               "address": {"field": "BILLING", "line1": "1 Main St", "zip_code": "85001",
                           "country_code": "USA"},
               "maestro_issue_number": null, "maestro_start_date_month": null,
               "maestro_start_date_year": null, "validation_status": "Valid",
               "validation_message": null})
    );
    assert!(!r.text().contains(VISA));
    // Valid until the end of March 2026.
    let r = api
        .post(
            &cards(ada),
            json!({"card_number": "5555555555554444", "expiration_month": 3, "expiration_year": 2026}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["card_type"], "MasterCard");
    let listed = api.get(&cards(ada)).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(
        listed.json(),
        json!([
            {"id": 1, "card_type": "Visa", "card_number": "************1111",
             "payment_method_id": "1", "validation_status": "Valid"},
            {"id": 2, "card_type": "MasterCard", "card_number": "************4444",
             "payment_method_id": "2", "validation_status": "Valid"},
        ])
    );
    // Another contact's list is its own.
    let grace = api.contact("grace@example.com").await;
    assert_eq!(api.get(&cards(grace)).await.json(), json!([]));
    // In April the second card reads as expired.
    h.clock.advance(time::Duration::days(31));
    let listed = api.get(&cards(ada)).await.json();
    assert_eq!(listed[0]["validation_status"], "Valid");
    assert_eq!(listed[1]["validation_status"], "Expired");
}

#[tokio::test]
async fn another_accounts_contact_answers_like_a_missing_one() {
    let h = Harness::new().await;
    let a = Api::of(&h, h.account.id, false).await;
    let b = Api::of(&h, h.second_account.id, false).await;
    // B's contact gets an id A's account does not use.
    b.contact("filler@example.com").await;
    let theirs = b.contact("bee@example.com").await;
    b.card(theirs, VISA).await;
    let missing = theirs + 1000;
    for id in [theirs, missing] {
        assert_error(
            &a.get(&cards(id)).await,
            StatusCode::NOT_FOUND,
            "Unable to find this Contact",
        );
        assert_error(
            &a.post(&cards(id), card_body(VISA)).await,
            StatusCode::NOT_FOUND,
            "Unable to find this Contact",
        );
    }
    // B's contact still has exactly its one card.
    let listed = b.get(&cards(theirs)).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));
    // And a malformed path id is a JSON 400.
    assert_error(
        &a.get("contacts/x/creditCards").await,
        StatusCode::BAD_REQUEST,
        "Invalid id in path: ids are integers within int64",
    );
}

#[tokio::test]
async fn a_read_only_key_lists_cards_but_cannot_add_one() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let ro = Api::of(&h, h.account.id, true).await;
    let ada = api.contact("ada@example.com").await;
    api.card(ada, VISA).await;
    assert_error(
        &ro.post(&cards(ada), card_body("5555555555554444")).await,
        StatusCode::FORBIDDEN,
        "This credential is read-only",
    );
    let listed = ro.get(&cards(ada)).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));
    let anonymous = h
        .send(
            Request::builder()
                .uri(format!("/crm/rest/v1/{}", cards(ada)))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_declined_card_fails_the_payment_and_records_nothing() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let ada = api.contact("ada@example.com").await;
    let order = api.order(ada).await;
    for (number, message) in [
        ("4000000000000002", "The card was declined"),
        ("4000000000009995", "The card has insufficient funds"),
        ("4000000000000069", "The card has expired"),
    ] {
        // Accepted on file; refused at the gateway.
        let card = api.card(ada, number).await;
        assert_error(
            &api.charge(order, card).await,
            StatusCode::BAD_REQUEST,
            message,
        );
    }
    assert_eq!(api.paid(order).await, (json!([]), json!(0.0), json!(0)));
}

#[tokio::test]
async fn an_approved_card_pays_the_order_through_the_test_gateway() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let ada = api.contact("ada@example.com").await;
    let order = api.order(ada).await;
    let card = api.card(ada, VISA).await;
    let r = api.charge(order, card).await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["payment_status"], "APPROVED");
    assert_eq!(r.json()["payment_amount"], 10.0);
    let (payments, total_paid, transactions) = api.paid(order).await;
    assert_eq!(payments.as_array().map(Vec::len), Some(1));
    assert_eq!(total_paid, json!(10.0));
    assert_eq!(transactions, json!(1));
    let tx = api.get("transactions").await.json();
    assert_eq!(tx["transactions"][0]["gateway"], "KEAPSAKE_TEST");
    assert_eq!(tx["transactions"][0]["contact_id"], ada);
    // More than is due is still refused before the card is asked.
    assert_error(
        &api.post(
            &format!("orders/{order}/payments"),
            json!({"payment_amount": "15.01", "payment_method_type": "CREDIT_CARD",
                   "charge_now": true, "credit_card_id": card}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "payment_amount 15.01 is more than the 15 due on this order",
    );
    // Once the card has expired (January 2031), it is declined.
    h.clock
        .set(time::macros::datetime!(2031-01-01 00:00:00 UTC));
    assert_error(
        &api.charge(order, card).await,
        StatusCode::BAD_REQUEST,
        "The card has expired",
    );
    assert_eq!(api.paid(order).await.1, json!(10.0));
}

#[tokio::test]
async fn a_card_of_another_contact_or_account_or_none_at_all_is_refused() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let b = Api::of(&h, h.second_account.id, false).await;
    let ada = api.contact("ada@example.com").await;
    let grace = api.contact("grace@example.com").await;
    let order = api.order(ada).await;
    let graces = api.card(grace, VISA).await;
    assert_error(
        &api.charge(order, graces).await,
        StatusCode::BAD_REQUEST,
        "This credit card does not belong to the order's contact",
    );
    // Another account's card reads exactly like one that never existed.
    let bs_contact = b.contact("bee@example.com").await;
    b.card(bs_contact, VISA).await;
    let bs_card = b.card(bs_contact, VISA).await;
    assert_eq!(bs_card, 2, "an id A's account does not have");
    assert_error(
        &api.charge(order, bs_card).await,
        StatusCode::BAD_REQUEST,
        &format!("Credit card {bs_card} does not exist"),
    );
    assert_error(
        &api.charge(order, 999).await,
        StatusCode::BAD_REQUEST,
        "Credit card 999 does not exist",
    );
    // A missing order is a 404 before the card is looked at.
    assert_error(
        &api.charge(order + 1000, 999).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Order",
    );
    assert_eq!(api.paid(order).await, (json!([]), json!(0.0), json!(0)));
    // Without a card the test gateway approves, as before; a manual record names no card check.
    let r = api
        .post(
            &format!("orders/{order}/payments"),
            json!({"payment_amount": "1.00", "payment_method_type": "CREDIT_CARD", "charge_now": true}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let r = api
        .post(
            &format!("orders/{order}/payments"),
            json!({"payment_amount": "1.00", "payment_method_type": "CREDIT_CARD",
                   "charge_now": false, "credit_card_id": 999}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(api.paid(order).await.1, json!(2.0));
}

#[tokio::test]
async fn deleting_a_contact_deletes_its_cards_and_no_one_elses() {
    let h = Harness::new().await;
    let api = Api::of(&h, h.account.id, false).await;
    let ada = api.contact("ada@example.com").await;
    let grace = api.contact("grace@example.com").await;
    api.card(ada, VISA).await;
    api.card(ada, "5555555555554444").await;
    let kept = api.card(grace, VISA).await;
    let r = api
        .call(Method::DELETE, &format!("contacts/{ada}"), None)
        .await;
    r.assert_status(StatusCode::NO_CONTENT);
    let (left, total) = h
        .store
        .list_records(
            h.account.id,
            keapsake_core::records::RecordKind::CreditCard,
            &keapsake_core::records::Query::default(),
        )
        .await
        .expect("list");
    assert_eq!(total, 1);
    assert_eq!(left.iter().map(|r| r.id).collect::<Vec<_>>(), vec![kept]);
    assert_error(
        &api.get(&cards(ada)).await,
        StatusCode::NOT_FOUND,
        "Unable to find this Contact",
    );
}
