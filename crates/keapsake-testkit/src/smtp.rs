//! A minimal SMTP sink for tests: a tokio task on 127.0.0.1:<random> speaking enough of
//! RFC 5321 for an SMTP client (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP,
//! QUIT, and `AUTH PLAIN` accepting any credentials), keeping every message it accepts and the
//! argument of every `AUTH PLAIN`.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// One message the sink accepted.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// `MAIL FROM` argument, e.g. `<a@b.c>`.
    pub from: String,
    /// `RCPT TO` arguments.
    pub to: Vec<String>,
    /// The message as sent (headers and body, CRLF line ends, dot-unstuffed).
    pub data: String,
}

/// A running sink.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    auths: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    /// Starts a sink that accepts everything.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the SMTP sink");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let auths: Arc<Mutex<Vec<String>>> = Arc::default();
        let store = got.clone();
        let auth_log = auths.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(session(sock, store.clone(), auth_log.clone()));
            }
        });
        SmtpSink {
            url: format!("smtp://{addr}"),
            got,
            auths,
        }
    }

    /// The base64 argument of every `AUTH PLAIN` so far (`\0user\0password`, encoded).
    pub fn auths(&self) -> Vec<String> {
        self.auths
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.got
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

async fn session(
    sock: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    auths: Arc<Mutex<Vec<String>>>,
) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    let mut cur = Received::default();
    if w.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_owned();
        let up = cmd.to_ascii_uppercase();
        let reply: &[u8] = if up.starts_with("EHLO") {
            b"250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
        } else if up.starts_with("AUTH PLAIN ") {
            auths
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(cmd[11..].trim().to_owned());
            b"235 2.7.0 Authentication successful\r\n"
        } else if up.starts_with("HELO") || up.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if up.starts_with("RSET") {
            cur = Received::default();
            b"250 OK\r\n"
        } else if let Some(arg) = up.strip_prefix("MAIL FROM:").map(|_| &cmd[10..]) {
            cur.from = arg.trim().to_owned();
            b"250 OK\r\n"
        } else if let Some(arg) = up.strip_prefix("RCPT TO:").map(|_| &cmd[8..]) {
            cur.to.push(arg.trim().to_owned());
            b"250 OK\r\n"
        } else if up == "DATA" {
            if w.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            cur.data = data;
            store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(std::mem::take(&mut cur));
            b"250 OK queued\r\n"
        } else if up.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}
