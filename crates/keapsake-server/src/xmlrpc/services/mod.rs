//! One module per XML-RPC service; each exposes `call(cx, method, args)`.

pub mod contact;
pub mod data;
