//! `keapsake`: the command line. Thin by design: it parses flags (each also a `KEAPSAKE_*`
//! environment variable), opens the store, and calls the server and core crates.

mod admin;
mod client;
mod hooks;
mod mail;
mod output;
mod serve;

use clap::{Parser, Subcommand};

/// A self-hostable, Keap-compatible API platform: OAuth 2.0 authorization server, REST and
/// XML-RPC APIs, on embedded SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "keapsake", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  keapsake serve --demo                      # sandbox with a demo user, account and app\n  keapsake app add --name Mine --redirect-uri https://myapp.example.com/cb\n  keapsake token mint --app keapsake-demo-app --user demo@keapsake.test --account demo1 --json\n\nEvery flag can also be set with a KEAPSAKE_* environment variable (see each command's --help)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; shared by every command that touches it.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Database: a SQLite file path (created if missing) or a postgres:// URL.
    #[arg(
        long,
        env = "KEAPSAKE_DATABASE",
        default_value = "keapsake.db",
        global = true
    )]
    pub database: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<serve::ServeArgs>),
    /// Manage users (people who log in).
    #[command(subcommand)]
    User(admin::UserCmd),
    /// Manage accounts (Keap apps, i.e. tenants).
    #[command(subcommand)]
    Account(admin::AccountCmd),
    /// Manage account membership.
    #[command(subcommand)]
    Member(admin::MemberCmd),
    /// Manage OAuth apps (clients).
    #[command(subcommand)]
    App(admin::AppCmd),
    /// Mint OAuth tokens without a browser (for integrators' CI).
    #[command(subcommand)]
    Token(admin::TokenCmd),
    /// Manage API keys: Personal Access Tokens, Service Account Keys, legacy keys.
    #[command(subcommand)]
    Key(admin::KeyCmd),
    /// Read the mail outbox that POST /emails/queue fills (list, show).
    #[command(subcommand)]
    Mail(mail::MailCmd),
    /// A local REST hook receiver for development (verifies and prints deliveries).
    #[command(subcommand)]
    Hooks(hooks::HooksCmd),
    /// Sign in to keapsake (or Keap) in a browser and save the token (loopback redirect).
    Login(client::LoginArgs),
    /// Make an authenticated API call with the saved token, refreshing it when needed.
    Api(client::ApiArgs),
    /// Apply database migrations and exit (serve also does this at start).
    Migrate {
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line (with its causes), never a backtrace.
            let mut msg = format!("error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!(": {cause}"));
            }
            eprintln!("{msg}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Hooks(cmd) => hooks::run(cmd).await,
        Command::User(c) => admin::user(c).await,
        Command::Account(c) => admin::account(c).await,
        Command::Member(c) => admin::member(c).await,
        Command::App(c) => admin::app(c).await,
        Command::Token(c) => admin::token(c).await,
        Command::Key(c) => admin::key(c).await,
        Command::Mail(c) => mail::mail(c).await,
        Command::Login(a) => client::login(a).await,
        Command::Api(a) => client::api(a).await,
        Command::Migrate { db, json } => {
            let store = admin::open(&db).await?;
            output::emit(
                json,
                &serde_json::json!({"migrated": true, "backend": store.backend()}),
                || format!("migrations applied ({})", store.backend()),
            );
            Ok(())
        }
    }
}
