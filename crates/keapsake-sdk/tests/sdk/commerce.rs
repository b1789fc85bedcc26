//! The SDK's typed products and orders calls against a real keapsake on both storage backends
//! (`keap/rest-v1.md` §7–§8): every amount goes out as exact decimal text and reads back
//! exactly; products with plans, image and sync; orders with items, payments, transactions and
//! a payment plan; credit cards on file charged through the test gateway; Keap's errors as
//! typed `Error`s.

use keapsake_core::Clock;
use keapsake_sdk::model::{
    Address, ContactInput, Money, NewCreditCard, NewOrder, NewPayment, NewSubscription,
    OrderItemInput, PaymentPlan, ProductInput, SubscriptionPlanInput,
};
use keapsake_sdk::{ContactId, CreditCardId, Error, Keap, OrderId, ProductId};
use keapsake_testkit::{Backend, TestServer};
use time::macros::{date, datetime};

use crate::crm::client;

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

#[track_caller]
fn assert_validation<T: std::fmt::Debug>(r: Result<T, Error>, want: &str) {
    match r {
        Err(Error::Validation { message, .. }) => assert_eq!(message, want),
        other => panic!("expected a 400 {want:?}, got {other:?}"),
    }
}

async fn product(client: &Keap, name: &str, price: &str) -> ProductId {
    client
        .products()
        .create(ProductInput::new().name(name).price(money(price)))
        .send()
        .await
        .unwrap()
        .id
}

async fn products_round_trip(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = client(&srv).await;
    let products = client.products();

    let created = products
        .create(
            ProductInput::new()
                .name("Widget")
                .price(money("19.99"))
                .sku("W-1")
                .description("A widget")
                .short_description("Widget"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    assert_eq!(created.product_name.as_deref(), Some("Widget"));
    assert_eq!(created.product_price, Some(money("19.99")));
    assert_eq!(created.is_active(), Some(true));
    let id = created.id;
    let got = products.get(id).send().await.unwrap();
    assert_eq!(got.sku.as_deref(), Some("W-1"));
    assert_eq!(
        got.product_price.as_ref().and_then(Money::cents),
        Some(1999)
    );

    // Update only what is set.
    let changed = products
        .update(id, ProductInput::new().price(money("0.10")).active(false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.product_price.as_ref().and_then(Money::cents),
        Some(10)
    );
    assert_eq!(changed.product_name.as_deref(), Some("Widget"));
    assert_eq!(changed.is_active(), Some(false));
    assert_validation(
        products
            .create(ProductInput::new().sku("no name"))
            .send()
            .await,
        "product_name is required",
    );

    // Lists: the list shape says `status`; the active filter.
    let other = product(&client, "Gizmo", "5").await;
    let all = products.list().send().await.unwrap();
    assert_eq!(all.count(), Some(2));
    let inactive = products.list().active(false).send().await.unwrap();
    assert_eq!(inactive.iter().map(|p| p.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(inactive.items()[0].status, Some(0));
    assert_eq!(inactive.items()[0].is_active(), Some(false));
    let paged = products.list().limit(1).send().await.unwrap();
    assert_eq!(paged.len(), 1);
    assert!(paged.has_next());

    // Plans.
    let mut plan = SubscriptionPlanInput::new("MONTH", money("9.99"));
    plan.frequency = Some(2);
    let p = products.create_plan(id, plan).send().await.unwrap();
    assert_eq!(p.cycle_type.as_deref(), Some("MONTH"));
    assert_eq!(p.plan_price, Some(money("9.99")));
    assert_eq!(p.frequency, Some(2));
    assert_eq!(products.get_plan(id, p.id).send().await.unwrap().id, p.id);
    assert_eq!(
        products
            .get(id)
            .send()
            .await
            .unwrap()
            .subscription_plans
            .len(),
        1
    );
    products.delete_plan(id, p.id).send().await.unwrap();
    assert!(matches!(
        products.get_plan(id, p.id).send().await,
        Err(Error::NotFound { .. })
    ));

    // Image.
    products
        .upload_image(id, "gear.png", b"\x89PNG\r\n\x1a\nrest")
        .send()
        .await
        .unwrap();
    assert!(matches!(
        products.upload_image(id, "gear.bmp", b"BM").send().await,
        Err(Error::Validation { .. })
    ));
    products.delete_image(id).send().await.unwrap();

    // Sync: everything first, then what changed since the token.
    srv.clock.advance(time::Duration::milliseconds(5));
    let first = products.sync().send().await.unwrap();
    assert_eq!(first.count(), Some(2));
    assert!(first.iter().all(|s| s.status == "CREATED"));
    let token = first.sync_token().expect("a sync token").to_owned();
    srv.clock.advance(time::Duration::milliseconds(5));
    products.delete(other).send().await.unwrap();
    srv.clock.advance(time::Duration::milliseconds(5));
    let since = products.sync().sync_token(token).send().await.unwrap();
    let got: Vec<(ProductId, &str)> = since
        .iter()
        .map(|s| (s.product.id, s.status.as_str()))
        .collect();
    assert_eq!(got, vec![(other, "DELETED")]);
    assert!(matches!(
        products.get(other).send().await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        products.sync().sync_token("not-a-token").send().await,
        Err(Error::Validation { .. })
    ));
    srv.stop().await;
}

async fn orders_round_trip(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = client(&srv).await;
    let orders = client.orders();
    let grace = client
        .contacts()
        .create(
            ContactInput::new()
                .given_name("Grace")
                .email("grace@example.com"),
        )
        .send()
        .await
        .unwrap()
        .id;
    let widget = product(&client, "Widget", "19.99").await;
    let gizmo = product(&client, "Gizmo", "0.1").await;

    // 2 × 19.99 + 3 × 33.335 + 1 × 0.2 = 140.185 → 140.19 (half-up, exact).
    let at = datetime!(2024-05-21 14:30 UTC);
    let order = orders
        .create(
            NewOrder::new(grace, "Three things", at)
                .item(OrderItemInput::new(widget, 2))
                .item(OrderItemInput::new(gizmo, 3).price(money("33.335")))
                .item(OrderItemInput::new(gizmo, 1).price(money("0.2"))),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    assert_eq!(order.total, Some(money("140.19")));
    assert_eq!(order.status.as_deref(), Some("DRAFT"));
    assert_eq!(order.order_date, Some(at));
    assert_eq!(order.order_items.len(), 3);
    assert_eq!(order.order_items[1].price, Some(money("33.335")));
    assert_eq!(order.contact.as_ref().and_then(|c| c.id), Some(grace));
    let id = order.id;

    // Items: add one, delete it; the totals follow.
    let extra = orders
        .add_item(id, OrderItemInput::new(widget, 1).description("spare"))
        .send()
        .await
        .unwrap();
    assert_eq!(extra.quantity, Some(1));
    assert_eq!(
        orders.get(id).send().await.unwrap().total,
        Some(money("160.18"))
    );
    orders.delete_item(id, extra.id).send().await.unwrap();
    let got = orders.get(id).send().await.unwrap();
    assert_eq!(got.total, Some(money("140.19")));
    assert_eq!(
        got.contact_id,
        Some(grace),
        "GET /orders writes contact_id as text"
    );

    // Payments.
    let paid = orders
        .create_payment(id, NewPayment::check(money("100.00")))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.invoice_id, Some(id));
    assert_eq!(
        paid.payment_amount.as_ref().and_then(Money::cents),
        Some(10000)
    );
    assert_validation(
        orders
            .create_payment(id, NewPayment::cash(money("40.20")))
            .send()
            .await,
        "payment_amount 40.2 is more than the 40.19 due on this order",
    );
    orders
        .create_payment(id, NewPayment::cash(money("40.19")).notes("rest"))
        .send()
        .await
        .unwrap();
    let done = orders.get(id).send().await.unwrap();
    assert_eq!(done.status.as_deref(), Some("PAID"));
    assert_eq!(done.total_paid, Some(money("140.19")));
    assert_eq!(done.total_due.as_ref().and_then(Money::cents), Some(0));
    let payments = orders.payments(id).send().await.unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[1].note.as_deref(), Some("rest"));

    // Transactions.
    let tx = orders.all_transactions().send().await.unwrap();
    assert_eq!(tx.count(), Some(2));
    let one = orders.transaction(tx.items()[1].id).send().await.unwrap();
    assert_eq!(one.amount, Some(money("40.19")));
    assert_eq!(orders.transactions(id).send().await.unwrap().len(), 2);

    // Lists and filters.
    assert_eq!(
        orders.list().paid(true).send().await.unwrap().count(),
        Some(1)
    );
    assert_eq!(
        orders.list().product(gizmo).send().await.unwrap().count(),
        Some(1)
    );
    assert_eq!(
        orders.list().contact(grace).send().await.unwrap().items()[0].id,
        id
    );

    // Payment plan.
    let mut plan = PaymentPlan::new(3, 30, date!(2024 - 06 - 01));
    plan.initial_payment_amount = Some(money("10.50"));
    let unpaid = orders
        .create(
            NewOrder::new(grace, "Later", srv.clock.now())
                .offline()
                .item(OrderItemInput::new(widget, 1)),
        )
        .send()
        .await
        .unwrap();
    let stored = orders
        .replace_payment_plan(unpaid.id, plan.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stored.number_of_payments, 3);
    assert_eq!(stored.initial_payment_amount, Some(money("10.5")));
    assert_eq!(stored.plan_start_date, Some(date!(2024 - 06 - 01)));

    // Subscriptions to a plan of the widget: amount = plan price × quantity, exact.
    let plan = client
        .products()
        .create_plan(widget, SubscriptionPlanInput::new("MONTH", money("9.995")))
        .send()
        .await
        .unwrap();
    let sub = client
        .subscriptions()
        .create(
            NewSubscription::new(grace, plan.id)
                .quantity(3)
                .first_bill_date(date!(2024 - 01 - 31)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sub.billing_amount, Some(money("29.99")));
    assert_eq!(sub.billing_cycle.as_deref(), Some("MONTH"));
    assert_eq!(sub.start_date, Some(date!(2024 - 01 - 31)));
    assert_eq!(sub.product_id, Some(widget));
    assert!(matches!(
        client
            .subscriptions()
            .create(NewSubscription::new(grace, plan.id))
            .send()
            .await,
        Err(Error::Validation { .. })
    ));
    let subs = client
        .subscriptions()
        .list()
        .contact(grace)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.iter().map(|s| s.id).collect::<Vec<_>>(), vec![sub.id]);
    client.subscriptions().model().send().await.unwrap();
    let model = orders.model().send().await.unwrap();
    assert!(model.custom_fields.is_empty(), "{model:?}");

    // Delete rules and errors.
    assert_validation(
        orders.delete(id).send().await,
        "An order with payments cannot be deleted (this one has 2)",
    );
    orders.delete(unpaid.id).send().await.unwrap();
    assert!(matches!(
        orders.get(unpaid.id).send().await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        orders.get(OrderId(999_999)).send().await,
        Err(Error::NotFound { .. })
    ));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_product_calls_against_keapsake_on_both_backends() {
    for backend in Backend::ALL {
        products_round_trip(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_order_calls_against_keapsake_on_both_backends() {
    for backend in Backend::ALL {
        orders_round_trip(backend).await;
    }
}

async fn credit_cards_round_trip(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = client(&srv).await;
    let contacts = client.contacts();
    let ada = contacts
        .create(
            ContactInput::new()
                .given_name("Ada")
                .email("ada@example.com"),
        )
        .send()
        .await
        .unwrap()
        .id;
    assert!(contacts.credit_cards(ada).send().await.unwrap().is_empty());

    let added = contacts
        .add_credit_card(
            ada,
            NewCreditCard::new("4111 1111 1111 1111", 7, 2099)
                .verification_code("123")
                .name_on_card("Ada Lovelace")
                .email_address("ada@example.com")
                .address(Address {
                    line1: Some("1 Main St".into()),
                    zip_code: Some("85001".into()),
                    country_code: Some("USA".into()),
                    ..Address::default()
                }),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    assert_eq!(added.contact_id, Some(ada));
    assert_eq!(added.card_type.as_deref(), Some("Visa"));
    assert_eq!(added.expiration_month.as_deref(), Some("07"));
    assert_eq!(added.expiration_year.as_deref(), Some("2099"));
    assert_eq!(added.validation_status.as_deref(), Some("Valid"));
    let address = added.address.clone().unwrap();
    assert_eq!(
        (address.field.as_deref(), address.zip_code.as_deref()),
        (Some("BILLING"), Some("85001"))
    );
    let declined = contacts
        .add_credit_card(ada, NewCreditCard::new("4000000000000002", 12, 2099))
        .send()
        .await
        .unwrap();

    let listed = contacts.credit_cards(ada).send().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| (c.id, c.card_number.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            (added.id, Some("************1111")),
            (declined.id, Some("************0002"))
        ]
    );
    assert_eq!(
        listed[0].payment_method_id.as_deref(),
        Some(added.id.to_string().as_str())
    );

    // Keap's errors as typed errors.
    assert_validation(
        contacts
            .add_credit_card(ada, NewCreditCard::new("4111111111111112", 12, 2099))
            .send()
            .await,
        "card_number is not a valid card number (check digit)",
    );
    assert_validation(
        contacts
            .add_credit_card(ada, NewCreditCard::new("4111111111111111", 1, 2020))
            .send()
            .await,
        "The card has expired",
    );
    assert!(matches!(
        contacts.credit_cards(ContactId(999_999)).send().await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        contacts
            .add_credit_card(
                ContactId(999_999),
                NewCreditCard::new("4111111111111111", 12, 2099)
            )
            .send()
            .await,
        Err(Error::NotFound { .. })
    ));

    // Charging: a decline records nothing; the approved card pays.
    let gear = product(&client, "Gear", "30.00").await;
    let orders = client.orders();
    let order = orders
        .create(NewOrder::new(ada, "Gear", srv.clock.now()).item(OrderItemInput::new(gear, 1)))
        .send()
        .await
        .unwrap()
        .id;
    assert_validation(
        orders
            .create_payment(order, NewPayment::charge_card(money("30.00"), declined.id))
            .send()
            .await,
        "The card was declined",
    );
    assert_validation(
        orders
            .create_payment(
                order,
                NewPayment::charge_card(money("30.00"), CreditCardId(999)),
            )
            .send()
            .await,
        "Credit card 999 does not exist",
    );
    assert!(orders.payments(order).send().await.unwrap().is_empty());
    let paid = orders
        .create_payment(order, NewPayment::charge_card(money("30.00"), added.id))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.payment_status.as_deref(), Some("APPROVED"));
    assert_eq!(
        orders.get(order).send().await.unwrap().status.as_deref(),
        Some("PAID")
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typed_credit_card_calls_against_keapsake_on_both_backends() {
    for backend in Backend::ALL {
        credit_cards_round_trip(backend).await;
    }
}
