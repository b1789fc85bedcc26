//! Exact wire forms of the hooks, e-mails, products and orders builders, pinned with wiremock:
//! bodies (camelCase hook input, base64 contents, money as decimal strings), headers
//! (`X-Hook-Secret`), paths (an e-mail address in a path segment) and query names; and money
//! answered as JSON numbers read back exactly.

use keapsake_sdk::model::{Money, NewOrder, NewPayment, OrderItemInput, SendEmail};
use keapsake_sdk::{Keap, OrderId};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn mock_client(server: &MockServer) -> Keap {
    Keap::builder()
        .base_url(server.uri())
        .api_key("KeapAK-test")
        .retry_policy(crate::support::fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn hooks_emails_and_orders_send_keaps_wire_forms() {
    let server = MockServer::start().await;
    let sub = json!({"key": "k1", "eventKey": "contact.add", "hookUrl": "https://r.example/h", "status": "Unverified"});
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/hooks"))
        .and(body_json(
            json!({"eventKey": "contact.add", "hookUrl": "https://r.example/h"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&sub))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/hooks/k1/delayedVerify"))
        .and(header("x-hook-secret", "s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&sub))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/emails/queue"))
        .and(body_json(
            json!({"contacts": [22], "user_id": 1, "subject": "Hi",
                               "plain_content": "SGVsbG8=", "html_content": "PGI+SGVsbG88L2I+"}),
        ))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/crm/rest/v1/emailAddresses/a+b@x.example"))
        .and(body_json(json!({"opted_in": false, "reason": "asked"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"email": "a+b@x.example", "opted_in": false, "status": "Opt-Out: Admin"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/emails"))
        .and(query_param("contact_id", "22"))
        .and(query_param("email", "a@x.example"))
        .and(query_param("since_sent_date", "2024-01-01T00:00:00.000Z"))
        .and(query_param("until_sent_date", "2024-02-01T00:00:00.000Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"emails": [], "count": 0})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/orders"))
        .and(body_json(json!({"contact_id": 22, "order_title": "T",
            "order_date": "2024-05-21T14:30:00.000Z", "order_type": "Online",
            "order_items": [{"product_id": 7, "quantity": 3, "price": "33.335"}]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 9, "title": "T", "status": "DRAFT", "total": 100.01, "total_due": 100.01,
            "total_paid": 0.0, "order_items": [{"id": 1, "price": 33.335, "quantity": 3}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/orders/9/payments"))
        .and(body_json(json!({"payment_amount": "0.10", "payment_method_type": "CASH"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": 3, "invoice_id": 9, "payment_amount": 0.1, "payment_status": "APPROVED", "transaction_id": 3}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/orders"))
        .and(query_param("contact_id", "22"))
        .and(query_param("product_id", "7"))
        .and(query_param("paid", "false"))
        .and(query_param("order", "update_date"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"orders": [], "count": 0})))
        .expect(1)
        .mount(&server)
        .await;

    let client = mock_client(&server);
    let s = client
        .hooks()
        .create("contact.add", "https://r.example/h")
        .send()
        .await
        .unwrap();
    client
        .hooks()
        .delayed_verify(&s.key, "s3cret")
        .send()
        .await
        .unwrap();
    client
        .emails()
        .send(
            SendEmail::new([22], 1, "Hi")
                .plain("Hello")
                .html("<b>Hello</b>"),
        )
        .send()
        .await
        .unwrap();
    let st = client
        .emails()
        .opt_out("a+b@x.example", "asked")
        .send()
        .await
        .unwrap();
    assert_eq!(st.status.as_deref(), Some("Opt-Out: Admin"));
    client
        .emails()
        .list()
        .contact(22)
        .email("a@x.example")
        .since_sent_date(time::macros::datetime!(2024-01-01 0:00 UTC))
        .until_sent_date(time::macros::datetime!(2024-02-01 0:00 UTC))
        .send()
        .await
        .unwrap();
    let order = client
        .orders()
        .create(
            NewOrder::new(22, "T", time::macros::datetime!(2024-05-21 14:30 UTC))
                .item(OrderItemInput::new(7, 3).price("33.335".parse().unwrap())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(order.id, OrderId(9));
    assert_eq!(order.total.as_ref().map(Money::as_str), Some("100.01"));
    assert_eq!(order.total_paid.as_ref().and_then(Money::cents), Some(0));
    assert_eq!(
        order.order_items[0].price.as_ref().map(Money::as_str),
        Some("33.335")
    );
    let paid = client
        .orders()
        .create_payment(9, NewPayment::cash(Money::from_cents(10)))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.payment_amount.as_ref().map(Money::as_str), Some("0.1"));
    client
        .orders()
        .list()
        .contact(22)
        .product(7)
        .paid(false)
        .order(keapsake_sdk::resources::OrderSort::UpdateDate)
        .send()
        .await
        .unwrap();
}
