//! `keapsake mail list|show`: the outbox that `POST /emails/queue` fills, read from the
//! server's database.

use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};
use std::process::{Command, Output};

fn keapsake(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(args)
        .env("KEAPSAKE_DATABASE", db)
        .env_remove("RUST_LOG")
        .output()
        .expect("the keapsake binary runs")
}

fn stdout_ok(db: &str, args: &[&str]) -> String {
    let out = keapsake(db, args);
    assert!(
        out.status.success(),
        "keapsake {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_list_and_show_read_the_outbox() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let db = srv.sqlite_path.as_ref().unwrap().display().to_string();
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (_, tok) = srv.exchange(&srv.app, &code).await;
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(srv.at(&format!("crm/rest/v1/{path}")))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let c: Value = post(
        "contacts",
        json!({"given_name": "Grace", "email_addresses": [{"email": "grace@x.example", "field": "EMAIL1"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let res = post(
        "emails/queue",
        json!({"contacts": [c["id"]], "user_id": srv.user.id.0, "subject": "Hi ~Contact.FirstName~",
               "plain_content": "SGVsbG8gfkNvbnRhY3QuRmlyc3ROYW1lfg=="}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 202);

    let list: Value = serde_json::from_str(&stdout_ok(&db, &["mail", "list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["status"], "queued");
    assert_eq!(list[0]["to"], "grace@x.example");
    assert_eq!(list[0]["subject"], "Hi Grace");
    assert_eq!(list[0]["account"], srv.account.alias.as_str());
    let human = stdout_ok(&db, &["mail", "list", "--state", "queued"]);
    assert!(
        human.contains("grace@x.example") && human.contains("Hi Grace"),
        "{human}"
    );
    let none = stdout_ok(&db, &["mail", "list", "--state", "sent"]);
    assert!(none.contains("(no messages)"), "{none}");

    let alias = srv.account.alias.clone();
    let show: Value = serde_json::from_str(&stdout_ok(
        &db,
        &["mail", "show", "1", "--account", &alias, "--json"],
    ))
    .unwrap();
    assert_eq!(show["plain"], "Hello Grace");
    assert_eq!(show["from"], srv.user.email.as_str());
    let text = stdout_ok(&db, &["mail", "show", "1", "--account", &alias]);
    assert!(
        text.contains("status:   queued") && text.contains("Hello Grace"),
        "{text}"
    );

    let out = keapsake(&db, &["mail", "show", "9", "--account", &alias]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!("error: no outbox message 9 in account `{alias}`")
    );
    let out = keapsake(&db, &["mail", "list", "--account", "nope"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: no account with alias `nope`")
    );
}

#[test]
fn mail_help_is_true() {
    let out = Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(["mail", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("list") && text.contains("show"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--smtp") && text.contains("KEAPSAKE_SMTP"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(["serve", "--smtp", "http://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("smtp:// or smtps://"));
}
