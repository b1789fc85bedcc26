//! XML-RPC commerce (`keap/xmlrpc.md` §4.4–§4.6, §5.3–§5.5): the exact XML of every
//! `InvoiceService`, `OrderService.placeOrder` and `ProductService` method's success and faults,
//! the commerce tables, and agreement with REST v1 `/orders` on the same records.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keapsake_core::Clock;
use keapsake_core::commerce::card::{CardDoc, NewCard};
use keapsake_core::records::{Edited, NewRecord, RecordKind};
use keapsake_core::store::KeyKind;
use keapsake_server::xmlrpc::codec::{XValue, decode_response, encode_call};
use serde_json::{Value, json};

fn s(v: &str) -> XValue {
    XValue::Str(v.to_owned())
}
fn i(v: i64) -> XValue {
    XValue::Int(v)
}
fn d(v: f64) -> XValue {
    XValue::Double(v)
}
fn b(v: bool) -> XValue {
    XValue::Bool(v)
}
fn st(members: &[(&str, XValue)]) -> XValue {
    XValue::Struct(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}
fn arr(items: &[&str]) -> XValue {
    XValue::Array(items.iter().map(|x| s(x)).collect())
}
fn ints(items: &[i64]) -> XValue {
    XValue::Array(items.iter().map(|x| i(*x)).collect())
}

/// The body of a call with the key first (asserting HTTP 200).
async fn call(h: &Harness, key: &str, method: &str, params: &[XValue]) -> String {
    let mut all = vec![s(key)];
    all.extend_from_slice(params);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/crm/xmlrpc/v1")
        .header("content-type", "text/xml")
        .body(Body::from(encode_call(method, &all)))
        .expect("request");
    let res = h.send(req).await;
    res.assert_status(StatusCode::OK);
    res.text()
}

/// The decoded value (panics on a fault).
async fn ok(h: &Harness, key: &str, method: &str, params: &[XValue]) -> XValue {
    let body = call(h, key, method, params).await;
    match decode_response(body.as_bytes()).expect("a methodResponse") {
        Ok(v) => v,
        Err(f) => panic!("{method}: fault {f:?}"),
    }
}

fn int(v: &XValue) -> i64 {
    match v {
        XValue::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

fn field<'a>(row: &'a XValue, name: &str) -> Option<&'a XValue> {
    match row {
        XValue::Struct(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        other => panic!("not a struct: {other:?}"),
    }
}

async fn rest(
    h: &Harness,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/crm/rest/v1{path}"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    let body = match body {
        Some(v) => Body::from(v.to_string()),
        None => Body::empty(),
    };
    req = req.header("accept", "application/json");
    let res = h.send(req.body(body).expect("request")).await;
    let status = res.status;
    let text = res.text();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A contact, a product at 10.00 and one at 2.50 (ids 1, 1, 2).
async fn world(h: &Harness, k: &str) -> (i64, i64, i64) {
    let c = int(&ok(
        h,
        k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s("Ada")),
            ("Email", s("ada@example.com")),
        ])],
    )
    .await);
    let p1 = int(&ok(
        h,
        k,
        "DataService.add",
        &[
            s("Product"),
            st(&[
                ("ProductName", s("Widget")),
                ("ProductPrice", d(10.0)),
                ("Sku", s("W-1")),
            ]),
        ],
    )
    .await);
    let p2 = int(&ok(
        h,
        k,
        "DataService.add",
        &[
            s("Product"),
            st(&[("ProductName", s("Gadget")), ("ProductPrice", d(2.5))]),
        ],
    )
    .await);
    (c, p1, p2)
}

/// A card on file for `contact` (the REST endpoint is tested on its own; here the store).
async fn card(h: &Harness, contact: i64, number: &str) -> i64 {
    let body = json!({"card_number": number, "expiration_month": "12", "expiration_year": "2030", "name_on_card": "Ada Lovelace"});
    let new = NewCard::parse(body.as_object().expect("object"), h.clock.now().date())
        .expect("a valid card");
    let doc = CardDoc::create(contact, &new);
    match h
        .store
        .insert_record(
            h.account.id,
            RecordKind::CreditCard,
            Box::new(move |_| {
                Ok(NewRecord {
                    keys: doc.keys(),
                    data: doc.to_value(),
                })
            }),
            h.clock.now(),
        )
        .await
        .expect("insert")
    {
        Edited::Updated(r) => r.id,
        Edited::Rejected(m) => panic!("{m}"),
    }
}

fn date() -> XValue {
    s("2026-03-01 09:30:00")
}

#[tokio::test]
async fn invoice_service_blank_order_items_payments_and_charges() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let (c, p1, _) = world(&h, &k).await;
    insta::assert_snapshot!(
        "create_blank_order",
        call(
            &h,
            &k,
            "InvoiceService.createBlankOrder",
            &[i(c), s("Phone order"), date(), i(0), i(0)]
        )
        .await
    );
    let inv = 1;
    insta::assert_snapshot!(
        "add_order_item",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[
                i(inv),
                i(p1),
                i(4),
                d(10.0),
                i(2),
                s("Two widgets"),
                s("gift wrap")
            ]
        )
        .await
    );
    // A line of no product: shipping.
    insta::assert_snapshot!(
        "add_shipping_item",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[i(inv), i(0), i(1), d(4.99), i(1), s("Ground"), s("")]
        )
        .await
    );
    insta::assert_snapshot!(
        "amount_owed",
        call(&h, &k, "InvoiceService.calculateAmountOwed", &[i(inv)]).await
    );
    insta::assert_snapshot!(
        "manual_payment",
        call(
            &h,
            &k,
            "InvoiceService.addManualPayment",
            &[
                i(inv),
                d(5.0),
                date(),
                s("Money Order"),
                s("first part"),
                b(false)
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "manual_payment_too_much",
        call(
            &h,
            &k,
            "InvoiceService.addManualPayment",
            &[i(inv), d(100.0), date(), s("Cash"), s(""), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "manual_payment_three_decimals",
        call(
            &h,
            &k,
            "InvoiceService.addManualPayment",
            &[i(inv), d(1.005), date(), s("Cash"), s(""), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "amount_owed_after_payment",
        call(&h, &k, "InvoiceService.calculateAmountOwed", &[i(inv)]).await
    );
    insta::assert_snapshot!(
        "recalculate_tax",
        call(&h, &k, "InvoiceService.recalculateTax", &[i(inv)]).await
    );

    // The test gateway: no card, another contact's card, a decline number, an approval, then
    // nothing left to charge.
    let other = int(&ok(
        &h,
        &k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s("Bob")),
            ("Email", s("bob@example.com")),
        ])],
    )
    .await);
    let bobs = card(&h, other, "4111111111111111").await;
    let declines = card(&h, c, "4000000000000002").await;
    let good = card(&h, c, "5555555555554444").await;
    insta::assert_snapshot!(
        "charge_no_card",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s("note"), i(0), i(0), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "charge_missing_card",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s("note"), i(999), i(0), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "charge_other_contacts_card",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s("note"), i(bobs), i(0), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "charge_declined",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s("note"), i(declines), i(0), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "amount_owed_after_refusals",
        call(&h, &k, "InvoiceService.calculateAmountOwed", &[i(inv)]).await
    );
    insta::assert_snapshot!(
        "charge_approved",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s("the rest"), i(good), i(0), b(true)]
        )
        .await
    );
    insta::assert_snapshot!(
        "charge_nothing_due",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s("again"), i(good), i(0), b(false)]
        )
        .await
    );
    insta::assert_snapshot!(
        "get_payments",
        call(&h, &k, "InvoiceService.getPayments", &[i(inv)]).await
    );
    insta::assert_snapshot!(
        "amount_owed_paid",
        call(&h, &k, "InvoiceService.calculateAmountOwed", &[i(inv)]).await
    );

    // REST sees the same order: items, totals, payments.
    let (st_, o) = rest(&h, &k, Method::GET, &format!("/orders/{inv}"), None).await;
    assert_eq!(st_, StatusCode::OK, "{o}");
    assert_eq!(o["title"], "Phone order");
    assert_eq!(o["total"], json!(24.99));
    assert_eq!(o["total_paid"], json!(24.99));
    assert_eq!(o["total_due"], json!(0.0));
    assert_eq!(o["status"], "PAID");
    assert_eq!(o["order_items"][0]["notes"], "gift wrap");
    assert_eq!(o["order_items"][1]["name"], "Ground");
    let (_, pays) = rest(
        &h,
        &k,
        Method::GET,
        &format!("/orders/{inv}/payments"),
        None,
    )
    .await;
    let pays = pays.as_array().expect("payments");
    assert_eq!(pays.len(), 2);
    assert_eq!(pays[1]["amount"], json!(19.99));
    assert_eq!(pays[1]["skip_commission"], json!(true));

    // Faults: unknown invoice, bad type code, negative price, zero quantity, unknown product,
    // wrong arity, an order with payments cannot be deleted.
    insta::assert_snapshot!(
        "amount_owed_missing",
        call(&h, &k, "InvoiceService.calculateAmountOwed", &[i(999)]).await
    );
    insta::assert_snapshot!(
        "add_item_bad_type",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[i(inv), i(p1), i(99), d(1.0), i(1), s(""), s("")]
        )
        .await
    );
    insta::assert_snapshot!(
        "add_item_negative_price",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[i(inv), i(p1), i(4), d(-1.0), i(1), s(""), s("")]
        )
        .await
    );
    insta::assert_snapshot!(
        "add_item_zero_quantity",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[i(inv), i(p1), i(4), d(1.0), i(0), s(""), s("")]
        )
        .await
    );
    insta::assert_snapshot!(
        "add_item_unknown_product",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[i(inv), i(77), i(4), d(1.0), i(1), s(""), s("")]
        )
        .await
    );
    insta::assert_snapshot!(
        "add_item_missing_invoice",
        call(
            &h,
            &k,
            "InvoiceService.addOrderItem",
            &[i(999), i(p1), i(4), d(1.0), i(1), s(""), s("")]
        )
        .await
    );
    insta::assert_snapshot!(
        "blank_order_wrong_arity",
        call(
            &h,
            &k,
            "InvoiceService.createBlankOrder",
            &[i(c), s("x"), date()]
        )
        .await
    );
    insta::assert_snapshot!(
        "blank_order_unknown_contact",
        call(
            &h,
            &k,
            "InvoiceService.createBlankOrder",
            &[i(999), s("x"), date(), i(0), i(0)]
        )
        .await
    );
    insta::assert_snapshot!(
        "blank_order_bad_date",
        call(
            &h,
            &k,
            "InvoiceService.createBlankOrder",
            &[i(c), s("x"), s("yesterday"), i(0), i(0)]
        )
        .await
    );
    insta::assert_snapshot!(
        "delete_with_payments",
        call(&h, &k, "InvoiceService.deleteInvoice", &[i(inv)]).await
    );
    let blank = int(&ok(
        &h,
        &k,
        "InvoiceService.createBlankOrder",
        &[i(c), s("To delete"), date(), i(0), i(0)],
    )
    .await);
    insta::assert_snapshot!(
        "delete_invoice",
        call(&h, &k, "InvoiceService.deleteInvoice", &[i(blank)]).await
    );
    let (st_, _) = rest(&h, &k, Method::GET, &format!("/orders/{blank}"), None).await;
    assert_eq!(st_, StatusCode::NOT_FOUND);
    insta::assert_snapshot!(
        "delete_invoice_again",
        call(&h, &k, "InvoiceService.deleteInvoice", &[i(blank)]).await
    );
    insta::assert_snapshot!(
        "invoice_unknown_method",
        call(&h, &k, "InvoiceService.addPaymentPlan", &[i(inv)]).await
    );

    // A read-only key may read but not write.
    let (ro, _) = h.api_key(KeyKind::Legacy, true, None).await;
    insta::assert_snapshot!(
        "blank_order_read_only",
        call(
            &h,
            &ro,
            "InvoiceService.createBlankOrder",
            &[i(c), s("x"), date(), i(0), i(0)]
        )
        .await
    );
    assert!(
        call(&h, &ro, "InvoiceService.calculateAmountOwed", &[i(inv)])
            .await
            .contains("<double>0.0</double>")
    );
}

#[tokio::test]
async fn place_order_with_and_without_a_card_and_with_a_plan() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let (c, p1, p2) = world(&h, &k).await;
    // 8-argument form (7 after the key), no card: an unpaid order.
    insta::assert_snapshot!(
        "place_order_no_card",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(0),
                i(0),
                ints(&[p1, p2]),
                XValue::Array(vec![]),
                b(false),
                arr(&["SPRING"])
            ]
        )
        .await
    );
    let (_, o) = rest(&h, &k, Method::GET, "/orders/1", None).await;
    assert_eq!(o["total"], json!(12.5));
    assert_eq!(o["status"], "DRAFT");
    assert_eq!(o["title"], "Widget");
    // 10-argument form with a card: paid at once.
    let good = card(&h, c, "4111111111111111").await;
    insta::assert_snapshot!(
        "place_order_card",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(good),
                i(0),
                ints(&[p2]),
                XValue::Array(vec![]),
                b(false),
                XValue::Array(vec![]),
                i(0),
                i(0)
            ]
        )
        .await
    );
    let (_, o) = rest(&h, &k, Method::GET, "/orders/2", None).await;
    assert_eq!(o["status"], "PAID");
    let declines = card(&h, c, "4000000000009995").await;
    insta::assert_snapshot!(
        "place_order_declined",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(declines),
                i(0),
                ints(&[p1]),
                XValue::Array(vec![]),
                b(false),
                XValue::Array(vec![])
            ]
        )
        .await
    );
    // A subscription plan: a line and a subscription (RecurringOrder) marked with the order.
    let (st_, plan) = rest(&h, &k, Method::POST, &format!("/products/{p1}/subscriptions"), Some(json!({"cycle_type": "MONTH", "frequency": 1, "plan_price": 9.0, "number_of_cycles": 12, "subscription_plan_index": 1}))).await;
    assert_eq!(st_, StatusCode::CREATED, "{plan}");
    let plan = plan["id"].as_i64().expect("plan id");
    let placed = ok(
        &h,
        &k,
        "OrderService.placeOrder",
        &[
            i(c),
            i(0),
            i(0),
            XValue::Array(vec![]),
            ints(&[plan]),
            b(false),
            XValue::Array(vec![]),
        ],
    )
    .await;
    let order = field(&placed, "OrderId")
        .and_then(XValue::as_text)
        .expect("OrderId");
    insta::assert_snapshot!(
        "recurring_order_query",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("RecurringOrder"),
                i(10),
                i(0),
                st(&[("ContactId", i(c))]),
                arr(&[
                    "Id",
                    "ContactId",
                    "OriginatingOrderId",
                    "SubscriptionPlanId",
                    "ProductId",
                    "StartDate",
                    "EndDate",
                    "BillingCycle",
                    "Frequency",
                    "BillingAmt",
                    "Status",
                    "Qty"
                ])
            ]
        )
        .await
    );
    assert!(
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("RecurringOrder"),
                i(10),
                i(0),
                st(&[("OriginatingOrderId", s(&order))]),
                arr(&["Id"])
            ]
        )
        .await
        .contains("<i4>1</i4>")
    );
    insta::assert_snapshot!(
        "plan_query",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("SubscriptionPlan"),
                i(10),
                i(0),
                st(&[("ProductId", i(p1))]),
                arr(&[
                    "Id",
                    "ProductId",
                    "Cycle",
                    "Frequency",
                    "PlanPrice",
                    "NumberOfCycles",
                    "Active"
                ])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "plan_line",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("OrderItem"),
                i(10),
                i(0),
                st(&[("OrderId", s(&order))]),
                arr(&[
                    "Id",
                    "OrderId",
                    "ProductId",
                    "SubscriptionPlanId",
                    "ItemName",
                    "Qty",
                    "PPU",
                    "ItemType"
                ])
            ]
        )
        .await
    );

    // Faults.
    insta::assert_snapshot!(
        "place_order_nothing",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(0),
                i(0),
                XValue::Array(vec![]),
                XValue::Array(vec![]),
                b(false),
                XValue::Array(vec![])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "place_order_unknown_product",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(0),
                i(0),
                ints(&[404]),
                XValue::Array(vec![]),
                b(false),
                XValue::Array(vec![])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "place_order_unknown_plan",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(0),
                i(0),
                XValue::Array(vec![]),
                ints(&[99_999]),
                b(false),
                XValue::Array(vec![])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "place_order_unknown_contact",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(999),
                i(0),
                i(0),
                ints(&[p1]),
                XValue::Array(vec![]),
                b(false),
                XValue::Array(vec![])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "place_order_wrong_arity",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[i(c), i(0), i(0), ints(&[p1])]
        )
        .await
    );
    insta::assert_snapshot!(
        "place_order_bad_products",
        call(
            &h,
            &k,
            "OrderService.placeOrder",
            &[
                i(c),
                i(0),
                i(0),
                arr(&["one"]),
                XValue::Array(vec![]),
                b(false),
                XValue::Array(vec![])
            ]
        )
        .await
    );
    // Nothing half-made by the faults: still four orders.
    let (_, list) = rest(&h, &k, Method::GET, "/orders", None).await;
    assert_eq!(list["count"], json!(4), "{list}");
}

#[tokio::test]
async fn product_service_inventory_and_cards() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let (c, p1, _) = world(&h, &k).await;
    insta::assert_snapshot!(
        "inventory_start",
        call(&h, &k, "ProductService.getInventory", &[i(p1)]).await
    );
    insta::assert_snapshot!(
        "inventory_increase",
        call(&h, &k, "ProductService.increaseInventory", &[i(p1), i(5)]).await
    );
    insta::assert_snapshot!(
        "inventory_increment",
        call(&h, &k, "ProductService.incrementInventory", &[i(p1)]).await
    );
    insta::assert_snapshot!(
        "inventory_decrement",
        call(&h, &k, "ProductService.decrementInventory", &[i(p1)]).await
    );
    insta::assert_snapshot!(
        "inventory_decrease",
        call(&h, &k, "ProductService.decreaseInventory", &[i(p1), i(2)]).await
    );
    insta::assert_snapshot!(
        "inventory_after",
        call(&h, &k, "ProductService.getInventory", &[i(p1)]).await
    );
    insta::assert_snapshot!(
        "inventory_below_zero",
        call(&h, &k, "ProductService.decreaseInventory", &[i(p1), i(4)]).await
    );
    insta::assert_snapshot!(
        "inventory_negative_quantity",
        call(&h, &k, "ProductService.increaseInventory", &[i(p1), i(-1)]).await
    );
    insta::assert_snapshot!(
        "inventory_missing_product",
        call(&h, &k, "ProductService.getInventory", &[i(404)]).await
    );
    assert!(
        call(&h, &k, "ProductService.getInventory", &[i(p1)])
            .await
            .contains("<i4>3</i4>"),
        "a refused change changes nothing"
    );
    // Decrement to zero, then once more: refused, still 0.
    for _ in 0..3 {
        ok(&h, &k, "ProductService.decrementInventory", &[i(p1)]).await;
    }
    insta::assert_snapshot!(
        "inventory_decrement_at_zero",
        call(&h, &k, "ProductService.decrementInventory", &[i(p1)]).await
    );
    assert!(
        call(&h, &k, "ProductService.getInventory", &[i(p1)])
            .await
            .contains("<i4>0</i4>")
    );

    let card_id = card(&h, c, "4111111111111111").await;
    insta::assert_snapshot!(
        "card_row",
        call(
            &h,
            &k,
            "DataService.load",
            &[
                s("CreditCard"),
                i(card_id),
                arr(&[
                    "Id",
                    "ContactId",
                    "CardType",
                    "Last4",
                    "ExpirationMonth",
                    "ExpirationYear",
                    "NameOnCard",
                    "Status"
                ])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "deactivate_card",
        call(&h, &k, "ProductService.deactivateCreditCard", &[i(card_id)]).await
    );
    insta::assert_snapshot!(
        "deactivate_missing_card",
        call(&h, &k, "ProductService.deactivateCreditCard", &[i(404)]).await
    );
    let inv = int(&ok(
        &h,
        &k,
        "InvoiceService.createBlankOrder",
        &[i(c), s("x"), date(), i(0), i(0)],
    )
    .await);
    ok(
        &h,
        &k,
        "InvoiceService.addOrderItem",
        &[i(inv), i(p1), i(4), d(10.0), i(1), s(""), s("")],
    )
    .await;
    insta::assert_snapshot!(
        "charge_deactivated",
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s(""), i(card_id), i(0), b(false)]
        )
        .await
    );
    assert!(
        call(
            &h,
            &k,
            "DataService.load",
            &[s("CreditCard"), i(card_id), arr(&["Status"])]
        )
        .await
        .contains("<i4>4</i4>")
    );

    // Concurrent decrements never take the count below zero: 10 in stock, 25 racing calls.
    ok(&h, &k, "ProductService.increaseInventory", &[i(p1), i(10)]).await;
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let router = h.router();
        let body = encode_call("ProductService.decrementInventory", &[s(&k), i(p1)]);
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt as _;
            let req = Request::builder()
                .method(Method::POST)
                .uri("/crm/xmlrpc/v1")
                .header("content-type", "text/xml")
                .body(Body::from(body))
                .expect("request");
            let res = router.oneshot(req).await.expect("response");
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .expect("body");
            String::from_utf8_lossy(&bytes).contains("<boolean>1</boolean>")
        }));
    }
    let mut taken = 0;
    for t in tasks {
        if t.await.expect("task") {
            taken += 1;
        }
    }
    assert_eq!(taken, 10, "exactly the stock was taken");
    assert!(
        call(&h, &k, "ProductService.getInventory", &[i(p1)])
            .await
            .contains("<i4>0</i4>")
    );
}

#[tokio::test]
async fn commerce_tables_read_the_same_orders_as_rest() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let (c, p1, p2) = world(&h, &k).await;
    // An order made through REST, paid in part through REST.
    let (st_, o) = rest(&h, &k, Method::POST, "/orders", Some(json!({
        "contact_id": c, "order_date": "2026-03-01T12:00:00.000Z", "order_title": "REST order", "order_type": "Online",
        "order_items": [{"product_id": p1, "quantity": 1}, {"product_id": p2, "quantity": 2, "description": "two gadgets"}],
        "promo_codes": ["A", "B"], "shipping_address": {"first_name": "Ada", "line1": "1 Main St", "locality": "London", "zip_code": "12345"}
    }))).await;
    assert_eq!(st_, StatusCode::CREATED, "{o}");
    let (st_, p) = rest(
        &h,
        &k,
        Method::POST,
        "/orders/1/payments",
        Some(
            json!({"payment_amount": "4.00", "payment_method_type": "CHECK", "notes": "cheque 7"}),
        ),
    )
    .await;
    assert_eq!(st_, StatusCode::CREATED, "{p}");
    let all = |t: &str, f: &[&str]| vec![s(t), i(100), i(0), st(&[("Id", s("%"))]), arr(f)];
    insta::assert_snapshot!(
        "job_query",
        call(
            &h,
            &k,
            "DataService.query",
            &all(
                "Job",
                &[
                    "Id",
                    "JobTitle",
                    "ContactId",
                    "StartDate",
                    "DateCreated",
                    "OrderType",
                    "ProductId",
                    "ShipFirstName",
                    "ShipStreet1",
                    "ShipCity",
                    "ShipZip",
                    "LastUpdated"
                ]
            )
        )
        .await
    );
    insta::assert_snapshot!(
        "invoice_query",
        call(
            &h,
            &k,
            "DataService.query",
            &all(
                "Invoice",
                &[
                    "Id",
                    "ContactId",
                    "JobId",
                    "InvoiceTotal",
                    "TotalPaid",
                    "TotalDue",
                    "PayStatus",
                    "RefundStatus",
                    "PromoCode",
                    "Description",
                    "ProductSold"
                ]
            )
        )
        .await
    );
    insta::assert_snapshot!(
        "order_item_query",
        call(
            &h,
            &k,
            "DataService.query",
            &all(
                "OrderItem",
                &[
                    "Id",
                    "OrderId",
                    "ProductId",
                    "ItemName",
                    "Qty",
                    "CPU",
                    "PPU",
                    "ItemDescription",
                    "ItemType"
                ]
            )
        )
        .await
    );
    insta::assert_snapshot!(
        "invoice_item_query",
        call(
            &h,
            &k,
            "DataService.query",
            &all(
                "InvoiceItem",
                &[
                    "Id",
                    "InvoiceId",
                    "OrderItemId",
                    "InvoiceAmt",
                    "Discount",
                    "Description"
                ]
            )
        )
        .await
    );
    insta::assert_snapshot!(
        "payment_query",
        call(
            &h,
            &k,
            "DataService.query",
            &all(
                "Payment",
                &[
                    "Id",
                    "PayDate",
                    "PayAmt",
                    "PayType",
                    "ContactId",
                    "PayNote",
                    "InvoiceId"
                ]
            )
        )
        .await
    );
    insta::assert_snapshot!(
        "invoice_payment_query",
        call(
            &h,
            &k,
            "DataService.query",
            &all(
                "InvoicePayment",
                &[
                    "Id",
                    "InvoiceId",
                    "Amt",
                    "PayStatus",
                    "PaymentId",
                    "SkipCommission"
                ]
            )
        )
        .await
    );
    // Filters, count, load by id; an item id names its order.
    let item = o["order_items"][1]["id"].as_i64().expect("item id");
    insta::assert_snapshot!(
        "order_item_load",
        call(
            &h,
            &k,
            "DataService.load",
            &[
                s("OrderItem"),
                i(item),
                arr(&["Id", "OrderId", "ItemName", "PPU"])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "invoice_count_unpaid",
        call(
            &h,
            &k,
            "DataService.count",
            &[
                s("Invoice"),
                st(&[("PayStatus", i(0)), ("ContactId", i(c))])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "invoice_total_above",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("Invoice"),
                i(10),
                i(0),
                st(&[("InvoiceTotal", s("~>~ 10"))]),
                arr(&["Id", "InvoiceTotal"])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "payment_load_missing",
        call(
            &h,
            &k,
            "DataService.load",
            &[s("Payment"), i(10_099), arr(&["Id"])]
        )
        .await
    );

    // Job edits show in REST; everything else is read-only, with a pointer to the service.
    insta::assert_snapshot!(
        "job_update",
        call(
            &h,
            &k,
            "DataService.update",
            &[
                s("Job"),
                i(1),
                st(&[
                    ("JobTitle", s("Renamed")),
                    ("JobNotes", s("leave at door")),
                    ("ShipCity", s("Paris"))
                ])
            ]
        )
        .await
    );
    let (_, o) = rest(&h, &k, Method::GET, "/orders/1", None).await;
    assert_eq!(o["title"], "Renamed");
    assert_eq!(o["notes"], "leave at door");
    assert_eq!(o["shipping_information"]["city"], "Paris");
    assert_eq!(
        o["shipping_information"]["street1"], "1 Main St",
        "other shipping fields kept"
    );
    insta::assert_snapshot!(
        "job_update_read_only",
        call(
            &h,
            &k,
            "DataService.update",
            &[s("Job"), i(1), st(&[("ContactId", i(2))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "job_update_bad_type",
        call(
            &h,
            &k,
            "DataService.update",
            &[s("Job"), i(1), st(&[("OrderType", s("Mail"))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "job_update_unknown_field",
        call(
            &h,
            &k,
            "DataService.update",
            &[s("Job"), i(1), st(&[("Nope", s("x"))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "invoice_add",
        call(
            &h,
            &k,
            "DataService.add",
            &[s("Invoice"), st(&[("ContactId", i(c))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "payment_update",
        call(
            &h,
            &k,
            "DataService.update",
            &[s("Payment"), i(10_001), st(&[("PayAmt", d(1.0))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "order_item_delete",
        call(&h, &k, "DataService.delete", &[s("OrderItem"), i(item)]).await
    );
    insta::assert_snapshot!(
        "job_delete_with_payments",
        call(&h, &k, "DataService.delete", &[s("Job"), i(1)]).await
    );
    insta::assert_snapshot!(
        "invoice_unknown_field",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("Invoice"),
                i(10),
                i(0),
                st(&[("Total", i(1))]),
                arr(&["Id"])
            ]
        )
        .await
    );
}

#[tokio::test]
async fn merge_moves_orders_cards_subscriptions_and_links() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let (keep, p1, _) = world(&h, &k).await;
    let dup = int(&ok(
        &h,
        &k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s("Dup")),
            ("Email", s("dup@example.com")),
        ])],
    )
    .await);
    let third = int(&ok(
        &h,
        &k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s("Third")),
            ("Email", s("third@example.com")),
        ])],
    )
    .await);
    let card_id = card(&h, dup, "4111111111111111").await;
    let (_, plan) = rest(&h, &k, Method::POST, &format!("/products/{p1}/subscriptions"), Some(json!({"cycle_type": "MONTH", "frequency": 1, "plan_price": 3.0, "subscription_plan_index": 1}))).await;
    let plan = plan["id"].as_i64().expect("plan id");
    let placed = ok(
        &h,
        &k,
        "OrderService.placeOrder",
        &[
            i(dup),
            i(card_id),
            i(0),
            ints(&[p1]),
            ints(&[plan]),
            b(false),
            XValue::Array(vec![]),
        ],
    )
    .await;
    assert_eq!(
        field(&placed, "Code").and_then(XValue::as_text).as_deref(),
        Some("APPROVED")
    );
    let friend = keapsake_server::links::create_link_type(&h.state, h.account.id, "Friend", 3)
        .await
        .expect("a type")
        .id;
    ok(
        &h,
        &k,
        "ContactService.linkContacts",
        &[i(dup), i(third), i(friend)],
    )
    .await;
    ok(
        &h,
        &k,
        "ContactService.linkContacts",
        &[i(dup), i(keep), i(friend)],
    )
    .await;

    assert_eq!(
        ok(&h, &k, "ContactService.merge", &[i(keep), i(dup)]).await,
        XValue::Bool(true)
    );

    let (_, o) = rest(&h, &k, Method::GET, "/orders/1", None).await;
    assert_eq!(o["contact"]["id"], json!(keep), "{o}");
    assert!(
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("Invoice"),
                i(10),
                i(0),
                st(&[("ContactId", i(keep))]),
                arr(&["Id"])
            ]
        )
        .await
        .contains("<i4>1</i4>")
    );
    assert!(
        call(
            &h,
            &k,
            "DataService.load",
            &[s("CreditCard"), i(card_id), arr(&["ContactId"])]
        )
        .await
        .contains(&format!("<i4>{keep}</i4>"))
    );
    let (_, subs) = rest(
        &h,
        &k,
        Method::GET,
        &format!("/subscriptions?contact_id={keep}"),
        None,
    )
    .await;
    assert_eq!(
        subs["subscriptions"].as_array().map(Vec::len),
        Some(1),
        "{subs}"
    );
    // The link to the third contact now starts at the kept contact; the one between the two
    // merged contacts is gone.
    insta::assert_snapshot!(
        "merged_links",
        call(&h, &k, "ContactService.listLinkedContacts", &[i(keep)]).await
    );
    // The card moved with its owner: it still pays the moved order's contact.
    let inv = int(&ok(
        &h,
        &k,
        "InvoiceService.createBlankOrder",
        &[i(keep), s("after merge"), date(), i(0), i(0)],
    )
    .await);
    ok(
        &h,
        &k,
        "InvoiceService.addOrderItem",
        &[i(inv), i(p1), i(4), d(1.0), i(1), s(""), s("")],
    )
    .await;
    assert!(
        call(
            &h,
            &k,
            "InvoiceService.chargeInvoice",
            &[i(inv), s(""), i(card_id), i(0), b(false)]
        )
        .await
        .contains("APPROVED")
    );
}

#[tokio::test]
async fn float_noise_in_amounts_is_rounded_but_sub_cents_are_refused() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let (c, p1, _) = world(&h, &k).await;
    let inv = int(&ok(
        &h,
        &k,
        "InvoiceService.createBlankOrder",
        &[i(c), s("noise"), date(), i(0), i(0)],
    )
    .await);
    // 0.1 + 0.2 computed by a client in binary floating point.
    ok(
        &h,
        &k,
        "InvoiceService.addOrderItem",
        &[i(inv), i(p1), i(4), d(0.3), i(1), s(""), s("")],
    )
    .await;
    let noisy = 0.1 + 0.2;
    assert_ne!(
        format!("{noisy}"),
        "0.3",
        "the client's double really is noisy"
    );
    assert_eq!(
        ok(
            &h,
            &k,
            "InvoiceService.addManualPayment",
            &[i(inv), d(noisy), date(), s("Cash"), s(""), b(false)]
        )
        .await,
        XValue::Bool(true)
    );
    assert!(
        call(&h, &k, "InvoiceService.calculateAmountOwed", &[i(inv)])
            .await
            .contains("<double>0.0</double>")
    );
    let (_, pays) = rest(
        &h,
        &k,
        Method::GET,
        &format!("/orders/{inv}/payments"),
        None,
    )
    .await;
    assert_eq!(pays[0]["amount"], json!(0.3));
    // A unit price may have up to six decimals; a payment not more than cents.
    ok(
        &h,
        &k,
        "InvoiceService.addOrderItem",
        &[i(inv), i(0), i(3), d(0.123_456), i(1), s("metered"), s("")],
    )
    .await;
    insta::assert_snapshot!(
        "payment_sub_cent",
        call(
            &h,
            &k,
            "InvoiceService.addManualPayment",
            &[i(inv), d(0.001), date(), s("Cash"), s(""), b(false)]
        )
        .await
    );
}
