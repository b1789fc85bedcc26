//! The parts of §11 of `keap/rest-v1.md` outside keapsake's first release (affiliates,
//! appointments, campaigns, files): every path and method of
//! Keap's v1 spec for them authenticates like any other route, then answers a deliberate
//! `501 {"message":"Not implemented in keapsake"}` — not a 404 that would read as a wrong base
//! URL. A resource that gets implemented removes its lines here (a route registered twice
//! fails at startup). UTM values (`POST /contacts/{id}/utm`) answer theirs from the contacts
//! module; user invites (`POST /users`) from users.

use super::common::unimplemented;
use crate::state::AppState;
use axum::Router;
use axum::routing::{MethodFilter, on};

const GET: MethodFilter = MethodFilter::GET;
const POST: MethodFilter = MethodFilter::POST;
const PUT: MethodFilter = MethodFilter::PUT;
const PATCH: MethodFilter = MethodFilter::PATCH;
const DELETE: MethodFilter = MethodFilter::DELETE;

/// Each path of the spec and the methods it defines.
const ROUTES: &[(&str, MethodFilter)] = &[
    ("/affiliates", GET.or(POST)),
    ("/affiliates/commissions", GET),
    ("/affiliates/model", GET),
    ("/affiliates/programs", GET),
    ("/affiliates/redirectlinks", GET),
    ("/affiliates/summaries", GET),
    ("/affiliates/{id}", GET),
    ("/affiliates/{id}/clawbacks", GET),
    ("/affiliates/{id}/payments", GET),
    ("/appointments", GET.or(POST)),
    ("/appointments/model", GET),
    ("/appointments/model/customFields", POST),
    ("/appointments/{id}", GET.or(PUT).or(PATCH).or(DELETE)),
    ("/campaigns", GET),
    ("/campaigns/goals/{integration}/{call_name}", POST),
    ("/campaigns/{id}", GET),
    (
        "/campaigns/{id}/sequences/{sequence_id}/contacts",
        POST.or(DELETE),
    ),
    (
        "/campaigns/{id}/sequences/{sequence_id}/contacts/{contact_id}",
        POST.or(DELETE),
    ),
    ("/files", GET.or(POST)),
    ("/files/{id}", GET.or(PUT).or(DELETE)),
];

/// The 501 routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    ROUTES.iter().fold(Router::new(), |r, (path, methods)| {
        r.route(path, on(*methods, unimplemented))
    })
}
