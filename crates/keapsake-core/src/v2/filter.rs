//! The v2 `filter` expression (`keap/rest-v2.md` §2.1):
//!
//! ```text
//! filter  = clause *( ";" clause ) [ ";" ]
//! clause  = field op value
//! op      = "==" | "!=" | ">=" | "<=" | ">" | "<"
//! ```
//!
//! The value of the `filter` query parameter is percent-decoded **once** with [`decode`], where
//! a raw `+` stays a literal plus (e-mail addresses such as `ada+news@example.com`; spaces
//! arrive as `%20`). [`parse`] then checks every clause against the fields the operation
//! accepts ([`FieldSpec`]) and types its value ([`Operand`]): `==` always, the comparisons only
//! on fields that list them, a trailing `*` as a case-insensitive starts-with only on fields
//! marked wildcard (elsewhere it is literal), `NONE` as "is empty" only on fields that name it,
//! comma lists on list fields, full date-times on time fields. Anything else is an error naming
//! the clause, which the server answers with 400 `INVALID_ARGUMENT`.

use crate::crm::date;
use crate::crm::fold;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::str::FromStr;
use time::OffsetDateTime;

/// Longest `filter` value accepted, in bytes after decoding.
pub const MAX_FILTER: usize = 8192;
/// Most items of one list value (`ids==1,2,3`).
pub const MAX_LIST: usize = 1000;

/// A filter that cannot be used: the message names the clause and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// How a field's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, compared ignoring ASCII case; with `wildcard`, a trailing `*` is a prefix
    /// match.
    Text {
        /// Whether a trailing `*` means "starts with".
        wildcard: bool,
    },
    /// One int64 id.
    Id,
    /// A comma-separated list of int64 ids.
    IdList,
    /// A comma-separated list of words (e.g. `PHONE1,PHONE2`), checked by the caller.
    Words,
    /// A date-time with time of day and zone (`2025-04-16T20:33:02.321Z`); dates alone are
    /// refused.
    Time,
    /// A decimal number (numeric custom fields).
    Number,
}

/// A field an operation accepts in `filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The name as the spec spells it.
    pub name: &'static str,
    /// How its value is read.
    pub kind: Kind,
    /// Whether `!=`, `>`, `<`, `>=`, `<=` are allowed (besides `==`).
    pub comparisons: bool,
    /// Whether `NONE` means "is empty".
    pub none: bool,
}

impl FieldSpec {
    /// A text field, `==` only.
    pub const fn text(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Text { wildcard: false },
            comparisons: false,
            none: false,
        }
    }

    /// A text field with the trailing-`*` prefix match.
    pub const fn wildcard(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Text { wildcard: true },
            comparisons: false,
            none: false,
        }
    }

    /// A field of another kind, `==` only.
    pub const fn of(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            comparisons: false,
            none: false,
        }
    }

    /// This field with `NONE` meaning "is empty".
    pub const fn with_none(self) -> Self {
        Self { none: true, ..self }
    }

    /// This field with the comparison operators.
    pub const fn with_comparisons(self) -> Self {
        Self {
            comparisons: true,
            ..self
        }
    }
}

/// A custom field usable in a filter, found by its `field_name` (ASCII case ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFilterField {
    /// The custom field's id.
    pub id: i64,
    /// How its value is read.
    pub kind: Kind,
    /// Whether the comparison operators are allowed.
    pub comparisons: bool,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `>`.
    Gt,
    /// `<`.
    Lt,
    /// `>=`.
    Ge,
    /// `<=`.
    Le,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Lt => "<",
            Self::Ge => ">=",
            Self::Le => "<=",
        }
    }

    /// Whether `ordering` (of the stored value against the operand) satisfies the operator.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering == Ordering::Equal,
            Self::Ne => ordering != Ordering::Equal,
            Self::Gt => ordering == Ordering::Greater,
            Self::Lt => ordering == Ordering::Less,
            Self::Ge => ordering != Ordering::Less,
            Self::Le => ordering != Ordering::Greater,
        }
    }
}

/// A clause's value, typed by its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// Exact text (compare with [`fold`]ed values).
    Text(String),
    /// Starts with this text (the `*` removed).
    Prefix(String),
    /// `NONE`: the field is empty.
    None,
    /// One id.
    Id(i64),
    /// Several ids.
    Ids(Vec<i64>),
    /// Several words, as sent (trimmed).
    Words(Vec<String>),
    /// A date-time.
    Time(OffsetDateTime),
    /// A number.
    Number(Decimal),
}

impl Operand {
    /// Whether a stored text value matches a text operand (`Text`, `Prefix`, `None`), ignoring
    /// ASCII case (SECURITY.md §6: never Unicode folding). An absent or blank value matches
    /// only `NONE`. Other operands never match text.
    pub fn matches_text(&self, value: Option<&str>) -> bool {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        match (self, value) {
            (Self::None, v) => v.is_none(),
            (_, None) => false,
            (Self::Text(want), Some(v)) => fold(v) == fold(want),
            (Self::Prefix(p), Some(v)) => fold(v).starts_with(&fold(p)),
            _ => false,
        }
    }
}

/// One checked clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The field: a standard field's spec name, or a custom field's name as sent.
    pub field: String,
    /// The custom field, when the name is not a standard field of the operation.
    pub custom: Option<i64>,
    /// The operator.
    pub op: Op,
    /// The value.
    pub value: Operand,
}

impl Clause {
    /// Whether a stored value given as text (a custom field's content) satisfies the clause:
    /// text operands match as [`Operand::matches_text`]; numbers and date-times compare with
    /// the operator (a value that is not a number or a date-time never matches them).
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        match &self.value {
            Operand::Text(_) | Operand::Prefix(_) | Operand::None => self.value.matches_text(value),
            Operand::Number(want) => value
                .and_then(|t| Decimal::from_str(t.trim()).ok())
                .is_some_and(|have| self.op.holds(have.cmp(want))),
            Operand::Time(want) => value
                .and_then(|t| date::parse_datetime(t).ok())
                .is_some_and(|have| self.op.holds(have.cmp(want))),
            Operand::Id(want) => value
                .and_then(|t| t.trim().parse::<i64>().ok())
                .is_some_and(|have| self.op.holds(have.cmp(want))),
            Operand::Ids(_) | Operand::Words(_) => false,
        }
    }
}

/// A parsed filter: every clause must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The clauses, in the order sent.
    pub clauses: Vec<Clause>,
}

impl Filter {
    /// The clauses on a standard field.
    pub fn on<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Clause> + 'a {
        self.clauses
            .iter()
            .filter(move |c| c.custom.is_none() && c.field == field)
    }

    fn first<'a>(&'a self, field: &str, pick: impl Fn(&'a Clause) -> bool) -> Option<&'a Clause> {
        self.clauses
            .iter()
            .find(|c| c.custom.is_none() && c.field == field && pick(c))
    }

    /// The operand of the first `==` clause on a standard field.
    pub fn eq(&self, field: &str) -> Option<&Operand> {
        self.first(field, |c| c.op == Op::Eq).map(|c| &c.value)
    }

    /// The time of the first clause on a standard time field.
    pub fn time(&self, field: &str) -> Option<OffsetDateTime> {
        self.first(field, |c| matches!(c.value, Operand::Time(_)))
            .and_then(|c| match c.value {
                Operand::Time(t) => Some(t),
                _ => None,
            })
    }

    /// Whether there is no clause.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

/// Percent-decodes a raw `filter` value once. `%XX` is a byte (an invalid escape stays
/// literal); a raw `+` stays a plus, because clients put e-mail addresses in filters and send
/// spaces as `%20` (`keap/rest-v2.md` §2.1).
///
/// # Errors
/// When the result is not UTF-8, holds a NUL, or exceeds [`MAX_FILTER`].
pub fn decode(raw: &str) -> Result<String, FilterError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            // Two hex digits: at most 255.
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    let s = String::from_utf8(out)
        .map_err(|_| FilterError("filter is not valid UTF-8 once percent-decoded".to_owned()))?;
    if s.contains('\0') {
        return Err(FilterError(
            "filter must not contain NUL characters".to_owned(),
        ));
    }
    if s.len() > MAX_FILTER {
        return Err(FilterError(format!(
            "filter is longer than {MAX_FILTER} bytes"
        )));
    }
    Ok(s)
}

/// Splits a clause into field, operator and value.
fn split_clause(clause: &str) -> Option<(&str, Op, &str)> {
    let field_end = clause
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(clause.len());
    let field = clause[..field_end].trim_end();
    let rest = clause[field_end..].trim_start();
    let (op, value) = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        (">", Op::Gt),
        ("<", Op::Lt),
    ]
    .iter()
    .find_map(|(text, op)| rest.strip_prefix(text).map(|v| (*op, v)))?;
    // `a===b`, `a=<b`: a stray operator character starts the value.
    if field.is_empty() || value.starts_with(['=', '<', '>', '!']) {
        return None;
    }
    Some((field, op, value.trim()))
}

fn bad(clause: &str, why: impl std::fmt::Display) -> FilterError {
    FilterError(format!("Invalid filter clause {clause:?}: {why}"))
}

fn ids(clause: &str, value: &str) -> Result<Vec<i64>, FilterError> {
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(bad(clause, "expected a comma-separated list of ids"));
    }
    if items.len() > MAX_LIST {
        return Err(bad(clause, format!("at most {MAX_LIST} ids")));
    }
    items
        .into_iter()
        .map(|s| super::parse_id(s).ok_or_else(|| bad(clause, format!("{s:?} is not an id"))))
        .collect()
}

fn operand(clause: &str, kind: Kind, none: bool, value: &str) -> Result<Operand, FilterError> {
    if none && value == "NONE" {
        return Ok(Operand::None);
    }
    if value.is_empty() {
        return Err(bad(clause, "the value is empty"));
    }
    Ok(match kind {
        Kind::Text { wildcard } => match value.strip_suffix('*') {
            Some(prefix) if wildcard => Operand::Prefix(prefix.to_owned()),
            _ => Operand::Text(value.to_owned()),
        },
        Kind::Id => Operand::Id(
            super::parse_id(value).ok_or_else(|| bad(clause, format!("{value:?} is not an id")))?,
        ),
        Kind::IdList => Operand::Ids(ids(clause, value)?),
        Kind::Words => {
            let words: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if words.is_empty() || words.len() > MAX_LIST {
                return Err(bad(clause, "expected a comma-separated list"));
            }
            Operand::Words(words)
        }
        Kind::Time => {
            if !value.contains('T') {
                return Err(bad(
                    clause,
                    "expected a date-time with time and zone, e.g. 2025-04-16T20:33:02.321Z",
                ));
            }
            Operand::Time(date::parse_datetime(value).map_err(|_| {
                bad(
                    clause,
                    "expected a date-time with time and zone, e.g. 2025-04-16T20:33:02.321Z",
                )
            })?)
        }
        Kind::Number => Operand::Number(
            Decimal::from_str(value)
                .map_err(|_| bad(clause, format!("{value:?} is not a number")))?,
        ),
    })
}

/// Parses a decoded `filter` against the standard `fields` of an operation, then against its
/// custom fields (`custom`, looked up by name ignoring ASCII case; a standard field wins a name
/// clash). Empty clauses (`a==1;;b==2;`) are skipped.
///
/// # Errors
/// An unknown field, an operator the field does not allow, a malformed clause or value — the
/// message names the clause.
pub fn parse(
    decoded: &str,
    fields: &[FieldSpec],
    custom: &dyn Fn(&str) -> Option<CustomFilterField>,
) -> Result<Filter, FilterError> {
    let mut clauses = Vec::new();
    for text in decoded.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, op, value) = split_clause(text).ok_or_else(|| {
            bad(
                text,
                "expected <field><operator><value>, e.g. given_name==Ada, with == != > < >= <=",
            )
        })?;
        let (field, custom_id, kind, comparisons, none) =
            if let Some(spec) = fields.iter().find(|f| f.name == name) {
                (
                    spec.name.to_owned(),
                    None,
                    spec.kind,
                    spec.comparisons,
                    spec.none,
                )
            } else if let Some(cf) = custom(name) {
                (name.to_owned(), Some(cf.id), cf.kind, cf.comparisons, false)
            } else {
                let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                return Err(bad(
                    text,
                    format!(
                        "unknown field {name:?}; expected one of {} or a custom field name",
                        names.join(", ")
                    ),
                ));
            };
        if op != Op::Eq && !comparisons {
            return Err(bad(
                text,
                format!("{field} supports only ==, not {}", op.as_str()),
            ));
        }
        let value = operand(text, kind, none, value)?;
        if op != Op::Eq && matches!(value, Operand::None | Operand::Prefix(_)) {
            return Err(bad(text, "NONE and * work only with =="));
        }
        clauses.push(Clause {
            field,
            custom: custom_id,
            op,
            value,
        });
    }
    Ok(Filter { clauses })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const FIELDS: &[FieldSpec] = &[
        FieldSpec::wildcard("email").with_none(),
        FieldSpec::wildcard("given_name"),
        FieldSpec::text("name"),
        FieldSpec::of("category_id", Kind::Id).with_none(),
        FieldSpec::of("ids", Kind::IdList),
        FieldSpec::of("contact_id", Kind::Id).with_comparisons(),
        FieldSpec::of("since_create_time", Kind::Time),
        FieldSpec::of("phone_fields", Kind::Words),
    ];

    fn no_custom(_: &str) -> Option<CustomFilterField> {
        None
    }

    fn p(s: &str) -> Result<Filter, FilterError> {
        parse(&decode(s)?, FIELDS, &no_custom)
    }

    fn one(s: &str) -> Clause {
        let f = p(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(f.clauses.len(), 1, "{s}");
        f.clauses[0].clone()
    }

    #[test]
    fn decoding_is_once_and_keeps_a_raw_plus() {
        assert_eq!(
            decode("email%3D%3Dada+news%40example.com%3B").expect("ok"),
            "email==ada+news@example.com;"
        );
        assert_eq!(decode("name%3D%3Da%2520b").expect("ok"), "name==a%20b");
        assert_eq!(decode("name==a%20b").expect("ok"), "name==a b");
        assert_eq!(decode("name==100%").expect("ok"), "name==100%");
        assert_eq!(decode("name==%zz").expect("ok"), "name==%zz");
        assert!(decode("name==%FF").is_err());
        assert!(decode("name==a%00").is_err());
        assert!(decode(&"a".repeat(MAX_FILTER + 1)).is_err());
    }

    #[test]
    fn clauses_split_on_semicolons_with_a_trailing_one_allowed() {
        let f = p("email==a@b.co;given_name==Ada;").expect("ok");
        assert_eq!(f.clauses.len(), 2);
        assert_eq!(f.eq("email"), Some(&Operand::Text("a@b.co".into())));
        assert_eq!(f.eq("given_name"), Some(&Operand::Text("Ada".into())));
        assert!(p("").expect("empty").is_empty());
        assert!(p(";;").expect("empty").is_empty());
        assert_eq!(p("%3Bname%3D%3Dx%3B%3B").expect("ok").clauses.len(), 1);
    }

    #[test]
    fn wildcards_only_where_allowed_and_only_trailing() {
        assert_eq!(one("given_name==Mar*").value, Operand::Prefix("Mar".into()));
        assert_eq!(
            one("given_name%3D%3DMar%2A").value,
            Operand::Prefix("Mar".into())
        );
        // Elsewhere the star is literal.
        assert_eq!(one("name==Mar*").value, Operand::Text("Mar*".into()));
        assert_eq!(one("given_name==*ar").value, Operand::Text("*ar".into()));
        let c = one("email==ada*");
        assert!(c.value.matches_text(Some("ADA@example.com")));
        assert!(!c.value.matches_text(Some("bob@example.com")));
        assert!(!c.value.matches_text(None));
    }

    #[test]
    fn none_is_emptiness_only_where_named() {
        let c = one("category_id==NONE");
        assert_eq!(c.value, Operand::None);
        assert!(c.value.matches_text(None));
        assert!(c.value.matches_text(Some("  ")));
        assert!(!c.value.matches_text(Some("x")));
        assert_eq!(one("name==NONE").value, Operand::Text("NONE".into()));
        assert_eq!(one("email==NONE").value, Operand::None);
    }

    #[test]
    fn text_matching_folds_ascii_only() {
        let c = one("name==Kelvin");
        assert!(c.value.matches_text(Some("KELVIN")));
        // U+212A KELVIN SIGN is not K.
        assert!(!c.value.matches_text(Some("\u{212A}elvin")));
    }

    #[test]
    fn comparisons_only_where_listed() {
        let c = one("contact_id%3E5");
        assert_eq!((c.op, c.value), (Op::Gt, Operand::Id(5)));
        assert_eq!(one("contact_id>=5").op, Op::Ge);
        assert_eq!(one("contact_id<=5").op, Op::Le);
        assert_eq!(one("contact_id<5").op, Op::Lt);
        assert_eq!(one("contact_id!=5").op, Op::Ne);
        let err = p("name!=x").expect_err("no comparisons on name");
        assert!(err.0.contains("\"name!=x\""), "{err}");
        assert!(err.0.contains("only =="), "{err}");
        assert!(Op::Ge.holds(Ordering::Equal) && !Op::Gt.holds(Ordering::Equal));
    }

    #[test]
    fn lists_ids_and_times_are_typed() {
        assert_eq!(one("ids==1,2,3").value, Operand::Ids(vec![1, 2, 3]));
        assert_eq!(one("ids==1%2C2").value, Operand::Ids(vec![1, 2]));
        assert!(p("ids==1,x").is_err());
        assert!(p("ids==,").is_err());
        assert!(p("category_id==abc").is_err());
        assert!(p("category_id==-1").is_err());
        assert_eq!(
            one("phone_fields==PHONE1, PHONE2").value,
            Operand::Words(vec!["PHONE1".into(), "PHONE2".into()])
        );
        assert_eq!(
            one("since_create_time%3D%3D2025-04-16T20:33:02.321Z").value,
            Operand::Time(datetime!(2025-04-16 20:33:02.321 UTC))
        );
        let err = p("since_create_time==2025-04-16").expect_err("date only");
        assert!(err.0.contains("date-time"), "{err}");
        assert!(p("since_create_time==yesterday").is_err());
    }

    #[test]
    fn unknown_fields_and_malformed_clauses_name_the_clause() {
        for (input, clause) in [
            ("nope==1", "nope==1"),
            ("name=x", "name=x"),
            ("name", "name"),
            ("==x", "==x"),
            ("name===x", "name===x"),
            ("name=>x", "name=>x"),
            ("name==", "name=="),
            ("name==a;bogus~1", "bogus~1"),
        ] {
            let err = p(input).expect_err(input);
            assert!(
                err.0.contains(&format!("{clause:?}")),
                "{input}: {err} should name {clause:?}"
            );
        }
        let err = p("nope==1").expect_err("unknown");
        assert!(err.0.contains("given_name"), "lists the fields: {err}");
    }

    #[test]
    fn custom_fields_by_name_with_standard_fields_winning() {
        let custom = |name: &str| -> Option<CustomFilterField> {
            match name.to_ascii_lowercase().as_str() {
                "score" => Some(CustomFilterField {
                    id: 7,
                    kind: Kind::Number,
                    comparisons: true,
                }),
                "name" => Some(CustomFilterField {
                    id: 8,
                    kind: Kind::Number,
                    comparisons: true,
                }),
                _ => None,
            }
        };
        let f = parse("Score>=2.5;name==x", FIELDS, &custom).expect("ok");
        assert_eq!(f.clauses[0].custom, Some(7));
        assert_eq!(f.clauses[0].value, Operand::Number(Decimal::new(25, 1)));
        assert_eq!(f.clauses[1].custom, None, "the standard field wins");
        assert!(parse("score==abc", FIELDS, &custom).is_err());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "%",
            "%%",
            "%3",
            "==",
            ";",
            "a;",
            "é==1",
            "a\u{0}",
            "given_name==*",
            "ids==1,,2",
        ] {
            let _ = p(s);
        }
        assert_eq!(one("given_name==*").value, Operand::Prefix(String::new()));
    }
}
