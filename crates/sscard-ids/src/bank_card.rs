//! The debit-card number of the card's financial application (PAN, EF tag `5A`).

use std::fmt;

use crate::checksum::{luhn_check_digit, luhn_valid};
use crate::mask::mask_middle;
use crate::message::{Bilingual, describe_char, display_bilingual};

/// A 16–19 digit bank card number with a valid Luhn check digit.
///
/// `Display` and `Debug` are masked to the issuer prefix and last four digits
/// (`621700*********1234`); the full number only through [`BankCardNumber::expose`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankCardNumber(String);

/// Why a bank card number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankCardError {
    /// Not 16–19 digits (spaces ignored).
    Length { found: usize },
    /// A character that is not a digit or a grouping space (1-based position in the input).
    Character { position: usize, found: char },
    /// The Luhn check fails; `expected` is the check digit the other digits call for.
    Luhn { expected: char, found: char },
}

impl Bilingual for BankCardError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "bank_card.length",
            Self::Character { .. } => "bank_card.character",
            Self::Luhn { .. } => "bank_card.check_digit",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Length { found } => format!("银行卡号应为 16–19 位数字，实为 {found} 位"),
            Self::Character { position, found } => {
                format!(
                    "银行卡号第 {position} 个字符应为数字，实为 {}",
                    describe_char(*found)
                )
            }
            Self::Luhn { expected, found } => format!(
                "银行卡号校验位错误：末位按其余数字应为 {expected}，实为 {found}，请核对卡号"
            ),
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Length { found } => {
                format!("a bank card number has 16-19 digits, this one has {found}")
            }
            Self::Character { position, found } => format!(
                "character {position} of the bank card number must be a digit, found {}",
                describe_char(*found)
            ),
            Self::Luhn { expected, found } => format!(
                "wrong check digit: from the other digits the last must be {expected}, found {found}"
            ),
        }
    }
}
display_bilingual!(BankCardError);

impl BankCardNumber {
    /// Parses 16–19 digits; spaces between digit groups are ignored.
    pub fn parse(s: &str) -> Result<Self, BankCardError> {
        let mut digits = String::with_capacity(19);
        for (i, c) in s.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' => {}
                _ => {
                    return Err(BankCardError::Character {
                        position: i + 1,
                        found: c,
                    });
                }
            }
        }
        if !(16..=19).contains(&digits.len()) {
            return Err(BankCardError::Length {
                found: digits.len(),
            });
        }
        if !luhn_valid(digits.as_bytes()) {
            let (payload, last) = digits.split_at(digits.len() - 1);
            return Err(BankCardError::Luhn {
                expected: luhn_check_digit(payload.as_bytes()) as char,
                found: last.chars().next().expect("one digit"),
            });
        }
        Ok(Self(digits))
    }

    /// Builds a number from its digits without the check digit (15–18 digits), appending it.
    pub fn from_payload(payload: &str) -> Result<Self, BankCardError> {
        if let Some((i, c)) = payload
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(BankCardError::Character {
                position: i + 1,
                found: c,
            });
        }
        if !(15..=18).contains(&payload.len()) {
            return Err(BankCardError::Length {
                found: payload.len() + 1,
            });
        }
        let mut s = payload.to_owned();
        s.push(luhn_check_digit(payload.as_bytes()) as char);
        Ok(Self(s))
    }

    /// The full number. Named so that every place that reveals it stands out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form: first six (issuer) and last four digits.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 6, 4)
    }
}

impl fmt::Display for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}
impl fmt::Debug for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankCardNumber({})", self.masked())
    }
}
impl std::str::FromStr for BankCardNumber {
    type Err = BankCardError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_mask_and_refuse() {
        let n = BankCardNumber::from_payload("621700123456789012").unwrap();
        assert_eq!(n.expose().len(), 19);
        let again = BankCardNumber::parse(n.expose()).unwrap();
        assert_eq!(again, n);
        assert_eq!(
            n.to_string(),
            format!("621700*********{}", &n.expose()[15..])
        );
        assert!(!format!("{n:?}").contains(&n.expose()[6..15]));
        let spaced = "6217 0012 3456 7890 12".to_owned() + &n.expose()[18..];
        assert_eq!(BankCardNumber::parse(&spaced).unwrap(), n);
        assert_eq!(
            BankCardNumber::parse("4111111111111111").unwrap().expose(),
            "4111111111111111"
        );
        assert_eq!(
            BankCardNumber::parse("4111111111111112").unwrap_err(),
            BankCardError::Luhn {
                expected: '1',
                found: '2'
            }
        );
        assert_eq!(
            BankCardNumber::parse("411111111111111").unwrap_err().code(),
            "bank_card.length"
        );
        assert_eq!(
            BankCardNumber::parse("4111-1111-1111-1111")
                .unwrap_err()
                .code(),
            "bank_card.character"
        );
    }
}
