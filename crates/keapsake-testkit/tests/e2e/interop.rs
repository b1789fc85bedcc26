//! Interop: the `oauth2` crate (a third-party OAuth 2.0 client nobody here wrote) completes the
//! code exchange and a refresh against keapsake, using Keap's split: credentials in the body for
//! the code, HTTP Basic for the refresh. Its Basic auth URL-encodes id and secret (RFC 6749
//! §2.3.1), which keapsake decodes.

use keapsake_testkit::{Backend, TestServer};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, HttpRequest, HttpResponse,
    RedirectUrl, RefreshToken, TokenResponse as _, TokenUrl,
};

/// oauth2 5.0's `reqwest` feature pins reqwest 0.12; this adapter speaks reqwest 0.13.
async fn http(req: HttpRequest) -> Result<HttpResponse, std::io::Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (parts, body) = req.into_parts();
    let mut rb = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (k, v) in parts.headers.iter() {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.map_err(std::io::Error::other)?;
    let mut builder = oauth2::http::Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        builder = builder.header(k.as_str(), v.as_bytes());
    }
    let bytes = resp.bytes().await.map_err(std::io::Error::other)?;
    builder.body(bytes.to_vec()).map_err(std::io::Error::other)
}

async fn oauth2_crate_exchanges_and_refreshes(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let base = BasicClient::new(ClientId::new(srv.app.client_id.clone()))
        .set_client_secret(ClientSecret::new(srv.app.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(srv.at("app/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(srv.at("token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(srv.app.redirect_uri.clone()).unwrap());

    let code = srv.authorize(&srv.app, &srv.user).await;
    let body_client = base.clone().set_auth_type(AuthType::RequestBody);
    let tok = body_client
        .exchange_code(AuthorizationCode::new(code))
        .request_async(&http)
        .await
        .expect("code exchange");
    assert_eq!(tok.expires_in().map(|d| d.as_secs()), Some(3600));
    let rt = tok
        .refresh_token()
        .expect("a refresh token")
        .secret()
        .clone();

    let basic_client = base.set_auth_type(AuthType::BasicAuth);
    let tok2 = basic_client
        .exchange_refresh_token(&RefreshToken::new(rt.clone()))
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        tok2.refresh_token().unwrap().secret(),
        &rt,
        "refresh rotates"
    );
    let again = basic_client
        .exchange_refresh_token(&RefreshToken::new(rt))
        .request_async(&http)
        .await;
    assert!(again.is_err(), "the rotated refresh token is refused");
}
on_both_stores!(oauth2_crate_exchanges_and_refreshes);
