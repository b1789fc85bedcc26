//! One module per XML-RPC service; each exposes `call(cx, method, args)`.

pub mod contact;
pub mod data;
pub mod email;
pub mod invoice;
pub mod order;
pub mod product;
