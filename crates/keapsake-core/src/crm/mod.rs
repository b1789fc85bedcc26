//! CRM rules shared by every API that touches contacts and tags (REST v1 today; v2 and XML-RPC
//! read the same stored documents): the stored document of each [`crate::records::RecordKind`],
//! validation of what a client sends, merging, the indexed keys, and Keap's v1 date forms.
//!
//! Nothing here does I/O. The server parses a request body into the input types of
//! [`contact`], [`tag`] and [`custom_field`], checks what needs the store (does the company
//! exist?), and hands the pure functions here to the store's atomic edit closures.
//!
//! Wire contract: `keap/rest-v1.md` §0–§2.

pub mod contact;
pub mod contact_v2;
pub mod custom_field;
pub mod date;
pub mod link;
pub mod tag;

use serde::{Deserialize, Deserializer};

/// Folds ASCII letters to lower case and leaves every other character alone. Every
/// case-insensitive comparison of CRM data uses this (SECURITY.md §6: Unicode folding would make
/// the Kelvin sign match `k`).
pub fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// A body field that distinguishes "not sent" from `null` from a value, so a `PATCH` changes
/// exactly what was sent (`keap/rest-v1.md` §1.6). Use with `#[serde(default)]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    /// The key was not in the body.
    #[default]
    Absent,
    /// The key was `null`.
    Null,
    /// The key had a value.
    Set(T),
}

impl<T> Field<T> {
    /// Whether the key was in the body (`null` included).
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    /// The value, if one was sent.
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Converts the value, keeping absence and `null`.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Field<U>, E> {
        Ok(match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Set(v) => Field::Set(f(v)?),
        })
    }

    /// Applies the change to `slot`: absent keeps, `null` clears, a value replaces.
    pub fn apply_to(&self, slot: &mut Option<T>)
    where
        T: Clone,
    {
        match self {
            Field::Absent => {}
            Field::Null => *slot = None,
            Field::Set(v) => *slot = Some(v.clone()),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Field::Null, Field::Set))
    }
}

/// An int64 sent as a JSON integer or as a string of digits (some PHP clients stringify ids).
/// A number outside int64, a fraction, or any other string is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientI64(pub i64);

impl<'de> Deserialize<'de> for LenientI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(LenientI64)
                .ok_or_else(|| D::Error::custom("an id must be an integer within int64")),
            serde_json::Value::String(s) => s
                .trim()
                .parse()
                .map(LenientI64)
                .map_err(|_| D::Error::custom("an id must be an integer within int64")),
            _ => Err(D::Error::custom("an id must be an integer")),
        }
    }
}

/// Checks a free-text value: at most `max` characters and no NUL (PostgreSQL text cannot hold
/// one, and indexed keys must not contain it).
///
/// # Errors
/// A message naming `name`.
pub fn check_text(name: &str, value: &str, max: usize) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!("{name} must not contain NUL characters"));
    }
    if value.chars().count() > max {
        return Err(format!("{name} must be at most {max} characters"));
    }
    Ok(())
}

/// Declares a closed set of wire strings as an enum with `as_str`, an ASCII case-insensitive
/// `parse`, `ALL`, and serde through the canonical string.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Parses the wire string, ignoring ASCII case.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom(format!(
                        "unknown value {s:?} for {}",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}
pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Body {
        a: Field<String>,
        b: Field<String>,
        c: Field<String>,
    }

    #[test]
    fn field_tells_absent_from_null_from_value() {
        let b: Body = serde_json::from_str(r#"{"b":null,"c":"x"}"#).expect("parses");
        assert_eq!(b.a, Field::Absent);
        assert_eq!(b.b, Field::Null);
        assert_eq!(b.c, Field::Set("x".into()));
        let mut slot = Some("old".to_owned());
        b.a.apply_to(&mut slot);
        assert_eq!(slot.as_deref(), Some("old"));
        b.c.apply_to(&mut slot);
        assert_eq!(slot.as_deref(), Some("x"));
        b.b.apply_to(&mut slot);
        assert_eq!(slot, None);
    }

    #[test]
    fn lenient_ids_take_numbers_and_digit_strings_only() {
        let ok: Vec<LenientI64> = serde_json::from_str(r#"[5, "6", " 7 "]"#).expect("parses");
        assert_eq!(ok, [LenientI64(5), LenientI64(6), LenientI64(7)]);
        for bad in [
            r#"1.5"#,
            r#""x""#,
            r#"99999999999999999999"#,
            r#"true"#,
            r#""""#,
        ] {
            assert!(serde_json::from_str::<LenientI64>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn folding_is_ascii_only() {
        assert_eq!(fold("ADA@Example.COM"), "ada@example.com");
        assert_eq!(fold("\u{212A}elvin"), "\u{212A}elvin");
        assert_eq!(fold("STRAẞE"), "straẞe");
    }

    #[test]
    fn text_checks_length_and_nul() {
        assert!(check_text("x", "abc", 3).is_ok());
        assert!(check_text("x", "abcd", 3).is_err());
        assert!(check_text("x", "a\0", 3).is_err());
        // Characters, not bytes.
        assert!(check_text("x", "ééé", 3).is_ok());
    }
}
