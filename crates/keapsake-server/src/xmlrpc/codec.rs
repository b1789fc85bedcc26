//! The XML-RPC wire format (`keap/xmlrpc.md` §1.1), pure: bytes → [`Call`], [`XValue`] → bytes.
//!
//! Decoding is one streaming pass over quick-xml events with an explicit stack (no recursion,
//! so no input can overflow the call stack). It refuses what SECURITY.md §7 forbids: a DOCTYPE
//! (so no entity can be declared, hence no entity bombs and no XXE), entity references other
//! than the five predefined ones and character references, nesting deeper than
//! [`MAX_DEPTH`], more than [`MAX_VALUES`] values, invalid UTF-8. Errors never carry request
//! text (it holds the API key).
//!
//! Why not dxr (DEPENDENCIES.md's pick): dxr 0.9 refuses `<boolean>true</boolean>` and the
//! dashed `YYYY-MM-DDTHH:MM:SS` date-time that Keap clients send (§1.1), keeps struct members
//! in a `BTreeMap` (order lost), and its parse error echoes the whole input. Its decoder is a
//! serde pass over quick-xml; this one is the same quick-xml, read directly.
//!
//! Encoding follows what Keap emits, not dxr's canonical form: strings are untyped
//! (`<value>text</value>`, empty `<value/>`), integers `<i4>`, booleans `0`/`1`, date-times
//! zone-less.

use quick_xml::events::Event;
use time::PrimitiveDateTime;
use time::macros::format_description;

/// Deepest element nesting accepted (SECURITY.md §7), counted over every element.
pub const MAX_DEPTH: usize = 32;
/// Most `<value>` elements in one call (SECURITY.md §7).
pub const MAX_VALUES: usize = 100_000;
/// Largest body accepted (SECURITY.md §7: ≤ 8 MiB).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// An XML-RPC value, as keapsake handles it.
#[derive(Debug, Clone, PartialEq)]
pub enum XValue {
    /// `<i4>`, `<int>`, `<i8>`.
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>` or untyped.
    Str(String),
    /// `<double>`.
    Double(f64),
    /// `<dateTime.iso8601>`, zone-less (account local time).
    DateTime(PrimitiveDateTime),
    /// `<base64>`.
    Base64(Vec<u8>),
    /// `<struct>`, members in order.
    Struct(Vec<(String, XValue)>),
    /// `<array>`.
    Array(Vec<XValue>),
    /// `<nil/>`: treated as absent.
    Nil,
}

impl XValue {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }

    /// The Keap type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Int(_) => "int",
            Self::Bool(_) => "boolean",
            Self::Str(_) => "string",
            Self::Double(_) => "double",
            Self::DateTime(_) => "dateTime.iso8601",
            Self::Base64(_) => "base64",
            Self::Struct(_) => "struct",
            Self::Array(_) => "array",
            Self::Nil => "nil",
        }
    }

    /// The value as text, for scalars (query values, string fields).
    pub fn as_text(&self) -> Option<String> {
        Some(match self {
            Self::Int(i) => i.to_string(),
            Self::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Self::Str(s) => s.clone(),
            Self::Double(d) => format_double(*d),
            Self::DateTime(t) => format_local(*t),
            _ => return None,
        })
    }
}

/// A decoded `methodCall`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `Service.method`.
    pub method: String,
    /// Positional parameters.
    pub params: Vec<XValue>,
}

/// Why a body is not a call. Carries no request text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not UTF-8.
    #[error("The request is not valid UTF-8")]
    Utf8,
    /// A DOCTYPE declaration.
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("The request is nested too deeply")]
    TooDeep,
    /// More than [`MAX_VALUES`] values.
    #[error("The request has too many values")]
    TooManyValues,
    /// Not well-formed XML, or not an XML-RPC `methodCall`.
    #[error("The request is not a valid XML-RPC methodCall")]
    Malformed,
}

/// `YYYYMMDDTHH:MM:SS`, what Keap emits.
pub fn format_local(t: PrimitiveDateTime) -> String {
    let f = format_description!("[year][month][day]T[hour]:[minute]:[second]");
    t.format(&f).unwrap_or_default()
}

/// Parses the date-time forms accepted in `<dateTime.iso8601>`: `YYYYMMDDTHH:MM:SS`,
/// `YYYY-MM-DDTHH:MM:SS`, `YYYYMMDDTHHMMSS` (a trailing `Z` or offset is ignored: the value is
/// local time).
pub fn parse_local(s: &str) -> Option<PrimitiveDateTime> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    let s = s.get(..19.min(s.len())).unwrap_or(s);
    let forms = [
        format_description!("[year][month][day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year][month][day]T[hour][minute][second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    ];
    forms
        .iter()
        .find_map(|f| PrimitiveDateTime::parse(s, f).ok())
}

fn format_double(d: f64) -> String {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 1e15 {
        format!("{d:.1}")
    } else if d.is_finite() {
        format!("{d}")
    } else {
        "0.0".to_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    MethodCall,
    MethodName,
    Params,
    Param,
    Value,
    Int,
    Boolean,
    Str,
    Double,
    DateTime,
    Base64,
    Nil,
    Struct,
    Member,
    Name,
    Array,
    Data,
}

impl Kind {
    fn child(self, tag: &[u8]) -> Option<Kind> {
        Some(match (self, tag) {
            (Kind::MethodCall, b"methodName") => Kind::MethodName,
            (Kind::MethodCall, b"params") => Kind::Params,
            (Kind::Params, b"param") => Kind::Param,
            (Kind::Param | Kind::Member | Kind::Data, b"value") => Kind::Value,
            (Kind::Value, b"i4" | b"int" | b"i8") => Kind::Int,
            (Kind::Value, b"boolean") => Kind::Boolean,
            (Kind::Value, b"string") => Kind::Str,
            (Kind::Value, b"double") => Kind::Double,
            (Kind::Value, b"dateTime.iso8601") => Kind::DateTime,
            (Kind::Value, b"base64") => Kind::Base64,
            (Kind::Value, b"nil") => Kind::Nil,
            (Kind::Value, b"struct") => Kind::Struct,
            (Kind::Struct, b"member") => Kind::Member,
            (Kind::Member, b"name") => Kind::Name,
            (Kind::Value, b"array") => Kind::Array,
            (Kind::Array, b"data") => Kind::Data,
            _ => return None,
        })
    }

    fn takes_text(self) -> bool {
        matches!(
            self,
            Kind::MethodName
                | Kind::Value
                | Kind::Int
                | Kind::Boolean
                | Kind::Str
                | Kind::Double
                | Kind::DateTime
                | Kind::Base64
                | Kind::Name
        )
    }
}

struct Frame {
    kind: Kind,
    text: String,
    value: Option<XValue>,
    name: Option<String>,
    items: Vec<XValue>,
    members: Vec<(String, XValue)>,
}

impl Frame {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            text: String::new(),
            value: None,
            name: None,
            items: Vec::new(),
            members: Vec::new(),
        }
    }
}

fn scalar(kind: Kind, text: &str) -> Result<XValue, DecodeError> {
    let t = text.trim();
    Ok(match kind {
        Kind::Int => XValue::Int(t.parse().map_err(|_| DecodeError::Malformed)?),
        Kind::Boolean => XValue::Bool(match t.to_ascii_lowercase().as_str() {
            "1" | "true" => true,
            "0" | "false" => false,
            _ => return Err(DecodeError::Malformed),
        }),
        Kind::Str => XValue::Str(text.to_owned()),
        Kind::Double => {
            let d: f64 = t.parse().map_err(|_| DecodeError::Malformed)?;
            if !d.is_finite() {
                return Err(DecodeError::Malformed);
            }
            XValue::Double(d)
        }
        Kind::DateTime => XValue::DateTime(parse_local(t).ok_or(DecodeError::Malformed)?),
        Kind::Base64 => {
            use base64::Engine as _;
            let clean: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            XValue::Base64(
                base64::engine::general_purpose::STANDARD
                    .decode(clean)
                    .map_err(|_| DecodeError::Malformed)?,
            )
        }
        _ => XValue::Nil,
    })
}

/// Decodes a request body.
///
/// # Errors
/// [`DecodeError`]; never one holding request text.
pub fn decode(body: &[u8]) -> Result<Call, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::Utf8)?;
    // A body with more `<value` tags than allowed is refused before any parsing: a plain
    // substring count is several times cheaper than building the values (the slowest input of
    // the hostile corpus was 100 001 values). The exact count below still applies.
    if text.matches("<value").count() > MAX_VALUES {
        return Err(DecodeError::TooManyValues);
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut values = 0usize;
    let mut done: Option<Call> = None;
    loop {
        let event = reader.read_event().map_err(|_| DecodeError::Malformed)?;
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err(DecodeError::Doctype),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Start(e) => {
                if done.is_some() {
                    return Err(DecodeError::Malformed);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                let name = e.local_name();
                let tag: &str = name.as_ref();
                let tag = tag.as_bytes();
                let kind = match stack.last() {
                    None if tag == b"methodCall" => Kind::MethodCall,
                    None => return Err(DecodeError::Malformed),
                    Some(parent) => parent.kind.child(tag).ok_or(DecodeError::Malformed)?,
                };
                if kind == Kind::Value {
                    values += 1;
                    if values > MAX_VALUES {
                        return Err(DecodeError::TooManyValues);
                    }
                }
                stack.push(Frame::new(kind));
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                if has_forbidden_char(&s) {
                    return Err(DecodeError::Malformed);
                }
                match stack.last_mut() {
                    Some(f) if f.kind.takes_text() => f.text.push_str(&s),
                    _ if s.trim().is_empty() => {}
                    _ => return Err(DecodeError::Malformed),
                }
            }
            Event::CData(t) => {
                let s = t.xml10_content();
                if has_forbidden_char(&s) {
                    return Err(DecodeError::Malformed);
                }
                match stack.last_mut() {
                    Some(f) if f.kind.takes_text() => f.text.push_str(&s),
                    _ => return Err(DecodeError::Malformed),
                }
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or(DecodeError::Malformed)?
                } else {
                    match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(DecodeError::Malformed),
                    }
                };
                if forbidden(ch) {
                    return Err(DecodeError::Malformed);
                }
                match stack.last_mut() {
                    Some(f) if f.kind.takes_text() => f.text.push(ch),
                    _ => return Err(DecodeError::Malformed),
                }
            }
            Event::End(_) => {
                let f = stack.pop().ok_or(DecodeError::Malformed)?;
                let parent = stack.last_mut();
                match (f.kind, parent) {
                    (Kind::MethodCall, None) => {
                        done = Some(Call {
                            method: f.name.ok_or(DecodeError::Malformed)?,
                            params: f.items,
                        });
                    }
                    (Kind::MethodName, Some(p)) => p.name = Some(f.text.trim().to_owned()),
                    (Kind::Params, Some(p)) => p.items = f.items,
                    (Kind::Param, Some(p)) => {
                        p.items.push(f.value.ok_or(DecodeError::Malformed)?);
                    }
                    (Kind::Value, Some(p)) => {
                        let v = match f.value {
                            Some(v) if f.text.trim().is_empty() => v,
                            Some(_) => return Err(DecodeError::Malformed),
                            None => XValue::Str(f.text),
                        };
                        match p.kind {
                            Kind::Data => p.items.push(v),
                            _ if p.value.is_some() => return Err(DecodeError::Malformed),
                            _ => p.value = Some(v),
                        }
                    }
                    (
                        k @ (Kind::Int
                        | Kind::Boolean
                        | Kind::Str
                        | Kind::Double
                        | Kind::DateTime
                        | Kind::Base64
                        | Kind::Nil),
                        Some(p),
                    ) => {
                        if p.value.is_some() {
                            return Err(DecodeError::Malformed);
                        }
                        p.value = Some(scalar(k, &f.text)?);
                    }
                    (Kind::Struct, Some(p)) => {
                        if p.value.is_some() {
                            return Err(DecodeError::Malformed);
                        }
                        p.value = Some(XValue::Struct(f.members));
                    }
                    (Kind::Member, Some(p)) => {
                        let (Some(name), Some(v)) = (f.name, f.value) else {
                            return Err(DecodeError::Malformed);
                        };
                        p.members.push((name, v));
                    }
                    (Kind::Name, Some(p)) => p.name = Some(f.text),
                    (Kind::Array, Some(p)) => {
                        if p.value.is_some() {
                            return Err(DecodeError::Malformed);
                        }
                        p.value = Some(XValue::Array(f.items));
                    }
                    (Kind::Data, Some(p)) => p.items = f.items,
                    _ => return Err(DecodeError::Malformed),
                }
            }
            Event::Empty(_) => return Err(DecodeError::Malformed),
        }
    }
    if !stack.is_empty() {
        return Err(DecodeError::Malformed);
    }
    done.ok_or(DecodeError::Malformed)
}

/// A character XML 1.0 does not allow in a document, raw or as a reference (control
/// characters other than tab, LF and CR). Found by the fuzz target: such a method name was
/// accepted, then dropped by the encoder, so decode → encode was not a fixed point.
fn forbidden(c: char) -> bool {
    (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')
}

fn has_forbidden_char(s: &str) -> bool {
    s.chars().any(forbidden)
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // XML 1.0 cannot carry most control characters even escaped; drop them.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn encode_value(v: &XValue, out: &mut String) {
    match v {
        XValue::Str(s) if s.is_empty() => out.push_str("<value/>"),
        XValue::Str(s) => {
            out.push_str("<value>");
            escape(s, out);
            out.push_str("</value>");
        }
        XValue::Int(i) => {
            if i32::try_from(*i).is_ok() {
                out.push_str(&format!("<value><i4>{i}</i4></value>"));
            } else {
                out.push_str(&format!("<value><i8>{i}</i8></value>"));
            }
        }
        XValue::Bool(b) => out.push_str(if *b {
            "<value><boolean>1</boolean></value>"
        } else {
            "<value><boolean>0</boolean></value>"
        }),
        XValue::Double(d) => {
            out.push_str(&format!(
                "<value><double>{}</double></value>",
                format_double(*d)
            ));
        }
        XValue::DateTime(t) => out.push_str(&format!(
            "<value><dateTime.iso8601>{}</dateTime.iso8601></value>",
            format_local(*t)
        )),
        XValue::Base64(b) => {
            use base64::Engine as _;
            out.push_str("<value><base64>");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push_str("</base64></value>");
        }
        XValue::Struct(members) => {
            out.push_str("<value><struct>");
            for (name, v) in members {
                out.push_str("<member><name>");
                escape(name, out);
                out.push_str("</name>");
                encode_value(v, out);
                out.push_str("</member>");
            }
            out.push_str("</struct></value>");
        }
        XValue::Array(items) => {
            out.push_str("<value><array><data>");
            for v in items {
                encode_value(v, out);
            }
            out.push_str("</data></array></value>");
        }
        XValue::Nil => out.push_str("<value/>"),
    }
}

/// The XML declaration Keap sends.
const PROLOG: &str = "<?xml version='1.0' encoding='UTF-8'?>";

/// A `methodResponse` with one value.
pub fn encode_response(v: &XValue) -> String {
    let mut out = String::from(PROLOG);
    out.push_str("<methodResponse><params><param>");
    encode_value(v, &mut out);
    out.push_str("</param></params></methodResponse>");
    out
}

/// A `methodResponse` with a fault.
pub fn encode_fault(code: i32, fault_string: &str) -> String {
    let mut out = String::from(PROLOG);
    out.push_str("<methodResponse><fault>");
    encode_value(
        &XValue::Struct(vec![
            ("faultCode".to_owned(), XValue::Int(code.into())),
            (
                "faultString".to_owned(),
                XValue::Str(fault_string.to_owned()),
            ),
        ]),
        &mut out,
    );
    out.push_str("</fault></methodResponse>");
    out
}

/// A `methodCall` (tests, fuzz seeds, the bench driver).
pub fn encode_call(method: &str, params: &[XValue]) -> String {
    let mut out = String::from("<?xml version='1.0'?><methodCall><methodName>");
    escape(method, &mut out);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        encode_value(p, &mut out);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>");
    out
}

/// A decoded `methodResponse`: the value, or a fault's code and string.
pub type Response = Result<XValue, (i64, String)>;

/// Decodes a `methodResponse` (tests, the bench driver, clients in this workspace). Reuses
/// the hardened call decoder by rewriting the envelope, so the same limits apply.
///
/// # Errors
/// [`DecodeError`] when the body is not a `methodResponse` with one value or a fault.
pub fn decode_response(body: &[u8]) -> Result<Response, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::Utf8)?;
    let start = text
        .find("<methodResponse>")
        .ok_or(DecodeError::Malformed)?;
    let end = text
        .rfind("</methodResponse>")
        .ok_or(DecodeError::Malformed)?;
    let inner = text
        .get(start + "<methodResponse>".len()..end)
        .ok_or(DecodeError::Malformed)?
        .trim();
    let (is_fault, params) = if let Some(f) = inner
        .strip_prefix("<fault>")
        .and_then(|f| f.strip_suffix("</fault>"))
    {
        (true, format!("<params><param>{f}</param></params>"))
    } else {
        (false, inner.to_owned())
    };
    let call =
        decode(format!("<methodCall><methodName>r</methodName>{params}</methodCall>").as_bytes())?;
    let v = call
        .params
        .into_iter()
        .next()
        .ok_or(DecodeError::Malformed)?;
    if !is_fault {
        return Ok(Ok(v));
    }
    let XValue::Struct(members) = v else {
        return Err(DecodeError::Malformed);
    };
    let code = members
        .iter()
        .find(|(k, _)| k == "faultCode")
        .and_then(|(_, v)| match v {
            XValue::Int(i) => Some(*i),
            _ => None,
        })
        .ok_or(DecodeError::Malformed)?;
    let msg = members
        .iter()
        .find(|(k, _)| k == "faultString")
        .and_then(|(_, v)| v.as_text())
        .unwrap_or_default();
    Ok(Err((code, msg)))
}

#[cfg(test)]
mod fuzz_finds {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_cr_survives_a_round_trip() {
        let crash = b"<?xml version=\"1.0\"?><methodCall><methodName>\x01\x00\x04\nContact(Service.add</methodName><params/></methodCall>";
        assert_eq!(decode(crash).err(), Some(DecodeError::Malformed));
        let by_ref = b"<methodCall><methodName>a&#1;b</methodName></methodCall>";
        assert_eq!(decode(by_ref).err(), Some(DecodeError::Malformed));
        let cr = b"<methodCall><methodName>x.y</methodName><params><param><value>a&#13;b</value></param></params></methodCall>";
        let once = decode(cr).expect("a call");
        assert_eq!(once.params, vec![XValue::Str("a\rb".into())]);
        let again = decode(encode_call(&once.method, &once.params).as_bytes()).expect("a call");
        assert_eq!(again, once);
    }
}

#[cfg(test)]
mod value_limit {
    fn array(n: usize) -> String {
        format!(
            "<methodCall><methodName>x.y</methodName><params><param><value><array><data>{}</data></array></value></param></params></methodCall>",
            "<value>1</value>".repeat(n)
        )
    }

    #[test]
    fn the_limit_is_exact_with_the_prescan() {
        // 1 outer value + n inner values.
        assert!(super::decode(array(super::MAX_VALUES - 1).as_bytes()).is_ok());
        assert_eq!(
            super::decode(array(super::MAX_VALUES).as_bytes()).err(),
            Some(super::DecodeError::TooManyValues)
        );
    }
}
