//! A real browser: headless Chromium (Debian's `chromium` + `chromium-driver`, which
//! ./scripts/test installs) logs in, chooses an account, allows, and lands on the redirect URI
//! with a code. This checks what only a browser does: real cookies (SameSite), real
//! `Origin`/`Sec-Fetch-Site` on our form posts, CSP, and following the 302 to the client.

use keapsake_testkit::{Backend, TestServer};
use std::process::Stdio;
use std::time::Duration;
use thirtyfour::prelude::*;

struct Driver(tokio::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn start_chromedriver() -> (Driver, u16) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver must be installed (apt-get install chromium chromium-driver; ./scripts/test does it)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (Driver(child), port);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_logs_in_chooses_an_account_allows_and_lands_on_the_redirect_uri() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let email = format!("browser-{}@example.com", keapsake_testkit::unique_suffix());
    let (user, accounts) = srv.add_user_with_accounts(&email, 2).await;
    let (_driver, port) = start_chromedriver().await;

    let mut caps = DesiredCapabilities::chrome();
    if std::path::Path::new("/usr/bin/chromium").exists() {
        caps.set_binary("/usr/bin/chromium").unwrap();
    }
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ] {
        caps.add_arg(arg).unwrap();
    }
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
        .await
        .expect("a browser session");
    let result = async {
        let url = srv.authorize_url(
            &srv.app,
            &keapsake_testkit::AuthorizeOptions {
                state: Some("browser".into()),
                ..Default::default()
            },
        );
        driver.goto(url).await?;
        driver
            .find(By::Name("email"))
            .await?
            .send_keys(&user.email)
            .await?;
        driver
            .find(By::Name("password"))
            .await?
            .send_keys(&user.password)
            .await?;
        driver
            .find(By::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        // Two accounts: pick the second.
        let choice = format!("input[name=account_id][value='{}']", accounts[1].id);
        driver.find(By::Css(&choice)).await?.click().await?;
        driver
            .find(By::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        driver
            .find(By::Css("button[name=decision][value=allow]"))
            .await?
            .click()
            .await?;
        for _ in 0..100 {
            let now = driver.current_url().await?;
            if now.as_str().starts_with(&srv.app.redirect_uri) {
                return Ok::<_, WebDriverError>(now);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver.current_url().await
    }
    .await;
    let landed = match result {
        Ok(u) => u,
        Err(e) => {
            let src = driver.source().await.unwrap_or_default();
            let _ = driver.clone().quit().await;
            panic!("browser flow failed: {e}\npage:\n{src}");
        }
    };
    driver.quit().await.ok();
    assert!(
        landed.as_str().starts_with(&srv.app.redirect_uri),
        "landed on {landed}"
    );
    let q: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("browser"));
    let code = q.get("code").expect("a code in the redirect");
    let (s, tok) = srv.exchange(&srv.app, code).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(
        tok["scope"],
        format!("full|{}.infusionsoft.com", accounts[1].alias)
    );
}
