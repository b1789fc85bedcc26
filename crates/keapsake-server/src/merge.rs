//! What merging two contacts moves besides fields, tags, notes and tasks (XML-RPC
//! `ContactService.merge`, REST v2 `contacts:merge`): the duplicate's orders, subscriptions,
//! cards on file and links, so nothing of it is left pointing at a deleted contact.

use crate::error::ApiError;
use crate::state::AppState;
use keapsake_core::AccountId;

/// The duplicate's orders (with their payments), subscriptions and cards on file move to the
/// kept contact, and its links are re-made from the kept contact (a link between the two is
/// dropped; one the kept contact's type limit refuses is dropped too).
///
/// # Errors
/// Store failures; an edit a document refuses (400).
pub async fn move_commerce_and_links(
    state: &AppState,
    account: AccountId,
    keep: i64,
    dup: i64,
) -> Result<(), ApiError> {
    use keapsake_core::commerce::card::{self, CardDoc};
    use keapsake_core::commerce::order;
    use keapsake_core::commerce::subscription::{self, SubscriptionDoc};
    use keapsake_core::records::{Cond, Edited, RecordKind};
    let of = |key| vec![Cond::IntEq(key, dup)];
    for r in crate::rest::v1::common::all_records(
        state,
        account,
        RecordKind::Order,
        of(order::CONTACT_KEY),
    )
    .await?
    {
        crate::rest::v1::orders::edit_order(state, account, r.id, move |_, d, _| {
            d.contact_id = keep;
            Ok(())
        })
        .await?;
    }
    let now = state.clock.now();
    for r in crate::rest::v1::common::all_records(
        state,
        account,
        RecordKind::Subscription,
        of(subscription::CONTACT_KEY),
    )
    .await?
    {
        let edited = state
            .store
            .update_record(
                account,
                RecordKind::Subscription,
                r.id,
                Box::new(move |_, data| {
                    let mut d = SubscriptionDoc::from_value(data)?;
                    d.contact_id = keep;
                    *data = d.to_value();
                    Ok(d.keys())
                }),
                now,
            )
            .await?;
        if let Edited::Rejected(m) = edited {
            return Err(ApiError::bad_request(m));
        }
    }
    for r in crate::rest::v1::common::all_records(
        state,
        account,
        RecordKind::CreditCard,
        of(card::CONTACT_KEY),
    )
    .await?
    {
        let edited = state
            .store
            .update_record(
                account,
                RecordKind::CreditCard,
                r.id,
                Box::new(move |_, data| {
                    let mut d = CardDoc::from_value(data)?;
                    d.contact_id = keep;
                    *data = d.to_value();
                    Ok(d.keys())
                }),
                now,
            )
            .await?;
        if let Edited::Rejected(m) = edited {
            return Err(ApiError::bad_request(m));
        }
    }
    for l in crate::links::links_of(state, account, dup).await? {
        let other = l.link.other(dup);
        crate::links::unlink(state, account, dup, other, l.link.link_type_id).await?;
        if other != keep {
            match crate::links::link(state, account, keep, other, l.link.link_type_id).await {
                Ok(_) => {}
                Err(e) if e.status == axum::http::StatusCode::BAD_REQUEST => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
