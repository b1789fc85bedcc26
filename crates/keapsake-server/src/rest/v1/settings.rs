//! Account settings and static data (`keap/rest-v1.md` §11): `/setting/application/enabled`,
//! `/setting/contact/optionTypes`, `/setting/application/configuration` (what keapsake knows:
//! the account profile, the option lists, the opportunity pipeline), `/merchants` (keapsake's
//! one test gateway), and `/locales/*` (static data from [`keapsake_core::crm_more::locale`]).

use crate::error::{ApiError, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use keapsake_core::crm_more::locale::{
    CONTACT_TYPES, COUNTRIES, FAX_TYPES, PHONE_TYPES, SUFFIX_TYPES, TITLE_TYPES, country, provinces,
};
use keapsake_core::crm_more::note::NoteType;
use keapsake_core::crm_more::opportunity::STAGES;
use serde_json::{Map, Value, json};

/// Id of keapsake's built-in test merchant account (the fake gateway of `keap/rest-v1.md`
/// §8.4).
pub const TEST_MERCHANT_ID: i64 = 1;

/// Settings, merchant and locale routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/setting/application/enabled", get(application_enabled))
        .route("/setting/contact/optionTypes", get(contact_option_types))
        .route("/setting/application/configuration", get(configuration))
        .route("/merchants", get(merchants))
        .route("/locales/countries", get(countries))
        .route(
            "/locales/countries/{code}/provinces",
            get(country_provinces),
        )
        .route("/locales/defaultOptions", get(default_options))
}

/// `GET /setting/application/enabled`: `{"value":"true"}` (a string, per the spec;
/// keap-python's connection test).
#[utoipa::path(
    get,
    path = "/crm/rest/v1/setting/application/enabled",
    tag = "Settings",
    responses((status = 200, description = "Whether the application is enabled", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn application_enabled(_principal: Principal) -> Response {
    json(StatusCode::OK, &json!({"value": "true"}))
}

/// `GET /setting/contact/optionTypes`: the contact types as one comma-separated string.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/setting/contact/optionTypes",
    tag = "Settings",
    responses((status = 200, description = "Contact types", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn contact_option_types(_principal: Principal) -> Response {
    json(StatusCode::OK, &json!({"value": CONTACT_TYPES.join(",")}))
}

/// `GET /setting/application/configuration`: the modules keapsake has something to say about;
/// sub-fields it knows nothing of are left out (`keap/rest-v1.md` §11).
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/setting/application/configuration",
    tag = "Settings",
    responses((status = 200, description = "Application configuration", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn configuration(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    let profile = state.store.get_profile(account).await?;
    let name = match profile.name.clone() {
        Some(n) => Some(n),
        None => Some(state.store.get_account(account).await?.name),
    };
    let address = profile.address.clone().unwrap_or_default();
    let note_types: Vec<&str> = NoteType::ALL.iter().map(|t| t.as_str()).collect();
    let active: Vec<&str> = STAGES
        .iter()
        .filter(|s| !s.end_stage)
        .map(|s| s.name)
        .collect();
    let default_stage = STAGES.iter().find(|s| s.is_default).map(|s| s.name);
    let win = STAGES.iter().find(|s| s.end_stage && s.probability == 100);
    let loss = STAGES.iter().find(|s| s.end_stage && s.probability == 0);
    let body = json!({
        "application": {
            "company": {
                "name": name,
                "email": profile.email,
                "phone": profile.phone,
                "phone_ext": profile.phone_ext,
                "website": profile.website,
                "web_logo_url": profile.logo_url,
                "street_address_1": address.line1,
                "street_address_2": address.line2,
                "city": address.locality,
                "state": address.region,
                "zip": address.zip_code.or(address.postal_code),
                "country": address.country_code,
            },
            "time_zone": profile.time_zone,
            "default_view_locale": profile.language_tag,
            "features_enabled": {"marketing": true},
        },
        "contact": {
            "contact_types": CONTACT_TYPES.join(","),
            "phone_types": PHONE_TYPES.join(","),
            "fax_types": FAX_TYPES.join(","),
            "suffix_types": SUFFIX_TYPES.join(","),
            "title_types": TITLE_TYPES.join(","),
            "address_labels": {"line_1": "Billing", "line_2": "Shipping", "line_3": "Other"},
            "disable_contact_edit_in_client_login": false,
        },
        "ecommerce": {
            "currency": profile.currency_code.as_deref().unwrap_or("USD"),
            "default_merchant": TEST_MERCHANT_ID.to_string(),
            "track_inventory": false,
            "track_cost_per_unit": false,
        },
        "email": {},
        "forms": {"spam_filters_enabled": false},
        "fulfillment": {},
        "invoice": {},
        "note": {"appointment_types": note_types.join(",")},
        "opportunity": {
            "default_stage": default_stage,
            "states": {
                "active": {"stages": active.join(",")},
                "win": {"stage": win.map(|s| s.name)},
                "loss": {"stage": loss.map(|s| s.name)},
            },
        },
        "task": {},
        "template": {},
        "affiliate": {},
        "appointment": {},
    });
    Ok(json(StatusCode::OK, &body))
}

/// `GET /merchants`: keapsake's test gateway, the only merchant account there is.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/merchants",
    tag = "Settings",
    responses((status = 200, description = "Merchant accounts", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn merchants(_principal: Principal) -> Response {
    json(
        StatusCode::OK,
        &json!({
            "default_merchant_account": TEST_MERCHANT_ID,
            "merchant_accounts": [{
                "id": TEST_MERCHANT_ID,
                "account_name": "keapsake test gateway",
                "type": "TEST",
                "is_test": true,
            }],
        }),
    )
}

/// `GET /locales/countries`: `{"countries":{"<alpha-3>":"<name>",…}}`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/locales/countries",
    tag = "Settings",
    responses((status = 200, description = "Countries", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn countries(_principal: Principal) -> Response {
    let countries: Map<String, Value> = COUNTRIES
        .iter()
        .map(|(code, _, name)| ((*code).to_owned(), Value::from(*name)))
        .collect();
    json(StatusCode::OK, &json!({"countries": countries}))
}

/// `GET /locales/countries/{code}/provinces`: `{"provinces":{"<ISO 3166-2>":"<name>",…}}` for
/// a country given by its alpha-3 (or alpha-2) code; empty for a known country keapsake has
/// no subdivisions of.
///
/// # Errors
/// 404 `Unable to find this Country` for a code that is no known country.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/locales/countries/{code}/provinces",
    tag = "Settings",
    params(("code" = String, Path, description = "ISO country code")),
    responses((status = 200, description = "Provinces of the country", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn country_provinces(
    _principal: Principal,
    code: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let unknown = || super::list::not_found("Country");
    let Path(code) = code.map_err(|_| unknown())?;
    let alpha3 = country(&code).ok_or_else(unknown)?;
    let provinces: Map<String, Value> = provinces(alpha3)
        .iter()
        .map(|(code, name)| ((*code).to_owned(), Value::from(*name)))
        .collect();
    Ok(json(StatusCode::OK, &json!({"provinces": provinces})))
}

/// `GET /locales/defaultOptions`: the option lists of contact forms.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/locales/defaultOptions",
    tag = "Settings",
    responses((status = 200, description = "Locale defaults", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn default_options(_principal: Principal) -> Response {
    json(
        StatusCode::OK,
        &json!({
            "contact_types": CONTACT_TYPES,
            "fax_types": FAX_TYPES,
            "phone_types": PHONE_TYPES,
            "suffix_types": SUFFIX_TYPES,
            "title_types": TITLE_TYPES,
        }),
    )
}
