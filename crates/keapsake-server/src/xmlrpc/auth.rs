//! Who an XML-RPC call acts for (`keap/xmlrpc.md` §2). The credential is resolved by the same
//! code as REST ([`crate::extract::resolve`]): OAuth access tokens, PATs, SAKs and legacy keys,
//! all by hash.
//!
//! 1. A credential in `Authorization: Bearer`, `X-Keap-API-Key` or `?access_token=` wins; the
//!    first parameter is then consumed and ignored. Invalid → 401 JSON as REST.
//! 2. Otherwise the first parameter must be a valid key → else fault `[InvalidKey]`.
//! 3. `DataService.getUserInfo` takes no key parameter: with zero parameters nothing is
//!    stripped (and without a header credential the call is refused `[InvalidKey]`).

use super::codec::XValue;
use super::fault::{Fault, printable};
use crate::extract::{AuthRejection, Presented, Principal, presented_credential, resolve};
use crate::state::AppState;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

/// Why a call is refused before dispatch.
#[derive(Debug)]
pub enum Refused {
    /// Header/query credential invalid: the REST 401 envelope.
    Http(Response),
    /// Key parameter invalid: a fault.
    Fault(Fault),
}

/// Resolves the caller and strips the key parameter.
///
/// # Errors
/// [`Refused`].
pub async fn authenticate(
    state: &AppState,
    parts: &Parts,
    method: &str,
    mut params: Vec<XValue>,
) -> Result<(Principal, Vec<XValue>), Refused> {
    let no_key_param = method == "DataService.getUserInfo" && params.is_empty();
    // The quota layer has already resolved a header/query credential.
    let from_header = match parts.extensions.get::<Principal>() {
        Some(p) => Some(p.clone()),
        None => match presented_credential(&parts.headers, parts.uri.query()) {
            Presented::Token(t) => Some(
                resolve(state, &t)
                    .await
                    .map_err(|e| Refused::Http(e.into_response()))?,
            ),
            Presented::Missing => None,
        },
    };
    if let Some(p) = from_header {
        if !no_key_param && !params.is_empty() {
            params.remove(0);
        }
        return Ok((p, params));
    }
    if no_key_param {
        return Err(Refused::Fault(Fault::invalid_key()));
    }
    let key = match params.first() {
        Some(XValue::Str(k)) => k.trim().to_owned(),
        _ => return Err(Refused::Fault(Fault::invalid_key())),
    };
    match resolve(state, &key).await {
        Ok(p) => {
            params.remove(0);
            tracing::debug!(method = %printable(method, 80), "xml-rpc key parameter accepted");
            Ok((p, params))
        }
        Err(AuthRejection::Store(e)) => Err(Refused::Fault(Fault::from(e))),
        Err(_) => Err(Refused::Fault(Fault::invalid_key())),
    }
}
