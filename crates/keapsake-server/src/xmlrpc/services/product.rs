//! `ProductService` (`keap/xmlrpc.md` §4.6): the inventory count of a product (never below 0:
//! `[InvalidParameter]`, nothing changed) and deactivating a card on file. Each change is one
//! atomic edit of the stored document, so concurrent decrements never oversell.

use crate::xmlrpc::codec::XValue;
use crate::xmlrpc::dispatch::{Args, Cx};
use crate::xmlrpc::fault::{Code, Fault, XResult};
use keapsake_core::StoreError;
use keapsake_core::commerce::card::CardDoc;
use keapsake_core::commerce::product::ProductDoc;
use keapsake_core::records::{Edited, RecordKind};

/// Dispatches `ProductService.<method>`.
///
/// # Errors
/// The method's faults; `[UnknownMethod]`.
pub async fn call(cx: &Cx, method: &str, a: Args) -> XResult<XValue> {
    match method {
        "getInventory" => {
            a.arity(&[1])?;
            let id = a.int(0)?;
            let record = cx
                .state
                .store
                .get_record(cx.principal.account_id, RecordKind::Product, id)
                .await?;
            let doc = ProductDoc::from_value(&record.data).map_err(|_| Fault::internal())?;
            Ok(XValue::Int(doc.inventory()))
        }
        "incrementInventory" => {
            a.arity(&[1])?;
            adjust(cx, a.int(0)?, 1).await
        }
        "decrementInventory" => {
            a.arity(&[1])?;
            adjust(cx, a.int(0)?, -1).await
        }
        "increaseInventory" => {
            a.arity(&[2])?;
            adjust(cx, a.int(0)?, quantity(&a)?).await
        }
        "decreaseInventory" => {
            a.arity(&[2])?;
            adjust(cx, a.int(0)?, -quantity(&a)?).await
        }
        "deactivateCreditCard" => {
            a.arity(&[1])?;
            cx.require_write()?;
            let id = a.int(0)?;
            let edited = cx
                .state
                .store
                .update_record(
                    cx.principal.account_id,
                    RecordKind::CreditCard,
                    id,
                    Box::new(|_, data| {
                        let mut doc = CardDoc::from_value(data)?;
                        doc.deactivate();
                        *data = doc.to_value();
                        Ok(doc.keys())
                    }),
                    cx.state.clock.now(),
                )
                .await;
            match edited {
                Ok(Edited::Updated(_)) => Ok(XValue::Bool(true)),
                Ok(Edited::Rejected(m)) => Err(Fault::invalid(m)),
                Err(StoreError::NotFound) => Err(Fault::not_found()),
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(Fault::new(Code::UnknownMethod, "")),
    }
}

/// The quantity of `increase`/`decreaseInventory`: an integer ≥ 0.
fn quantity(a: &Args) -> XResult<i64> {
    let q = a.int(1)?;
    if !(0..=i64::from(i32::MAX)).contains(&q) {
        return Err(Fault::invalid(
            "Parameter 2 (quantity) must be between 0 and 2147483647",
        ));
    }
    Ok(q)
}

/// Adds `by` units to a product's count, atomically; below 0 is refused.
async fn adjust(cx: &Cx, id: i64, by: i64) -> XResult<XValue> {
    cx.require_write()?;
    let edited = cx
        .state
        .store
        .update_record(
            cx.principal.account_id,
            RecordKind::Product,
            id,
            Box::new(move |_, data| {
                let mut doc = ProductDoc::from_value(data)?;
                doc.adjust_inventory(by)
                    .map_err(|e| format!("Inventory of product {id}: {e}"))?;
                *data = doc.to_value();
                Ok(doc.keys())
            }),
            cx.state.clock.now(),
        )
        .await?;
    match edited {
        Edited::Updated(_) => Ok(XValue::Bool(true)),
        Edited::Rejected(m) => Err(Fault::invalid(m)),
    }
}
