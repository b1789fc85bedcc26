//! Exact money (`keap/rest-v1.md` §0.1, §8.4). Amounts are [`rust_decimal::Decimal`]s from the
//! moment they are parsed to the moment a response is written: prices and payments arrive as
//! strings (`"19.99"`) or JSON numbers, are parsed digit for digit (a JSON number by its
//! shortest decimal form, so `0.1` is one tenth, not the double nearest to it), summed and
//! multiplied exactly, and rounded half-up to cents only where §8.4 says so. The one
//! conversion to a double is [`Money::to_json`], for Keap's `number` response members.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Largest amount accepted anywhere (a price, a payment, a line, a total): ten trillion.
/// Keeps every product of a price and an int32 quantity, and every sum of a bounded number of
/// lines, far inside `Decimal`'s 28 digits.
pub const MAX_AMOUNT: i64 = 10_000_000_000_000;
/// Most decimal places a price may carry (Keap's own prices are cents; some feeds send mils).
pub const MAX_SCALE: u32 = 6;

/// What can be wrong with an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number.
    #[error("{0} must be a decimal number, e.g. \"19.99\"")]
    NotANumber(String),
    /// Negative where it must not be.
    #[error("{0} must not be negative")]
    Negative(String),
    /// Zero or negative where it must be positive.
    #[error("{0} must be greater than 0")]
    NotPositive(String),
    /// Too large or too many decimals.
    #[error("{0} is out of range (at most {MAX_AMOUNT} with {MAX_SCALE} decimals)")]
    OutOfRange(String),
}

/// An exact amount of money (no currency: an account has one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// The amount as a decimal.
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// Whole cents, e.g. `Money::cents(1999)` is 19.99.
    pub fn cents(c: i64) -> Money {
        Money(Decimal::new(c, 2))
    }

    /// Parses a decimal string exactly: optional sign, digits, optional fraction (`"19.99"`,
    /// `" 5 "`, `"-0.5"`, `"1e2"` is refused). `name` goes into the message.
    ///
    /// # Errors
    /// Not a number; more than [`MAX_SCALE`] decimals or larger than [`MAX_AMOUNT`].
    pub fn parse(s: &str, name: &str) -> Result<Money, MoneyError> {
        let t = s.trim();
        if t.contains(['e', 'E']) {
            return Money::parse_scientific(t, name);
        }
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let ok = !(int.is_empty() && frac.is_empty())
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(MoneyError::NotANumber(name.to_owned()));
        }
        if frac.len() > MAX_SCALE as usize || int.trim_start_matches('0').len() > 14 {
            return Err(MoneyError::OutOfRange(name.to_owned()));
        }
        let d = Decimal::from_str(t).map_err(|_| MoneyError::NotANumber(name.to_owned()))?;
        if d.abs() > Decimal::from(MAX_AMOUNT) {
            return Err(MoneyError::OutOfRange(name.to_owned()));
        }
        Ok(Money(d.normalize()))
    }

    /// A number in exponent form (`1.5e2`, how a JSON double may be written): exact, then held
    /// to the same limits.
    fn parse_scientific(t: &str, name: &str) -> Result<Money, MoneyError> {
        let (mantissa, exp) = t
            .split_once(['e', 'E'])
            .ok_or_else(|| MoneyError::NotANumber(name.to_owned()))?;
        let exp: i64 = exp
            .strip_prefix('+')
            .unwrap_or(exp)
            .parse()
            .map_err(|_| MoneyError::NotANumber(name.to_owned()))?;
        let m = Money::parse(mantissa, name)?;
        if !(-28..=28).contains(&exp) {
            return Err(MoneyError::OutOfRange(name.to_owned()));
        }
        let d = Decimal::from_scientific(&format!("{}e{exp}", m.0))
            .map_err(|_| MoneyError::OutOfRange(name.to_owned()))?
            .normalize();
        if d.scale() > MAX_SCALE || d.abs() > Decimal::from(MAX_AMOUNT) {
            return Err(MoneyError::OutOfRange(name.to_owned()));
        }
        Ok(Money(d))
    }

    /// Parses what a client sent: a string, or a JSON number by its shortest decimal form.
    ///
    /// # Errors
    /// As [`Money::parse`]; anything but a string or a number is [`MoneyError::NotANumber`].
    pub fn from_json(v: &Value, name: &str) -> Result<Money, MoneyError> {
        match v {
            Value::String(s) => Money::parse(s, name),
            // serde_json writes a double by its shortest round-trip form (`0.1`, `19.99`,
            // `1e-7`), and an integer exactly.
            Value::Number(n) => Money::parse(&n.to_string(), name),
            _ => Err(MoneyError::NotANumber(name.to_owned())),
        }
    }

    /// Like [`Money::from_json`], refusing negatives.
    ///
    /// # Errors
    /// As [`Money::from_json`], or [`MoneyError::Negative`].
    pub fn non_negative(v: &Value, name: &str) -> Result<Money, MoneyError> {
        let m = Money::from_json(v, name)?;
        if m.0.is_sign_negative() && !m.0.is_zero() {
            return Err(MoneyError::Negative(name.to_owned()));
        }
        Ok(m)
    }

    /// Rounded half-up (half away from zero) to cents: 2.345 → 2.35, -2.345 → -2.35.
    pub fn round_cents(self) -> Money {
        Money(
            self.0
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// An amount a client sent as a binary double (XML-RPC `<double>`), read as its shortest
    /// decimal text, with at most `max_scale` decimals. Float noise from the client's own
    /// arithmetic (`19.99 * 3` = `59.970000000000006`) is rounded away when the value is within
    /// 10^-(max_scale+4) of an amount of `max_scale` decimals; a real sub-unit amount such as
    /// `1.005` for cents is refused (`None`), never silently rounded.
    pub fn from_double(d: f64, max_scale: u32) -> Option<Money> {
        if !d.is_finite() {
            return None;
        }
        let exact = Decimal::from_str(&format!("{d}")).ok()?;
        let rounded =
            exact.round_dp_with_strategy(max_scale, RoundingStrategy::MidpointAwayFromZero);
        if (exact - rounded).abs() > Decimal::new(1, max_scale + 4) {
            return None;
        }
        // Through the parser, so the range rules are the same as for text amounts.
        let text = if exact.scale() <= max_scale {
            exact
        } else {
            rounded
        };
        Money::parse(&text.to_string(), "amount").ok()
    }

    /// `self × quantity`, exact. `None` on overflow (cannot happen within the limits).
    pub fn times(self, quantity: i64) -> Option<Money> {
        self.0.checked_mul(Decimal::from(quantity)).map(Money)
    }

    /// `self + other`, exact; `None` on overflow.
    pub fn plus(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self − other`, exact; `None` on overflow.
    pub fn minus(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// `-self`.
    pub fn negated(self) -> Money {
        Money(-self.0)
    }

    /// The larger of `self` and zero.
    pub fn at_least_zero(self) -> Money {
        if self.0.is_sign_negative() {
            Money::ZERO
        } else {
            self
        }
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Whether the amount is above zero.
    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// The JSON number of a response (Keap's money members are doubles): the double nearest to
    /// the exact value. Only for output; never computed with.
    pub fn to_json(self) -> Value {
        self.0
            .to_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Money {
    /// Stored as a decimal string, so a document round-trips exactly.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Money::from_json(&v, "amount").map_err(serde::de::Error::custom)
    }
}

/// Sums amounts exactly.
///
/// # Errors
/// [`MoneyError::OutOfRange`] on overflow.
pub fn sum(amounts: impl IntoIterator<Item = Money>, name: &str) -> Result<Money, MoneyError> {
    amounts.into_iter().try_fold(Money::ZERO, |acc, m| {
        acc.plus(m)
            .ok_or_else(|| MoneyError::OutOfRange(name.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn doubles_keep_their_text_and_lose_only_float_noise() {
        let text = |d: f64| Money::from_double(d, 2).map(|m| m.0.to_string());
        assert_eq!(text(19.99).as_deref(), Some("19.99"));
        assert_eq!(text(19.99 * 3.0).as_deref(), Some("59.97"));
        assert_eq!(text(0.1 + 0.2).as_deref(), Some("0.3"));
        assert_eq!(text(12.5).as_deref(), Some("12.5"));
        assert_eq!(text(1.005), None, "a real sub-cent amount is refused");
        assert_eq!(text(f64::NAN), None);
        assert_eq!(text(1e300), None);
        assert_eq!(
            Money::from_double(0.123456, 6)
                .map(|m| m.0.to_string())
                .as_deref(),
            Some("0.123456")
        );
    }

    fn m(s: &str) -> Money {
        Money::parse(s, "x").expect("a number")
    }

    #[test]
    fn point_one_plus_point_two_is_point_three() {
        // As doubles, 0.1 + 0.2 == 0.30000000000000004.
        let a = Money::from_json(&json!(0.1), "a").expect("ok");
        let b = Money::from_json(&json!(0.2), "b").expect("ok");
        assert_eq!(a.plus(b), Some(m("0.3")));
        assert_eq!(a.plus(b).map(|s| s.to_string()), Some("0.3".to_owned()));
    }

    #[test]
    fn three_times_33_335_rounds_half_up_to_100_01() {
        // Exactly 100.005 → 100.01. As doubles 33.335 * 3 = 100.00499999999998 → 100.00.
        let line = m("33.335").times(3).expect("fits");
        assert_eq!(line, m("100.005"));
        assert_eq!(line.round_cents(), m("100.01"));
    }

    #[test]
    fn half_up_at_every_midpoint() {
        for (v, r) in [
            ("1.005", "1.01"),
            ("2.675", "2.68"), // the double 2.675 is 2.67499999…
            ("0.125", "0.13"),
            ("0.135", "0.14"),
            ("1.004999", "1.00"),
            ("-2.345", "-2.35"),
            ("10", "10"),
        ] {
            assert_eq!(m(v).round_cents(), m(r), "{v}");
        }
    }

    #[test]
    fn a_hundred_dimes_are_ten_dollars() {
        let total = sum(std::iter::repeat_n(m("0.1"), 100), "t").expect("fits");
        assert_eq!(total, m("10"));
        assert_eq!(m("19.99").times(3), Some(m("59.97")));
    }

    #[test]
    fn strings_and_numbers_parse_exactly_and_bad_ones_are_refused() {
        assert_eq!(Money::from_json(&json!("19.99"), "p"), Ok(m("19.99")));
        assert_eq!(
            Money::from_json(&json!(" 25 "), "p"),
            Ok(Money::cents(2500))
        );
        assert_eq!(Money::from_json(&json!(7), "p"), Ok(m("7")));
        for bad in [
            json!("abc"),
            json!(""),
            json!("1e"),
            json!("e3"),
            json!("1.2.3"),
            json!(true),
            json!(null),
            json!("NaN"),
            json!("."),
        ] {
            assert!(
                matches!(Money::from_json(&bad, "p"), Err(MoneyError::NotANumber(_))),
                "{bad}"
            );
        }
        // Exponent forms (how serde_json writes some doubles) are exact and held to the limits.
        assert_eq!(Money::from_json(&json!("1e3"), "p"), Ok(m("1000")));
        assert_eq!(Money::from_json(&json!("2.5E-2"), "p"), Ok(m("0.025")));
        assert_eq!(
            Money::from_json(&json!(1.5e20), "p"),
            Err(MoneyError::OutOfRange("p".into()))
        );
        assert_eq!(
            Money::from_json(&json!(1e-7), "p"),
            Err(MoneyError::OutOfRange("p".into()))
        );
        assert!(matches!(
            Money::from_json(&json!("0.0000001"), "p"),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(matches!(
            Money::from_json(&json!("99999999999999999"), "p"),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(matches!(
            Money::non_negative(&json!("-1"), "p"),
            Err(MoneyError::Negative(_))
        ));
        assert_eq!(Money::non_negative(&json!("-0"), "p"), Ok(Money::ZERO));
    }

    #[test]
    fn stored_as_strings_and_rendered_as_numbers() {
        let v = serde_json::to_value(m("19.90")).expect("ok");
        assert_eq!(v, json!("19.9"));
        let back: Money = serde_json::from_value(v).expect("ok");
        assert_eq!(back, m("19.9"));
        assert_eq!(m("19.99").to_json(), json!(19.99));
        assert_eq!(m("100.01").to_json(), json!(100.01));
        assert_eq!(Money::ZERO.to_json(), json!(0.0));
    }
}
