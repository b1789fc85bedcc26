//! Admin commands: --json output, errors as one clear line, and tokens minted without a browser
//! that the running server accepts.

use keapsake_testkit::{Backend, TestServer};
use serde_json::Value;
use std::process::{Command, Output};

fn keapsake(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(args)
        .env("KEAPSAKE_DATABASE", db)
        .env_remove("RUST_LOG")
        .output()
        .expect("the keapsake binary runs")
}

fn json_ok(db: &str, args: &[&str]) -> Value {
    let out = keapsake(db, args);
    assert!(
        out.status.success(),
        "keapsake {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn db_of(srv: &TestServer) -> String {
    srv.sqlite_path
        .as_ref()
        .map(|p| p.display().to_string())
        .or(srv.database_url.clone())
        .unwrap()
}

async fn minted_tokens_work_against_the_running_server(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let db = db_of(&srv);
    let sfx = keapsake_testkit::unique_suffix();
    let email = format!("cli-{sfx}@example.com");
    let alias = format!("c{sfx}");

    let u = json_ok(
        &db,
        &[
            "user",
            "add",
            "--email",
            &email,
            "--password",
            "a long passphrase",
            "--given-name",
            "Cli",
            "--json",
        ],
    );
    assert_eq!(u["email"], email);
    let a = json_ok(
        &db,
        &[
            "account", "add", "--alias", &alias, "--name", "CLI Co", "--json",
        ],
    );
    assert_eq!(a["alias"], alias);
    json_ok(
        &db,
        &[
            "member",
            "add",
            "--account",
            &alias,
            "--user",
            &email,
            "--admin",
            "--json",
        ],
    );
    let app = json_ok(
        &db,
        &[
            "app",
            "add",
            "--name",
            "CLI app",
            "--redirect-uri",
            "https://cli.example.com/cb",
            "--json",
        ],
    );
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let client_secret = app["client_secret"].as_str().unwrap().to_string();
    assert!(client_secret.len() >= 43, "a 256-bit secret");

    // Listing never shows the secret.
    let list = keapsake(&db, &["app", "list", "--json"]);
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&client_secret));

    // token mint → the server accepts the access token and rotates the refresh token.
    let tok = json_ok(
        &db,
        &[
            "token",
            "mint",
            "--app",
            &client_id,
            "--user",
            &email,
            "--account",
            &alias,
            "--json",
        ],
    );
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["scope"], format!("full|{alias}.infusionsoft.com"));
    let r = reqwest::Client::new()
        .get(srv.at("crm/rest/v1/oauth/connect/userinfo"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["email"], email);
    let me = keapsake_testkit::TestApp {
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        redirect_uri: "https://cli.example.com/cb".into(),
    };
    let (s, _) = srv
        .refresh(&me, tok["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(s, 200);

    // --code-only gives a code the app exchanges itself.
    let c = json_ok(
        &db,
        &[
            "token",
            "mint",
            "--app",
            &client_id,
            "--user",
            &email,
            "--account",
            &alias,
            "--code-only",
            "--json",
        ],
    );
    let (s, body) = srv.exchange(&me, c["code"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{body}");

    // Rotating the secret: the old one stops authenticating, the new one works.
    let rot = json_ok(&db, &["app", "rotate-secret", &client_id, "--json"]);
    let new_secret = rot["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, client_secret);
    let (s, body) = srv
        .refresh(&me, body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));

    // Disabling the app: its tokens stop working on the next request.
    json_ok(&db, &["app", "disable", &client_id, "--json"]);
    let r = reqwest::Client::new()
        .get(srv.at("crm/rest/v1/oauth/connect/userinfo"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_tokens_work_against_the_running_server_sqlite() {
    minted_tokens_work_against_the_running_server(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_tokens_work_against_the_running_server_postgres() {
    minted_tokens_work_against_the_running_server(Backend::Postgres).await
}

#[test]
fn errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db").display().to_string();
    let out = keapsake(
        &db,
        &[
            "member",
            "add",
            "--account",
            "nope",
            "--user",
            "x@example.com",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("error: no account with alias `nope`"),
        "{err}"
    );

    let out = keapsake(
        &db,
        &[
            "app",
            "add",
            "--name",
            "x",
            "--redirect-uri",
            "http://example.com/cb",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must use https"), "{err}");
}

#[test]
fn every_command_has_help_with_examples() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["app", "add", "--help"],
        vec!["token", "mint", "--help"],
        vec!["key", "add", "--help"],
        vec!["key", "import", "--help"],
        vec!["user", "add", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_keapsake"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("xample"), "{args:?} has no example:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for env in [
        "KEAPSAKE_LISTEN",
        "KEAPSAKE_DATABASE",
        "KEAPSAKE_REFRESH_REUSE_GRACE",
        "KEAPSAKE_ACCESS_TOKEN_TTL",
        "KEAPSAKE_DURABILITY",
        "KEAPSAKE_TLS",
    ] {
        assert!(text.contains(env), "serve --help must name {env}");
    }
}

/// `key import --kind legacy KEY` (and `key add --kind legacy --import`): the imported key
/// authenticates XML-RPC calls as the first parameter, its prefix is listed, never the key; a
/// revoked one is refused with `[InvalidKey]`.
async fn imported_legacy_keys_work_for_xmlrpc(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let db = db_of(&srv);
    let alias = srv.account.alias.clone();
    let key = format!("{}abcdef0123456789", keapsake_testkit::unique_suffix());
    let k = json_ok(
        &db,
        &[
            "key",
            "import",
            "--account",
            &alias,
            "--kind",
            "legacy",
            &key,
            "--name",
            "migrated",
            "--json",
        ],
    );
    assert_eq!(
        (k["kind"].as_str(), k["key"].as_str()),
        (Some("legacy"), Some(key.as_str()))
    );
    let via_add_key = format!("{key}-second");
    let k2 = json_ok(
        &db,
        &[
            "key",
            "add",
            "--account",
            &alias,
            "--kind",
            "legacy",
            "--import",
            &via_add_key,
            "--json",
        ],
    );
    let short = keapsake(&db, &["key", "import", "--account", &alias, "short"]);
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 16 characters"));
    let pat = keapsake(
        &db,
        &["key", "import", "--account", &alias, "--kind", "pat", &key],
    );
    assert!(!pat.status.success(), "only legacy keys are imported");
    let list = keapsake(&db, &["key", "list", "--account", &alias, "--json"]);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(!listed.contains(&key), "the key itself is never listed");
    assert!(listed.contains(&format!("{}…", &key[..4])), "{listed}");

    let call = |k: String| {
        let url = srv.at("crm/xmlrpc/v1");
        async move {
            let body = format!(
                "<?xml version='1.0'?><methodCall><methodName>DataService.getAppSetting</methodName><params>\
                 <param><value><string>{k}</string></value></param><param><value>Application</value></param>\
                 <param><value>enabled</value></param></params></methodCall>"
            );
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "text/xml")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    for k in [key.clone(), via_add_key.clone()] {
        let text = call(k).await;
        assert!(
            text.contains("<value>yes</value>") || text.contains("<string>yes</string>"),
            "{text}"
        );
    }
    json_ok(
        &db,
        &[
            "key",
            "revoke",
            "--account",
            &alias,
            &k2["id"].to_string(),
            "--json",
        ],
    );
    assert!(call(via_add_key).await.contains("[InvalidKey]"));
    assert!(
        call("0000000000000000-unknown".into())
            .await
            .contains("[InvalidKey]")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_legacy_keys_work_for_xmlrpc_sqlite() {
    imported_legacy_keys_work_for_xmlrpc(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_legacy_keys_work_for_xmlrpc_postgres() {
    imported_legacy_keys_work_for_xmlrpc(Backend::Postgres).await
}
