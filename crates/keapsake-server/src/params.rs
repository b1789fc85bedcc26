//! `application/x-www-form-urlencoded` parsing for query strings and form bodies, byte-exact.
//!
//! `form_urlencoded::parse` decodes lossily (invalid UTF-8 becomes U+FFFD), which would break the
//! byte-for-byte `state` echo (`keap/oauth.md` §3.1) and the byte-equal `redirect_uri` comparison
//! (SECURITY.md §1). This parser keeps values as bytes; callers ask for `&str` and get an error
//! when a value is not UTF-8. Repeated names are kept so callers can refuse them.

/// A value was not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

/// Decoded name/value pairs, in order, repeats kept.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Params {
    /// Parses `a=1&b=%20x&c`: `+` is a space, `%XX` a byte (an invalid escape stays literal),
    /// a name without `=` has the empty value, and empty segments (`&&`) are skipped.
    pub fn parse(raw: &[u8]) -> Self {
        let pairs = raw
            .split(|b| *b == b'&')
            .filter(|seg| !seg.is_empty())
            .map(|seg| {
                let (name, value) = match seg.iter().position(|b| *b == b'=') {
                    Some(i) => (&seg[..i], &seg[i + 1..]),
                    None => (seg, &b""[..]),
                };
                (decode(name), decode(value))
            })
            .collect();
        Self { pairs }
    }

    /// How many times `name` occurs.
    pub fn count(&self, name: &str) -> usize {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name.as_bytes())
            .count()
    }

    /// The first value of `name`, as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, as text.
    ///
    /// # Errors
    /// [`NotUtf8`] if the decoded value is not UTF-8.
    pub fn get(&self, name: &str) -> Result<Option<&str>, NotUtf8> {
        match self.get_bytes(name) {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b).map(Some).map_err(|_| NotUtf8),
        }
    }

    /// The first value of `name` as text, with an empty value treated as absent (RFC 6749 §3.1:
    /// "parameters sent without a value MUST be treated as if they were omitted").
    ///
    /// # Errors
    /// [`NotUtf8`] if the decoded value is not UTF-8.
    pub fn get_nonempty(&self, name: &str) -> Result<Option<&str>, NotUtf8> {
        Ok(self.get(name)?.filter(|s| !s.is_empty()))
    }

    /// The first name that occurs more than once, lossily decoded for messages.
    pub fn first_repeated(&self) -> Option<String> {
        self.pairs.iter().enumerate().find_map(|(i, (n, _))| {
            self.pairs[..i]
                .iter()
                .any(|(m, _)| m == n)
                .then(|| String::from_utf8_lossy(n).into_owned())
        })
    }

    /// Whether no pairs were present.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one component, `+` meaning space.
pub fn decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Percent-decodes one component without treating `+` as a space (RFC 3986 style).
pub fn decode_strict(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%'
            && let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// Percent-encodes every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`). The
/// result decodes back to `bytes` under both form decoding and strict percent-decoding, so a
/// client gets its `state` back byte for byte whichever decoder it uses.
pub fn encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Builds `name=value&…` with [`encode`]d values.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode(name.as_bytes()));
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

/// Rewrites a raw query string for logging: the value of every parameter named in `secret_names`
/// becomes `[redacted]`; everything else is kept as sent.
pub fn redact_query(raw: &str, secret_names: &[&str]) -> String {
    raw.split('&')
        .map(|seg| {
            let name = seg.split('=').next().unwrap_or("");
            let decoded = decode(name.as_bytes());
            if secret_names
                .iter()
                .any(|s| s.as_bytes().eq_ignore_ascii_case(&decoded))
            {
                format!("{name}=[redacted]")
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent_and_bare_names() {
        let p = Params::parse(b"a=1+2&b=%41%zz&c&&d=");
        assert_eq!(p.get("a"), Ok(Some("1 2")));
        assert_eq!(p.get("b"), Ok(Some("A%zz")));
        assert_eq!(p.get("c"), Ok(Some("")));
        assert_eq!(p.get("d"), Ok(Some("")));
        assert_eq!(p.get_nonempty("d"), Ok(None));
        assert_eq!(p.get("e"), Ok(None));
        assert!(p.first_repeated().is_none());
    }

    #[test]
    fn keeps_invalid_utf8_as_bytes_and_reports_it() {
        let p = Params::parse(b"state=%FF%FE");
        assert_eq!(p.get_bytes("state"), Some(&[0xff, 0xfe][..]));
        assert_eq!(p.get("state"), Err(NotUtf8));
    }

    #[test]
    fn finds_repeated_names() {
        let p = Params::parse(b"x=1&y=2&x=3");
        assert_eq!(p.count("x"), 2);
        assert_eq!(p.first_repeated().as_deref(), Some("x"));
        assert_eq!(p.get("x"), Ok(Some("1")));
        // An encoded name is the same name.
        assert_eq!(
            Params::parse(b"a=1&%61=2").first_repeated().as_deref(),
            Some("a")
        );
    }

    #[test]
    fn encode_round_trips_every_byte_under_both_decoders() {
        let all: Vec<u8> = (0..=255).collect();
        let enc = encode(&all);
        assert_eq!(decode(enc.as_bytes()), all);
        assert_eq!(decode_strict(enc.as_bytes()), all);
        assert_eq!(encode(b"a b+c/~"), "a%20b%2Bc%2F~");
    }

    #[test]
    fn strict_decoding_keeps_plus() {
        assert_eq!(decode_strict(b"a+b%2B"), b"a+b+");
    }

    #[test]
    fn redaction_hides_only_secret_values() {
        let q = "access_token=abc&limit=5&Code=xyz&state=s&x";
        assert_eq!(
            redact_query(q, &["access_token", "code", "state"]),
            "access_token=[redacted]&limit=5&Code=[redacted]&state=[redacted]&x"
        );
        // An encoded name is caught too.
        assert_eq!(
            redact_query("access%5Ftoken=abc", &["access_token"]),
            "access%5Ftoken=[redacted]"
        );
    }
}
