//! `keapsake hooks listen`: a local REST hook receiver for development, like `stripe listen`.
//! It answers Keap's `X-Hook-Secret` handshake (echoing the secret, as the PHP SDK's
//! `autoverify()` does) and prints every event delivery it receives.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use clap::{Args, Subcommand};
use std::net::SocketAddr;

/// `keapsake hooks …`.
#[derive(Debug, Subcommand)]
pub enum HooksCmd {
    /// Run a local hook receiver: verify subscriptions and print every delivery.
    ///
    /// Subscribe it with `POST /crm/rest/v1/hooks {"eventKey":"contact.add","hookUrl":"http://127.0.0.1:8765/hook"}`.
    /// Any path is accepted. Stops with Ctrl-C.
    Listen(ListenArgs),
}

/// `keapsake hooks listen` arguments.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to listen on.
    #[arg(long, env = "KEAPSAKE_HOOKS_LISTEN", default_value = "127.0.0.1:8765")]
    pub listen: SocketAddr,
    /// Do not echo `X-Hook-Secret` (the subscription stays Unverified; use delayedVerify).
    #[arg(long)]
    pub no_echo: bool,
    /// Answer deliveries with this status (e.g. 500 to watch retries, 410 to deactivate).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(100..=599))]
    pub status: u16,
    /// Print one JSON object per request (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone)]
struct Opts {
    echo: bool,
    status: StatusCode,
    json: bool,
}

/// Runs the receiver until Ctrl-C.
///
/// # Errors
/// The address cannot be bound.
pub async fn run(cmd: HooksCmd) -> anyhow::Result<()> {
    let HooksCmd::Listen(args) = cmd;
    let opts = Opts {
        echo: !args.no_echo,
        status: StatusCode::from_u16(args.status)?,
        json: args.json,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "keapsake hooks listen: receiving on http://{addr}/hook (any path works); Ctrl-C to stop"
    );
    let app = Router::new().fallback(receive).with_state(opts);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn receive(
    State(o): State<Opts>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secret = headers
        .get("x-hook-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let parsed: serde_json::Value =
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if o.json {
        let line = serde_json::json!({
            "method": method.as_str(),
            "path": uri.path(),
            "handshake": secret.is_some(),
            "echoed": secret.is_some() && o.echo,
            "delivery": header("x-keapsake-delivery"),
            "attempt": header("x-keapsake-attempt"),
            "body": parsed,
        });
        println!("{line}");
    } else if secret.is_some() {
        println!(
            "verification request on {}: {}",
            uri.path(),
            if o.echo {
                "secret echoed, the subscription is Verified"
            } else {
                "secret NOT echoed (--no-echo)"
            }
        );
    } else {
        let ids: Vec<String> = parsed["object_keys"]
            .as_array()
            .map(|a| a.iter().map(|k| k["id"].to_string()).collect())
            .unwrap_or_default();
        println!(
            "{} {} (attempt {}, answered {}): ids [{}]\n{}",
            parsed["event_key"].as_str().unwrap_or("?"),
            header("x-keapsake-delivery"),
            header("x-keapsake-attempt"),
            o.status.as_u16(),
            ids.join(", "),
            serde_json::to_string_pretty(&parsed).unwrap_or_default()
        );
    }
    match secret {
        Some(s) if o.echo => {
            let mut res = StatusCode::OK.into_response();
            if let Ok(v) = s.parse() {
                res.headers_mut().insert("x-hook-secret", v);
            }
            res
        }
        Some(_) => StatusCode::OK.into_response(),
        None => o.status.into_response(),
    }
}
