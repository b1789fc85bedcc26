//! What `/notes` and `/tasks` share: a record of a contact, owned by a user of the account (the
//! acting user by default on create and replace), and the `PUT`/`PATCH` path that edits it.

use super::common::{ensure_contact, ensure_member, stored};
use super::list::{object, require_write};
use crate::error::ApiError;
use crate::extract::Principal;
use crate::state::AppState;
use keapsake_core::crm::Field;
use keapsake_core::crm_more::Mode;
use keapsake_core::crm_more::note::{NoteBody, NoteChanges};
use keapsake_core::crm_more::task::{TaskBody, TaskChanges};
use keapsake_core::records::{Edit, Keys, Record, RecordKind};
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

/// The changes a note or task body asks for.
pub(super) trait OwnedChanges: Sized + Send + 'static {
    /// The request body they are read from.
    type Body: DeserializeOwned;
    /// The kind of record they change.
    const KIND: RecordKind;
    /// The record's name in a 404 (`Unable to find this <NAME>`).
    const NAME: &'static str;
    /// Validates `body` for `mode`; the error is the 400 message.
    fn from_body(body: Self::Body, mode: Mode) -> Result<Self, String>;
    /// The owner (`user_id`) the changes set.
    fn owner(&mut self) -> &mut Field<i64>;
    /// The contact the changes point the record at, if any.
    fn contact_to_check(&self) -> Option<i64>;
    /// The user the changes assign, if any.
    fn user_to_check(&self) -> Option<i64>;
}

macro_rules! owned_changes {
    ($changes:ty, $body:ty, $kind:expr, $name:expr) => {
        impl OwnedChanges for $changes {
            type Body = $body;
            const KIND: RecordKind = $kind;
            const NAME: &'static str = $name;
            fn from_body(body: $body, mode: Mode) -> Result<Self, String> {
                body.into_changes(mode)
            }
            fn owner(&mut self) -> &mut Field<i64> {
                &mut self.user_id
            }
            fn contact_to_check(&self) -> Option<i64> {
                self.contact()
            }
            fn user_to_check(&self) -> Option<i64> {
                self.user()
            }
        }
    };
}

owned_changes!(NoteChanges, NoteBody, RecordKind::Note, super::notes::NOTE);
owned_changes!(TaskChanges, TaskBody, RecordKind::Task, super::tasks::TASK);

/// Parses a body for `mode`, fills the default user, and checks the contact and the user
/// belong to this account.
///
/// # Errors
/// 400 for an invalid body, an unknown contact or a user not of the account.
pub(super) async fn changes<C: OwnedChanges>(
    state: &AppState,
    principal: &Principal,
    body: Value,
    mode: Mode,
) -> Result<C, ApiError> {
    let body: C::Body = object(body)?;
    let mut changes = C::from_body(body, mode).map_err(ApiError::bad_request)?;
    if mode != Mode::Patch
        && *changes.owner() == Field::Null
        && let Some(user) = principal.user_id
    {
        *changes.owner() = Field::Set(user.0);
    }
    let account = principal.account_id;
    if let Some(contact) = changes.contact_to_check() {
        ensure_contact(state, account, contact).await?;
    }
    if let Some(user) = changes.user_to_check() {
        ensure_member(state, account, user, "user_id").await?;
    }
    Ok(changes)
}

/// The `PUT` (`Mode::Replace`) and `PATCH` (`Mode::Patch`) path of a note or a task: refuses a
/// read-only credential, reads the body as [`changes`] does, then awaits `context` (what the
/// update needs besides the changes and the time, e.g. the acting user) and writes what `apply`
/// makes of the stored document of record `id`. Returns the updated record.
///
/// # Errors
/// 403 (read-only key), 400 (the body, or `apply` refusing), 404 `Unable to find this <NAME>`.
pub(super) async fn edit<C, T>(
    state: &AppState,
    principal: &Principal,
    id: i64,
    body: Value,
    mode: Mode,
    context: impl Future<Output = Result<T, ApiError>>,
    apply: impl FnOnce(&mut Value, &C, T, OffsetDateTime) -> Result<Keys, String> + Send + 'static,
) -> Result<Record, ApiError>
where
    C: OwnedChanges,
    T: Send + 'static,
{
    require_write(principal)?;
    let changes: C = changes(state, principal, body, mode).await?;
    let context = context.await?;
    let now = state.clock.now();
    let edit: Edit = Box::new(move |_, data| apply(data, &changes, context, now));
    stored(
        state
            .store
            .update_record(principal.account_id, C::KIND, id, edit, now)
            .await,
        C::NAME,
    )
}
