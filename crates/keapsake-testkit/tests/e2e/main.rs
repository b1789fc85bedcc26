//! keapsake end to end: the real server over TCP (reqwest), on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

/// Stamps one async scenario `fn(Backend)` out as a test per backend.
macro_rules! on_both_stores {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$scenario(keapsake_testkit::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$scenario(keapsake_testkit::Backend::Postgres).await
            }
        }
    };
}

mod browser;
mod cascade;
mod commerce;
mod contacts;
mod crm_more;
mod emails;
mod flow;
mod hooks;
mod hooks_review;
mod hostile;
mod interop;
mod isolation;
mod keepalive;
mod races;
mod rest_v2;
mod secrets;
mod xmlrpc;
mod xmlrpc_faults;
