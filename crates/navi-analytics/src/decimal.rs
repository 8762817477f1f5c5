//! Exact decimal values of a dashboard: dollars from micros, and averages to two decimals.
//! Both are computed with integers only; floating point appears only where JSON needs a number.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

const MICROS_PER_USD: u64 = 1_000_000;

/// An amount of US dollars, kept as micros, written as the whole dollars, a dot and exactly six
/// digits (`"12.345678"`, `"0.000000"`, `"-0.000001"`); a JSON string on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CostUsd(i64);

impl CostUsd {
    /// The amount of `micros` millionths of a dollar.
    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// The amount in millionths of a dollar.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Reads the canonical form [`fmt::Display`] writes, and nothing else.
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.')?;
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !all_digits(fraction) || fraction.len() != 6 {
            return None;
        }
        let magnitude = whole
            .parse::<i128>()
            .ok()?
            .checked_mul(i128::from(MICROS_PER_USD))?
            .checked_add(fraction.parse::<i128>().ok()?)?;
        let micros = i64::try_from(if negative { -magnitude } else { magnitude }).ok()?;
        let parsed = Self(micros);
        // One spelling per amount: no leading zeros, no "-0.000000".
        (parsed.to_string() == text).then_some(parsed)
    }
}

impl fmt::Display for CostUsd {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(
            formatter,
            "{sign}{}.{:06}",
            magnitude / MICROS_PER_USD,
            magnitude % MICROS_PER_USD
        )
    }
}

impl Serialize for CostUsd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CostUsd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CostUsd::parse(&text).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Str(&text),
                &"dollars written like 12.345678",
            )
        })
    }
}

/// A number with two decimals, kept exactly as a count of hundredths; a JSON number on the wire
/// (`0.13`, `250.5`, `7.0`).
///
/// The JSON number is the `f64` nearest to the exact value, which serializers print as that
/// value while it stays below 2⁴⁶ hundredths (700 billion), far beyond any average latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hundredths(i128);

impl Hundredths {
    /// The value of `hundredths` hundredths.
    pub fn from_hundredths(hundredths: i128) -> Self {
        Self(hundredths)
    }

    /// `numerator / denominator` rounded half away from zero to two decimals, with integer
    /// arithmetic only; `None` when `denominator` is 0.
    ///
    /// `1/8 = 0.125 → 0.13`, `5/1000 = 0.005 → 0.01`, `1/3 → 0.33`, `-1/8 → -0.13`.
    pub fn from_ratio(numerator: i64, denominator: i64) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let negative = (numerator < 0) != (denominator < 0);
        let numerator = i128::from(numerator).abs() * 100;
        let denominator = i128::from(denominator).abs();
        // ⌊(2·n + d) / 2d⌋ = ⌊n/d + 1/2⌋: rounds halves up, that is away from zero.
        let magnitude = (2 * numerator + denominator) / (2 * denominator);
        Some(Self(if negative { -magnitude } else { magnitude }))
    }

    /// The value as a count of hundredths.
    pub fn hundredths(self) -> i128 {
        self.0
    }

    /// The nearest `f64`, as written to JSON.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// The value of `number`, when it has at most two decimals (as written by this type).
    pub fn from_f64(number: f64) -> Option<Self> {
        if !number.is_finite() {
            return None;
        }
        let scaled = (number * 100.0).round();
        if scaled.abs() >= 2f64.powi(100) {
            return None;
        }
        let value = Self(scaled as i128);
        (value.to_f64() == number).then_some(value)
    }
}

impl fmt::Display for Hundredths {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(
            formatter,
            "{sign}{}.{:02}",
            magnitude / 100,
            magnitude % 100
        )
    }
}

impl Serialize for Hundredths {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> Deserialize<'de> for Hundredths {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = f64::deserialize(deserializer)?;
        Hundredths::from_f64(number).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Float(number),
                &"a number with at most two decimals",
            )
        })
    }
}
