//! Exact money amounts: decimal text, never a float.

use serde::{Deserialize, Deserializer, Serialize};

/// Why a text is not a [`Money`] amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a decimal amount (digits, optional sign and fraction, e.g. \"19.99\")")]
pub struct MoneyError(pub String);

/// An amount as an exact decimal string (`"19.99"`, `"-0.5"`, `"3"`). The SDK sends it as a
/// JSON string, which keapsake (and Keap) read exactly; no `f64` is involved.
///
/// Keap answers money as JSON numbers; those are read by their shortest decimal form (the
/// text the server wrote), so `19.99` reads as `"19.99"`.
///
/// ```
/// use keapsake_sdk::model::Money;
/// let price: Money = "19.99".parse().unwrap();
/// assert_eq!(price.as_str(), "19.99");
/// assert_eq!(price.cents(), Some(1999));
/// assert_eq!(Money::from_cents(1999), price);
/// assert!("1e3".parse::<Money>().is_err());
/// assert_eq!(serde_json::to_value(&price).unwrap(), serde_json::json!("19.99"));
/// let read: Money = serde_json::from_str("59.97").unwrap();
/// assert_eq!(read.cents(), Some(5997));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(String);

impl Money {
    /// Validates `s` (surrounding spaces trimmed).
    ///
    /// # Errors
    ///
    /// [`MoneyError`] when it is not digits with an optional sign and fraction.
    pub fn new(s: &str) -> Result<Money, MoneyError> {
        let t = s.trim();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let ok = !(int.is_empty() && frac.is_empty())
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Money(t.strip_prefix('+').unwrap_or(t).to_owned()))
        } else {
            Err(MoneyError(s.to_owned()))
        }
    }

    /// Whole cents: `Money::from_cents(1999)` is `"19.99"`.
    pub fn from_cents(cents: i64) -> Money {
        let sign = if cents < 0 { "-" } else { "" };
        let c = cents.unsigned_abs();
        Money(format!("{sign}{}.{:02}", c / 100, c % 100))
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same amount with at least `decimals` digits after the point, for display
    /// (`"4.5"` → `"4.50"`, `"50"` → `"50.00"`); never rounds away digits.
    ///
    /// ```
    /// use keapsake_sdk::model::Money;
    /// let m: Money = "4.5".parse().unwrap();
    /// assert_eq!(m.padded(2).as_str(), "4.50");
    /// assert_eq!(Money::new("1.2345").unwrap().padded(2).as_str(), "1.2345");
    /// ```
    pub fn padded(&self, decimals: usize) -> Money {
        let (int, frac) = self.0.split_once('.').unwrap_or((&self.0, ""));
        if frac.len() >= decimals {
            return self.clone();
        }
        Money(format!("{int}.{frac:0<decimals$}"))
    }

    /// The amount in whole cents, when it has at most two significant decimals (trailing
    /// zeros are fine) and fits an `i64`.
    pub fn cents(&self) -> Option<i64> {
        let (neg, digits) = match self.0.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, self.0.as_str()),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return None;
        }
        let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        let c = int.checked_mul(100)?.checked_add(frac)?;
        Some(if neg { -c } else { c })
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::new(s)
    }
}

impl TryFrom<&str> for Money {
    type Error = MoneyError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Money::new(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a decimal amount (number or string)")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Money, E> {
                Money::new(s).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Money, E> {
                // Only to read what the server wrote: Rust prints the shortest text that reads
                // back as the same double, i.e. the server's own decimal text.
                if !v.is_finite() {
                    return Err(E::custom("not a finite amount"));
                }
                let s = format!("{v}");
                if s.contains(['e', 'E']) {
                    return Err(E::custom(format!("amount {s} out of range")));
                }
                Ok(Money(s))
            }
        }
        d.deserialize_any(V)
    }
}
