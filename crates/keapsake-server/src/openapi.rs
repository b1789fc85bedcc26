//! keapsake's own OpenAPI document, generated from the `#[utoipa::path]` annotations on the
//! handlers (so it cannot drift from the router: `tests/router/openapi.rs` checks both ways),
//! served at `GET /openapi.json`, and a small HTML index of it at `GET /docs`.

use crate::oauth::pages::{css_href, render};
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityScheme,
};
use utoipa::{Modify, OpenApi};

/// The generated document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "keapsake",
        description = "Documents what keapsake implements of Keap's REST API (v1; v2 userinfo, contacts and tags),                        its OAuth 2.0 endpoints and its own operational routes. Paths of Keap's API                        that keapsake does not implement are not listed (they answer 501)."
    ),
    paths(
        crate::rest::v1::userinfo::get,
        crate::rest::v2::userinfo::get,
        crate::rest::v2::account::business_profile,
        crate::rest::v2::account::application_enabled,
        crate::rest::v2::account::contact_option_types,
        crate::rest::v2::account::list_users,
        crate::rest::v2::contacts::list,
        crate::rest::v2::links::link,
        crate::rest::v2::links::unlink,
        crate::rest::v2::links::list_links,
        crate::rest::v2::links::list_types,
        crate::rest::v2::links::create_type,
        crate::rest::v2::links::update_type,
        crate::rest::v2::links::delete_type,
        crate::rest::v2::contacts::create,
        crate::rest::v2::contacts::get_one,
        crate::rest::v2::contacts::update,
        crate::rest::v2::contacts::remove,
        crate::rest::v2::contacts::list_tags,
        crate::rest::v2::contacts::model,
        crate::rest::v2::contacts::merge,
        crate::rest::v2::tags::list,
        crate::rest::v2::tags::create,
        crate::rest::v2::tags::get_one,
        crate::rest::v2::tags::update,
        crate::rest::v2::tags::remove,
        crate::rest::v2::tags::apply,
        crate::rest::v2::tags::remove_from,
        crate::rest::v2::tags::list_contacts,
        crate::rest::v2::tags::list_companies,
        crate::rest::v2::tags::list_categories,
        crate::rest::v2::tags::create_category,
        crate::rest::v2::tags::get_category,
        crate::rest::v2::tags::update_category,
        crate::rest::v2::tags::remove_category,
        crate::rest::v2::companies::list,
        crate::rest::v2::companies::create,
        crate::rest::v2::companies::get_one,
        crate::rest::v2::companies::update,
        crate::rest::v2::companies::remove,
        crate::rest::v2::companies::list_tags,
        crate::rest::v2::companies::add_tag,
        crate::rest::v2::companies::remove_tag,
        crate::rest::v2::orders::list,
        crate::rest::v2::orders::create,
        crate::rest::v2::orders::get_one,
        crate::rest::v2::orders::remove,
        crate::rest::v2::orders::create_item,
        crate::rest::v2::orders::get_item,
        crate::rest::v2::orders::remove_item,
        crate::rest::v2::orders::update_item,
        crate::rest::v2::orders::list_payments,
        crate::rest::v2::orders::create_payment,
        crate::rest::v2::products::list,
        crate::rest::v2::products::create,
        crate::rest::v2::products::get_one,
        crate::rest::v2::products::update,
        crate::rest::v2::products::remove,
        crate::rest::v2::products::adjust_inventory,
        crate::rest::v1::account::get,
        crate::rest::v1::account::put,
        crate::rest::v1::contacts::list,
        crate::rest::v1::contacts::create,
        crate::rest::v1::contacts::upsert,
        crate::rest::v1::contacts::model,
        crate::rest::v1::contacts::create_custom_field,
        crate::rest::v1::contacts::get_one,
        crate::rest::v1::contacts::update,
        crate::rest::v1::contacts::remove,
        crate::rest::v1::contacts::list_tags,
        crate::rest::v1::contacts::apply_tags,
        crate::rest::v1::contacts::remove_tags,
        crate::rest::v1::contacts::remove_tag,
        crate::rest::v1::cards::list,
        crate::rest::v1::cards::create,
        crate::rest::v1::emails::list,
        crate::rest::v1::emails::create,
        crate::rest::v1::emails::get_one,
        crate::rest::v1::emails::remove,
        crate::rest::v1::emails::sync,
        crate::rest::v1::emails::unsync,
        crate::rest::v1::emails::queue,
        crate::rest::v1::emails::list_for_contact,
        crate::rest::v1::emails::create_for_contact,
        crate::rest::v1::emails::update_address,
        crate::mail::admin::list,
        crate::mail::admin::get_one,
        crate::rest::v1::tags::list,
        crate::rest::v1::tags::create,
        crate::rest::v1::tags::create_category,
        crate::rest::v1::tags::get_one,
        crate::rest::v1::tags::list_contacts,
        crate::rest::v1::tags::apply,
        crate::rest::v1::tags::remove,
        crate::rest::v1::tags::remove_one,
        crate::rest::v1::tags::list_companies,
        crate::rest::v1::companies::list,
        crate::rest::v1::companies::create,
        crate::rest::v1::companies::model,
        crate::rest::v1::companies::get_one,
        crate::rest::v1::companies::update,
        crate::rest::v1::notes::list,
        crate::rest::v1::notes::create,
        crate::rest::v1::notes::model,
        crate::rest::v1::notes::create_custom_field,
        crate::rest::v1::notes::get_one,
        crate::rest::v1::notes::replace,
        crate::rest::v1::notes::update,
        crate::rest::v1::notes::remove,
        crate::rest::v1::hooks::list,
        crate::rest::v1::hooks::create,
        crate::rest::v1::hooks::event_keys,
        crate::rest::v1::hooks::get_one,
        crate::rest::v1::hooks::replace,
        crate::rest::v1::hooks::remove,
        crate::rest::v1::hooks::verify,
        crate::rest::v1::hooks::delayed_verify,
        crate::rest::v1::tasks::list,
        crate::rest::v1::tasks::search,
        crate::rest::v1::tasks::model,
        crate::rest::v1::tasks::create_custom_field,
        crate::rest::v1::tasks::create,
        crate::rest::v1::tasks::get_one,
        crate::rest::v1::tasks::replace,
        crate::rest::v1::tasks::update,
        crate::rest::v1::tasks::remove,
        crate::rest::v1::opportunities::list,
        crate::rest::v1::opportunities::create,
        crate::rest::v1::opportunities::replace,
        crate::rest::v1::opportunities::model,
        crate::rest::v1::opportunities::get_one,
        crate::rest::v1::opportunities::update,
        crate::rest::v1::opportunities::stage_pipeline,
        crate::rest::v1::products::list,
        crate::rest::v1::products::search,
        crate::rest::v1::products::sync,
        crate::rest::v1::products::create,
        crate::rest::v1::products::get_one,
        crate::rest::v1::products::update,
        crate::rest::v1::products::remove,
        crate::rest::v1::products::create_plan,
        crate::rest::v1::products::get_plan,
        crate::rest::v1::products::remove_plan,
        crate::rest::v1::products::put_image,
        crate::rest::v1::products::remove_image,
        crate::rest::v1::orders::list,
        crate::rest::v1::orders::create,
        crate::rest::v1::orders::model,
        crate::rest::v1::orders::get_one,
        crate::rest::v1::orders::remove,
        crate::rest::v1::orders::add_item,
        crate::rest::v1::orders::remove_item,
        crate::rest::v1::orders::list_payments,
        crate::rest::v1::orders::add_payment,
        crate::rest::v1::orders::order_transactions,
        crate::rest::v1::orders::replace_payment_plan,
        crate::rest::v1::orders::list_transactions,
        crate::rest::v1::orders::get_transaction,
        crate::rest::v1::subscriptions::list,
        crate::rest::v1::subscriptions::create,
        crate::rest::v1::subscriptions::model,
        crate::rest::v1::settings::application_enabled,
        crate::rest::v1::settings::contact_option_types,
        crate::rest::v1::settings::configuration,
        crate::rest::v1::settings::merchants,
        crate::rest::v1::settings::countries,
        crate::rest::v1::settings::country_provinces,
        crate::rest::v1::settings::default_options,
        crate::rest::v1::users::list,
        crate::rest::v1::users::signature,
        crate::oauth::token::token,
        crate::oauth::extensions::revoke,
        crate::oauth::extensions::introspect,
        crate::oauth::extensions::metadata,
        crate::healthz,
        openapi_json,
        docs
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "Account", description = "The account's business profile"),
        (name = "Contacts", description = "Contacts, their custom fields, tags and credit cards"),
        (name = "Tags", description = "Tags, tag categories and tagged records"),
        (name = "Contacts (v2)", description = "REST v2 contacts: filter, page tokens, update_mask, merge"),
        (name = "Tags (v2)", description = "REST v2 tags, categories, applyTags/removeTags"),
        (name = "Companies (v2)", description = "REST v2 companies and their tags"),
        (name = "Orders (v2)", description = "REST v2 orders, their items and payments"),
        (name = "Products (v2)", description = "REST v2 products and their inventory"),
        (name = "Account (v2)", description = "REST v2 business profile and settings helpers"),
        (name = "REST Hooks", description = "Webhook subscriptions, verification and event keys"),
        (name = "Emails", description = "E-mail records, sending (the outbox) and opt-in status"),
        (name = "Mail", description = "keapsake's own view of the mail outbox (not part of Keap's API)"),
        (name = "Companies", description = "Companies"),
        (name = "Notes", description = "Notes"),
        (name = "Tasks", description = "Tasks"),
        (name = "Opportunities", description = "Opportunities and stage pipelines"),
        (name = "Products", description = "Products, subscription plans and images"),
        (name = "Orders", description = "Orders, items, payments and transactions"),
        (name = "Subscriptions", description = "Contacts' subscriptions to product plans"),
        (name = "Settings", description = "Application settings and locales"),
        (name = "Users", description = "Users of the account"),
        (name = "Userinfo", description = "The user a credential acts as"),
        (name = "OAuth", description = "OAuth 2.0 token, revocation, introspection, metadata"),
        (name = "Meta", description = "Health and this documentation")
    )
)]
pub struct ApiDoc;

/// Adds the security schemes keapsake accepts.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::AuthorizationCode(
                AuthorizationCode::new(
                    "/app/oauth/authorize",
                    "/token",
                    Scopes::from_iter([("full", "Full access to the chosen account")]),
                ),
            )])),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Keap-API-Key"))),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("access_token"))),
        );
    }
}

/// The document, with the crate's version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    env!("CARGO_PKG_VERSION").clone_into(&mut doc.info.version);
    doc
}

/// `GET /openapi.json`: the generated document (no authentication).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Meta",
    responses((status = 200, description = "This OpenAPI document", body = serde_json::Value))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// One operation on the docs page.
pub struct Operation {
    /// Upper-case method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Summary or first line of the description, possibly empty.
    pub summary: String,
}

/// The operations of one tag.
pub struct TagGroup {
    /// Tag name.
    pub name: String,
    /// Its operations, by path then method.
    pub operations: Vec<Operation>,
}

/// The `/docs` page.
#[derive(Template)]
#[template(path = "docs.html")]
pub struct DocsPage {
    /// Stylesheet URL.
    pub css_href: String,
    /// URL of the JSON document.
    pub json_href: String,
    /// Version shown.
    pub version: String,
    /// Operations grouped by tag.
    pub groups: Vec<TagGroup>,
}

/// Groups the operations of `doc` by their first tag, in the document's tag order.
pub fn groups(doc: &utoipa::openapi::OpenApi) -> Vec<TagGroup> {
    let mut groups: Vec<TagGroup> = doc
        .tags
        .iter()
        .flatten()
        .map(|t| TagGroup {
            name: t.name.clone(),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in &doc.paths.paths {
        for (method, op) in operations(item) {
            let tag = op
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            let summary = op
                .summary
                .clone()
                .or_else(|| {
                    op.description
                        .as_ref()
                        .and_then(|d| d.lines().next().map(str::to_owned))
                })
                .unwrap_or_default();
            let entry = Operation {
                method: method.to_owned(),
                path: path.clone(),
                summary,
            };
            match groups.iter_mut().find(|g| g.name == tag) {
                Some(g) => g.operations.push(entry),
                None => groups.push(TagGroup {
                    name: tag,
                    operations: vec![entry],
                }),
            }
        }
    }
    groups.retain(|g| !g.operations.is_empty());
    groups
}

/// The operations of a path item with their upper-case methods.
pub fn operations(
    item: &utoipa::openapi::PathItem,
) -> Vec<(&'static str, &utoipa::openapi::path::Operation)> {
    [
        ("GET", &item.get),
        ("PUT", &item.put),
        ("POST", &item.post),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
        ("HEAD", &item.head),
        ("PATCH", &item.patch),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
    .collect()
}

/// `GET /docs`: an HTML index of the document (no third-party resources).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "Meta",
    responses((status = 200, description = "HTML index of the operations", content_type = "text/html"))
)]
pub async fn docs(State(state): State<AppState>) -> Response {
    let doc = document();
    let page = DocsPage {
        css_href: css_href(state.base_path()),
        json_href: format!("{}openapi.json", state.base_path()),
        version: doc.info.version.clone(),
        groups: groups(&doc),
    };
    render(StatusCode::OK, &page)
}
