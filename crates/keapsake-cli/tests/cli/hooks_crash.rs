//! Issue #4, Done-when 3: `kill -9` of `keapsake serve` with undelivered hook events queued,
//! then a restart: every event is delivered, none twice — on SQLite (one node), and on
//! PostgreSQL with two nodes sharing the database and racing to deliver.

use keapsake_testkit::hooks::{HookReceiver, Mode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, BufReader};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `keapsake serve`.
struct Node {
    child: tokio::process::Child,
    url: String,
}

impl Node {
    async fn start(database: &str, extra: &[&str]) -> Node {
        let port = free_port();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keapsake"))
            .args(["serve", "--demo", "--database", database])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env_remove("KEAPSAKE_SMTP")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("keapsake is listening on ") {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
            }
            panic!("keapsake serve exited before listening");
        })
        .await
        .expect("keapsake serve starts within 60 s");
        // Keep draining stderr so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Node { child, url }
    }

    async fn kill_9(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Mints a token for the demo app, waiting for `serve --demo` to have seeded it (the seed
/// runs just after the server starts listening).
async fn mint(database: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keapsake"))
            .args(["token", "mint", "--json", "--app", "keapsake-demo-app"])
            .args(["--user", "demo@keapsake.test", "--account", "demo1"])
            .args(["--database", database])
            .output()
            .unwrap();
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// Subscribes `contact.add` on `node` and creates `n` contacts; returns their ids.
async fn queue_events(node: &Node, token: &str, rx: &HookReceiver, n: usize) -> Vec<i64> {
    let http = reqwest::Client::new();
    let base = format!("{}crm/rest/v1", node.url);
    let hook: Value = http
        .post(format!("{base}/hooks"))
        .bearer_auth(token)
        .json(&json!({"eventKey": "contact.add", "hookUrl": rx.url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hook["status"], "Verified", "{hook}");
    let mut ids = Vec::new();
    for i in 0..n {
        let r = http
            .post(format!("{base}/contacts"))
            .bearer_auth(token)
            .json(&json!({"given_name": format!("crash{i}"), "email_addresses": [{"email": format!("crash{i}@example.com"), "field": "EMAIL1"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let v: Value = r.json().await.unwrap();
        ids.push(v["id"].as_i64().unwrap());
    }
    ids
}

/// How many times each contact id was delivered.
fn delivered(rx: &HookReceiver) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for d in rx.deliveries() {
        assert_eq!(d.json["event_key"], "contact.add");
        for k in d.json["object_keys"].as_array().unwrap() {
            *seen.entry(k["id"].as_i64().unwrap()).or_insert(0) += 1;
        }
    }
    seen
}

async fn wait_for(rx: &HookReceiver, n: usize) -> BTreeMap<i64, usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = delivered(rx);
        if seen.len() >= n || Instant::now() > deadline {
            // A little longer, so a duplicate delivery would have time to show up.
            tokio::time::sleep(Duration::from_millis(500)).await;
            return delivered(rx);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check(label: &str, ids: &[i64], seen: &BTreeMap<i64, usize>) {
    let missing: Vec<_> = ids.iter().filter(|i| !seen.contains_key(i)).collect();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "FIGURE [{label}] hook events queued before kill -9: {}, delivered after restart: {}, missing: {}, delivered twice: {}",
        ids.len(),
        seen.len(),
        missing.len(),
        twice.len()
    );
    assert!(missing.is_empty(), "undelivered after restart: {missing:?}");
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(seen.len(), ids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_events_survive_kill_9_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db").display().to_string();
    let rx = HookReceiver::start(Mode::Echo).await;
    // Node A queues events but never delivers them (no worker), then dies.
    let a = Node::start(&db, &["--no-hook-worker"]).await;
    let token = mint(&db).await;
    let ids = queue_events(&a, &token, &rx, 40).await;
    assert!(rx.deliveries().is_empty());
    a.kill_9().await;
    // The restarted node delivers everything that was acknowledged, once.
    let b = Node::start(&db, &["--hook-interval-ms", "50"]).await;
    let seen = wait_for(&rx, ids.len()).await;
    check("sqlite, 1 node", &ids, &seen);
    b.kill_9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_events_survive_kill_9_postgres_two_nodes() {
    let db = keapsake_testkit::fresh_pg_database().await;
    let rx = HookReceiver::start(Mode::Echo).await;
    let a = Node::start(&db, &["--no-hook-worker"]).await;
    let token = mint(&db).await;
    let ids = queue_events(&a, &token, &rx, 60).await;
    assert!(rx.deliveries().is_empty());
    a.kill_9().await;
    // Two nodes on the same database race for the queued events.
    let (b, c) = tokio::join!(
        Node::start(&db, &["--hook-interval-ms", "20"]),
        Node::start(&db, &["--hook-interval-ms", "20"])
    );
    let seen = wait_for(&rx, ids.len()).await;
    check("postgres, 2 nodes", &ids, &seen);
    b.kill_9().await;
    c.kill_9().await;
}

/// `keapsake hooks listen --json`: echoes the handshake secret, answers deliveries with
/// `--status`, and prints one JSON line per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_listen_verifies_and_prints_deliveries() {
    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keapsake"))
        .args(["hooks", "listen", "--json", "--status", "503"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = format!("http://127.0.0.1:{port}/hook");
    let http = reqwest::Client::new();
    let handshake = loop {
        match http
            .post(&url)
            .header("X-Hook-Secret", "s3cret")
            .send()
            .await
        {
            Ok(r) => break r,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(handshake.status().as_u16(), 200);
    assert_eq!(handshake.headers()["x-hook-secret"], "s3cret");
    let delivery = http
        .post(&url)
        .json(&json!({"event_key": "contact.add", "object_type": "contact", "object_keys": [{"id": 7}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(delivery.status().as_u16(), 503);
    let first: Value = serde_json::from_str(&out.next_line().await.unwrap().unwrap()).unwrap();
    let second: Value = serde_json::from_str(&out.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(
        (first["handshake"].clone(), first["echoed"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(second["handshake"], json!(false));
    assert_eq!(second["body"]["object_keys"][0]["id"], 7);
    child.kill().await.unwrap();
}
