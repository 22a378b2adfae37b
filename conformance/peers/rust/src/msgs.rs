//! Message types of ttrpc.conformance.v1.Echo and the server's answers, shared by both API
//! flavors. The service's messages are wire-identical to protobuf well-known types, so no
//! generated code is needed:
//!   Bytes  = google.protobuf.BytesValue  (field 1, bytes)
//!   Count  = google.protobuf.UInt64Value (field 1, uint64)
//!   StringList = google.protobuf.FieldMask (field 1, repeated string: `paths`)
//!   Fail's request = the crate's own google.rpc.Status twin (`ttrpc::Status`: code 1, message 2,
//!   details 3)
//! All encoding and decoding goes through the protobuf crate.

use std::collections::HashMap;

use protobuf::Message;
pub use protobuf::well_known_types::field_mask::FieldMask as StringList;
pub use protobuf::well_known_types::wrappers::{BytesValue, UInt64Value};

/// Encodes a message; the well-known types cannot fail to encode.
pub fn encode<M: Message>(m: &M) -> Vec<u8> {
    m.write_to_bytes().expect("encoding a protobuf message")
}

/// Decodes the method's input message, naming the type in the error.
pub fn decode<M: Message>(buf: &[u8]) -> Result<M, String> {
    M::parse_from_bytes(buf)
        .map_err(|e| format!("cannot decode the payload as {}: {}", M::NAME, e))
}

pub fn bytes_msg(v: &[u8]) -> BytesValue {
    let mut m = BytesValue::new();
    m.value = v.to_vec();
    m
}

pub fn count_msg(v: u64) -> UInt64Value {
    let mut m = UInt64Value::new();
    m.value = v;
    m
}

/// The raw code number of a status (the crate declares `code` as an enum; unknown numbers are
/// kept by protobuf's EnumOrUnknown and read back here unchanged).
pub fn status_code(st: &ttrpc::Status) -> i32 {
    st.code.value()
}

/// A Response with the OK status set explicitly, as the crate's generated code does (on the
/// wire: `0a 00` before the payload).
pub fn ok_response(payload: Vec<u8>) -> ttrpc::Response {
    let mut res = ttrpc::Response::new();
    res.set_status(ttrpc::get_status(ttrpc::Code::OK, ""));
    res.payload = payload;
    res
}

pub fn status_response(st: ttrpc::Status) -> ttrpc::Response {
    let mut res = ttrpc::Response::new();
    res.set_status(st);
    res
}

/// What a unary method makes of its Request. `Undecodable` is a payload that is not the
/// method's input message: the flavors treat it the way the crate's generated code does (it
/// returns an error from the handler: async answers code 2, sync closes the connection).
pub enum Answer {
    Reply(ttrpc::Response),
    Undecodable(String),
}

/// Echo(Bytes) returns (Bytes): the request, decoded and encoded again.
pub fn echo(payload: &[u8]) -> Answer {
    match decode::<BytesValue>(payload) {
        Ok(m) => Answer::Reply(ok_response(encode(&m))),
        Err(e) => Answer::Undecodable(e),
    }
}

/// Fail(google.rpc.Status) returns (Bytes): code 0 gives OK and an empty Bytes; any other code
/// is answered as given (code, message and details passed through).
pub fn fail(payload: &[u8]) -> Answer {
    match decode::<ttrpc::Status>(payload) {
        Ok(st) if status_code(&st) == 0 => Answer::Reply(ok_response(encode(&BytesValue::new()))),
        Ok(st) => Answer::Reply(status_response(st)),
        Err(e) => Answer::Undecodable(e),
    }
}

/// Metadata(Bytes) returns (StringList): "key=value" per metadata value, sorted bytewise.
pub fn metadata(payload: &[u8], md: &HashMap<String, Vec<String>>) -> Answer {
    if let Err(e) = decode::<BytesValue>(payload) {
        return Answer::Undecodable(e);
    }
    let mut list: Vec<String> = md
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{}={}", k, v)))
        .collect();
    list.sort(); // String ordering is bytewise
    let mut reply = StringList::new();
    reply.paths = list;
    Answer::Reply(ok_response(encode(&reply)))
}

/// Sleep's input: how long to sleep. The caller does the sleeping its own way.
pub fn sleep_ms(payload: &[u8]) -> Result<u64, String> {
    decode::<UInt64Value>(payload).map(|m| m.value)
}

/// Sleep's answer once the time is up: an empty Bytes.
pub fn sleep_done() -> ttrpc::Response {
    ok_response(encode(&BytesValue::new()))
}
