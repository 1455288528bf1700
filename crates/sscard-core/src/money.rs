//! Exact money and ratios: yuan as integer cents, ratios and quantities as integer
//! ten-thousandths. Every rounding is to the cent, half away from zero (the settlement rules'
//! `round`). Nothing here is floating point.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in cents (may be negative: a cancellation).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// A ratio or a quantity in ten-thousandths (`0.9` is 9,000; a count of `2.5` is 25,000).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed4(i64);

/// Why a decimal string is not an amount, a ratio or a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalError {
    /// The text as given.
    pub text: String,
    /// Decimals allowed.
    pub places: u32,
}

impl sscard_ids::Bilingual for DecimalError {
    fn code(&self) -> &'static str {
        "decimal.invalid"
    }
    fn zh(&self) -> String {
        format!(
            "“{}”不是有效的数值：应为最多 {} 位小数的十进制数，如 800.00",
            self.text, self.places
        )
    }
    fn en(&self) -> String {
        format!(
            "\"{}\" is not a number: a decimal with at most {} places is expected, e.g. 800.00",
            self.text, self.places
        )
    }
}

crate::display_bilingual!(DecimalError);

/// Parses `[-]digits[.digits]` with at most `places` decimals into units of 10^-places.
fn parse_fixed(text: &str, places: u32) -> Result<i64, DecimalError> {
    let err = || DecimalError {
        text: text.to_owned(),
        places,
    };
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !plain(whole) || !plain(frac) || frac.len() > places as usize {
        return Err(err());
    }
    if digits.ends_with('.') || whole.len() > 13 {
        return Err(err());
    }
    let scale = 10i64.pow(places);
    let whole: i64 = whole.parse().map_err(|_| err())?;
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| err())? * 10i64.pow(places - frac.len() as u32)
    };
    let v = whole * scale + frac_value;
    Ok(if negative { -v } else { v })
}

/// `n / d` rounded half away from zero (`d > 0`).
fn div_round(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// From cents.
    pub const fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    /// The cents.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses yuan with at most two decimals (`800`, `800.5`, `800.00`, `-12.30`).
    pub fn parse(text: &str) -> Result<Money, DecimalError> {
        parse_fixed(text, 2).map(Money)
    }

    /// `self × ratio`, rounded to the cent.
    pub fn times(self, ratio: Fixed4) -> Money {
        Money(div_round(i128::from(self.0) * i128::from(ratio.0), 10_000) as i64)
    }

    /// `self ÷ ratio`, rounded to the cent (`ratio > 0`).
    pub fn divided_by(self, ratio: Fixed4) -> Money {
        Money(div_round(i128::from(self.0) * 10_000, i128::from(ratio.0)) as i64)
    }

    /// Never below zero.
    pub fn at_least_zero(self) -> Money {
        std::cmp::max(self, Money::ZERO)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}

impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Fixed4 {
    /// Zero.
    pub const ZERO: Fixed4 = Fixed4(0);
    /// One.
    pub const ONE: Fixed4 = Fixed4(10_000);

    /// From ten-thousandths.
    pub const fn from_units(units: i64) -> Fixed4 {
        Fixed4(units)
    }

    /// The ten-thousandths.
    pub const fn units(self) -> i64 {
        self.0
    }

    /// Parses a decimal with at most four places (`0.9`, `0.85`, `2.5`).
    pub fn parse(text: &str) -> Result<Fixed4, DecimalError> {
        parse_fixed(text, 4).map(Fixed4)
    }

    /// `self − other`, never below zero.
    pub fn minus(self, other: Fixed4) -> Fixed4 {
        Fixed4((self.0 - other.0).max(0))
    }

    /// A unit price times a count, rounded to the cent (both in ten-thousandths of their unit).
    pub fn price_times_count(price: Fixed4, count: Fixed4) -> Money {
        // price·10⁻⁴ yuan × count·10⁻⁴ = price·count·10⁻⁸ yuan = price·count / 10⁶ cents.
        Money(div_round(i128::from(price.0) * i128::from(count.0), 1_000_000) as i64)
    }
}

impl fmt::Display for Fixed4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let frac = format!("{:04}", a % 10_000);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            write!(f, "{sign}{}", a / 10_000)
        } else {
            write!(f, "{sign}{}.{frac}", a / 10_000)
        }
    }
}

impl Serialize for Fixed4 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fixed4 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fixed4, D::Error> {
        let text = String::deserialize(d)?;
        Fixed4::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_and_print_exactly() {
        for (text, cents, shown) in [
            ("800", 80_000, "800.00"),
            ("800.5", 80_050, "800.50"),
            ("0.01", 1, "0.01"),
            ("-12.30", -1_230, "-12.30"),
            (" 3.00 ", 300, "3.00"),
        ] {
            let m = Money::parse(text).unwrap();
            assert_eq!(m.cents(), cents, "{text}");
            assert_eq!(m.to_string(), shown);
        }
        for bad in [
            "",
            "1.234",
            "1e3",
            "abc",
            ".5",
            "5.",
            "1,000.00",
            "--1",
            "12345678901234",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let r = Fixed4::parse("0.5").unwrap();
        assert_eq!(Money::from_cents(1).times(r).cents(), 1); // 0.005 → 0.01
        assert_eq!(Money::from_cents(-1).times(r).cents(), -1);
        assert_eq!(Money::from_cents(3).times(r).cents(), 2); // 0.015 → 0.02
        let r = Fixed4::parse("0.85").unwrap();
        assert_eq!(
            Money::parse("100.01").unwrap().times(r).to_string(),
            "85.01"
        );
        assert_eq!(
            Money::parse("85.01").unwrap().divided_by(r).to_string(),
            "100.01"
        );
        let p = Fixed4::parse("0.3333").unwrap();
        let n = Fixed4::parse("3").unwrap();
        assert_eq!(Fixed4::price_times_count(p, n).to_string(), "1.00"); // 0.9999
        assert_eq!(Fixed4::parse("0.90").unwrap().to_string(), "0.9");
    }
}
