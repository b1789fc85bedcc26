//! Orders, their items, payments, transactions and payment plan (`keap/rest-v1.md` §8).

use futures_util::stream::BoxStream;
use reqwest::Method;
use time::OffsetDateTime;

use super::simple::{body, simple_call};
use crate::client::Keap;
use crate::error::Result;
use crate::ids::{ContactId, OrderId, OrderItemId, ProductId, TransactionId};
use crate::model::{
    NewOrder, NewPayment, Order, OrderItem, OrderItemInput, Payment, PaymentPlan, PaymentResult,
    Transaction,
};
use crate::page::{Page, stream_from};

/// The orders handler. From [`Keap::orders`].
#[derive(Debug, Clone)]
pub struct Orders {
    client: Keap,
}

fn path(id: OrderId) -> String {
    format!("rest/v1/orders/{id}")
}

impl Orders {
    pub(crate) fn new(client: Keap) -> Self {
        Orders { client }
    }

    /// `GET /orders`.
    pub fn list(&self) -> ListOrders {
        ListOrders {
            client: self.client.clone(),
            contact: None,
            product: None,
            paid: None,
            since: None,
            until: None,
            order: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /orders/{id}`.
    pub fn get(&self, id: impl Into<OrderId>) -> GetOrder {
        GetOrder::new(self.client.clone(), Method::GET, path(id.into()), None)
    }

    /// `POST /orders` (201): the contact and every product must exist; totals are computed
    /// by the server.
    pub fn create(&self, order: NewOrder) -> CreateOrder {
        CreateOrder::new(
            self.client.clone(),
            Method::POST,
            "rest/v1/orders".into(),
            body(&order),
        )
    }

    /// `DELETE /orders/{id}` (204; refused for an order with payments).
    pub fn delete(&self, id: impl Into<OrderId>) -> DeleteOrder {
        DeleteOrder::new(self.client.clone(), Method::DELETE, path(id.into()), None)
    }

    /// `POST /orders/{id}/items` (201): adds an item.
    pub fn add_item(&self, order: impl Into<OrderId>, item: OrderItemInput) -> AddOrderItem {
        AddOrderItem::new(
            self.client.clone(),
            Method::POST,
            format!("{}/items", path(order.into())),
            body(&item),
        )
    }

    /// `DELETE /orders/{id}/items/{item_id}` (204).
    pub fn delete_item(
        &self,
        order: impl Into<OrderId>,
        item: impl Into<OrderItemId>,
    ) -> DeleteOrderItem {
        DeleteOrderItem::new(
            self.client.clone(),
            Method::DELETE,
            format!("{}/items/{}", path(order.into()), item.into()),
            None,
        )
    }

    /// `GET /orders/{id}/payments`: every payment, oldest first (a bare array).
    pub fn payments(&self, order: impl Into<OrderId>) -> ListPayments {
        ListPayments::new(
            self.client.clone(),
            Method::GET,
            format!("{}/payments", path(order.into())),
            None,
        )
    }

    /// `POST /orders/{id}/payments` (201): records a payment.
    pub fn create_payment(&self, order: impl Into<OrderId>, payment: NewPayment) -> CreatePayment {
        CreatePayment::new(
            self.client.clone(),
            Method::POST,
            format!("{}/payments", path(order.into())),
            body(&payment),
        )
    }

    /// `PUT /orders/{id}/paymentPlan`: replaces the payment plan.
    pub fn replace_payment_plan(
        &self,
        order: impl Into<OrderId>,
        plan: PaymentPlan,
    ) -> ReplacePaymentPlan {
        ReplacePaymentPlan::new(
            self.client.clone(),
            Method::PUT,
            format!("{}/paymentPlan", path(order.into())),
            body(&plan),
        )
    }

    /// `GET /orders/{id}/transactions`: the order's payments as transactions.
    pub fn transactions(&self, order: impl Into<OrderId>) -> ListTransactions {
        ListTransactions {
            client: self.client.clone(),
            target: format!("{}/transactions", path(order.into())),
            contact: None,
            since: None,
            until: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /orders/model`: the order custom fields.
    pub fn model(&self) -> GetOrderModel {
        GetOrderModel::new(
            self.client.clone(),
            Method::GET,
            "rest/v1/orders/model".into(),
            None,
        )
    }

    /// `GET /transactions`: every transaction of the account.
    pub fn all_transactions(&self) -> ListTransactions {
        let mut l = self.transactions(0);
        l.target = "rest/v1/transactions".into();
        l
    }

    /// `GET /transactions/{id}`.
    pub fn transaction(&self, id: impl Into<TransactionId>) -> GetTransaction {
        GetTransaction::new(
            self.client.clone(),
            Method::GET,
            format!("rest/v1/transactions/{}", id.into()),
            None,
        )
    }
}

simple_call!(
    /// `GET /orders/{id}`. From [`Orders::get`].
    GetOrder -> Order
);
simple_call!(
    /// `POST /orders`. From [`Orders::create`].
    CreateOrder -> Order
);
simple_call!(
    /// `DELETE /orders/{id}`. From [`Orders::delete`].
    DeleteOrder -> ()
);
simple_call!(
    /// `POST /orders/{id}/items`. From [`Orders::add_item`].
    AddOrderItem -> OrderItem
);
simple_call!(
    /// `DELETE /orders/{id}/items/{item_id}`. From [`Orders::delete_item`].
    DeleteOrderItem -> ()
);
simple_call!(
    /// `GET /orders/{id}/payments`. From [`Orders::payments`].
    ListPayments -> Vec<Payment>
);
simple_call!(
    /// `POST /orders/{id}/payments`. From [`Orders::create_payment`].
    CreatePayment -> PaymentResult
);
simple_call!(
    /// `PUT /orders/{id}/paymentPlan`. From [`Orders::replace_payment_plan`].
    ReplacePaymentPlan -> PaymentPlan
);
simple_call!(
    /// `GET /orders/model`. From [`Orders::model`].
    GetOrderModel -> crate::model::ObjectModel
);
simple_call!(
    /// `GET /transactions/{id}`. From [`Orders::transaction`].
    GetTransaction -> Transaction
);

/// Sort key for [`ListOrders::order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSort {
    /// `order_date`.
    OrderDate,
    /// `update_date`.
    UpdateDate,
}

/// `GET /orders`. From [`Orders::list`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListOrders {
    client: Keap,
    contact: Option<ContactId>,
    product: Option<ProductId>,
    paid: Option<bool>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    order: Option<OrderSort>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListOrders {
    /// Only this contact's orders.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Only orders with an item of this product.
    pub fn product(mut self, id: impl Into<ProductId>) -> Self {
        self.product = Some(id.into());
        self
    }

    /// Only paid (`true`) or unpaid (`false`) orders.
    pub fn paid(mut self, v: bool) -> Self {
        self.paid = Some(v);
        self
    }

    /// Changed at or after.
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }

    /// Changed at or before.
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }

    /// Sort key.
    pub fn order(mut self, o: OrderSort) -> Self {
        self.order = Some(o);
        self
    }

    /// Page size.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Items to skip.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Fetches the first page.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) for a rejected parameter, or any
    /// request error.
    pub async fn send(self) -> Result<Page<Order>> {
        let fmt = |t: OffsetDateTime| crate::date::format_datetime(t);
        let resp = self
            .client
            .request(Method::GET, "rest/v1/orders")
            .query_opt("contact_id", self.contact)
            .query_opt("product_id", self.product)
            .query_opt("paid", self.paid)
            .query_opt("since", self.since.map(fmt))
            .query_opt("until", self.until.map(fmt))
            .query_opt(
                "order",
                self.order.map(|o| match o {
                    OrderSort::OrderDate => "order_date",
                    OrderSort::UpdateDate => "update_date",
                }),
            )
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "orders", resp)
    }

    /// Every matching order, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<Order>> {
        stream_from(self.send())
    }
}

/// `GET /transactions` or `GET /orders/{id}/transactions`. From [`Orders::transactions`] and
/// [`Orders::all_transactions`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListTransactions {
    client: Keap,
    target: String,
    contact: Option<ContactId>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListTransactions {
    /// Only this contact's.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Paid at or after.
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }

    /// Paid at or before.
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }

    /// Page size.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Items to skip.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Fetches the first page.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<Page<Transaction>> {
        let fmt = |t: OffsetDateTime| crate::date::format_datetime(t);
        let resp = self
            .client
            .request(Method::GET, self.target)
            .query_opt("contact_id", self.contact)
            .query_opt("since", self.since.map(fmt))
            .query_opt("until", self.until.map(fmt))
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "transactions", resp)
    }

    /// Every matching transaction, page after page.
    pub fn stream(self) -> BoxStream<'static, Result<Transaction>> {
        stream_from(self.send())
    }
}
