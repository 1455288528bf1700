//! The unified social credit code (统一社会信用代码, GB 32100-2015) that keys an employer.

use crate::checksum::{credit_value, mod31};
use crate::message::{Bilingual, describe_char, display_bilingual, text_identifier};

/// A valid 18-character unified social credit code.
///
/// Layout: registration authority (1), organisation type (1), region code (6), organisation code
/// (9, GB 11714), check (1, MOD 31 over the 31-character alphabet without I, O, Z, S, V).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode([u8; 18]);

/// Why a credit code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditCodeError {
    /// Not exactly 18 characters.
    Length { found: usize },
    /// A character outside the code's alphabet (1-based position).
    Character { position: usize, found: char },
    /// The 18th character does not match the first 17.
    CheckCharacter { expected: char, found: char },
}

impl Bilingual for CreditCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "credit_code.length",
            Self::Character { .. } => "credit_code.character",
            Self::CheckCharacter { .. } => "credit_code.check_character",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Length { found } => format!("统一社会信用代码应为 18 位，实为 {found} 位"),
            Self::Character { position, found } => format!(
                "统一社会信用代码第 {position} 位应为数字或大写字母（不含 I、O、Z、S、V），实为 {}",
                describe_char(*found)
            ),
            Self::CheckCharacter { expected, found } => format!(
                "统一社会信用代码校验码错误：按前 17 位第 18 位应为 {expected}，实为 {found}，请核对营业执照"
            ),
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Length { found } => {
                format!("a unified social credit code has 18 characters, this one has {found}")
            }
            Self::Character { position, found } => format!(
                "character {position} of the credit code must be a digit or a capital letter \
                 other than I, O, Z, S, V; found {}",
                describe_char(*found)
            ),
            Self::CheckCharacter { expected, found } => format!(
                "wrong check character: from the first 17 characters, character 18 must be \
                 {expected}, found {found}; check the business licence"
            ),
        }
    }
}
display_bilingual!(CreditCodeError);

impl CreditCode {
    /// Parses a credit code; lower-case letters are accepted and normalised.
    pub fn parse(s: &str) -> Result<Self, CreditCodeError> {
        let s = s.trim();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(CreditCodeError::Length { found: chars.len() });
        }
        let mut out = [0u8; 18];
        for (i, &c) in chars.iter().enumerate() {
            let u = c.to_ascii_uppercase();
            if !u.is_ascii() || credit_value(u as u8).is_none() {
                return Err(CreditCodeError::Character {
                    position: i + 1,
                    found: c,
                });
            }
            out[i] = u as u8;
        }
        let expected = mod31(out[..17].try_into().expect("17 bytes")).expect("alphabet checked");
        if expected != out[17] {
            return Err(CreditCodeError::CheckCharacter {
                expected: expected as char,
                found: out[17] as char,
            });
        }
        Ok(Self(out))
    }

    /// Builds a code from its first 17 characters, appending the check.
    pub fn from_body(body: &str) -> Result<Self, CreditCodeError> {
        let n = body.chars().count();
        if n != 17 {
            return Err(CreditCodeError::Length { found: n + 1 });
        }
        let b: [u8; 17] = body
            .as_bytes()
            .try_into()
            .map_err(|_| CreditCodeError::Length { found: n + 1 })?;
        for (i, &c) in b.iter().enumerate() {
            if credit_value(c).is_none() {
                return Err(CreditCodeError::Character {
                    position: i + 1,
                    found: c as char,
                });
            }
        }
        let mut out = [0u8; 18];
        out[..17].copy_from_slice(&b);
        out[17] = mod31(&b).expect("checked");
        Ok(Self(out))
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// Characters 3–8: the region code of the registering authority.
    pub fn region_digits(&self) -> &str {
        &self.as_str()[2..8]
    }

    /// Characters 9–17: the organisation code (GB 11714).
    pub fn organization_code(&self) -> &str {
        &self.as_str()[8..17]
    }
}

text_identifier!(CreditCode, CreditCodeError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_code_parses() {
        let c = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(c.region_digits(), "350100");
        assert_eq!(c.organization_code(), "M000100Y4");
        assert_eq!(CreditCode::parse("91350100m000100y43").unwrap(), c);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            CreditCode::parse("91350100M000100Y4").unwrap_err().code(),
            "credit_code.length"
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y4I").unwrap_err().code(),
            "credit_code.character"
        );
        assert_eq!(
            CreditCode::parse("91350100O000100Y43").unwrap_err().code(),
            "credit_code.character"
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y44").unwrap_err(),
            CreditCodeError::CheckCharacter {
                expected: '3',
                found: '4'
            }
        );
    }
}
