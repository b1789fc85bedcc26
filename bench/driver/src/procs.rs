//! Spawning servers, waiting for their first 200, reading their RSS, stopping them; and minting
//! refresh chains with the `keapsake` CLI.

use crate::http::TokenPair;
use anyhow::{Context as _, anyhow, bail};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound then released; the tiny race is acceptable for a bench).
///
/// # Errors
/// If no port can be bound.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// A server process under test.
pub struct ServerProc {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProc {
    /// Spawns `bin args…` with stdout and stderr appended to `log` (or discarded).
    ///
    /// # Errors
    /// If the binary cannot be started.
    pub fn spawn(
        bin: &Path,
        args: &[String],
        addr: SocketAddr,
        log: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let (out, err) = match log {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?;
                (Stdio::from(f.try_clone()?), Stdio::from(f))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Self { child, addr })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /healthz` until it answers 200; returns the time since `since`.
    ///
    /// # Errors
    /// If the process exits first or `timeout` passes.
    pub fn wait_healthy(&mut self, since: Instant, timeout: Duration) -> anyhow::Result<Duration> {
        loop {
            if healthz_once(self.addr) {
                return Ok(since.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited with {status} before answering /healthz");
            }
            if since.elapsed() > timeout {
                bail!(
                    "no 200 from http://{}/healthz within {timeout:?}",
                    self.addr
                );
            }
            // Fast enough to resolve well under a millisecond, slow enough not to steal a core
            // from the server that is starting.
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Resident set size in KiB (`VmRSS` from `/proc/<pid>/status`).
    ///
    /// # Errors
    /// If the file cannot be read or has no `VmRSS` line.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .ok_or_else(|| anyhow!("no VmRSS"))?;
        let kib = line
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| anyhow!("malformed VmRSS line"))?
            .parse()?;
        Ok(kib)
    }

    /// SIGKILL, then reap.
    ///
    /// # Errors
    /// If the signal cannot be sent.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        // `Child::kill` is SIGKILL on Unix.
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it has not exited within 5 s.
    ///
    /// # Errors
    /// If neither signal can be delivered.
    pub fn stop(mut self) -> anyhow::Result<()> {
        // `kill(1)` rather than libc: the workspace forbids unsafe code.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill9()
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        // Never leave a server behind when the driver bails out early.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One blocking `GET /healthz`; true on a 200.
fn healthz_once(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(1000)));
    let _ = s.set_nodelay(true);
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    buf[..n].starts_with(b"HTTP/1.1 200")
}

/// How to reach the `keapsake` CLI and the database it administers.
#[derive(Debug, Clone)]
pub struct Keapsake {
    /// Path of the `keapsake` binary.
    pub bin: PathBuf,
    /// SQLite database file.
    pub database: PathBuf,
    /// Client id of the app the chains belong to.
    pub app: String,
    /// E-mail of the user.
    pub user: String,
    /// Alias of the account.
    pub account: String,
}

impl Keapsake {
    /// The demo sandbox that `keapsake serve --demo` seeds.
    pub fn demo(bin: PathBuf, database: PathBuf) -> Self {
        Self {
            bin,
            database,
            app: "keapsake-demo-app".into(),
            user: "demo@keapsake.test".into(),
            account: "demo1".into(),
        }
    }

    /// Arguments of `keapsake serve` on this database.
    pub fn serve_args(&self, addr: SocketAddr, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            addr.to_string(),
            "--database".into(),
            self.database.display().to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    /// Mints one access + refresh pair with `keapsake token mint --json`.
    ///
    /// # Errors
    /// If the CLI fails or prints something that is not a /token body.
    pub fn mint(&self) -> anyhow::Result<TokenPair> {
        let out = Command::new(&self.bin)
            .args([
                "token",
                "mint",
                "--json",
                "--app",
                &self.app,
                "--user",
                &self.user,
                "--account",
                &self.account,
            ])
            .arg("--database")
            .arg(&self.database)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "keapsake token mint failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "keapsake token mint printed: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            )
        })
    }

    /// Mints `n` independent chains, four CLI processes at a time.
    ///
    /// # Errors
    /// The first minting failure.
    pub fn mint_many(&self, n: usize) -> anyhow::Result<Vec<TokenPair>> {
        let mut all = Vec::with_capacity(n);
        let mut left = n;
        while left > 0 {
            let k = left.min(4);
            let got: Vec<anyhow::Result<TokenPair>> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..k).map(|_| s.spawn(|| self.mint())).collect();
                hs.into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow!("mint thread panicked")))
                    })
                    .collect()
            });
            for g in got {
                all.push(g?);
            }
            left -= k;
        }
        Ok(all)
    }

    /// Replaces the app's secret with a generated one (`keapsake app rotate-secret --json`), which
    /// keapsake stores as SHA-256 rather than Argon2id; returns the new secret.
    ///
    /// # Errors
    /// If the CLI fails.
    pub fn rotate_secret(&self) -> anyhow::Result<String> {
        #[derive(serde::Deserialize)]
        struct Rotated {
            client_secret: String,
        }
        let out = Command::new(&self.bin)
            .args(["app", "rotate-secret", &self.app, "--json"])
            .arg("--database")
            .arg(&self.database)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "keapsake app rotate-secret failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(serde_json::from_slice::<Rotated>(&out.stdout)?.client_secret)
    }

    /// Creates the database and seeds the demo sandbox by running `serve --demo` until its first
    /// 200 on /healthz, then stopping it.
    ///
    /// # Errors
    /// If the server cannot start or seed.
    pub fn seed_demo(&self, log: Option<&Path>) -> anyhow::Result<()> {
        let addr = free_addr()?;
        let mut srv = ServerProc::spawn(&self.bin, &self.serve_args(addr, &["--demo"]), addr, log)?;
        srv.wait_healthy(Instant::now(), Duration::from_secs(30))
            .context("seeding the demo sandbox")?;
        srv.stop()
    }
}

/// `path` with `suffix` appended to its file name (`k.db` → `k.db-wal`).
pub fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
