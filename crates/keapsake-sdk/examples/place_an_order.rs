//! Create a contact and a product, place an order with two items, record a payment, and print
//! the totals.
//!
//! ```text
//! keapsake serve --demo &
//! export KEAP_ACCESS_TOKEN=$(keapsake token mint --app keapsake-demo-app \
//!     --user demo@keapsake.test --account demo1 --json | jq -r .access_token)
//! KEAP_BASE_URL=http://127.0.0.1:8080 cargo run -p keapsake-sdk --example place_an_order
//! ```
//!
//! `KEAP_ACCESS_TOKEN` is an OAuth access token (`KEAP_REFRESH_TOKEN`, `KEAP_CLIENT_ID` and
//! `KEAP_CLIENT_SECRET` let the client refresh it). `KEAP_BASE_URL` points at keapsake; leave
//! it out to talk to Keap. Amounts are exact decimal text ([`keapsake_sdk::model::Money`]),
//! never floats.

use keapsake_sdk::model::{
    ContactInput, Money, NewOrder, NewPayment, OrderItemInput, ProductInput,
};
use keapsake_sdk::{Keap, MemoryTokenStore, OAuthApp, Token};

fn client() -> Result<Keap, Box<dyn std::error::Error>> {
    let access = std::env::var("KEAP_ACCESS_TOKEN").map_err(|_| "set KEAP_ACCESS_TOKEN")?;
    let refresh = std::env::var("KEAP_REFRESH_TOKEN").ok();
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let app = OAuthApp::new(
        var("KEAP_CLIENT_ID", "keapsake-demo-app"),
        var("KEAP_CLIENT_SECRET", "keapsake-demo-secret"),
        var("KEAP_REDIRECT_URI", "http://127.0.0.1:8765/callback"),
    );
    let mut b = Keap::builder()
        .oauth(app)
        .token_store(MemoryTokenStore::with_token(Token::new(
            access, refresh, None,
        )));
    if let Ok(base) = std::env::var("KEAP_BASE_URL") {
        b = b.base_url(base);
    }
    Ok(b.build()?)
}

/// An amount with cents (`"4.50"`; Keap answers numbers, so `4.5` reads as `"4.5"`).
fn show(m: &Option<Money>) -> String {
    m.as_ref()
        .map_or_else(|| "-".to_owned(), |m| m.padded(2).to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = client()?;
    let suffix = time::OffsetDateTime::now_utc().unix_timestamp();

    let buyer = client
        .contacts()
        .create(
            ContactInput::new()
                .given_name("Ada")
                .family_name("Lovelace")
                .email(format!("ada-{suffix}@example.com")),
        )
        .send()
        .await?;
    println!("contact  {}  Ada Lovelace", buyer.id);

    let price: Money = "19.99".parse()?;
    let widget = client
        .products()
        .create(
            ProductInput::new()
                .name("Difference Engine gear")
                .price(price)
                .sku(format!("GEAR-{suffix}")),
        )
        .send()
        .await?;
    println!(
        "product  {}  {} at {}",
        widget.id,
        widget.product_name.as_deref().unwrap_or(""),
        show(&widget.product_price)
    );

    let order = client
        .orders()
        .create(
            NewOrder::new(
                buyer.id,
                "Gears for the engine",
                time::OffsetDateTime::now_utc(),
            )
            .item(OrderItemInput::new(widget.id, 3))
            .item(
                OrderItemInput::new(widget.id, 1)
                    .price("4.50".parse()?)
                    .description("a spare, at the discounted price"),
            ),
        )
        .send()
        .await?;
    println!(
        "order    {}  \"{}\"",
        order.id,
        order.title.as_deref().unwrap_or("")
    );
    for item in &order.order_items {
        println!(
            "  item {:>4}  {} x {}",
            item.id,
            item.quantity.unwrap_or(0),
            show(&item.price)
        );
    }
    println!(
        "  total {}  paid {}  due {}  status {}",
        show(&order.total),
        show(&order.total_paid),
        show(&order.total_due),
        order.status.as_deref().unwrap_or("-")
    );

    let paid = client
        .orders()
        .create_payment(
            order.id,
            NewPayment::cash("50.00".parse()?).notes("cash at the counter"),
        )
        .send()
        .await?;
    println!(
        "payment  {}  {} ({})",
        paid.id,
        show(&paid.payment_amount),
        paid.payment_status.as_deref().unwrap_or("-")
    );

    let after = client.orders().get(order.id).send().await?;
    println!(
        "order    {}  total {}  paid {}  due {}  status {}",
        after.id,
        show(&after.total),
        show(&after.total_paid),
        show(&after.total_due),
        after.status.as_deref().unwrap_or("-")
    );
    let payments = client.orders().payments(order.id).send().await?;
    println!("{} payment(s) on the order", payments.len());
    Ok(())
}
