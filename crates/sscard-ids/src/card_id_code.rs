//! The card identification code (卡识别码): 16 bytes written as 32 hex characters.

use crate::message::{Bilingual, describe_char, display_bilingual, text_identifier};
use crate::region::{RegionCode, RegionCodeError};

/// The registered application provider identifier of MOHRSS, characters 7–16 of every card
/// identification code.
pub const MOHRSS_RID: &str = "D156000005";

/// A card identification code: 6-digit issuing region + `D156000005` + 16 hex characters that
/// are specific to the chip (ssc-facts §2.2). Stored in upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardIdCode([u8; 32]);

/// Why a card identification code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardIdCodeError {
    /// Not exactly 32 characters.
    Length { found: usize },
    /// A character that is not a hex digit (1-based position).
    NotHex { position: usize, found: char },
    /// Characters 1–6 are not an issuing region code.
    Region(RegionCodeError),
    /// Characters 7–16 are not the MOHRSS RID `D156000005`.
    Rid { found: String },
}

impl Bilingual for CardIdCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "card_id_code.length",
            Self::NotHex { .. } => "card_id_code.not_hex",
            Self::Region(_) => "card_id_code.region",
            Self::Rid { .. } => "card_id_code.rid",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Length { found } => format!("卡识别码应为 32 位十六进制字符，实为 {found} 位"),
            Self::NotHex { position, found } => {
                format!(
                    "卡识别码第 {position} 位应为十六进制字符，实为 {}",
                    describe_char(*found)
                )
            }
            Self::Region(e) => format!("卡识别码前 6 位应为发卡地区行政区划代码：{}", e.zh()),
            Self::Rid { found } => {
                format!("卡识别码第 7–16 位应为 {MOHRSS_RID}，实为 {found}")
            }
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Length { found } => {
                format!("a card identification code has 32 hex characters, this one has {found}")
            }
            Self::NotHex { position, found } => format!(
                "character {position} of the card identification code must be hex, found {}",
                describe_char(*found)
            ),
            Self::Region(e) => format!(
                "characters 1-6 of the card identification code must be the issuing region: {}",
                e.en()
            ),
            Self::Rid { found } => format!(
                "characters 7-16 of the card identification code must be {MOHRSS_RID}, found {found}"
            ),
        }
    }
}
display_bilingual!(CardIdCodeError);

impl CardIdCode {
    /// Parses 32 hex characters (either case) with the required structure.
    pub fn parse(s: &str) -> Result<Self, CardIdCodeError> {
        let s = s.trim();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 32 {
            return Err(CardIdCodeError::Length { found: chars.len() });
        }
        let mut out = [0u8; 32];
        for (i, &c) in chars.iter().enumerate() {
            if !c.is_ascii_hexdigit() {
                return Err(CardIdCodeError::NotHex {
                    position: i + 1,
                    found: c,
                });
            }
            out[i] = c.to_ascii_uppercase() as u8;
        }
        let text = std::str::from_utf8(&out).expect("ASCII");
        RegionCode::parse(&text[..6]).map_err(CardIdCodeError::Region)?;
        if &text[6..16] != MOHRSS_RID {
            return Err(CardIdCodeError::Rid {
                found: text[6..16].to_owned(),
            });
        }
        Ok(Self(out))
    }

    /// Builds a code from the issuing region and the 8 chip-specific bytes.
    pub fn new(region: RegionCode, chip_specific: [u8; 8]) -> Self {
        use std::fmt::Write as _;
        let mut text = format!("{region}{MOHRSS_RID}");
        for b in chip_specific {
            write!(text, "{b:02X}").expect("writing to a String cannot fail");
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(text.as_bytes());
        Self(out)
    }

    /// The 32 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// The issuing region (characters 1–6), as readers report it.
    pub fn issuing_region(&self) -> RegionCode {
        RegionCode::parse(&self.as_str()[..6]).expect("checked at construction")
    }

    /// The 16 bytes as written to EF05 tag 01.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, pair) in self.0.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).expect("hex");
            let lo = (pair[1] as char).to_digit(16).expect("hex");
            out[i] = (hi * 16 + lo) as u8;
        }
        out
    }

    /// The 8 chip-specific bytes (characters 17–32).
    pub fn chip_specific(&self) -> [u8; 8] {
        self.to_bytes()[8..].try_into().expect("8 bytes")
    }
}

text_identifier!(CardIdCode, CardIdCodeError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_interface_example_parses() {
        // The fictitious example of the national reader interface (ssc-facts §2.3).
        let c = CardIdCode::parse("639900D15600000500BF7C7A48FB4966").unwrap();
        assert_eq!(c.issuing_region().value(), 639_900);
        assert_eq!(
            c.chip_specific(),
            [0x00, 0xBF, 0x7C, 0x7A, 0x48, 0xFB, 0x49, 0x66]
        );
        assert_eq!(CardIdCode::new(c.issuing_region(), c.chip_specific()), c);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            CardIdCode::parse("639900D156000005").unwrap_err().code(),
            "card_id_code.length"
        );
        assert_eq!(
            CardIdCode::parse("639900D15600000500BF7C7A48FB496G")
                .unwrap_err()
                .code(),
            "card_id_code.not_hex"
        );
        assert_eq!(
            CardIdCode::parse("999900D15600000500BF7C7A48FB4966")
                .unwrap_err()
                .code(),
            "card_id_code.region"
        );
        assert_eq!(
            CardIdCode::parse("639900D15600000600BF7C7A48FB4966")
                .unwrap_err()
                .code(),
            "card_id_code.rid"
        );
        // Hex letters in the region part are caught as a region error, not passed through.
        assert_eq!(
            CardIdCode::parse("63990AD15600000500BF7C7A48FB4966")
                .unwrap_err()
                .code(),
            "card_id_code.region"
        );
    }
}
