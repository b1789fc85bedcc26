//! REST v2 (`keap/rest-v2.md`). Errors are `{"code","message","status","details"}`.
//!
//! Implemented: userinfo and the account helpers (§9), contacts (§3) with their links and link
//! types, tags with their categories (§4), companies (§5), orders (§6: list, create, get,
//! delete, items, payments; not `updateOrder`) and products (§7). Every other operation of
//! Keap's v2 spec ([`operations::OPERATIONS`], generated from `keap/openapi-v2.yml`)
//! authenticates like any route and answers **501 `UNIMPLEMENTED`** in the v2 shape — never a
//! 404 that would read as a wrong base URL. The router fallback does that matching itself
//! (segment by segment, `{id}:verb` included, which axum's router cannot express), so the table
//! is the single list of what exists: a path of the spec with another method is 405, anything
//! else 404.

pub mod account;
pub mod common;
pub mod companies;
pub mod contacts;
pub mod links;
pub mod operations;
pub mod orders;
pub mod products;
pub mod tags;
pub mod userinfo;

use crate::error::V2Error;
use crate::state::AppState;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The operationIds keapsake implements (`keap/rest-v2.md` §10, the contacts, tags, companies,
/// orders, products and account parts done so far). Every other operation of [`operations::OPERATIONS`] is 501.
pub const IMPLEMENTED: &[&str] = &[
    "getUserInfo",
    "getBusinessProfile",
    "isApplicationEnabled",
    "getContactOptionTypes",
    "listPaginatedUsers",
    "listContacts",
    "createContact",
    "getContact",
    "updateContact",
    "deleteContact",
    "listTagsForContact",
    "retrieveContactModel",
    "mergeContacts",
    "linkContacts",
    "unlinkContacts",
    "listContactLinks",
    "listContactLinkTypes",
    "createContactLinkType",
    "updateContactLinkType",
    "deleteContactLinkType",
    "listTags",
    "createTag",
    "getTag",
    "updateTag",
    "deleteTag",
    "applyTags",
    "removeTags",
    "listContactsWithTagId",
    "listCompaniesForTagId",
    "listTagCategories",
    "createTagCategory",
    "getCategory",
    "updateTagCategory",
    "deleteTagCategory",
    "listCompanies",
    "createCompany",
    "getCompany",
    "updateCompany",
    "deleteCompany",
    "listTagsForCompany",
    "addTagToCompany",
    "removeTagFromCompany",
    "listProducts",
    "createProduct",
    "getProduct",
    "updateProduct",
    "deleteProduct",
    "adjustInventory",
    "listOrders",
    "createOrder",
    "getOrder",
    "deleteOrder",
    "createOrderItem",
    "getOrderItem",
    "deleteOrderItem",
    "updateOrderItem",
    "listOrderPayments",
    "createPaymentForAnOrder",
];

/// v2 routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/connect/userinfo", get(userinfo::get))
        .merge(account::routes())
        .merge(companies::routes())
        .merge(contacts::routes())
        .merge(links::routes())
        .merge(orders::routes())
        .merge(products::routes())
        .merge(tags::routes())
        .fallback(fallback)
        // Outermost: a body the handler left unread is read before the response goes out.
        .layer(axum::middleware::from_fn(
            crate::rest::v1::body::drain_unread_body,
        ))
}

/// Whether one segment of a spec path matches one segment of a request path: a literal
/// matches itself; `{name}` matches any non-empty segment; `{name}:verb` matches a non-empty
/// value followed by `:verb`.
fn segment_matches(template: &str, actual: &str) -> bool {
    match template.strip_prefix('{') {
        None => template == actual,
        Some(rest) => {
            let suffix = rest.split_once('}').map_or("", |(_, s)| s);
            actual
                .strip_suffix(suffix)
                .is_some_and(|value| !value.is_empty())
        }
    }
}

/// Whether a spec path template (`/contacts/{contact_id}`) matches a request path under
/// `/crm/rest/v2`.
pub fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| segment_matches(t, p))
}

/// How literal a template is: a literal segment counts 2, `{id}:verb` 1, `{id}` 0. Of the
/// templates matching a path, the most literal one wins (`/tasks/model` over
/// `/tasks/{task_id}`), as in axum's router.
fn specificity(template: &str) -> usize {
    template
        .split('/')
        .map(|seg| match seg.strip_prefix('{') {
            None => 2,
            Some(rest) if rest.ends_with('}') => 0,
            Some(_) => 1,
        })
        .sum()
}

/// The spec operations of the most specific template(s) matching a request path.
pub fn matching_operations(path: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    let all: Vec<_> = operations::OPERATIONS
        .iter()
        .copied()
        .filter(|(_, template, _)| path_matches(template, path))
        .collect();
    let best = all.iter().map(|(_, t, _)| specificity(t)).max();
    all.into_iter()
        .filter(|(_, t, _)| Some(specificity(t)) == best)
        .collect()
}

/// The v2 fallback: authenticate (401 as anywhere), then 501 for an operation of the spec
/// keapsake does not implement, 405 for another method on a path of the spec, 404 otherwise.
pub(crate) async fn fallback(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: Uri,
) -> Response {
    if let Some(res) = super::gateway_auth(&state, &headers, &original).await {
        return res;
    }
    // Match on the URI as rewritten before routing (`%3A` decoded, trailing slash trimmed),
    // without the prefix the nesting may or may not have stripped.
    let path = uri
        .path()
        .strip_prefix("/crm/rest/v2")
        .unwrap_or(uri.path());
    let ops = matching_operations(path);
    let method = if method == Method::HEAD {
        Method::GET
    } else {
        method
    };
    if let Some((_, template, op)) = ops.iter().find(|(m, _, _)| *m == method.as_str()) {
        let domain = template
            .trim_start_matches('/')
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        return V2Error::unimplemented(op, domain).into_response();
    }
    if ops.is_empty() {
        return V2Error::not_found().into_response();
    }
    let mut allow: Vec<&str> = ops.iter().map(|(m, _, _)| *m).collect();
    allow.sort_unstable();
    allow.dedup();
    let mut res =
        V2Error::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
    if let Ok(v) = HeaderValue::from_str(&allow.join(",")) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_paths_match_segment_by_segment() {
        assert!(path_matches("/contacts/{contact_id}", "/contacts/12"));
        assert!(!path_matches("/contacts/{contact_id}", "/contacts/"));
        assert!(!path_matches("/contacts/{contact_id}", "/contacts/12/tags"));
        assert!(path_matches(
            "/products/{product_id}:adjustInventory",
            "/products/5:adjustInventory"
        ));
        assert!(!path_matches(
            "/products/{product_id}:adjustInventory",
            "/products/:adjustInventory"
        ));
        assert!(path_matches("/contacts:merge", "/contacts:merge"));
        assert!(!path_matches("/contacts:merge", "/contacts"));
    }

    #[test]
    fn the_most_literal_template_wins() {
        let ops = matching_operations("/tasks/model");
        assert_eq!(ops, [("GET", "/tasks/model", "retrieveTaskModel")]);
        let ops = matching_operations("/files/7:data");
        assert_eq!(ops, [("GET", "/files/{file_id}:data", "getFileData_1")]);
        let ops: Vec<&str> = matching_operations("/tasks/7")
            .iter()
            .map(|(m, _, _)| *m)
            .collect();
        assert_eq!(ops, ["GET", "DELETE", "PATCH"]);
    }

    #[test]
    fn every_implemented_operation_is_in_the_spec_table() {
        for op in IMPLEMENTED {
            assert!(
                operations::OPERATIONS.iter().any(|(_, _, o)| o == op),
                "{op} is not an operation of the spec"
            );
        }
    }
}
