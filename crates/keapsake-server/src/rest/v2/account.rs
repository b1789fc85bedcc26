//! REST v2 account helpers (`keap/rest-v2.md` §9): the business profile (the same stored
//! profile v1's `/account/profile` reads and writes), whether the application is enabled, the
//! contact option types (v1's `/setting/contact/optionTypes` as a list), and the account's
//! users (v1's `/users`: the account's members).

use super::common::{ListParams, ListSpec, V2Query, list_response, sort_by_key};
use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use keapsake_core::crm::fold;
use keapsake_core::crm_more::locale::CONTACT_TYPES;
use keapsake_core::store::User;
use keapsake_core::v2::filter::{FieldSpec, Kind, Operand};
use keapsake_core::v2::format_time;
use keapsake_types::AccountProfile;
use serde_json::{Map, Value, json};

/// Account helper routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        // `PATCH` (updateBusinessProfile) is the fallback's 501.
        .route(
            "/businessProfile",
            get(business_profile).fallback(super::fallback),
        )
        .route("/settings/applications:isEnabled", get(application_enabled))
        .route("/settings/contactOptionTypes", get(contact_option_types))
        .route("/users", get(list_users))
}

fn put_text(m: &mut Map<String, Value>, key: &str, v: Option<&String>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(key.to_owned(), json!(v));
    }
}

/// The v2 `GetBusinessProfileResponse` of a stored profile: empty members omitted; the
/// address has `postal_code` (v1's `postal_code`, else its `zip_code` with `zip_four`).
pub fn render_profile(p: &AccountProfile) -> Value {
    let mut m = Map::new();
    put_text(&mut m, "name", p.name.as_ref());
    put_text(&mut m, "email", p.email.as_ref());
    put_text(&mut m, "website", p.website.as_ref());
    put_text(&mut m, "phone", p.phone.as_ref());
    if let Some(a) = &p.address {
        let mut addr = Map::new();
        put_text(&mut addr, "line1", a.line1.as_ref());
        put_text(&mut addr, "line2", a.line2.as_ref());
        put_text(&mut addr, "locality", a.locality.as_ref());
        put_text(&mut addr, "region", a.region.as_ref());
        put_text(&mut addr, "country_code", a.country_code.as_ref());
        let postal = a.postal_code.clone().filter(|p| !p.is_empty()).or_else(|| {
            let zip = a.zip_code.clone().filter(|z| !z.is_empty())?;
            Some(match a.zip_four.as_deref().filter(|f| !f.is_empty()) {
                Some(four) => format!("{zip}-{four}"),
                None => zip,
            })
        });
        put_text(&mut addr, "postal_code", postal.as_ref());
        if !addr.is_empty() {
            m.insert("address".into(), Value::Object(addr));
        }
    }
    put_text(&mut m, "time_zone", p.time_zone.as_ref());
    put_text(&mut m, "logo_url", p.logo_url.as_ref());
    put_text(&mut m, "currency_code", p.currency_code.as_ref());
    put_text(&mut m, "language_tag", p.language_tag.as_ref());
    put_text(&mut m, "business_type", p.business_type.as_ref());
    if !p.business_goals.is_empty() {
        m.insert("business_goals".into(), json!(p.business_goals));
    }
    put_text(
        &mut m,
        "business_primary_color",
        p.business_primary_color.as_ref(),
    );
    put_text(
        &mut m,
        "business_secondary_color",
        p.business_secondary_color.as_ref(),
    );
    Value::Object(m)
}

/// `GET /businessProfile`: the account's business profile.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/businessProfile",
    tag = "Account (v2)",
    responses((status = 200, description = "The business profile (v1's account profile, v2 shape)", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn business_profile(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, V2Error> {
    let profile = state.store.get_profile(principal.account_id).await?;
    Ok(json(StatusCode::OK, &render_profile(&profile)))
}

/// `GET /settings/applications:isEnabled`: `{"isEnabled":true}` (camelCase, as the spec).
#[utoipa::path(
    get,
    path = "/crm/rest/v2/settings/applications:isEnabled",
    tag = "Account (v2)",
    responses((status = 200, description = "Whether the application is enabled", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn application_enabled(_principal: Principal) -> Response {
    json(StatusCode::OK, &json!({"isEnabled": true}))
}

/// `GET /settings/contactOptionTypes`: `{"option_types":["Lead","Customer","Other"]}`.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/settings/contactOptionTypes",
    tag = "Account (v2)",
    responses((status = 200, description = "The contact types", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn contact_option_types(_principal: Principal) -> Response {
    json(StatusCode::OK, &json!({"option_types": CONTACT_TYPES}))
}

const USER_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("email"),
    FieldSpec::text("given_name"),
    FieldSpec::text("include_inactive"),
    FieldSpec::text("include_partners"),
    FieldSpec::of("user_ids", Kind::IdList),
];

const LIST_USERS: ListSpec = ListSpec {
    operation: "listPaginatedUsers",
    fields: USER_FILTERS,
    order_by: &["create_time", "email", "name"],
};

/// The v2 `User` of a member of the account.
fn render_user(u: &User, admin: bool, company: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id.0.to_string()));
    m.insert("global_user_id".into(), json!(u.id.0.to_string()));
    m.insert("keap_id".into(), json!(u.email));
    put_text(&mut m, "given_name", Some(&u.given_name));
    put_text(&mut m, "family_name", Some(&u.family_name));
    m.insert(
        "email_addresses".into(),
        json!([{"email": u.email, "field": "EMAIL1"}]),
    );
    put_text(&mut m, "company_name", Some(&company.to_owned()));
    m.insert("status".into(), json!("ACTIVE"));
    m.insert("admin".into(), json!(admin));
    m.insert("partner".into(), json!(false));
    m.insert("create_time".into(), json!(format_time(u.created_at)));
    m.insert("update_time".into(), json!(format_time(u.created_at)));
    Value::Object(m)
}

/// `GET /users`: the account's members (`{"users","next_page_token"}`); filter `email`,
/// `given_name` (exact, ASCII case ignored), `user_ids`, `include_inactive` and
/// `include_partners` (`true`/`false`; keapsake's members are all active, none a partner);
/// order `create_time`, `email`, `name` (family name; default: user id); `page_size` 1–100.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/users",
    tag = "Account (v2)",
    params(("filter" = Option<String>, Query, description = "email, given_name, include_inactive, include_partners, user_ids"), ("order_by" = Option<String>, Query, description = "create_time, email or name, then asc or desc"), ("page_size" = Option<i32>, Query, description = "1-100, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "A page of the account's users", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_USERS, "", &|_| None)?;
    if params.size > 100 {
        return Err(V2Error::bad_request("page_size must be at most 100"));
    }
    for name in ["include_inactive", "include_partners"] {
        if let Some(Operand::Text(v)) = params.filter.eq(name)
            && !matches!(v.to_ascii_lowercase().as_str(), "true" | "false")
        {
            return Err(V2Error::bad_request(format!(
                "{name} must be true or false"
            )));
        }
    }
    let account = principal.account_id;
    let mut rows = Vec::new();
    for user in state.store.list_users().await? {
        if let Some(m) = state.store.membership(account, user.id).await? {
            rows.push((user, m.is_admin));
        }
    }
    let f = &params.filter;
    rows.retain(|(u, _)| {
        f.clauses
            .iter()
            .all(|c| match (c.field.as_str(), &c.value) {
                ("email", v) => v.matches_text(Some(&u.email)),
                ("given_name", v) => v.matches_text(Some(&u.given_name)),
                ("user_ids", Operand::Ids(ids)) => ids.contains(&u.id.0),
                _ => true,
            })
    });
    let desc = params.descending();
    match params.order.as_ref().map(|o| o.field) {
        Some("create_time") => sort_by_key(&mut rows, desc, |(u, _)| (u.created_at, u.id.0)),
        Some("email") => sort_by_key(&mut rows, desc, |(u, _)| (fold(&u.email), u.id.0)),
        Some("name") => sort_by_key(&mut rows, desc, |(u, _)| (fold(&u.family_name), u.id.0)),
        _ => sort_by_key(&mut rows, desc, |(u, _)| (u.id.0, u.id.0)),
    }
    let company = state.store.get_account(account).await?.name;
    let (page, next) = params.page(rows);
    Ok(list_response(
        "users",
        page.iter()
            .map(|(u, admin)| render_user(u, *admin, &company))
            .collect(),
        next,
    ))
}
