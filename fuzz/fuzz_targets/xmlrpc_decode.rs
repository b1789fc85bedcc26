//! Bytes → `methodCall` → parameters, without dispatch: the decoder must never panic, never
//! recurse without bound, and every call it accepts must re-encode to a call that decodes to
//! the same encoding (compared as text, so NaN doubles compare equal). The same bytes also go
//! through `decode_response`, which must never panic either.
#![no_main]

use keapsake_server::xmlrpc::codec::{decode, decode_response, encode_call};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(call) = decode(data) {
        let once = encode_call(&call.method, &call.params);
        let again = decode(once.as_bytes()).expect("an encoded call decodes");
        let twice = encode_call(&again.method, &again.params);
        assert_eq!(once, twice, "encode/decode is not a fixed point");
    }
    let _ = decode_response(data);
});
