//! Typed REST v1 resources: one handler per resource, one builder per operation, each ending in
//! `.send()` (and, for lists, `.stream()` over every page).

mod account;
mod contacts;
mod tags;
mod userinfo;

pub use account::{Account, GetProfile, UpdateProfile};
pub use contacts::{
    ApplyTagsToContact, ContactOrder, Contacts, CreateContact, DeleteContact, GetContact, ListContactTags,
    ListContacts, OrderDirection, RemoveTagsFromContact, UpdateContact, UpsertContact,
};
pub use tags::{ApplyTag, CreateTag, CreateTagCategory, GetTag, ListTaggedContacts, ListTags, RemoveTag, Tags};
pub use userinfo::UserInfoRequest;

/// Joins ids as Keap's comma-separated array parameter (`ids=1,2,3`).
pub(crate) fn comma_list<I: std::fmt::Display>(ids: &[I]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}
