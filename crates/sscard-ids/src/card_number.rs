//! The social security card number (社会保障卡卡号): 8 body characters and a check character.

use crate::checksum::{alnum_value, weighted_mod11};
use crate::message::{Bilingual, describe_char, display_bilingual, text_identifier};

/// A valid 9-character card number such as `X00000019`.
///
/// The body is 8 digits or capital Latin letters; the ninth character is the check computed
/// with weights `3 7 9 10 5 8 4 2` (ssc-facts §2.2). The number is printed on the card face
/// and is not personal data on its own, so it displays in full.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber([u8; 9]);

/// Why a card number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardNumberError {
    /// Not exactly 9 characters.
    Length { found: usize },
    /// A character that is not a digit or capital letter (position 1-based).
    Character { position: usize, found: char },
    /// The ninth character does not match the first eight.
    CheckCharacter { expected: char, found: char },
    /// A generator's prefix is not 1–7 digits or capital letters.
    Prefix { prefix: String },
    /// A generator ran out of numbers for its prefix.
    SequenceExhausted { prefix: String, sequence: u64 },
}

impl Bilingual for CardNumberError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "card_number.length",
            Self::Character { .. } => "card_number.character",
            Self::CheckCharacter { .. } => "card_number.check_character",
            Self::Prefix { .. } => "card_number.prefix",
            Self::SequenceExhausted { .. } => "card_number.sequence_exhausted",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Length { found } => format!("社会保障卡卡号应为 9 位，实为 {found} 位"),
            Self::Character { position, found } => format!(
                "卡号第 {position} 位应为数字或大写字母{}，实为 {}",
                if *position == 9 {
                    "（校验位为数字或 X）"
                } else {
                    ""
                },
                describe_char(*found)
            ),
            Self::CheckCharacter { expected, found } => {
                format!("卡号校验位错误：按前 8 位第 9 位应为 {expected}，实为 {found}，请核对卡面")
            }
            Self::Prefix { prefix } => {
                format!("卡号前缀“{prefix}”无效：应为 1–7 位数字或大写字母")
            }
            Self::SequenceExhausted { prefix, sequence } => {
                format!("卡号前缀“{prefix}”下的序号 {sequence} 超出可用范围，请更换前缀")
            }
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Length { found } => {
                format!("a card number has 9 characters, this one has {found}")
            }
            Self::Character { position, found } => format!(
                "character {position} of the card number must be a digit or capital letter{}, found {}",
                if *position == 9 {
                    " (the check is a digit or X)"
                } else {
                    ""
                },
                describe_char(*found)
            ),
            Self::CheckCharacter { expected, found } => format!(
                "wrong check character: from the first 8 characters, character 9 must be \
                 {expected}, found {found}; check the card face"
            ),
            Self::Prefix { prefix } => format!(
                "card-number prefix \"{prefix}\" is invalid: use 1-7 digits or capital letters"
            ),
            Self::SequenceExhausted { prefix, sequence } => format!(
                "sequence {sequence} does not fit after prefix \"{prefix}\"; choose another prefix"
            ),
        }
    }
}
display_bilingual!(CardNumberError);

impl CardNumber {
    /// Parses a card number; lower-case letters are accepted and normalised to capitals.
    pub fn parse(s: &str) -> Result<Self, CardNumberError> {
        let s = s.trim();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 9 {
            return Err(CardNumberError::Length { found: chars.len() });
        }
        let mut out = [0u8; 9];
        for (i, &c) in chars.iter().enumerate() {
            let u = c.to_ascii_uppercase();
            let ok = if i < 8 {
                u.is_ascii_digit() || u.is_ascii_uppercase()
            } else {
                u.is_ascii_digit() || u == 'X'
            };
            if !ok {
                return Err(CardNumberError::Character {
                    position: i + 1,
                    found: c,
                });
            }
            out[i] = u as u8;
        }
        let body: [u8; 8] = out[..8].try_into().expect("8 bytes");
        let expected = weighted_mod11(body).expect("alphabet checked");
        if expected != out[8] {
            return Err(CardNumberError::CheckCharacter {
                expected: expected as char,
                found: out[8] as char,
            });
        }
        Ok(Self(out))
    }

    /// Builds the number whose body is `body` (8 digits/capitals), appending the check.
    pub fn from_body(body: &str) -> Result<Self, CardNumberError> {
        let b = body.as_bytes();
        if body.chars().count() != 8 {
            return Err(CardNumberError::Length {
                found: body.chars().count() + 1,
            });
        }
        let mut out = [0u8; 9];
        for (i, &c) in b.iter().enumerate() {
            if alnum_value(c).is_none() {
                return Err(CardNumberError::Character {
                    position: i + 1,
                    found: c as char,
                });
            }
            out[i] = c;
        }
        out[8] = weighted_mod11(b.try_into().expect("8 bytes")).expect("checked");
        Ok(Self(out))
    }

    /// A masked form for messages shown to someone who may not be the holder: `X0*****19`.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(self.as_str(), 2, 2)
    }

    /// The 9 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }
}

text_identifier!(CardNumber, CardNumberError);
impl<'de> serde::Deserialize<'de> for CardNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Allocates card numbers from a sequence: the body is the prefix followed by the sequence
/// number, zero-padded to 8 characters (prefix `X`, sequence 1 → `X0000001` + check `9`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardNumberGenerator {
    prefix: String,
}

impl CardNumberGenerator {
    /// A generator for a prefix of 1–7 digits or capital letters.
    pub fn new(prefix: &str) -> Result<Self, CardNumberError> {
        let ok = (1..=7).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
        if ok {
            Ok(Self {
                prefix: prefix.to_owned(),
            })
        } else {
            Err(CardNumberError::Prefix {
                prefix: prefix.to_owned(),
            })
        }
    }

    /// How many numbers the prefix allows (sequences `0..capacity`).
    pub fn capacity(&self) -> u64 {
        10u64.pow(8 - self.prefix.len() as u32)
    }

    /// The card number for `sequence`.
    pub fn number(&self, sequence: u64) -> Result<CardNumber, CardNumberError> {
        if sequence >= self.capacity() {
            return Err(CardNumberError::SequenceExhausted {
                prefix: self.prefix.clone(),
                sequence,
            });
        }
        let width = 8 - self.prefix.len();
        CardNumber::from_body(&format!("{}{sequence:0width$}", self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn spec_sample_passes() {
        assert_eq!(
            CardNumber::parse("X00000019").unwrap().as_str(),
            "X00000019"
        );
        assert_eq!(
            CardNumber::parse("x00000019").unwrap().as_str(),
            "X00000019"
        );
    }

    #[test]
    fn generator_reproduces_the_sample() {
        let g = CardNumberGenerator::new("X").unwrap();
        assert_eq!(g.number(1).unwrap().as_str(), "X00000019");
        assert_eq!(g.capacity(), 10_000_000);
        assert_eq!(
            g.number(10_000_000).unwrap_err().code(),
            "card_number.sequence_exhausted"
        );
        assert_eq!(
            CardNumberGenerator::new("x").unwrap_err().code(),
            "card_number.prefix"
        );
        assert_eq!(
            CardNumberGenerator::new("ABCDEFGH").unwrap_err().code(),
            "card_number.prefix"
        );
    }

    #[rstest]
    #[case("X0000001", "card_number.length")]
    #[case("X000000191", "card_number.length")]
    #[case("X00-00019", "card_number.character")]
    #[case("X0000001Y", "card_number.character")]
    #[case("X00000018", "card_number.check_character")]
    fn refusals(#[case] input: &str, #[case] code: &str) {
        assert_eq!(CardNumber::parse(input).unwrap_err().code(), code);
    }

    #[test]
    fn check_values_ten_and_eleven() {
        // Find bodies whose check is X (10) and 0 (11) and make sure both round-trip.
        let g = CardNumberGenerator::new("A").unwrap();
        let mut seen_x = false;
        let mut seen_0 = false;
        for seq in 0..200 {
            let n = g.number(seq).unwrap();
            seen_x |= n.as_str().ends_with('X');
            seen_0 |= n.as_str().ends_with('0');
            assert_eq!(CardNumber::parse(n.as_str()).unwrap(), n);
        }
        assert!(seen_x && seen_0);
    }
}
