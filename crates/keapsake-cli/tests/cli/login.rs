//! `keapsake login` + `keapsake api` end to end: the CLI listens on a loopback redirect URI, the
//! testkit's form-walking browser signs in and allows, the CLI exchanges the code and saves the
//! token; `keapsake api` then calls the API with it, and keeps working after the access token
//! expires (automatic refresh with rotation).

use keapsake_testkit::html::Browser;
use keapsake_testkit::{Backend, TestServer};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt as _, BufReader};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_api_with_automatic_refresh() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let app = srv
        .add_app(
            &format!("cli-{}", keapsake_testkit::unique_suffix()),
            &redirect,
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token.json");
    let envs = [
        ("KEAPSAKE_URL", srv.url().to_string()),
        ("KEAPSAKE_CLIENT_ID", app.client_id.clone()),
        ("KEAPSAKE_CLIENT_SECRET", app.client_secret.clone()),
        ("KEAPSAKE_REDIRECT_URI", redirect.clone()),
        ("KEAPSAKE_TOKEN_FILE", token_file.display().to_string()),
    ];

    // keapsake login: read the authorize URL it prints.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .arg("login")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut authorize_url = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        let t = line.trim();
        if t.starts_with("http") && t.contains("/app/oauth/authorize") {
            authorize_url = Some(t.to_string());
            break;
        }
    }
    let authorize_url = authorize_url.expect("login prints the authorize URL");
    assert!(
        authorize_url.contains("code_challenge="),
        "the CLI uses PKCE"
    );

    // The "browser": sign in, allow, then follow the redirect to the CLI's loopback listener.
    let b = Browser::new();
    let mut page = b.get(&authorize_url).await;
    let form = page.forms().remove(0);
    page = b
        .submit(
            &page,
            &form,
            &[("email", &srv.user.email), ("password", &srv.user.password)],
            None,
        )
        .await;
    let form = page.forms().remove(0);
    page = b
        .submit(&page, &form, &[], Some(("decision", "allow")))
        .await;
    let to_cli = page.location.clone().expect("redirect to the CLI");
    assert!(to_cli.starts_with(&redirect), "{to_cli}");
    let landing = reqwest::get(&to_cli).await.unwrap();
    assert!(landing.status().is_success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    let mut rest = String::new();
    while let Ok(Some(l)) = lines.next_line().await {
        rest.push_str(&l);
        rest.push('\n');
    }
    assert!(status.success(), "login failed: {rest}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // keapsake api, now and after the access token has expired on the server's clock.
    let api = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_keapsake"))
            .args(["api", "GET", "/crm/rest/v1/oauth/connect/userinfo"])
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap()
    };
    let out = api();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["email"], srv.user.email);
    let before = std::fs::read_to_string(&token_file).unwrap();

    srv.clock.advance(time::Duration::seconds(3601));
    let out = api();
    assert!(
        out.status.success(),
        "after expiry: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(before, after, "the refreshed (rotated) token was saved");

    // An error status is printed and makes the command fail.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(["api", "GET", "/crm/rest/v1/no-such-thing"])
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Not Found"));
}
