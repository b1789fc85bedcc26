//! SECURITY.md §3 figure: after a full flow, the database (SQLite file + WAL, or a `pg_dump`) and
//! every log line captured at TRACE level contain none of the secrets that were minted or typed.

use keapsake_testkit::{Backend, TestServer, html::Browser};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let c = Captured::default();
        let writer = c.clone();
        // Everything at TRACE except the test's own HTTP client (reqwest, its cookie jar and its
        // connection pool), which runs in this process but is not part of the server.
        let filter = tracing_subscriber::EnvFilter::new(
            "trace,reqwest=off,cookie_store=off,hyper_util::client=off",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        c
    })
    .clone()
}

async fn no_secret_reaches_the_database_or_the_logs(backend: Backend) {
    let logs = capture_logs();
    let srv = TestServer::start(backend).await;
    // A user with a random password (the demo password is a substring of the demo client id).
    let (user, _) = srv
        .add_user_with_accounts(
            &format!("s-{}@example.com", keapsake_testkit::unique_suffix()),
            1,
        )
        .await;
    let mut secrets: Vec<(String, String)> = vec![
        ("client_secret".into(), srv.app.client_secret.clone()),
        ("password".into(), user.password.clone()),
    ];
    // The session cookie set by the login page.
    let b = Browser::new();
    let page = b
        .get(&srv.authorize_url(&srv.app, &Default::default()))
        .await;
    if let Some(c) = page.header("set-cookie") {
        let v = c
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_string();
        secrets.push(("session cookie".into(), v));
    }
    let code = srv.authorize(&srv.app, &user).await;
    secrets.push(("code".into(), code.clone()));
    let (_, tok) = srv.exchange(&srv.app, &code).await;
    secrets.push((
        "access_token".into(),
        tok["access_token"].as_str().unwrap().into(),
    ));
    secrets.push((
        "refresh_token".into(),
        tok["refresh_token"].as_str().unwrap().into(),
    ));
    // Query-string credential and a refresh, so both code paths are logged.
    reqwest::get(format!(
        "{}?access_token={}",
        srv.at("crm/rest/v1/oauth/connect/userinfo"),
        tok["access_token"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let (_, tok2) = srv
        .refresh(&srv.app, tok["refresh_token"].as_str().unwrap())
        .await;
    secrets.push((
        "access_token 2".into(),
        tok2["access_token"].as_str().unwrap().into(),
    ));
    secrets.push((
        "refresh_token 2".into(),
        tok2["refresh_token"].as_str().unwrap().into(),
    ));

    let mut haystacks: Vec<(String, Vec<u8>)> = Vec::new();
    match backend {
        Backend::Sqlite => {
            let p = srv.sqlite_path.clone().unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let f = std::path::PathBuf::from(format!("{}{suffix}", p.display()));
                if let Ok(bytes) = std::fs::read(&f) {
                    haystacks.push((f.display().to_string(), bytes));
                }
            }
        }
        Backend::Postgres => {
            let url = srv.database_url.clone().unwrap();
            let out = std::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(&url)
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            haystacks.push(("pg_dump".into(), out.stdout));
        }
    }
    haystacks.push(("trace logs".into(), logs.0.lock().unwrap().clone()));
    assert!(
        haystacks.last().unwrap().1.len() > 1000,
        "the TRACE capture must have recorded the requests"
    );

    let mut found = 0;
    for (what, secret) in &secrets {
        for (name, hay) in &haystacks {
            if let Some(pos) = hay
                .windows(secret.len())
                .position(|w| w == secret.as_bytes())
            {
                found += 1;
                let from = pos.saturating_sub(300);
                let ctx =
                    String::from_utf8_lossy(&hay[from..(pos + secret.len() + 100).min(hay.len())])
                        .replace(secret.as_str(), "<SECRET>");
                eprintln!("LEAK: {what} found in {name}: …{ctx}…");
            }
        }
    }
    println!(
        "FIGURE [{backend:?}] secrets found in {} = {found} (of {} secrets checked)",
        haystacks
            .iter()
            .map(|h| h.0.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        secrets.len()
    );
    assert_eq!(found, 0);
}
on_both_stores!(no_secret_reaches_the_database_or_the_logs);
