//! The server's router suite: `router(state).oneshot(req)` on a temp-file SQLite store with a
//! manual clock. One binary; each module covers one area.
#![allow(clippy::unwrap_used)]

mod authorize;
mod cards;
mod commerce;
mod credentials;
mod csrf;
mod emails;
mod extensions;
mod limits;
mod misc;
mod openapi;
mod rest;
mod rest_v2;
mod serve;
mod support;
mod token;
mod xmlrpc;
mod xmlrpc_commerce;
mod xmlrpc_tables;
