//! REST v2 account helpers (`keap/rest-v2.md` §9): the business profile (the same stored
//! profile v1's `/account/profile` reads and writes), whether the application is enabled, and
//! the contact option types (v1's `/setting/contact/optionTypes` as a list).

use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use keapsake_core::crm_more::locale::CONTACT_TYPES;
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
