//! 定点医药机构编码: the code of a designated medical institution, as the NHSA interface's
//! `fixmedins_code` carries it: `H` (hospital or clinic) or `P` (pharmacy), the six-digit
//! region of the district it stands in, and a five-digit serial, e.g. `H32120200001`.

use std::fmt;

use crate::message::{Bilingual, display_bilingual};
use crate::{RegionCode, RegionCodeError};

/// Hospital (clinic) or pharmacy, the first letter of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstitutionKind {
    /// 定点医疗机构 (`H`).
    Hospital,
    /// 定点零售药店 (`P`).
    Pharmacy,
}

impl InstitutionKind {
    /// `hospital` / `pharmacy`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstitutionKind::Hospital => "hospital",
            InstitutionKind::Pharmacy => "pharmacy",
        }
    }

    /// 医疗机构 / 药店.
    pub fn zh(self) -> &'static str {
        match self {
            InstitutionKind::Hospital => "医疗机构",
            InstitutionKind::Pharmacy => "零售药店",
        }
    }

    /// The code's first letter.
    pub fn letter(self) -> char {
        match self {
            InstitutionKind::Hospital => 'H',
            InstitutionKind::Pharmacy => 'P',
        }
    }

    /// `hospital`, `pharmacy` (also `H`, `P`, 医院, 医疗机构, 药店, 零售药店).
    pub fn parse(s: &str) -> Option<InstitutionKind> {
        match s.trim() {
            "hospital" | "H" | "h" | "医院" | "医疗机构" => Some(InstitutionKind::Hospital),
            "pharmacy" | "P" | "p" | "药店" | "零售药店" => Some(InstitutionKind::Pharmacy),
            _ => None,
        }
    }
}

/// A valid institution code.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstitutionCode(String);

/// Why an institution code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstitutionCodeError {
    /// Not twelve characters.
    Length { found: usize },
    /// The first letter is not `H` or `P`.
    Kind { found: char },
    /// Characters 2–7 are not a region code.
    Region(RegionCodeError),
    /// Characters 8–12 are not digits.
    Serial,
}

impl Bilingual for InstitutionCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "institution.code_length",
            Self::Kind { .. } => "institution.code_kind",
            Self::Region(_) => "institution.code_region",
            Self::Serial => "institution.code_serial",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Length { found } => format!(
                "定点医药机构编码应为 12 位（H 或 P + 6 位区划 + 5 位序号，如 H32120200001），实为 {found} 位"
            ),
            Self::Kind { found } => {
                format!("定点医药机构编码应以 H（医疗机构）或 P（药店）开头，实为“{found}”")
            }
            Self::Region(e) => format!("定点医药机构编码第 2–7 位的区划有误：{}", e.zh()),
            Self::Serial => "定点医药机构编码最后 5 位应为数字序号".into(),
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Length { found } => format!(
                "an institution code has 12 characters (H or P, a 6-digit region, a 5-digit serial, e.g. H32120200001); this one has {found}"
            ),
            Self::Kind { found } => format!(
                "an institution code starts with H (hospital) or P (pharmacy), not \"{found}\""
            ),
            Self::Region(e) => format!("characters 2-7 of the institution code: {}", e.en()),
            Self::Serial => {
                "the last 5 characters of an institution code are a serial number".into()
            }
        }
    }
}
display_bilingual!(InstitutionCodeError);

impl InstitutionCode {
    /// Parses `H32120200001`-style codes (surrounding spaces ignored, the letter in either case).
    pub fn parse(s: &str) -> Result<InstitutionCode, InstitutionCodeError> {
        let s = s.trim();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 12 {
            return Err(InstitutionCodeError::Length { found: chars.len() });
        }
        let letter = chars[0].to_ascii_uppercase();
        if letter != 'H' && letter != 'P' {
            return Err(InstitutionCodeError::Kind { found: chars[0] });
        }
        let region: String = chars[1..7].iter().collect();
        RegionCode::parse(&region).map_err(InstitutionCodeError::Region)?;
        if !chars[7..].iter().all(char::is_ascii_digit) {
            return Err(InstitutionCodeError::Serial);
        }
        Ok(InstitutionCode(format!("{letter}{}", &s[1..])))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hospital or pharmacy, by the first letter.
    pub fn kind(&self) -> InstitutionKind {
        if self.0.starts_with('H') {
            InstitutionKind::Hospital
        } else {
            InstitutionKind::Pharmacy
        }
    }

    /// The region of the code (characters 2–7).
    pub fn region(&self) -> RegionCode {
        RegionCode::parse(&self.0[1..7]).expect("checked when parsed")
    }
}

impl fmt::Display for InstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstitutionCode({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seeds_shape_and_refuses_with_the_reason() {
        let c = InstitutionCode::parse(" h32120200001 ").unwrap();
        assert_eq!(c.as_str(), "H32120200001");
        assert_eq!(c.kind(), InstitutionKind::Hospital);
        assert_eq!(c.region().value(), 321_202);
        assert_eq!(
            InstitutionCode::parse("P32120400017").unwrap().kind(),
            InstitutionKind::Pharmacy
        );
        for (bad, code) in [
            ("H3212020001", "institution.code_length"),
            ("X32120200001", "institution.code_kind"),
            ("H99120200001", "institution.code_region"),
            ("H3212020000A", "institution.code_serial"),
        ] {
            let e = InstitutionCode::parse(bad).unwrap_err();
            assert_eq!(e.code(), code, "{bad}");
            assert!(!e.zh().is_empty() && !e.en().is_empty());
        }
    }
}
