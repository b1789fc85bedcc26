//! Statuses and bodies mapped onto `Error` variants.

use keapsake_sdk::model::ContactInput;
use keapsake_sdk::{Error, Keap};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn client_answering(status: u16, body: ResponseTemplate) -> (MockServer, Keap) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(body)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/contacts"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({
            "message": "Contact must contain an e-mail address or phone number"
        })))
        .mount(&server)
        .await;
    let client = Keap::builder()
        .base_url(server.uri())
        .api_key("k")
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn a_truncated_json_body_is_an_unexpected_response() {
    let (_server, client) = client_answering(
        200,
        ResponseTemplate::new(200).set_body_raw(r#"{"id":22,"given_name":"Ad"#, "application/json"),
    )
    .await;

    let err = client.contacts().get(22).send().await.unwrap_err();

    match &err {
        Error::UnexpectedResponse { status, reason } => {
            assert_eq!(*status, 200);
            assert!(reason.contains("EOF"), "{reason}");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_an_unexpected_response() {
    let (_server, client) = client_answering(
        200,
        ResponseTemplate::new(200).set_body_json(json!({"given_name": "no id"})),
    )
    .await;

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(
        matches!(err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_404_is_not_found_with_keaps_message() {
    let (_server, client) = client_answering(
        404,
        ResponseTemplate::new(404).set_body_json(json!({"message": "Unable to find this Contact"})),
    )
    .await;

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(
        matches!(&err, Error::NotFound { message } if message == "Unable to find this Contact"),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn keaps_html_404_page_becomes_a_short_message() {
    let (_server, client) = client_answering(
        404,
        ResponseTemplate::new(404).set_body_raw(
            "<html><title>Keap - Page Not Found</title></html>",
            "text/html",
        ),
    )
    .await;

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(
        matches!(&err, Error::NotFound { message } if message == "Not Found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_400_is_a_validation_error_with_keaps_message() {
    let (_server, client) = client_answering(400, ResponseTemplate::new(500)).await;

    let err = client
        .contacts()
        .create(ContactInput::new().given_name("Ada"))
        .send()
        .await
        .unwrap_err();

    match &err {
        Error::Validation { status, message } => {
            assert_eq!(*status, 400);
            assert_eq!(
                message,
                "Contact must contain an e-mail address or phone number"
            );
        }
        other => panic!("expected Validation, got {other:?}"),
    }
    assert!(err.to_string().contains("e-mail address or phone number"));
}

#[tokio::test]
async fn a_403_is_an_api_error() {
    let (_server, client) = client_answering(403, ResponseTemplate::new(500)).await;

    let err = client
        .contacts()
        .create(ContactInput::new())
        .send()
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Api { status: 403, .. }), "{err:?}");
}
