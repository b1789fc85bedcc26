//! `DataService.query` semantics (`keap/xmlrpc.md` §4.2.1): case-insensitive equality, `%`
//! wildcards, `~null~`, `~>~ ~>=~ ~<~ ~<=~ ~<>~`, arrays as IN (≤ 1000), date strings (with
//! `%`), clauses ANDed. Rows are matched on their XML-RPC values, so every table gets the same
//! grammar.

use super::codec::{XValue, format_local};
use super::dispatch::{as_int, as_local};
use super::fault::{Fault, XResult};
use super::tables::{Col, Hints, Row, Ty, find_col};

/// Most ids in an IN clause.
pub const MAX_IN: usize = 1000;

/// One condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Case-insensitive equality or `%` pattern.
    Like(String),
    /// `~null~`: absent or empty.
    Null,
    /// `~<>~` alone: present.
    NotNull,
    /// `~op~ value`.
    Cmp(Op, String),
    /// Array: one of these.
    In(Vec<String>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `~>~`.
    Gt,
    /// `~>=~`.
    Ge,
    /// `~<~`.
    Lt,
    /// `~<=~`.
    Le,
    /// `~<>~`.
    Ne,
}

/// A parsed `queryData`: (canonical field name, type, test).
#[derive(Debug, Clone, Default)]
pub struct Filter(pub Vec<(String, Ty, Test)>);

/// Parses `queryData`.
///
/// # Errors
/// `[NoFieldFound]`, `[InvalidParameter]`.
pub fn parse(table: &str, cols: &[Col], data: &[(String, XValue)]) -> XResult<Filter> {
    let mut out = Vec::new();
    for (name, v) in data {
        let col = find_col(table, cols, name)?;
        let test = match v {
            XValue::Nil => continue,
            XValue::Array(items) => {
                if items.len() > MAX_IN {
                    return Err(Fault::invalid(format!(
                        "At most {MAX_IN} values in an array query"
                    )));
                }
                if !(col.name == "Id" || col.name.ends_with("Id") || col.name.ends_with("ID")) {
                    return Err(Fault::invalid(format!(
                        "Array values are only allowed for id fields, not {table}.{name}"
                    )));
                }
                Test::In(
                    items
                        .iter()
                        .map(|i| i.as_text().unwrap_or_default())
                        .collect(),
                )
            }
            XValue::Struct(_) | XValue::Base64(_) => {
                return Err(Fault::invalid(format!(
                    "{table}.{name}: unsupported query value"
                )));
            }
            v => parse_text(&v.as_text().unwrap_or_default()),
        };
        out.push((col.name.clone(), col.ty, test));
    }
    Ok(Filter(out))
}

fn parse_text(s: &str) -> Test {
    let t = s.trim();
    if t.eq_ignore_ascii_case("~null~") {
        return Test::Null;
    }
    for (tok, op) in [
        ("~>=~", Op::Ge),
        ("~<=~", Op::Le),
        ("~<>~", Op::Ne),
        ("~>~", Op::Gt),
        ("~<~", Op::Lt),
    ] {
        if let Some(rest) = t.strip_prefix(tok) {
            let rest = rest.trim();
            if op == Op::Ne && rest.is_empty() {
                return Test::NotNull;
            }
            return Test::Cmp(op, rest.to_owned());
        }
    }
    Test::Like(s.to_owned())
}

/// `%` pattern match, ASCII case-insensitive; `%` alone matches present values.
fn like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let v: Vec<char> = value.to_ascii_lowercase().chars().collect();
    // Iterative wildcard match (no recursion, no backtracking blow-up).
    let (mut pi, mut vi) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while vi < v.len() {
        if pi < p.len() && p[pi] != '%' && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            pi += 1;
            mark = vi;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// A row value as comparable text: dates as `YYYY-MM-DD HH:MM:SS` local.
fn text_of(v: &XValue) -> String {
    match v {
        XValue::DateTime(t) => {
            let s = format_local(*t);
            // 20240102T03:04:05 → 2024-01-02 03:04:05
            format!("{}-{}-{} {}", &s[0..4], &s[4..6], &s[6..8], &s[9..])
        }
        v => v.as_text().unwrap_or_default(),
    }
}

fn normalize_date(s: &str) -> String {
    match as_local(&XValue::Str(s.to_owned())) {
        Some(t) => text_of(&XValue::DateTime(t)),
        None => s.to_owned(),
    }
}

fn compare(ty: Ty, value: &XValue, operand: &str) -> Option<std::cmp::Ordering> {
    match ty {
        Ty::Int | Ty::Double | Ty::BoolInt => {
            let a: f64 = value.as_text()?.trim().parse().ok()?;
            let b: f64 = operand.trim().parse().ok()?;
            a.partial_cmp(&b)
        }
        Ty::DateTime | Ty::Date => Some(text_of(value).cmp(&normalize_date(operand))),
        _ => Some(
            text_of(value)
                .to_ascii_lowercase()
                .cmp(&operand.to_ascii_lowercase()),
        ),
    }
}

fn equals(ty: Ty, value: &XValue, operand: &str) -> bool {
    match ty {
        // `{'Id': '%'}` is the iSDK idiom for "every row": a pattern on a number matches its
        // text.
        Ty::Int | Ty::Double | Ty::BoolInt if operand.contains('%') => {
            like(operand, &text_of(value))
        }
        Ty::Int | Ty::Double | Ty::BoolInt => {
            compare(ty, value, operand).is_some_and(std::cmp::Ordering::is_eq)
        }
        Ty::Bool => super::dispatch::as_bool(&XValue::Str(operand.to_owned()))
            .is_some_and(|b| matches!(value, XValue::Bool(x) if *x == b)),
        Ty::DateTime | Ty::Date => {
            if operand.contains('%') {
                like(operand, &text_of(value))
            } else {
                text_of(value) == normalize_date(operand)
                    || text_of(value).starts_with(&format!("{} ", operand.trim()))
            }
        }
        _ => like(operand, &text_of(value)),
    }
}

impl Filter {
    /// Whether a row passes every clause.
    pub fn matches(&self, row: &Row) -> bool {
        self.0.iter().all(|(name, ty, test)| {
            let v = row.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            match (test, v) {
                (Test::Null, v) => v.is_none(),
                (Test::NotNull, v) => v.is_some(),
                (Test::Like(_), None) => false,
                (Test::Like(p), Some(v)) => equals(*ty, v, p),
                (Test::Cmp(_, _), None) => false,
                (Test::Cmp(op, operand), Some(v)) => {
                    let Some(ord) = compare(*ty, v, operand) else {
                        return false;
                    };
                    match op {
                        Op::Gt => ord.is_gt(),
                        Op::Ge => ord.is_ge(),
                        Op::Lt => ord.is_lt(),
                        Op::Le => ord.is_le(),
                        Op::Ne => !ord.is_eq(),
                    }
                }
                (Test::In(_), None) => false,
                (Test::In(list), Some(v)) => list.iter().any(|o| equals(*ty, v, o)),
            }
        })
    }

    /// What a table may push down: `Id` equality/IN, and exact equalities without wildcards.
    pub fn hints(&self) -> Hints {
        let mut h = Hints::default();
        for (name, _, test) in &self.0 {
            match test {
                Test::Like(p) if name == "Id" => {
                    if let Some(id) = as_int(&XValue::Str(p.clone())) {
                        h.ids = Some(vec![id]);
                    }
                }
                Test::In(list) if name == "Id" => {
                    h.ids = Some(
                        list.iter()
                            .filter_map(|s| as_int(&XValue::Str(s.clone())))
                            .collect(),
                    );
                }
                Test::Like(p) if !p.contains('%') => h.eq.push((name.clone(), p.clone())),
                _ => {}
            }
        }
        h
    }
}

/// Sorts rows by a field (missing values first ascending), ties by `Id`.
pub fn sort(rows: &mut [Row], field: &str, ty: Ty, ascending: bool) {
    let key = |r: &Row| r.iter().find(|(n, _)| n == field).map(|(_, v)| v.clone());
    let id = |r: &Row| {
        r.iter()
            .find(|(n, _)| n == "Id")
            .and_then(|(_, v)| as_int(v))
            .unwrap_or(0)
    };
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        let ord = match (&ka, &kb) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => compare(ty, x, &text_of(y)).unwrap_or(std::cmp::Ordering::Equal),
        };
        let ord = ord.then(id(a).cmp(&id(b)));
        if ascending { ord } else { ord.reverse() }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_case_insensitive_and_linear() {
        assert!(like("ada%", "Ada Lovelace"));
        assert!(like("%love%", "Ada Lovelace"));
        assert!(like("%", "x"));
        assert!(!like("ada", "Ada Lovelace"));
        assert!(like("ADA", "ada"));
        let long = "a".repeat(5000);
        assert!(!like(&format!("{}b", "%a".repeat(50)), &long));
    }

    #[test]
    fn operators_parse() {
        assert_eq!(parse_text("~null~"), Test::Null);
        assert_eq!(parse_text("~<>~"), Test::NotNull);
        assert_eq!(
            parse_text("~>=~ 2017-01-01 00:00:00"),
            Test::Cmp(Op::Ge, "2017-01-01 00:00:00".into())
        );
        assert_eq!(parse_text("~<~5"), Test::Cmp(Op::Lt, "5".into()));
    }

    #[test]
    fn a_pattern_on_a_number_matches_its_text() {
        assert!(equals(Ty::Int, &XValue::Int(42), "%"));
        assert!(equals(Ty::Int, &XValue::Int(42), "4%"));
        assert!(!equals(Ty::Int, &XValue::Int(42), "5%"));
        assert!(equals(Ty::Double, &XValue::Double(2.5), "2.%"));
        assert!(equals(Ty::Int, &XValue::Int(42), "42"));
        assert!(!equals(Ty::Int, &XValue::Int(42), "4"));
    }
}
