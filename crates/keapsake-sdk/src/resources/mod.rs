//! Typed REST v1 resources: one handler per resource, one builder per operation, each ending in
//! `.send()` (and, for lists, `.stream()` over every page).

mod account;
mod companies;
mod contacts;
mod emails;
mod hooks;
mod locales;
mod merchants;
mod notes;
mod opportunities;
mod orders;
mod products;
mod settings;
mod simple;
mod subscriptions;
mod tags;
mod tasks;
mod userinfo;
mod users;

pub use account::{Account, GetProfile, UpdateProfile};
pub use companies::{
    Companies, CompanyOrder, CreateCompany, GetCompany, GetCompanyModel, ListCompanies,
    UpdateCompany,
};
pub use contacts::{
    AddCreditCard, ApplyTagsToContact, ContactOrder, Contacts, CreateContact, DeleteContact,
    GetContact, ListContactTags, ListContacts, ListCreditCards, OrderDirection,
    RemoveTagsFromContact, UpdateContact, UpsertContact,
};
pub use emails::{
    CreateEmail, DeleteEmail, Emails, GetEmail, ListEmails, QueueEmail, SetOptIn, SyncEmails,
    UnsyncEmails,
};
pub use hooks::{CreateHook, DeleteHook, HookCall, Hooks, ListEventKeys, ListHooks};
pub use locales::{GetDefaultOptions, ListCountries, ListProvinces, Locales};
pub use merchants::ListMerchants;
pub use notes::{
    CreateNote, DeleteNote, GetNote, GetNoteModel, ListNotes, Notes, ReplaceNote, UpdateNote,
};
pub use opportunities::{
    CreateOpportunity, GetOpportunity, GetOpportunityModel, GetStagePipeline, ListOpportunities,
    Opportunities, OpportunityOrder, ReplaceOpportunity, UpdateOpportunity,
};
pub use orders::{
    AddOrderItem, CreateOrder, CreatePayment, DeleteOrder, DeleteOrderItem, GetOrder,
    GetOrderModel, GetTransaction, ListOrders, ListPayments, ListTransactions, OrderSort, Orders,
    ReplacePaymentPlan,
};
pub use products::{
    CreatePlan, CreateProduct, DeletePlan, DeleteProduct, DeleteProductImage, GetPlan, GetProduct,
    ListProducts, Products, SyncProducts, UpdateProduct, UploadProductImage,
};
pub use settings::{
    GetApplicationConfiguration, GetApplicationEnabled, GetContactOptionTypes, Settings,
};
pub use subscriptions::{
    CreateSubscription, GetSubscriptionModel, ListSubscriptions, Subscriptions,
};
pub use tags::{
    ApplyTag, CreateTag, CreateTagCategory, GetTag, ListTaggedContacts, ListTags, RemoveTag, Tags,
};
pub use tasks::{
    CreateTask, DeleteTask, GetTask, GetTaskModel, ListTasks, ReplaceTask, TaskOrder, Tasks,
    UpdateTask,
};
pub use userinfo::UserInfoRequest;
pub use users::{GetSignature, ListUsers, Users};

/// Joins ids as Keap's comma-separated array parameter (`ids=1,2,3`).
pub(crate) fn comma_list<I: std::fmt::Display>(ids: &[I]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// An array parameter such as `optional_properties`, comma-separated; `None` when empty.
pub(crate) fn csv_opt(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(","))
}

/// Percent-encodes `s` as one path segment: RFC 3986 `pchar`s (unreserved, sub-delims, `:`,
/// `@`) stay as they are, so an e-mail address goes out as written; `/`, `?`, `#`, `%`, space
/// and non-ASCII are encoded.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
