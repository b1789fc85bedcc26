//! `keapsake mail`: read the mail outbox that `POST /emails/queue` fills (one message per
//! recipient, with its status), straight from the database like the other admin commands.

use crate::DbArgs;
use crate::admin::open;
use crate::output::emit;
use anyhow::{anyhow, bail};
use keapsake_core::messaging::outbox::{self, OutboxDoc};
use keapsake_core::records::{Column, Cond, Query, RecordKind};
use keapsake_core::store::Account;
use keapsake_core::{Store, StoreError};
use serde_json::{Value, json};

/// `keapsake mail …`
#[derive(Debug, clap::Subcommand)]
pub enum MailCmd {
    /// List outbox messages, newest first: id, account, status (queued, sent,
    /// skipped: <reason>, failed: <error>), recipient and subject.
    #[command(
        after_help = "Examples:\n  keapsake mail list\n  keapsake mail list --account ab123 --state queued --json"
    )]
    List {
        /// Only this account (its alias); default: every account.
        #[arg(long)]
        account: Option<String>,
        /// Only messages in this state.
        #[arg(long, value_parser = ["queued", "sent", "skipped", "failed"])]
        state: Option<String>,
        /// At most this many messages per account.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one outbox message with its bodies and attachment names.
    #[command(after_help = "Example:\n  keapsake mail show 3 --account ab123")]
    Show {
        /// Message id (ids are per account).
        id: i64,
        /// The account (its alias); may be left out when the database has one account.
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

async fn accounts(store: &dyn Store, alias: Option<&str>) -> anyhow::Result<Vec<Account>> {
    match alias {
        Some(a) => Ok(vec![store.find_account_by_alias(a).await?.ok_or_else(
            || anyhow!("no account with alias `{a}` (see `keapsake account list`)"),
        )?]),
        None => Ok(store.list_accounts().await?),
    }
}

fn line(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_owned();
    format!(
        "{:<6} {:<10} {:<40} {:<32} {}",
        v["id"].to_string(),
        s("account"),
        s("status"),
        s("to"),
        s("subject")
    )
}

/// Runs a `mail` command.
pub async fn mail(cmd: MailCmd) -> anyhow::Result<()> {
    match cmd {
        MailCmd::List {
            account,
            state,
            limit,
            db,
            json,
        } => {
            let store = open(&db).await?;
            let mut conds = Vec::new();
            if let Some(s) = &state {
                conds.push(Cond::TextEq(outbox::STATE_KEY, s.clone()));
            }
            let mut out = Vec::new();
            for a in accounts(store.as_ref(), account.as_deref()).await? {
                let query = Query {
                    conds: conds.clone(),
                    order: Column::Id,
                    descending: true,
                    limit,
                    offset: 0,
                };
                let (records, _) = store
                    .list_records(a.id, RecordKind::OutboxMessage, &query)
                    .await?;
                for r in records {
                    let doc = OutboxDoc::from_value(&r.data).map_err(|e| anyhow!(e))?;
                    let mut v = doc.render(r.id, false);
                    v["account"] = json!(a.alias);
                    out.push(v);
                }
            }
            emit(json, &Value::Array(out.clone()), || {
                let mut s = format!(
                    "{:<6} {:<10} {:<40} {:<32} SUBJECT",
                    "ID", "ACCOUNT", "STATUS", "TO"
                );
                for v in &out {
                    s.push('\n');
                    s.push_str(&line(v));
                }
                if out.is_empty() {
                    s.push_str("\n(no messages)");
                }
                s
            });
        }
        MailCmd::Show {
            id,
            account,
            db,
            json,
        } => {
            let store = open(&db).await?;
            let list = accounts(store.as_ref(), account.as_deref()).await?;
            let a = match list.as_slice() {
                [one] => one,
                [] => bail!("the database has no account"),
                _ => bail!("give --account: message ids are per account"),
            };
            let record = match store.get_record(a.id, RecordKind::OutboxMessage, id).await {
                Ok(r) => r,
                Err(StoreError::NotFound) => {
                    bail!("no outbox message {id} in account `{}`", a.alias)
                }
                Err(e) => return Err(e.into()),
            };
            let doc = OutboxDoc::from_value(&record.data).map_err(|e| anyhow!(e))?;
            let mut v = doc.render(record.id, true);
            v["account"] = json!(a.alias);
            emit(json, &v, || {
                let mut s = format!(
                    "message {} (account {})\nstatus:   {}\nfrom:     {}\nto:       {}\nsubject:  {}\nqueued:   {}\nattempts: {}",
                    record.id,
                    a.alias,
                    doc.status(),
                    doc.from,
                    doc.to.as_deref().unwrap_or("-"),
                    doc.subject,
                    v["queued_at"].as_str().unwrap_or("-"),
                    doc.attempts,
                );
                if let Some(t) = v["sent_at"].as_str() {
                    s.push_str(&format!("\nsent:     {t}"));
                }
                for att in &doc.attachments {
                    s.push_str(&format!(
                        "\nattached: {} ({} bytes)",
                        att.file_name, att.size
                    ));
                }
                if let Some(p) = &doc.plain {
                    s.push_str(&format!("\n\n--- text/plain ---\n{p}"));
                }
                if let Some(h) = &doc.html {
                    s.push_str(&format!("\n\n--- text/html ---\n{h}"));
                }
                s
            });
        }
    }
    Ok(())
}
