//! `GET`/`PUT /crm/rest/v1/account/profile` (`keap/rest-v1.md` §11): the account's business
//! profile, same shape in and out.

use crate::error::ApiError;
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use keapsake_types::{AccountProfile, ContactAddress};

/// The profile of the credential's account.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/account/profile",
    tag = "Account",
    responses((status = 200, description = "The account profile", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AccountProfile>, ApiError> {
    Ok(Json(state.store.get_profile(principal.account_id).await?))
}

/// Replaces the profile of the credential's account and returns it.
///
/// # Errors
/// 400 `{"message"}` for unparseable JSON or invalid fields; 403 for read-only keys.
#[utoipa::path(
    put,
    path = "/crm/rest/v1/account/profile",
    tag = "Account",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The replaced profile", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<serde_json::Value>,
) -> Result<Json<AccountProfile>, ApiError> {
    if !principal.can_write() {
        return Err(ApiError::forbidden("This credential is read-only"));
    }
    // Only an object is a profile (serde would also accept a JSON array of the fields).
    if !body.is_object() {
        return Err(ApiError::unparseable());
    }
    let profile: AccountProfile =
        serde_json::from_value(body).map_err(|_| ApiError::unparseable())?;
    let profile = validate(profile).map_err(ApiError::bad_request)?;
    state
        .store
        .put_profile(principal.account_id, &profile)
        .await?;
    Ok(Json(state.store.get_profile(principal.account_id).await?))
}

const MAX_LEN: usize = 1024;

fn too_long(s: &Option<String>) -> bool {
    s.as_ref().is_some_and(|s| s.chars().count() > MAX_LEN)
}

/// Checks and normalises a submitted profile.
///
/// # Errors
/// The message for the first invalid field.
pub(crate) fn validate(mut p: AccountProfile) -> Result<AccountProfile, String> {
    let texts = [
        ("name", &p.name),
        ("email", &p.email),
        ("phone", &p.phone),
        ("phone_ext", &p.phone_ext),
        ("website", &p.website),
        ("time_zone", &p.time_zone),
        ("currency_code", &p.currency_code),
        ("language_tag", &p.language_tag),
        ("logo_url", &p.logo_url),
        ("business_type", &p.business_type),
        ("business_primary_color", &p.business_primary_color),
        ("business_secondary_color", &p.business_secondary_color),
    ];
    if let Some((field, _)) = texts.iter().find(|(_, v)| too_long(v)) {
        return Err(format!("{field} is too long"));
    }
    if p.business_goals.len() > 100 || p.business_goals.iter().any(|g| g.chars().count() > MAX_LEN)
    {
        return Err("business_goals is too long".to_owned());
    }
    if let Some(email) = p.email.as_deref().filter(|e| !e.is_empty()) {
        let valid = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && !domain.contains('@')
        });
        if !valid {
            return Err("Invalid email address".to_owned());
        }
    }
    if let Some(code) = p.currency_code.as_mut().filter(|c| !c.is_empty()) {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err("currency_code must be an ISO 4217 code, e.g. USD".to_owned());
        }
        code.make_ascii_uppercase();
    }
    if let Some(tz) = p.time_zone.as_deref().filter(|t| !t.is_empty())
        && !tz
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
    {
        return Err("time_zone must be an IANA time zone, e.g. America/New_York".to_owned());
    }
    if let Some(tag) = p.language_tag.as_deref().filter(|t| !t.is_empty())
        && !tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("language_tag must be a language tag, e.g. en-US".to_owned());
    }
    if let Some(addr) = p.address.as_mut() {
        validate_address(addr)?;
    }
    Ok(p)
}

fn validate_address(a: &mut ContactAddress) -> Result<(), String> {
    let texts = [
        &a.line1,
        &a.line2,
        &a.locality,
        &a.region,
        &a.postal_code,
        &a.zip_code,
        &a.zip_four,
    ];
    if texts.iter().any(|t| too_long(t)) {
        return Err("address field is too long".to_owned());
    }
    // The spec's `ContactAddress` always has a `field`; an address sent without one (or with an
    // empty one) takes the first slot, as a contact's does.
    match a.field.as_deref() {
        None | Some("") => a.field = Some("BILLING".to_owned()),
        Some("BILLING" | "SHIPPING" | "OTHER") => {}
        Some(_) => return Err("address.field must be BILLING, SHIPPING or OTHER".to_owned()),
    }
    if let Some(cc) = a.country_code.as_mut().filter(|c| !c.is_empty()) {
        if cc.len() != 3 || !cc.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(
                "address.country_code must be an ISO 3166-1 alpha-3 code, e.g. USA".to_owned(),
            );
        }
        cc.make_ascii_uppercase();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_reasonable_profile_and_normalises_codes() {
        let p = AccountProfile {
            name: Some("Acme".into()),
            email: Some("ops@acme.test".into()),
            currency_code: Some("usd".into()),
            time_zone: Some("America/New_York".into()),
            language_tag: Some("en-US".into()),
            address: Some(ContactAddress {
                country_code: Some("usa".into()),
                field: Some("BILLING".into()),
                ..ContactAddress::default()
            }),
            ..AccountProfile::default()
        };
        let p = validate(p).expect("valid");
        assert_eq!(p.currency_code.as_deref(), Some("USD"));
        assert_eq!(
            p.address.and_then(|a| a.country_code).as_deref(),
            Some("USA")
        );
    }

    #[test]
    fn an_address_without_a_field_gets_billing() {
        for field in [None, Some(String::new())] {
            let p = AccountProfile {
                address: Some(ContactAddress {
                    field,
                    country_code: Some(String::new()),
                    ..ContactAddress::default()
                }),
                ..AccountProfile::default()
            };
            let p = validate(p).expect("valid");
            assert_eq!(p.address.and_then(|a| a.field).as_deref(), Some("BILLING"));
        }
    }

    #[test]
    fn rejects_bad_fields_with_a_message() {
        for bad in [
            AccountProfile {
                email: Some("nope".into()),
                ..AccountProfile::default()
            },
            AccountProfile {
                currency_code: Some("US".into()),
                ..AccountProfile::default()
            },
            AccountProfile {
                time_zone: Some("<script>".into()),
                ..AccountProfile::default()
            },
            AccountProfile {
                address: Some(ContactAddress {
                    field: Some("HOME".into()),
                    ..ContactAddress::default()
                }),
                ..AccountProfile::default()
            },
            AccountProfile {
                name: Some("x".repeat(2000)),
                ..AccountProfile::default()
            },
        ] {
            assert!(validate(bad).is_err());
        }
    }
}
